import { defineFunction, defineModule, z } from 'brine/loader'
import type vmware_vswitch from '../modules/vmware_vswitch.ts'

export default defineModule({
  doc: 'Standard switches and port groups on hosts, idempotently.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the host has this standard switch.',
      args: () => ({
        name: z.string().min(1).describe('switch name'),
        host: z.string().min(1).describe('host name or id'),
        ports: z.coerce.number().int().min(8).optional().describe('ports when creating'),
      }),
      run: async (ctx, { name, host, ports }) => {
        const list = await ctx.module<typeof vmware_vswitch>('vmware_vswitch').list({ host })
        if (list.some((s) => s.name === name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Switch '${name}' is already present on '${host}'.`,
          }
        const changes = { vswitch: { old: null, new: name } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Switch '${name}' would be created on '${host}'.`,
          }
        await ctx.salt('vmware_vswitch.create', { host, name, ports })
        return { name, result: true, changes, comment: `Switch '${name}' created on '${host}'.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the host does not have this standard switch.',
      args: () => ({
        name: z.string().min(1).describe('switch name'),
        host: z.string().min(1).describe('host name or id'),
      }),
      run: async (ctx, { name, host }) => {
        const list = await ctx.module<typeof vmware_vswitch>('vmware_vswitch').list({ host })
        if (!list.some((s) => s.name === name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Switch '${name}' is not present on '${host}'.`,
          }
        const changes = { vswitch: { old: name, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Switch '${name}' would be deleted from '${host}'.`,
          }
        await ctx.salt('vmware_vswitch.delete', { host, name })
        return { name, result: true, changes, comment: `Switch '${name}' deleted from '${host}'.` }
      },
    }),
    portgroup_present: defineFunction({
      doc: 'Make sure the host has this standard port group on the switch (created with the VLAN when missing).',
      args: () => ({
        name: z.string().min(1).describe('port group name'),
        host: z.string().min(1).describe('host name or id'),
        vswitch: z.string().min(1).describe('switch name'),
        vlan: z.coerce.number().int().min(0).max(4095).default(0).describe('VLAN id'),
      }),
      run: async (ctx, { name, host, vswitch, vlan }) => {
        const groups = await ctx
          .module<typeof vmware_vswitch>('vmware_vswitch')
          .list_portgroups({ host })
        const current = groups.find((g) => g.name === name)
        if (current) {
          const ok = current.vlan === vlan && current.vswitch === vswitch
          return ok
            ? {
                name,
                result: true,
                changes: {},
                comment: `Port group '${name}' is already present on '${host}'.`,
              }
            : {
                name,
                result: false,
                changes: {},
                comment: `Port group '${name}' exists on '${host}' with VLAN ${current.vlan} on '${current.vswitch}'; changing it is not supported yet (remove it first).`,
              }
        }
        const changes = { portgroup: { old: null, new: { name, vswitch, vlan } } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Port group '${name}' would be added on '${host}'.`,
          }
        await ctx.salt('vmware_vswitch.add_portgroup', { host, vswitch, name, vlan })
        return { name, result: true, changes, comment: `Port group '${name}' added on '${host}'.` }
      },
    }),
  },
})
