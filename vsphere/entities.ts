import { inspectPoint } from '../core/inspect.ts'
import { ManagedObjectNotFoundError, VsphereError } from './errors.ts'
import {
  type RetrievedObject,
  retrieveAll,
  retrieveObjectProperties,
} from './property-collector.ts'
import type { ServiceInstance } from './service-instance.ts'
import type { ManagedObjectReference } from './types.ts'

/**
 * Finding inventory entities by name (within a container where names are not unique), by id
 * (the managed object reference value, e.g. `vm-42`), or by name-or-id. A missing entity is
 * EntityNotFoundError, several with one name AmbiguousEntityError listing them: never a null
 * that looks like success.
 */
export const ENTITY_TYPES = {
  datacenter: 'Datacenter',
  folder: 'Folder',
  cluster: 'ClusterComputeResource',
  host: 'HostSystem',
  vm: 'VirtualMachine',
  datastore: 'Datastore',
  resourcepool: 'ResourcePool',
  network: 'Network',
  dvswitch: 'DistributedVirtualSwitch',
  portgroup: 'DistributedVirtualPortgroup',
} as const

/** `ClusterComputeResource` → `cluster`, for messages. */
const LABELS: Record<string, string> = Object.fromEntries(
  Object.entries(ENTITY_TYPES).map(([label, type]) => [type, label]),
)
const ID_PATTERN =
  /^(vm|host|datastore|datacenter|group|domain|resgroup|network|dvs|dvportgroup|folder|cluster|clustercomputeresource|computeresource|vapp|storagepod)-[\w-]+$/i

export class EntityNotFoundError extends VsphereError {
  static override readonly kind: string = 'EntityNotFoundError'
  readonly entityType: string
  readonly lookup: string
  constructor(entityType: string, lookup: string, detail = '') {
    super(`${LABELS[entityType] ?? entityType} '${lookup}' not found${detail}`, {
      code: 'BRINE_NOT_FOUND',
    })
    this.entityType = entityType
    this.lookup = lookup
  }
}

export class AmbiguousEntityError extends VsphereError {
  static override readonly kind: string = 'AmbiguousEntityError'
  readonly candidates: Array<{ id: string; path: string }>
  constructor(entityType: string, name: string, candidates: Array<{ id: string; path: string }>) {
    super(
      `${LABELS[entityType] ?? entityType} name '${name}' is ambiguous: ${candidates.map((c) => `${c.path} (${c.id})`).join(', ')}. Give the id, or narrow it with a datacenter, folder or cluster.`,
      { code: 'BRINE_AMBIGUOUS' },
    )
    this.candidates = candidates
  }
}

export interface Entity {
  obj: ManagedObjectReference
  name: string
  props: Record<string, unknown>
}

export interface FindOptions {
  /** Container to search in (a datacenter, folder, cluster, host…); default the root folder. */
  within?: ManagedObjectReference | undefined
  /** How `within` is called in messages, e.g. "datacenter 'DC0'". */
  withinLabel?: string | undefined
  /** Extra properties to fetch with the name. */
  props?: string[] | undefined
  /** Search below `within` at any depth (default) or only its direct children. */
  recursive?: boolean | undefined
  signal?: AbortSignal | undefined
}

/** Every entity of `type` (name and `props`) under `within`. */
export async function listEntities(
  si: ServiceInstance,
  type: string,
  options: FindOptions = {},
): Promise<Entity[]> {
  const objects = await retrieveAll(si, type, ['name', ...(options.props ?? [])], {
    root: options.within,
    recursive: options.recursive,
    signal: options.signal,
  })
  return objects.map(toEntity)
}

/** The one entity of `type` named `name` under `within`. */
export async function getEntityByName(
  si: ServiceInstance,
  type: string,
  name: string,
  options: FindOptions = {},
): Promise<Entity> {
  const all = await listEntities(si, type, options)
  const found = all.filter((entity) => entity.name === name)
  inspectPoint('ENT1', `${type} '${name}'`, () => ({
    candidates: all.map((e) => [e.obj.value, e.name]),
    matched: found.map((e) => e.obj.value),
  }))
  if (found.length === 1) return found[0]!
  const where = options.withinLabel ? ` in ${options.withinLabel}` : ''
  if (found.length === 0) {
    const names = all.map((e) => e.name).sort()
    const shown =
      names.length > 10
        ? `${names.slice(0, 10).join(', ')}, … (${names.length})`
        : names.join(', ') || 'none'
    throw new EntityNotFoundError(type, name, `${where} (have: ${shown})`)
  }
  const paths = await inventoryPaths(
    si,
    found.map((e) => e.obj),
  )
  throw new AmbiguousEntityError(
    type,
    name,
    found.map((e) => ({ id: e.obj.value, path: paths.get(e.obj.value) ?? e.name })),
  )
}

/** The entity with this managed object id (`vm-42`). */
export async function getEntityById(
  si: ServiceInstance,
  type: string,
  id: string,
  options: FindOptions = {},
): Promise<Entity> {
  const obj = { type, value: id }
  try {
    const props = await retrieveObjectProperties(si, obj, ['name', ...(options.props ?? [])], {
      signal: options.signal,
    })
    if (props.name === undefined) throw new EntityNotFoundError(type, id)
    return { obj, name: String(props.name), props }
  } catch (error) {
    if (error instanceof ManagedObjectNotFoundError)
      throw new EntityNotFoundError(type, id, ' (no such id)')
    throw error
  }
}

/** By id when the text looks like one and exists, else by name. */
export async function getEntity(
  si: ServiceInstance,
  type: string,
  nameOrId: string,
  options: FindOptions = {},
): Promise<Entity> {
  if (ID_PATTERN.test(nameOrId)) {
    try {
      return await getEntityById(si, type, nameOrId, options)
    } catch (error) {
      if (!(error instanceof EntityNotFoundError)) throw error
    }
  }
  return getEntityByName(si, type, nameOrId, options)
}

/** Inventory paths (`/DC0/vm/web/vm1`) of entities, from one PropertyCollector read of names and parents. */
export async function inventoryPaths(
  si: ServiceInstance,
  objs: ManagedObjectReference[],
): Promise<Map<string, string>> {
  const { content } = await si.ready()
  const nodes = new Map<string, { name: string; parent: ManagedObjectReference | undefined }>()
  const types = [
    'Folder',
    'Datacenter',
    'ClusterComputeResource',
    'ComputeResource',
    'HostSystem',
    'ResourcePool',
    'VirtualMachine',
    'Datastore',
    'Network',
  ]
  for (const type of types) {
    for (const object of await retrieveAll(si, type, ['name', 'parent'])) {
      nodes.set(object.obj.value, {
        name: String(object.props.name),
        parent: object.props.parent as ManagedObjectReference | undefined,
      })
    }
  }
  const paths = new Map<string, string>()
  for (const obj of objs) {
    const parts: string[] = []
    let current: ManagedObjectReference | undefined = obj
    for (
      let depth = 0;
      current && current.value !== content.rootFolder.value && depth < 64;
      depth++
    ) {
      const node = nodes.get(current.value)
      if (!node) break
      parts.unshift(node.name)
      current = node.parent
    }
    paths.set(obj.value, `/${parts.join('/')}`)
  }
  return paths
}

function toEntity(object: RetrievedObject): Entity {
  return { obj: object.obj, name: String(object.props.name), props: object.props }
}
