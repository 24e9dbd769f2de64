import { type CallContext, defineFunction, defineModule, lazy, lookupValue, z } from 'brine/loader'
import {
  callVim,
  type Entity,
  type ManagedObjectReference,
  retrieveProperties,
} from 'brine/vsphere'
import {
  bool,
  camelToSnake,
  esxiHostName,
  num,
  onEachHost,
  perHost,
  type Selection,
  selectHosts,
  selection,
  typed,
} from './_esxi.ts'
import { functions as configFunctions } from './_esxi_config.ts'
import { functions as networkFunctions } from './_esxi_network.ts'
import { functions as servicesFunctions } from './_esxi_services.ts'
import { functions as storageFunctions } from './_esxi_storage.ts'
import { asList } from './_vmware.ts'
import type vmware_host from './vmware_host.ts'
import type vmware_role from './vmware_role.ts'

/**
 * saltext-vmware's `vmware_esxi` (src/saltext/vmware/modules/esxi.py) for the part of its
 * surface brine implements: inventory and facts, maintenance mode, advanced options, firewall,
 * roles, local users, connect/disconnect/remove here; services, date/time and firewall writes
 * in _esxi_services.ts, VMkernel adapters and vMotion in _esxi_network.ts, lockdown, vSAN and
 * disks in _esxi_storage.ts, configuration backup, packages and host placement in
 * _esxi_config.ts. Names, positional order and return shapes are saltext's; host selection
 * (_esxi.ts selectHosts) is saltext's utils/esxi.get_hosts.
 */

/** HostCapability as saltext's _get_capability_attribs: snake_case keys, lists as lists. */
function capabilities(capability: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (!capability || typeof capability !== 'object') return out
  for (const [key, value] of Object.entries(capability)) {
    if (key === '_type' || key.toLowerCase() === 'array') continue
    out[camelToSnake(key)] = typed(value)
  }
  return out
}

/** Everything `get` reports, read with the host in the same PropertyCollector call. */
const FACT_PROPS = [
  'summary.hardware',
  'summary.quickStats',
  'summary.config.name',
  'config.product',
  'config.network.vnic',
  'hardware.systemInfo',
  'hardware.biosInfo',
  'runtime.inMaintenanceMode',
  'runtime.connectionState',
  'runtime.powerState',
  'capability',
  'datastore',
  'configManager.vsanSystem',
  'parent',
]

type Props = Record<string, unknown>
interface Vnic {
  device: string
  spec?: { ip?: { ipAddress?: string; subnetMask?: string }; mac?: string; mtu?: unknown }
}
interface IdentifyingInfo {
  identifierValue?: string
  identifierType?: { key?: string }
}

/** Capacity and free space of every datastore of the hosts, in one PropertyCollector call. */
async function datastoreSizes(ctx: CallContext, hosts: Entity[]) {
  const refs = new Map<string, ManagedObjectReference>()
  for (const host of hosts)
    for (const ds of asList(host.props.datastore as ManagedObjectReference[] | undefined))
      refs.set(ds.value, ds)
  const sizes = new Map<string, { name: string; capacity?: number; free_space?: number }>()
  if (!refs.size) return sizes
  const objects = await retrieveProperties(
    ctx.serviceInstance,
    [
      {
        propSet: [
          { type: 'Datastore', pathSet: ['name', 'summary.capacity', 'summary.freeSpace'] },
        ],
        objectSet: [...refs.values()].map((obj) => ({ obj })),
      },
    ],
    { signal: ctx.signal },
  )
  for (const object of objects) {
    const props = Object.fromEntries(object.propSet.map((p) => [p.name, p.val]))
    sizes.set(object.obj.value, {
      name: String(props.name),
      capacity: num(props['summary.capacity']),
      free_space: num(props['summary.freeSpace']),
    })
  }
  return sizes
}

/**
 * saltext's QueryHostStatus per host: {cluster_uuid, node_uuid, health}. A host without a
 * vSAN system (none configured, or vcsim, which names one that does not exist) gives {}, as
 * saltext's `if vsan_manager:` does.
 */
