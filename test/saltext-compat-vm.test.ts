// saltext-vmware compatibility of the VM and datastore modules and states: each function and
// state called the way saltext's docstrings and tests call it (positional and keyword), against
// vcsim, checking saltext's return shape. Sources are saltstack/salt-ext-modules-vmware at
// cb32a1f: src/saltext/vmware/{modules,states}/{vm,datastore}.py, utils/vm.py and
// tests/integration/{modules,states}/test_{vm,datastore}.py.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { runTask } from '../vsphere/call.ts'
import { typed } from '../vsphere/codec.ts'
import { ENTITY_TYPES, getEntity } from '../vsphere/entities.ts'
import { observeSoapCalls } from '../vsphere/soap-observers.ts'
import { cliDirFor, runCli } from './helpers/cli.ts'
import { writeOva } from './helpers/ova.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'compat-vm')
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, state, failure } = callersOf(() => rt)
const powerOf = async (vm: string) =>
  ((await call('vmware_vm.info', [vm])) as { power_state: string }).power_state
const snapshotsOf = async (vm: string) =>
  ((await call('vmware_vm.snapshot', [vm])) as { snapshots: Array<Record<string, unknown>> })
    .snapshots
const datastoreMode = async (name: string) =>
  ((await call('vmware_datastore.get', [name])) as Array<{ maintenanceMode: string }>)[0]
    ?.maintenanceMode

