// Waiting for the guest (vmware_vm.wait_for_ip, wait_for_tools, wait_for_power, shutdown, the
// wait_for_ip state option), guest operations (vmware_guest) and VM lookups by instance and
// BIOS UUID, against vcsim with brine's gap fills (test/vcsim/guest-*.go). saltext-vmware has
// none of these functions; the behaviour followed is the vSphere API reference's:
// GuestInfo (toolsRunningStatus, ipAddress, net), VirtualMachine.ShutdownGuest (faults
// ToolsUnavailable), GuestOperationsManager's GuestProcessManager and GuestFileManager
// (StartProgramInGuest, ListProcessesInGuest, InitiateFileTransferToGuest/FromGuest; faults
// GuestOperationsUnavailable, InvalidGuestLogin) and SearchIndex.FindAllByUuid.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import { runTask } from '../vsphere/call.ts'
import { typed } from '../vsphere/codec.ts'
import { ENTITY_TYPES, getEntity } from '../vsphere/entities.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { observeSoapCalls, type SoapCallRecord } from '../vsphere/soap-observers.ts'
import { cliDirFor, isolatedCliEnv, runCli } from './helpers/cli.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
let si: ServiceInstance
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'vm-guest')
  si = await rt.serviceInstance()
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, state, failure } = callersOf(() => rt)
/** The guest account of every vcsim VM (guest-ops.go's default). */
const AUTH = { username: 'root', password: 'vmware' }
const local = mkdtempSync(join(tmpdir(), 'brine-vm-guest-'))

/** Guest properties read directly, apart from brine's functions. */
async function guestProps(vm: string) {
  const entity = await getEntity(si, ENTITY_TYPES.vm, vm)
  return retrieveObjectProperties(si, entity.obj, [
    'runtime.powerState',
    'guest.toolsRunningStatus',
    'guest.ipAddress',
    'config.uuid',
    'config.instanceUuid',
  ])
}

async function setExtraConfig(vm: string, key: string, value: string) {
  const entity = await getEntity(si, ENTITY_TYPES.vm, vm)
  await runTask(si, `extraConfig of ${vm}`, 'ReconfigVM_Task', {
    _this: entity.obj,
    spec: { extraConfig: [{ key, value: typed(value, 'xsd:string') }] },
  })
}

async function traced<T>(fn: () => Promise<T>): Promise<{ result: T; calls: SoapCallRecord[] }> {
  const calls: SoapCallRecord[] = []
  const stop = observeSoapCalls((c) => calls.push(c))
  try {
    return { result: await fn(), calls }
  } finally {
    stop()
  }
}

