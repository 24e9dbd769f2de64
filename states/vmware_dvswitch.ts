import { defineFunction, defineModule, z } from 'brine/loader'

export default defineModule({
  doc: 'Distributed switches, idempotently.',
  functions: {
    present: defineFunction({
      doc: 'Make sure the distributed switch exists in the datacenter.',
      args: {
        name: z.string().min(1).describe('switch name'),
        datacenter: z.string().min(1).describe('datacenter name or id'),
        description: z.string().optional().describe('description when creating'),
        uplinks: z.coerce
          .number()
          .int()
          .min(1)
          .max(32)
          .optional()
          .describe('uplinks per host when creating'),
      },
      vsphere: true,
      run: async (ctx, { name, datacenter, description, uplinks }) => {
        const switches = (await ctx.salt('vmware_dvswitch.list', { datacenter })) as Array<{
          name: string
        }>
        if (switches.some((s) => s.name === name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Distributed switch '${name}' is already present.`,
          }
        const changes = { dvswitch: { old: null, new: name } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Distributed switch '${name}' would be created.`,
          }
        await ctx.salt('vmware_dvswitch.create', { name, datacenter, description, uplinks })
        return { name, result: true, changes, comment: `Distributed switch '${name}' created.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the distributed switch does not exist.',
      args: {
        name: z.string().min(1).describe('switch name'),
        datacenter: z.string().min(1).describe('datacenter name or id'),
      },
      vsphere: true,
      run: async (ctx, { name, datacenter }) => {
        const found = (
          (await ctx.salt('vmware_dvswitch.list', { datacenter })) as Array<{
            name: string
            id: string
          }>
        ).find((s) => s.name === name)
        if (!found)
          return {
            name,
            result: true,
            changes: {},
            comment: `Distributed switch '${name}' does not exist.`,
          }
        const changes = { dvswitch: { old: name, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Distributed switch '${name}' would be deleted.`,
          }
        await ctx.salt('vmware_dvswitch.delete', { name: found.id })
        return { name, result: true, changes, comment: `Distributed switch '${name}' deleted.` }
      },
    }),
  },
})
