// Per-entity functions at production size: each one that looks an entity up by name makes the
// same SOAP calls on a vCenter of 50 VMs as on one of 5,000, and reads heavy properties of one
// object only. Counted (calls and bytes), never timed.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { inventoryIndex } from '../vsphere/inventory-index.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { observeSoapCalls, type SoapCallRecord } from '../vsphere/soap-observers.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

interface Site {
  vcsim: Vcsim
  rt: Runtime
}
const sites: Record<'small' | 'large', Site> = {} as never

beforeAll(async () => {
  // 25 and 2,500 VMs in each of the default model's two resource pools: 50 and 5,000 VMs.
  const [small, large] = await Promise.all([startVcsim({ vm: 25 }), startVcsim({ vm: 2500 })])
  sites.small = { vcsim: small, rt: vmwareRuntime(small, 'scale') }
  sites.large = { vcsim: large, rt: vmwareRuntime(large, 'scale') }
  // Connect and build each session's inventory index once: that read is per connection.
  for (const site of Object.values(sites))
    await site.rt.call('vmware_datacenter.get', { kwargs: { name: 'DC0' } })
}, 120_000)
afterAll(async () => {
  for (const site of Object.values(sites ?? {})) {
    await site?.rt.close()
    await site?.vcsim.stop()
  }
})

/** The SOAP calls `fun` makes on `site`. */
async function traced(site: Site, fun: string, kwargs: Record<string, unknown>) {
  const calls: SoapCallRecord[] = []
  const stop = observeSoapCalls((call) => calls.push(call))
  try {
    const result = await site.rt.call(fun, { kwargs })
    return { result, calls }
  } finally {
    stop()
  }
}

const VM = 'DC0_C0_RP0_VM7'
/** Properties that are heavy, or that grow with the inventory when read over many objects. */
const HEAVY = /config\.hardware\.device|snapshot|customValue|guest\b|<pathSet>config<\/pathSet>/

const cases: Array<[string, string, Record<string, unknown>]> = [
  ['vmware_vm.info', 'vmware_vm.info', { name: VM }],
  ['vmware_vm.info with a datacenter', 'vmware_vm.info', { name: VM, datacenter: 'DC0' }],
  ['vmware_vm.path', 'vmware_vm.path', { name: VM }],
  ['vmware_vm.power_state (already on)', 'vmware_vm.power_state', { name: VM, state: 'on' }],
  [
    'vmware_vm.present with nothing to change',
    'state.single',
    { fun: 'vmware_vm.present', name: VM, datacenter: 'DC0', num_cpu: 1 },
  ],
  [
    'vmware_vm.snapshot_present (already there)',
    'state.single',
    { fun: 'vmware_vm.snapshot_present', name: VM, snapshot: 'scale' },
  ],
  ['vmware_vm.list_snapshots', 'vmware_vm.list_snapshots', { name: VM }],
  ['vmware_vm.snapshot (saltext: vm_name)', 'vmware_vm.snapshot', { vm_name: VM }],
  [
    'vmware_vm.info (saltext: vm_name, datacenter_name)',
    'vmware_vm.info',
    { vm_name: VM, datacenter_name: 'DC0' },
  ],
  [
    'vmware_vm.power_state (saltext: powered-on, already on)',
    'vmware_vm.power_state',
    { vm_name: VM, state: 'powered-on' },
  ],
  ['vmware_vm.location', 'vmware_vm.location', { vm_name: VM }],
  ['vmware_customization.status', 'vmware_customization.status', { vm_name: VM }],
  ['vmware_vm.hardware', 'vmware_vm.hardware', { vm_name: VM }],
  [
    'vmware_vm.present with hardware settings and nothing to change',
    'state.single',
    { fun: 'vmware_vm.present', name: VM, datacenter: 'DC0', cpu_hot_add: false },
  ],
  [
    'vmware_vm.snapshot_present (saltext: snapshot_name, already there)',
    'state.single',
    { fun: 'vmware_vm.snapshot_present', name: VM, snapshot_name: 'scale' },
  ],
  ['vmware_host.get', 'vmware_host.get', { name: 'DC0_C0_H1' }],
  ['vmware_cluster.get', 'vmware_cluster.get', { name: 'DC0_C0', datacenter: 'DC0' }],
  [
    'vmware_cluster.get (saltext names)',
    'vmware_cluster.get',
    { cluster_name: 'DC0_C0', datacenter_name: 'DC0' },
  ],
  ['vmware_cluster_ha.get', 'vmware_cluster_ha.get', { cluster_name: 'DC0_C0' }],
  ['vmware_cluster_drs.rule_info', 'vmware_cluster_drs.rule_info', { cluster_name: 'DC0_C0' }],
  [
    'vmware_license_mgr.is_assigned (a host)',
    'vmware_license_mgr.is_assigned',
    { key: 'AAAAA-11111-AAAAA-11111-AAAAA', esxi_hostname: 'DC0_C0_H1', datacenter_name: 'DC0' },
  ],
  // The datacenters' names: a traversal of folders, not a view of the whole inventory.
  ['vmware_datacenter.list', 'vmware_datacenter.list', {}],
  ['vmware_datastore.get', 'vmware_datastore.get', { name: 'LocalDS_0' }],
  [
    'vmware_datastore.get (saltext: datastore_name, datacenter_name)',
    'vmware_datastore.get',
    { datastore_name: 'LocalDS_0', datacenter_name: 'DC0' },
  ],
  [
    'vmware_datastore.maintenance_mode state (already out)',
    'state.single',
    { fun: 'vmware_datastore.maintenance_mode', name: 'LocalDS_0', enter_maintenance_mode: false },
  ],
  ['vmware_dvportgroup.get', 'vmware_dvportgroup.get', { name: 'DC0_DVPG0' }],
  [
    'vmware_dvportgroup.get (saltext: switch_name, portgroup_key)',
    'vmware_dvportgroup.get',
    { switch_name: 'DVS0', portgroup_key: 'DC0_DVPG0' },
  ],
  [
    'vmware_esxi.get (host_name)',
    'vmware_esxi.get',
    { datacenter_name: 'DC0', host_name: 'DC0_C0_H1' },
  ],
  [
    'vmware_esxi.get_firewall_config (host_name)',
    'vmware_esxi.get_firewall_config',
    { ruleset_name: 'sshServer', host_name: 'DC0_C0_H1' },
  ],
  ['vmware_vswitch.get', 'vmware_vswitch.get', { hostname: 'DC0_C0_H1' }],
  ['vmware_resourcepool.get', 'vmware_resourcepool.get', { name: 'Resources', cluster: 'DC0_C0' }],
]