describe('waiting for the guest', () => {
  const vm = 'DC0_H0_VM0'

  it('wait_for_ip waits through a power-on and answers the address the guest reports', async () => {
    await call('vmware_vm.power_state', [vm, 'off'])
    // Off: Tools stopped, no address (read directly).
    expect(await guestProps(vm)).toMatchObject({
      'runtime.powerState': 'poweredOff',
      'guest.toolsRunningStatus': 'guestToolsNotRunning',
    })
    expect((await guestProps(vm))['guest.ipAddress']).toBeUndefined()
    // The wait starts while the VM is off. Once its collector's first answer (the VM off) is
    // in, the VM is powered on: the wait can only end through an update it waited for.
    const calls: SoapCallRecord[] = []
    let sawFirst!: () => void
    const firstRead = new Promise<void>((resolve) => {
      sawFirst = resolve
    })
    let filtered = false
    const stop = observeSoapCalls((c) => {
      calls.push(c)
      if (c.method === 'CreateFilter') filtered = true
      else if (filtered && c.method === 'WaitForUpdatesEx') sawFirst()
    })
    let result: Record<string, unknown>
    try {
      const pending = rt.call('vmware_vm.wait_for_ip', {
        kwargs: { vm_name: vm, timeout: 120 },
      }) as Promise<Record<string, unknown>>
      await firstRead
      await call('vmware_vm.power_state', [vm, 'on'])
      result = await pending
    } finally {
      stop()
    }
    const direct = await guestProps(vm)
    expect(direct['guest.toolsRunningStatus']).toBe('guestToolsRunning')
    expect(result).toMatchObject({
      name: vm,
      power_state: 'poweredOn',
      tools_running_status: 'guestToolsRunning',
      ip_address: direct['guest.ipAddress'],
    })
    expect(result.ip_address).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(result.ip_addresses).toEqual([result.ip_address])
    // It followed updates on a collector of its own (a wait that blocked on the server), and
    // destroyed it.
    const methods = calls.map((c) => c.method)
    expect(
      calls.some((c) => c.method === 'WaitForUpdatesEx' && /<maxWaitSeconds>[1-9]/.test(c.request)),
    ).toBe(true)
    expect(methods).toContain('CreatePropertyCollector')
    expect(methods).toContain('DestroyPropertyCollector')
    // vmware_vm.info reads the same address.
    expect(((await call('vmware_vm.info', [vm])) as { ip_address: string }).ip_address).toBe(
      result.ip_address,
    )
    // A guest keeps its address across a power cycle; wait_for_tools and wait_for_power agree.
    await call('vmware_vm.power_state', [vm, 'off'])
    expect(await call('vmware_vm.wait_for_power', [], { name: vm, state: 'off' })).toMatchObject({
      power_state: 'poweredOff',
      ip_address: null,
    })
    await call('vmware_vm.power_state', [vm, 'on'])
    expect(await call('vmware_vm.wait_for_tools', [], { name: vm })).toMatchObject({
      tools_running_status: 'guestToolsRunning',
    })
    expect(await call('vmware_vm.wait_for_ip', [], { name: vm })).toMatchObject({
      ip_address: result.ip_address,
    })
  })

  it('a wait carries on through a vCenter restart, on a new session and collector', async () => {
    const restartable = await startVcsim()
    const other = vmwareRuntime(restartable, 'vm-guest-restart')
    try {
      const vm = 'DC0_H0_VM0'
      await other.call('vmware_vm.power_state', { args: [vm, 'off'] })
      const calls: string[] = []
      let sawFirst!: () => void
      const firstRead = new Promise<void>((resolve) => {
        sawFirst = resolve
      })
      let filtered = false
      const stop = observeSoapCalls((c) => {
        calls.push(c.method)
        if (c.method === 'CreateFilter') filtered = true
        else if (filtered && c.method === 'WaitForUpdatesEx') sawFirst()
      })
      try {
        const pending = other.call('vmware_vm.wait_for_ip', {
          kwargs: { name: vm, timeout: 120 },
        }) as Promise<Record<string, unknown>>
        await firstRead
        // The restarted simulator comes back with its model: the VM on, its guest up.
        await restartable.restart()
        expect(await pending).toMatchObject({ name: vm, power_state: 'poweredOn' })
      } finally {
        stop()
      }
      expect(calls.filter((m) => m === 'CreatePropertyCollector')).toHaveLength(2)
      expect(calls.filter((m) => m === 'Login').length).toBeGreaterThanOrEqual(1)
    } finally {
      await other.close()
      await restartable.stop()
    }
  }, 120_000)

  it('a wait reports its progress through the runtime', async () => {
    const progress: Array<[string, number, string | undefined]> = []
    const watched = new Runtime({
      opts: defaultOpts({
        id: 'vm-guest-progress',
        file_roots: [],
        pillar_roots: [],
        'saltext.vmware': {
          host: vcsim.url,
          user: 'progress',
          password: 'pw',
          ca_file: vcsim.caFile,
        },
      }),
      pillar: {},
      moduleDirs: [join(import.meta.dirname, '..', 'modules')],
      stateDirs: [join(import.meta.dirname, '..', 'states')],
      signal: new AbortController().signal,
      env: {},
      onProgress: (fun, percent, message) => progress.push([fun, percent, message]),
    })
    try {
      await watched.call('vmware_vm.wait_for_tools', { kwargs: { name: 'DC0_H0_VM0' } })
    } finally {
      await watched.close()
    }
    expect(progress).toContainEqual([
      'vmware_vm.wait_for_tools',
      100,
      "waited for VM 'DC0_H0_VM0' to run VMware Tools",
    ])
  })

  it('a wait that cannot be met fails with BRINE_TIMEOUT naming the VM; test mode does not wait', async () => {
    const quiet = 'DC0_H0_VM1'
    // A guest without VMware Tools (guest-tools.go): it never reports Tools or an address.
    await call('vmware_vm.power_state', [quiet, 'off'])
    await setExtraConfig(quiet, 'guestinfo.vcsim.tools', 'notInstalled')
    await call('vmware_vm.power_state', [quiet, 'on'])
    expect((await guestProps(quiet))['guest.toolsRunningStatus']).toBe('guestToolsNotRunning')
    const error = await failure('vmware_vm.wait_for_ip', [], { name: quiet, timeout: 1 })
    expect(error?.code).toBe('BRINE_TIMEOUT')
    expect(error?.message).toContain(`VM '${quiet}' did not report an IP address`)
    expect(error?.message).toContain('tools guestToolsNotRunning')
    const tools = await failure('vmware_vm.wait_for_tools', [], { name: quiet, timeout: 0 })
    expect(tools?.code).toBe('BRINE_TIMEOUT')
    // Test mode looks once and answers what is there, without waiting.
    const { result, calls } = await traced(() =>
      rt.call('vmware_vm.wait_for_ip', { kwargs: { name: quiet, timeout: 600 }, test: true }),
    )
    expect(result).toMatchObject({ name: quiet, ip_address: null })
    expect(
      calls.filter(
        (c) => c.method === 'WaitForUpdatesEx' && /<maxWaitSeconds>[1-9]/.test(c.request),
      ),
    ).toEqual([])
  })

  it('shutdown asks the guest and waits until the VM is off; without Tools it is refused unless forced', async () => {
    const vm = 'DC0_C0_RP0_VM0'
    expect((await guestProps(vm))['guest.toolsRunningStatus']).toBe('guestToolsRunning')
    // Test mode: a prediction, nothing changes.
    expect(await rt.call('vmware_vm.shutdown', { kwargs: { name: vm }, test: true })).toMatchObject(
      { changed: true, forced: false, power_state: 'poweredOn' },
    )
    expect((await guestProps(vm))['runtime.powerState']).toBe('poweredOn')
    const { result, calls } = await traced(() => call('vmware_vm.shutdown', [], { vm_name: vm }))
    expect(result).toMatchObject({
      name: vm,
      power_state: 'poweredOff',
      changed: true,
      forced: false,
    })
    expect(calls.map((c) => c.method)).toContain('ShutdownGuest')
    expect(calls.map((c) => c.method)).not.toContain('PowerOffVM_Task')
    expect((await guestProps(vm))['runtime.powerState']).toBe('poweredOff')
    expect(await call('vmware_vm.shutdown', [], { vm_name: vm })).toMatchObject({
      changed: false,
      comment: `VM '${vm}' is already powered off.`,
    })
    await call('vmware_vm.power_state', [vm, 'on'])

    // DC0_H0_VM1 has no Tools (previous test): refused, and the VM stays on.
    const quiet = 'DC0_H0_VM1'
    const refused = await failure('vmware_vm.shutdown', [], { name: quiet })
    expect(refused?.code).toBe('BRINE_VIM_TOOLS_UNAVAILABLE')
    expect(refused?.message).toContain('force=True')
    expect((await guestProps(quiet))['runtime.powerState']).toBe('poweredOn')
    // vCenter itself refuses ShutdownGuest without Tools (ToolsUnavailable).
    const raw = await failure('vmware_vm.power_state', [quiet, 'shutdown'])
    expect(raw?.code).toBe('BRINE_VIM_TOOLS_UNAVAILABLE')
    const forced = await traced(() => call('vmware_vm.shutdown', [], { name: quiet, force: true }))
    expect(forced.result).toMatchObject({ power_state: 'poweredOff', changed: true, forced: true })
    expect(forced.calls.map((c) => c.method)).toContain('PowerOffVM_Task')
    expect((await guestProps(quiet))['runtime.powerState']).toBe('poweredOff')
  })
})

