import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  findEntityByName,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  propertiesOf,
  retrieveProperties,
  runTask,
} from 'brine/vsphere'
import { asList, deleteEntity } from './_vmware.ts'
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
  return getEntity(ctx.serviceInstance, ENTITY_TYPES.portgroup, name, {
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

interface HostMember {
  config?: {
    host?: ManagedObjectReference
    backing?: { pnicSpec?: Array<{ pnicDevice?: string }> | { pnicDevice?: string } }
  }
}
const settings = {
  vlan: z.coerce.number().int().min(0).max(4094).optional().describe('VLAN id (0: none)'),
  ports: z.coerce.number().int().min(0).optional().describe('number of ports'),
  type: z.enum(['earlyBinding', 'ephemeral']).optional().describe('port binding'),
  description: z.string().optional().describe('description'),
}

export default defineModule({
  doc: 'Distributed port groups.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List distributed port groups (of one switch when given): name, id, switch, VLAN, ports.',
      args: () => ({ dvswitch: z.string().optional().describe('switch name or id') }),
      run: async (ctx, { dvswitch }) => {
        const only = dvswitch ? (await findDvs(ctx, dvswitch)).obj.value : undefined
        const groups = await listEntities(ctx.serviceInstance, ENTITY_TYPES.portgroup, {
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
      doc:
        'Describe a port group: {name, vlan, pnic (the uplinks of host_name on its switch), id, ' +
        'dvswitch, ports, type, description}. saltext’s get(switch_name, portgroup_key): {} when ' +
        'the switch has no such port group; brine’s get(name=): by name or id, an error when absent.',
      args: () => ({
        switch_name: z.string().min(1).optional().describe('distributed switch'),
        portgroup_key: z.string().min(1).optional().describe('port group key (or name)'),
        host_name: z.string().min(1).optional().describe('host whose uplinks to list as pnic'),
        name: portgroup
          .optional()
          .describe('port group name or id (brine; alias of portgroup_key)'),
      }),
      run: async (ctx, { switch_name, portgroup_key, host_name, name }) => {
        if (portgroup_key && name && portgroup_key !== name)
          throw new ModuleError(
            `${ctx.fun}: 'portgroup_key' (${portgroup_key}) and its alias 'name' (${name}) disagree; give one of them`,
            { code: 'BRINE_ARGUMENT' },
          )
        const key = portgroup_key ?? name
        if (!key)
          throw new ModuleError(`${ctx.fun}: argument 'portgroup_key' is required (or 'name')`, {
            code: 'BRINE_ARGUMENT',
          })
        const si = ctx.serviceInstance
        let pg: Entity | undefined
        let dvs: Entity | undefined
        if (switch_name) {
          dvs = await findEntityByName(si, ENTITY_TYPES.dvswitch, switch_name, {
            props: ['portgroup', 'config.host'],
            signal: ctx.signal,
          })
          const refs = asList(dvs?.props.portgroup as ManagedObjectReference[] | undefined)
          const groups = refs.length
            ? await retrieveProperties(
                si,
                [
                  {
                    // Names and keys only: a switch may have hundreds of port groups; the
                    // matched one's config is read on its own.
                    propSet: [{ type: ENTITY_TYPES.portgroup, pathSet: ['name', 'key'] }],
                    objectSet: refs.map((obj) => ({ obj })),
                  },
                ],
                { signal: ctx.signal },
              )
            : []
          const found = groups
            .map((o) => ({ obj: o.obj, props: propertiesOf(o) }))
            .find((o) => o.props.key === key || o.obj.value === key || o.props.name === key)
          if (!found) return {}
          pg = await findPortgroup(ctx, found.obj.value)
        } else {
          pg = await findPortgroup(ctx, key)
        }
        const pnic: string[] = []
        if (host_name) {
          if (!dvs) {
            const owner = (pg.props.config as PortgroupConfig).distributedVirtualSwitch
            if (owner) dvs = await findDvs(ctx, owner.value, ['config.host'])
          }
          const host = await getEntity(si, ENTITY_TYPES.host, host_name, { signal: ctx.signal })
          for (const member of asList(dvs?.props['config.host'] as HostMember[] | undefined))
            if (member.config?.host?.value === host.obj.value)
              for (const spec of asList(member.config.backing?.pnicSpec))
                if (spec.pnicDevice) pnic.push(spec.pnicDevice)
        }
        // saltext's keys (name, vlan, pnic) first, then brine's.
        const { name: pgName, vlan, ...rest } = describePortgroup(pg)
        return { name: pgName, vlan, pnic, ...rest }
      },
    }),
    create: defineFunction({
      doc: 'Create a port group on a distributed switch.',
      args: () => ({
        name: z.string().min(1).describe('port group name'),
        dvswitch: z.string().min(1).describe('switch name or id'),
        ...settings,
      }),
      run: async (ctx, { name, dvswitch, vlan, ports, type, description }) => {
        const si = ctx.serviceInstance
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
      args: () => ({ name: portgroup, ...settings }),
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
          ctx.serviceInstance,
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
      args: () => ({ name: portgroup }),
      run: async (ctx, { name }) => {
        return deleteEntity(ctx, await findPortgroup(ctx, name), 'port group')
      },
    }),
  },
})
