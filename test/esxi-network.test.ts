// saltext-vmware's VMkernel adapter, vMotion and distributed switch membership functions and
// states (issue 15), against vcsim's vCenter and ESXi models with brine's gap fills
// (test/vcsim/esxi-network.go). Each case calls a function the way saltext's docstrings and
// tests call it, checks saltext's return shape, and reads vSphere back on a session of its own.
// Sources: saltstack/salt-ext-modules-vmware src/saltext/vmware/modules/esxi.py,
// states/esxi.py, modules/dvswitch.py and tests/integration/{modules,states}/test_esxi.py,
// tests/integration/modules/test_dvswitch.py.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { callVim } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll, retrieveObjectProperties } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vc: Vcsim
let esx: Vcsim
let rtVc: Runtime
let rtEsx: Runtime
const fixtures = join(import.meta.dirname, 'fixtures', 'esxi-network')

beforeAll(async () => {
  ;[vc, esx] = await Promise.all([startVcsim(), startVcsim({ esx: true })])
  rtVc = vmwareRuntime(vc, 'esxi-network', [fixtures])
  rtEsx = vmwareRuntime(esx, 'root')
})
afterAll(async () => {
  await rtVc?.close()
  await rtEsx?.close()
  await Promise.all([vc?.stop(), esx?.stop()])
})

const onVc = callersOf(() => rtVc)
const onEsx = callersOf(() => rtEsx)

