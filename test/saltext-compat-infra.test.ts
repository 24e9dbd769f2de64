// saltext-vmware compatibility (issue 14) for the inventory modules: datacenter, cluster,
// cluster_drs, cluster_ha, folder, license_mgr, storage_policy and vsphere, with their states.
// Each case calls a function the way saltext-vmware's docstrings and tests call it (positional
// and keyword, saltext's argument names) against vcsim, checks saltext's return shape, and
// reads vSphere back on a session of its own. Sources cited per case are in
// saltstack/salt-ext-modules-vmware (commit cb32a1f).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { callVim } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll, retrieveObjectProperties } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { observeSoapCalls } from '../vsphere/soap-observers.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime

beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'saltext-infra')
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, failure } = callersOf(() => rt)

async function single(fun: string, kwargs: Record<string, unknown>, test = false) {
  rt.context = {}
  const result = (await rt.call('state.single', { args: [fun], kwargs, test })) as Record<
    string,
    StateReturn
  >
  const rets = Object.values(result)
  expect(rets, fun).toHaveLength(1)
  return rets[0]!
}

/** Read vSphere on a session of its own (not through the runtime under test). */
function readBack<T>(fn: (si: ServiceInstance) => Promise<T>, server = vcsim): Promise<T> {
  return withSession(
    resolveConnectionParams({
      server: server.url,
      user: 'reader',
      password: 'pw',
      caFile: server.caFile,
    }),
    fn,
  )
}

async function names(type: string): Promise<string[]> {
  return readBack(async (si) =>
    (await retrieveAll(si, type, ['name'])).map((o) => String(o.props.name)).sort(),
  )
}

async function clusterConfig(name: string) {
  return readBack(async (si) => {
    const found = (
      await retrieveAll(si, 'ClusterComputeResource', ['name', 'configurationEx'])
    ).find((o) => o.props.name === name)
    return found?.props.configurationEx as {
      drsConfig: Record<string, unknown>
      dasConfig: Record<string, unknown>
    }
  })
}

// saltext-vmware's signatures (src/saltext/vmware/modules/*.py and states/*.py), without the
// trailing service_instance and profile: brine declares these first, in this order, so the
// same positional call binds the same arguments; brine's own names may follow.
const SALTEXT_FUNCTIONS: Record<string, string[]> = {
  'vmware_datacenter.list': [],
  'vmware_datacenter.create': ['name'],
  'vmware_datacenter.get': ['name'],
  'vmware_datacenter.delete': ['name'],
  'vmware_cluster.list': [],
  'vmware_cluster.create': ['name', 'datacenter'],
  'vmware_cluster.get': ['cluster_name', 'datacenter_name'],
  'vmware_cluster.delete': ['name', 'datacenter'],
  'vmware_cluster_drs.configure': [
    'cluster',
    'datacenter',
    'enable',
    'enable_vm_behavior_overrides',
    'default_vm_behavior',
    'vmotion_rate',
    'advanced_settings',
  ],
  'vmware_cluster_drs.get': ['cluster_name', 'datacenter_name'],
  'vmware_cluster_drs.vm_affinity_rule': [
    'name',
    'affinity',
    'vm_names',
    'cluster_name',
    'datacenter_name',
    'enabled',
    'mandatory',
  ],
  'vmware_cluster_drs.rule_info': ['cluster_name', 'datacenter_name', 'rule_name'],
  'vmware_cluster_ha.configure': [
    'cluster',
    'datacenter',
    'enable',
    'host_monitoring',
    'vm_monitoring',
    'vm_component_protecting',
    'vm_min_up_time',
    'vm_max_failure_window',
    'vm_max_failures',
    'vm_failure_interval',
    'isolation_response',
    'restart_priority',
    'restart_priority_timeout',
    'enable_apd_timeout_for_hosts',
    'vm_reaction_on_apd_cleared',
    'vm_storage_protection_for_apd',
    'vm_storage_protection_for_pdl',
    'vm_terminate_delay_for_apd_sec',
    'admission_control_policy',
    'advanced_options',
  ],
  'vmware_cluster_ha.get': ['cluster_name', 'datacenter_name'],
  'vmware_folder.create': ['folder_name', 'dc_name', 'type'],
  'vmware_folder.destroy': ['folder_name', 'dc_name', 'type'],
  'vmware_folder.rename': ['folder_name', 'new_folder_name', 'dc_name', 'type'],
  'vmware_folder.move': ['folder_name', 'destination_folder_name', 'dc_name', 'type'],
  'vmware_folder.list': [],
  // add/remove(license_key, **kwargs): the keyword arguments their docstrings name
  'vmware_license_mgr.add': ['license_key', 'datacenter_name', 'cluster_name', 'esxi_hostname'],
  'vmware_license_mgr.remove': ['license_key', 'datacenter_name', 'cluster_name', 'esxi_hostname'],
  'vmware_license_mgr.list': [],
  'storage_policy.find': ['policy_name'],
  'storage_policy.save': ['policy_config'],
  'vmware_vsphere.system_info': [],
  'vmware_vsphere.list_resourcepools': [],
  'vmware_vsphere.list_networks': [],
  'vmware_vsphere.list_vapps': [],
  'vmware_vsphere.list_ssds': ['host_name', 'datacenter_name', 'cluster_name'],
  'vmware_vsphere.list_non_ssds': ['host_name', 'datacenter_name', 'cluster_name'],
}
// States: Salt passes their arguments by keyword (name first); each of saltext's must be taken.
const SALTEXT_STATES: Record<string, string[]> = {
  'vmware_datacenter.present': ['name'],
  'vmware_datacenter.absent': ['name'],
  'vmware_folder.manage': ['name', 'task', 'dc_name', 'type'],
  'vmware_folder.rename': ['name', 'new_folder_name', 'dc_name', 'type'],
  'vmware_folder.move': ['name', 'destination_folder_name', 'dc_name', 'type'],
  'vmware_license_mgr.present': ['license_key', 'datacenter_name', 'cluster_name', 'esxi_hostname'],
  'vmware_license_mgr.absent': ['license_key', 'datacenter_name', 'cluster_name', 'esxi_hostname'],
  'storage_policy.config': ['name', 'config'],
}