describe('guest operations (vmware_guest)', () => {
  const vm = 'DC0_C0_RP0_VM1'

  it('run answers the exit code, and the output with capture_output', async () => {
    const exit = (await call('vmware_guest.run', [], {
      vm_name: vm,
      ...AUTH,
      program_path: '/bin/sh',
      arguments: "-c 'exit 3'",
    })) as Record<string, unknown>
    expect(exit).toMatchObject({ name: vm, exit_code: 3 })
    expect(exit.end_time).toEqual(expect.any(String))
    const echoed = await call('vmware_guest.run', [], {
      name: vm,
      ...AUTH,
      program_path: '/bin/echo',
      arguments: 'hello guest',
      capture_output: true,
    })
    expect(echoed).toMatchObject({ exit_code: 0, stdout: 'hello guest\n', stderr: '' })
    const env = await call('vmware_guest.run', [], {
      name: vm,
      ...AUTH,
      program_path: '/bin/sh',
      arguments: '-c \'echo "$GREETING" >&2; exit 0\'',
      env: { GREETING: 'from brine' },
      capture_output: true,
    })
    expect(env).toMatchObject({ exit_code: 0, stdout: '', stderr: 'from brine\n' })
    // The guest lists both processes, exited, with their exit codes (read back).
    const pids = [(exit as { pid: number }).pid, (echoed as { pid: number }).pid]
    const listed = (await call('vmware_guest.list_processes', [], {
      name: vm,
      ...AUTH,
      pids,
    })) as Array<Record<string, unknown>>
    expect(listed.map((p) => [p.pid, p.exit_code, p.owner])).toEqual([
      [pids[0], 3, 'root'],
      [pids[1], 0, 'root'],
    ])
    // wait=False answers the pid of a process still running; list_processes shows it running.
    const started = (await call('vmware_guest.run', [], {
      name: vm,
      ...AUTH,
      program_path: '/bin/sleep',
      arguments: '30',
      wait: false,
    })) as { pid: number; exit_code: null }
    expect(started.exit_code).toBeNull()
    const [running] = (await call('vmware_guest.list_processes', [], {
      name: vm,
      ...AUTH,
      pids: [started.pid],
    })) as Array<Record<string, unknown>>
    expect(running).toMatchObject({ pid: started.pid, end_time: null, exit_code: null })
    // Its wait bounded by a timeout that cannot be met: BRINE_TIMEOUT naming the VM.
    const late = await failure('vmware_guest.run', [], {
      name: vm,
      ...AUTH,
      program_path: '/bin/sleep',
      arguments: '30',
      timeout: 0,
    })
    expect(late?.code).toBe('BRINE_TIMEOUT')
    expect(late?.message).toContain(`VM '${vm}'`)
    // Both sleeps are ended; the guest lists them as exited (killed: no exit code 0).
    const sleeping = (
      (await call('vmware_guest.list_processes', [], { name: vm, ...AUTH })) as Array<
        Record<string, unknown>
      >
    ).filter((p) => p.cmd_line === '/bin/sleep 30' && p.end_time === null)
    expect(sleeping.map((p) => p.pid)).toContain(started.pid)
    for (const p of sleeping) {
      const ended = await call('vmware_guest.terminate_process', [], {
        name: vm,
        ...AUTH,
        pid: p.pid,
      })
      expect(ended).toMatchObject({ pid: p.pid, terminated: true, end_time: expect.any(String) })
      expect((ended as { exit_code: number }).exit_code).not.toBe(0)
    }
  })

  it('upload and download move the bytes; the guest’s programs see the uploaded file', async () => {
    const bytes = randomBytes(200_000)
    const source = join(local, 'payload.bin')
    writeFileSync(source, bytes)
    expect(
      await call('vmware_guest.upload', [], {
        name: vm,
        ...AUTH,
        source,
        destination: '/tmp/payload.bin',
      }),
    ).toEqual({ name: vm, path: '/tmp/payload.bin', size: bytes.length })
    // A program in the guest reads it (its working directory is a temporary one under /tmp).
    expect(
      await call('vmware_guest.run', [], {
        name: vm,
        ...AUTH,
        program_path: '/usr/bin/wc',
        arguments: '-c ../payload.bin',
        capture_output: true,
      }),
    ).toMatchObject({ exit_code: 0, stdout: `${bytes.length} ../payload.bin\n` })
    const destination = join(local, 'back.bin')
    expect(
      await call('vmware_guest.download', [], {
        name: vm,
        ...AUTH,
        source: '/tmp/payload.bin',
        destination,
      }),
    ).toEqual({ name: vm, path: '/tmp/payload.bin', size: bytes.length, destination })
    expect(readFileSync(destination).equals(bytes)).toBe(true)
    // An existing file needs overwrite=True.
    const exists = await failure('vmware_guest.upload', [], {
      name: vm,
      ...AUTH,
      source,
      destination: '/tmp/payload.bin',
    })
    expect(exists?.code).toBe('BRINE_VIM_FILE_ALREADY_EXISTS')
    expect(exists?.message).toContain('overwrite=True')
    writeFileSync(source, 'replaced\n')
    await call('vmware_guest.upload', [], {
      name: vm,
      ...AUTH,
      source,
      destination: '/tmp/payload.bin',
      overwrite: true,
    })
    expect(
      await call('vmware_guest.download', [], { name: vm, ...AUTH, source: '/tmp/payload.bin' }),
    ).toMatchObject({ content: 'replaced\n', size: 9 })
    const missing = await failure('vmware_guest.download', [], {
      name: vm,
      ...AUTH,
      source: '/tmp/none.bin',
    })
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
  })

  it('is refused clearly without Tools, on a powered-off VM and with a wrong guest login; the password never shows', async () => {
    // DC0_H0_VM1 has no Tools (guestinfo.vcsim.tools=notInstalled): GuestOperationsUnavailable.
    const quiet = 'DC0_H0_VM1'
    await call('vmware_vm.power_state', [quiet, 'off'])
    await setExtraConfig(quiet, 'guestinfo.vcsim.tools', 'notInstalled')
    await call('vmware_vm.power_state', [quiet, 'on'])
    const noTools = await failure('vmware_guest.list_processes', [], { name: quiet, ...AUTH })
    expect(noTools?.code).toBe('BRINE_VIM_GUEST_OPERATIONS_UNAVAILABLE')
    expect(noTools?.message).toContain('VMware Tools are not running')
    await call('vmware_vm.power_state', [quiet, 'off'])
    const off = await failure('vmware_guest.run', [], {
      name: quiet,
      ...AUTH,
      program_path: '/bin/true',
    })
    expect(off?.code).toBe('BRINE_INVALID_STATE')
    expect(off?.message).toContain('powered on')

    const password = 'Wr0ng-guest-pw-7731'
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    setLogLevel('debug')
    let bad: (Error & { code?: string }) | undefined
    try {
      bad = await failure('vmware_guest.run', [], {
        name: vm,
        username: 'root',
        password,
        program_path: '/bin/true',
      })
    } finally {
      setLogLevel('warning')
      restore()
    }
    expect(bad?.code).toBe('BRINE_VIM_INVALID_GUEST_LOGIN')
    expect(bad?.message).toContain("user 'root'")
    expect(bad?.message).toContain('username= and password=')
    // The password went to vCenter (the SOAP log line shows it masked) and nowhere else.
    expect(lines.join('\n')).toContain('StartProgramInGuest')
    expect(lines.join('\n')).not.toContain(password)
    expect(`${bad?.message}\n${bad?.stack}\n${JSON.stringify(bad)}`).not.toContain(password)
    // A bad argument with the password does not echo it either.
    const typo = await failure('vmware_guest.run', [], {
      name: vm,
      username: 'root',
      password: 12345,
      program_path: '/bin/true',
    })
    expect(typo?.message).toContain("argument 'password'")
    expect(typo?.message).not.toContain('12345')
  })
})

