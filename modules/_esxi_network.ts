// vmware_esxi's VMkernel adapters and vMotion (saltext-vmware's modules/esxi.py), spread into
// vmware_esxi.ts's functions. Each host is reached through the connection's own inventory
// (vCenter or the ESXi host itself), through its configManager's networkSystem,
// virtualNicManager and vmotionSystem, as saltext does.
import { type CallContext, defineFunction, lazy, ModuleError, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type Entity,
  getEntity,
  type ManagedObjectReference,
  retrieveProperties,
} from 'brine/vsphere'
import { bool, num, type Selection, selectHosts, selection } from './_esxi.ts'
import { asList } from './_vmware.ts'

/** saltext's enable_* arguments and the nic types of HostVirtualNicManager they select. */
export const NIC_TYPES = [
  ['enable_management_traffic', 'management'],
  ['enable_fault_tolerance', 'faultToleranceLogging'],
  ['enable_provisioning', 'vSphereProvisioning'],
  ['enable_replication', 'vSphereReplication'],
  ['enable_replication_nfc', 'vSphereReplicationNFC'],
  ['enable_vmotion', 'vmotion'],
  ['enable_vsan', 'vsan'],
] as const

/** saltext's _get_net_stack: the TCP/IP stack names it takes, and the stacks' API keys. */
const NET_STACKS: Record<string, string> = {
  default: 'defaultTcpipStack',
  defaulttcpipstack: 'defaultTcpipStack',
  provisioning: 'vSphereProvisioning',
  vsphereprovisioning: 'vSphereProvisioning',
  vmotion: 'vmotion',
  vxlan: 'vxlan',
}

const enable = (what: string) =>
  z.boolean().optional().describe(`carry ${what} traffic (True), or not (False); unset: unchanged`)

/** saltext's create/update_vmkernel_adapter arguments after port_group_name, in its order. */
export const adapterArgs = lazy(() => ({
  dvswitch_name: z.string().min(1).optional().describe('distributed switch of the port group'),
  vswitch_name: z.string().min(1).optional().describe('standard switch of the port group'),
  enable_fault_tolerance: enable('Fault Tolerance logging'),
  enable_management_traffic: enable('management'),
  enable_provisioning: enable('provisioning'),
  enable_replication: enable('vSphere Replication'),
  enable_replication_nfc: enable('vSphere Replication NFC'),
  enable_vmotion: enable('vMotion'),
  enable_vsan: enable('vSAN'),
  mtu: z.coerce.number().int().min(1280).max(9000).default(1500).describe('MTU (1280-9000)'),
  network_default_gateway: z.string().min(1).optional().describe('gateway of this adapter'),
  network_ip_address: z.string().min(1).optional().describe('IPv4 address (static)'),
  network_subnet_mask: z.string().min(1).optional().describe('subnet mask (static)'),
  network_tcp_ip_stack: z
    .string()
    .default('default')
    .refine((v) => Object.hasOwn(NET_STACKS, v.toLowerCase()), {
      message: 'one of default, provisioning, vmotion, vxlan',
    })
    .describe('TCP/IP stack: default, provisioning, vmotion, vxlan'),
  network_type: z.enum(['static', 'dhcp']).default('static').describe('static or dhcp'),
  ...selection,
}))
export type AdapterArgs = z.infer<z.ZodObject<ReturnType<typeof adapterArgs>>> & {
  port_group_name: string
}

/** The host properties saving an adapter needs, read with the hosts in one call. */
export const HOST_PROPS = [
  'configManager.networkSystem',
  'configManager.virtualNicManager',
  'config.network.vnic',
  'config.network.portgroup',
  'config.virtualNicManagerInfo',
]

export interface Vnic {
  device: string
  portgroup?: string
  spec?: {
    ip?: { dhcp?: unknown; ipAddress?: string; subnetMask?: string }
    distributedVirtualPort?: { switchUuid?: string; portgroupKey?: string }
    mtu?: unknown
    netStackInstanceKey?: string
    ipRouteSpec?: { ipRouteConfig?: { defaultGateway?: string } }
  }
}

export const vnicsOf = (host: Entity) => asList(host.props['config.network.vnic'] as Vnic[])

/** {nicType: [devices]} of the host's HostVirtualNicManager selections. */
export function selectionsOf(host: Entity): Record<string, string[]> {
  const info = host.props['config.virtualNicManagerInfo'] as
    | { netConfig?: Array<{ nicType: string; selectedVnic?: string[] | string }> }
    | undefined
  const out: Record<string, string[]> = {}
  for (const config of asList(info?.netConfig))
    out[config.nicType] = asList(config.selectedVnic).map((key) => key.replace(/^.*-/, ''))
  return out
}