/** Read vSphere on a session of its own (not through the runtime under test). */
function readBack<T>(server: Vcsim, fn: (si: ServiceInstance) => Promise<T>): Promise<T> {
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

interface RawVnic {
  device: string
  portgroup?: string
  spec: {
    ip: { dhcp: unknown; ipAddress?: string; subnetMask?: string }
    mtu: unknown
    netStackInstanceKey?: string
    distributedVirtualPort?: { switchUuid: string; portgroupKey: string }
    ipRouteSpec?: { ipRouteConfig?: { defaultGateway?: string } }
  }
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

/** A host's adapters, vMotion selection and nic type selections, read raw. */
async function hostNetwork(server: Vcsim, hostName: string) {
  return readBack(server, async (si) => {
    const host = (await retrieveAll(si, 'HostSystem', ['name'])).find(
      (h) => h.props.name === hostName,
    )
    if (!host) throw new Error(`no host ${hostName}`)
    const props = await retrieveObjectProperties(si, host.obj, [
      'config.network.vnic',
      'config.virtualNicManagerInfo',
      'configManager.networkSystem',
      'configManager.vmotionSystem',
    ])
    const network = await retrieveObjectProperties(
      si,
      props['configManager.networkSystem'] as never,
      ['networkInfo.vnic'],
    )
    const vmotion = await retrieveObjectProperties(
      si,
      props['configManager.vmotionSystem'] as never,
      ['netConfig'],
    )
    const info = props['config.virtualNicManagerInfo'] as {
      netConfig: Array<{ nicType: string; selectedVnic?: string | string[] }>
    }
    const selected: Record<string, string[]> = {}
    for (const c of list(info.netConfig)) selected[c.nicType] = list(c.selectedVnic)
    // Booleans and numbers of types the decoder's schema does not name arrive as text.
    const vnics = list(props['config.network.vnic'] as RawVnic[]).map((v) => ({
      ...v,
      spec: {
        ...v.spec,
        ip: { ...v.spec.ip, dhcp: String(v.spec.ip.dhcp) === 'true' },
        mtu: Number(v.spec.mtu),
      },
    }))
    return {
      vnics: Object.fromEntries(vnics.map((v) => [v.device, v])),
      networkSystemDevices: list(network['networkInfo.vnic'] as RawVnic[]).map((v) => v.device),
      vmotionSelected: (vmotion.netConfig as { selectedVnic?: string }).selectedVnic ?? null,
      selected,
    }
  })
}

// saltext-vmware's signatures (modules/esxi.py, modules/dvswitch.py, states/esxi.py) without
// service_instance and profile: brine declares these first, in this order.
const SALTEXT_FUNCTIONS: Record<string, string[]> = {
  'vmware_esxi.create_vmkernel_adapter': [
    'port_group_name',
    'dvswitch_name',
    'vswitch_name',
    'enable_fault_tolerance',
    'enable_management_traffic',
    'enable_provisioning',
    'enable_replication',
    'enable_replication_nfc',
    'enable_vmotion',
    'enable_vsan',
    'mtu',
    'network_default_gateway',
    'network_ip_address',
    'network_subnet_mask',
    'network_tcp_ip_stack',
    'network_type',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.get_vmkernel_adapters': [
    'adapter_name',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.delete_vmkernel_adapter': [
    'adapter_name',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.get_vmotion_enabled': ['host_name', 'datacenter_name', 'cluster_name', 'host_names'],
  'vmware_esxi.vmotion_disable': ['host_name', 'datacenter_name', 'cluster_name', 'host_names'],
  'vmware_esxi.vmotion_enable': [
    'host_name',
    'datacenter_name',
    'cluster_name',
    'host_names',
    'device',
  ],
  'vmware_dvswitch.add_hosts': [
    'switch_name',
    'host_name',
    'datacenter_name',
    'cluster_name',
    'nics',
  ],
  'vmware_dvswitch.remove_hosts': ['switch_name', 'host_name', 'datacenter_name', 'cluster_name'],
  'vmware_dvswitch.update_hosts': [
    'switch_name',
    'host_name',
    'datacenter_name',
    'cluster_name',
    'nics',
    'num_ports',
    'mtu',
  ],
}
const SALTEXT_STATES: Record<string, string[]> = {
  'vmware_esxi.vmkernel_adapter_absent': ['name', 'datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.vmotion_configured': [
    'name',
    'enabled',
    'device',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
}

describe('saltext’s names and argument order', () => {
  it('functions declare saltext’s arguments first, in its order; states take saltext’s', async () => {
    const update = [...SALTEXT_FUNCTIONS['vmware_esxi.create_vmkernel_adapter']!]
    SALTEXT_FUNCTIONS['vmware_esxi.update_vmkernel_adapter'] = ['adapter_name', ...update]
    SALTEXT_STATES['vmware_esxi.vmkernel_adapter_present'] = ['name', ...update]
    for (const [fun, args] of Object.entries(SALTEXT_FUNCTIONS)) {
      const { definition } = await rtVc.modules.getFunction(fun)
      expect(Object.keys(definition.args).slice(0, args.length), fun).toEqual(args)
      expect(definition.vsphere, fun).toBe(true)
    }
    for (const [fun, args] of Object.entries(SALTEXT_STATES)) {
      const { definition } = await rtVc.states.getFunction(fun)
      expect(Object.keys(definition.args), fun).toEqual(args)
    }
  })
})

const H0 = 'DC0_C0_H0'
// State changes, brine's {<what>: {old, new}} per host.
const created1 = { adapter: { old: null, new: 'vmk1' } }
const removed1 = { adapter: { old: 'vmk1', new: null } }
const changedH1 = { mtu: { old: 1500, new: 9000 }, enable_vmotion: { old: true, new: false } }
const newIp = { network_ip_address: { old: '192.168.50.3', new: '192.168.50.4' } }
const H1 = 'DC0_C0_H1'
const H2 = 'DC0_C0_H2'
const CLUSTER = ['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2']

describe('VMkernel adapters through vCenter', () => {
  // saltext tests/integration/modules/test_esxi.py test_add_update_remove_vmkernel_adapter,
  // on a standard port group (vcsim's hosts have 'VM Network' and 'Management Network').
  it('create, get, update and delete an adapter on one host, read back raw', async () => {
    const { call } = onVc
    const created = await call('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H0,
      mtu: 9000,
      network_ip_address: '10.10.0.11',
      network_subnet_mask: '255.255.255.0',
      network_default_gateway: '10.10.0.1',
      enable_vmotion: true,
      enable_vsan: true,
      // Not selected on a new adapter: nothing to send (ESXi refuses to deselect it).
      enable_replication: false,
    })
    expect(created).toEqual({ [H0]: 'vmk1' })
    expect(await call('vmware_esxi.get_vmkernel_adapters', [], { host_name: H0 })).toEqual({
      [H0]: ['vmk0', 'vmk1'],
    })
    expect(
      await call('vmware_esxi.get_vmkernel_adapters', [], { adapter_name: 'vmk1' }),
    ).toMatchObject({ [H0]: ['vmk1'], [H1]: [] })
    let raw = await hostNetwork(vc, H0)
    expect(raw.vnics.vmk1).toMatchObject({
      portgroup: 'VM Network',
      spec: {
        ip: { dhcp: false, ipAddress: '10.10.0.11', subnetMask: '255.255.255.0' },
        netStackInstanceKey: 'defaultTcpipStack',
        ipRouteSpec: { ipRouteConfig: { defaultGateway: '10.10.0.1' } },
      },
    })
    expect(Number(raw.vnics.vmk1?.spec.mtu)).toBe(9000)
    expect(raw.networkSystemDevices).toEqual(['vmk0', 'vmk1'])
    expect(raw.selected.vmotion).toEqual(['vmotion.key-vim.host.VirtualNic-vmk1'])
    expect(raw.selected.vsan).toEqual(['vsan.key-vim.host.VirtualNic-vmk1'])
    expect(raw.vmotionSelected).toBe('VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk1')
    // The host's virtual NIC manager, called directly: deselecting an adapter that is not
    // selected, or an unknown nic type, is InvalidArgument (vSphere API reference,
    // HostVirtualNicManager.DeselectVnicForNicType / SelectVnicForNicType).
    const refusals = await readBack(vc, async (si) => {
      const host = (
        await retrieveAll(si, 'HostSystem', ['name', 'configManager.virtualNicManager'])
      ).find((h) => h.props.name === H0)
      const manager = host?.props['configManager.virtualNicManager']
      const fault = (method: string, nicType: string, device: string) =>
        callVim(si, 'raw', method, { _this: manager, nicType, device }).then(
          () => 'none',
          (e: { faultType?: string }) => e.faultType,
        )
      return [
        await fault('DeselectVnicForNicType', 'vSphereReplication', 'vmk1'),
        await fault('SelectVnicForNicType', 'noSuchTraffic', 'vmk1'),
        await fault('SelectVnicForNicType', 'vmotion', 'vmk9'),
      ]
    })
    expect(refusals).toEqual(['InvalidArgument', 'InvalidArgument', 'InvalidArgument'])

    // update (saltext's positional order: adapter_name, port_group_name): DHCP, MTU, traffic types.
    expect(
      await call('vmware_esxi.update_vmkernel_adapter', ['vmk1', 'VM Network'], {
        host_name: H0,
        network_type: 'dhcp',
        enable_vmotion: false,
        enable_management_traffic: true,
      }),
    ).toEqual({ [H0]: 'vmk1' })
    raw = await hostNetwork(vc, H0)
    expect(raw.vnics.vmk1?.spec.ip).toMatchObject({ dhcp: true })
    expect(raw.vnics.vmk1?.spec.ip.ipAddress).toBeUndefined()
    expect(Number(raw.vnics.vmk1?.spec.mtu)).toBe(1500)
    expect(raw.selected.vmotion).toEqual([])
    expect(raw.vmotionSelected).toBeNull()
    expect(raw.selected.management).toEqual([
      'management.key-vim.host.VirtualNic-vmk0',
      'management.key-vim.host.VirtualNic-vmk1',
    ])
    expect(raw.selected.vsan).toEqual(['vsan.key-vim.host.VirtualNic-vmk1'])

    expect(await call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], { host_name: H0 })).toEqual({
      [H0]: true,
    })
    raw = await hostNetwork(vc, H0)
    expect(Object.keys(raw.vnics)).toEqual(['vmk0'])
    expect(raw.selected.management).toEqual(['management.key-vim.host.VirtualNic-vmk0'])
    expect(raw.selected.vsan).toEqual([])
    // saltext: a host without the adapter answers False.
    expect(
      await call('vmware_esxi.delete_vmkernel_adapter', [], {
        adapter_name: 'nonexistent',
        host_name: H0,
      }),
    ).toEqual({ [H0]: false })
  })

  it('refuses bad input with the faults ESXi raises, named by argument; nothing is left behind', async () => {
    const { call, failure } = onVc
    const base = { host_name: H1, network_subnet_mask: '255.255.255.0' }
    // An invalid IPv4 address: InvalidArgument nic.ip.ipAddress from the host.
    const badIp = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      ...base,
      network_ip_address: '10.0.0.300',
    })
    expect(badIp?.code).toBe('BRINE_ARGUMENT')
    expect(badIp?.message).toMatch(/^network_ip_address: host 'DC0_C0_H1' refused the value/)
    expect(badIp?.message).toContain('InvalidArgument')
    expect(badIp?.message).not.toContain('pw')
    const badMask = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      ...base,
      network_ip_address: '10.0.0.3',
      network_subnet_mask: '255.0.255.0',
    })
    expect(badMask?.message).toMatch(/^network_subnet_mask: /)
    const badGateway = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      ...base,
      network_ip_address: '10.0.0.3',
      network_default_gateway: 'gateway',
    })
    expect(badGateway?.message).toMatch(/^network_default_gateway: /)
    // A stack the host does not have (vcsim's hosts have no vxlan stack).
    const badStack = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H1,
      network_type: 'dhcp',
      network_tcp_ip_stack: 'vxlan',
    })
    expect(badStack?.message).toMatch(/^network_tcp_ip_stack: /)
    // An unknown port group: NotFound.
    const noPg = await failure('vmware_esxi.create_vmkernel_adapter', ['No Such PG'], {
      host_name: H1,
      network_type: 'dhcp',
    })
    expect(noPg).toMatchObject({ faultType: 'NotFound' })
    // A standard port group carries one VMkernel adapter: AlreadyExists.
    const taken = await failure('vmware_esxi.create_vmkernel_adapter', ['Management Network'], {
      host_name: H1,
      network_type: 'dhcp',
    })
    expect(taken).toMatchObject({ faultType: 'AlreadyExists' })
    // Refused before anything is sent.
    const noIp = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H1,
    })
    expect(noIp?.message).toMatch(/network_ip_address and network_subnet_mask are required/)
    const both = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H1,
      network_type: 'dhcp',
      dvswitch_name: 'DVS0',
      vswitch_name: 'vSwitch0',
    })
    expect(both?.message).toMatch(/^dvswitch_name and vswitch_name: give one/)
    const wrongSwitch = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H1,
      network_type: 'dhcp',
      vswitch_name: 'vSwitch9',
    })
    expect(wrongSwitch?.message).toMatch(/is on standard switch 'vSwitch0', not 'vSwitch9'/)
    const badMtu = await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H1,
      network_type: 'dhcp',
      mtu: 100,
    })
    expect(badMtu?.message).toMatch(/mtu/)
    // update: an unknown adapter (saltext's test expects an error), and a change of stack.
    const missing = await failure('vmware_esxi.update_vmkernel_adapter', [], {
      adapter_name: 'nonexistent',
      port_group_name: 'VM Network',
      host_name: H1,
      network_type: 'dhcp',
    })
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
    expect(
      await call('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
        host_name: H1,
        network_type: 'dhcp',
        network_tcp_ip_stack: 'vmotion',
      }),
    ).toEqual({ [H1]: 'vmk1' })
    expect((await hostNetwork(vc, H1)).vnics.vmk1?.spec.netStackInstanceKey).toBe('vmotion')
    // A cluster where only one host has the adapter: refused before any host is changed.
    const partly = await failure('vmware_esxi.update_vmkernel_adapter', ['vmk1', 'VM Network'], {
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
      network_type: 'dhcp',
      network_tcp_ip_stack: 'vmotion',
      mtu: 9000,
    })
    expect(partly?.message).toMatch(
      /^adapter_name: host 'DC0_C0_H0', host 'DC0_C0_H2' has no VMkernel adapter 'vmk1' .*nothing was changed$/,
    )
    expect((await hostNetwork(vc, H1)).vnics.vmk1?.spec.mtu).toBe(1500)
    const restack = await failure('vmware_esxi.update_vmkernel_adapter', ['vmk1', 'VM Network'], {
      host_name: H1,
      network_type: 'dhcp',
    })
    expect(restack?.message).toMatch(/^network_tcp_ip_stack: .*keeps the stack it was created on/)
    expect(await call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], { host_name: H1 })).toEqual({
      [H1]: true,
    })
    expect(Object.keys((await hostNetwork(vc, H1)).vnics)).toEqual(['vmk0'])
  })

  it('targets a cluster, and adapters on a distributed port group', async () => {
    const { call, failure } = onVc
    // saltext's test: port group of a distributed switch, DHCP, MTU 2000, fault tolerance.
    const created = (await call('vmware_esxi.create_vmkernel_adapter', [], {
      port_group_name: 'DC0_DVPG0',
      dvswitch_name: 'DVS0',
      mtu: 2000,
      enable_fault_tolerance: true,
      network_type: 'dhcp',
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })) as Record<string, string>
    expect(created).toEqual(Object.fromEntries(CLUSTER.map((h) => [h, 'vmk1'])))
    const uuid = await readBack(vc, async (si) => {
      const dvs = (await retrieveAll(si, 'DistributedVirtualSwitch', ['name', 'uuid'])).find(
        (d) => d.props.name === 'DVS0',
      )
      return String(dvs?.props.uuid)
    })
    for (const host of CLUSTER) {
      const raw = await hostNetwork(vc, host)
      expect(raw.vnics.vmk1?.portgroup ?? '').toBe('')
      expect(raw.vnics.vmk1?.spec.distributedVirtualPort).toMatchObject({ switchUuid: uuid })
      expect(raw.selected.faultToleranceLogging).toEqual([
        'faultToleranceLogging.key-vim.host.VirtualNic-vmk1',
      ])
    }
    // The state on a distributed port group: in the desired state already.
    const onDvs = {
      name: 'vmk1',
      port_group_name: 'DC0_DVPG0',
      dvswitch_name: 'DVS0',
      mtu: 2000,
      enable_fault_tolerance: true,
      network_type: 'dhcp',
      host_name: H0,
    }
    expect(await onVc.state('vmware_esxi.vmkernel_adapter_present', [], onDvs)).toMatchObject({
      result: true,
      changes: {},
    })
    // update keeps the adapter's distributed port; moving it to a standard port group.
    const port = (await hostNetwork(vc, H0)).vnics.vmk1?.spec.distributedVirtualPort
    await call('vmware_esxi.update_vmkernel_adapter', ['vmk1', 'DC0_DVPG0'], {
      dvswitch_name: 'DVS0',
      network_type: 'dhcp',
      mtu: 2100,
      host_name: H0,
    })
    let raw = await hostNetwork(vc, H0)
    expect(raw.vnics.vmk1?.spec.mtu).toBe(2100)
    expect(raw.vnics.vmk1?.spec.distributedVirtualPort).toEqual(port)
    await call('vmware_esxi.update_vmkernel_adapter', ['vmk1', 'VM Network'], {
      network_type: 'dhcp',
      host_name: H0,
    })
    raw = await hostNetwork(vc, H0)
    expect(raw.vnics.vmk1).toMatchObject({ portgroup: 'VM Network' })
    expect(raw.vnics.vmk1?.spec.distributedVirtualPort).toBeUndefined()
    expect(await onVc.state('vmware_esxi.vmkernel_adapter_present', [], onDvs, true)).toMatchObject(
      {
        result: null,
        changes: { [H0]: { distributed_port: { old: null }, mtu: { old: 1500, new: 2000 } } },
      },
    )
    expect((await hostNetwork(vc, H0)).vnics.vmk1).toMatchObject({ portgroup: 'VM Network' })
    expect(await onVc.state('vmware_esxi.vmkernel_adapter_present', [], onDvs)).toMatchObject({
      result: true,
      changes: { [H0]: { distributed_port: { old: null, new: { switchUuid: uuid } } } },
    })
    raw = await hostNetwork(vc, H0)
    expect(raw.vnics.vmk1?.spec).toMatchObject({
      mtu: 2000,
      distributedVirtualPort: { switchUuid: uuid },
    })
    // The standalone host was not selected.
    expect(Object.keys((await hostNetwork(vc, 'DC0_H0')).vnics)).toEqual(['vmk0'])
    const noPg = await failure('vmware_esxi.create_vmkernel_adapter', ['nope'], {
      dvswitch_name: 'DVS0',
      network_type: 'dhcp',
      host_name: H0,
    })
    expect(noPg?.message).toMatch(
      /^port_group_name: distributed switch 'DVS0' has no port group 'nope'/,
    )
    // A cluster without its datacenter is refused as saltext's get_hosts refuses it.
    expect(
      (await failure('vmware_esxi.get_vmkernel_adapters', [], { cluster_name: 'DC0_C0' }))?.message,
    ).toMatch(/Must specify the datacenter/)
    expect(
      await call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], {
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
      }),
    ).toEqual(Object.fromEntries(CLUSTER.map((h) => [h, true])))
  })
})

