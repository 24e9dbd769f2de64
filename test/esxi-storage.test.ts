// vmware_esxi's lockdown, vSAN, disks and LUNs (saltext-vmware's modules/esxi.py and
// states/esxi.py) against vcsim extended by test/vcsim/esxi-storage.go: through vCenter (hosts
// in a cluster and standalone; per-host, per-cluster and all-hosts selection) and on a direct
// ESXi connection. Each change is read back on a session of its own, with raw property reads.
// Sources: saltstack/salt-ext-modules-vmware (commit cb32a1f), src/saltext/vmware/modules/esxi.py,
// states/esxi.py, tests/integration/{modules,states}/test_esxi.py; the vSphere API reference
// (HostSystem.EnterLockdownMode, HostVsanSystem).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { runTask } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll, retrieveObjectProperties } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import type { ManagedObjectReference } from '../vsphere/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vc: Vcsim
let esx: Vcsim
let rt: Runtime
let rtEsx: Runtime
beforeAll(async () => {
  ;[vc, esx] = await Promise.all([startVcsim(), startVcsim({ esx: true })])
  rt = vmwareRuntime(vc, 'esxi-storage')
  rtEsx = vmwareRuntime(esx, 'root')
})
afterAll(async () => {
  await rt?.close()
  await rtEsx?.close()
  await Promise.all([vc?.stop(), esx?.stop()])
})

const onVc = callersOf(() => rt)
const onEsx = callersOf(() => rtEsx)
const { call, state, failure } = onVc
const CLUSTER = ['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2']

/** Read vSphere on a session of its own (a fresh login), not through the runtime under test. */
function readBack<T>(
  server: Vcsim,
  fn: (si: ServiceInstance) => Promise<T>,
  user = 'reader',
): Promise<T> {
  return withSession(
    resolveConnectionParams({
      server: server.url,
      user,
      password: 'pw',
      caFile: server.caFile,
    }),
    fn,
  )
}

type Host = { obj: ManagedObjectReference; name: string; props: Record<string, unknown> }

/** Hosts by name with raw properties. */
async function rawHosts(server: Vcsim, props: string[]): Promise<Record<string, Host>> {
  return readBack(server, async (si) => {
    const out: Record<string, Host> = {}
    for (const h of await retrieveAll(si, 'HostSystem', ['name', ...props]))
      out[String(h.props.name)] = { obj: h.obj, name: String(h.props.name), props: h.props }
    return out
  })
}

/** saltext's own reads, with pyVmomi (Debian's python3-pyvmomi), on `server`: JSON of `expr`. */
const PYTHON = '/usr/bin/python3'
const hasPyvmomi = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import pyVmomi'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
function pyvmomi(server: Vcsim, body: string): unknown {
  const script = `
import json, ssl, sys
from pyVim.connect import SmartConnect
from pyVmomi import vim
si = SmartConnect(host='127.0.0.1', port=int(sys.argv[1]), user='py', pwd='pw',
                  sslContext=ssl._create_unverified_context())
content = si.RetrieveContent()
hosts = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True).view
${body}
`
  return JSON.parse(execFileSync(PYTHON, ['-c', script, String(server.port)], { encoding: 'utf8' }))
}

const isOn = (v: unknown) => v === true || v === 'true'
/** A decoded repeated element: one element decodes as the element itself. */
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