/** A distributed switch's uuid and the key of its port group `portgroup`. */
export async function dvsPort(ctx: CallContext, dvswitch: string, portgroup: string) {
  const dvs = await getEntity(ctx.serviceInstance, ENTITY_TYPES.dvswitch, dvswitch, {
    props: ['uuid', 'portgroup'],
    signal: ctx.signal,
  })
  const refs = asList(dvs.props.portgroup as ManagedObjectReference[])
  const pgs = refs.length
    ? await retrieveProperties(
        ctx.serviceInstance,
        [
          {
            propSet: [{ type: 'DistributedVirtualPortgroup', pathSet: ['name', 'key'] }],
            objectSet: refs.map((obj) => ({ obj })),
          },
        ],
        { signal: ctx.signal },
      )
    : []
  const pg = pgs
    .map((o) => Object.fromEntries(o.propSet.map((p) => [p.name, p.val])))
    .find((p) => p.name === portgroup)
  if (!pg)
    throw new ModuleError(
      `port_group_name: distributed switch '${dvs.name}' has no port group '${portgroup}'; give one of its port groups`,
      { code: 'BRINE_NOT_FOUND' },
    )
  return { switchUuid: String(dvs.props.uuid), portgroupKey: String(pg.key) }
}

/** The argument a HostVirtualNicSpec property comes from, for InvalidArgument faults. */
const SPEC_ARGS: Record<string, string> = {
  'nic.ip': 'network_type',
  'nic.ip.ipAddress': 'network_ip_address',
  'nic.ip.subnetMask': 'network_subnet_mask',
  'nic.ipRouteSpec.ipRouteConfig.defaultGateway': 'network_default_gateway',
  'nic.mtu': 'mtu',
  'nic.netStackInstanceKey': 'network_tcp_ip_stack',
}

/** An InvalidArgument fault of a spec property, as an error naming brine's argument. */
function argumentError(error: unknown, host: string): unknown {
  const e = error as { faultType?: string; fault?: { invalidProperty?: string }; message?: string }
  const arg = e.faultType === 'InvalidArgument' && SPEC_ARGS[e.fault?.invalidProperty ?? '']
  if (!arg) return error
  const fix =
    arg === 'network_tcp_ip_stack'
      ? 'the host has no such TCP/IP stack, or the adapter is on another one (an adapter keeps the stack it was created on: delete and create it again)'
      : 'give a valid value'
  return new ModuleError(`${arg}: host '${host}' refused the value: ${fix} (${e.message})`, {
    code: 'BRINE_ARGUMENT',
    cause: error,
  })
}

/** The HostVirtualNicSpec for `a` (fields in WSDL order; every data object typed). */
export function vnicSpec(
  a: AdapterArgs,
  dvPort: { switchUuid: string; portgroupKey: string } | undefined,
  portgroup: string | undefined,
) {
  const dhcp = a.network_type === 'dhcp'
  return {
    _type: 'HostVirtualNicSpec',
    ip: {
      _type: 'HostIpConfig',
      dhcp,
      ipAddress: dhcp ? undefined : a.network_ip_address,
      subnetMask: dhcp ? undefined : a.network_subnet_mask,
    },
    distributedVirtualPort: dvPort && {
      _type: 'DistributedVirtualSwitchPortConnection',
      ...dvPort,
    },
    portgroup,
    mtu: a.mtu,
    netStackInstanceKey: NET_STACKS[a.network_tcp_ip_stack.toLowerCase()],
    ipRouteSpec:
      !dhcp && a.network_default_gateway
        ? {
            _type: 'HostVirtualNicIpRouteSpec',
            ipRouteConfig: {
              _type: 'HostIpRouteConfig',
              defaultGateway: a.network_default_gateway,
            },
          }
        : undefined,
  }
}

/** Arguments that cannot work together, refused before anything is sent. */
export function checkAdapterArgs(a: AdapterArgs) {
  if (a.dvswitch_name && a.vswitch_name)
    throw new ModuleError(
      'dvswitch_name and vswitch_name: give one (the port group is on a distributed or on a standard switch)',
      { code: 'BRINE_ARGUMENT' },
    )
  if (a.network_type === 'static' && !(a.network_ip_address && a.network_subnet_mask))
    throw new ModuleError(
      "network_ip_address and network_subnet_mask are required with network_type 'static' (or give network_type='dhcp')",
      { code: 'BRINE_ARGUMENT' },
    )
}

