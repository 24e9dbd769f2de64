import { defineFunction, defineModule, z } from 'brine/loader'
import type vmware_role from '../modules/vmware_role.ts'
import { effectivePrivileges } from '../modules/vmware_role.ts'

const samePrincipal = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

const entity = {
  object_type: z.string().default('folder').describe('vm, host, cluster, datacenter, folder, …'),
  object: z.string().optional().describe('object name or id (default: the root folder)'),
}

export default defineModule({
  doc: 'Roles and permissions, idempotently.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc:
        'Make sure the role exists with exactly these privileges (System.Anonymous, Read and ' +
        'View, which vCenter adds to every role, need not be listed).',
      args: () => ({
        name: z.string().min(1).describe('role name'),
        privileges: z.array(z.string().min(1)).describe('privilege ids'),
      }),
      run: async (ctx, { name, privileges }) => {
        const found = (await ctx.module<typeof vmware_role>('vmware_role').list()).find(
          (r) => r.name === name,
        )
        const wanted = effectivePrivileges(privileges)
        if (found && JSON.stringify(found.privileges) === JSON.stringify(wanted))
          return { name, result: true, changes: {}, comment: `Role '${name}' is as stated.` }
        const changes = found
          ? {
              privileges: {
                added: wanted.filter((p) => !found.privileges.includes(p)),
                removed: found.privileges.filter((p) => !wanted.includes(p)),
              },
            }
          : { role: { old: null, new: { name, privileges: wanted } } }
        const verb = found ? 'updated' : 'created'
        if (ctx.test)
          return { name, result: null, changes, comment: `Role '${name}' would be ${verb}.` }
        if (found) await ctx.salt('vmware_role.update', { name: String(found.id), privileges })
        else await ctx.salt('vmware_role.create', { name, privileges })
        return { name, result: true, changes, comment: `Role '${name}' ${verb}.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the role does not exist (refused while permissions use it, unless force).',
      args: () => ({
        name: z.string().min(1).describe('role name'),
        force: z.boolean().default(false).describe('delete even if permissions use it'),
      }),
      run: async (ctx, { name, force }) => {
        const found = (await ctx.module<typeof vmware_role>('vmware_role').list()).find(
          (r) => r.name === name,
        )
        if (!found)
          return { name, result: true, changes: {}, comment: `Role '${name}' does not exist.` }
        const changes = { role: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Role '${name}' would be deleted.` }
        await ctx.salt('vmware_role.delete', { name: String(found.id), force })
        return { name, result: true, changes, comment: `Role '${name}' deleted.` }
      },
    }),
    permission_present: defineFunction({
      doc: 'Make sure the principal (`name`) has this role on the object.',
      args: () => ({
        name: z.string().min(1).describe('user or group'),
        role: z.string().min(1).describe('role name'),
        group: z.boolean().default(false).describe('the principal is a group'),
        propagate: z.boolean().default(true).describe('apply to children'),
        ...entity,
      }),
      run: async (ctx, { name, role: roleArg, group, propagate, object_type, object }) => {
        const where = { object_type, object }
        // The role by name (it may be given by id); principals compare without case, as
        // vCenter may normalize a domain's case.
        const role = (await ctx.module<typeof vmware_role>('vmware_role').get({ name: roleArg }))
          .name
        const current = (
          await ctx.module<typeof vmware_role>('vmware_role').list_permissions(where)
        ).find((p) => samePrincipal(p.principal, name) && p.group === group)
        const wanted = { role, propagate }
        const old = current ? { role: current.role, propagate: current.propagate } : null
        if (old && old.role === role && old.propagate === propagate)
          return {
            name,
            result: true,
            changes: {},
            comment: `'${name}' already has role '${role}' there.`,
          }
        const changes = { permission: { old, new: wanted } }
        if (ctx.test)
          return { name, result: null, changes, comment: `'${name}' would get role '${role}'.` }
        await ctx.salt('vmware_role.set_permission', {
          principal: name,
          role,
          group,
          propagate,
          ...where,
        })
        return { name, result: true, changes, comment: `'${name}' got role '${role}'.` }
      },
    }),
    permission_absent: defineFunction({
      doc: 'Make sure the principal (`name`) has no permission set on the object.',
      args: () => ({
        name: z.string().min(1).describe('user or group'),
        group: z.boolean().default(false).describe('the principal is a group'),
        ...entity,
      }),
      run: async (ctx, { name, group, object_type, object }) => {
        const where = { object_type, object }
        const current = (
          await ctx.module<typeof vmware_role>('vmware_role').list_permissions(where)
        ).find((p) => samePrincipal(p.principal, name) && p.group === group)
        if (!current)
          return { name, result: true, changes: {}, comment: `'${name}' has no permission there.` }
        const changes = { permission: { old: { role: current.role }, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `'${name}'s permission would be removed.` }
        await ctx.salt('vmware_role.remove_permission', { principal: name, group, ...where })
        return { name, result: true, changes, comment: `'${name}'s permission removed.` }
      },
    }),
  },
})
