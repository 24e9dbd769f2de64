import { defineFunction, defineModule, z } from 'brine/loader'

export default defineModule({
  doc: 'ESXi host settings, idempotently.',
  functions: {
    firewall_ruleset: defineFunction({
      doc: 'Make sure a firewall ruleset is enabled or disabled.',
      args: {
        name: z.string().min(1).describe('host name or id'),
        ruleset: z.string().min(1).describe('ruleset key'),
        enabled: z.boolean().describe('enabled'),
      },
      vsphere: true,
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
      args: {
        name: z.string().min(1).describe('host name or id'),
        key: z.string().min(1).describe('option key'),
        value: z.union([z.string(), z.number(), z.boolean()]).describe('wanted value'),
      },
      vsphere: true,
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
      doc: 'Make sure the host is (enabled: true) or is not in maintenance mode.',
      args: {
        name: z.string().min(1).describe('host name or id'),
        enabled: z.boolean().describe('in maintenance mode'),
      },
      vsphere: true,
      run: async (ctx, { name, enabled }) => {
        const host = (await ctx.salt('vmware_host.get', { name })) as { maintenance_mode: boolean }
        if (host.maintenance_mode === enabled)
          return {
            name,
            result: true,
            changes: {},
            comment: `Host '${name}' is already ${enabled ? 'in' : 'out of'} maintenance mode.`,
          }
        const changes = { maintenance_mode: { old: host.maintenance_mode, new: enabled } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Host '${name}' would ${enabled ? 'enter' : 'exit'} maintenance mode.`,
          }
        await ctx.salt(
          enabled ? 'vmware_host.enter_maintenance_mode' : 'vmware_host.exit_maintenance_mode',
          { name },
        )
        return {
          name,
          result: true,
          changes,
          comment: `Host '${name}' ${enabled ? 'entered' : 'exited'} maintenance mode.`,
        }
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
      vsphere: true,
      run: async (ctx, { name, password, description, update_password }) => {
        const users = (await ctx.salt('vmware_host.list_users')) as Array<{
          name: string
          description: string
        }>
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
      vsphere: true,
      run: async (ctx, { name }) => {
        const users = (await ctx.salt('vmware_host.list_users')) as Array<{ name: string }>
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