// saltext's signatures without service_instance/profile (modules/esxi.py, states/esxi.py).
const SALTEXT_FUNCTIONS: Record<string, string[]> = {
  'vmware_esxi.get_lun_ids': [],
  'vmware_esxi.in_lockdown_mode': ['host'],
  'vmware_esxi.lockdown_mode': ['host', 'catch_task_error'],
  'vmware_esxi.exit_lockdown_mode': ['host', 'catch_task_error'],
  'vmware_esxi.get_vsan_enabled': ['host_name', 'datacenter_name', 'cluster_name'],
  'vmware_esxi.vsan_enable': ['enable', 'host_name', 'datacenter_name', 'cluster_name'],
  'vmware_esxi.get_vsan_eligible_disks': ['host_name', 'datacenter_name', 'cluster_name'],
  'vmware_esxi.vsan_add_disks': ['host_name', 'datacenter_name', 'cluster_name'],
  'vmware_esxi.list_disks': [
    'disk_ids',
    'scsi_addresses',
    'host_name',
    'datacenter_name',
    'cluster_name',
  ],
  'vmware_esxi.list_diskgroups': ['cache_disk_ids', 'host_name', 'datacenter_name', 'cluster_name'],
}
const SALTEXT_STATES: Record<string, string[]> = {
  'vmware_esxi.lockdown_mode': [
    'name',
    'enter_lockdown_mode',
    'datacenter_name',
    'cluster_name',
    'get_all_hosts',
  ],
  'vmware_esxi.vsan_config': [
    'name',
    'enabled',
    'add_disks_to_vsan',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
}

describe('saltext’s names and argument order', () => {
  it('functions declare saltext’s arguments first, in its order; states take saltext’s arguments', async () => {
    for (const [fun, args] of Object.entries(SALTEXT_FUNCTIONS)) {
      const { definition } = await rt.modules.getFunction(fun)
      expect(Object.keys(definition.args).slice(0, args.length), fun).toEqual(args)
      expect(definition.vsphere, fun).toBe(true)
    }
    for (const [fun, args] of Object.entries(SALTEXT_STATES)) {
      const { definition } = await rt.states.getFunction(fun)
      expect(Object.keys(definition.args).slice(0, args.length), fun).toEqual(args)
    }
  })
})

describe('lockdown mode', () => {
  it('through vCenter: enters and exits as saltext’s test_lockdown_mode does; faults of the API', async () => {
    // tests/integration/modules/test_esxi.py test_lockdown_mode: the first host of esxi.get,
    // lockdown_mode three times (changes only the first), exit_lockdown_mode three times.
    const host = Object.keys((await call('vmware_esxi.get')) as object)[0]!
    expect(await call('vmware_esxi.in_lockdown_mode', [host])).toEqual({ lockdownMode: 'normal' })
    for (const i of [0, 1, 2])
      expect(await call('vmware_esxi.lockdown_mode', [host])).toEqual({
        lockdownMode: 'inLockdown',
        changes: !i,
      })
    // Read back: config.adminDisabled and config.lockdownMode on a fresh vCenter login (the
    // host stays manageable through vCenter while in lockdown).
    const locked = (await rawHosts(vc, ['config.adminDisabled', 'config.lockdownMode']))[host]!
    expect(isOn(locked.props['config.adminDisabled'])).toBe(true)
    expect(locked.props['config.lockdownMode']).toBe('lockdownNormal')
    expect(await call('vmware_esxi.in_lockdown_mode', [host])).toEqual({
      lockdownMode: 'inLockdown',
    })
    // vSphere API reference: EnterLockdownMode on a host in lockdown fails with AdminDisabled,
    // ExitLockdownMode on one that is not with AdminNotDisabled.
    const si = await rt.serviceInstance()
    const raw = (method: string) =>
      si.invoke(method, { _this: locked.obj }).then(
        () => undefined,
        (e: { faultType?: string }) => e.faultType,
      )
    expect(await raw('EnterLockdownMode')).toBe('AdminDisabled')
    for (const i of [0, 1, 2])
      expect(await call('vmware_esxi.exit_lockdown_mode', [host])).toEqual({
        lockdownMode: 'normal',
        changes: !i,
      })
    expect(await raw('ExitLockdownMode')).toBe('AdminNotDisabled')
    const unlocked = (await rawHosts(vc, ['config.adminDisabled', 'config.lockdownMode']))[host]!
    expect(isOn(unlocked.props['config.adminDisabled'])).toBe(false)
    expect(unlocked.props['config.lockdownMode']).toBe('lockdownDisabled')
    // catch_task_error (default True, saltext's): a fault is reported as the mode the host is
    // left in, changes False; False raises it. A host vCenter is disconnected from refuses.
    expect(await call('vmware_esxi.disconnect', ['DC0_C0_H2'])).toEqual({ state: 'disconnected' })
    try {
      expect(await call('vmware_esxi.lockdown_mode', ['DC0_C0_H2'])).toEqual({
        lockdownMode: 'normal',
        changes: false,
      })
      const raised = await failure('vmware_esxi.lockdown_mode', ['DC0_C0_H2', false])
      expect(raised?.message).toMatch(
        /^putting host 'DC0_C0_H2' in lockdown mode: .*HostNotConnected/,
      )
    } finally {
      await call('vmware_esxi.connect', ['DC0_C0_H2'])
    }
    // An unknown host is named, not a crash.
    const missing = await failure('vmware_esxi.lockdown_mode', ['no-such-host'])
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
    expect(missing?.message).toMatch(/host 'no-such-host' not found/)
  })

  it('on a direct ESXi connection: a direct login is refused while in lockdown and works after exit', async () => {
    const [host] = (await onEsx.call('vmware_esxi.list_hosts')) as string[]
    expect(await onEsx.call('vmware_esxi.lockdown_mode', [host])).toEqual({
      lockdownMode: 'inLockdown',
      changes: true,
    })
    // A new direct login (SessionManager.Login on the host) is refused with NoPermission.
    const refused = await rawHosts(esx, ['config.adminDisabled']).then(
      () => undefined,
      (e: Error & { faultType?: string; code?: string }) => e,
    )
    expect(refused?.faultType).toBe('NoPermission')
    expect(refused?.message).toContain('Login')
    expect(refused?.message).not.toContain('pw')
    // The session opened before lockdown still works: read, then leave lockdown mode.
    expect(await onEsx.call('vmware_esxi.in_lockdown_mode', [host])).toEqual({
      lockdownMode: 'inLockdown',
    })
    expect(await onEsx.call('vmware_esxi.exit_lockdown_mode', [host])).toEqual({
      lockdownMode: 'normal',
      changes: true,
    })
    // Logins work again, and read the host out of lockdown.
    const after = (await rawHosts(esx, ['config.adminDisabled']))[host!]!
    expect(isOn(after.props['config.adminDisabled'])).toBe(false)
  })

  it('HostAccessManager: strict lockdown read back by in_lockdown_mode; exception users still log in', async () => {
    // vSphere API reference, HostAccessManager (API 6.0): ChangeLockdownMode sets lockdownMode;
    // users in UpdateLockdownExceptions keep direct access while the host is in lockdown.
    const [host] = (await onEsx.call('vmware_esxi.list_hosts')) as string[]
    const raw = (await rawHosts(esx, ['configManager.hostAccessManager']))[host!]!
    const manager = raw.props['configManager.hostAccessManager'] as ManagedObjectReference
    const si = await rtEsx.serviceInstance()
    await si.invoke('UpdateLockdownExceptions', { _this: manager, users: ['svc-backup'] })
    await si.invoke('ChangeLockdownMode', { _this: manager, mode: 'lockdownStrict' })
    expect(await onEsx.call('vmware_esxi.in_lockdown_mode', [host])).toEqual({
      lockdownMode: 'inLockdown',
    })
    const modeOf = (s: ServiceInstance) =>
      retrieveAll(s, 'HostSystem', ['config.lockdownMode']).then(
        ([h]) => h?.props['config.lockdownMode'],
      )
    // The exception user logs in directly and reads strict lockdown; another user is refused.
    expect(await readBack(esx, modeOf, 'svc-backup')).toBe('lockdownStrict')
    expect(
      await readBack(esx, modeOf, 'reader').then(
        () => undefined,
        (e: { faultType?: string }) => e.faultType,
      ),
    ).toBe('NoPermission')
    expect(await si.invoke('QueryLockdownExceptions', { _this: manager })).toEqual('svc-backup')
    // exit_lockdown_mode (ExitLockdownMode) leaves strict lockdown too; the manager agrees.
    expect(await onEsx.call('vmware_esxi.exit_lockdown_mode', [host])).toEqual({
      lockdownMode: 'normal',
      changes: true,
    })
    expect(
      await readBack(esx, (s) => retrieveObjectProperties(s, manager, ['lockdownMode'])),
    ).toEqual({ lockdownMode: 'lockdownDisabled' })
    await si.invoke('UpdateLockdownExceptions', { _this: manager })
  })

  it('the lockdown_mode state: one host or a list, test mode, twice', async () => {
    // tests/integration/states/test_esxi.py test_lockdown_mode_dry_run: result None, changes,
    // comment 'These options are set to change.'; nothing changed on read back.
    const hosts = ['DC0_C0_H0', 'DC0_C0_H1']
    const listed = { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
    const dry = await state('vmware_esxi.lockdown_mode', [hosts, true], listed, true)
    expect(dry).toMatchObject({
      result: null,
      changes: { new: hosts.map((h) => `${h} will enter Lockdown mode.`) },
      comment: 'These options are set to change.',
    })
    const lockedNow = async () =>
      Object.values(await rawHosts(vc, ['config.adminDisabled']))
        .filter((h) => isOn(h.props['config.adminDisabled']))
        .map((h) => h.name)
        .sort()
    expect(await lockedNow()).toEqual([])
    const applied = await state('vmware_esxi.lockdown_mode', [hosts, true], listed)
    expect(applied).toMatchObject({
      result: true,
      changes: { new: hosts.map((h) => `${h} entered Lockdown mode.`) },
    })
    expect(await lockedNow()).toEqual(hosts)
    const again = await state('vmware_esxi.lockdown_mode', [hosts, true], listed)
    expect(again).toMatchObject({ result: true, changes: {} })
    expect(again.comment).toContain('DC0_C0_H0 already in Lockdown mode.')
    // get_all_hosts with an empty list: every host of the cluster; out of lockdown.
    const all = await state('vmware_esxi.lockdown_mode', [[], false], {
      ...listed,
      get_all_hosts: true,
    })
    expect(all.changes).toEqual({ new: hosts.map((h) => `${h} entered Normal mode.`) })
    expect(all.comment).toContain('DC0_C0_H2 already in Normal mode.')
    expect(await lockedNow()).toEqual([])
    // test_lockdown_mode: one host by name, three times each way.
    for (const enter of [true, false])
      for (const i of [0, 1, 2]) {
        const ret = await state('vmware_esxi.lockdown_mode', ['DC0_H0', enter])
        expect(ret.result).toBe(true)
        expect(Object.keys(ret.changes).length > 0).toBe(!i)
        expect(await lockedNow()).toEqual(enter ? ['DC0_H0'] : [])
      }
  })
})

// The SLS given in the README notes (for the demo's host-configuration example).
const LOCKDOWN_SLS = `
lockdown-standalone-host:
  vmware_esxi.lockdown_mode:
    - name: DC0_H0
    - enter_lockdown_mode: true

lockdown-cluster-hosts:
  vmware_esxi.lockdown_mode:
    - name: [DC0_C0_H0, DC0_C0_H1]
    - enter_lockdown_mode: true
    - datacenter_name: DC0
    - cluster_name: DC0_C0
`

describe('lockdown from an SLS', () => {
  it('applies, then has nothing to change; the hosts read back in lockdown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-lockdown-sls-'))
    writeFileSync(join(dir, 'lockdown.sls'), LOCKDOWN_SLS)
    const sls = vmwareRuntime(vc, 'esxi-storage-sls', [dir])
    try {
      const apply = async () =>
        Object.values(
          (await sls.call('state.sls', { kwargs: { mods: 'lockdown' } })) as Record<
            string,
            StateReturn
          >,
        )
      const first = await apply()
      expect(
        first.map((r) => [r.result, r.changes]),
        JSON.stringify(first),
      ).toEqual([
        [true, { new: ['DC0_H0 entered Lockdown mode.'] }],
        [true, { new: ['DC0_C0_H0 entered Lockdown mode.', 'DC0_C0_H1 entered Lockdown mode.'] }],
      ])
      expect((await apply()).map((r) => [r.result, r.changes])).toEqual([
        [true, {}],
        [true, {}],
      ])
      const raw = await rawHosts(vc, ['config.adminDisabled'])
      expect(
        Object.values(raw)
          .filter((h) => isOn(h.props['config.adminDisabled']))
          .map((h) => h.name)
          .sort(),
      ).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_H0'])
    } finally {
      for (const host of ['DC0_H0', 'DC0_C0_H0', 'DC0_C0_H1'])
        await call('vmware_esxi.exit_lockdown_mode', [host])
      await sls.close()
    }
  })
})