describe('the wait_for_ip state option', () => {
  it('vmware_vm.power_state powers on and waits for the address; again: no change; test mode changes nothing', async () => {
    const vm = 'DC0_C0_RP0_VM0'
    await call('vmware_vm.power_state', [vm, 'off'])
    // Test mode: predicted, nothing changes, nothing waited for.
    const predicted = await state(
      'vmware_vm.power_state',
      [],
      { name: vm, power: 'on', wait_for_ip: true },
      true,
    )
    expect(predicted).toMatchObject({
      result: null,
      changes: { power_state: { old: 'poweredOff', new: 'poweredOn' } },
    })
    expect(predicted.comment).toContain("wait for the guest's IP address")
    expect((await guestProps(vm))['runtime.powerState']).toBe('poweredOff')
    const applied = await state('vmware_vm.power_state', [], {
      name: vm,
      power: 'on',
      wait_for_ip: 120,
    })
    const direct = await guestProps(vm)
    expect(direct['guest.ipAddress']).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(applied).toMatchObject({
      result: true,
      changes: { power_state: { old: 'poweredOff', new: 'poweredOn' } },
    })
    expect(applied.comment).toBe(
      `VM '${vm}' is now poweredOn. Guest IP address: ${direct['guest.ipAddress']}.`,
    )
    const again = await state('vmware_vm.power_state', [], {
      name: vm,
      power: 'on',
      wait_for_ip: true,
    })
    expect(again).toMatchObject({ result: true, changes: {} })
    expect(again.comment).toContain(`Guest IP address: ${direct['guest.ipAddress']}.`)
  })

  it('vmware_vm.present waits for the address of a powered-on VM and fails clearly for one without', async () => {
    const vm = 'DC0_C0_RP0_VM0'
    const ret = await state('vmware_vm.present', [], {
      name: vm,
      datacenter: 'DC0',
      wait_for_ip: true,
    })
    expect(ret).toMatchObject({ result: true, changes: {} })
    expect(ret.comment).toMatch(/Guest IP address: \d+\.\d+\.\d+\.\d+\.$/)
    // A guest that never reports one (no Tools): False after the timeout, naming the VM.
    const quiet = 'DC0_H0_VM1'
    await call('vmware_vm.power_state', [quiet, 'off'])
    await setExtraConfig(quiet, 'guestinfo.vcsim.tools', 'notInstalled')
    const off = await state('vmware_vm.present', [], {
      name: quiet,
      datacenter: 'DC0',
      wait_for_ip: 1,
    })
    expect(off).toMatchObject({ result: false, changes: {} })
    expect(off.comment).toContain(`VM '${quiet}' is not powered on`)
    await call('vmware_vm.power_state', [quiet, 'on'])
    const never = await state('vmware_vm.present', [], {
      name: quiet,
      datacenter: 'DC0',
      wait_for_ip: 1,
    })
    expect(never).toMatchObject({ result: false, changes: {} })
    expect(never.comment).toContain(`VM '${quiet}' did not report an IP address`)
  })
})

