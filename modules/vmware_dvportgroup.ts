import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import { connected, deleteEntity } from './_vmware.ts'
import { findDvs } from './vmware_dvswitch.ts'

interface PortgroupConfig {
  name?: string
  numPorts?: number
  type?: string
  description?: string
  distributedVirtualSwitch?: ManagedObjectReference
  defaultPortConfig?: { vlan?: { vlanId?: number | Array<{ start: number; end: number }> } }
}

function describePortgroup(pg: Entity) {
  const config = (pg.props.config ?? {}) as PortgroupConfig
  return {
    name: pg.name,
    id: pg.obj.value,
    dvswitch: config.distributedVirtualSwitch?.value ?? null,
    vlan: vlanOf(config.defaultPortConfig?.vlan?.vlanId),
    ports: config.numPorts ?? 0,
    type: config.type ?? 'earlyBinding',
    description: config.description ?? '',
  }
}

/** A VLAN id, or `{trunk: [[start, end], …]}` for a trunk (uplink port groups). */
function vlanOf(
  id: number | Array<{ start: number; end: number }> | undefined,
): number | { trunk: number[][] } {
  if (Array.isArray(id)) return { trunk: id.map((range) => [range.start, range.end]) }
  return id ?? 0
}

async function findPortgroup(ctx: CallContext, name: string): Promise<Entity> {
  return getEntity(await connected(ctx), ENTITY_TYPES.portgroup, name, {
    props: ['config'],
    signal: ctx.signal,
  })
}

/** DVPortgroupConfigSpec in WSDL order (vcsim replaces the whole config with it). */
function portgroupSpec(
  values: { name: string; ports: number; type: string; description: string; vlan: number },
  configVersion?: string,
) {
  return {
    configVersion,
    name: values.name,
    numPorts: values.ports,
    defaultPortConfig: {
      _type: 'VMwareDVSPortSetting',
      vlan: {
        _type: 'VmwareDistributedVirtualSwitchVlanIdSpec',
        inherited: false,
        vlanId: values.vlan,
      },
    },
    description: values.description,
    type: values.type,
  }
}

const portgroup = z.string().min(1).describe('port group name or id')
const settings = {
  vlan: z.coerce.number().int().min(0).max(4094).optional().describe('VLAN id (0: none)'),
  ports: z.coerce.number().int().min(0).optional().describe('number of ports'),
  type: z.enum(['earlyBinding', 'ephemeral']).optional().describe('port binding'),
  description: z.string().optional().describe('description'),
}

export default defineModule({
  doc: 'Distributed port groups.',
  functions: {
    list: defineFunction({
      doc: 'List distributed port groups (of one switch when given): name, id, switch, VLAN, ports.',
      args: { dvswitch: z.string().optional().describe('switch name or id') },
      vsphere: true,
      run: async (ctx, { dvswitch }) => {
        const only = dvswitch ? (await findDvs(ctx, dvswitch)).obj.value : undefined
        const groups = await listEntities(await connected(ctx), ENTITY_TYPES.portgroup, {
          props: ['config'],
          signal: ctx.signal,
        })
        return groups
          .map(describePortgroup)
          .filter((g) => !only || g.dvswitch === only)
          .sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
    get: defineFunction({
      doc: 'Describe a port group.',
      args: { name: portgroup },
      vsphere: true,
      run: async (ctx, { name }) => describePortgroup(await findPortgroup(ctx, name)),
    }),
    create: defineFunction({
      doc: 'Create a port group on a distributed switch.',
      args: {
        name: z.string().min(1).describe('port group name'),
        dvswitch: z.string().min(1).describe('switch name or id'),
        ...settings,
      },
      vsphere: true,
      run: async (ctx, { name, dvswitch, vlan, ports, type, description }) => {
        const si = await connected(ctx)
        const dvs = await findDvs(ctx, dvswitch)
        await runTask(
          si,
          `creating port group '${name}' on '${dvs.name}'`,
          'AddDVPortgroup_Task',
          {
            _this: dvs.obj,
            spec: [
              portgroupSpec({
                name,
                ports: ports ?? 8,
                type: type ?? 'earlyBinding',
                description: description ?? '',
                vlan: vlan ?? 0,
              }),
            ],
          },
          { signal: ctx.signal },
        )
        return describePortgroup(await findPortgroup(ctx, name))
      },
    }),
    configure: defineFunction({
      doc: 'Change a port group’s VLAN, ports, binding or description (the rest is kept).',
      args: { name: portgroup, ...settings },
      vsphere: true,
      run: async (ctx, { name, ...changes }) => {
        const pg = await findPortgroup(ctx, name)
        const current = describePortgroup(pg)
        if (typeof current.vlan !== 'number' && changes.vlan === undefined) {
          throw new ModuleError(
            `port group '${pg.name}' is a VLAN trunk: give vlan= to configure it`,
            { code: 'BRINE_ARGUMENT' },
          )
        }
        const version = (pg.props.config as { configVersion?: string }).configVersion
        const merged = {
          name: current.name,
          ports: changes.ports ?? current.ports,
          type: changes.type ?? current.type,
          description: changes.description ?? current.description,
          vlan: changes.vlan ?? (current.vlan as number),
        }
        await runTask(
          await connected(ctx),
          `configuring port group '${pg.name}'`,
          'ReconfigureDVPortgroup_Task',
          { _this: pg.obj, spec: portgroupSpec(merged, version ?? '') },
          { signal: ctx.signal },
        )
        return describePortgroup(await findPortgroup(ctx, pg.obj.value))
      },
    }),
    delete: defineFunction({
      doc: 'Delete a port group.',
      args: { name: portgroup },
      vsphere: true,
      run: async (ctx, { name }) => {
        return deleteEntity(ctx, await findPortgroup(ctx, name), 'port group')
      },
    }),
  },
})
