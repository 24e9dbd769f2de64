import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'

/** saltext-vmware's host selection for the local-user states (states/esxi.py user_present). */
const userSelection = {
  datacenter_name: z.string().min(1).optional().describe('datacenter of the hosts'),
  cluster_name: z
    .string()
    .min(1)
    .optional()
    .describe('cluster of the hosts (needs datacenter_name)'),
  host_name: z.string().min(1).optional().describe('one host'),
}
type UserSelection = { datacenter_name?: string; cluster_name?: string; host_name?: string }
type UserOutcome = { changes: Record<string, unknown>; done: string }

const PAST: Record<string, string> = {
  created: 'would be created',
  updated: 'would be updated',
  removed: 'would be removed',
}

/**
 * Run a local-user step on the ESXi host the profile connects to (no selection given, a direct
 * connection), or on each selected host with its esxi_host credentials. One host: its changes
 * and Salt-style comment; several: changes by host.
 */
async function onUserHosts(
  ctx: CallContext,
  name: string,
  sel: UserSelection,
  step: (target: { esxi_host_name?: string }) => Promise<UserOutcome>,
) {
  const selected = Object.values(sel).some((v) => v !== undefined)
  const direct =
    !selected && (await ctx.serviceInstance.ready()).content.about.apiType === 'HostAgent'
  const hosts = direct ? [undefined] : ((await ctx.salt('vmware_esxi.list_hosts', sel)) as string[])
  const outcomes: Array<[string | undefined, UserOutcome]> = []
  for (const host of hosts)
    outcomes.push([host, await step(host === undefined ? {} : { esxi_host_name: host })])
  const changed = outcomes.filter(([, o]) => Object.keys(o.changes).length)
  const what = (done: string) => (ctx.test ? (PAST[done] ?? done) : done)
  const comment = changed.length
    ? changed
        .map(([host, o]) => `Local user '${name}' ${what(o.done)}${host ? ` on ${host}` : ''}.`)
        .join(' ')
    : `Local user '${name}' ${outcomes[0]?.[1].done === 'absent' ? 'does not exist' : 'is as stated'}${hosts.length > 1 || hosts[0] ? ` on ${hosts.length} host(s)` : ''}.`
  const changes = direct
    ? (outcomes[0]?.[1].changes ?? {})
    : Object.fromEntries(changed.map(([host, o]) => [host!, o.changes]))
  return { name, result: changed.length && ctx.test ? null : true, changes, comment }
}

