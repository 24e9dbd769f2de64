import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import { connected, deleteEntity, diff, findDatacenter, names } from './_vmware.ts'

export async function findDvs(
  ctx: CallContext,
  name: string,
  props: string[] = [],
): Promise<Entity> {
  return getEntity(await connected(ctx), ENTITY_TYPES.dvswitch, name, { props, signal: ctx.signal })
}

function describeDvs(dvs: Entity) {
  const config = (dvs.props.config ?? {}) as {
    uuid?: string
    maxMtu?: number
    description?: string
    numPorts?: number
    configVersion?: string
  }
  return {
    name: dvs.name,
    id: dvs.obj.value,
    uuid: config.uuid,
    max_mtu: config.maxMtu || null,
    description: config.description ?? '',
    portgroups: ((dvs.props.portgroup as ManagedObjectReference[] | undefined) ?? []).length,
    hosts: ((dvs.props['summary.hostMember'] as ManagedObjectReference[] | undefined) ?? []).map(
      (h) => h.value,
    ),
  }
}

const DVS_PROPS = ['config', 'portgroup', 'summary.hostMember']

/**
 * ReconfigureDvs_Task with the switch's current configVersion (vCenter refuses a stale one
 * with ConcurrentAccess, so a concurrent change is never overwritten silently).
 */
async function reconfigure(
  ctx: CallContext,
  dvs: Entity,
  what: string,
  spec: { description?: string | undefined; maxMtu?: number | undefined; host?: unknown[] },
) {
  const configVersion = (dvs.props.config as { configVersion?: string } | undefined)?.configVersion
  await runTask(
    await connected(ctx),
    what,
    'ReconfigureDvs_Task',
    {
      _this: dvs.obj,
      // VMwareDVSConfigSpec field order (WSDL): configVersion, …, host, …, description, …, maxMtu.
      spec: {
        _type: 'VMwareDVSConfigSpec',
        configVersion: configVersion ?? '',
        host: spec.host,
        description: spec.description,
        maxMtu: spec.maxMtu,
      },
    },
    { signal: ctx.signal },
  )
}
const dvswitch = z.string().min(1).describe('distributed switch name or id')

/** Add a host to, or remove it from, a switch; returns the switch as it is afterwards. */
async function changeMember(
  ctx: CallContext,
  name: string,
  host: string,
  operation: 'add' | 'remove',
) {
  const dvs = await findDvs(ctx, name, ['config'])
  const target = await getEntity(await connected(ctx), ENTITY_TYPES.host, host, {
    signal: ctx.signal,
  })
  const what =
    operation === 'add'
      ? `adding host '${target.name}' to distributed switch '${dvs.name}'`
      : `removing host '${target.name}' from distributed switch '${dvs.name}'`
  await reconfigure(ctx, dvs, what, { host: [{ operation, host: target.obj }] })
  return describeDvs(await findDvs(ctx, dvs.obj.value, DVS_PROPS))
}

export default defineModule({
  doc: 'Distributed virtual switches (VMware DVS).',
  functions: {
    list: defineFunction({
      doc: 'List distributed switches (of a datacenter when given).',
      args: { datacenter: names.datacenter.optional() },
      vsphere: true,
      run: async (ctx, { datacenter }) => {
        const within = datacenter ? (await findDatacenter(ctx, datacenter)).obj : undefined
        const switches = await listEntities(await connected(ctx), ENTITY_TYPES.dvswitch, {
          within,
          props: DVS_PROPS,
          signal: ctx.signal,
        })
        return switches.map(describeDvs).sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
    get: defineFunction({
      doc: 'Describe a distributed switch: uuid, MTU, description, port groups, member hosts.',
      args: { name: dvswitch },
      vsphere: true,
      run: async (ctx, { name }) => describeDvs(await findDvs(ctx, name, DVS_PROPS)),
    }),
    create: defineFunction({
      doc: 'Create a distributed switch in a datacenter’s network folder.',
      args: {
        name: z.string().min(1).describe('switch name'),
        datacenter: names.datacenter,
        description: z.string().optional().describe('description'),
        max_mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('MTU'),
        uplinks: z.coerce
          .number()
          .int()
          .min(1)
          .max(32)
          .default(2)
          .describe('uplink ports per host'),
      },
      vsphere: true,
      run: async (ctx, { name, datacenter, description, max_mtu, uplinks }) => {
        const si = await connected(ctx)
        const dc = await findDatacenter(ctx, datacenter, ['networkFolder'])
        const dvs = await runTask<ManagedObjectReference>(
          si,
          `creating distributed switch '${name}' in datacenter '${dc.name}'`,
          'CreateDVS_Task',
          {
            _this: dc.props.networkFolder,
            spec: {
              configSpec: {
                _type: 'VMwareDVSConfigSpec',
                name,
                uplinkPortPolicy: {
                  _type: 'DVSNameArrayUplinkPortPolicy',
                  uplinkPortName: Array.from({ length: uplinks }, (_, i) => `uplink${i + 1}`),
                },
                description,
                maxMtu: max_mtu,
              },
            },
          },
          { signal: ctx.signal },
        )
        return { name, id: dvs.value }
      },
    }),
    configure: defineFunction({
      doc: 'Change the description and/or MTU of a switch; says whether anything changed.',
      args: {
        name: dvswitch,
        description: z.string().optional().describe('description'),
        max_mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('MTU'),
      },
      vsphere: true,
      run: async (ctx, { name, description, max_mtu }) => {
        const dvs = await findDvs(ctx, name, DVS_PROPS)
        const before = describeDvs(dvs)
        const changes = diff(
          { description: before.description, max_mtu: before.max_mtu },
          { description, max_mtu },
        )
        if (Object.keys(changes).length === 0) return { ...before, changes }
        await reconfigure(ctx, dvs, `reconfiguring distributed switch '${dvs.name}'`, {
          description: 'description' in changes ? description : undefined,
          maxMtu: 'max_mtu' in changes ? max_mtu : undefined,
        })
        return { ...describeDvs(await findDvs(ctx, dvs.obj.value, DVS_PROPS)), changes }
      },
    }),
    add_host: defineFunction({
      doc: 'Add a host to the switch.',
      args: { name: dvswitch, host: z.string().min(1).describe('host name or id') },
      vsphere: true,
      run: (ctx, { name, host }) => changeMember(ctx, name, host, 'add'),
    }),
    remove_host: defineFunction({
      doc: 'Remove a host from the switch (refused while its VMs use the switch’s port groups).',
      args: { name: dvswitch, host: z.string().min(1).describe('host name or id') },
      vsphere: true,
      run: (ctx, { name, host }) => changeMember(ctx, name, host, 'remove'),
    }),
    delete: defineFunction({
      doc: 'Delete a distributed switch (and its port groups).',
      args: { name: dvswitch },
      vsphere: true,
      run: async (ctx, { name }) => {
        return deleteEntity(ctx, await findDvs(ctx, name), 'distributed switch')
      },
    }),
  },
})
