import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  findEntityByName,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import { hostFunctions } from './_dvswitch_hosts.ts'
import { asList, deleteEntity, findDatacenter, names } from './_vmware.ts'

export async function findDvs(
  ctx: CallContext,
  name: string,
  props: string[] = [],
): Promise<Entity> {
  return getEntity(ctx.serviceInstance, ENTITY_TYPES.dvswitch, name, { props, signal: ctx.signal })
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
    ctx.serviceInstance,
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
  const target = await getEntity(ctx.serviceInstance, ENTITY_TYPES.host, host, {
    signal: ctx.signal,
  })
  const what =
    operation === 'add'
      ? `adding host '${target.name}' to distributed switch '${dvs.name}'`
      : `removing host '${target.name}' from distributed switch '${dvs.name}'`
  await reconfigure(ctx, dvs, what, { host: [{ operation, host: target.obj }] })
  return describeDvs(await findDvs(ctx, dvs.obj.value, DVS_PROPS))
}

async function listSwitches(ctx: CallContext, datacenter: string | undefined, props: string[]) {
  const within = datacenter ? (await findDatacenter(ctx, datacenter)).obj : undefined
  return listEntities(ctx.serviceInstance, ENTITY_TYPES.dvswitch, {
    within,
    props,
    signal: ctx.signal,
  })
}

const optionalBool = z.boolean().optional()
/** saltext-vmware's dvswitch.configure, in its order, then brine's aliases. */
const configureArgs = {
  datacenter_name: z.string().min(1).optional().describe('datacenter (required to create)'),
  switch_name: z.string().min(1).optional().describe('switch name (alias: name)'),
  uplink_count: z.coerce.number().int().min(1).max(32).optional().describe('uplinks per host'),
  uplink_prefix: z.string().default('Uplink ').describe('uplink names: prefix + 1, 2, …'),
  switch_version: z.string().optional().describe('product version, e.g. 7.0.0 (on creation)'),
  switch_description: z.string().optional().describe('description (alias: description)'),
  mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('MTU (alias: max_mtu)'),
  discovery_protocol: z
    .enum(['cdp', 'lldp', 'disabled'])
    .optional()
    .describe('cdp, lldp, disabled'),
  discovery_operation: z
    .enum(['listen', 'advertise', 'both', 'none'])
    .optional()
    .describe('listen, advertise, both, none'),
  multicast_filtering_mode: z
    .enum(['basic', 'legacyFiltering', 'snooping'])
    .optional()
    .describe('basic (legacyFiltering) or snooping'),
  contact_name: z.string().optional().describe('contact name'),
  contact_description: z.string().optional().describe('contact details'),
  network_forged_transmits: optionalBool.describe('allow forged transmits'),
  network_mac_changes: optionalBool.describe('allow MAC changes'),
  network_promiscuous: optionalBool.describe('allow promiscuous mode'),
  health_check_teaming_failover: optionalBool.describe('not implemented'),
  health_teaming_failover_interval: z.coerce.number().optional().describe('not implemented'),
  health_vlan_mtu: optionalBool.describe('not implemented'),
  health_vlan_mtu_interval: z.coerce.number().optional().describe('not implemented'),
  name: z.string().min(1).optional().describe('alias of switch_name (also an id)'),
  description: z.string().optional().describe('alias of switch_description'),
  max_mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('alias of mtu'),
}
type ConfigureArgs = z.infer<z.ZodObject<typeof configureArgs>>

/** One value under saltext's name or brine's alias; both given must agree. */
function pick<T>(fun: string, name: string, value: T, alias: string, aliasValue: T): T {
  if (value !== undefined && aliasValue !== undefined && value !== aliasValue)
    throw new ModuleError(
      `${fun}: '${name}' (${JSON.stringify(value)}) and its alias '${alias}' (${JSON.stringify(aliasValue)}) disagree; give one of them`,
      { code: 'BRINE_ARGUMENT' },
    )
  return value ?? aliasValue
}

interface DvsConfig {
  configVersion?: string
  description?: string
  maxMtu?: number | string
  contact?: { name?: string; contact?: string }
  linkDiscoveryProtocolConfig?: { protocol?: string; operation?: string }
  multicastFilteringMode?: string
  uplinkPortPolicy?: { uplinkPortName?: string[] | string }
  defaultPortConfig?: {
    securityPolicy?: {
      allowPromiscuous?: { value?: unknown }
      macChanges?: { value?: unknown }
      forgedTransmits?: { value?: unknown }
    }
  }
}

const boolOf = (policy: { value?: unknown } | undefined) =>
  policy?.value === undefined ? undefined : policy.value === true || policy.value === 'true'

/**
 * saltext's configure: a VMwareDVSConfigSpec of what is given (fields in WSDL order), sent
 * with CreateDVS_Task when the switch is absent, else with ReconfigureDvs_Task (the current
 * configVersion) when something differs.
 */
