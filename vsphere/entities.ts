import { inspectPoint } from '../core/inspect.ts'
import { ManagedObjectNotFoundError, VsphereError } from './errors.ts'
import { type InventoryIndex, inventoryIndex } from './inventory-index.ts'
import {
  propertiesOf,
  type RetrievedObject,
  retrieveAll,
  retrieveObjectProperties,
  retrieveProperties,
} from './property-collector.ts'
import type { InvokeOptions, ServiceInstance } from './service-instance.ts'
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

/**
 * The one entity of `type` named `name` under `within`. The name resolves through the
 * session's live inventory index (one WaitForUpdatesEx round trip); the wanted `props` are
 * then read from that one object. The cost does not grow with the inventory.
 */
export async function getEntityByName(
  si: ServiceInstance,
  type: string,
  name: string,
  options: FindOptions = {},
): Promise<Entity> {
  const found = await findEntityByName(si, type, name, options)
  if (found) return found
  const index = await inventoryIndex(si, { signal: options.signal })
  const where = options.withinLabel ? ` in ${options.withinLabel}` : ''
  const names = (await scoped(si, index, index.all(type), options, false))
    .map((obj) => index.nameOf(obj.value) ?? obj.value)
    .sort()
  const shown =
    names.length > 10
      ? `${names.slice(0, 10).join(', ')}, … (${names.length})`
      : names.join(', ') || 'none'
  throw new EntityNotFoundError(type, name, `${where} (have: ${shown})`)
}

/**
 * Like `getEntityByName`, but undefined when there is no such entity (states asking whether
 * something exists). Several of that name are still AmbiguousEntityError.
 */
export async function findEntityByName(
  si: ServiceInstance,
  type: string,
  name: string,
  options: FindOptions = {},
): Promise<Entity | undefined> {
  // A rename or destroy between the refresh and the read of the properties is seen by the
  // read (another name, or no object): look again once, after a new refresh.
  for (let attempt = 1; ; attempt++) {
    const index = await inventoryIndex(si, { signal: options.signal })
    const found = await scoped(si, index, index.find(type, name), options)
    inspectPoint('ENT1', `${type} '${name}'`, () => ({
      candidates: index.find(type, name).map((obj) => obj.value),
      matched: found.map((obj) => obj.value),
    }))
    if (found.length === 0) return undefined
    if (found.length > 1)
      throw new AmbiguousEntityError(
        type,
        name,
        found.map((obj) => ({ id: obj.value, path: index.pathOf(obj.value) })),
      )
    const obj = found[0]!
    if (!options.props?.length) return { obj, name, props: { name } }
    const props = await retrieveObjectProperties(si, obj, ['name', ...options.props], {
      signal: options.signal,
    }).catch((error: unknown) => {
      if (error instanceof ManagedObjectNotFoundError) return undefined
      throw error
    })
    if (props?.name === name) return { obj, name, props }
    if (attempt >= 2) return undefined
  }
}

/**
 * The candidates that lie under `options.within`. The index decides from parents and resource
 * pools; a VM placed under a host or cluster only through its host (a template) is checked
 * by reading `runtime.host` of those few candidates, unless `ask` is false (messages).
 */
async function scoped(
  si: ServiceInstance,
  index: InventoryIndex,
  candidates: ManagedObjectReference[],
  options: FindOptions,
  ask = true,
): Promise<ManagedObjectReference[]> {
  const within = options.within
  if (!within) return candidates
  const recursive = options.recursive ?? true
  const inside: ManagedObjectReference[] = []
  const unsure: ManagedObjectReference[] = []
  for (const obj of candidates) {
    const verdict = index.contains(within, obj.value, recursive)
    if (verdict === true) inside.push(obj)
    else if (verdict === undefined) unsure.push(obj)
  }
  if (!unsure.length || !ask) return inside
  const hosts = await retrieveProperties(
    si,
    [
      {
        propSet: [{ type: 'VirtualMachine', pathSet: ['runtime.host'] }],
        objectSet: unsure.map((obj) => ({ obj })),
        reportMissingObjectsInResults: true,
      },
    ],
    { signal: options.signal },
  )
  for (const object of hosts) {
    const host = propertiesOf(object)['runtime.host'] as ManagedObjectReference | undefined
    if (!host) continue
    if (host.value === within.value || (recursive && index.contains(within, host.value)))
      inside.push(object.obj)
  }
  return inside
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

/**
 * Inventory paths (`/DC0/vm/web/vm1`) of entities, from their own ancestors: one
 * PropertyCollector call that follows `parent` from each entity up to the root (govmomi's
 * `mo.Ancestors`), whatever the size of the inventory.
 */
export async function inventoryPaths(
  si: ServiceInstance,
  objs: ManagedObjectReference[],
  options: InvokeOptions = {},
): Promise<Map<string, string>> {
  const paths = new Map<string, string>()
  if (!objs.length) return paths
  const { content } = await si.ready()
  const objects = await retrieveProperties(
    si,
    [
      {
        propSet: [{ type: 'ManagedEntity', pathSet: ['name', 'parent'] }],
        objectSet: objs.map((obj) => ({
          obj,
          selectSet: [
            {
              _type: 'TraversalSpec',
              name: 'parent',
              type: 'ManagedEntity',
              path: 'parent',
              skip: false,
              selectSet: [{ _type: 'SelectionSpec', name: 'parent' }],
            },
          ],
        })),
      },
    ],
    options,
  )
  const nodes = new Map<string, { name: string; parent: ManagedObjectReference | undefined }>()
  for (const object of objects) {
    const props = propertiesOf(object)
    nodes.set(object.obj.value, {
      name: String(props.name),
      parent: props.parent as ManagedObjectReference | undefined,
    })
  }
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