describe('saltext-vmware’s functions and states are there, with its argument names and order', () => {
  it('every execution function declares saltext’s arguments first, in saltext’s order', async () => {
    for (const [fun, args] of Object.entries(SALTEXT_FUNCTIONS)) {
      const { definition } = await rt.modules.getFunction(fun)
      expect(Object.keys(definition.args).slice(0, args.length), fun).toEqual(args)
      expect(definition.vsphere, fun).toBe(true)
    }
  })

  it('every state takes saltext’s arguments', async () => {
    for (const [fun, args] of Object.entries(SALTEXT_STATES)) {
      const { definition } = await rt.states.getFunction(fun)
      expect(Object.keys(definition.args), fun).toEqual(expect.arrayContaining(args))
    }
  })
})

describe('vmware_datacenter (modules/datacenter.py, states/datacenter.py)', () => {
  it('list, create, get and delete as saltext calls them; create and delete return {<name>: True}', async () => {
    // modules/datacenter.py list_: `salt '*' vmware_datacenter.list` → [name]
    expect(await call('vmware_datacenter.list')).toEqual(['DC0'])
    // modules/datacenter.py create(name): `salt '*' vmware_datacenter.create dc1` → {dc1: True}
    const created = (await call('vmware_datacenter.create', ['dc-compat'])) as Record<
      string,
      unknown
    >
    expect(created['dc-compat']).toBe(true)
    expect(await names('Datacenter')).toEqual(['DC0', 'dc-compat'])
    // modules/datacenter.py get(name): the datacenter's properties
    expect(await call('vmware_datacenter.get', [], { name: 'dc-compat' })).toMatchObject({
      name: 'dc-compat',
    })
    // modules/datacenter.py delete(name) → {dc1: True}
    expect(
      ((await call('vmware_datacenter.delete', ['dc-compat'])) as Record<string, unknown>)[
        'dc-compat'
      ],
    ).toBe(true)
    expect(await names('Datacenter')).toEqual(['DC0'])
  })

  it('present and absent with saltext’s comments; test mode predicts with result None and creates nothing', async () => {
    // states/datacenter.py present(name): "Datacenter {name} will be created." in test mode
    const predicted = await single('vmware_datacenter.present', { name: 'dc-state' }, true)
    expect(predicted).toMatchObject({
      result: null,
      comment: 'Datacenter dc-state will be created.',
    })
    expect(await names('Datacenter')).toEqual(['DC0'])
    const created = await single('vmware_datacenter.present', { name: 'dc-state' })
    expect(created).toMatchObject({ result: true, comment: 'Datacenter - dc-state created.' })
    expect(await single('vmware_datacenter.present', { name: 'dc-state' })).toMatchObject({
      result: true,
      changes: {},
      comment: 'Datacenter dc-state is already present. No changes made.',
    })
    // states/datacenter.py absent(name)
    expect(await single('vmware_datacenter.absent', { name: 'dc-state' }, true)).toMatchObject({
      result: null,
      comment: 'Datacenter dc-state will be deleted.',
    })
    expect(await single('vmware_datacenter.absent', { name: 'dc-state' })).toMatchObject({
      result: true,
      comment: 'Datacenter - dc-state deleted.',
    })
    expect(await single('vmware_datacenter.absent', { name: 'dc-state' })).toMatchObject({
      result: true,
      changes: {},
      comment: 'Datacenter dc-state does not exist. No changes made.',
    })
    expect(await names('Datacenter')).toEqual(['DC0'])
  })
})

