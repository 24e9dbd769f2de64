import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type Entity,
  getEntity,
  type ManagedObjectReference,
  retrieveObjectProperties,
  type ServiceInstance,
} from 'brine/vsphere'
import { asList, isTrue } from './_vmware.ts'

// Roles and permissions of the endpoint brine is connected to (vCenter's, or a host's when
// connected to ESXi directly): the AuthorizationManager.

interface RawRole {
  roleId: number
  system: boolean
  name: string
  privilege?: string[] | string
}
interface RawPermission {
  entity?: ManagedObjectReference
  principal: string
  group: boolean
  roleId: number
  propagate: boolean
}

/** Privileges vCenter adds to every role by itself; never reported as a difference. */
const IMPLIED = ['System.Anonymous', 'System.Read', 'System.View']

async function manager(
  ctx: CallContext,
): Promise<{ si: ServiceInstance; am: ManagedObjectReference }> {
  const si = ctx.serviceInstance
  const am = si.content.authorizationManager
  if (!am)
    throw new ModuleError('this endpoint has no AuthorizationManager', {
      code: 'BRINE_UNSUPPORTED',
    })
  return { si, am }
}

async function roles(ctx: CallContext) {
  const { si, am } = await manager(ctx)
  const { roleList } = await retrieveObjectProperties(si, am, ['roleList'], { signal: ctx.signal })
  return asList(roleList as RawRole[] | RawRole | undefined).map((r) => ({
    id: Number(r.roleId),
    name: String(r.name),
    // Negative ids are vCenter's predefined roles (Admin -1 … NoAccess -5), system roles
    // whatever the flag says.
    system: isTrue(r.system) || Number(r.roleId) < 0,
    privileges: asList(r.privilege).map(String).sort(),
  }))
}
type Role = Awaited<ReturnType<typeof roles>>[number]

async function findRole(ctx: CallContext, name: string): Promise<Role> {
  const all = await roles(ctx)
  const role = all.find((r) => r.name === name) ?? all.find((r) => String(r.id) === name)
  if (!role)
    throw new ModuleError(`role '${name}' not found (vmware_role.list shows them)`, {
      code: 'BRINE_NOT_FOUND',
    })
  return role
}

/** The privileges a role will have: the wanted ones plus those vCenter implies, sorted. */
export function effectivePrivileges(wanted: string[]): string[] {
  return [...new Set([...wanted, ...IMPLIED])].sort()
}

const privileges = z
  .array(z.string().min(1))
  .describe('privilege ids, e.g. [VirtualMachine.Interact.PowerOn, Datastore.Browse]')

/**
 * Privilege ids the endpoint knows: its privilegeList, or, where that is not reported
 * (vcsim 0.24.2), the Admin role's privileges, which are all of them.
 */
async function knownPrivileges(ctx: CallContext): Promise<string[]> {
  const { si, am } = await manager(ctx)
  const { privilegeList } = await retrieveObjectProperties(si, am, ['privilegeList'], {
    signal: ctx.signal,
  })
  const ids = asList(privilegeList as Array<{ privId: string }> | undefined).map((p) => p.privId)
  if (ids.length) return ids.sort()
  return (await roles(ctx)).find((r) => r.id === -1)?.privileges ?? []
}

async function validPrivileges(ctx: CallContext, wanted: string[]) {
  const known = new Set(await knownPrivileges(ctx))
  const unknown = wanted.filter((p) => !known.has(p))
  if (unknown.length)
    throw new ModuleError(
      `unknown privilege${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `'${p}'`).join(', ')} ` +
        '(vmware_role.list_privileges shows the valid ids)',
      { code: 'BRINE_ARGUMENT' },
    )
}

const entityArgs = {
  object_type: z
    .enum(Object.keys(ENTITY_TYPES) as [keyof typeof ENTITY_TYPES])
    .default('folder')
    .describe('vm, host, cluster, datacenter, folder, …'),
  object: z.string().optional().describe('object name or id (default: the root folder)'),
}