describe('vMotion through vCenter', () => {
  it('get_vmotion_enabled, vmotion_enable and vmotion_disable, per host and for host_names', async () => {
    const { call } = onVc
    const all = (await call('vmware_esxi.get_vmotion_enabled')) as Record<string, unknown>
    expect(Object.keys(all).sort()).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2', 'DC0_H0'])
    expect(await call('vmware_esxi.get_vmotion_enabled', [], { datacenter_name: 'DC0' })).toEqual(
      all,
    )
    for (const value of Object.values(all)) expect(value).toEqual({ 'VMotion Enabled': false })
    // saltext's positional order: host_name first.
    expect(await call('vmware_esxi.vmotion_enable', [H0])).toEqual({
      [H0]: { 'VMotion Enabled': true },
    })
    expect((await hostNetwork(vc, H0)).vmotionSelected).toBe(
      'VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk0',
    )
    expect(await call('vmware_esxi.get_vmotion_enabled', [], { host_names: [H0, H1] })).toEqual({
      [H0]: { 'VMotion Enabled': true },
      [H1]: { 'VMotion Enabled': false },
    })
    // An adapter the host does not have: reported per host, as saltext reports a host's refusal.
    const refused = (await call('vmware_esxi.vmotion_enable', [], {
      host_name: H1,
      device: 'vmk9',
    })) as Record<string, Record<string, unknown>>
    expect(refused[H1]).toMatchObject({ 'VMotion Enabled': false })
    expect(refused[H1]?.Error).toMatch(/^vsphere.vmotion_enable failed: .*InvalidArgument/)
    expect((await hostNetwork(vc, H1)).vmotionSelected).toBeNull()
    expect(await call('vmware_esxi.vmotion_disable', [], { host_name: H0 })).toEqual({
      [H0]: { 'VMotion Disabled': true },
    })
    expect((await hostNetwork(vc, H0)).vmotionSelected).toBeNull()
  })
})