async function vsanStatus(ctx: CallContext, host: Entity) {
  const system = host.props['configManager.vsanSystem'] as ManagedObjectReference | undefined
  if (!system) return {}
  try {
    const status = await callVim<{ uuid?: string; nodeUuid?: string; health?: string }>(
      ctx.serviceInstance,
      `reading the vSAN status of host '${host.name}'`,
      'QueryHostStatus',
      { _this: system },
      { signal: ctx.signal },
    )
    return { cluster_uuid: status?.uuid, node_uuid: status?.nodeUuid, health: status?.health }
  } catch (error) {
    if ((error as { code?: string }).code === 'BRINE_VIM_MANAGED_OBJECT_NOT_FOUND') return {}
    throw error
  }
}

/** saltext's facts of one host (esxi.get), plus brine's inventory fields. */
function facts(
  host: Entity,
  datastores: Map<string, { name: string; capacity?: number; free_space?: number }>,
  vsan: Record<string, unknown>,
) {
  const p: Props = host.props
  const hw = (p['summary.hardware'] ?? {}) as Props
  const stats = (p['summary.quickStats'] ?? {}) as Props
  const product = (p['config.product'] ?? {}) as Props
  const system = (p['hardware.systemInfo'] ?? {}) as Props
  const bios = (p['hardware.biosInfo'] ?? {}) as Props
  const nics: Record<string, unknown> = {}
  for (const nic of asList(p['config.network.vnic'] as Vnic[] | undefined))
    nics[nic.device] = {
      ip_address: nic.spec?.ip?.ipAddress,
      subnet_mask: nic.spec?.ip?.subnetMask,
      mac: nic.spec?.mac,
      mtu: num(nic.spec?.mtu),
    }
  const stores: Record<string, unknown> = {}
  for (const ref of asList(p.datastore as ManagedObjectReference[] | undefined)) {
    const ds = datastores.get(ref.value)
    if (ds) stores[ds.name] = { capacity: ds.capacity, free_space: ds.free_space }
  }
  const identifying: Record<string, unknown> = {}
  for (const info of asList(system.otherIdentifyingInfo as IdentifyingInfo[] | undefined))
    if (info.identifierType?.key)
      identifying[camelToSnake(info.identifierType.key)] = info.identifierValue
  const memorySize = num(hw.memorySize)
  const inMaintenance = p['runtime.inMaintenanceMode'] === true
  return {
    // brine's inventory fields (vmware_host.list's)
    name: host.name,
    id: host.obj.value,
    connection_state: p['runtime.connectionState'],
    power_state: p['runtime.powerState'],
    maintenance_mode: inMaintenance,
    cpu_cores: num(hw.numCpuCores),
    memory_mb: memorySize === undefined ? undefined : Math.round(memorySize / 1024 / 1024),
    product: product.fullName,
    parent: (p.parent as ManagedObjectReference | undefined)?.value,
    // saltext's, in its order
    vsan,
    datastores: stores,
    nics,
    cpu_model: hw.cpuModel,
    num_cpu_cores: num(hw.numCpuCores),
    num_cpu_pkgs: num(hw.numCpuPkgs),
    num_cpu_threads: num(hw.numCpuThreads),
    memory_size: memorySize,
    overall_memory_usage: num(stats.overallMemoryUsage),
    product_name: product.name,
    product_version: product.version,
    product_build: product.build,
    product_os_type: product.osType,
    host_name: p['summary.config.name'],
    system_vendor: system.vendor,
    system_model: system.model,
    bios_release_date: bios.releaseDate,
    bios_release_version: bios.biosVersion,
    uptime: num(stats.uptime),
    in_maintenance_mode: inMaintenance,
    system_uuid: system.uuid,
    ...identifying,
    capabilities: capabilities(p.capability),
  }
}

interface Ruleset {
  key: string
  label?: string
  service?: string
  enabled: unknown
  required: unknown
  rule?: Array<{
    port?: unknown
    endPort?: unknown
    direction?: string
    portType?: string
    protocol?: string
  }>
  allowedHosts?: {
    allIp?: unknown
    ipAddress?: string[]
    ipNetwork?: Array<{ network: string; prefixLength: unknown }>
  }
}

