// Finding inventory entities by name (within a container where names are not unique), by id
// (the managed object reference value, e.g. `vm-42`), or by name-or-id. Names resolve through
// the session's inventory index (inventory-index.ts), and one read gives the entity's
// properties, path and referenced names, so a lookup costs the same on any inventory. A missing
// entity is EntityNotFoundError, several with one name AmbiguousEntityError listing them: never
// a null that looks like success (findEntityByName's undefined is for "does it exist?").
import { inspectPoint } from '../core/inspect.ts'
import { ManagedObjectNotFoundError, VsphereError } from './errors.ts'
import {
  existingIndex,
  type InventoryIndex,
  inventoryIndex,
  typeMatches,
} from './inventory-index.ts'
import {
  propertiesOf,
  type RetrievedObject,
  retrieveAll,
  retrieveProperties,
} from './property-collector.ts'
import type { InvokeOptions, ServiceInstance } from './service-instance.ts'
import type { ManagedObjectReference, SelectionSpec } from './types.ts'

/** Entity types by the short names modules use. */
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
  /** Inventory path (`/DC0/vm/web/vm1`), when asked for with `path: true`. */
  path?: string
  /** Names of the entities the `names` properties point to, by id, when asked for. */
  names?: Map<string, string>
}

export interface FindOptions {
  /** Container to search in (a datacenter, folder, cluster, host…); default the root folder. */
  within?: ManagedObjectReference | undefined
  /** How `within` is called in messages, e.g. "datacenter 'DC0'". */
  withinLabel?: string | undefined
  /** Extra properties to fetch with the name. */
  props?: string[] | undefined
  /**
   * The container by name or id (a datacenter, usually), resolved from the same index refresh
   * as the entity itself: one round trip for both. Replaces `within`.
   */
  container?: { type: string; nameOrId: string } | undefined
  /** Search below `within` at any depth (default) or only its direct children. */
  recursive?: boolean | undefined
  /** Also give the entity's inventory path (read with its properties, in the same call). */
  path?: boolean | undefined
  /**
   * Properties of the entity holding references (a VM's `network`) whose entities' names are
   * wanted: read with its properties, in the same call.
   */
  names?: string[] | undefined
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
  const scope = containerScope(index, options)
  const where = scope.withinLabel ? ` in ${scope.withinLabel}` : ''
  const names = (await scoped(si, index, index.all(type), scope, false))
    .map((obj) => index.nameOf(obj.value) ?? obj.value)
    .sort()
  throw new EntityNotFoundError(type, name, `${where} (have: ${shortList(names)})`)
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
  const reads = !!(options.props?.length || options.path || options.names?.length)
  // A rename or destroy between the refresh and the read of the properties is seen by the
  // read (another name, or no object): look again once, after a new refresh.
  for (let attempt = 1; ; attempt++) {
    const guess = attempt === 1 && reads ? await guessFromIndex(si, type, name, options) : undefined
    // The read of the entity the index already names goes out with the refresh, not after it.
    const early = guess && readEntity(si, guess, options)
    early?.catch(() => {})
    const index = await inventoryIndex(si, { signal: options.signal })
    const scope = containerScope(index, options)
    const found = await scoped(si, index, index.find(type, name), scope)
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
    if (!reads) return { obj, name, props: { name } }
    // The early read counts if the refresh kept that entity the only one of the name: it was
    // so when the refresh started, and the read (started then too) shows it still has the name.
    if (early && obj.value === guess.value) {
      const entity = await early.catch(() => undefined)
      if (entity?.name === name) return entity
    }
    const entity = await readEntity(si, obj, options).catch((error: unknown) => {
      if (error instanceof ManagedObjectNotFoundError) return undefined
      throw error
    })
    if (entity?.name === name) return entity
    if (attempt >= 2) return undefined
  }
}

/**
 * The one entity of that name the session's index held at its last refresh, if it can tell
 * without asking the server; undefined otherwise (no index yet, none or several, unsure).
 */
async function guessFromIndex(
  si: ServiceInstance,
  type: string,
  name: string,
  options: FindOptions,
): Promise<ManagedObjectReference | undefined> {
  const index = existingIndex(await si.ready())
  if (!index?.size) return undefined
  try {
    const scope = containerScope(index, options)
    const found = index
      .find(type, name)
      .filter(
        (obj) => !scope.within || index.contains(scope.within, obj.value, scope.recursive) === true,
      )
    return found.length === 1 ? found[0] : undefined
  } catch {
    return undefined
  }
}

/** `options` with `container` resolved to `within` from the index (no round trip). */
function containerScope(index: InventoryIndex, options: FindOptions): FindOptions {
  const container = options.container
  if (!container) return options
  const label = LABELS[container.type] ?? container.type
  let found: ManagedObjectReference[] = []
  if (ID_PATTERN.test(container.nameOrId)) {
    const known = index.get(container.nameOrId)
    if (known && typeMatches(container.type, known.type))
      found = [{ type: known.type, value: container.nameOrId }]
  }
  if (!found.length) found = index.find(container.type, container.nameOrId)
  if (found.length > 1)
    throw new AmbiguousEntityError(
      container.type,
      container.nameOrId,
      found.map((obj) => ({ id: obj.value, path: index.pathOf(obj.value) })),
    )
  const within = found[0]
  if (!within) {
    const names = index
      .all(container.type)
      .map((obj) => index.nameOf(obj.value) ?? obj.value)
      .sort()
    throw new EntityNotFoundError(
      container.type,
      container.nameOrId,
      ` (have: ${shortList(names)})`,
    )
  }
  return {
    ...options,
    within,
    withinLabel: `${label} '${index.nameOf(within.value) ?? container.nameOrId}'`,
  }
}