/** The standard port group must be on vswitch_name when that is given. */
function checkVswitch(host: Entity, a: AdapterArgs) {
  if (!a.vswitch_name || a.dvswitch_name) return
  const pgs = asList(
    host.props['config.network.portgroup'] as Array<{
      spec?: { name?: string; vswitchName?: string }
    }>,
  )
  const pg = pgs.find((p) => p.spec?.name === a.port_group_name)
  if (pg?.spec?.vswitchName !== a.vswitch_name)
    throw new ModuleError(
      pg
        ? `vswitch_name: port group '${a.port_group_name}' of host '${host.name}' is on standard switch '${pg.spec?.vswitchName}', not '${a.vswitch_name}'`
        : `port_group_name: host '${host.name}' has no standard port group '${a.port_group_name}'`,
      { code: 'BRINE_NOT_FOUND' },
    )
}

/**
 * saltext's _save_vmkernel_adapter on one host: AddVirtualNic (the host names the adapter) or
 * UpdateVirtualNic, then the traffic types set to True selected and those set to False
 * deselected. Returns the adapter's device.
 */
export async function saveAdapter(
  ctx: CallContext,
  host: Entity,
  a: AdapterArgs,
  device: string | undefined,
): Promise<string> {
  checkVswitch(host, a)
  const si = ctx.serviceInstance
  const network = host.props['configManager.networkSystem'] as ManagedObjectReference
  const dvPort = a.dvswitch_name
    ? await dvsPort(ctx, a.dvswitch_name, a.port_group_name)
    : undefined
  const created = !device
  try {
    if (device) {
      const current = vnicsOf(host).find((v) => v.device === device)
      const move = !dvPort && current?.portgroup !== a.port_group_name
      await callVim(
        si,
        `updating VMkernel adapter '${device}' of host '${host.name}'`,
        'UpdateVirtualNic',
        { _this: network, device, nic: vnicSpec(a, dvPort, move ? a.port_group_name : undefined) },
        { signal: ctx.signal },
      )
    } else {
      device = await callVim<string>(
        si,
        `adding a VMkernel adapter on port group '${a.port_group_name}' of host '${host.name}'`,
        'AddVirtualNic',
        {
          _this: network,
          portgroup: dvPort ? '' : a.port_group_name,
          nic: vnicSpec(a, dvPort, undefined),
        },
        { signal: ctx.signal },
      )
    }
  } catch (error) {
    throw argumentError(error, host.name)
  }
  // Only what changes is sent: ESXi refuses to deselect an adapter that is not selected.
  const manager = host.props['configManager.virtualNicManager'] as ManagedObjectReference
  const selections = created ? {} : selectionsOf(host)
  for (const [arg, nicType] of NIC_TYPES) {
    const wanted = a[arg]
    if (wanted === undefined || (selections[nicType] ?? []).includes(device) === wanted) continue
    await callVim(
      si,
      `${wanted ? 'selecting' : 'deselecting'} '${device}' for ${nicType} traffic on host '${host.name}'`,
      wanted ? 'SelectVnicForNicType' : 'DeselectVnicForNicType',
      { _this: manager, nicType, device },
      { signal: ctx.signal },
    )
  }
  return device
}

const vmotionArgs = lazy(() => ({
  host_name: selection.host_name,
  datacenter_name: selection.datacenter_name,
  cluster_name: selection.cluster_name,
  host_names: z
    .union([z.string().min(1), z.array(z.string().min(1))])
    .optional()
    .describe('only these of the selected hosts'),
}))

/** The selected hosts, narrowed to host_names when given, with their vMotion system. */
async function vmotionHosts(
  ctx: CallContext,
  sel: Selection,
  hostNames: string | string[] | undefined,
) {
  const only = hostNames === undefined ? undefined : new Set(asList(hostNames))
  const hosts = await selectHosts(ctx, sel, ['configManager.vmotionSystem'])
  return hosts.filter((h) => !only || only.has(h.name))
}

