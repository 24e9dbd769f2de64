import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { moref } from '../vsphere/codec.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import {
  DuplicateNameError,
  InvalidLoginError,
  ManagedObjectNotFoundError,
  NotAuthenticatedError,
  TransportError,
} from '../vsphere/errors.ts'
import { withSession } from '../vsphere/one-shot.ts'
import {
  createContainerView,
  destroyView,
  findByInventoryPath,
  retrieveAll,
  retrieveObjectProperties,
  retrieveProperties,
  viewObjectSpec,
} from '../vsphere/property-collector.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { SessionCache } from '../vsphere/session-cache.ts'
import { waitForTask } from '../vsphere/tasks.ts'
import type { ManagedObjectReference } from '../vsphere/types.ts'
import { soapCalls } from './helpers/soap-calls.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

let vcsim: Vcsim

beforeAll(async () => {
  // Three VMs per pool and a configured account, so credentials really are checked.
  vcsim = await startVcsim({
    vm: 3,
    username: 'administrator@vsphere.local',
    password: 'Corr3ct!pw',
  })
})
afterAll(async () => {
  await vcsim?.stop()
})

const params = (overrides: Record<string, unknown> = {}) =>
  resolveConnectionParams({
    server: vcsim.url,
    user: vcsim.user,
    password: vcsim.password,
    caFile: vcsim.caFile,
    ...overrides,
  })

/** Count SOAP calls by method while `fn` runs, from the debug log of the [soap] tag. */