describe('vmware_cluster (modules/cluster.py)', () => {
  it('create, get, list and delete with saltext’s positional order and shapes', async () => {
    // modules/cluster.py list_: {dc: [cluster]}
    expect(await call('vmware_cluster.list')).toEqual({ DC0: ['DC0_C0'] })
    // modules/cluster.py create(name, datacenter) → {name: True}
    expect(await call('vmware_cluster.create', ['cl-compat', 'DC0'])).toMatchObject({
      'cl-compat': true,
    })
    // modules/cluster.py get: `salt '*' vmware_cluster.get cluster_name=cl1 datacenter_name=dc1`
    const byKeyword = (await call('vmware_cluster.get', [], {
      cluster_name: 'cl-compat',
      datacenter_name: 'DC0',
    })) as Record<string, unknown>
    expect(typeof byKeyword.drs_enabled).toBe('boolean')
    expect(typeof byKeyword.ha_enabled).toBe('boolean')
    expect(byKeyword.vsan_enabled).toBe(false)
    expect(await call('vmware_cluster.get', ['cl-compat', 'DC0'])).toEqual(byKeyword)
    // drs and ha carry vmware_cluster_drs.get's and vmware_cluster_ha.get's keys.
    expect(Object.keys(byKeyword.drs as object)).toEqual(
      expect.arrayContaining([
        'enabled',
        'enable_vm_behavior_overrides',
        'default_vm_behavior',
        'vmotion_rate',
        'advanced_settings',
      ]),
    )
    expect(byKeyword.drs_enabled).toBe((byKeyword.drs as { enabled: boolean }).enabled)
    expect(byKeyword.ha_enabled).toBe((byKeyword.ha as { enabled: boolean }).enabled)
    // brine's name for the same argument stays; two that disagree are refused.
    expect(await call('vmware_cluster.get', [], { name: 'cl-compat', datacenter: 'DC0' })).toEqual(
      byKeyword,
    )
    expect(
      (await failure('vmware_cluster.get', [], { cluster_name: 'cl-compat', name: 'DC0_C0' }))
        ?.code,
    ).toBe('BRINE_ARGUMENT')
    // modules/cluster.py delete(name, datacenter) → {name: True}
    expect(await call('vmware_cluster.delete', ['cl-compat', 'DC0'])).toMatchObject({
      'cl-compat': true,
    })
    expect(await names('ClusterComputeResource')).toEqual(['DC0_C0'])
  })
})