async function entityOf(
  ctx: CallContext,
  si: ServiceInstance,
  args: { object_type: keyof typeof ENTITY_TYPES; object?: string | undefined },
): Promise<{ obj: ManagedObjectReference; name: string }> {
  if (!args.object) return { obj: si.content.rootFolder, name: '(root)' }
  const entity: Entity = await getEntity(si, ENTITY_TYPES[args.object_type], args.object, {
    signal: ctx.signal,
  })
  return entity
}

async function ownPermissions(
  ctx: CallContext,
  si: ServiceInstance,
  am: ManagedObjectReference,
  obj: ManagedObjectReference,
) {
  return asList(
    await callVim<RawPermission[] | RawPermission | undefined>(
      si,
      `reading permissions of ${obj.type}:${obj.value}`,
      'RetrieveEntityPermissions',
      { _this: am, entity: obj, inherited: false },
      { signal: ctx.signal },
    ),
  )
}

export default defineModule({
  doc: 'Roles (privilege sets) and permissions (principal + role on an object).',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'All roles: name, id, system flag, privileges.',
      args: () => ({}),
      run: async (ctx) => (await roles(ctx)).sort((a, b) => a.name.localeCompare(b.name)),
    }),
    get: defineFunction({
      doc: 'One role by name or id.',
      args: () => ({ name: z.string().min(1).describe('role name or id') }),
      run: async (ctx, { name }) => findRole(ctx, name),
    }),
    list_privileges: defineFunction({
      doc: 'Privilege ids (optionally those starting with a group, e.g. VirtualMachine.Interact).',
      args: () => ({ group: z.string().default('').describe('id prefix') }),
      run: async (ctx, { group }) =>
        (await knownPrivileges(ctx)).filter((id) => id.startsWith(group)),
    }),
    create: defineFunction({
      doc: 'Create a role with these privileges (vCenter adds System.Anonymous, Read and View).',
      args: () => ({ name: z.string().min(1).describe('role name'), privileges }),
      run: async (ctx, { name, privileges: wanted }) => {
        await validPrivileges(ctx, wanted)
        const { si, am } = await manager(ctx)
        await callVim(si, `creating role '${name}'`, 'AddAuthorizationRole', {
          _this: am,
          name,
          privIds: wanted,
        })
        return findRole(ctx, name)
      },
    }),
    update: defineFunction({
      doc: 'Replace a role’s privileges and/or rename it; system roles are refused.',
      args: () => ({
        name: z.string().min(1).describe('role name or id'),
        privileges: privileges.optional(),
        new_name: z.string().min(1).optional().describe('rename to'),
      }),
      run: async (ctx, { name, privileges: wanted, new_name }) => {
        const role = await findRole(ctx, name)
        if (role.system)
          throw new ModuleError(`role '${role.name}' is a system role and cannot be changed`, {
            code: 'BRINE_INVALID_STATE',
          })
        if (wanted) await validPrivileges(ctx, wanted)
        const { si, am } = await manager(ctx)
        await callVim(si, `updating role '${role.name}'`, 'UpdateAuthorizationRole', {
          _this: am,
          roleId: role.id,
          newName: new_name ?? role.name,
          privIds: wanted,
        })
        return findRole(ctx, String(role.id))
      },
    }),
    delete: defineFunction({
      doc: 'Delete a role; one still used by permissions is refused unless force=True.',
      args: () => ({
        name: z.string().min(1).describe('role name or id'),
        force: z.boolean().default(false).describe('delete even if permissions use it'),
      }),
      run: async (ctx, { name, force }) => {
        const role = await findRole(ctx, name)
        if (role.system)
          throw new ModuleError(`role '${role.name}' is a system role and cannot be deleted`, {
            code: 'BRINE_INVALID_STATE',
          })
        const { si, am } = await manager(ctx)
        const users = asList(
          await callVim<RawPermission[] | RawPermission | undefined>(
            si,
            `reading permissions of role '${role.name}'`,
            'RetrieveRolePermissions',
            { _this: am, roleId: role.id },
          ),
        )
        if (users.length && !force)
          throw new ModuleError(
            `role '${role.name}' is used by ${users.length} permission(s) (${users
              .map((p) => p.principal)
              .join(', ')}): remove them first, or pass force=True`,
            { code: 'BRINE_INVALID_STATE' },
          )
        await callVim(si, `deleting role '${role.name}'`, 'RemoveAuthorizationRole', {
          _this: am,
          roleId: role.id,
          failIfUsed: !force,
        })
        return { name: role.name, id: role.id, deleted: true }
      },
    }),
    list_permissions: defineFunction({
      doc: 'Permissions set on an object (inherited ones too with inherited=True).',
      args: () => ({
        ...entityArgs,
        inherited: z.boolean().default(false).describe('include those set on parents'),
      }),
      run: async (ctx, args) => {
        const { si, am } = await manager(ctx)
        const target = await entityOf(ctx, si, args)
        const names = new Map((await roles(ctx)).map((r) => [r.id, r.name]))
        const perms = asList(
          await callVim<RawPermission[] | RawPermission | undefined>(
            si,
            `reading permissions of '${target.name}'`,
            'RetrieveEntityPermissions',
            { _this: am, entity: target.obj, inherited: args.inherited },
            { signal: ctx.signal },
          ),
        )
        return perms.map((p) => ({
          principal: p.principal,
          group: isTrue(p.group),
          role: names.get(Number(p.roleId)) ?? String(p.roleId),
          propagate: isTrue(p.propagate),
          object: p.entity?.value ?? target.obj.value,
        }))
      },
    }),
    set_permission: defineFunction({
      doc: 'Give a user or group a role on an object (the root folder by default).',
      args: () => ({
        principal: z.string().min(1).describe('user or group, e.g. VSPHERE.LOCAL\\ops'),
        role: z.string().min(1).describe('role name or id'),
        group: z.boolean().default(false).describe('the principal is a group'),
        propagate: z.boolean().default(true).describe('apply to children'),
        ...entityArgs,
      }),
      run: async (ctx, args) => {
        const { si, am } = await manager(ctx)
        const role = await findRole(ctx, args.role)
        const target = await entityOf(ctx, si, args)
        // vCenter merges SetEntityPermissions; some implementations replace, so send the
        // object's own permissions with this one set: the same result everywhere.
        const others = (await ownPermissions(ctx, si, am, target.obj)).filter(
          (p) =>
            !(
              p.principal.toLowerCase() === args.principal.toLowerCase() &&
              isTrue(p.group) === args.group
            ),
        )
        const permission = {
          entity: target.obj,
          principal: args.principal,
          group: args.group,
          roleId: role.id,
          propagate: args.propagate,
        }
        await callVim(
          si,
          `giving '${args.principal}' role '${role.name}' on '${target.name}'`,
          'SetEntityPermissions',
          {
            _this: am,
            entity: target.obj,
            permission: [
              ...others.map((p) => ({
                entity: target.obj,
                principal: p.principal,
                group: isTrue(p.group),
                roleId: Number(p.roleId),
                propagate: isTrue(p.propagate),
              })),
              permission,
            ],
          },
        )
        return {
          principal: args.principal,
          role: role.name,
          object: target.obj.value,
          propagate: args.propagate,
        }
      },
    }),
    remove_permission: defineFunction({
      doc: 'Take a user’s or group’s permission off an object.',
      args: () => ({
        principal: z.string().min(1).describe('user or group'),
        group: z.boolean().default(false).describe('the principal is a group'),
        ...entityArgs,
      }),
      run: async (ctx, args) => {
        const { si, am } = await manager(ctx)
        const target = await entityOf(ctx, si, args)
        const own = await ownPermissions(ctx, si, am, target.obj)
        if (
          !own.some(
            (p) =>
              p.principal.toLowerCase() === args.principal.toLowerCase() &&
              isTrue(p.group) === args.group,
          )
        )
          throw new ModuleError(`'${args.principal}' has no permission set on '${target.name}'`, {
            code: 'BRINE_NOT_FOUND',
          })
        await callVim(
          si,
          `removing the permission of '${args.principal}' on '${target.name}'`,
          'RemoveEntityPermission',
          { _this: am, entity: target.obj, user: args.principal, isGroup: args.group },
        )
        return { principal: args.principal, object: target.obj.value, removed: true }
      },
    }),
  },
})
