import { defineFunction, defineModule, z } from 'brine/loader'

export default defineModule({
  doc: 'Datastores, idempotently.',
  functions: {
    maintenance_mode: defineFunction({
      doc: 'Make sure the datastore is (enter=True) or is not (enter=False) in maintenance mode.',
      args: {
        name: z.string().min(1).describe('datastore name or id'),
        enter: z.boolean().default(true).describe('in maintenance mode or not'),
      },
      vsphere: true,
      run: async (ctx, { name, enter }) => {
        const current = (
          (await ctx.salt('vmware_datastore.get', { name })) as { maintenance_mode: string }
        ).maintenance_mode
        const wanted = enter ? 'inMaintenance' : 'normal'
        if (current === wanted)
          return {
            name,
            result: true,
            changes: {},
            comment: `Datastore '${name}' is already ${enter ? 'in' : 'out of'} maintenance mode.`,
          }
        const changes = { maintenance_mode: { old: current, new: wanted } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Datastore '${name}' would ${enter ? 'enter' : 'exit'} maintenance mode.`,
          }
        await ctx.salt(
          enter
            ? 'vmware_datastore.enter_maintenance_mode'
            : 'vmware_datastore.exit_maintenance_mode',
          { name },
        )
        return {
          name,
          result: true,
          changes,
          comment: `Datastore '${name}' ${enter ? 'entered' : 'exited'} maintenance mode.`,
        }
      },
    }),
  },
})
