import {
  type CallContext,
  defineFunction,
  defineModule,
  lookupValue,
  ModuleError,
  z,
} from 'brine/loader'

/**
 * saltext-vmware's `vmware_esxi` names and return shapes, for the part of its surface that
 * brine implements (on top of vmware_host): inventory, maintenance mode, advanced options,
 * firewall. Hosts are selected as saltext does: `host_name`, else every host of
 * `cluster_name` (which needs `datacenter_name`), else of `datacenter_name`, else all.
 * Roles go to vmware_role; local users to vmware_host (on a direct ESXi connection, as saltext
 * connects to each host). Services, NTP/DNS, lockdown, VMkernel adapters and vSAN are not
 * implemented (vcsim 0.24.2 simulates none of them).
 */
const selection = {
  datacenter_name: z.string().optional().describe('datacenter'),
  cluster_name: z.string().optional().describe('cluster (needs datacenter_name)'),
  host_name: z.string().optional().describe('one host'),
}
type Selection = {
  datacenter_name?: string | undefined
  cluster_name?: string | undefined
  host_name?: string | undefined
}

interface HostRow {
  name: string
  maintenance_mode: boolean
  [key: string]: unknown
}

async function hosts(ctx: CallContext, sel: Selection): Promise<HostRow[]> {
  if (sel.cluster_name && !sel.datacenter_name) {
    throw new ModuleError('Must specify the datacenter when specifying the cluster', {
      code: 'BRINE_ARGUMENT',
    })
  }
  if (sel.host_name)
    return [(await ctx.salt('vmware_host.get', { name: sel.host_name })) as HostRow]
  return (await ctx.salt('vmware_host.list', {
    datacenter: sel.datacenter_name,
    cluster: sel.cluster_name,
  })) as HostRow[]
}

/** A host's rulesets in saltext's shape. */
async function firewallRows(ctx: CallContext, host: string) {
  const rulesets = (await ctx.salt('vmware_host.firewall_rulesets', { name: host })) as Array<{
    key: string
    label: string
    enabled: boolean
    required: boolean
  }>
  return rulesets.map((r) => ({
    key: r.key,
    service: r.label,
    enabled: r.enabled,
    required: r.required,
  }))
}

async function perHost<T>(
  ctx: CallContext,
  sel: Selection,
  fn: (host: string) => Promise<T>,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {}
  for (const host of await hosts(ctx, sel)) out[host.name] = await fn(host.name)
  return out
}

const userArgs = {
  user_name: z.string().min(1),
  password: z.string().min(1),
  description: z.string().optional(),
}

/** Run a vmware_host local-user function; saltext's `{host: True}`. */
async function onHost(ctx: CallContext, fun: string, kwargs: Record<string, unknown>) {
  const done = (await ctx.salt(fun, kwargs)) as { host: string }
  return { [done.host]: true }
}

