// Shared by the vmware_* modules (a helper file, not a module: its name starts with _).
import { type CallContext, ModuleError, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  type FindOptions,
  findEntityByName,
  getEntity,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'

export const names = {
  datacenter: z.string().min(1).describe('datacenter name or id'),
  cluster: z.string().min(1).describe('cluster name or id'),
  vm: z.string().min(1).describe('virtual machine name, id, instance UUID or BIOS UUID'),
  folderType: z
    .enum(['vm', 'host', 'datastore', 'network'])
    .default('vm')
    .describe('folder tree: vm, host, datastore or network'),
}

export async function findDatacenter(
  ctx: CallContext,
  name: string,
  props: string[] = [],
  path = false,
): Promise<Entity> {
  return getEntity(ctx.serviceInstance, ENTITY_TYPES.datacenter, name, {
    props,
    path,
    signal: ctx.signal,
  })
}

/**
 * An entity of `type` by name (within a datacenter when given, resolved from the same index
 * refresh) or id. `options` asks for its path or the names of what it points to.
 */
export async function findInDatacenter(
  ctx: CallContext,
  type: string,
  name: string,
  datacenter: string | undefined,
  props: string[] = [],
  options: Pick<FindOptions, 'path' | 'names'> = {},
): Promise<Entity> {
  return getEntity(ctx.serviceInstance, type, name, {
    ...options,
    props,
    container: datacenter ? { type: ENTITY_TYPES.datacenter, nameOrId: datacenter } : undefined,
    signal: ctx.signal,
  })
}

/** A cluster by name (within a datacenter when given) or id. */
export function findCluster(
  ctx: CallContext,
  name: string,
  datacenter: string | undefined,
  props: string[] = [],
): Promise<Entity> {
  return findInDatacenter(ctx, ENTITY_TYPES.cluster, name, datacenter, props)
}

/** The root folder of one tree (vm, host, datastore, network) of a datacenter. */
export async function rootFolderOf(
  ctx: CallContext,
  datacenter: string,
  type: string,
): Promise<{ dc: Entity; folder: ManagedObjectReference }> {
  const dc = await findDatacenter(ctx, datacenter, [`${type}Folder`])
  return { dc, folder: dc.props[`${type}Folder`] as ManagedObjectReference }
}

/** Salt's state return, with the `{old, new}` changes convention. */
export function stateReturn(
  name: string,
  result: boolean | null,
  comment: string,
  changes: Record<string, unknown> = {},
) {
  return { name, result, comment, changes }
}

/** Keys of `wanted` whose value differs from `current`, as `{key: {old, new}}`. */
export function diff(
  current: Record<string, unknown>,
  wanted: Record<string, unknown>,
): Record<string, { old: unknown; new: unknown }> {
  const changes: Record<string, { old: unknown; new: unknown }> = {}
  for (const [key, value] of Object.entries(wanted)) {
    if (value === undefined) continue
    if (JSON.stringify(current[key]) !== JSON.stringify(value))
      changes[key] = { old: current[key] ?? null, new: value }
  }
  return changes
}

export function notFound(what: string): ModuleError {
  return new ModuleError(`${what} not found`, { code: 'BRINE_NOT_FOUND' })
}

export interface FolderWalk {
  dc: Entity
  root: ManagedObjectReference
  /** The folders found along the path, in order. */
  found: Array<{ name: string; obj: ManagedObjectReference }>
  /** The path segments that do not exist (from the first missing one). */
  missing: string[]
}

/** Split `a/b/c` (leading or trailing slashes ignored). */
export function folderSegments(path: string): string[] {
  return path.split('/').filter(Boolean)
}

/** Follow a folder path below a datacenter's root folder of `type`, as far as it exists. */
export async function walkFolders(
  ctx: CallContext,
  datacenter: string,
  type: string,
  path: string,
): Promise<FolderWalk> {
  const si = ctx.serviceInstance
  const { dc, folder: root } = await rootFolderOf(ctx, datacenter, type)
  const segments = folderSegments(path)
  const found: FolderWalk['found'] = []
  let current = root
  for (let i = 0; i < segments.length; i++) {
    const next = await findEntityByName(si, ENTITY_TYPES.folder, segments[i]!, {
      within: current,
      recursive: false,
      signal: ctx.signal,
    })
    if (!next) return { dc, root, found, missing: segments.slice(i) }
    found.push({ name: next.name, obj: next.obj })
    current = next.obj
  }
  return { dc, root, found, missing: [] }
}

/** The folder at `path` in a datacenter's `type` tree; BRINE_NOT_FOUND naming the tree if missing. */
export async function folderAt(
  ctx: CallContext,
  dc: Entity,
  type: string,
  path: string,
): Promise<ManagedObjectReference> {
  const walk = await walkFolders(ctx, dc.obj.value, type, path)
  if (walk.missing.length)
    throw new ModuleError(
      `folder '${path}' not found in the ${type} tree of datacenter '${dc.name}'`,
      {
        code: 'BRINE_NOT_FOUND',
      },
    )
  return walk.found.at(-1)?.obj ?? walk.root
}

/** A repeated SOAP field as an array (absent: [], one element: [it]). */
export const asList = <T>(value: T | T[] | undefined | null): T[] =>
  value == null ? [] : Array.isArray(value) ? value : [value]

/** A boolean field the schema may not type (then it arrives as text). */
export const isTrue = (value: unknown): boolean => value === true || value === 'true'

/** Destroy_Task on an entity, waited for; `{name, id, deleted: true}`. */
export async function deleteEntity(ctx: CallContext, entity: Entity, label: string) {
  await runTask(
    ctx.serviceInstance,
    `deleting ${label} '${entity.name}'`,
    'Destroy_Task',
    { _this: entity.obj },
    {
      signal: ctx.signal,
    },
  )
  return { name: entity.name, id: entity.obj.value, deleted: true }
}

/**
 * The value of an argument given under saltext-vmware's name or brine's (`{cluster_name,
 * cluster}`): the one given, or undefined. When both are given they must agree; otherwise
 * BRINE_ARGUMENT names both, so no alias is ever silently dropped.
 */
export function aliased<T>(values: Record<string, T | undefined>): T | undefined {
  const given = Object.entries(values).filter(([, value]) => value !== undefined)
  for (const [name, value] of given.slice(1)) {
    const [first, expected] = given[0]!
    if (JSON.stringify(value) !== JSON.stringify(expected))
      throw new ModuleError(
        `arguments '${first}' and '${name}' name the same thing and disagree ` +
          `(${JSON.stringify(expected)} and ${JSON.stringify(value)}): give one of them`,
        { code: 'BRINE_ARGUMENT' },
      )
  }
  return given[0]?.[1]
}

/** As `aliased`, for an argument that is required under one of its names. */
export function requiredAliased<T>(values: Record<string, T | undefined>): T {
  const value = aliased(values)
  if (value === undefined) {
    const [first, ...others] = Object.keys(values)
    throw new ModuleError(
      `argument '${first}' is required${others.length ? ` (or ${others.map((n) => `'${n}'`).join(', ')})` : ''}`,
      { code: 'BRINE_ARGUMENT' },
    )
  }
  return value
}
