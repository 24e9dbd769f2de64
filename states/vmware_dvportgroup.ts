import { defineFunction, defineModule, z } from 'brine/loader'
import { diff } from '../modules/_vmware.ts'
import type vmware_dvportgroup from '../modules/vmware_dvportgroup.ts'

export default defineModule({
  doc: 'Distributed switches and port groups, idempotently.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the port group exists on the switch with the given VLAN and ports.',
      args: () => ({
        name: z.string().min(1).describe('port group name'),
        dvswitch: z.string().min(1).describe('switch name or id'),
        vlan: z.coerce.number().int().min(0).max(4094).optional().describe('VLAN id'),
        ports: z.coerce.number().int().min(0).optional().describe('number of ports'),
      }),
      run: async (ctx, { name, dvswitch, vlan, ports }) => {
        const groups = await ctx
          .module<typeof vmware_dvportgroup>('vmware_dvportgroup')
          .list({ dvswitch })
        const current = groups.find((g) => g.name === name)
        if (!current) {
          const changes = {
            portgroup: { old: null, new: { name, vlan: vlan ?? 0, ports: ports ?? 8 } },
          }
          if (ctx.test)
            return {
              name,
              result: null,
              changes,
              comment: `Port group '${name}' would be created.`,
            }
          await ctx.salt('vmware_dvportgroup.create', { name, dvswitch, vlan, ports })
          return { name, result: true, changes, comment: `Port group '${name}' created.` }
        }
        const changes = diff(current, { vlan, ports })
        if (!Object.keys(changes).length)
          return {
            name,
            result: true,
            changes: {},
            comment: `Port group '${name}' is already as wanted.`,
          }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Port group '${name}' would be reconfigured.`,
          }
        await ctx.salt('vmware_dvportgroup.configure', { name: current.id, vlan, ports })
        return { name, result: true, changes, comment: `Port group '${name}' reconfigured.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the port group does not exist.',
      args: () => ({
        name: z.string().min(1).describe('port group name'),
        dvswitch: z.string().min(1).describe('switch name or id'),
      }),
      run: async (ctx, { name, dvswitch }) => {
        const current = (
          await ctx.module<typeof vmware_dvportgroup>('vmware_dvportgroup').list({ dvswitch })
        ).find((g) => g.name === name)
        if (!current)
          return {
            name,
            result: true,
            changes: {},
            comment: `Port group '${name}' does not exist.`,
          }
        const changes = { portgroup: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Port group '${name}' would be deleted.` }
        await ctx.salt('vmware_dvportgroup.delete', { name: current.id })
        return { name, result: true, changes, comment: `Port group '${name}' deleted.` }
      },
    }),
  },
})