describe('states through vCenter', () => {
  it('vmkernel_adapter_present: test mode, create, no-op, update, misnamed; absent', async () => {
    const { state } = onVc
    const args = {
      name: 'vmk1',
      port_group_name: 'VM Network',
      vswitch_name: 'vSwitch0',
      network_ip_address: '10.20.0.5',
      network_subnet_mask: '255.255.0.0',
      enable_vmotion: true,
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    }
    const predicted = await state('vmware_esxi.vmkernel_adapter_present', [], args, true)
    expect(predicted).toMatchObject({
      result: null,
      changes: Object.fromEntries(CLUSTER.map((h) => [h, created1])),
      comment: "vmkernel adapter 'vmk1' will be created on 3 host(s) and updated on 0 host(s).",
    })
    expect(Object.keys((await hostNetwork(vc, H0)).vnics)).toEqual(['vmk0'])

    const created = await state('vmware_esxi.vmkernel_adapter_present', [], args)
    expect(created).toMatchObject({
      result: true,
      changes: Object.fromEntries(CLUSTER.map((h) => [h, created1])),
      comment: `vmkernel adapter 'vmk1' created on ${CLUSTER.join(',')}, updated on -.`,
    })
    for (const host of CLUSTER) {
      const raw = await hostNetwork(vc, host)
      expect(raw.vnics.vmk1?.spec.ip.ipAddress).toBe('10.20.0.5')
      expect(raw.selected.vmotion).toEqual(['vmotion.key-vim.host.VirtualNic-vmk1'])
    }
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], args)).toMatchObject({
      result: true,
      changes: {},
      comment: "vmkernel adapter 'vmk1' not created/updated on any host. No changes made.",
    })

    // A changed desired state on one host: test mode predicts it and changes nothing.
    const changed = { ...args, host_name: H1, mtu: 9000, enable_vmotion: false }
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], changed, true)).toMatchObject({
      result: null,
      changes: { [H1]: changedH1 },
      comment: "vmkernel adapter 'vmk1' will be created on 0 host(s) and updated on 1 host(s).",
    })
    let raw = await hostNetwork(vc, H1)
    expect(Number(raw.vnics.vmk1?.spec.mtu)).toBe(1500)
    expect(raw.selected.vmotion).toEqual(['vmotion.key-vim.host.VirtualNic-vmk1'])
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], changed)).toMatchObject({
      result: true,
      changes: { [H1]: changedH1 },
      comment: `vmkernel adapter 'vmk1' created on -, updated on ${H1}.`,
    })
    raw = await hostNetwork(vc, H1)
    expect(Number(raw.vnics.vmk1?.spec.mtu)).toBe(9000)
    expect(raw.selected.vmotion).toEqual([])
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], changed)).toMatchObject({
      result: true,
      changes: {},
    })

    // ESXi names new adapters itself: a name it would not give is refused, nothing created.
    const misnamed = await state('vmware_esxi.vmkernel_adapter_present', [], {
      ...args,
      cluster_name: undefined,
      name: 'vmk7',
      port_group_name: 'Management Network',
      host_name: 'DC0_H0',
    })
    expect(misnamed).toMatchObject({ result: false, changes: {} })
    expect(misnamed.comment).toMatch(/cannot be created on DC0_H0 \(it would be vmk1\)/)
    expect(Object.keys((await hostNetwork(vc, 'DC0_H0')).vnics)).toEqual(['vmk0'])

    // absent: test mode, delete, no-op.
    const absent = { name: 'vmk1', datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
    expect(await state('vmware_esxi.vmkernel_adapter_absent', [], absent, true)).toMatchObject({
      result: null,
      changes: Object.fromEntries(CLUSTER.map((h) => [h, removed1])),
      comment: "vmkernel adapter 'vmk1' will be deleted on 3 host(s).",
    })
    expect(Object.keys((await hostNetwork(vc, H0)).vnics)).toEqual(['vmk0', 'vmk1'])
    expect(await state('vmware_esxi.vmkernel_adapter_absent', [], absent)).toMatchObject({
      result: true,
      changes: Object.fromEntries(CLUSTER.map((h) => [h, removed1])),
      comment: `vmkernel adapter 'vmk1' deleted on ${CLUSTER.join(',')}.`,
    })
    for (const host of CLUSTER)
      expect(Object.keys((await hostNetwork(vc, host)).vnics)).toEqual(['vmk0'])
    expect(await state('vmware_esxi.vmkernel_adapter_absent', [], absent)).toMatchObject({
      result: true,
      changes: {},
      comment: "vmkernel adapter 'vmk1' absent on all hosts. No changes made.",
    })
  })

  it('vmotion_configured: test mode, enable, no-op, device change, disable', async () => {
    const { state } = onVc
    const args = { name: 'vmotion', enabled: true, host_name: H1 }
    expect(await state('vmware_esxi.vmotion_configured', [], args, true)).toMatchObject({
      result: null,
      changes: { [H1]: { enabled: { old: false, new: true }, device: { old: null, new: 'vmk0' } } },
      comment: 'VMotion configuration will change.',
    })
    expect((await hostNetwork(vc, H1)).vmotionSelected).toBeNull()
    expect(await state('vmware_esxi.vmotion_configured', [], args)).toMatchObject({
      result: true,
      changes: { [H1]: { enabled: { old: false, new: true } } },
    })
    expect((await hostNetwork(vc, H1)).vmotionSelected).toBe(
      'VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk0',
    )
    expect(await state('vmware_esxi.vmotion_configured', [], args)).toMatchObject({
      result: true,
      changes: {},
      comment: 'VMotion configuration is already in the desired state.',
    })
    // Another adapter for vMotion.
    await onVc.call('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H1,
      network_type: 'dhcp',
    })
    const moved = { ...args, device: 'vmk1' }
    expect(await state('vmware_esxi.vmotion_configured', [], moved)).toMatchObject({
      result: true,
      changes: { [H1]: { device: { old: 'vmk0', new: 'vmk1' } } },
    })
    expect((await hostNetwork(vc, H1)).vmotionSelected).toBe(
      'VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk1',
    )
    expect(await state('vmware_esxi.vmotion_configured', [], moved)).toMatchObject({ changes: {} })
    const off = { name: 'vmotion', enabled: false, host_name: H1 }
    expect(await state('vmware_esxi.vmotion_configured', [], off, true)).toMatchObject({
      result: null,
      changes: { [H1]: { enabled: { old: true, new: false } } },
    })
    expect((await hostNetwork(vc, H1)).vmotionSelected).not.toBeNull()
    expect(await state('vmware_esxi.vmotion_configured', [], off)).toMatchObject({ result: true })
    expect((await hostNetwork(vc, H1)).vmotionSelected).toBeNull()
    expect(await state('vmware_esxi.vmotion_configured', [], off)).toMatchObject({ changes: {} })
    // An adapter the host lacks: the host's refusal is the state's error.
    const bad = await state('vmware_esxi.vmotion_configured', [], { ...args, device: 'vmk9' })
    expect(bad).toMatchObject({ result: false, changes: {} })
    expect(bad.comment).toMatch(/^Error: vsphere.vmotion_enable failed/)
    await onVc.call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], { host_name: H1 })

    // On a cluster where only the first host has the adapter: that host is changed, the next
    // refuses, the state stops there (as saltext's does) and reports what it changed.
    await onVc.call('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H0,
      network_type: 'dhcp',
    })
    const partly = await state('vmware_esxi.vmotion_configured', [], {
      name: 'vmotion',
      enabled: true,
      device: 'vmk1',
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })
    expect(partly).toMatchObject({
      result: false,
      changes: { [H0]: { enabled: { old: false, new: true } } },
    })
    expect(Object.keys(partly.changes)).toEqual([H0])
    expect(partly.comment).toMatch(
      new RegExp(
        `^Error: vsphere.vmotion_enable failed: enabling vMotion on 'vmk1' of host '${H1}'`,
      ),
    )
    expect((await hostNetwork(vc, H0)).vmotionSelected).toBe(
      'VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk1',
    )
    expect((await hostNetwork(vc, H2)).vmotionSelected).toBeNull()
    await onVc.call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], { host_name: H0 })
    expect((await hostNetwork(vc, H0)).vmotionSelected).toBeNull()
  })
})