describe('vSphere client against vcsim over HTTPS', () => {
  it('logs in and lists every VM with name, power state and UUID in one PropertyCollector call', async () => {
    await withSession(params(), async (si) => {
      expect(si.version).toBe('6.5')
      expect(si.content.about.apiType).toBe('VirtualCenter')
      expect(si.userSession?.userName).toBe(vcsim.user)

      const { result: vms, calls } = await soapCalls(() =>
        retrieveAll(si, 'VirtualMachine', ['name', 'runtime.powerState', 'config.uuid']),
      )
      expect(calls.filter((method) => method.startsWith('RetrieveProperties'))).toEqual([
        'RetrievePropertiesEx',
      ])
      // The view of the whole inventory is kept on the session for the next call.
      expect(calls).toEqual(['CreateContainerView', 'RetrievePropertiesEx'])

      // vcsim's default model: a standalone host pool and one cluster pool, 3 VMs each.
      const names = vms.map((vm) => vm.props.name).sort()
      expect(names).toEqual(
        [
          'DC0_C0_RP0_VM0',
          'DC0_C0_RP0_VM1',
          'DC0_C0_RP0_VM2',
          'DC0_H0_VM0',
          'DC0_H0_VM1',
          'DC0_H0_VM2',
        ].sort(),
      )
      for (const vm of vms) {
        expect(vm.obj.type).toBe('VirtualMachine')
        expect(vm.props['runtime.powerState']).toBe('poweredOn')
        expect(vm.props['config.uuid']).toMatch(/^[0-9a-f-]{36}$/)
        // The same VM, found by its inventory path and read on its own, agrees.
        const found = await findByInventoryPath(si, `DC0/vm/${vm.props.name}`)
        expect(found).toEqual(vm.obj)
        const own = await retrieveObjectProperties(si, vm.obj, [
          'config.uuid',
          'runtime.powerState',
        ])
        expect(own).toEqual({
          'config.uuid': vm.props['config.uuid'],
          'runtime.powerState': 'poweredOn',
        })
      }
      expect(new Set(vms.map((vm) => vm.props['config.uuid'])).size).toBe(vms.length)
      expect(await findByInventoryPath(si, 'DC0/vm/nope')).toBeNull()
    })
  })

  it('keeps the view of the whole inventory per session and type, and makes it again when it is gone', async () => {
    await withSession(params(), async (si) => {
      const names = (objects: Array<{ props: Record<string, unknown> }>) =>
        objects.map((object) => object.props.name).sort()
      const first = await soapCalls(() => retrieveAll(si, 'VirtualMachine', ['name']))
      expect(first.calls).toEqual(['CreateContainerView', 'RetrievePropertiesEx'])
      const view = si.views.get('VirtualMachine')!
      expect(view.type).toBe('ContainerView')

      const second = await soapCalls(() => retrieveAll(si, 'VirtualMachine', ['name']))
      expect(second.calls).toEqual(['RetrievePropertiesEx'])
      expect(names(second.result)).toEqual(names(first.result))
      // Another type has its own; a folder's view or one that is not recursive is not kept.
      const hosts = await soapCalls(() => retrieveAll(si, 'HostSystem', ['name']))
      expect(hosts.calls).toEqual(['CreateContainerView', 'RetrievePropertiesEx'])
      const root = si.content.rootFolder
      for (const options of [{ root }, { recursive: false }]) {
        const scoped = await soapCalls(() => retrieveAll(si, 'VirtualMachine', ['name'], options))
        expect(scoped.calls).toEqual(['CreateContainerView', 'RetrievePropertiesEx', 'DestroyView'])
      }
      expect([...si.views.keys()].sort()).toEqual(['HostSystem', 'VirtualMachine'])

      // Destroyed behind brine's back: vCenter answers ManagedObjectNotFound, and it is made again.
      await destroyView(si, view)
      const remade = await soapCalls(() => retrieveAll(si, 'VirtualMachine', ['name']))
      expect(remade.calls).toEqual([
        'RetrievePropertiesEx',
        'CreateContainerView',
        'RetrievePropertiesEx',
      ])
      expect(names(remade.result)).toEqual(names(first.result))
      expect(si.views.get('VirtualMachine')!.value).not.toBe(view.value)
    })
  })

  it('gives InvalidLogin for a wrong password, after exactly one Login and no retry', async () => {
    const cache = new SessionCache()
    const { result: error, calls } = await soapCalls(() =>
      cache.checkout(params({ password: 'wrong-password' })).catch((e: unknown) => e),
    )
    expect(error).toBeInstanceOf(InvalidLoginError)
    expect((error as InvalidLoginError).code).toBe('BRINE_VIM_INVALID_LOGIN')
    expect((error as Error).message).toMatch(
      /Login on SessionManager:SessionManager failed: InvalidLogin: .*Check the user name and password/,
    )
    expect((error as Error).message).not.toContain('wrong-password')
    expect(calls.filter((method) => method === 'Login')).toEqual(['Login'])
    expect(cache.logins).toBe(0)
  })

  it('fails on a wrong thumbprint before any request is sent', async () => {
    const wrong = params({ caFile: undefined, thumbprint: 'AA'.repeat(32) })
    const { result: error, calls } = await soapCalls(() =>
      ServiceInstance.connect(wrong).catch((e: unknown) => e),
    )
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('BRINE_VIM_TRANSPORT_THUMBPRINT_MISMATCH')
    expect((error as TransportError).requestSent).toBe(false)
    expect((error as Error).message).toContain(vcsim.thumbprintSha256)
    expect(calls).toEqual([])
  })

  it('accepts a pinned SHA-256 or SHA-1 thumbprint, a CA file, or an explicit insecure', async () => {
    for (const overrides of [
      { caFile: undefined, thumbprint: vcsim.thumbprintSha256 },
      { caFile: undefined, thumbprint: vcsim.thumbprintSha1.replaceAll(':', '').toLowerCase() },
      { caFile: undefined, insecure: true },
      {},
    ]) {
      const session = await withSession(params(overrides), (si) => si.currentSession())
      expect(session?.userName).toBe(vcsim.user)
    }
  })

  it('verifies TLS by default: a self-signed server without a CA file is refused', async () => {
    const error = await ServiceInstance.connect(params({ caFile: undefined })).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('BRINE_VIM_TRANSPORT_TLS')
    expect((error as Error).message).toMatch(/ca_file or ssl_thumbprint/)
  })

  it('fails clearly on a refused connection and within the connect timeout on a silent server', async () => {
    const silent: Server = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer()
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    try {
      const refused = await ServiceInstance.connect(
        params({ server: `https://127.0.0.1:${closedPort}/sdk` }),
      ).catch((e: unknown) => e)
      expect((refused as TransportError).code).toBe('BRINE_VIM_TRANSPORT_CONNECTION_REFUSED')
      expect((refused as Error).message).toContain(`127.0.0.1:${closedPort}`)

      const { port } = silent.address() as { port: number }
      const started = performance.now()
      const timedOut = await ServiceInstance.connect(
        params({ server: `https://127.0.0.1:${port}/sdk`, connectTimeoutMs: 300 }),
      ).catch((e: unknown) => e)
      const elapsed = performance.now() - started
      expect((timedOut as TransportError).code).toBe('BRINE_VIM_TRANSPORT_CONNECT_TIMEOUT')
      expect((timedOut as TransportError).requestSent).toBe(false)
      // The connect timeout, not the request timeout, ended it (generous bound for a loaded CI box).
      expect(elapsed).toBeLessThan(5_000)
    } finally {
      silent.close()
    }
  })

  it('lists datacenters in nested folders in one RetrievePropertiesEx, entering only folders', async () => {
    await withSession(params(), async (si) => {
      const root = si.content.rootFolder
      const outer = await si.invoke<ManagedObjectReference>('CreateFolder', {
        _this: root,
        name: 'dc-folder-outer',
      })
      const inner = await si.invoke<ManagedObjectReference>('CreateFolder', {
        _this: outer,
        name: 'dc-folder-inner',
      })
      await si.invoke('CreateDatacenter', { _this: outer, name: 'DC-outer' })
      await si.invoke('CreateDatacenter', { _this: inner, name: 'DC-inner' })
      const names = (objects: Array<{ props: Record<string, unknown> }>) =>
        objects.map((dc) => dc.props.name).sort()

      const { result: all, calls } = await soapCalls(() => retrieveAll(si, 'Datacenter', ['name']))
      expect(calls).toEqual(['RetrievePropertiesEx'])
      // What a ContainerView of the root folder finds (vcsim's DC0 and both new ones).
      const view = await createContainerView(si, root, ['Datacenter'], true)
      const viewed = await retrieveProperties(si, [
        { propSet: [{ type: 'Datacenter', pathSet: ['name'] }], objectSet: [viewObjectSpec(view)] },
      ])
      await destroyView(si, view)
      expect(names(all)).toEqual(
        viewed.map((object) => object.propSet.find((p) => p.name === 'name')?.val).sort(),
      )
      expect(names(all)).toEqual(expect.arrayContaining(['DC0', 'DC-outer', 'DC-inner']))
      // Within a folder, and not recursive: its own datacenters only.
      expect(names(await retrieveAll(si, 'Datacenter', ['name'], { root: outer }))).toEqual([
        'DC-inner',
        'DC-outer',
      ])
      expect(
        names(await retrieveAll(si, 'Datacenter', ['name'], { root: outer, recursive: false })),
      ).toEqual(['DC-outer'])
    })
  })

  it('reports DuplicateName when the same datacenter is created twice', async () => {
    await withSession(params(), async (si) => {
      const root = si.content.rootFolder
      const dc = await si.invoke<ManagedObjectReference>('CreateDatacenter', {
        _this: root,
        name: 'DC-dup',
      })
      expect(dc.type).toBe('Datacenter')
      const error = await si
        .invoke('CreateDatacenter', { _this: root, name: 'DC-dup' })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DuplicateNameError)
      expect((error as DuplicateNameError).code).toBe('BRINE_VIM_DUPLICATE_NAME')
      expect((error as DuplicateNameError).method).toBe('CreateDatacenter')
      expect((error as DuplicateNameError).fault?.object).toEqual(dc)
      expect((error as Error).message).toMatch(
        /CreateDatacenter on Folder:group-d1 failed: DuplicateName: .*DC-dup/,
      )
    })
  })

  it('round-trips power off and power on through tasks and reports the task result', async () => {
    await withSession(params(), async (si) => {
      const vm = await findByInventoryPath(si, 'DC0/vm/DC0_H0_VM0')
      expect(vm).not.toBeNull()
      const progress: number[] = []
      const off = await si.invoke<ManagedObjectReference>('PowerOffVM_Task', { _this: vm })
      expect(off.type).toBe('Task')
      await waitForTask(si, off, { onProgress: (p) => progress.push(p) })
      expect(progress.at(-1)).toBe(100)
      expect(await retrieveObjectProperties(si, vm!, ['runtime.powerState'])).toEqual({
        'runtime.powerState': 'poweredOff',
      })

      // Powering off twice is an InvalidPowerState task fault, carried by TaskFailedError.
      const again = await si.invoke<ManagedObjectReference>('PowerOffVM_Task', { _this: vm })
      const failed = await waitForTask(si, again).catch((e: unknown) => e)
      expect((failed as { code?: string }).code).toBe('BRINE_VIM_TASK_FAILED')
      expect((failed as { faultType?: string }).faultType).toBe('InvalidPowerState')
      expect((failed as Error).message).toMatch(/InvalidPowerState/)

      const on = await si.invoke<ManagedObjectReference>('PowerOnVM_Task', { _this: vm })
      await waitForTask(si, on)
      expect(await retrieveObjectProperties(si, vm!, ['runtime.powerState'])).toEqual({
        'runtime.powerState': 'poweredOn',
      })
    })
  })

  it('turns faults into typed errors naming the method and object', async () => {
    await withSession(params(), async (si) => {
      const ghost = moref('VirtualMachine', 'vm-does-not-exist')
      const error = await si.invoke('PowerOnVM_Task', { _this: ghost }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ManagedObjectNotFoundError)
      expect((error as Error).message).toContain(
        'PowerOnVM_Task on VirtualMachine:vm-does-not-exist',
      )
    })
  })

  it('detects NotAuthenticated inside a 200 answer (missingSet) and as a SOAP fault', async () => {
    const si = await ServiceInstance.connect(params())
    try {
      // Not logged in: RetrievePropertiesEx answers 200 with a faulted missingSet.
      const error = await retrieveProperties(si, [
        {
          propSet: [{ type: 'Folder', pathSet: ['name'] }],
          objectSet: [{ obj: si.content.rootFolder }],
        },
      ]).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NotAuthenticatedError)
      expect(si.valid).toBe(false)
      const fault = await si.currentTime().catch((e: unknown) => e)
      expect(fault).toBeInstanceOf(NotAuthenticatedError)
      expect(await si.currentSession()).toBeNull()
    } finally {
      await si.logout()
    }
  })
})