/** {host: the device carrying vMotion, or null}, read in one PropertyCollector call. */
export async function vmotionDevices(ctx: CallContext, hosts: Entity[]) {
  const systems = hosts
    .map((h) => h.props['configManager.vmotionSystem'] as ManagedObjectReference | undefined)
    .filter((s): s is ManagedObjectReference => !!s)
  const selected = new Map<string, string>()
  if (systems.length) {
    const objects = await retrieveProperties(
      ctx.serviceInstance,
      [
        {
          propSet: [{ type: 'HostVMotionSystem', pathSet: ['netConfig'] }],
          objectSet: systems.map((obj) => ({ obj })),
        },
      ],
      { signal: ctx.signal },
    )
    for (const o of objects) {
      const netConfig = o.propSet.find((p) => p.name === 'netConfig')?.val as
        | { selectedVnic?: string }
        | undefined
      if (netConfig?.selectedVnic) selected.set(o.obj.value, netConfig.selectedVnic)
    }
  }
  const out: Record<string, string | null> = {}
  for (const h of hosts) {
    const system = h.props['configManager.vmotionSystem'] as ManagedObjectReference | undefined
    const key = system && selected.get(system.value)
    out[h.name] = key ? key.replace(/^.*-/, '') : null
  }
  return out
}

/** SelectVnic / DeselectVnic on each host; a HostConfigFault or InvalidArgument is reported per host. */
async function setVmotion(
  ctx: CallContext,
  sel: Selection,
  hostNames: string | string[] | undefined,
  device: string | undefined,
) {
  const key = device === undefined ? 'VMotion Disabled' : 'VMotion Enabled'
  const out: Record<string, Record<string, unknown>> = {}
  for (const host of await vmotionHosts(ctx, sel, hostNames)) {
    const system = host.props['configManager.vmotionSystem'] as ManagedObjectReference
    try {
      await callVim(
        ctx.serviceInstance,
        device === undefined
          ? `disabling vMotion on host '${host.name}'`
          : `enabling vMotion on '${device}' of host '${host.name}'`,
        device === undefined ? 'DeselectVnic' : 'SelectVnic',
        device === undefined ? { _this: system } : { _this: system, device },
        { signal: ctx.signal },
      )
      out[host.name] = { [key]: true }
    } catch (error) {
      const type = (error as { faultType?: string }).faultType
      if (type !== 'HostConfigFault' && type !== 'InvalidArgument') throw error
      const fun = device === undefined ? 'vmotion_disable' : 'vmotion_enable'
      out[host.name] = {
        Error: `vsphere.${fun} failed: ${(error as Error).message}`,
        [key]: false,
      }
    }
  }
  return out
}