describe('direct ESXi connection', () => {
  it('adapters, vMotion and the states on the host itself', async () => {
    const { call, state, failure } = onEsx
    const [host] = (await call('vmware_esxi.list_hosts')) as string[]
    expect(host).toBeTruthy()
    const name = host as string
    expect(
      await call('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
        network_ip_address: '192.168.50.2',
        network_subnet_mask: '255.255.255.0',
        network_tcp_ip_stack: 'provisioning',
        enable_provisioning: true,
      }),
    ).toEqual({ [name]: 'vmk1' })
    let raw = await hostNetwork(esx, name)
    expect(raw.vnics.vmk1?.spec.netStackInstanceKey).toBe('vSphereProvisioning')
    expect(raw.selected.vSphereProvisioning).toEqual([
      'vSphereProvisioning.key-vim.host.VirtualNic-vmk1',
    ])
    expect(await call('vmware_esxi.get_vmkernel_adapters')).toEqual({ [name]: ['vmk0', 'vmk1'] })
    expect(
      await failure('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
        network_type: 'dhcp',
      }),
    ).toMatchObject({ faultType: 'AlreadyExists' })
    expect(
      await call('vmware_esxi.update_vmkernel_adapter', ['vmk1', 'VM Network'], {
        network_ip_address: '192.168.50.3',
        network_subnet_mask: '255.255.255.0',
        network_tcp_ip_stack: 'provisioning',
        mtu: 1600,
      }),
    ).toEqual({ [name]: 'vmk1' })
    raw = await hostNetwork(esx, name)
    expect(raw.vnics.vmk1?.spec.ip.ipAddress).toBe('192.168.50.3')
    expect(Number(raw.vnics.vmk1?.spec.mtu)).toBe(1600)

    expect(await call('vmware_esxi.vmotion_enable', [], { device: 'vmk1' })).toEqual({
      [name]: { 'VMotion Enabled': true },
    })
    expect(await call('vmware_esxi.get_vmotion_enabled')).toEqual({
      [name]: { 'VMotion Enabled': true },
    })
    expect((await hostNetwork(esx, name)).vmotionSelected).toBe(
      'VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk1',
    )
    const off = { name: 'vmotion', enabled: false }
    expect(await state('vmware_esxi.vmotion_configured', [], off, true)).toMatchObject({
      result: null,
    })
    expect((await hostNetwork(esx, name)).vmotionSelected).not.toBeNull()
    expect(await state('vmware_esxi.vmotion_configured', [], off)).toMatchObject({
      result: true,
      changes: { [name]: { enabled: { old: true, new: false } } },
    })
    expect(await state('vmware_esxi.vmotion_configured', [], off)).toMatchObject({ changes: {} })

    const present = {
      name: 'vmk1',
      port_group_name: 'VM Network',
      network_ip_address: '192.168.50.3',
      network_subnet_mask: '255.255.255.0',
      network_tcp_ip_stack: 'provisioning',
      mtu: 1600,
    }
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], present)).toMatchObject({
      result: true,
      changes: {},
    })
    const changed = { ...present, network_ip_address: '192.168.50.4' }
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], changed, true)).toMatchObject({
      result: null,
      changes: { [name]: newIp },
    })
    expect((await hostNetwork(esx, name)).vnics.vmk1?.spec.ip.ipAddress).toBe('192.168.50.3')
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], changed)).toMatchObject({
      result: true,
      changes: { [name]: newIp },
    })
    expect((await hostNetwork(esx, name)).vnics.vmk1?.spec.ip.ipAddress).toBe('192.168.50.4')
    expect(await state('vmware_esxi.vmkernel_adapter_present', [], changed)).toMatchObject({
      changes: {},
    })
    expect(await state('vmware_esxi.vmkernel_adapter_absent', [], { name: 'vmk1' })).toMatchObject({
      result: true,
      changes: { [name]: removed1 },
    })
    raw = await hostNetwork(esx, name)
    expect(Object.keys(raw.vnics)).toEqual(['vmk0'])
    expect(raw.vmotionSelected).toBeNull()
    expect(await state('vmware_esxi.vmkernel_adapter_absent', [], { name: 'vmk1' })).toMatchObject({
      result: true,
      changes: {},
    })
  })
})