/** A ruleset in saltext's shape (get_all_firewall_configs), plus brine's label and required. */
function rulesetRow(r: Ruleset) {
  return {
    allowed_hosts: {
      ip_address: asList(r.allowedHosts?.ipAddress),
      all_ip: bool(r.allowedHosts?.allIp) ?? false,
      ip_network: asList(r.allowedHosts?.ipNetwork).map(
        (ip) => `${ip.network}/${num(ip.prefixLength)}`,
      ),
    },
    key: r.key,
    service: r.service ?? null,
    enabled: bool(r.enabled) ?? false,
    rule: asList(r.rule).map((rule) => ({
      port: num(rule.port),
      end_port: num(rule.endPort) ?? null,
      direction: rule.direction,
      port_type: rule.portType,
      protocol: rule.protocol,
    })),
    label: r.label ?? r.key,
    required: bool(r.required) ?? false,
  }
}

/** {host: [rulesets]} of the selected hosts (one PropertyCollector call); hosts without a firewall left out. */
async function firewallConfigs(ctx: CallContext, sel: Selection, only?: string) {
  const out: Record<string, ReturnType<typeof rulesetRow>[]> = {}
  for (const host of await selectHosts(ctx, sel, ['config.firewall'])) {
    const firewall = host.props['config.firewall'] as { ruleset?: Ruleset[] } | undefined
    if (!firewall) continue
    out[host.name] = asList(firewall.ruleset)
      .filter((r) => only === undefined || r.key === only)
      .map(rulesetRow)
  }
  return out
}

const userArgs = lazy(() => ({
  user_name: z.string().min(1).describe('local user'),
  password: z.string().min(1).describe('password (never logged or shown)'),
  description: z.string().optional().describe('description (full name)'),
  ...selection,
}))

const connectionState = async (ctx: CallContext, fun: string, host: string) => {
  const done = (await ctx.salt(fun, { name: host })) as { connection_state: string }
  return { state: done.connection_state }
}

