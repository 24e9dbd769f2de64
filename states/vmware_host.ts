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
  },
})