describe('distributed switch host membership', () => {
  /** config.host of a switch: {host name: {pnics, ports}}, and its summary.hostMember names. */
  async function members(switchName: string) {
    return readBack(vc, async (si) => {
      const hosts = new Map(
        (await retrieveAll(si, 'HostSystem', ['name'])).map((h) => [
          h.obj.value,
          String(h.props.name),
        ]),
      )
      const dvs = (
        await retrieveAll(si, 'DistributedVirtualSwitch', ['name', 'config', 'summary.hostMember'])
      ).find((d) => d.props.name === switchName)
      const config = dvs?.props.config as {
        host?: unknown
        maxMtu?: unknown
      }
      const out: Record<string, { pnics: string[]; ports: number }> = {}
      for (const m of list(config.host) as Array<{
        config: {
          host: { value: string }
          maxProxySwitchPorts: unknown
          backing?: { pnicSpec?: unknown }
        }
      }>)
        out[hosts.get(m.config.host.value) ?? '?'] = {
          pnics: (list(m.config.backing?.pnicSpec) as Array<{ pnicDevice: string }>).map(
            (p) => p.pnicDevice,
          ),
          ports: Number(m.config.maxProxySwitchPorts),
        }
      const summary = list(dvs?.props['summary.hostMember'] as Array<{ value: string }>)
      return {
        config: out,
        summary: summary.map((h) => hosts.get(h.value)).sort(),
        maxMtu: Number(config.maxMtu),
      }
    })
  }

  // saltext tests/integration/modules/test_dvswitch.py test_create_update (configure,
  // add_hosts, update_hosts with mtu and num_ports, remove_hosts).
  it('add_hosts, update_hosts and remove_hosts change the switch’s members', async () => {
    const { call, failure } = onVc
    expect(
      await call('vmware_dvswitch.configure', [], {
        switch_name: 'dvs-hosts',
        datacenter_name: 'DC0',
        uplink_count: 1,
      }),
    ).toBe(true)
    expect(
      await call('vmware_dvswitch.add_hosts', [], {
        switch_name: 'dvs-hosts',
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
        nics: 'vmnic1',
      }),
    ).toEqual(Object.fromEntries(CLUSTER.map((h) => [h, true])))
    let read = await members('dvs-hosts')
    expect(read.summary).toEqual(CLUSTER)
    for (const host of CLUSTER) expect(read.config[host]).toEqual({ pnics: ['vmnic1'], ports: 512 })
    // Already members: False, nothing sent. The standalone host joins on its own.
    expect(
      await call('vmware_dvswitch.add_hosts', [], {
        switch_name: 'dvs-hosts',
        datacenter_name: 'DC0',
      }),
    ).toEqual({ ...Object.fromEntries(CLUSTER.map((h) => [h, false])), DC0_H0: true })
    // vmnic0 is the uplink of the standard switch vSwitch0: ResourceInUse, nothing changed.
    const inUse = await failure('vmware_dvswitch.update_hosts', [], {
      switch_name: 'dvs-hosts',
      host_name: H0,
      nics: ['vmnic0'],
    })
    expect(inUse).toMatchObject({ faultType: 'ResourceInUse' })
    expect((await members('dvs-hosts')).config[H0]).toEqual({ pnics: ['vmnic1'], ports: 512 })
    expect(
      await call('vmware_dvswitch.update_hosts', [], {
        switch_name: 'dvs-hosts',
        datacenter_name: 'DC0',
        mtu: 1800,
        num_ports: 130,
      }),
    ).toEqual({ ...Object.fromEntries(CLUSTER.map((h) => [h, true])), DC0_H0: true })
    read = await members('dvs-hosts')
    expect(read.maxMtu).toBe(1800)
    for (const host of [...CLUSTER, 'DC0_H0']) expect(read.config[host]?.ports).toBe(130)
    expect(read.config[H0]?.pnics).toEqual(['vmnic1'])
    expect(read.config.DC0_H0?.pnics).toEqual([])
    // Uplinks for the standalone host, which joined without any.
    expect(
      await call('vmware_dvswitch.update_hosts', ['dvs-hosts', 'DC0_H0'], { nics: 'vmnic1' }),
    ).toEqual({ DC0_H0: true })
    expect((await members('dvs-hosts')).config.DC0_H0).toEqual({ pnics: ['vmnic1'], ports: 130 })

    expect(
      await call('vmware_dvswitch.remove_hosts', [], {
        switch_name: 'dvs-hosts',
        host_name: 'DC0_H0',
      }),
    ).toEqual({ DC0_H0: true })
    read = await members('dvs-hosts')
    expect(read.summary).toEqual(CLUSTER)
    expect(Object.keys(read.config).sort()).toEqual(CLUSTER)
    expect(
      await call('vmware_dvswitch.remove_hosts', [], {
        switch_name: 'dvs-hosts',
        host_name: 'DC0_H0',
      }),
    ).toEqual({ DC0_H0: false })
    expect(
      await call('vmware_dvswitch.update_hosts', [], {
        switch_name: 'dvs-hosts',
        host_name: 'DC0_H0',
        num_ports: 64,
      }),
    ).toEqual({ DC0_H0: false })
    expect(
      await call('vmware_dvswitch.remove_hosts', [], {
        switch_name: 'dvs-hosts',
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
      }),
    ).toEqual(Object.fromEntries(CLUSTER.map((h) => [h, true])))
    read = await members('dvs-hosts')
    expect(read.summary).toEqual([])
    expect(read.config).toEqual({})
    const unknown = await failure('vmware_dvswitch.add_hosts', [], {
      switch_name: 'no-such-dvs',
      datacenter_name: 'DC0',
    })
    expect(unknown?.message).toMatch(
      /^switch_name: datacenter 'DC0' has no distributed switch 'no-such-dvs'/,
    )
  })

  it('a host whose VMkernel adapter uses the switch cannot leave it', async () => {
    const { call, failure } = onVc
    await call('vmware_esxi.create_vmkernel_adapter', [], {
      port_group_name: 'DC0_DVPG0',
      dvswitch_name: 'DVS0',
      network_type: 'dhcp',
      host_name: 'DC0_H0',
    })
    const refused = await failure('vmware_dvswitch.remove_hosts', [], {
      switch_name: 'DVS0',
      host_name: 'DC0_H0',
    })
    expect(refused).toMatchObject({
      faultType: 'ResourceInUse',
      fault: { type: 'HostVirtualNic', name: 'vmk1' },
    })
    expect((await members('DVS0')).summary).toContain('DC0_H0')
    await call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], { host_name: 'DC0_H0' })
  })
})