describe('vmware_vm module (modules/vm.py)', () => {
  it('list, list_templates and path take saltext’s arguments and answer names and paths', async () => {
    // tests/integration/modules/test_vm.py test_vm_list: list_() answers the VM names.
    const all = (await call('vmware_vm.list')) as string[]
    expect(all).toEqual(expect.arrayContaining(['DC0_H0_VM0', 'DC0_C0_RP0_VM0']))
    // modules/vm.py list_(datacenter_name, cluster_name, host_name) keywords.
    expect(
      await call('vmware_vm.list', [], { datacenter_name: 'DC0', host_name: 'DC0_H0' }),
    ).toEqual(['DC0_H0_VM0', 'DC0_H0_VM1'])
    expect(
      await call('vmware_vm.list', [], { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }),
    ).toEqual(['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1'])
    // test_vm_list_templates: list_templates() answers template names (none in vcsim).
    expect(await call('vmware_vm.list_templates')).toEqual([])
    // test_path: path(vm_name=k) == "/DC/vm/…"; positional too.
    expect(await call('vmware_vm.path', [], { vm_name: 'DC0_H0_VM0' })).toBe('/DC0/vm/DC0_H0_VM0')
    expect(await call('vmware_vm.path', ['DC0_H0_VM0'])).toBe('/DC0/vm/DC0_H0_VM0')
  })

  it('info answers {<name>: saltext’s 13 fields}, for one VM and for all', async () => {
    // modules/vm.py info: the dict keyed by summary.config.name with these keys.
    const keys = [
      'cluster',
      'datacenter',
      'esxi_hostname',
      'folder',
      'guest_fullname',
      'guest_name',
      'ip_address',
      'mac_address',
      'moid',
      'power_state',
      'tags',
      'uuid',
      'vm_network',
    ]
    // Docstring: salt '*' vmware_vm.info vm_name=vm01
    const one = (await call('vmware_vm.info', [], { vm_name: 'DC0_H0_VM0' })) as Record<
      string,
      unknown
    > & { id: string }
    const row = one.DC0_H0_VM0 as Record<string, unknown>
    expect(Object.keys(row).sort()).toEqual(keys)
    expect(row).toMatchObject({
      guest_name: 'DC0_H0_VM0',
      power_state: 'poweredOn',
      esxi_hostname: 'DC0_H0',
      // A standalone host's parent is its ComputeResource, named as the host.
      cluster: 'DC0_H0',
      datacenter: 'DC0',
      folder: '/DC0/vm/DC0_H0_VM0',
      moid: one.id,
      tags: [],
    })
    expect(row.mac_address).toEqual([expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)])
    expect(typeof row.uuid).toBe('string')
    expect(typeof row.vm_network).toBe('object')
    const clustered = (await call('vmware_vm.info', ['DC0_C0_RP0_VM0'])) as Record<
      string,
      Record<string, unknown>
    >
    expect(clustered.DC0_C0_RP0_VM0).toMatchObject({ cluster: 'DC0_C0', datacenter: 'DC0' })
    // test_vm_info: info() with no name, vm_info[vm_name][arg_name].
    const every = (await call('vmware_vm.info')) as Record<string, Record<string, unknown>>
    expect(Object.keys(every).sort()).toEqual(
      ['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1', 'DC0_H0_VM0', 'DC0_H0_VM1'].sort(),
    )
    for (const [name, info] of Object.entries(every)) {
      expect(Object.keys(info).sort(), name).toEqual(keys)
      expect(info.guest_name).toBe(name)
    }
  })

  it('power_state(vm_name, state) positional with powered-on, suspend, reset, powered-off', async () => {
    const vm = 'DC0_H0_VM1'
    // modules/vm.py power_state: "already" answers with the current state.
    expect(await call('vmware_vm.power_state', [vm, 'powered-on'])).toMatchObject({
      comment: 'Virtual machine is already powered on',
      changes: { state: 'poweredOn' },
    })
    // tests/integration/modules/test_vm.py test_powered_on: each state in turn, positional,
    // comment "Virtual machine {state} action succeeded".
    const expected: Record<string, string> = {
      'powered-off': 'poweredOff',
      'powered-on': 'poweredOn',
      suspend: 'suspended',
      reset: 'poweredOn',
    }
    for (const wanted of ['powered-off', 'powered-on', 'suspend', 'powered-on', 'reset']) {
      const result = await call('vmware_vm.power_state', [vm, wanted])
      expect(result, wanted).toMatchObject({
        comment: `Virtual machine ${wanted} action succeeded`,
        changes: { state: expected[wanted] },
      })
      expect(await powerOf(vm)).toBe(expected[wanted])
    }
    // Docstring: power_state vm_name=vm01 state=powered-on datacenter_name=dc1.
    expect(
      await call('vmware_vm.power_state', [], {
        vm_name: vm,
        state: 'powered-off',
        datacenter_name: 'DC0',
      }),
    ).toMatchObject({ changes: { state: 'poweredOff' } })
    expect(await call('vmware_vm.power_state', [vm, 'powered-off'])).toMatchObject({
      comment: 'Virtual machine is already powered off',
    })
    // The datacenter is the third positional, not the second (issue 14).
    expect(await call('vmware_vm.power_state', [vm, 'powered-on', 'DC0'])).toMatchObject({
      changes: { state: 'poweredOn' },
    })
    expect((await failure('vmware_vm.power_state', [vm, 'on', 'NoSuchDC']))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
    // Unknown states are refused before anything runs.
    expect((await failure('vmware_vm.power_state', [vm, 'powered_on']))?.message).toMatch(
      /powered-on/,
    )
  })

  it('power_state shutdown reports poweredOff only once the guest is off, read back from vCenter', async () => {
    const vm = 'DC0_H0_VM1'
    expect(await powerOf(vm)).toBe('poweredOn')
    const methods: string[] = []
    const stop = observeSoapCalls((c) => methods.push(c.method))
    let result: unknown
    try {
      result = await call('vmware_vm.power_state', [vm, 'shutdown'])
    } finally {
      stop()
    }
    // ShutdownGuest only asks the guest; the state is read after it (vcsim stops at once).
    expect(methods.indexOf('ShutdownGuest')).toBeGreaterThanOrEqual(0)
    expect(methods.lastIndexOf('RetrievePropertiesEx')).toBeGreaterThan(
      methods.indexOf('ShutdownGuest'),
    )
    expect(result).toMatchObject({ changes: { state: 'poweredOff' }, power_state: 'poweredOff' })
    expect(await powerOf(vm)).toBe('poweredOff')
    // Already off: nothing is asked of the guest, saltext's "already" answer.
    const again: string[] = []
    const stopAgain = observeSoapCalls((c) => again.push(c.method))
    try {
      expect(await call('vmware_vm.power_state', [vm, 'shutdown'])).toMatchObject({
        comment: 'Virtual machine is already powered off',
        changes: { state: 'poweredOff' },
        changed: false,
      })
    } finally {
      stopAgain()
    }
    expect(again).not.toContain('ShutdownGuest')
    await call('vmware_vm.power_state', [vm, 'powered-on'])
  })

  it('power_state shutdown of a guest that ignores it fails after the timeout, naming the state', async () => {
    // A guest that receives the shutdown request and stays up (test/vcsim/saltext-vm.go).
    const vm = 'DC0_H0_VM1'
    const si = await rt.serviceInstance()
    const target = await getEntity(si, ENTITY_TYPES.vm, vm)
    await runTask(si, 'marking the guest', 'ReconfigVM_Task', {
      _this: target.obj,
      spec: {
        extraConfig: [
          { key: 'guestinfo.vcsim.guest-shutdown', value: typed('ignore', 'xsd:string') },
        ],
      },
    })
    expect(await powerOf(vm)).toBe('poweredOn')
    const methods: string[] = []
    const stop = observeSoapCalls((c) => methods.push(c.method))
    let error: (Error & { code?: string }) | undefined
    try {
      error = await failure('vmware_vm.power_state', [vm, 'shutdown'], { timeout: 1 })
    } finally {
      stop()
    }
    expect(error?.code).toBe('BRINE_INVALID_STATE')
    expect(error?.message).toBe(
      "VM 'DC0_H0_VM1' was asked to shut down but is still poweredOn after 1 s: the guest may " +
        'lack VMware Tools or ignore the request; wait longer (timeout=), or power it off with ' +
        'state=powered-off',
    )
    // Asked once, then the power state read until the deadline (at least twice: before and at it).
    expect(methods.filter((m) => m === 'ShutdownGuest')).toHaveLength(1)
    const after = methods.slice(methods.indexOf('ShutdownGuest') + 1)
    expect(after.filter((m) => m === 'RetrievePropertiesEx').length).toBeGreaterThanOrEqual(2)
    expect(await powerOf(vm)).toBe('poweredOn')
    // timeout=0: one read, no wait.
    expect(
      (await failure('vmware_vm.power_state', [vm, 'shutdown'], { timeout: 0 }))?.message,
    ).toMatch(/still poweredOn after 0 s/)
    await runTask(si, 'unmarking the guest', 'ReconfigVM_Task', {
      _this: target.obj,
      spec: {
        extraConfig: [{ key: 'guestinfo.vcsim.guest-shutdown', value: typed('', 'xsd:string') }],
      },
    })
  })

  it('boot_manager(vm_name, order) answers {status}', async () => {
    // tests/integration/modules/test_vm.py test_boot_manager / _same_settings, positional.
    const vm = 'DC0_H0_VM0'
    expect(await call('vmware_vm.boot_manager', [vm, ['disk', 'ethernet']])).toMatchObject({
      status: 'changed',
    })
    expect(await call('vmware_vm.boot_manager', [vm, ['disk', 'ethernet']])).toMatchObject({
      status: 'already configured this way',
    })
    // Docstring keywords: delay, enter_bios_setup, retry_delay, efi_secure_boot_enabled.
    expect(
      await call('vmware_vm.boot_manager', [], {
        vm_name: vm,
        order: ['cdrom', 'disk', 'ethernet'],
        delay: 5000,
        enter_bios_setup: false,
        retry_delay: 5000,
        efi_secure_boot_enabled: false,
      }),
    ).toMatchObject({ status: 'changed' })
    // saltext: retry is on when retry_delay is not 0.
    expect(await call('vmware_vm.boot_options', [vm])).toMatchObject({
      order: ['cdrom', 'disk', 'ethernet'],
      delay: 5000,
      retry_enabled: true,
      retry_delay: 5000,
    })
  })

  it('create_snapshot, snapshot and destroy_snapshot in saltext’s order and shapes', async () => {
    const vm = 'DC0_C0_RP0_VM1'
    // test_create_snapshot: create_snapshot(vm, "test-ss") positional → {snapshot: created}.
    expect(await call('vmware_vm.create_snapshot', [vm, 'test-ss'])).toMatchObject({
      snapshot: 'created',
    })
    // Docstring: every keyword.
    expect(
      await call('vmware_vm.create_snapshot', [], {
        vm_name: vm,
        snapshot_name: 'backup_snapshot_1',
        description: 'This snapshot is a backup of vm01',
        include_memory: false,
        quiesce: true,
        datacenter_name: 'DC0',
      }),
    ).toMatchObject({ snapshot: 'created' })
    // test_snapshot: snapshot(vm) → {snapshots: [{creation_time, …}]}, utils/vm.py
    // snapshot_recursive: flat, depth first, these keys.
    const snaps = await snapshotsOf(vm)
    expect(snaps.map((s) => s.name)).toEqual(['test-ss', 'backup_snapshot_1'])
    for (const snap of snaps) {
      expect(snap).toEqual({
        creation_time: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
        description: expect.any(String),
        id: expect.any(Number),
        name: expect.any(String),
        state: 'poweredOn',
        quiesced: expect.any(Boolean),
        moid: expect.any(String),
      })
    }
    expect(snaps[1]).toMatchObject({
      description: 'This snapshot is a backup of vm01',
      quiesced: true,
    })
    // Docstring: snapshot vm_name=vm01 datacenter_name=dc1.
    expect(await call('vmware_vm.snapshot', [], { vm_name: vm, datacenter_name: 'DC0' })).toEqual({
      snapshots: snaps,
    })
    // Docstring: destroy_snapshot with snapshot_id and remove_children.
    expect(
      await call('vmware_vm.destroy_snapshot', [], {
        vm_name: vm,
        snapshot_name: 'backup_snapshot_1',
        snapshot_id: snaps[1]!.id,
        remove_children: false,
        datacenter_name: 'DC0',
      }),
    ).toMatchObject({ snapshot: 'destroyed' })
    // test_destroy_snapshot: destroy_snapshot(vm, "test-ss") positional.
    expect(await call('vmware_vm.destroy_snapshot', [vm, 'test-ss'])).toMatchObject({
      snapshot: 'destroyed',
    })
    expect(await snapshotsOf(vm)).toEqual([])
    // A snapshot id that does not go with the name is not destroyed.
    await call('vmware_vm.create_snapshot', [vm, 'again'])
    expect(
      (await failure('vmware_vm.destroy_snapshot', [vm, 'again'], { snapshot_id: 999 }))?.code,
    ).toBe('BRINE_NOT_FOUND')
    expect((await snapshotsOf(vm)).map((s) => s.name)).toEqual(['again'])
    await call('vmware_vm.destroy_snapshot', [vm, 'again'])
  })

  it('relocate(vm_name, new_host_name, datastore_name) answers {virtual_machine: moved}', async () => {
    // tests/integration/modules/test_vm.py test_relocate: positional (vm, host, datastore).
    const vm = 'DC0_C0_RP0_VM0'
    expect(await call('vmware_vm.relocate', [vm, 'DC0_C0_H1', 'LocalDS_0'])).toMatchObject({
      virtual_machine: 'moved',
    })
    expect(await call('vmware_vm.location', [vm])).toMatchObject({
      host_name: 'DC0_C0_H1',
      datastores: [{ name: 'LocalDS_0' }],
    })
    // Docstring: relocate vm_name=vm01 new_host_name=host1 datastore_name=ds01.
    expect(
      await call('vmware_vm.relocate', [], {
        vm_name: vm,
        new_host_name: 'DC0_C0_H2',
        datastore_name: 'LocalDS_0',
      }),
    ).toMatchObject({ virtual_machine: 'moved', host_name: 'DC0_C0_H2' })
  })

  it('deploy_template, deploy_ovf and deploy_ova(vm_name, host_name, …) answer {deployed: True}', async () => {
    await call('vmware_vm.create', [], { name: 'compat-tpl', datacenter: 'DC0', cluster: 'DC0_C0' })
    await call('vmware_vm.mark_as_template', ['compat-tpl'])
    expect(await call('vmware_vm.list_templates')).toEqual(['compat-tpl'])
    // test_template_deploy: deploy_template(vm_name, template_name, host_name), positional.
    expect(
      await call('vmware_vm.deploy_template', ['from-tpl', 'compat-tpl', 'DC0_C0_H0']),
    ).toMatchObject({ deployed: true })
    expect(
      await call('vmware_vm.list', [], { cluster_name: 'DC0_C0', datacenter_name: 'DC0' }),
    ).toContain('from-tpl')
    // test_ovf_deploy / test_ova_deploy: (vm_name, host_name, ovf_path|ova_path), positional;
    // the VM goes to the host's compute resource and first datastore.
    const fixtures = join(import.meta.dirname, 'fixtures', 'ovf')
    const descriptor = readFileSync(join(fixtures, 'tiny.ovf'))
    const disk = readFileSync(join(fixtures, 'tiny-disk1.vmdk'))
    const tmp = mkdtempSync(join(tmpdir(), 'brine-compat-ova-'))
    const ova = await writeOva(tmp, 'tiny.ova', [
      ['tiny.ovf', descriptor],
      ['tiny-disk1.vmdk', disk],
    ])
    expect(
      await call('vmware_vm.deploy_ovf', ['compat-ovf', 'DC0_H0', join(fixtures, 'tiny.ovf')]),
    ).toMatchObject({ deployed: true, name: 'compat-ovf' })
    expect(await call('vmware_vm.deploy_ova', ['compat-ova', 'DC0_C0_H1', ova])).toMatchObject({
      deployed: true,
    })
    expect(await call('vmware_vm.location', ['compat-ovf'])).toMatchObject({ host_name: 'DC0_H0' })
    expect(await call('vmware_vm.location', ['compat-ova'])).toMatchObject({
      host_name: 'DC0_C0_H1',
    })
    // modules/vm.py _deploy_ovf: a duplicate name is refused.
    expect((await failure('vmware_vm.deploy_ova', ['compat-ova', 'DC0_C0_H1', ova]))?.code).toBe(
      'BRINE_VIM_DUPLICATE_NAME',
    )
  })

  it('get_mks_ticket(vm_name, ticket_type) answers pyVmomi’s ticket fields', async () => {
    // Docstring: get_mks_ticket vm_name=vm01 ticket_type=webmks; positional too.
    const ticket = (await call('vmware_vm.get_mks_ticket', ['DC0_H0_VM0', 'webmks'])) as Record<
      string,
      unknown
    >
    // The ticket is shown once (an Issued value), never kept.
    expect(Object.keys(ticket)).toEqual(expect.arrayContaining(['ticket', 'host', 'port']))
    expect(ticket.ticket).toBeDefined()
  })

  it('a name given under saltext’s and brine’s argument both must agree', async () => {
    const error = await failure('vmware_vm.path', [], { vm_name: 'DC0_H0_VM0', name: 'DC0_H0_VM1' })
    expect(error?.code).toBe('BRINE_ARGUMENT')
    expect(error?.message).toMatch(/'vm_name' and 'name'/)
  })
})