export default defineModule({
  doc: 'saltext-vmware compatible ESXi functions (a subset; see vmware_host for brine’s own).',
  vsphere: true,
  functions: {
    list_hosts: defineFunction({
      doc: 'Names of the selected hosts.',
      args: () => selection,
      run: async (ctx, sel) => (await selectHosts(ctx, sel, [])).map((h) => h.name),
    }),
    get: defineFunction({
      doc: "Host facts {host: {cpu_model, num_cpu_*, memory_size, product_*, system_*, bios_*, nics, datastores, vsan, capabilities, …}}; `key` (a path, parts split by `delimiter`, ':') picks one value, `default` when it is missing.",
      args: () => ({
        ...selection,
        key: z.string().optional().describe('path into each host’s facts'),
        default: z.unknown().default('').describe('when the key is missing'),
        delimiter: z.string().min(1).default(':').describe('separates the parts of key'),
      }),
      run: async (ctx, { key, default: fallback, delimiter, ...sel }) => {
        const hosts = await selectHosts(ctx, sel, FACT_PROPS)
        const [sizes, vsan] = await Promise.all([
          datastoreSizes(ctx, hosts),
          Promise.all(hosts.map((h) => vsanStatus(ctx, h))),
        ])
        const out: Record<string, unknown> = {}
        hosts.forEach((host, i) => {
          const all = facts(host, sizes, vsan[i]!)
          out[host.name] = key ? (lookupValue(all, key, delimiter) ?? fallback) : all
        })
        return out
      },
    }),
    get_capabilities: defineFunction({
      doc: "Every host's capabilities {host: {snake_case: value}}.",
      args: () => ({}),
      run: async (ctx) => {
        const out: Record<string, unknown> = {}
        for (const host of await selectHosts(ctx, {}, ['capability']))
          out[host.name] = capabilities(host.props.capability)
        return out
      },
    }),
    in_maintenance_mode: defineFunction({
      doc: '{maintenanceMode: normal|inMaintenance}',
      args: () => ({ host: z.string().min(1).describe('host name') }),
      run: async (ctx, { host }) => {
        const found = await ctx.module<typeof vmware_host>('vmware_host').get({ name: host })
        return { maintenanceMode: found.maintenance_mode ? 'inMaintenance' : 'normal' }
      },
    }),
    maintenance_mode: defineFunction({
      doc:
        'Enter maintenance mode: {maintenanceMode, changes}. catch_task_error (default True, ' +
        'saltext’s) reports a failed task as the mode the host is left in; False raises it.',
      args: () => ({
        host: z.string().min(1).describe('host name'),
        timeout: z.coerce.number().int().min(0).default(0).describe('seconds'),
        evacuate_powered_off_vms: z.boolean().default(false).describe('vCenter with DRS'),
        maintenance_spec: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('HostMaintenanceSpec'),
        catch_task_error: z.boolean().default(true).describe('report, not raise, a failed task'),
      }),
      run: (ctx, { host, catch_task_error, ...rest }) =>
        setMode(ctx, host, true, catch_task_error, () =>
          ctx.salt('vmware_host.enter_maintenance_mode', { name: host, ...rest }),
        ),
    }),
    exit_maintenance_mode: defineFunction({
      doc: 'Exit maintenance mode: {maintenanceMode, changes}.',
      args: () => ({
        host: z.string().min(1).describe('host name'),
        timeout: z.coerce.number().int().min(0).default(0).describe('seconds'),
        catch_task_error: z.boolean().default(true).describe('report, not raise, a failed task'),
      }),
      run: (ctx, { host, timeout, catch_task_error }) =>
        setMode(ctx, host, false, catch_task_error, () =>
          ctx.salt('vmware_host.exit_maintenance_mode', { name: host, timeout }),
        ),
    }),
    get_advanced_config: defineFunction({
      doc: '{host: {option: value}} for one option (or all when config_name is absent).',
      args: () => ({ ...selection, config_name: z.string().optional().describe('option key') }),
      run: (ctx, { config_name, ...sel }) =>
        perHost(ctx, sel, (host) =>
          ctx.salt('vmware_host.get_advanced', { name: host, key: config_name ?? '' }),
        ),
    }),
    set_advanced_configs: defineFunction({
      doc: 'Set several advanced options: {host: {option: value}}.',
      args: () => ({
        config_dict: z
          .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
          .describe('{option: value}'),
        ...selection,
      }),
      run: (ctx, { config_dict, ...sel }) =>
        perHost(ctx, sel, async (host) => {
          for (const [key, value] of Object.entries(config_dict))
            await ctx.salt('vmware_host.set_advanced', { name: host, key, value })
          return config_dict
        }),
    }),
    set_advanced_config: defineFunction({
      doc: 'Set one advanced option on the selected hosts: {host: {option: value}}.',
      args: () => ({
        config_name: z.string().min(1).describe('option key'),
        config_value: z.union([z.string(), z.number(), z.boolean()]).describe('value'),
        ...selection,
      }),
      run: (ctx, { config_name, config_value, ...sel }) =>
        perHost(ctx, sel, async (host) => {
          await ctx.salt('vmware_host.set_advanced', {
            name: host,
            key: config_name,
            value: config_value,
          })
          return { [config_name]: config_value }
        }),
    }),
    get_all_firewall_configs: defineFunction({
      doc: '{host: [{allowed_hosts: {ip_address, all_ip, ip_network}, key, service, enabled, rule: [{port, end_port, direction, port_type, protocol}], label, required}]}',
      args: () => selection,
      run: (ctx, sel) => firewallConfigs(ctx, sel),
    }),
    get_firewall_config: defineFunction({
      doc: '{host: [the ruleset]}, in get_all_firewall_configs’s shape.',
      args: () => ({ ruleset_name: z.string().min(1).describe('ruleset key'), ...selection }),
      run: (ctx, { ruleset_name, ...sel }) => firewallConfigs(ctx, sel, ruleset_name),
    }),
    get_role: defineFunction({
      doc: '{role_id, role_name, privilege_ids}, or {} when there is no such role.',
      args: () => ({
        role_name: z.string().min(1).describe('role name'),
        esxi_host_name: esxiHostName,
      }),
      run: async (ctx, { role_name }) => {
        const roles = await ctx.module<typeof vmware_role>('vmware_role').list()
        const role = roles.find((r) => r.name === role_name)
        return role
          ? { role_id: role.id, role_name: role.name, privilege_ids: role.privileges }
          : {}
      },
    }),
    add_role: defineFunction({
      doc: '{role_id}',
      args: () => ({
        role_name: z.string().min(1).describe('role name'),
        privilege_ids: z.array(z.string().min(1)).describe('privileges, e.g. Folder.Create'),
        esxi_host_name: esxiHostName,
      }),
      run: async (ctx, { role_name, privilege_ids }) => {
        const role = await ctx.module<typeof vmware_role>('vmware_role').create({
          name: role_name,
          privileges: privilege_ids,
        })
        return { role_id: role.id }
      },
    }),
    update_role: defineFunction({
      doc: 'True; a role that does not exist is an error.',
      args: () => ({
        role_name: z.string().min(1).describe('role name'),
        privilege_ids: z.array(z.string().min(1)).describe('the role’s privileges'),
        esxi_host_name: esxiHostName,
      }),
      run: async (ctx, { role_name, privilege_ids }) => {
        await ctx.salt('vmware_role.update', { name: role_name, privileges: privilege_ids })
        return true
      },
    }),
    remove_role: defineFunction({
      doc: 'True. force=True removes a role that is in use (saltext passes it inverted).',
      args: () => ({
        role_name: z.string().min(1).describe('role name'),
        force: z.boolean().default(false).describe('remove it even when it is in use'),
        esxi_host_name: esxiHostName,
      }),
      run: async (ctx, { role_name, force }) => {
        await ctx.salt('vmware_role.delete', { name: role_name, force })
        return true
      },
    }),
    get_user: defineFunction({
      doc: '{host: {user: {description, group, user_id, shell_access}}} ({host: {}} when missing).',
      args: () => ({ user_name: z.string().min(1).describe('local user'), ...selection }),
      run: (ctx, { user_name, ...sel }) =>
        onEachHost(ctx, sel, async (target) => {
          const users = await ctx.module<typeof vmware_host>('vmware_host').list_users(target)
          const user = users.find((u) => u.name === user_name)
          return user
            ? {
                [user.name]: {
                  description: user.description,
                  group: false,
                  user_id: user.name,
                  shell_access: user.shell_access ?? null,
                },
              }
            : {}
        }),
    }),
    add_user: defineFunction({
      doc: '{host: True}',
      args: userArgs,
      run: (ctx, { user_name, password, description, ...sel }) =>
        onEachHost(ctx, sel, async (target) => {
          await ctx.salt('vmware_host.add_user', {
            user: user_name,
            password,
            description,
            ...target,
          })
          return true
        }),
    }),
    update_user: defineFunction({
      doc: '{host: True}',
      args: userArgs,
      run: (ctx, { user_name, password, description, ...sel }) =>
        onEachHost(ctx, sel, async (target) => {
          await ctx.salt('vmware_host.update_user', {
            user: user_name,
            password,
            description,
            ...target,
          })
          return true
        }),
    }),
    remove_user: defineFunction({
      doc: '{host: True}',
      args: () => ({ user_name: z.string().min(1).describe('local user'), ...selection }),
      run: (ctx, { user_name, ...sel }) =>
        onEachHost(ctx, sel, async (target) => {
          await ctx.salt('vmware_host.remove_user', { user: user_name, ...target })
          return true
        }),
    }),
    connect: defineFunction({
      doc: '{state: connectionState}',
      args: () => ({ host: z.string().min(1).describe('host name or id') }),
      run: (ctx, { host }) => connectionState(ctx, 'vmware_host.reconnect', host),
    }),
    disconnect: defineFunction({
      doc: '{state: connectionState}',
      args: () => ({ host: z.string().min(1).describe('host name or id') }),
      run: (ctx, { host }) => connectionState(ctx, 'vmware_host.disconnect', host),
    }),
    remove: defineFunction({
      doc: '{state: "removed host <host>"}; a clustered host is put in maintenance mode first.',
      args: () => ({ host: z.string().min(1).describe('host name or id') }),
      run: async (ctx, { host }) => {
        const done = await ctx
          .module<typeof vmware_host>('vmware_host')
          .remove({ name: host, maintenance: true })
        return { state: `removed host ${done.name}` }
      },
    }),
    ...servicesFunctions,
    ...networkFunctions,
    ...storageFunctions,
    ...configFunctions,
  },
})

/** Enter or exit maintenance mode the saltext way: {maintenanceMode, changes}. */
async function setMode(
  ctx: CallContext,
  host: string,
  enter: boolean,
  catchTaskError: boolean,
  run: () => Promise<unknown>,
) {
  let changed = false
  try {
    changed = ((await run()) as { changed: boolean }).changed
  } catch (error) {
    if (!catchTaskError || (error as { code?: string }).code !== 'BRINE_VIM_TASK_FAILED')
      throw error
  }
  const now = await ctx.module<typeof vmware_host>('vmware_host').get({ name: host })
  return {
    maintenanceMode: now.maintenance_mode ? 'inMaintenance' : 'normal',
    changes: changed && now.maintenance_mode === enter,
  }
}