describe('disks and LUNs', () => {
  it('get_lun_ids names the LUNs behind the VMFS datastores, as the datastores say', async () => {
    // tests/integration/modules/test_esxi.py: get_lun_ids() equals the datastores' disk names.
    const extents = await readBack(vc, async (si) =>
      (await retrieveAll(si, 'Datastore', ['info'])).flatMap((d) =>
        list(
          (d.props.info as { vmfs?: { extent?: Array<{ diskName: string }> } }).vmfs?.extent,
        ).map((e) => e.diskName),
      ),
    )
    expect(extents.length).toBeGreaterThan(0)
    expect(await call('vmware_esxi.get_lun_ids')).toEqual([...new Set(extents)].sort())
    expect(await onEsx.call('vmware_esxi.get_lun_ids')).toEqual([expect.stringMatching(/^naa\.6/)])
  })

  it('list_disks: every disk with its SCSI address; filtered by canonical name or address', async () => {
    // tests/integration/modules/test_esxi.py test_list_disks: each disk has id and scsi_address.
    const all = (await call('vmware_esxi.list_disks')) as Record<
      string,
      Array<{ id: string; scsi_address: string }>
    >
    expect(Object.keys(all)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2', 'DC0_H0'])
    // Cross-check with the hosts' own device lists: every HostScsiDisk, none of the CD-ROM.
    const raw = await rawHosts(vc, ['config.storageDevice.scsiLun'])
    for (const [host, disks] of Object.entries(all)) {
      const luns = raw[host]!.props['config.storageDevice.scsiLun'] as Array<{
        _type: string
        canonicalName: string
      }>
      expect(disks.map((d) => d.id)).toEqual(
        luns.filter((l) => l._type === 'HostScsiDisk').map((l) => l.canonicalName),
      )
      for (const d of disks) expect(d.scsi_address).toMatch(/^vmhba\d+:C\d+:T\d+:L\d+$/)
    }
    const h0 = all.DC0_C0_H0!
    // Positional (disk_ids, scsi_addresses, host_name), as the docstring's examples.
    expect(await call('vmware_esxi.list_disks', [[h0[1]!.id], undefined, 'DC0_C0_H0'])).toEqual({
      DC0_C0_H0: [h0[1]],
    })
    expect(
      await call('vmware_esxi.list_disks', [], {
        scsi_addresses: ['vmhba0:C0:T0:L0', 'vmhba1:C0:T0:L0'],
        host_name: 'DC0_C0_H0',
      }),
    ).toEqual({ DC0_C0_H0: [{ id: 'mpx.vmhba0:C0:T0:L0', scsi_address: 'vmhba0:C0:T0:L0' }] })
    // A cluster without its datacenter is refused, as saltext's get_hosts refuses it.
    expect(
      (await failure('vmware_esxi.list_disks', [], { cluster_name: 'DC0_C0' }))?.message,
    ).toMatch(/Must specify the datacenter/)
    // A list argument given as text is refused naming the argument.
    expect((await failure('vmware_esxi.list_disks', [], { disk_ids: 'naa.1' }))?.message).toMatch(
      /disk_ids/,
    )
    // Direct ESXi connection: the host's own disks.
    const direct = (await onEsx.call('vmware_esxi.list_disks')) as Record<string, unknown[]>
    expect(Object.values(direct)[0]).toHaveLength(5)
  })
})

describe('vSAN', () => {
  it('vsan_config on a cluster: test mode, apply, apply again; read back through the API', async () => {
    const cluster = { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
    // get_vsan_enabled(host_name, datacenter_name, cluster_name) positional.
    expect(await call('vmware_esxi.get_vsan_enabled', [undefined, 'DC0', 'DC0_C0'])).toEqual(
      Object.fromEntries(CLUSTER.map((h) => [h, false])),
    )
    const eligible = (await call('vmware_esxi.get_vsan_eligible_disks', [], cluster)) as Record<
      string,
      { Eligible: string[] }
    >
    // The SSD first, then the HDDs (saltext: get_host_ssds + get_host_non_ssds); the boot disk
    // and the VMFS LUN are not eligible.
    for (const h of CLUSTER) {
      expect(eligible[h]!.Eligible).toHaveLength(3)
      expect(eligible[h]!.Eligible.every((d) => d.startsWith('naa.5'))).toBe(true)
    }
    const expected = Object.fromEntries(
      CLUSTER.map((h) => [
        h,
        {
          enabled: { old: false, new: true },
          add_disks_to_vsan: { old: '', new: eligible[h]!.Eligible },
        },
      ]),
    )
    // tests/integration/states/test_esxi.py test_vsan_config_dry_run.
    const dry = await state(
      'vmware_esxi.vsan_config',
      ['vsan', true, true, 'DC0', 'DC0_C0'],
      {},
      true,
    )
    expect(dry).toEqual({
      name: 'vsan',
      result: null,
      changes: expected,
      comment: 'VSAN configuration will change.',
    })
    const raw = async () => rawHosts(vc, ['config.vsanHostConfig'])
    const vsanOf = (h: Host) =>
      h.props['config.vsanHostConfig'] as {
        enabled: unknown
        storageInfo?: {
          diskMapping?: Array<{
            ssd: { canonicalName: string }
            nonSsd: Array<{ canonicalName: string }>
          }>
        }
      }
    for (const h of Object.values(await raw())) {
      expect(isOn(vsanOf(h).enabled)).toBe(false)
      expect(list(vsanOf(h).storageInfo?.diskMapping)).toEqual([])
    }
    // test_vsan_config: applied, changes per host with enabled.new True.
    const applied = await state('vmware_esxi.vsan_config', ['vsan', true, true, 'DC0', 'DC0_C0'])
    expect(applied).toMatchObject({ result: true, changes: expected })
    // Read back: enabled, and one disk group per host (the SSD caching, the HDDs capacity),
    // from config.vsanHostConfig on a fresh session and through list_diskgroups.
    const after = await raw()
    for (const h of CLUSTER) {
      const cfg = vsanOf(after[h]!)
      expect(isOn(cfg.enabled)).toBe(true)
      const [ssd, ...hdds] = eligible[h]!.Eligible
      expect(
        list(cfg.storageInfo?.diskMapping).map((m) => [
          m.ssd.canonicalName,
          list(m.nonSsd).map((d) => d.canonicalName),
        ]),
      ).toEqual([[ssd, hdds]])
    }
    expect(vsanOf(after.DC0_H0!).enabled).not.toBe(true) // outside the cluster: untouched
    const groups = (await call('vmware_esxi.list_diskgroups', [], cluster)) as Record<
      string,
      Array<{ cache_disk: string; capacity_disks: string[] }>
    >
    for (const h of CLUSTER) {
      const [ssd, ...hdds] = eligible[h]!.Eligible
      expect(groups[h]).toEqual([{ cache_disk: ssd, capacity_disks: hdds }])
    }
    // list_diskgroups(cache_disk_ids, host_name): by cache disk.
    const h0 = eligible.DC0_C0_H0!.Eligible
    expect(await call('vmware_esxi.list_diskgroups', [[h0[0]], 'DC0_C0_H0'])).toEqual({
      DC0_C0_H0: [{ cache_disk: h0[0], capacity_disks: h0.slice(1) }],
    })
    expect(await call('vmware_esxi.list_diskgroups', [['naa.none'], 'DC0_C0_H0'])).toEqual({
      DC0_C0_H0: [],
    })
    // Second run: nothing to change.
    expect(await state('vmware_esxi.vsan_config', ['vsan', true, true, 'DC0', 'DC0_C0'])).toEqual({
      name: 'vsan',
      result: true,
      changes: {},
      comment: 'VSAN configuration is already in the desired state.',
    })
    // Nothing left to claim: saltext's messages.
    expect(await call('vmware_esxi.get_vsan_eligible_disks', ['DC0_C0_H1'])).toEqual({
      DC0_C0_H1: { Eligible: "The host 'DC0_C0_H1' does not have any VSAN eligible disks." },
    })
    expect(await call('vmware_esxi.vsan_add_disks', ['DC0_C0_H1'])).toEqual({
      DC0_C0_H1: { 'Disks Added': "The host 'DC0_C0_H1' does not have any VSAN eligible disks." },
    })
    // vsan_enable(enable, host_name) positional: disable one host; read back.
    expect(await call('vmware_esxi.vsan_enable', [false, 'DC0_C0_H2'])).toEqual({
      DC0_C0_H2: false,
    })
    expect(isOn(vsanOf((await raw()).DC0_C0_H2!).enabled)).toBe(false)
    // test mode predicts re-enabling it, and changes nothing.
    const dry2 = await state('vmware_esxi.vsan_config', ['vsan', true], cluster, true)
    expect(dry2.changes).toEqual({ DC0_C0_H2: { enabled: { old: false, new: true } } })
    expect(await call('vmware_esxi.get_vsan_enabled', ['DC0_C0_H2'])).toEqual({ DC0_C0_H2: false })
  })

  it('claiming a disk already claimed or holding VMFS fails with the fault vSphere raises', async () => {
    // vSphere API reference, HostVsanSystem: InitializeDisks_Task on a disk in a disk group or
    // with partitions (VMFS) fails with DiskHasPartitions; AddDisks_Task ignores ineligible
    // disks and, with none left to form a group, fails with InsufficientDisks.
    const si = await rt.serviceInstance()
    const host = (await rawHosts(vc, ['configManager.vsanSystem'])).DC0_C0_H0!
    const vsan = host.props['configManager.vsanSystem'] as ManagedObjectReference
    const results = (await si.invoke('QueryDisksForVsan', { _this: vsan })) as Array<{
      disk: { _type?: string; canonicalName: string; ssd?: unknown }
      state: string
      error?: { fault?: { _type?: string } }
    }>
    const byState = (s: string) => results.filter((r) => r.state === s)
    expect(byState('inUse')).toHaveLength(3)
    const ineligible = byState('ineligible')
    expect(ineligible.map((r) => r.error?.fault?._type)).toEqual([
      'DiskHasPartitions',
      'DiskHasPartitions',
    ])
    const disk = (r: (typeof results)[number]) => {
      const { _type, ...rest } = r.disk
      return rest
    }
    const task = (method: string, args: Record<string, unknown>) =>
      runTask(si, `${method} on DC0_C0_H0`, method, { _this: vsan, ...args }).then(
        () => undefined,
        (e: { fault?: { _type?: string; device?: string } }) => e.fault,
      )
    const claimed = byState('inUse')
    expect(
      await task('InitializeDisks_Task', {
        mapping: [{ ssd: disk(claimed[0]!), nonSsd: [disk(claimed[1]!)] }],
      }),
    ).toMatchObject({ _type: 'DiskHasPartitions', device: claimed[0]!.disk.canonicalName })
    const vmfs = ineligible.find((r) => r.disk.canonicalName.startsWith('naa.6'))!
    expect(
      await task('InitializeDisks_Task', {
        mapping: [{ ssd: disk(claimed[0]!), nonSsd: [disk(vmfs)] }],
      }),
    ).toMatchObject({ _type: 'DiskHasPartitions' })
    expect(await task('AddDisks_Task', { disk: claimed.map(disk) })).toMatchObject({
      _type: 'InsufficientDisks',
    })
    // Nothing changed: still the one group.
    expect(await call('vmware_esxi.list_diskgroups', [undefined, 'DC0_C0_H0'])).toMatchObject({
      DC0_C0_H0: [{ capacity_disks: expect.any(Array) }],
    })
  })

  it('on a direct ESXi connection: enable, claim the eligible disks, list the group', async () => {
    const [host] = (await onEsx.call('vmware_esxi.list_hosts')) as string[]
    expect(await onEsx.call('vmware_esxi.get_vsan_enabled')).toEqual({ [host!]: false })
    expect(await onEsx.call('vmware_esxi.vsan_enable')).toEqual({ [host!]: true })
    const eligible = (
      (await onEsx.call('vmware_esxi.get_vsan_eligible_disks')) as Record<
        string,
        { Eligible: string[] }
      >
    )[host!]!.Eligible
    // tests/integration/modules/test_esxi.py test_vsan_add_disks: 'Disks Added' per host.
    expect(await onEsx.call('vmware_esxi.vsan_add_disks')).toEqual({
      [host!]: { 'Disks Added': eligible },
    })
    expect(await onEsx.call('vmware_esxi.list_diskgroups')).toEqual({
      [host!]: [{ cache_disk: eligible[0], capacity_disks: eligible.slice(1) }],
    })
    const raw = (await rawHosts(esx, ['config.vsanHostConfig']))[host!]!
    const cfg = raw.props['config.vsanHostConfig'] as {
      enabled: unknown
      storageInfo: { diskMapping: Array<{ ssd: { canonicalName: string } }> }
    }
    expect(isOn(cfg.enabled)).toBe(true)
    expect(list(cfg.storageInfo.diskMapping).map((m) => m.ssd.canonicalName)).toEqual([eligible[0]])
    // saltext's own reads through pyVmomi agree: utils/common.get_diskgroups (list_diskgroups)
    // and get_lun_ids' datastore.info.vmfs.extent.
    if (hasPyvmomi)
      expect(
        pyvmomi(
          esx,
          `print(json.dumps({
  'groups': {h.name: [{'cache_disk': m.ssd.canonicalName,
                       'capacity_disks': [d.canonicalName for d in m.nonSsd]}
                      for m in h.config.vsanHostConfig.storageInfo.diskMapping] for h in hosts},
  'luns': sorted({e.diskName for h in hosts for ds in h.datastore for e in ds.info.vmfs.extent}),
}))`,
        ),
      ).toEqual({
        groups: await onEsx.call('vmware_esxi.list_diskgroups'),
        luns: await onEsx.call('vmware_esxi.get_lun_ids'),
      })
    // The state agrees: nothing left to do.
    expect(await onEsx.state('vmware_esxi.vsan_config', ['vsan', true, true])).toMatchObject({
      result: true,
      changes: {},
    })
  })
})