describe('saltext-vmware’s CLI examples, through the brine CLI', () => {
  it('vmware_vm.power_state vm01 reset and the docstring’s keywords; vmware_vm.snapshot vm_name=', async () => {
    const cwd = cliDirFor(vcsim, join(tmpdir(), 'brine-compat-vm-cli-'))
    const json = async (args: string[]) => {
      const out = await runCli(['call', ...args, '--out', 'json'], { cwd })
      expect(out.stderr, args.join(' ')).toBe('')
      return JSON.parse(out.stdout).local as Record<string, unknown>
    }
    // Issue 14: the second positional is the state, not the datacenter.
    expect(await json(['vmware_vm.power_state', 'DC0_H0_VM0', 'reset'])).toMatchObject({
      comment: 'Virtual machine reset action succeeded',
      changes: { state: 'poweredOn' },
    })
    // Docstring: salt '*' vmware_vm.power_state vm_name=vm01 state=powered-on datacenter_name=dc1
    expect(
      await json([
        'vmware_vm.power_state',
        'vm_name=DC0_H0_VM0',
        'state=powered-on',
        'datacenter_name=DC0',
      ]),
    ).toMatchObject({ comment: 'Virtual machine is already powered on' })
    // Docstring: salt '*' vmware_vm.snapshot vm_name=vm01 datacenter_name=dc1
    expect(await json(['vmware_vm.snapshot', 'vm_name=DC0_H0_VM0', 'datacenter_name=DC0'])).toEqual(
      { snapshots: [] },
    )
  }, 60_000)
})