function shortList(names: string[]): string {
  return names.length > 10
    ? `${names.slice(0, 10).join(', ')}, … (${names.length})`
    : names.join(', ') || 'none'
}

/**
 * One object's `name` and `props`, and with `path` its ancestors' names, with `names` the
 * names of the entities those properties point to: all in one PropertyCollector call (the
 * ancestors by a `parent` traversal, as govmomi's mo.Ancestors; the others by a traversal of
 * each property).
 */
export async function readEntity(
  si: ServiceInstance,
  obj: ManagedObjectReference,
  options: FindOptions = {},
): Promise<Entity> {
  const selectSet: SelectionSpec[] = []
  if (options.path) selectSet.push(PARENT_TRAVERSAL)
  for (const property of options.names ?? [])
    selectSet.push({
      _type: 'TraversalSpec',
      name: `names:${property}`,
      type: obj.type,
      path: property,
      skip: false,
    })
  const related = selectSet.length > 0
  const objects = await retrieveProperties(
    si,
    [
      {
        propSet: [
          { type: obj.type, pathSet: ['name', ...(options.props ?? [])] },
          ...(related ? [{ type: 'ManagedEntity', pathSet: ['name', 'parent'] }] : []),
        ],
        objectSet: [{ obj, ...(related ? { selectSet } : {}) }],
      },
    ],
    { signal: options.signal },
  )
  const self = objects.find((object) => object.obj.value === obj.value)
  const props = self ? propertiesOf(self) : {}
  if (props.name === undefined) throw new EntityNotFoundError(obj.type, obj.value, ' (no such id)')
  const entity: Entity = { obj, name: String(props.name), props }
  if (!related) return entity
  const nodes = new Map<string, { name: string; parent: ManagedObjectReference | undefined }>()
  for (const object of objects) {
    const values = propertiesOf(object)
    nodes.set(object.obj.value, {
      name: String(values.name),
      parent: values.parent as ManagedObjectReference | undefined,
    })
  }
  if (options.path) {
    const { content } = await si.ready()
    entity.path = pathFrom(nodes, obj, content.rootFolder)
  }
  if (options.names?.length) {
    entity.names = new Map()
    for (const [id, node] of nodes) if (id !== obj.value) entity.names.set(id, node.name)
  }
  return entity
}

const PARENT_TRAVERSAL: SelectionSpec = {
  _type: 'TraversalSpec',
  name: 'parent',
  type: 'ManagedEntity',
  path: 'parent',
  skip: false,
  selectSet: [{ _type: 'SelectionSpec', name: 'parent' }],
}

/** `/DC0/vm/web/vm1` from names and parents, up to (not including) the root folder. */
function pathFrom(
  nodes: Map<string, { name: string; parent: ManagedObjectReference | undefined }>,
  obj: ManagedObjectReference,
  root: ManagedObjectReference,
): string {
  const parts: string[] = []
  let current: ManagedObjectReference | undefined = obj
  for (let depth = 0; current && current.value !== root.value && depth < 64; depth++) {
    const node = nodes.get(current.value)
    if (!node) break
    parts.unshift(node.name)
    current = node.parent
  }
  return `/${parts.join('/')}`
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
    return await readEntity(si, obj, options)
  } catch (error) {
    if (error instanceof ManagedObjectNotFoundError)
      throw new EntityNotFoundError(type, id, ' (no such id)')
    throw error
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The VM with this instance UUID, else the one with this BIOS UUID (SearchIndex.FindAllByUuid,
 * within the datacenter when the container is one; other containers filter the answer).
 * Undefined when none; several VMs sharing a BIOS UUID are AmbiguousEntityError.
 */
async function findVmByUuid(
  si: ServiceInstance,
  uuid: string,
  options: FindOptions,
): Promise<Entity | undefined> {
  const { content } = await si.ready()
  const index =
    options.container || options.within
      ? await inventoryIndex(si, { signal: options.signal })
      : undefined
  const scope = index ? containerScope(index, options) : options
  const datacenter = scope.within?.type === ENTITY_TYPES.datacenter ? scope.within : undefined
  for (const instanceUuid of [true, false]) {
    const answer = await si.invoke<ManagedObjectReference[] | undefined>(
      'FindAllByUuid',
      { _this: content.searchIndex, datacenter, uuid, vmSearch: true, instanceUuid },
      { signal: options.signal },
    )
    const all = answer ?? []
    const found = index && !datacenter ? await scoped(si, index, all, scope) : all
    if (found.length > 1) {
      const paths = await inventoryPaths(si, found, { signal: options.signal })
      throw new AmbiguousEntityError(
        ENTITY_TYPES.vm,
        uuid,
        found.map((obj) => ({ id: obj.value, path: paths.get(obj.value) ?? obj.value })),
      )
    }
    if (found[0]) return readEntity(si, found[0], options)
  }
  return undefined
}

/**
 * By id when the text looks like one and exists; a VM by instance or BIOS UUID when it looks
 * like one and one has it; else by name.
 */
export async function getEntity(
  si: ServiceInstance,
  type: string,
  nameOrId: string,
  options: FindOptions = {},
): Promise<Entity> {
  if (type === ENTITY_TYPES.vm && UUID_PATTERN.test(nameOrId)) {
    const found = await findVmByUuid(si, nameOrId, options)
    if (found) return found
  }
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
        objectSet: objs.map((obj) => ({ obj, selectSet: [PARENT_TRAVERSAL] })),
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
  for (const obj of objs) paths.set(obj.value, pathFrom(nodes, obj, content.rootFolder))
  return paths
}

function toEntity(object: RetrievedObject): Entity {
  return { obj: object.obj, name: String(object.props.name), props: object.props }
}
