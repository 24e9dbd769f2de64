import { defineFunction, defineModule, z } from 'brine/loader'
import type vmware_host from '../modules/vmware_host.ts'

export default defineModule({
  doc: 'ESXi host settings, idempotently.',
  vsphere: true,
  functions: {
    firewall_ruleset: defineFunction({
      doc: 'Make sure a firewall ruleset is enabled or disabled.',
      args: {
        name: z.string().min(1).describe('host name or id'),
        ruleset: z.string().min(1).describe('ruleset key'),
        enabled: z.boolean().describe('enabled'),
      },
      run: async (ctx, { name, ruleset, enabled }) => {
        const list = await ctx.module<typeof vmware_host>('vmware_host').firewall_rulesets({ name })
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
      args: {
        name: z.string().min(1).describe('host name or id'),
        key: z.string().min(1).describe('option key'),
        value: z.union([z.string(), z.number(), z.boolean()]).describe('wanted value'),
      },
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
      args: {
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
      },
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
        const host = await ctx.module<typeof vmware_host>('vmware_host').get({ name })
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
    user_present: defineFunction({
      doc:
        'Make sure a local user exists on the ESXi host this profile connects to, with this ' +
        'description. The password is set on creation; passwords cannot be read back, so an ' +
        'existing user’s password is only changed with update_password=True (always a change).',
      args: {
        name: z.string().min(1).describe('local user name'),
        password: z.string().min(1).describe('password (never shown)'),
        description: z.string().optional().describe('description (full name)'),
        update_password: z
          .boolean()
          .default(false)
          .describe('set the password even if the user exists'),
      },
      run: async (ctx, { name, password, description, update_password }) => {
        const users = await ctx.module<typeof vmware_host>('vmware_host').list_users()
        const found = users.find((u) => u.name === name)
        if (!found) {
          const changes = { user: { old: null, new: { name, description: description ?? '' } } }
          if (ctx.test)
            return {
              name,
              result: null,
              changes,
              comment: `Local user '${name}' would be created.`,
            }
          await ctx.salt('vmware_host.add_user', { user: name, password, description })
          return { name, result: true, changes, comment: `Local user '${name}' created.` }
        }
        const changes: Record<string, unknown> = {}
        if (description !== undefined && description !== found.description)
          changes.description = { old: found.description, new: description }
        if (update_password) changes.password = 'updated'
        if (Object.keys(changes).length === 0)
          return { name, result: true, changes: {}, comment: `Local user '${name}' is as stated.` }
        if (ctx.test)
          return { name, result: null, changes, comment: `Local user '${name}' would be updated.` }
        await ctx.salt('vmware_host.update_user', {
          user: name,
          description: 'description' in changes ? description : undefined,
          password: update_password ? password : undefined,
        })
        return { name, result: true, changes, comment: `Local user '${name}' updated.` }
      },
    }),
    user_absent: defineFunction({
      doc: 'Make sure a local user does not exist on the ESXi host this profile connects to.',
      args: { name: z.string().min(1).describe('local user name') },
      run: async (ctx, { name }) => {
        const users = await ctx.module<typeof vmware_host>('vmware_host').list_users()
        if (!users.some((u) => u.name === name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Local user '${name}' does not exist.`,
          }
        const changes = { user: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Local user '${name}' would be removed.` }
        await ctx.salt('vmware_host.remove_user', { user: name })
        return { name, result: true, changes, comment: `Local user '${name}' removed.` }
      },
    }),
  },
})