describe('vmware_vm states (states/vm.py)', () => {
  it('snapshot_present and snapshot_absent: test mode changes nothing, then saltext’s comments', async () => {
    const vm = 'DC0_H0_VM0'
    // Docstring of snapshot_present: name, snapshot_name, description, include_memory, quiesce,
    // datacenter_name.
    const present = {
      snapshot_name: 'backup_snapshot_1',
      description: 'This snapshot is a backup of vm01',
      include_memory: false,
      quiesce: true,
      datacenter_name: 'DC0',
    }
    expect(await state('vmware_vm.snapshot_present', [vm], present, true)).toMatchObject({
      result: null,
      comment: 'These options are set to change.',
      changes: { snapshot: { old: null, new: 'backup_snapshot_1' } },
    })
    expect(await snapshotsOf(vm)).toEqual([])
    expect(await state('vmware_vm.snapshot_present', [vm], present)).toMatchObject({
      result: true,
      comment: 'created',
    })
    expect((await snapshotsOf(vm)).map((s) => s.name)).toEqual(['backup_snapshot_1'])
    expect(await state('vmware_vm.snapshot_present', [vm], present)).toMatchObject({
      result: true,
      changes: {},
      comment: 'snapshot was already created',
    })
    // snapshot_absent: name, snapshot_name, snapshot_id, remove_children, datacenter_name.
    const absent = { snapshot_name: 'backup_snapshot_1', remove_children: false }
    expect(await state('vmware_vm.snapshot_absent', [vm], absent, true)).toMatchObject({
      result: null,
      comment: 'These options are set to change.',
    })
    expect(await snapshotsOf(vm)).toHaveLength(1)
    expect(await state('vmware_vm.snapshot_absent', [vm], absent)).toMatchObject({
      result: true,
      comment: 'destroyed',
      changes: { snapshot: { old: 'backup_snapshot_1', new: null } },
    })
    expect(await snapshotsOf(vm)).toEqual([])
    expect(await state('vmware_vm.snapshot_absent', [vm], absent)).toMatchObject({
      result: true,
      changes: {},
      comment: "Snapshot backup_snapshot_1 doesn't exist",
    })
  })

  it('set_boot_manager: saltext’s arguments; only the options given change', async () => {
    const vm = 'DC0_H0_VM1'
    await call('vmware_vm.boot_manager', [vm, ['cdrom', 'disk']], { delay: 700 })
    // Docstring of set_boot_manager: boot_order, delay, enter_bios_setup, retry_enabled,
    // retry_delay, efi_secure_boot_enabled.
    const wanted = {
      boot_order: ['cdrom', 'disk', 'ethernet'],
      enter_bios_setup: false,
      retry_enabled: true,
      retry_delay: 5000,
      efi_secure_boot_enabled: false,
    }
    const dry = await state('vmware_vm.set_boot_manager', [vm], wanted, true)
    expect(dry).toMatchObject({ result: null, comment: 'These options are set to change.' })
    expect(Object.keys(dry.changes).sort()).toEqual(['order', 'retry_delay', 'retry_enabled'])
    expect(await call('vmware_vm.boot_options', [vm])).toMatchObject({ order: ['cdrom', 'disk'] })
    expect(await state('vmware_vm.set_boot_manager', [vm], wanted)).toMatchObject({
      result: true,
      comment: 'changed',
    })
    // delay, left out, is kept.
    expect(await call('vmware_vm.boot_options', [vm])).toMatchObject({
      ...{ order: wanted.boot_order, retry_enabled: true, retry_delay: 5000 },
      delay: 700,
    })
    expect(await state('vmware_vm.set_boot_manager', [vm], wanted)).toMatchObject({
      result: true,
      changes: {},
      comment: 'already configured this way',
    })
  })

  it('brine’s power_state state takes saltext’s powered-on/powered-off too', async () => {
    const vm = 'DC0_H0_VM1'
    expect(await powerOf(vm)).toBe('poweredOn')
    expect(
      await state('vmware_vm.power_state', [vm], { power: 'powered-off' }, true),
    ).toMatchObject({
      result: null,
      changes: { power_state: { old: 'poweredOn', new: 'poweredOff' } },
    })
    expect(await powerOf(vm)).toBe('poweredOn')
    expect(await state('vmware_vm.power_state', [vm], { power: 'powered-off' })).toMatchObject({
      result: true,
    })
    expect(await powerOf(vm)).toBe('poweredOff')
    expect(await state('vmware_vm.power_state', [vm], { power: 'powered-on' })).toMatchObject({
      result: true,
    })
    expect(await powerOf(vm)).toBe('poweredOn')
  })

  it('relocate state: moves once, then says the VM is already there', async () => {
    // Docstring of states/vm.py relocate: name, new_host_name, datastore_name.
    const vm = 'DC0_C0_RP0_VM1'
    const where = { new_host_name: 'DC0_C0_H2', datastore_name: 'LocalDS_0' }
    const before = (await call('vmware_vm.location', [vm])) as { host_name: string }
    expect(before.host_name).not.toBe('DC0_C0_H2')
    expect(await state('vmware_vm.relocate', [vm], where, true)).toMatchObject({
      result: null,
      comment: 'These options are set to change.',
      changes: { host: { old: before.host_name, new: 'DC0_C0_H2' } },
    })
    expect(await call('vmware_vm.location', [vm])).toMatchObject({ host_name: before.host_name })
    expect(await state('vmware_vm.relocate', [vm], where)).toMatchObject({
      result: true,
      comment: 'moved',
    })
    expect(await state('vmware_vm.relocate', [vm], where)).toMatchObject({
      result: true,
      changes: {},
      comment: `${vm} virtual machine is already on host DC0_C0_H2`,
    })
  })
})

