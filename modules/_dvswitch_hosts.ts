// vmware_dvswitch's add_hosts, remove_hosts and update_hosts (saltext-vmware's
// modules/dvswitch.py), spread into vmware_dvswitch.ts's functions. saltext creates, updates
// or removes a *standard* switch named like the distributed one on each host; brine makes
// the hosts members of the distributed switch itself (ReconfigureDvs_Task host add, edit,
// remove), which is what the functions are documented to do.
import { type CallContext, defineFunction, ModuleError, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  findEntityByName,
  getEntity,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import { selectHosts } from './_esxi.ts'
import { asList, findDatacenter } from './_vmware.ts'

/** saltext's arguments, in its order (host_name before datacenter_name here). */
const hostsArgs = {
  switch_name: z.string().min(1).describe('distributed switch'),
  host_name: z.string().optional().describe('one host'),
  datacenter_name: z.string().optional().describe('datacenter of the switch and hosts'),
  cluster_name: z.string().optional().describe('cluster (needs datacenter_name)'),
}

const nics = z
  .union([z.string().min(1), z.array(z.string().min(1))])
  .optional()
  .describe('physical NICs (vmnicN) to give the switch as uplinks on each host')

async function findSwitch(ctx: CallContext, name: string, datacenter: string | undefined) {
  const props = ['config.configVersion', 'summary.hostMember']
  const si = ctx.serviceInstance
  if (!datacenter) return getEntity(si, ENTITY_TYPES.dvswitch, name, { props, signal: ctx.signal })
  const dc = await findDatacenter(ctx, datacenter)
  const dvs = await findEntityByName(si, ENTITY_TYPES.dvswitch, name, {
    within: dc.obj,
    props,
    signal: ctx.signal,
  })
  if (!dvs)
    throw new ModuleError(
      `switch_name: datacenter '${dc.name}' has no distributed switch '${name}' (vmware_dvswitch.list lists them)`,
      { code: 'BRINE_NOT_FOUND' },
    )
  return dvs
}

const pnicBacking = (devices: string | string[] | undefined) =>
  devices === undefined
    ? undefined
    : {
        _type: 'DistributedVirtualSwitchHostMemberPnicBacking',
        pnicSpec: asList(devices).map((pnicDevice) => ({
          _type: 'DistributedVirtualSwitchHostMemberPnicSpec',
          pnicDevice,
        })),
      }

/**
 * {host: True} for the selected hosts `pick` keeps (False for the others), after one
 * ReconfigureDvs_Task with a member spec for each kept host (and maxMtu when given).
 */
async function changeMembers(
  ctx: CallContext,
  a: { switch_name: string; host_name?: string; datacenter_name?: string; cluster_name?: string },
  operation: 'add' | 'edit' | 'remove',
  member: ((host: Entity) => Record<string, unknown>) | undefined,
  maxMtu?: number,
) {
  const dvs = await findSwitch(ctx, a.switch_name, a.datacenter_name)
  const members = new Set(
    asList(dvs.props['summary.hostMember'] as ManagedObjectReference[]).map((h) => h.value),
  )
  const hosts = await selectHosts(ctx, a, [])
  const picked = hosts.filter((h) => members.has(h.obj.value) === (operation !== 'add'))
  const out: Record<string, boolean> = {}
  for (const host of hosts) out[host.name] = picked.includes(host)
  const specs = (member ? picked : []).map((host) => ({
    _type: 'DistributedVirtualSwitchHostMemberConfigSpec',
    operation,
    host: host.obj,
    ...member?.(host),
  }))
  if (!specs.length && maxMtu === undefined) return out
  const verb = { add: 'adding', edit: 'reconfiguring', remove: 'removing' }[operation]
  await runTask(
    ctx.serviceInstance,
    `${verb} hosts ${picked.map((h) => `'${h.name}'`).join(', ') || '(none)'} of distributed switch '${dvs.name}'`,
    'ReconfigureDvs_Task',
    {
      _this: dvs.obj,
      // VMwareDVSConfigSpec's WSDL order: configVersion, …, host, …, maxMtu.
      spec: {
        _type: 'VMwareDVSConfigSpec',
        configVersion: String(dvs.props['config.configVersion'] ?? ''),
        host: specs.length ? specs : undefined,
        maxMtu,
      },
    },
    { signal: ctx.signal },
  )
  return out
}

export const hostFunctions = {
  add_hosts: defineFunction({
    doc: 'Make the selected hosts members of the distributed switch (nics: their uplinks): {host: True}, False for hosts already members.',
    args: () => ({ ...hostsArgs, nics }),
    run: (ctx, { nics, ...a }) =>
      changeMembers(ctx, a, 'add', () => ({ backing: pnicBacking(nics) })),
  }),
  remove_hosts: defineFunction({
    doc: 'Take the selected hosts off the distributed switch: {host: True}, False for hosts that were no members.',
    args: () => hostsArgs,
    run: (ctx, a) => changeMembers(ctx, a, 'remove', () => ({})),
  }),
  update_hosts: defineFunction({
    doc:
      'Change the selected members’ uplinks (nics) and proxy switch ports (num_ports): ' +
      '{host: True}, False for hosts that are no members. mtu is the switch’s (all hosts’).',
    args: () => ({
      ...hostsArgs,
      nics,
      num_ports: z.coerce
        .number()
        .int()
        .min(1)
        .optional()
        .describe('ports of each host’s proxy switch'),
      mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('the switch’s MTU'),
    }),
    run: (ctx, { nics, num_ports, mtu, ...a }) =>
      changeMembers(
        ctx,
        a,
        'edit',
        nics === undefined && num_ports === undefined
          ? undefined
          : () => ({ backing: pnicBacking(nics), maxProxySwitchPorts: num_ports }),
        mtu,
      ),
  }),
}