describe('vmware_cluster_drs (modules/cluster_drs.py)', () => {
  it('configure with vmotion_rate, enable and advanced_settings; get returns saltext’s keys', async () => {
    await call('vmware_cluster.create', ['cl-drs', 'DC0'])
    // `salt '*' vmware_cluster_drs.configure cluster1 dc1 enable=True` → {cluster1: True}
    expect(
      await call('vmware_cluster_drs.configure', ['cl-drs', 'DC0'], {
        enable: true,
        vmotion_rate: 2,
        default_vm_behavior: 'partiallyAutomated',
        enable_vm_behavior_overrides: false,
        advanced_settings: { TryBalanceVmsPerHost: '1' },
      }),
    ).toMatchObject({ 'cl-drs': true })
    // vSphere's vmotionRate is 6 - vmotion_rate (modules/cluster_drs.py configure).
    const drs = (await clusterConfig('cl-drs')).drsConfig
    expect(drs).toMatchObject({
      enabled: true,
      vmotionRate: 4,
      defaultVmBehavior: 'partiallyAutomated',
      enableVmBehaviorOverrides: false,
    })
    // `salt '*' vmware_cluster_drs.get cluster_name=cl1 datacenter_name=dc1`
    expect(
      await call('vmware_cluster_drs.get', [], { cluster_name: 'cl-drs', datacenter_name: 'DC0' }),
    ).toMatchObject({
      enabled: true,
      enable_vm_behavior_overrides: false,
      default_vm_behavior: 'partiallyAutomated',
      vmotion_rate: 2,
      advanced_settings: { TryBalanceVmsPerHost: '1' },
    })
    // saltext's positional order: (cluster, datacenter, enable, enable_vm_behavior_overrides,
    // default_vm_behavior, vmotion_rate)
    await call('vmware_cluster_drs.configure', ['cl-drs', 'DC0', false, true, 'manual', 3])
    expect((await clusterConfig('cl-drs')).drsConfig).toMatchObject({
      enabled: false,
      enableVmBehaviorOverrides: true,
      defaultVmBehavior: 'manual',
      vmotionRate: 3,
    })
    expect(await call('vmware_cluster_drs.get', ['cl-drs', 'DC0'])).toMatchObject({
      enabled: false,
      vmotion_rate: 3,
    })
    await call('vmware_cluster_drs.configure', ['cl-drs', 'DC0', true, false, 'partiallyAutomated'])
    // A setting left out is left alone (saltext resets it to its default: README table).
    await call('vmware_cluster_drs.configure', ['cl-drs', 'DC0'], { vmotion_rate: 5 })
    expect((await clusterConfig('cl-drs')).drsConfig).toMatchObject({
      enabled: true,
      vmotionRate: 1,
      defaultVmBehavior: 'partiallyAutomated',
    })
    // saltext's name and brine's alias disagreeing: refused, nothing changed.
    expect(
      (
        await failure('vmware_cluster_drs.configure', ['cl-drs', 'DC0'], {
          vmotion_rate: 2,
          migration_threshold: 3,
        })
      )?.code,
    ).toBe('BRINE_ARGUMENT')
    expect((await clusterConfig('cl-drs')).drsConfig).toMatchObject({ vmotionRate: 1 })
    // cluster.py get includes drs when DRS is enabled
    expect(await call('vmware_cluster.get', ['cl-drs', 'DC0'])).toMatchObject({
      drs_enabled: true,
      drs: { enabled: true, vmotion_rate: 5 },
    })
    await call('vmware_cluster.delete', ['cl-drs', 'DC0'])
  })

  it('vm_affinity_rule and rule_info as the docstrings call them', async () => {
    const vms = ['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1']
    // `vmware_cluster_drs.vm_affinity_rule name="Example Anti-Affinity Rule" affinity=False
    //  vm_names='["vm1", "vm2"]' cluster_name=cl1 datacenter_name=dc1 mandatory=True`
    const rule = {
      name: 'Example Anti-Affinity Rule',
      affinity: false,
      vm_names: vms,
      cluster_name: 'DC0_C0',
      datacenter_name: 'DC0',
      mandatory: true,
    }
    expect(await call('vmware_cluster_drs.vm_affinity_rule', [], rule)).toMatchObject({
      created: true,
    })
    const sent: string[] = []
    const stop = observeSoapCalls((c) => sent.push(c.method))
    try {
      expect(await call('vmware_cluster_drs.vm_affinity_rule', [], rule)).toMatchObject({
        updated: true,
        message: 'Exact rule already exists.',
      })
    } finally {
      stop()
    }
    expect(sent).not.toContain('ReconfigureComputeResource_Task')
    const updated = (await call('vmware_cluster_drs.vm_affinity_rule', [], {
      ...rule,
      enabled: false,
    })) as Record<string, unknown>
    expect(updated.updated).toBe(true)
    expect(updated.message).toBeUndefined()
    // `salt '*' vmware_cluster_drs.rule_info cluster_name=cl1 datacenter_name=dc1` → a list
    const rules = (await call('vmware_cluster_drs.rule_info', [], {
      cluster_name: 'DC0_C0',
      datacenter_name: 'DC0',
    })) as Array<Record<string, unknown>>
    expect(rules).toHaveLength(1)
    expect(Object.keys(rules[0]!).sort()).toEqual(
      [
        'affinity',
        'enabled',
        'in_compliance',
        'key',
        'mandatory',
        'name',
        'type',
        'uuid',
        'vms',
      ].sort(),
    )
    expect(rules[0]).toMatchObject({
      name: 'Example Anti-Affinity Rule',
      enabled: false,
      mandatory: true,
      type: 'vm_affinity_rule',
      affinity: false,
      vms,
    })
    // rule_info(cluster_name, datacenter_name, rule_name) → that one rule, a dict
    expect(
      await call('vmware_cluster_drs.rule_info', ['DC0_C0', 'DC0', 'Example Anti-Affinity Rule']),
    ).toEqual(rules[0])
    expect((await failure('vmware_cluster_drs.rule_info', ['DC0_C0', 'DC0', 'nope']))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
    await call('vmware_cluster_drs.delete_rule', ['Example Anti-Affinity Rule'], {
      cluster_name: 'DC0_C0',
    })
  })
})

describe('vmware_cluster_ha (modules/cluster_ha.py)', () => {
  it('configure with saltext’s settings and admission control policies; get returns its keys', async () => {
    // `salt '*' vmware_cluster_ha.configure cluster1 dc1 enable=True` and the docstring's
    // failover_host_admission_control example.
    expect(
      await call('vmware_cluster_ha.configure', ['DC0_C0', 'DC0'], {
        enable: true,
        vm_monitoring: 'vmMonitoringOnly',
        vm_min_up_time: 240,
        vm_max_failures: 5,
        isolation_response: 'shutdown',
        restart_priority: 'high',
        vm_storage_protection_for_apd: 'restartConservative',
        enable_apd_timeout_for_hosts: true,
        admission_control_policy: {
          failover_host_admission_control: {
            failover_level: 1,
            resource_reduction_to_tolerate_percent: 30,
            failover_hosts: ['DC0_C0_H1'],
          },
        },
        advanced_options: { 'das.isolationaddress0': '10.0.0.1' },
      }),
    ).toMatchObject({ DC0_C0: true })
    const das = (await clusterConfig('DC0_C0')).dasConfig
    expect(das).toMatchObject({
      enabled: true,
      vmMonitoring: 'vmMonitoringOnly',
      admissionControlEnabled: true,
      admissionControlPolicy: { _type: 'ClusterFailoverHostAdmissionControlPolicy' },
    })
    // `salt '*' vmware_cluster_ha.get cluster_name=cl1 datacenter_name=dc1`
    const got = (await call('vmware_cluster_ha.get', [], {
      cluster_name: 'DC0_C0',
      datacenter_name: 'DC0',
    })) as Record<string, unknown>
    expect(got).toMatchObject({
      enabled: true,
      host_monitoring: 'enabled',
      vm_monitoring: 'vmMonitoringOnly',
      vm_min_up_time: 240,
      vm_max_failures: 5,
      isolation_response: 'shutdown',
      restart_priority: 'high',
      vm_storage_protection_for_apd: 'restartConservative',
      enable_apd_timeout_for_hosts: true,
      admission_control_enabled: true,
      admission_control_policy: 'failover_host_admission_control',
      failover_level: 1,
      resource_reduction_to_tolerate_percent: 30,
      failover_hosts: ['DC0_C0_H1'],
      advanced_settings: { 'das.isolationaddress0': '10.0.0.1' },
    })
    for (const key of [
      'vm_component_protecting',
      'vm_max_failure_window',
      'vm_failure_interval',
      'restart_priority_timeout',
      'vm_reaction_on_apd_cleared',
      'vm_storage_protection_for_pdl',
      'vm_terminate_delay_for_apd_sec',
    ])
      expect(got, key).toHaveProperty(key)
    // The reservation-based policy (the docstring's third example).
    await call('vmware_cluster_ha.configure', ['DC0_C0', 'DC0'], {
      admission_control_policy: {
        reservation_based_admission_control: {
          failover_level: 1,
          autocompute_percentages: false,
          cpu_failover_resources_percent: 45,
          memory_failover_resources_percent: 56,
        },
      },
    })
    expect(await call('vmware_cluster_ha.get', ['DC0_C0', 'DC0'])).toMatchObject({
      enabled: true,
      vm_min_up_time: 240,
      admission_control_policy: 'reservation_based_admission_control',
      autocompute_percentages: false,
      cpu_failover_resources_percent: 45,
      memory_failover_resources_percent: 56,
    })
    // Two policies at once: refused before anything is sent.
    expect(
      (
        await failure('vmware_cluster_ha.configure', ['DC0_C0', 'DC0'], {
          admission_control_policy: {
            slot_based_admission_control: { failover_level: 1 },
            reservation_based_admission_control: { failover_level: 1 },
          },
        })
      )?.code,
    ).toBe('BRINE_ARGUMENT')
    // cluster.py get includes ha when HA is enabled
    expect(await call('vmware_cluster.get', ['DC0_C0', 'DC0'])).toMatchObject({
      ha_enabled: true,
      ha: { enabled: true, admission_control_policy: 'reservation_based_admission_control' },
    })
  })
})

describe('vmware_folder (modules/folder.py, states/folder.py)', () => {
  it('create, rename, move, destroy and list with saltext’s positional order and {status}', async () => {
    // modules/folder.py create(folder_name, dc_name, type) → {status: "created"}
    expect(await call('vmware_folder.create', ['fold-a', 'DC0', 'vm'])).toMatchObject({
      status: 'created',
    })
    expect(
      await call('vmware_folder.create', [], {
        folder_name: 'fold-dest',
        dc_name: 'DC0',
        type: 'vm',
      }),
    ).toMatchObject({ status: 'created' })
    // rename(folder_name, new_folder_name, dc_name, type) → {status: "renamed"}
    expect(await call('vmware_folder.rename', ['fold-a', 'fold-b', 'DC0', 'vm'])).toMatchObject({
      status: 'renamed',
    })
    // move(folder_name, destination_folder_name, dc_name, type) → {status: "moved"}
    expect(await call('vmware_folder.move', ['fold-b', 'fold-dest', 'DC0', 'vm'])).toMatchObject({
      status: 'moved',
    })
    // list_ → folder names, the tree roots included
    const listed = (await call('vmware_folder.list')) as string[]
    expect(listed).toEqual(expect.arrayContaining(['vm', 'host', 'datastore', 'network', 'fold-b']))
    expect(listed.every((n) => typeof n === 'string')).toBe(true)
    // destroy(folder_name, dc_name, type) → {status: "destroyed"} (a nested folder by its path)
    expect(await call('vmware_folder.destroy', ['fold-dest/fold-b', 'DC0', 'vm'])).toMatchObject({
      status: 'destroyed',
    })
    expect(await call('vmware_folder.destroy', ['fold-dest', 'DC0', 'vm'])).toMatchObject({
      status: 'destroyed',
    })
    expect(await names('Folder')).not.toContain('fold-dest')
  })

  it('manage, rename and move states: idempotent, test mode predicts and changes nothing', async () => {
    const manage = { name: 'st-a', task: 'create', dc_name: 'DC0', type: 'vm' }
    // states/folder.py manage(name, task, dc_name, type)
    expect(await single('vmware_folder.manage', manage, true)).toMatchObject({ result: null })
    expect(await names('Folder')).not.toContain('st-a')
    expect(await single('vmware_folder.manage', manage)).toMatchObject({ result: true })
    expect(await single('vmware_folder.manage', manage)).toMatchObject({
      result: true,
      changes: {},
    })
    expect(await names('Folder')).toContain('st-a')
    await single('vmware_folder.manage', { ...manage, name: 'st-dest' })
    // states/folder.py rename(name, new_folder_name, dc_name, type)
    const rename = { name: 'st-a', new_folder_name: 'st-b', dc_name: 'DC0', type: 'vm' }
    expect(await single('vmware_folder.rename', rename, true)).toMatchObject({ result: null })
    expect(await single('vmware_folder.rename', rename)).toMatchObject({
      result: true,
      changes: { folder: { old: 'st-a', new: 'st-b' } },
    })
    expect(await single('vmware_folder.rename', rename)).toMatchObject({
      result: true,
      changes: {},
    })
    // Neither name exists: a failure, predicted in test mode too.
    expect(
      await single(
        'vmware_folder.rename',
        { ...rename, name: 'nope', new_folder_name: 'nope2' },
        true,
      ),
    ).toMatchObject({ result: false })
    // states/folder.py move(name, destination_folder_name, dc_name, type)
    const move = { name: 'st-b', destination_folder_name: 'st-dest', dc_name: 'DC0', type: 'vm' }
    expect(await single('vmware_folder.move', move)).toMatchObject({
      result: true,
      changes: { folder: { old: 'st-b', new: 'st-dest/st-b' } },
    })
    expect(await single('vmware_folder.move', move)).toMatchObject({ result: true, changes: {} })
    expect(
      await single('vmware_folder.manage', { ...manage, name: 'st-dest', task: 'destroy' }),
    ).toMatchObject({ result: true, changes: { folder: { old: 'st-dest', new: null } } })
    expect(await names('Folder')).not.toContain('st-b')
  })
})

describe('vmware_license_mgr (modules/license_mgr.py, states/license_mgr.py)', () => {
  const KEY = 'AAAAA-11111-AAAAA-11111-AAAAA'
  const HOST_KEY = 'BBBBB-22222-BBBBB-22222-BBBBB'
  const shown = (key: string) => `*****-*****-*****-*****-${key.slice(-5)}`

  /** The key QueryAssignedLicenses reports for an entity, read on a session of its own. */
  async function assignedTo(entityId: string) {
    return readBack(async (si) => {
      const { licenseAssignmentManager } = await retrieveObjectProperties(
        si,
        si.content.licenseManager as never,
        ['licenseAssignmentManager'],
      )
      const found = await callVim<unknown>(si, 'reading', 'QueryAssignedLicenses', {
        _this: licenseAssignmentManager,
        entityId,
      })
      return ([found].flat()[0] as { assignedLicense?: { licenseKey?: string } } | undefined)
        ?.assignedLicense?.licenseKey
    })
  }

  it('add assigns to vCenter, a cluster or a host as saltext does; list and remove', async () => {
    const about = (await call('vmware_vsphere.system_info')) as { instanceUuid: string }
    // `salt '*' vmware_license_mgr.add license_key=AAAAA-… datacenter_name=dc1 cluster_name=…`
    expect(
      await call('vmware_license_mgr.add', [], {
        license_key: KEY,
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
      }),
    ).toMatchObject({ licenses: shown(KEY), assigned_to: "cluster 'DC0_C0'" })
    const clusterId = ((await call('vmware_cluster.get', ['DC0_C0', 'DC0'])) as { id: string }).id
    expect(await assignedTo(clusterId)).toBe(KEY)
    // esxi_hostname assigns to the host; no entity named: to vCenter (utils/license_mgr.py _get_entity_id)
    expect(
      await call('vmware_license_mgr.add', [HOST_KEY], { esxi_hostname: 'DC0_H0' }),
    ).toMatchObject({ licenses: shown(HOST_KEY), assigned_to: "host 'DC0_H0'" })
    const hostId = (await readBack(async (si) => retrieveAll(si, 'HostSystem', ['name']))).find(
      (h) => h.props.name === 'DC0_H0',
    )!.obj.value
    expect(await assignedTo(hostId)).toBe(HOST_KEY)
    expect(await call('vmware_license_mgr.add', [KEY])).toMatchObject({ assigned_to: 'vCenter' })
    expect(await assignedTo(about.instanceUuid)).toBe(KEY)
    // datacenter_name alone assigns nothing, as in saltext (and its docstring example works)
    expect(
      await call('vmware_license_mgr.add', [], { license_key: KEY, datacenter_name: 'DC0' }),
    ).toMatchObject({ licenses: shown(KEY), assigned_to: null })
    // `salt '*' vmware_license_mgr.list` → {licenses: [key]}, the evaluation license left out
    const listed = (await call('vmware_license_mgr.list')) as { licenses: string[] }
    expect(listed.licenses.sort()).toEqual([shown(KEY), shown(HOST_KEY)].sort())
    // test=True changes nothing (saltext's dry run)
    rt.context = {}
    expect(
      await rt.call('vmware_license_mgr.remove', { args: [HOST_KEY], test: true }),
    ).toMatchObject({ licenses: shown(HOST_KEY) })
    expect(await call('vmware_license_mgr.has', [HOST_KEY])).toBe(true)
    // `salt '*' vmware_license_mgr.remove license_key=…` unassigns from the entity first
    expect(
      await call('vmware_license_mgr.remove', [], {
        license_key: HOST_KEY,
        esxi_hostname: 'DC0_H0',
      }),
    ).toMatchObject({ removed: true })
    expect(await call('vmware_license_mgr.has', [HOST_KEY])).toBe(false)
    expect(await assignedTo(hostId)).not.toBe(HOST_KEY)
    expect(
      (await failure('vmware_license_mgr.remove', [], { license_key: HOST_KEY }))?.message,
    ).toMatch(/^Failed specified license key was not found in License Manager/)
  })

  it('the states take license_key and the entity; idempotent; test mode changes nothing', async () => {
    const sls = {
      name: 'cluster license',
      license_key: HOST_KEY,
      cluster_name: 'DC0_C0',
      datacenter_name: 'DC0',
    }
    // states/license_mgr.py present(license_key, **kwargs)
    expect(await single('vmware_license_mgr.present', sls, true)).toMatchObject({ result: null })
    expect(await call('vmware_license_mgr.has', [HOST_KEY])).toBe(false)
    const first = await single('vmware_license_mgr.present', sls)
    expect(first).toMatchObject({
      result: true,
      changes: {
        license: { old: null, new: shown(HOST_KEY) },
        assigned: { old: null, new: "cluster 'DC0_C0'" },
      },
    })
    expect(JSON.stringify(first)).not.toContain(HOST_KEY)
    expect(await single('vmware_license_mgr.present', sls)).toMatchObject({
      result: true,
      changes: {},
    })
    // states/license_mgr.py absent(license_key, **kwargs)
    expect(await single('vmware_license_mgr.absent', sls, true)).toMatchObject({ result: null })
    expect(await call('vmware_license_mgr.has', [HOST_KEY])).toBe(true)
    expect(await single('vmware_license_mgr.absent', sls)).toMatchObject({ result: true })
    expect(await call('vmware_license_mgr.has', [HOST_KEY])).toBe(false)
  })

  it('on a standalone ESXi host: "Failed, not connected to a vCenter", and nothing is added', async () => {
    const esx = await startVcsim({ esx: true })
    const host = vmwareRuntime(esx, 'saltext-infra-esx')
    try {
      const before = await readBack(
        async (si) => (await retrieveAll(si, 'HostSystem', ['name'])).length,
        esx,
      )
      expect(before).toBe(1)
      const error = await host
        .call('vmware_license_mgr.add', { args: [KEY] })
        .catch((e: Error & { code?: string }) => e)
      // modules/license_mgr.py add: "Failed, not connected to a vCenter"
      expect((error as Error).message).toMatch(/^Failed, not connected to a vCenter/)
      expect(await host.call('vmware_license_mgr.has', { args: [KEY] })).toBe(false)
      // The state predicts the failure in test mode.
      host.context = {}
      const predicted = Object.values(
        (await host.call('state.single', {
          args: ['vmware_license_mgr.present'],
          kwargs: { name: KEY },
          test: true,
        })) as Record<string, StateReturn>,
      )[0]
      expect(predicted?.result).toBe(false)
      expect(predicted?.comment).toContain('Failed, not connected to a vCenter')
    } finally {
      await host.close()
      await esx.stop()
    }
  })
})

describe('storage_policy (modules/storage_policies.py, states/storage_policies.py)', () => {
  const policy = {
    policyName: 'Performance - Thick',
    constraints: [
      {
        name: 'VSAN',
        replicaPreference: '1 failures - RAID-1 (Mirroring)',
        hostFailuresToTolerate: 2,
        checksumDisabled: true,
        stripeWidth: 2,
        proportionalCapacity: 50,
        cacheReservation: 0,
      },
    ],
  }

  it('find and save under saltext’s module name', async () => {
    // tests/unit/modules/test_storage_policies.py test_create_storage_policies: find → [], save → created
    expect(await call('storage_policy.find', [], { policy_name: policy.policyName })).toEqual([])
    expect(await call('storage_policy.save', [policy])).toMatchObject({ status: 'created' })
    const [found] = (await call('storage_policy.find', [policy.policyName])) as Array<
      Record<string, unknown>
    >
    // find → [{policyName, constraints: [{name, <capability>: value}]}]
    expect(found).toMatchObject({
      policyName: policy.policyName,
      constraints: [expect.objectContaining(policy.constraints[0])],
    })
    // test_update_storage_policies: save an existing policy → updated
    expect(
      await call('storage_policy.save', [
        { ...policy, constraints: [{ ...policy.constraints[0], stripeWidth: 1 }] },
      ]),
    ).toMatchObject({ status: 'updated' })
    await call('storage_policy.delete', [policy.policyName])
  })

  it('the config state takes saltext’s list of policies; keeps what the SLS leaves out', async () => {
    const sls = (config: unknown[]) => ({ name: 'storage_policies_drift', config })
    // states/storage_policies.py config(name, config): the docstring's SLS, test mode first
    const predicted = await single('storage_policy.config', sls([policy]), true)
    expect(predicted.result).toBeNull()
    expect(predicted.changes).toEqual({
      [policy.policyName]: {
        old: {},
        new: { constraints: { VSAN: expect.objectContaining({ hostFailuresToTolerate: 2 }) } },
      },
    })
    expect(await call('storage_policy.find', [policy.policyName])).toEqual([])
    expect(await single('storage_policy.config', sls([policy]))).toMatchObject({ result: true })
    expect(await single('storage_policy.config', sls([policy]))).toMatchObject({
      result: true,
      changes: {},
    })
    // test_drift_report_storage_policies case 1: only what differs, {<policy>: {old, new}}
    const changed = await single(
      'storage_policy.config',
      sls([
        {
          policyName: policy.policyName,
          constraints: [{ name: 'VSAN', stripeWidth: 1, proportionalCapacity: 70 }],
        },
      ]),
    )
    expect(changed.changes).toEqual({
      [policy.policyName]: {
        old: { constraints: { VSAN: { stripeWidth: 2, proportionalCapacity: 50 } } },
        new: { constraints: { VSAN: { stripeWidth: 1, proportionalCapacity: 70 } } },
      },
    })
    // Capabilities the SLS left out are kept.
    const [after] = (await call('storage_policy.find', [policy.policyName])) as Array<{
      constraints: Array<Record<string, unknown>>
      description: string
    }>
    expect(after!.constraints[0]).toMatchObject({
      hostFailuresToTolerate: 2,
      checksumDisabled: true,
      stripeWidth: 1,
      proportionalCapacity: 70,
    })
  })

  it('a description the SLS leaves out is kept (the update does not send one)', async () => {
    await call('storage_policy.save', [
      { ...policy, policyName: 'described', description: 'Gold tier' },
    ])
    const updates: string[] = []
    const stop = observeSoapCalls((c) => {
      if (c.method === 'PbmUpdate') updates.push(c.request)
    })
    try {
      const ret = await single('storage_policy.config', {
        name: 'described',
        config: [{ policyName: 'described', constraints: [{ name: 'VSAN', stripeWidth: 3 }] }],
      })
      expect(ret.result).toBe(true)
      expect(ret.changes).not.toHaveProperty('described.new.description')
    } finally {
      stop()
    }
    expect(updates).toHaveLength(1)
    expect(updates[0]).not.toContain('<description')
    const [found] = (await call('storage_policy.find', ['described'])) as Array<{
      description: string
    }>
    expect(found?.description).toBe('Gold tier')
    await call('storage_policy.delete', ['described'])
  })
})

describe('vmware_vsphere (modules/vsphere.py)', () => {
  it('system_info returns AboutInfo’s own keys; list_ssds takes host_name first', async () => {
    // modules/vsphere.py system_info: content.about.__dict__
    expect(await call('vmware_vsphere.system_info')).toMatchObject({
      apiType: 'VirtualCenter',
      fullName: expect.any(String),
      version: expect.any(String),
      instanceUuid: expect.any(String),
    })
    // list_ssds(host_name=None, datacenter_name=None, cluster_name=None) → {host: [canonicalName]}
    const ssds = (await call('vmware_vsphere.list_ssds', ['DC0_H0'])) as Record<string, string[]>
    expect(Object.keys(ssds)).toEqual(['DC0_H0'])
    expect(Array.isArray(ssds.DC0_H0)).toBe(true)
  })
})