describe('per-entity functions do not grow with the inventory', () => {
  beforeAll(async () => {
    // The snapshot the snapshot_present case finds.
    for (const site of Object.values(sites))
      await site.rt.call('vmware_vm.create_snapshot', { kwargs: { name: VM, snapshot: 'scale' } })
  })

  it.each(cases)('%s', async (label, fun, kwargs) => {
    const small = await traced(sites.small, fun, kwargs)
    const large = await traced(sites.large, fun, kwargs)
    if (fun === 'state.single') {
      for (const { result } of [small, large]) {
        const [ret] = Object.values(result as Record<string, StateReturn>)
        expect(ret?.result, `${label}: ${ret?.comment}`).toBe(true)
        expect(ret?.changes, label).toEqual({})
      }
    }
    // Calls sent together (a lookup's refresh and its read) may be answered in either order:
    // compare them method by method.
    const byMethod = (calls: SoapCallRecord[]) => {
      const groups = new Map<string, SoapCallRecord[]>()
      for (const call of calls) groups.set(call.method, [...(groups.get(call.method) ?? []), call])
      return groups
    }
    const smallCalls = byMethod(small.calls)
    const largeCalls = byMethod(large.calls)
    const counts = (groups: Map<string, SoapCallRecord[]>) =>
      Object.fromEntries([...groups].map(([method, calls]) => [method, calls.length]))
    expect(counts(largeCalls), `${label}: round trips on 5,000 VMs vs 50`).toEqual(
      counts(smallCalls),
    )
    for (const [i, call] of large.calls.entries()) {
      const k = largeCalls.get(call.method)!.indexOf(call)
      const before = [...(smallCalls.get(call.method) ?? [])]
        .map((c) => c.responseBytes)
        .sort((a, b) => a - b)
      const after = largeCalls
        .get(call.method)!
        .map((c) => c.responseBytes)
        .sort((a, b) => a - b)
      // Ids and counters are a few digits longer on the large inventory; nothing more.
      expect(
        after[k],
        `${label}: ${call.method} answered ${after[k]} bytes on 5,000 VMs, ${before[k]} on 50`,
      ).toBeLessThanOrEqual(before[k]! * 1.25 + 512)
      expect(call.method, `${label}: no container view per lookup`).not.toBe('CreateContainerView')
      if (call.method === 'RetrievePropertiesEx' && HEAVY.test(call.request)) {
        const objects = call.request.match(/<obj /g)?.length ?? 0
        expect(
          objects,
          `${label}: call ${i + 1} reads heavy properties of ${objects} objects`,
        ).toBe(1)
        expect(call.request, `${label}: heavy properties through a view`).not.toMatch(
          /ContainerView/,
        )
      }
    }
  })
})

describe('the inventory index of 5,000 VMs', () => {
  it('holds under 2 MB of heap, and nothing of the answers it was built from', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const { vcsim } = sites.large
    const params = resolveConnectionParams({
      server: vcsim.url,
      user: 'scale-heap',
      password: 'pw',
      caFile: vcsim.caFile,
    })
    const si = await ServiceInstance.connect(params)
    try {
      await si.login()
      gc()
      const before = process.memoryUsage().heapUsed
      const index = await inventoryIndex(si)
      gc()
      const held = process.memoryUsage().heapUsed - before
      expect(index.size).toBeGreaterThan(5_000)
      // A 5,000-VM answer is 3.5 MB of XML: an index holding a slice of it would exceed this.
      expect(held, `index of ${index.size} entities holds ${held} bytes`).toBeLessThan(
        2 * 1024 * 1024,
      )
    } finally {
      await si.logout()
    }
  })
})
