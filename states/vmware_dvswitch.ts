import { defineFunction, defineModule, z } from 'brine/loader'
import type vmware_dvswitch from '../modules/vmware_dvswitch.ts'

export default defineModule({
  doc: 'Distributed switches, idempotently.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc:
        'Make sure the distributed switch exists in the datacenter; description and max_mtu, ' +
        'when given, are kept as stated (changed in place).',
      args: () => ({
        name: z.string().min(1).describe('switch name'),
        datacenter: z.string().min(1).describe('datacenter name or id'),
        description: z.string().optional().describe('description'),
        max_mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('MTU'),
        uplinks: z.coerce
          .number()
          .int()
          .min(1)
          .max(32)
          .optional()
          .describe('uplinks per host when creating'),
      }),
      run: async (ctx, { name, datacenter, description, max_mtu, uplinks }) => {
        const found = (
          await ctx.module<typeof vmware_dvswitch>('vmware_dvswitch').list_switches({ datacenter })
        ).find((s) => s.name === name)
        if (!found) {
          const changes = { dvswitch: { old: null, new: name } }
          if (ctx.test)
            return {
              name,
              result: null,
              changes,
              comment: `Distributed switch '${name}' would be created.`,
            }
          await ctx.salt('vmware_dvswitch.create', {
            name,
            datacenter,
            description,
            max_mtu,
            uplinks,
          })
          return { name, result: true, changes, comment: `Distributed switch '${name}' created.` }
        }
        const changes: Record<string, { old: unknown; new: unknown }> = {}
        if (description !== undefined && description !== found.description)
          changes.description = { old: found.description, new: description }
        if (max_mtu !== undefined && max_mtu !== found.max_mtu)
          changes.max_mtu = { old: found.max_mtu, new: max_mtu }
        if (Object.keys(changes).length === 0)
          return {
            name,
            result: true,
            changes: {},
            comment: `Distributed switch '${name}' is already present as stated.`,
          }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Distributed switch '${name}' would be reconfigured.`,
          }
        await ctx.salt('vmware_dvswitch.configure', { name: found.id, description, max_mtu })
        return {
          name,
          result: true,
          changes,
          comment: `Distributed switch '${name}' reconfigured.`,
        }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the distributed switch does not exist.',
      args: () => ({
        name: z.string().min(1).describe('switch name'),
        datacenter: z.string().min(1).describe('datacenter name or id'),
      }),
      run: async (ctx, { name, datacenter }) => {
        const found = (
          await ctx.module<typeof vmware_dvswitch>('vmware_dvswitch').list_switches({ datacenter })
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