describe('VM lookup by instance and BIOS UUID', () => {
  it('every function finds a VM by its instance UUID or BIOS UUID, within a datacenter too', async () => {
    const vm = 'DC0_H0_VM0'
    const direct = await guestProps(vm)
    const instance = String(direct['config.instanceUuid'])
    const bios = String(direct['config.uuid'])
    expect(instance).not.toBe(bios)
    const id = (await getEntity(si, ENTITY_TYPES.vm, vm)).obj.value
    for (const uuid of [instance, bios, bios.toUpperCase()]) {
      expect(await call('vmware_vm.info', [], { vm_name: uuid })).toMatchObject({ name: vm, id })
      expect(await call('vmware_vm.path', [uuid])).toBe(`/DC0/vm/${vm}`)
      expect(await call('vmware_vm.info', [], { name: uuid, datacenter: 'DC0' })).toMatchObject({
        name: vm,
      })
      expect(await call('vmware_vm.wait_for_power', [], { name: uuid, state: 'on' })).toMatchObject(
        { name: vm },
      )
    }
    expect(await call('vmware_guest.list_processes', [], { vm_name: instance, ...AUTH })).toEqual(
      expect.any(Array),
    )
    // Scoped to a datacenter that does not hold it: not found there.
    await call('vmware_datacenter.create', ['DC-uuid'])
    const elsewhere = await failure('vmware_vm.info', [], { name: instance, datacenter: 'DC-uuid' })
    expect(elsewhere?.code).toBe('BRINE_NOT_FOUND')
    expect(elsewhere?.message).toContain("datacenter 'DC-uuid'")
    // A UUID no VM has is "not found", as a name would be.
    const none = await failure('vmware_vm.info', [], {
      name: '00000000-0000-0000-0000-000000000000',
    })
    expect(none?.code).toBe('BRINE_NOT_FOUND')
  })

  it('a BIOS UUID that several VMs share is ambiguous; their instance UUIDs still tell them apart', async () => {
    const [a, b] = ['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1']
    const first = await guestProps(a)
    const other = await getEntity(si, ENTITY_TYPES.vm, b)
    // A copied VM keeps its BIOS UUID: give VM1 the BIOS UUID of VM0.
    await runTask(si, 'copying the BIOS UUID', 'ReconfigVM_Task', {
      _this: other.obj,
      spec: { uuid: first['config.uuid'] },
    })
    expect((await guestProps(b))['config.uuid']).toBe(first['config.uuid'])
    const error = await failure('vmware_vm.info', [], { name: String(first['config.uuid']) })
    expect(error?.code).toBe('BRINE_AMBIGUOUS')
    expect(error?.message).toContain(`/DC0/vm/${a}`)
    expect(error?.message).toContain(`/DC0/vm/${b}`)
    const second = await guestProps(b)
    expect(
      await call('vmware_vm.info', [], { name: String(second['config.instanceUuid']) }),
    ).toMatchObject({ name: b })
  })

  it('costs the same round trips on 50 VMs as on 500', async () => {
    const big = await startVcsim({ vm: 250 })
    const bigRt = vmwareRuntime(big, 'vm-guest-scale')
    try {
      const count = async (runtime: Runtime, vm: string) => {
        const s = await runtime.serviceInstance()
        const props = await retrieveObjectProperties(
          s,
          (await getEntity(s, ENTITY_TYPES.vm, vm)).obj,
          ['config.uuid', 'config.instanceUuid'],
        )
        const methods = async (name: string) => {
          const calls: string[] = []
          const stop = observeSoapCalls((c) => calls.push(c.method))
          try {
            await runtime.call('vmware_vm.info', { kwargs: { name, datacenter: 'DC0' } })
          } finally {
            stop()
          }
          return calls.sort()
        }
        return {
          instance: await methods(String(props['config.instanceUuid'])),
          bios: await methods(String(props['config.uuid'])),
        }
      }
      const small = await count(rt, 'DC0_H0_VM0')
      const large = await count(bigRt, 'DC0_H0_VM0')
      expect(large).toEqual(small)
      // By instance UUID: one FindAllByUuid; by BIOS UUID: two (instance first).
      expect(small.instance.filter((m) => m === 'FindAllByUuid')).toHaveLength(1)
      expect(small.bios.filter((m) => m === 'FindAllByUuid')).toHaveLength(2)
    } finally {
      await bigRt.close()
      await big.stop()
    }
  }, 120_000)
})

