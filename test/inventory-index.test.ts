// The live inventory index: it sees what other clients rename, create and destroy between two
// lookups; it is rebuilt with a replaced session; its server objects do not outlive their use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTask } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { findEntityByName, getEntity, getEntityByName } from '../vsphere/entities.ts'
import { ManagedObjectNotFoundError } from '../vsphere/errors.ts'
import { existingIndex } from '../vsphere/inventory-index.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import { ServiceInstanceProvider } from '../vsphere/provider.ts'
import { proxyTarget } from '../vsphere/reconnect-proxy.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { observeSoapCalls } from '../vsphere/soap-observers.ts'
import type { ManagedObjectReference } from '../vsphere/types.ts'
import { startFaultProxy } from './helpers/fault-proxy.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

let vcsim: Vcsim
beforeAll(async () => {
  vcsim = await startVcsim()
})
afterAll(async () => {
  await vcsim?.stop()
})

const params = (user: string) =>
  resolveConnectionParams({ server: vcsim.url, user, password: 'pw', caFile: vcsim.caFile })

/** A ReconnectProxy provider for `user` on `host` (saltext-vmware's way, from opts). */
const providerFor = (host: string, user: string, trust: Record<string, unknown>) =>
  new ServiceInstanceProvider({
    sources: {
      env: {},
      opts: { 'saltext.vmware': { host, user, password: 'pw', ...trust } },
      pillar: {},
    },
  })
const provider = (user: string) => providerFor(vcsim.url, user, { ca_file: vcsim.caFile })

/** A second client, in a session of its own, as another tool or operator would be. */
const otherClient = <T>(fn: (si: ServiceInstance) => Promise<T>) =>
  withSession(params('other-client'), fn)

const rename = (si: ServiceInstance, obj: ManagedObjectReference, newName: string) =>
  runTask(si, `renaming ${obj.value}`, 'Rename_Task', { _this: obj, newName })

describe('the inventory index', () => {
  it('sees renames, creations and destructions made by another client between two lookups', async () => {
    const p = provider('index-consistency')
    const si = p.get()
    try {
      const a = await getEntityByName(si, 'VirtualMachine', 'DC0_H0_VM0')
      const b = await getEntityByName(si, 'VirtualMachine', 'DC0_H0_VM1')
      const index = existingIndex(proxyTarget(si)!)!
      const refreshes = () => index.stats.refreshes

      // Another client swaps the two names, creates a folder and destroys a VM.
      const vmFolder = (await getEntityByName(si, 'Folder', 'vm')).obj
      const destroyed = await getEntityByName(si, 'VirtualMachine', 'DC0_C0_RP0_VM1')
      const refreshesBefore = refreshes()
      await otherClient(async (other) => {
        await rename(other, a.obj, 'swap-tmp')
        await rename(other, b.obj, 'DC0_H0_VM0')
        await rename(other, a.obj, 'DC0_H0_VM1')
        await other.invoke('CreateFolder', { _this: vmFolder, name: 'made-elsewhere' })
        await runTask(other, 'powering off', 'PowerOffVM_Task', { _this: destroyed.obj })
        await runTask(other, 'destroying a VM', 'Destroy_Task', { _this: destroyed.obj })
      })

      // Each lookup sees the other client's changes, through the same index (no rebuild).
      expect((await getEntityByName(si, 'VirtualMachine', 'DC0_H0_VM0')).obj).toEqual(b.obj)
      expect((await getEntityByName(si, 'VirtualMachine', 'DC0_H0_VM1')).obj).toEqual(a.obj)
      expect(await findEntityByName(si, 'VirtualMachine', 'swap-tmp')).toBeUndefined()
      const made = await getEntityByName(si, 'Folder', 'made-elsewhere', { props: ['parent'] })
      expect(made.props.parent).toEqual(vmFolder)
      expect(await findEntityByName(si, 'VirtualMachine', 'DC0_C0_RP0_VM1')).toBeUndefined()
      await expect(getEntityByName(si, 'VirtualMachine', 'DC0_C0_RP0_VM1')).rejects.toMatchObject({
        code: 'BRINE_NOT_FOUND',
      })
      expect(existingIndex(proxyTarget(si)!)).toBe(index)
      expect(refreshes()).toBeGreaterThan(refreshesBefore)

      // No reference returned under a name it no longer has: every answer is read back.
      for (const name of ['DC0_H0_VM0', 'DC0_H0_VM1']) {
        const found = await getEntityByName(si, 'VirtualMachine', name, { props: ['name'] })
        const { name: actual } = await otherClient((other) =>
          retrieveObjectProperties(other, found.obj, ['name']),
        )
        expect(actual).toBe(name)
      }
    } finally {
      await p.close()
    }
  })

  it('names every entity sharing a name, with its path, and narrows by container', async () => {
    const p = provider('index-ambiguous')
    const si = p.get()
    try {
      // Two folders named "dup" in different places: ambiguous, unless narrowed.
      const vmFolder = (await getEntityByName(si, 'Folder', 'vm')).obj
      const web = await si.invoke<ManagedObjectReference>('CreateFolder', {
        _this: vmFolder,
        name: 'web',
      })
      await si.invoke('CreateFolder', { _this: vmFolder, name: 'dup' })
      await si.invoke('CreateFolder', { _this: web, name: 'dup' })
      const ambiguous = await getEntityByName(si, 'Folder', 'dup').catch((e: Error) => e)
      expect(String(ambiguous)).toMatch(
        /folder name 'dup' is ambiguous: \/DC0\/vm\/dup \([\w-]+\), \/DC0\/vm\/web\/dup \([\w-]+\)\. Give the id/,
      )
      const inWeb = await getEntityByName(si, 'Folder', 'dup', { within: web })
      expect(inWeb.obj).not.toEqual(
        (await getEntityByName(si, 'Folder', 'dup', { within: vmFolder, recursive: false })).obj,
      )
      // By id, the index is not needed: one read.
      expect((await getEntity(si, 'Folder', inWeb.obj.value)).name).toBe('dup')
    } finally {
      await p.close()
    }
  })

  it('is rebuilt on the new session after the old one is terminated', async () => {
    const p = provider('index-rebuild')
    const si = p.get()
    try {
      await getEntityByName(si, 'Datacenter', 'DC0')
      const first = proxyTarget(si)!
      const firstIndex = existingIndex(first)!
      await otherClient((admin) =>
        admin.invoke('TerminateSession', {
          _this: admin.sessionManager,
          sessionId: [first.userSession!.key],
        }),
      )
      const methods: string[] = []
      const stop = observeSoapCalls((call) => methods.push(call.method))
      try {
        expect((await getEntityByName(si, 'Datacenter', 'DC0')).obj.value).toBe('datacenter-2')
      } finally {
        stop()
      }
      const second = proxyTarget(si)!
      expect(second).not.toBe(first)
      expect(existingIndex(second)).not.toBe(firstIndex)
      expect(methods.filter((m) => m === 'Login')).toHaveLength(1)
      expect(methods.filter((m) => m === 'CreatePropertyCollector')).toHaveLength(1)
    } finally {
      await p.close()
    }
  })

  it('destroys its collector and view before the session is detached or logged out', async () => {
    const session = await ServiceInstance.connect(params('index-teardown'))
    await session.login()
    await getEntityByName(session, 'Datacenter', 'DC0')
    const { collector, view } = existingIndex(session)!.serverObjects
    expect(collector && view).toBeTruthy()

    // A second connection to the same session sees the objects while they are in use…
    const sameSession = await ServiceInstance.connect(params('index-teardown'), {
      cookie: session.cookie!,
    })
    const filters = await retrieveObjectProperties(sameSession, collector!, ['filter'])
    expect(filters.filter).toHaveLength(1)
    expect(await retrieveObjectProperties(sameSession, view!, ['view'])).toHaveProperty('view')

    // …and finds neither once the first connection let the session go (kept for reuse).
    await session.detach()
    await expect(retrieveObjectProperties(sameSession, collector!, ['filter'])).rejects.toThrow(
      ManagedObjectNotFoundError,
    )
    await expect(retrieveObjectProperties(sameSession, view!, ['view'])).rejects.toThrow(
      ManagedObjectNotFoundError,
    )

    // Logging out destroys them too, before the Logout call.
    const again = await ServiceInstance.connect(params('index-teardown'))
    await again.login()
    await getEntityByName(again, 'Datacenter', 'DC0')
    const methods: string[] = []
    const stop = observeSoapCalls((call) => methods.push(call.method))
    await again.logout()
    stop()
    expect(methods.sort()).toEqual(['DestroyPropertyCollector', 'DestroyView', 'Logout'])
    await sameSession.logout()
  })
})