export default defineModule({
  doc: 'ESXi host settings, idempotently.',
  vsphere: true,
  functions: {
    firewall_ruleset: defineFunction({
      doc: 'Make sure a firewall ruleset is enabled or disabled.',
      args: () => ({
        name: z.string().min(1).describe('host name or id'),
        ruleset: z.string().min(1).describe('ruleset key'),
        enabled: z.boolean().describe('enabled'),
      }),
      run: async (ctx, { name, ruleset, enabled }) => {
        const list = (await ctx.salt('vmware_host.firewall_rulesets', { name })) as Array<{
          key: string
          enabled: boolean
        }>
        const current = list.find((r) => r.key === ruleset)
        if (!current)
          return {
            name,
            result: false,
            changes: {},
            comment: `Firewall ruleset '${ruleset}' not found on '${name}'.`,
          }
        if (current.enabled === enabled)
          return {
            name,
            result: true,
            changes: {},
            comment: `Ruleset '${ruleset}' is already ${enabled ? 'enabled' : 'disabled'}.`,
          }
        const changes = { [ruleset]: { old: current.enabled, new: enabled } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Ruleset '${ruleset}' would be ${enabled ? 'enabled' : 'disabled'}.`,
          }
        await ctx.salt('vmware_host.firewall_ruleset', { name, ruleset, enabled })
        return {
          name,
          result: true,
          changes,
          comment: `Ruleset '${ruleset}' ${enabled ? 'enabled' : 'disabled'}.`,
        }
      },
    }),
    advanced_option: defineFunction({
      doc: 'Make sure an advanced option has a value.',
      args: () => ({
        name: z.string().min(1).describe('host name or id'),
        key: z.string().min(1).describe('option key'),
        value: z.union([z.string(), z.number(), z.boolean()]).describe('wanted value'),
      }),
      run: async (ctx, { name, key, value }) => {
        const options = (await ctx
          .salt('vmware_host.get_advanced', { name, key })
          .catch(() => ({}))) as Record<string, unknown>
        const current = options[key]
        if (current === value)
          return {
            name,
            result: true,
            changes: {},
            comment: `Option '${key}' is already ${String(value)}.`,
          }
        const changes = { [key]: { old: current ?? null, new: value } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Option '${key}' would be set to ${String(value)}.`,
          }
        await ctx.salt('vmware_host.set_advanced', { name, key, value })
        return { name, result: true, changes, comment: `Option '${key}' set to ${String(value)}.` }
      },
    }),
    maintenance_mode: defineFunction({
      doc:
        'Make sure the host is in (enter_maintenance_mode: True) or out of maintenance mode ' +
        "(saltext-vmware's vmware_esxi.maintenance_mode; brine's `enabled` is an alias). The " +
        'task is not left behind on failure: the state fails naming the mode the host is in.',
      args: () => ({
        name: z.string().min(1).describe('host name or id'),
        enter_maintenance_mode: z
          .boolean()
          .optional()
          .describe('True: in maintenance mode; False: out of it (alias: enabled)'),
        timeout: z.coerce.number().int().min(0).default(0).describe('seconds (0: no limit)'),
        evacuate_powered_off_vms: z
          .boolean()
          .default(false)
          .describe('vCenter with DRS: move powered-off VMs away too (when entering)'),
        maintenance_spec: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('HostMaintenanceSpec fields (when entering)'),
        enabled: z.boolean().optional().describe('alias of enter_maintenance_mode'),
      }),
      run: async (ctx, args) => {
        const { name, timeout, evacuate_powered_off_vms, maintenance_spec } = args
        // A renamed argument whose value is an action: the two must agree, and one is required.
        if (
          args.enter_maintenance_mode !== undefined &&
          args.enabled !== undefined &&
          args.enter_maintenance_mode !== args.enabled
        )
          return {
            name,
            result: false,
            changes: {},
            comment: `enter_maintenance_mode (${args.enter_maintenance_mode}) and its alias enabled (${args.enabled}) disagree; nothing was done.`,
          }
        const enter = args.enter_maintenance_mode ?? args.enabled
        if (enter === undefined)
          return {
            name,
            result: false,
            changes: {},
            comment: 'enter_maintenance_mode is required (True or False); nothing was done.',
          }
        const mode = enter ? 'Maintenance' : 'Normal'
        const host = (await ctx.salt('vmware_host.get', { name })) as { maintenance_mode: boolean }
        if (host.maintenance_mode === enter)
          return { name, result: true, changes: {}, comment: `Already in ${mode} mode.` }
        const changes = { maintenance_mode: { old: host.maintenance_mode, new: enter } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Host will enter ${mode} mode.` }
        await ctx.salt(
          enter ? 'vmware_host.enter_maintenance_mode' : 'vmware_host.exit_maintenance_mode',
          enter
            ? {
                name,
                timeout,
                evacuate_powered_off_vms,
                ...(maintenance_spec ? { maintenance_spec } : {}),
              }
            : { name, timeout },
        )
        return { name, result: true, changes, comment: `Host entered ${mode} mode.` }
      },
    }),
    advanced_configs: defineFunction({
      doc:
        "Make sure advanced options have these values on the selected hosts (saltext-vmware's " +
        'vmware_esxi.advanced_configs): changes {host: {old, new}} of the options that differ; ' +
        'an option a host does not have fails the state before anything is set.',
      args: () => ({
        name: z.string().min(1).describe('state name'),
        configs: z
          .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
          .describe('{option: value}, e.g. {DCUI.Access: root}'),
        ...userSelection,
      }),
      run: async (ctx, { name, configs, ...sel }) => {
        const current: Record<string, Record<string, unknown>> = {}
        for (const key of Object.keys(configs)) {
          let values: Record<string, Record<string, unknown>>
          try {
            values = (await ctx.salt('vmware_esxi.get_advanced_config', {
              ...sel,
              config_name: key,
            })) as Record<string, Record<string, unknown>>
          } catch (error) {
            return {
              name,
              result: false,
              changes: {},
              comment: `The config ${key} cannot be read: ${(error as Error).message}`,
            }
          }
          for (const [host, options] of Object.entries(values)) {
            if (!(key in options))
              return {
                name,
                result: false,
                changes: {},
                comment: `The config ${key} does not exist on host ${host}`,
              }
            current[host] = { ...current[host], [key]: options[key] }
          }
        }
        const changes: Record<
          string,
          { old: Record<string, unknown>; new: Record<string, unknown> }
        > = {}
        for (const [host, options] of Object.entries(current)) {
          const differ = Object.keys(configs).filter(
            (key) => String(options[key]) !== String(configs[key]),
          )
          if (differ.length)
            changes[host] = {
              old: Object.fromEntries(differ.map((key) => [key, options[key]])),
              new: Object.fromEntries(differ.map((key) => [key, configs[key]])),
            }
        }
        if (!Object.keys(changes).length)
          return { name, result: true, changes, comment: 'Config already in correct state' }
        if (ctx.test) return { name, result: null, changes, comment: 'Changes would be made' }
        for (const [host, diff] of Object.entries(changes))
          await ctx.salt('vmware_esxi.set_advanced_configs', {
            config_dict: diff.new,
            host_name: host,
            datacenter_name: sel.datacenter_name,
          })
        return { name, result: true, changes, comment: 'Changes were made' }
      },
    }),
    user_present: defineFunction({
      doc:
        'Make sure a local user exists with this description: on the ESXi host this profile ' +
        'connects to, or (saltext-vmware’s datacenter_name, cluster_name, host_name) on each ' +
        'selected host, reached with its esxi_host credentials. The password is set on ' +
        'creation; passwords cannot be read back, so an existing user’s password is only ' +
        'changed with update_password=True (always a change).',
      args: () => ({
        name: z.string().min(1).describe('local user name'),
        password: z.string().min(1).describe('password (never shown)'),
        description: z.string().optional().describe('description (full name)'),
        ...userSelection,
        update_password: z
          .boolean()
          .default(false)
          .describe('set the password even if the user exists'),
      }),
      run: async (ctx, { name, password, description, update_password, ...sel }) =>
        onUserHosts(ctx, name, sel, async (target) => {
          const users = (await ctx.salt('vmware_host.list_users', target)) as Array<{
            name: string
            description: string
          }>
          const found = users.find((u) => u.name === name)
          if (!found) {
            const changes = { user: { old: null, new: { name, description: description ?? '' } } }
            if (!ctx.test)
              await ctx.salt('vmware_host.add_user', {
                user: name,
                password,
                description,
                ...target,
              })
            return { changes, done: 'created' }
          }
          const changes: Record<string, unknown> = {}
          if (description !== undefined && description !== found.description)
            changes.description = { old: found.description, new: description }
          if (update_password) changes.password = 'updated'
          if (Object.keys(changes).length === 0) return { changes, done: 'as stated' }
          if (!ctx.test)
            await ctx.salt('vmware_host.update_user', {
              user: name,
              description: 'description' in changes ? description : undefined,
              password: update_password ? password : undefined,
              ...target,
            })
          return { changes, done: 'updated' }
        }),
    }),
    user_absent: defineFunction({
      doc:
        'Make sure a local user does not exist: on the ESXi host this profile connects to, or ' +
        'on each selected host (datacenter_name, cluster_name, host_name) through its esxi_host credentials.',
      args: () => ({ name: z.string().min(1).describe('local user name'), ...userSelection }),
      run: async (ctx, { name, ...sel }) =>
        onUserHosts(ctx, name, sel, async (target) => {
          const users = (await ctx.salt('vmware_host.list_users', target)) as Array<{
            name: string
          }>
          if (!users.some((u) => u.name === name)) return { changes: {}, done: 'absent' }
          if (!ctx.test) await ctx.salt('vmware_host.remove_user', { user: name, ...target })
          return { changes: { user: { old: name, new: null } }, done: 'removed' }
        }),
    }),
  },
})
