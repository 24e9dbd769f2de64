// vmware_esxi's role_present/absent and password_present states (saltext-vmware's
// states/esxi.py), spread into vmware_esxi.ts's functions.
import { type CallContext, defineFunction, z } from 'brine/loader'
import { esxiHostName, selection } from '../modules/_esxi.ts'

/** Privileges vSphere gives every role (saltext's sys_privs). */
const SYSTEM_PRIVILEGES = ['System.Anonymous', 'System.Read', 'System.View']

interface Role {
  role_id?: number
  role_name?: string
  privilege_ids?: string[]
}

const getRole = async (ctx: CallContext, name: string, esxi_host_name?: string) =>
  (await ctx.salt('vmware_esxi.get_role', { role_name: name, esxi_host_name })) as Role

export const states = {
  role_present: defineFunction({
    doc: 'The role exists with these privileges (System.Anonymous, Read and View are implied), on vCenter or, with esxi_host_name, on that host.',
    args: () => ({
      name: z.string().min(1).describe('role name'),
      privilege_ids: z.array(z.string().min(1)).describe('privileges, e.g. Folder.Create'),
      esxi_host_name: esxiHostName,
    }),
    run: async (ctx, { name, privilege_ids, esxi_host_name }) => {
      const role = await getRole(ctx, name, esxi_host_name)
      const have = role.privilege_ids ?? []
      const removed = have
        .filter((p) => !SYSTEM_PRIVILEGES.includes(p) && !privilege_ids.includes(p))
        .sort()
      const added = privilege_ids
        .filter((p) => !have.includes(p) && !SYSTEM_PRIVILEGES.includes(p))
        .sort()
      // saltext's changes: {new: {role_id, role_name, privilege_ids: {added, removed, current}}, old}
      const changes = {
        new: {
          role_id: role.role_id ?? null,
          role_name: name,
          privilege_ids: {
            added,
            removed,
            current: [...new Set([...privilege_ids, ...SYSTEM_PRIVILEGES])].sort(),
          },
        },
        old: role,
      }
      if (!role.role_id && role.role_id !== 0) {
        if (ctx.test)
          return { name, result: null, changes, comment: `Role ${name} will be created.` }
        const created = (await ctx.salt('vmware_esxi.add_role', {
          role_name: name,
          privilege_ids,
          esxi_host_name,
        })) as { role_id: number }
        changes.new.role_id = created.role_id
        return { name, result: true, changes, comment: `Role ${name} created.` }
      }
      if (!added.length && !removed.length)
        return { name, result: true, changes: {}, comment: `Role ${name} is in the correct state` }
      if (ctx.test)
        return {
          name,
          result: null,
          changes,
          comment: `Role ${name} will be updated. ${added.join(',') || 'No'} privileges will be added. ${removed.join(',') || 'No'} privileges will be removed.`,
        }
      await ctx.salt('vmware_esxi.update_role', { role_name: name, privilege_ids, esxi_host_name })
      return { name, result: true, changes, comment: `Role ${name} updated.` }
    },
  }),
  role_absent: defineFunction({
    doc: 'The role does not exist, on vCenter or, with esxi_host_name, on that host.',
    args: () => ({ name: z.string().min(1).describe('role name'), esxi_host_name: esxiHostName }),
    run: async (ctx, { name, esxi_host_name }) => {
      const role = await getRole(ctx, name, esxi_host_name)
      if (!role.role_name)
        return { name, result: true, changes: {}, comment: `Role ${name} is not present.` }
      const changes = { old: role, new: null }
      if (ctx.test) return { name, result: null, changes, comment: `Role ${name} will be deleted.` }
      await ctx.salt('vmware_esxi.remove_role', { role_name: name, esxi_host_name })
      return { name, result: true, changes, comment: `Role ${name} deleted.` }
    },
  }),
  password_present: defineFunction({
    doc:
      "The user's password on each selected host is `password` (checked by logging in to the " +
      'host with it; changed where that fails).',
    args: () => ({
      name: z.string().min(1).describe('existing local user'),
      password: z.string().min(1).describe('its password (never logged or shown)'),
      ...selection,
    }),
    run: async (ctx, { name, password, ...sel }) => {
      // A login as a user the host does not have proves nothing: such hosts are an error.
      const users = (await ctx.salt('vmware_esxi.get_user', { user_name: name, ...sel })) as Record<
        string,
        Record<string, unknown>
      >
      const without = Object.keys(users).filter((host) => !users[host]?.[name])
      if (without.length)
        return {
          name,
          result: false,
          changes: {},
          comment: `Error: local user '${name}' not found on host${without.length > 1 ? 's' : ''} ${without.join(', ')}`,
        }
      const works = (await ctx.salt('vmware_esxi.check_password', {
        user_name: name,
        password,
        ...sel,
      })) as Record<string, boolean>
      const stale = Object.keys(works).filter((host) => !works[host])
      if (!stale.length)
        return { name, result: true, changes: {}, comment: 'Host password is already set.' }
      const changes = Object.fromEntries(stale.map((host) => [host, { password: 'changed' }]))
      if (ctx.test) return { name, result: null, changes, comment: 'Host password will change.' }
      try {
        for (const host of stale)
          await ctx.salt('vmware_esxi.update_user', {
            user_name: name,
            password,
            ...sel,
            host_name: host,
          })
      } catch (error) {
        return { name, result: false, changes: {}, comment: `Error: ${(error as Error).message}` }
      }
      return { name, result: true, changes, comment: 'Host password changed.' }
    },
  }),
}