export default defineModule({
  doc: 'saltext-vmware compatible ESXi functions (a subset; see vmware_host for brine’s own).',
  functions: {
    list_hosts: defineFunction({
      doc: 'Names of the selected hosts.',
      args: selection,
      vsphere: true,
      run: async (ctx, sel) => (await hosts(ctx, sel)).map((h) => h.name),
    }),
    get: defineFunction({
      doc: 'Host facts {host: {…}}; `key` (a:b path) picks one value.',
      args: {
        ...selection,
        key: z.string().optional().describe('path into each host’s facts'),
        default: z.unknown().default('').describe('when the key is missing'),
      },
      vsphere: true,
      run: async (ctx, { key, default: fallback, ...sel }) => {
        const out: Record<string, unknown> = {}
        for (const host of await hosts(ctx, sel)) {
          const facts = { ...host, in_maintenance_mode: host.maintenance_mode }
          out[host.name] = key ? (lookupValue(facts, key) ?? fallback) : facts
        }
        return out
      },
    }),
    in_maintenance_mode: defineFunction({
      doc: '{maintenanceMode: normal|inMaintenance}',
      args: { host: z.string().min(1).describe('host name') },
      vsphere: true,
      run: async (ctx, { host }) => {
        const found = (await ctx.salt('vmware_host.get', { name: host })) as HostRow
        return { maintenanceMode: found.maintenance_mode ? 'inMaintenance' : 'normal' }
      },
    }),
    maintenance_mode: defineFunction({
      doc: 'Enter maintenance mode: {maintenanceMode, changes}.',
      args: {
        host: z.string().min(1).describe('host name'),
        timeout: z.coerce.number().int().min(0).default(0).describe('seconds'),
      },
      vsphere: true,
      run: async (ctx, { host, timeout }) => {
        const r = (await ctx.salt('vmware_host.enter_maintenance_mode', {
          name: host,
          timeout,
        })) as { changed: boolean }
        return { maintenanceMode: 'inMaintenance', changes: r.changed }
      },
    }),
    exit_maintenance_mode: defineFunction({
      doc: 'Exit maintenance mode: {maintenanceMode, changes}.',
      args: {
        host: z.string().min(1).describe('host name'),
        timeout: z.coerce.number().int().min(0).default(0).describe('seconds'),
      },
      vsphere: true,
      run: async (ctx, { host, timeout }) => {
        const r = (await ctx.salt('vmware_host.exit_maintenance_mode', {
          name: host,
          timeout,
        })) as { changed: boolean }
        return { maintenanceMode: 'normal', changes: r.changed }
      },
    }),
    get_advanced_config: defineFunction({
      doc: '{host: {option: value}} for one option (or all when config_name is absent).',
      args: { ...selection, config_name: z.string().optional().describe('option key') },
      vsphere: true,
      run: (ctx, { config_name, ...sel }) =>
        perHost(ctx, sel, (host) =>
          ctx.salt('vmware_host.get_advanced', { name: host, key: config_name ?? '' }),
        ),
    }),
    set_advanced_config: defineFunction({
      doc: 'Set one advanced option on the selected hosts: {host: {option: value}}.',
      args: {
        ...selection,
        config_name: z.string().min(1).describe('option key'),
        config_value: z.union([z.string(), z.number(), z.boolean()]).describe('value'),
      },
      vsphere: true,
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
    set_advanced_configs: defineFunction({
      doc: 'Set several advanced options: {host: {option: value}}.',
      args: {
        ...selection,
        config_dict: z
          .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
          .describe('{option: value}'),
      },
      vsphere: true,
      run: (ctx, { config_dict, ...sel }) =>
        perHost(ctx, sel, async (host) => {
          for (const [key, value] of Object.entries(config_dict))
            await ctx.salt('vmware_host.set_advanced', { name: host, key, value })
          return config_dict
        }),
    }),
    get_all_firewall_configs: defineFunction({
      doc: '{host: [{key, service, enabled, required}]}',
      args: selection,
      vsphere: true,
      run: (ctx, sel) => perHost(ctx, sel, (host) => firewallRows(ctx, host)),
    }),
    get_firewall_config: defineFunction({
      doc: '{host: [one ruleset]}',
      args: { ...selection, ruleset_name: z.string().min(1).describe('ruleset key') },
      vsphere: true,
      run: (ctx, { ruleset_name, ...sel }) =>
        perHost(ctx, sel, async (host) =>
          (await firewallRows(ctx, host)).filter((r) => r.key === ruleset_name),
        ),
    }),
    get_role: defineFunction({
      doc: 'saltext shape: {role_id, role_name, privilege_ids}, or {} when there is no such role.',
      args: { role_name: z.string().min(1).describe('role name') },
      vsphere: true,
      run: async (ctx, { role_name }) => {
        const roles = (await ctx.salt('vmware_role.list')) as Array<{
          id: number
          name: string
          privileges: string[]
        }>
        const role = roles.find((r) => r.name === role_name)
        return role
          ? { role_id: role.id, role_name: role.name, privilege_ids: role.privileges }
          : {}
      },
    }),
    add_role: defineFunction({
      doc: 'saltext shape: {role_id}.',
      args: { role_name: z.string().min(1), privilege_ids: z.array(z.string().min(1)) },
      vsphere: true,
      run: async (ctx, { role_name, privilege_ids }) => {
        const role = (await ctx.salt('vmware_role.create', {
          name: role_name,
          privileges: privilege_ids,
        })) as { id: number }
        return { role_id: role.id }
      },
    }),
    update_role: defineFunction({
      doc: 'saltext shape: True.',
      args: { role_name: z.string().min(1), privilege_ids: z.array(z.string().min(1)) },
      vsphere: true,
      run: async (ctx, { role_name, privilege_ids }) => {
        await ctx.salt('vmware_role.update', { name: role_name, privileges: privilege_ids })
        return true
      },
    }),
    remove_role: defineFunction({
      doc: 'saltext shape: True.',
      args: { role_name: z.string().min(1), force: z.boolean().default(false) },
      vsphere: true,
      run: async (ctx, { role_name, force }) => {
        await ctx.salt('vmware_role.delete', { name: role_name, force })
        return true
      },
    }),
    get_user: defineFunction({
      doc:
        'saltext shape: {host: {user: {description, group, user_id}}} ({host: {}} when missing); ' +
        'local users are read on the ESXi host this profile connects to.',
      args: { user_name: z.string().min(1) },
      vsphere: true,
      run: async (ctx, { user_name }) => {
        const users = (await ctx.salt('vmware_host.list_users')) as Array<{
          name: string
          description: string
        }>
        const host = ((await ctx.salt('vmware_host.list')) as HostRow[])[0]?.name ?? 'localhost'
        const user = users.find((u) => u.name === user_name)
        return {
          [host]: user
            ? { [user.name]: { description: user.description, group: false, user_id: user.name } }
            : {},
        }
      },
    }),
    add_user: defineFunction({
      doc: 'saltext shape: {host: True}.',
      args: userArgs,
      vsphere: true,
      run: (ctx, { user_name, ...rest }) =>
        onHost(ctx, 'vmware_host.add_user', { user: user_name, ...rest }),
    }),
    update_user: defineFunction({
      doc: 'saltext shape: {host: True}.',
      args: userArgs,
      vsphere: true,
      run: (ctx, { user_name, ...rest }) =>
        onHost(ctx, 'vmware_host.update_user', { user: user_name, ...rest }),
    }),
    remove_user: defineFunction({
      doc: 'saltext shape: {host: True}.',
      args: { user_name: z.string().min(1) },
      vsphere: true,
      run: (ctx, { user_name }) => onHost(ctx, 'vmware_host.remove_user', { user: user_name }),
    }),
    connect: defineFunction({
      doc: 'saltext shape: {state: connectionState}.',
      args: { host: z.string().min(1).describe('host name or id') },
      vsphere: true,
      run: async (ctx, { host }) => {
        const done = (await ctx.salt('vmware_host.reconnect', { name: host })) as HostRow
        return { state: done.connection_state }
      },
    }),
    disconnect: defineFunction({
      doc: 'saltext shape: {state: connectionState}.',
      args: { host: z.string().min(1).describe('host name or id') },
      vsphere: true,
      run: async (ctx, { host }) => {
        const done = (await ctx.salt('vmware_host.disconnect', { name: host })) as HostRow
        return { state: done.connection_state }
      },
    }),
    remove: defineFunction({
      doc: 'saltext shape: {state: "removed"}; a clustered host is put in maintenance mode first.',
      args: { host: z.string().min(1).describe('host name or id') },
      vsphere: true,
      run: async (ctx, { host }) => {
        await ctx.salt('vmware_host.remove', { name: host, maintenance: true })
        return { state: 'removed' }
      },
    }),
  },
})