async function configureDvs(ctx: CallContext, a: ConfigureArgs) {
  const fun = ctx.fun
  const switchName = pick(fun, 'switch_name', a.switch_name, 'name', a.name)
  if (!switchName)
    throw new ModuleError(`${fun}: argument 'switch_name' is required (or its alias 'name')`, {
      code: 'BRINE_ARGUMENT',
    })
  const description = pick(
    fun,
    'switch_description',
    a.switch_description,
    'description',
    a.description,
  )
  const mtu = pick(fun, 'mtu', a.mtu, 'max_mtu', a.max_mtu)
  const health = [
    'health_check_teaming_failover',
    'health_teaming_failover_interval',
    'health_vlan_mtu',
    'health_vlan_mtu_interval',
  ] as const
  const asked = health.filter((key) => a[key] !== undefined)
  if (asked.length)
    throw new ModuleError(
      `${fun}: ${asked.join(', ')}: health checks are not implemented in brine; nothing was changed`,
      { code: 'BRINE_UNSUPPORTED' },
    )
  const si = ctx.serviceInstance
  const dc = a.datacenter_name
    ? await findDatacenter(ctx, a.datacenter_name, ['networkFolder'])
    : undefined
  const existing = dc
    ? await findEntityByName(si, ENTITY_TYPES.dvswitch, switchName, {
        within: dc.obj,
        props: ['config', 'summary.productInfo.version'],
        signal: ctx.signal,
      })
    : await findDvs(ctx, switchName, ['config', 'summary.productInfo.version'])
  const current = (existing?.props.config ?? {}) as DvsConfig
  const version = existing?.props['summary.productInfo.version']
  if (existing && a.switch_version && a.switch_version !== version)
    throw new ModuleError(
      `${fun}: switch '${existing.name}' is version ${String(version)}; upgrading it to ${a.switch_version} is not implemented in brine (vSphere's PerformDvsProductSpecOperation_Task); nothing was changed`,
      { code: 'BRINE_UNSUPPORTED' },
    )

  const changed: Record<string, unknown> = {}
  const want = (key: string, value: unknown, now: unknown) => {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(now)) changed[key] = value
  }
  if (a.uplink_count)
    want(
      'uplinkPortPolicy',
      {
        _type: 'DVSNameArrayUplinkPortPolicy',
        uplinkPortName: Array.from(
          { length: a.uplink_count },
          (_, i) => `${a.uplink_prefix}${i + 1}`,
        ),
      },
      existing && {
        _type: 'DVSNameArrayUplinkPortPolicy',
        uplinkPortName: asList(current.uplinkPortPolicy?.uplinkPortName),
      },
    )
  const security = current.defaultPortConfig?.securityPolicy
  const wantedSecurity = {
    allowPromiscuous: a.network_promiscuous,
    macChanges: a.network_mac_changes,
    forgedTransmits: a.network_forged_transmits,
  }
  if (Object.values(wantedSecurity).some((v) => v !== undefined)) {
    const now = {
      allowPromiscuous: boolOf(security?.allowPromiscuous),
      macChanges: boolOf(security?.macChanges),
      forgedTransmits: boolOf(security?.forgedTransmits),
    }
    const merged = {
      allowPromiscuous: wantedSecurity.allowPromiscuous ?? now.allowPromiscuous,
      macChanges: wantedSecurity.macChanges ?? now.macChanges,
      forgedTransmits: wantedSecurity.forgedTransmits ?? now.forgedTransmits,
    }
    if (!existing || JSON.stringify(merged) !== JSON.stringify(now)) {
      const policy = (value: boolean | undefined) =>
        value === undefined ? undefined : { _type: 'BoolPolicy', inherited: false, value }
      changed.defaultPortConfig = {
        _type: 'VMwareDVSPortSetting',
        securityPolicy: {
          _type: 'DVSSecurityPolicy',
          inherited: false,
          allowPromiscuous: policy(merged.allowPromiscuous),
          macChanges: policy(merged.macChanges),
          forgedTransmits: policy(merged.forgedTransmits),
        },
      }
    }
  }
  want('description', description, current.description ?? '')
  if (a.contact_name !== undefined || a.contact_description !== undefined) {
    const contact = {
      name: a.contact_name ?? current.contact?.name,
      contact: a.contact_description ?? current.contact?.contact,
    }
    want(
      'contact',
      contact,
      existing && { name: current.contact?.name, contact: current.contact?.contact },
    )
  }
  want('maxMtu', mtu, existing && (Number(current.maxMtu) || undefined))
  if (a.discovery_protocol !== undefined || a.discovery_operation !== undefined) {
    const ldp =
      a.discovery_protocol === 'disabled'
        ? { protocol: 'cdp', operation: 'none' }
        : {
            protocol: a.discovery_protocol ?? current.linkDiscoveryProtocolConfig?.protocol,
            operation: a.discovery_operation ?? current.linkDiscoveryProtocolConfig?.operation,
          }
    want(
      'linkDiscoveryProtocolConfig',
      ldp,
      existing && {
        protocol: current.linkDiscoveryProtocolConfig?.protocol,
        operation: current.linkDiscoveryProtocolConfig?.operation,
      },
    )
  }
  if (a.multicast_filtering_mode)
    want(
      'multicastFilteringMode',
      a.multicast_filtering_mode === 'basic' ? 'legacyFiltering' : a.multicast_filtering_mode,
      current.multicastFilteringMode,
    )

  // VMwareDVSConfigSpec's WSDL order: DVSConfigSpec's fields, then VMware's.
  const ordered = (base: Record<string, unknown>) => ({
    _type: 'VMwareDVSConfigSpec',
    ...base,
    uplinkPortPolicy: changed.uplinkPortPolicy,
    defaultPortConfig: changed.defaultPortConfig,
    description: changed.description,
    contact: changed.contact && { _type: 'DVSContactInfo', ...(changed.contact as object) },
    maxMtu: changed.maxMtu,
    linkDiscoveryProtocolConfig: changed.linkDiscoveryProtocolConfig && {
      _type: 'LinkDiscoveryProtocolConfig',
      ...(changed.linkDiscoveryProtocolConfig as object),
    },
    multicastFilteringMode: changed.multicastFilteringMode,
  })
  if (!existing) {
    if (!dc)
      throw new ModuleError(
        `${fun}: distributed switch '${switchName}' does not exist; give datacenter_name to create it`,
        { code: 'BRINE_NOT_FOUND' },
      )
    await runTask(
      si,
      `creating distributed switch '${switchName}' in datacenter '${dc.name}'`,
      'CreateDVS_Task',
      {
        _this: dc.props.networkFolder,
        spec: {
          configSpec: ordered({ name: switchName }),
          productInfo: a.switch_version ? { version: a.switch_version } : undefined,
        },
      },
      { signal: ctx.signal },
    )
    return true
  }
  if (Object.keys(changed).length)
    await runTask(
      si,
      `reconfiguring distributed switch '${existing.name}'`,
      'ReconfigureDvs_Task',
      {
        _this: existing.obj,
        spec: ordered({ configVersion: current.configVersion ?? '' }),
      },
      { signal: ctx.signal },
    )
  return true
}

