import { defineFunction, defineModule, z } from 'brine/loader'
import { aliased } from '../modules/_vmware.ts'
import type vmware_datastore from '../modules/vmware_datastore.ts'

export default defineModule({
  doc: 'Datastores, idempotently.',
  vsphere: true,
  functions: {
    maintenance_mode: defineFunction({
      doc:
        'saltext-vmware’s maintenance_mode: the datastore is (enter_maintenance_mode=True) or is ' +
        'not (False) in maintenance mode. brine’s `enter` is the same argument under its older ' +
        'name (both given must agree); with neither, the datastore enters maintenance mode.',
      args: () => ({
        name: z.string().min(1).describe('datastore name or id'),
        enter_maintenance_mode: z
          .boolean()
          .optional()
          .describe('True: in maintenance mode; False: out of it'),
        datacenter_name: z.string().min(1).optional().describe('datacenter of the datastore'),
        // No default here: a default would decide against enter_maintenance_mode=False.
        enter: z.boolean().optional().describe('alias of enter_maintenance_mode (default True)'),
      }),
      run: async (ctx, args) => {
        const { name, datacenter_name } = args
        const enter =
          aliased({ enter_maintenance_mode: args.enter_maintenance_mode, enter: args.enter }) ??
          true
        const [current] = await ctx.module<typeof vmware_datastore>('vmware_datastore').get({
          datastore_name: name,
          datacenter_name,
        })
        if (!current)
          return {
            name,
            result: false,
            changes: {},
            comment: `Datastore '${name}' not found${datacenter_name ? ` in datacenter '${datacenter_name}'` : ''}.`,
          }
        const wanted = enter ? 'inMaintenance' : 'normal'
        // saltext-vmware's comments (states/datastore.py), word for word.
        if (current.maintenanceMode === wanted)
          return {
            name,
            result: true,
            changes: {},
            comment: enter ? 'Already in maintenance mode.' : 'Already exited maintenance mode.',
          }
        const changes = { maintenance_mode: { old: current.maintenanceMode, new: wanted } }
        if (ctx.test)
          return { name, result: null, changes, comment: 'These options are set to change.' }
        await ctx.salt(
          enter ? 'vmware_datastore.maintenance_mode' : 'vmware_datastore.exit_maintenance_mode',
          { datastore_name: name, datacenter_name },
        )
        return { name, result: true, changes, comment: 'These options changed.' }
      },
    }),
  },
})