describe('an SLS of these states (the README example)', () => {
  it('applies in test mode (nothing changes), then for real, then with no changes', async () => {
    const apply = async (test: boolean) => {
      rtVc.context = {}
      return Object.values(
        (await rtVc.call('state.apply', { args: ['host-network'], kwargs: { test } })) as Record<
          string,
          StateReturn
        >,
      )
    }
    const predicted = await apply(true)
    expect(predicted.map((r) => r.result)).toEqual([null, null])
    for (const host of CLUSTER) {
      const raw = await hostNetwork(vc, host)
      expect(Object.keys(raw.vnics)).toEqual(['vmk0'])
    }
    const applied = await apply(false)
    expect(applied.map((r) => r.result)).toEqual([true, true])
    expect(applied.every((r) => Object.keys(r.changes).length === 3)).toBe(true)
    for (const host of CLUSTER) {
      const raw = await hostNetwork(vc, host)
      expect(raw.vnics.vmk1?.spec.mtu).toBe(9000)
      expect(raw.vmotionSelected).toBe('VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk1')
    }
    const again = await apply(false)
    expect(again.map((r) => [r.result, r.changes])).toEqual([
      [true, {}],
      [true, {}],
    ])
    await onVc.call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], {
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })
  })
})

// saltext's own client reads what brine wrote: pyVmomi (Debian's python3-pyvmomi, the library
// saltext-vmware calls these methods through) on the same simulator.
const PYTHON = '/usr/bin/python3'
const PYVMOMI_READ = `
import json, ssl, sys
from pyVim.connect import SmartConnect
from pyVmomi import vim
ctx = ssl.create_default_context(cafile=sys.argv[4])
si = SmartConnect(host='127.0.0.1', port=int(sys.argv[1]), user='pyvmomi', pwd='pw', sslContext=ctx)
content = si.RetrieveContent()
view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
host = [h for h in view.view if h.name == sys.argv[2]][0]
vnic = [v for v in host.config.network.vnic if v.device == sys.argv[3]][0]
print(json.dumps({
  'portgroup': vnic.portgroup, 'ip': vnic.spec.ip.ipAddress, 'mtu': vnic.spec.mtu,
  'vmotion': host.configManager.vmotionSystem.netConfig.selectedVnic,
  'vsan': list(host.configManager.virtualNicManager.QueryNetConfig('vsan').selectedVnic),
}))
`
const hasPyvmomi =
  existsSync(PYTHON) &&
  (await promisify(execFile)(PYTHON, ['-c', 'import pyVmomi']).then(
    () => true,
    () => false,
  ))