export const functions = {
  create_vmkernel_adapter: defineFunction({
    doc: 'Add a VMkernel adapter on port_group_name of each selected host: {host: device} (the host names it vmkN).',
    args: () => ({
      port_group_name: z.string().min(1).describe('port group of the adapter'),
      ...adapterArgs(),
    }),
    run: async (ctx, a) => {
      checkAdapterArgs(a)
      const out: Record<string, string> = {}
      for (const host of await selectHosts(ctx, a, HOST_PROPS))
        out[host.name] = await saveAdapter(ctx, host, a, undefined)
      return out
    },
  }),
  get_vmkernel_adapters: defineFunction({
    doc: '{host: [VMkernel adapter devices]} (only adapter_name when given).',
    args: () => ({
      adapter_name: z.string().min(1).optional().describe('only this adapter, e.g. vmk1'),
      ...selection,
    }),
    run: async (ctx, { adapter_name, ...sel }) => {
      const out: Record<string, string[]> = {}
      for (const host of await selectHosts(ctx, sel, ['config.network.vnic']))
        out[host.name] = vnicsOf(host)
          .map((v) => v.device)
          .filter((d) => !adapter_name || d === adapter_name)
      return out
    },
  }),
  update_vmkernel_adapter: defineFunction({
    doc: 'Reconfigure VMkernel adapter adapter_name on each selected host: {host: device}.',
    args: () => ({
      adapter_name: z.string().min(1).describe('the adapter, e.g. vmk1'),
      port_group_name: z.string().min(1).describe('port group of the adapter'),
      ...adapterArgs(),
    }),
    run: async (ctx, { adapter_name, ...a }) => {
      checkAdapterArgs(a)
      const hosts = await selectHosts(ctx, a, HOST_PROPS)
      // Every host is checked before any is changed.
      const lacking = hosts.filter((h) => !vnicsOf(h).some((v) => v.device === adapter_name))
      if (lacking.length)
        throw new ModuleError(
          `adapter_name: ${lacking.map((h) => `host '${h.name}'`).join(', ')} has no VMkernel adapter '${adapter_name}' (vmware_esxi.get_vmkernel_adapters lists them); nothing was changed`,
          { code: 'BRINE_NOT_FOUND' },
        )
      const out: Record<string, string> = {}
      for (const host of hosts) out[host.name] = await saveAdapter(ctx, host, a, adapter_name)
      return out
    },
  }),
  delete_vmkernel_adapter: defineFunction({
    doc: '{host: True} where the adapter was removed, False where there was none.',
    args: () => ({
      adapter_name: z.string().min(1).describe('the adapter, e.g. vmk1'),
      ...selection,
    }),
    run: async (ctx, { adapter_name, ...sel }) => {
      const out: Record<string, boolean> = {}
      for (const host of await selectHosts(ctx, sel, ['configManager.networkSystem'])) {
        try {
          await callVim(
            ctx.serviceInstance,
            `removing VMkernel adapter '${adapter_name}' of host '${host.name}'`,
            'RemoveVirtualNic',
            { _this: host.props['configManager.networkSystem'], device: adapter_name },
            { signal: ctx.signal },
          )
          out[host.name] = true
        } catch (error) {
          if ((error as { faultType?: string }).faultType !== 'NotFound') throw error
          out[host.name] = false
        }
      }
      return out
    },
  }),
  get_vmotion_enabled: defineFunction({
    doc: '{host: {"VMotion Enabled": bool}} (True when an adapter carries vMotion).',
    args: vmotionArgs,
    run: async (ctx, { host_names, ...sel }) => {
      const devices = await vmotionDevices(ctx, await vmotionHosts(ctx, sel, host_names))
      return Object.fromEntries(
        Object.entries(devices).map(([host, device]) => [host, { 'VMotion Enabled': !!device }]),
      )
    },
  }),
  vmotion_disable: defineFunction({
    doc: '{host: {"VMotion Disabled": True}}, or {"Error": …, "VMotion Disabled": False} where the host refused.',
    args: vmotionArgs,
    run: (ctx, { host_names, ...sel }) => setVmotion(ctx, sel, host_names, undefined),
  }),
  vmotion_enable: defineFunction({
    doc: 'Carry vMotion on `device`: {host: {"VMotion Enabled": True}}, or {"Error": …, "VMotion Enabled": False}.',
    args: () => ({
      ...vmotionArgs(),
      device: z.string().min(1).default('vmk0').describe('the VMkernel adapter for vMotion'),
    }),
    run: (ctx, { host_names, device, ...sel }) => setVmotion(ctx, sel, host_names, device),
  }),
}

/** What differs between adapter `device` of `host` and `a`: {field: {old, new}}. */
export function adapterDiff(host: Entity, device: string, a: AdapterArgs, dvPort?: object) {
  const vnic = vnicsOf(host).find((v) => v.device === device)
  const spec = vnic?.spec ?? {}
  const diff: Record<string, { old: unknown; new: unknown }> = {}
  const want = (key: string, now: unknown, wanted: unknown) => {
    if (wanted !== undefined && JSON.stringify(now) !== JSON.stringify(wanted))
      diff[key] = { old: now, new: wanted }
  }
  const port = spec.distributedVirtualPort
  if (dvPort) {
    const now = port ? { switchUuid: port.switchUuid, portgroupKey: port.portgroupKey } : null
    want('distributed_port', now, dvPort)
  } else want('port_group_name', port ? null : (vnic?.portgroup ?? null), a.port_group_name)
  const dhcp = bool(spec.ip?.dhcp) ?? false
  want('network_type', dhcp ? 'dhcp' : 'static', a.network_type)
  if (a.network_type === 'static') {
    want('network_ip_address', spec.ip?.ipAddress ?? null, a.network_ip_address)
    want('network_subnet_mask', spec.ip?.subnetMask ?? null, a.network_subnet_mask)
    want(
      'network_default_gateway',
      spec.ipRouteSpec?.ipRouteConfig?.defaultGateway ?? null,
      a.network_default_gateway,
    )
  }
  want('mtu', num(spec.mtu) ?? null, a.mtu)
  want(
    'network_tcp_ip_stack',
    spec.netStackInstanceKey ?? null,
    NET_STACKS[a.network_tcp_ip_stack.toLowerCase()],
  )
  const selections = selectionsOf(host)
  for (const [arg, nicType] of NIC_TYPES)
    want(arg, (selections[nicType] ?? []).includes(device), a[arg])
  return diff
}