describe('the inventory index when an update set is lost', () => {
  it('builds anew instead of going on without the lost updates', async () => {
    const plain = await startVcsim({ tls: false })
    const fault = await startFaultProxy(plain.url)
    const p = providerFor(fault.url, 'index-lost', { insecure: true })
    const si = p.get()
    try {
      const vm = await getEntityByName(si, 'VirtualMachine', 'DC0_H0_VM0')
      // Another client renames the VM; the answer carrying that update never arrives.
      await withSession(
        resolveConnectionParams({
          server: plain.url,
          user: 'other',
          password: 'pw',
          insecure: true,
        }),
        (other) => rename(other, vm.obj, 'renamed-while-lost'),
      )
      fault.dropAnswer('WaitForUpdatesEx')
      const before = fault.calls.filter((m) => m === 'CreatePropertyCollector').length
      const found = await getEntityByName(si, 'VirtualMachine', 'renamed-while-lost')
      expect(found.obj).toEqual(vm.obj)
      expect(await findEntityByName(si, 'VirtualMachine', 'DC0_H0_VM0')).toBeUndefined()
      // The lost refresh was not retried on the same collector: the index was built again.
      expect(fault.calls.filter((m) => m === 'CreatePropertyCollector').length).toBe(before + 1)
    } finally {
      await p.close()
      await fault.close()
      await plain.stop()
    }
  })

  it('an aborted lookup (SIGINT) is not retried: no rebuild, no new login', async () => {
    const plain = await startVcsim({ tls: false })
    const fault = await startFaultProxy(plain.url)
    const p = providerFor(fault.url, 'index-abort', { insecure: true })
    const si = p.get()
    try {
      await getEntityByName(si, 'Datacenter', 'DC0')
      const held = fault.hold('WaitForUpdatesEx')
      const controller = new AbortController()
      const lookup = getEntityByName(si, 'Datacenter', 'DC0', { signal: controller.signal })
      await held.seen
      const callsBefore = fault.calls.length
      controller.abort(new Error('interrupted by SIGINT'))
      await expect(lookup).rejects.toThrow()
      held.release()
      // Nothing more reaches vCenter: no session check, no new collector, no login.
      expect(fault.calls.slice(callsBefore)).toEqual([])
    } finally {
      await p.close()
      await fault.close()
      await plain.stop()
    }
  })
})
