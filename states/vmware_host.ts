import { defineFunction, defineModule, z } from 'brine/loader'

export default defineModule({
  doc: 'ESXi host settings, idempotently.',
  functions: {
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