export default defineModule({
  doc: 'Distributed virtual switches (VMware DVS).',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'Names of the distributed switches (saltext), of a datacenter when given (brine).',
      args: () => ({ datacenter: names.datacenter.optional() }),
      run: async (ctx, { datacenter }) =>
        (await listSwitches(ctx, datacenter, [])).map((s) => s.name).sort(),
    }),
    list_switches: defineFunction({
      doc: 'Distributed switches (of a datacenter when given): name, id, uuid, MTU, description, port groups, hosts.',
      args: () => ({ datacenter: names.datacenter.optional() }),
      run: async (ctx, { datacenter }) =>
        (await listSwitches(ctx, datacenter, DVS_PROPS))
          .map(describeDvs)
          .sort((a, b) => a.name.localeCompare(b.name)),
    }),
    get: defineFunction({
      doc: 'Describe a distributed switch: uuid, MTU, description, port groups, member hosts.',
      args: () => ({ name: dvswitch }),
      run: async (ctx, { name }) => describeDvs(await findDvs(ctx, name, DVS_PROPS)),
    }),
    create: defineFunction({
      doc: 'Create a distributed switch in a datacenter’s network folder.',
      args: () => ({
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
      }),
      run: async (ctx, { name, datacenter, description, max_mtu, uplinks }) => {
        const si = ctx.serviceInstance
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
      doc:
        'Create the distributed switch in datacenter_name, or change what is given on the one ' +
        'that exists: True (saltext-vmware’s configure). brine: name=, description=, max_mtu= ' +
        'are aliases; nothing is sent when nothing differs. Health checks are not implemented.',
      args: () => configureArgs,
      run: (ctx, args) => configureDvs(ctx, args),
    }),
    add_host: defineFunction({
      doc: 'Add a host to the switch.',
      args: () => ({ name: dvswitch, host: z.string().min(1).describe('host name or id') }),
      run: (ctx, { name, host }) => changeMember(ctx, name, host, 'add'),
    }),
    remove_host: defineFunction({
      doc: 'Remove a host from the switch (refused while its VMs use the switch’s port groups).',
      args: () => ({ name: dvswitch, host: z.string().min(1).describe('host name or id') }),
      run: (ctx, { name, host }) => changeMember(ctx, name, host, 'remove'),
    }),
    delete: defineFunction({
      doc: 'Delete a distributed switch (and its port groups).',
      args: () => ({ name: dvswitch }),
      run: async (ctx, { name }) => {
        return deleteEntity(ctx, await findDvs(ctx, name), 'distributed switch')
      },
    }),
    ...hostFunctions,
  },
})