describe('vmware_datastore module and state (modules/datastore.py, states/datastore.py)', () => {
  it('get answers saltext’s list of summaries, typed as its test checks them', async () => {
    // tests/integration/modules/test_datastore.py test_get: types of each field.
    const all = (await call('vmware_datastore.get')) as Array<Record<string, unknown>>
    expect(all.length).toBeGreaterThanOrEqual(1)
    for (const ds of all) {
      expect(typeof ds.accessible).toBe('boolean')
      expect(Number.isInteger(ds.capacity)).toBe(true)
      expect(Number.isInteger(ds.freeSpace)).toBe(true)
      expect(['normal', 'enteringMaintenance', 'inMaintenance']).toContain(ds.maintenanceMode)
      expect(typeof ds.multipleHostAccess).toBe('boolean')
      expect(ds.name).toEqual(expect.stringMatching(/.+/))
      expect(ds.type).toEqual(expect.stringMatching(/.+/))
      // vSphere's URLs start ds:/// (saltext checks it); vcsim 0.24.2's are local paths.
      expect(ds.url).toEqual(expect.stringMatching(/.+/))
      expect(Number.isInteger(ds.uncommitted)).toBe(true)
    }
    // test_maintenance_mode: get(host_name=…); and the name filter, positional.
    expect(
      ((await call('vmware_datastore.get', [], { host_name: 'DC0_H0' })) as typeof all).map(
        (d) => d.name,
      ),
    ).toEqual(['LocalDS_0'])
    expect(await call('vmware_datastore.get', ['LocalDS_0', 'DC0'])).toHaveLength(1)
    expect(await call('vmware_datastore.get', ['no-such-datastore'])).toEqual([])
    expect((await failure('vmware_datastore.get', ['LocalDS_0', 'NoSuchDC']))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
  })

  it('list_datastores and list_datastore_clusters', async () => {
    // test_list_datastores: {host: [{name, type, free_space, capacity}]}.
    const byHost = (await call('vmware_datastore.list_datastores')) as Record<
      string,
      Array<Record<string, unknown>>
    >
    expect(Object.keys(byHost)).toEqual(
      expect.arrayContaining(['DC0_H0', 'DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2']),
    )
    for (const list of Object.values(byHost))
      for (const ds of list) {
        expect(ds.name).toEqual(expect.stringMatching(/.+/))
        expect(ds.type).toEqual(expect.stringMatching(/.+/))
        expect(Number.isInteger(ds.free_space)).toBe(true)
        expect(Number.isInteger(ds.capacity)).toBe(true)
      }
    // Docstring: list_datastores datastore_names=[ds1, ds2]; host_name selects one host.
    expect(
      await call('vmware_datastore.list_datastores', [], {
        datastore_names: ['LocalDS_0'],
        host_name: 'DC0_H0',
      }),
    ).toEqual({ DC0_H0: [expect.objectContaining({ name: 'LocalDS_0' })] })
    expect(
      await call('vmware_datastore.list_datastores', [], {
        datastore_names: ['nope'],
        host_name: 'DC0_H0',
      }),
    ).toEqual({ DC0_H0: [] })
    // test_list_datastore_clusters: the names of the StoragePods.
    expect(await call('vmware_datastore.list_datastore_clusters')).toEqual([])
    const si = await rt.serviceInstance()
    const dc = await getEntity(si, ENTITY_TYPES.datacenter, 'DC0', { props: ['datastoreFolder'] })
    const folder = dc.props.datastoreFolder
    await si.invoke('CreateStoragePod', { _this: folder, name: 'compat-pod' })
    expect(await call('vmware_datastore.list_datastore_clusters')).toEqual(['compat-pod'])
  })

  it('list_disk_partitions(disk_id | scsi_address) answers per host its partitions', async () => {
    // tests/integration/modules/test_datastore.py test_list_disk_partitions: {host: [{device,
    // format, partition, …}]}; docstring: scsi_address='vmhba0:C0:T0:L0' or disk_id='naa.…'.
    // vcsim's disks are blank (test/vcsim/saltext-vm.go): no partition, so empty lists.
    expect(
      await call('vmware_datastore.list_disk_partitions', [], {
        disk_id: 'mpx.vmhba0:C0:T0:L0',
        host_name: 'DC0_H0',
      }),
    ).toEqual({ DC0_H0: [] })
    expect(
      await call('vmware_datastore.list_disk_partitions', [], {
        scsi_address: 'vmhba0:C0:T0:L0',
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
      }),
    ).toEqual({ DC0_C0_H0: [], DC0_C0_H1: [], DC0_C0_H2: [] })
    // The LUN at vmhba1:C0:T0:L0 is no disk (a CD-ROM): refused, naming it.
    expect(
      (
        await failure('vmware_datastore.list_disk_partitions', [], {
          scsi_address: 'vmhba1:C0:T0:L0',
          host_name: 'DC0_H0',
        })
      )?.message,
    ).toBe("disk 'mpx.vmhba1:C0:T0:L0' not found on host 'DC0_H0'")
    // A partition table written (HostStorageSystem.UpdateDiskPartitions) is read back, each
    // partition with its sectors and its size from the layout (1 KB = 2 sectors of 512 B).
    const si = await rt.serviceInstance()
    const host = await getEntity(si, ENTITY_TYPES.host, 'DC0_H0', {
      props: ['configManager.storageSystem'],
    })
    const attributes = (
      partition: number,
      startSector: number,
      endSector: number,
      type: string,
    ) => ({
      partition,
      startSector,
      endSector,
      type,
      logical: false,
      attributes: 0,
    })
    await si.invoke('UpdateDiskPartitions', {
      _this: host.props['configManager.storageSystem'],
      devicePath: '/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0',
      spec: {
        partitionFormat: 'gpt',
        totalSectors: 67108864,
        partition: [
          attributes(1, 2048, 206847, 'vmfs'),
          attributes(2, 206848, 208895, 'linuxNative'),
        ],
      },
    })
    expect(
      await call('vmware_datastore.list_disk_partitions', [], {
        scsi_address: 'vmhba0:C0:T0:L0',
        host_name: 'DC0_H0',
      }),
    ).toEqual({
      DC0_H0: [
        {
          hostname: 'DC0_H0',
          device: 'mpx.vmhba0:C0:T0:L0',
          format: 'gpt',
          partition: 1,
          type: 'vmfs',
          sectors: 204800,
          size_KB: 102400,
        },
        {
          hostname: 'DC0_H0',
          device: 'mpx.vmhba0:C0:T0:L0',
          format: 'gpt',
          partition: 2,
          type: 'linuxNative',
          sectors: 2048,
          size_KB: 1024,
        },
      ],
    })
    // modules/datastore.py: its two errors.
    expect((await failure('vmware_datastore.list_disk_partitions'))?.message).toBe(
      "Either 'disk_id' or 'scsi_address' needs to be specified",
    )
    expect(
      (
        await failure('vmware_datastore.list_disk_partitions', [], {
          scsi_address: 'vmhba9:C0:T0:L0',
          host_name: 'DC0_H0',
        })
      )?.message,
    ).toBe("Scsi lun with address 'vmhba9:C0:T0:L0' was not found on host 'DC0_H0'")
    expect(
      (
        await failure('vmware_datastore.list_disk_partitions', ['naa.nope'], {
          host_name: 'DC0_H0',
        })
      )?.code,
    ).toBe('BRINE_NOT_FOUND')
  })

  it('maintenance_mode and exit_maintenance_mode(datastore_name) answer {maintenanceMode}', async () => {
    await call('vmware_datastore.create_nfs', [], {
      name: 'compat-nfs',
      hosts: ['DC0_C0_H0'],
      remote_host: 'nfs.example.com',
      remote_path: '/exports/compat',
    })
    // tests/integration/modules/test_datastore.py test_maintenance_mode / test_exit_maintenance_mode.
    expect(await call('vmware_datastore.maintenance_mode', ['compat-nfs'])).toMatchObject({
      maintenanceMode: 'inMaintenance',
    })
    expect(await datastoreMode('compat-nfs')).toBe('inMaintenance')
    expect(
      await call('vmware_datastore.exit_maintenance_mode', ['compat-nfs', 'DC0']),
    ).toMatchObject({
      maintenanceMode: 'normal',
    })
    expect(await datastoreMode('compat-nfs')).toBe('normal')
  })

  it('the maintenance_mode state: enter_maintenance_mode decides, False never enters', async () => {
    const ds = 'compat-nfs'
    expect(await datastoreMode(ds)).toBe('normal')
    // Issue 14's dangerous case: enter_maintenance_mode False on a datastore out of maintenance
    // mode changes nothing (saltext's "Already exited maintenance mode.").
    for (const test of [true, false])
      expect(
        await state(
          'vmware_datastore.maintenance_mode',
          [ds],
          { enter_maintenance_mode: false },
          test,
        ),
      ).toMatchObject({ result: true, changes: {}, comment: 'Already exited maintenance mode.' })
    expect(await datastoreMode(ds)).toBe('normal')
    // tests/integration/states/test_datastore.py: maintenance_mode(name, True) positional,
    // test mode first, then for real; then False.
    expect(await state('vmware_datastore.maintenance_mode', [ds, true], {}, true)).toMatchObject({
      result: null,
      comment: 'These options are set to change.',
      changes: { maintenance_mode: { old: 'normal', new: 'inMaintenance' } },
    })
    expect(await datastoreMode(ds)).toBe('normal')
    expect(await state('vmware_datastore.maintenance_mode', [ds, true])).toMatchObject({
      result: true,
      comment: 'These options changed.',
    })
    expect(await datastoreMode(ds)).toBe('inMaintenance')
    expect(await state('vmware_datastore.maintenance_mode', [ds, true])).toMatchObject({
      result: true,
      changes: {},
      comment: 'Already in maintenance mode.',
    })
    expect(await state('vmware_datastore.maintenance_mode', [ds, false], {}, true)).toMatchObject({
      result: null,
      comment: 'These options are set to change.',
    })
    expect(await datastoreMode(ds)).toBe('inMaintenance')
    expect(
      await state('vmware_datastore.maintenance_mode', [ds], {
        enter_maintenance_mode: false,
        datacenter_name: 'DC0',
      }),
    ).toMatchObject({
      result: true,
      comment: 'These options changed.',
      changes: { maintenance_mode: { old: 'inMaintenance', new: 'normal' } },
    })
    expect(await datastoreMode(ds)).toBe('normal')
    // brine's older name still works; given with saltext's and disagreeing, the state fails
    // before anything changes.
    await expect(
      state('vmware_datastore.maintenance_mode', [ds], {
        enter_maintenance_mode: false,
        enter: true,
      }),
    ).rejects.toMatchObject({
      code: 'BRINE_ARGUMENT',
      message: expect.stringMatching(/'enter_maintenance_mode' and 'enter'/),
    })
    expect(await datastoreMode(ds)).toBe('normal')
    // A datastore that does not exist fails, in test mode too.
    for (const test of [true, false])
      expect(
        await state(
          'vmware_datastore.maintenance_mode',
          ['nope'],
          { enter_maintenance_mode: true },
          test,
        ),
      ).toMatchObject({ result: false, changes: {} })
  })
})