describe('through the brine CLI', () => {
  it('vmware_guest.run prints the exit code and output; the guest password shows nowhere, even at debug level', async () => {
    const cwd = cliDirFor(vcsim, join(tmpdir(), 'brine-vm-guest-cli-'))
    const vm = 'DC0_C0_RP0_VM1'
    const run = (password: string) =>
      runCli(
        [
          'call',
          'vmware_guest.run',
          vm,
          'username=root',
          `password=${password}`,
          'program_path=/bin/echo',
          'arguments=cli-run',
          'capture_output=True',
          '--out',
          'json',
          '--log-level',
          'debug',
        ],
        { cwd, env: isolatedCliEnv(cwd) },
      )
    const ok = await run('vmware')
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout).local).toMatchObject({
      name: vm,
      exit_code: 0,
      stdout: 'cli-run\n',
    })
    expect(ok.stderr).toContain('StartProgramInGuest')
    expect(`${ok.stdout}${ok.stderr}`).not.toMatch(/\bvmware\b(?!_)/)
    const wrong = 'Cli-wrong-pw-5521'
    const bad = await run(wrong)
    expect(bad.code).toBe(1)
    expect(`${bad.stdout}${bad.stderr}`).toContain('BRINE_VIM_INVALID_GUEST_LOGIN')
    expect(`${bad.stdout}${bad.stderr}`).not.toContain(wrong)
  }, 60_000)
})