describe.skipIf(!hasPyvmomi)('pyVmomi reads the same', () => {
  it('an adapter brine created, its vMotion and vSAN selection', async () => {
    await onVc.call('vmware_esxi.create_vmkernel_adapter', ['VM Network'], {
      host_name: H2,
      network_ip_address: '10.40.0.2',
      network_subnet_mask: '255.255.255.0',
      mtu: 1600,
      enable_vmotion: true,
      enable_vsan: true,
    })
    const { stdout } = await promisify(execFile)(PYTHON, [
      '-c',
      PYVMOMI_READ,
      String(vc.port),
      H2,
      'vmk1',
      vc.caFile,
    ])
    expect(JSON.parse(stdout)).toEqual({
      portgroup: 'VM Network',
      ip: '10.40.0.2',
      mtu: 1600,
      vmotion: 'VMotionConfig.vmotion.key-vim.host.VirtualNic-vmk1',
      vsan: ['vsan.key-vim.host.VirtualNic-vmk1'],
    })
    await onVc.call('vmware_esxi.delete_vmkernel_adapter', ['vmk1'], { host_name: H2 })
  })
})

describe('secrets', () => {
  it('the password is in no result, state return or error', async () => {
    const password = 'Net-S3cret-pa55'
    const rt = vmwareRuntime(vc, 'secret-user', [], {
      'saltext.vmware': { host: vc.url, user: 'secret-user', password, ca_file: vc.caFile },
    })
    try {
      const outputs: unknown[] = [
        await rt.call('vmware_esxi.get_vmkernel_adapters', { kwargs: { host_name: H0 } }),
        await rt.call('vmware_esxi.vmkernel_adapter_present', {
          kwargs: {
            name: 'vmk1',
            port_group_name: 'VM Network',
            network_type: 'dhcp',
            host_name: H2,
          },
          state: true,
          test: true,
        }),
        await rt.call('vmware_esxi.vmotion_enable', { kwargs: { host_name: H2, device: 'vmk9' } }),
        await rt
          .call('vmware_esxi.create_vmkernel_adapter', {
            kwargs: {
              port_group_name: 'VM Network',
              network_ip_address: 'bad',
              network_subnet_mask: '255.0.0.0',
              host_name: H2,
            },
          })
          .catch((e: Error) => ({ message: e.message, stack: e.stack, cause: String(e.cause) })),
      ]
      const text = JSON.stringify(outputs)
      expect(text).toContain('network_ip_address')
      expect(text).not.toContain(password)
    } finally {
      await rt.close()
    }
  })
})
