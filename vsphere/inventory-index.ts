// The live inventory index: name → reference for every managed entity of one session, filled
// once through a PropertyCollector filter over a ContainerView of the whole inventory (`name`,
// `parent`, and a VM's `resourcePool`), then kept current with WaitForUpdatesEx (the last
// version, maxWaitSeconds 0) before each lookup. A lookup costs one small round trip whatever
// the size of the inventory, and sees what other clients renamed, created or destroyed.
//
// One index per session (the real ServiceInstance behind a ReconnectProxy): a rebuilt session
// gets a new one, and the collector, its filter and the view are destroyed before the session
// logs out or is detached. Concurrent lookups share one refresh.
import { log } from '../core/log.ts'
import { ManagedObjectNotFoundError, NotAuthenticatedError, TransportError } from './errors.ts'
import { viewObjectSpec } from './property-collector.ts'
import { isAbort, isReconnectProxy } from './reconnect-proxy.ts'
import type { InvokeOptions, ServiceInstance } from './service-instance.ts'
import type { ManagedObjectReference, ObjectUpdate, PropertyChange, UpdateSet } from './types.ts'

/** What the index keeps of one entity: about 100 bytes, strings shared with the decoder. */
interface IndexNode {
  name: string
  type: string
  /** Id of the parent (folder, datacenter, cluster…); undefined under the root folder or for a VM in a vApp. */
  parent: string | undefined
  /** A VM's resource pool id (placement below a cluster or host); undefined for templates. */
  pool: string | undefined
}

/** Types a lookup of `type` matches: a ContainerView of `type` holds these too. */
const SUBTYPES: Record<string, readonly string[]> = {
  Folder: ['Folder', 'StoragePod'],
  ComputeResource: ['ComputeResource', 'ClusterComputeResource'],
  ResourcePool: ['ResourcePool', 'VirtualApp'],
  Network: ['Network', 'DistributedVirtualPortgroup', 'OpaqueNetwork'],
  DistributedVirtualSwitch: ['DistributedVirtualSwitch', 'VmwareDistributedVirtualSwitch'],
}

/** Type names, interned: 5,000 VMs share one 'VirtualMachine' string. */
const interned = new Map<string, string>()
const intern = (text: string): string => {
  const known = interned.get(text)
  if (known !== undefined) return known
  interned.set(text, text)
  return text
}

const MAX_DEPTH = 64

/**
 * A copy of `text` that holds nothing else: a string cut from the decoded answer may be a
 * slice of it and keep the whole answer alive (5,000 ids and names would keep megabytes).
 */
const flat = (text: string): string => Buffer.from(text, 'utf8').toString('utf8')

export function typeMatches(wanted: string, actual: string): boolean {
  return wanted === actual || wanted === 'ManagedEntity' || !!SUBTYPES[wanted]?.includes(actual)
}

export class InventoryIndex {
  /** The session this index belongs to; its server objects live there. */
  readonly session: ServiceInstance
  readonly #nodes = new Map<string, IndexNode>()
  /** name → id, or ids when several entities share the name. */
  readonly #byName = new Map<string, string | string[]>()
  #root = ''
  #collector: ManagedObjectReference | undefined
  #view: ManagedObjectReference | undefined
  #version = ''
  #tail: Promise<void> = Promise.resolve()
  #pending: Promise<void> | undefined
  #unregister: (() => void) | undefined
  /** Set once the index cannot be trusted (a failed build or refresh, or destroyed). */
  broken = false
  /** WaitForUpdatesEx calls made and object updates applied (diagnostics, tests). */
  readonly stats = { refreshes: 0, updates: 0 }

  constructor(session: ServiceInstance) {
    this.session = session
  }

  get size(): number {
    return this.#nodes.size
  }

  /** The server objects behind the index (tests check they are gone after logout). */
  get serverObjects(): { collector?: ManagedObjectReference; view?: ManagedObjectReference } {
    return {
      ...(this.#collector ? { collector: this.#collector } : {}),
      ...(this.#view ? { view: this.#view } : {}),
    }
  }

  /**
   * Bring the index up to date: built on first use, then one WaitForUpdatesEx. Callers that
   * ask while a refresh runs share the next one, which starts after their request. Calls go
   * to the session itself, never through a ReconnectProxy's retry: an update set whose answer
   * was lost cannot be asked for again, so a failed refresh breaks the index instead.
   */
  refresh(options: InvokeOptions = {}): Promise<void> {
    if (this.#pending) return this.#pending
    const run = this.#tail
      .catch(() => {})
      .then(() => {
        this.#pending = undefined
        return this.#pull(options)
      })
    this.#pending = run
    this.#tail = run
    return run
  }

  /** Entities of `type` (or its subtypes) named `name`. */
  find(type: string, name: string): ManagedObjectReference[] {
    const ids = this.#byName.get(name)
    if (ids === undefined) return []
    const found: ManagedObjectReference[] = []
    for (const id of typeof ids === 'string' ? [ids] : ids) {
      const node = this.#nodes.get(id)
      if (node && typeMatches(type, node.type) && this.#rooted(node))
        found.push({ type: node.type, value: id })
    }
    return found
  }

  /** Every entity of `type` (or its subtypes): a scan of the index, for messages. */
  all(type: string): ManagedObjectReference[] {
    const found: ManagedObjectReference[] = []
    for (const [id, node] of this.#nodes)
      if (typeMatches(type, node.type) && this.#rooted(node))
        found.push({ type: node.type, value: id })
    return found
  }

  /** Name and type of the entity with this id, if the index has it. */
  get(id: string): { name: string; type: string } | undefined {
    const node = this.#nodes.get(id)
    return node && this.#rooted(node) ? { name: node.name, type: node.type } : undefined
  }

  nameOf(id: string): string | undefined {
    return this.#nodes.get(id)?.name
  }

  /**
   * Whether `id` lies under `within` as a recursive ContainerView on `within` would hold it:
   * along its parents, and for a VM along its resource pool too. Undefined when the index
   * cannot tell (a VM under a host or cluster by placement only): the caller asks the server.
   */
  contains(within: ManagedObjectReference, id: string, recursive = true): boolean | undefined {
    const node = this.#nodes.get(id)
    if (!node) return false
    if (!recursive) {
      if (node.parent === within.value || node.pool === within.value) return true
      return within.type === 'HostSystem' && node.type === 'VirtualMachine' ? undefined : false
    }
    if (this.#reaches(node.parent, within.value) || this.#reaches(node.pool, within.value))
      return true
    const placementOnly =
      node.type === 'VirtualMachine' &&
      (within.type === 'HostSystem' || within.type.endsWith('ComputeResource'))
    return placementOnly ? undefined : false
  }

  /** `/DC0/vm/folder/name`, from the index's names and parents. */
  pathOf(id: string): string {
    const parts: string[] = []
    let current: string | undefined = id
    for (let depth = 0; current !== undefined && depth < MAX_DEPTH; depth++) {
      const node = this.#nodes.get(current)
      if (!node) break
      parts.unshift(node.name)
      current = node.parent ?? node.pool
    }
    return `/${parts.join('/')}`
  }

  /** Destroy the collector (and its filter) and the view on the server; forget everything. */
  async destroy(options: InvokeOptions = {}): Promise<void> {
    this.broken = true
    this.#unregister?.()
    this.#unregister = undefined
    const collector = this.#collector
    const view = this.#view
    this.#collector = undefined
    this.#view = undefined
    this.#nodes.clear()
    this.#byName.clear()
    const session = this.session
    if (session.closed) return
    await Promise.all([
      collector &&
        session.invoke('DestroyPropertyCollector', { _this: collector }, options).catch(ignore),
      view && session.invoke('DestroyView', { _this: view }, options).catch(ignore),
    ])
  }

  // --- internal ---

  async #pull(options: InvokeOptions): Promise<void> {
    if (this.broken) throw new IndexBrokenError()
    const si = this.session
    try {
      if (!this.#collector) await this.#build(options)
      let updates: UpdateSet | undefined
      do {
        updates = await si.invoke<UpdateSet | undefined>(
          'WaitForUpdatesEx',
          {
            _this: this.#collector,
            version: this.#version,
            options: { maxWaitSeconds: 0 },
          },
          options,
        )
        this.stats.refreshes++
        if (!updates) break
        this.#version = flat(updates.version)
        for (const filter of updates.filterSet) {
          for (const update of filter.objectSet) this.#apply(update)
          this.stats.updates += filter.objectSet.length
        }
      } while (updates.truncated)
    } catch (error) {
      // A refresh cut short leaves the index at an unknown point: the next lookup builds anew.
      this.broken = true
      throw error
    }
  }

  async #build(options: InvokeOptions): Promise<void> {
    const si = this.session
    const { content } = si
    this.#root = content.rootFolder.value
    // Registered first, so the objects are destroyed even if the build fails half-way.
    this.#unregister = this.session.onTeardown((signal) => this.destroy({ signal }))
    this.#collector = await si.invoke<ManagedObjectReference>(
      'CreatePropertyCollector',
      { _this: content.propertyCollector },
      options,
    )
    this.#view = await si.invoke<ManagedObjectReference>(
      'CreateContainerView',
      {
        _this: content.viewManager,
        container: content.rootFolder,
        type: ['ManagedEntity'],
        recursive: true,
      },
      options,
    )
    await si.invoke(
      'CreateFilter',
      {
        _this: this.#collector,
        spec: {
          propSet: [
            { type: 'ManagedEntity', pathSet: ['name', 'parent'] },
            { type: 'VirtualMachine', pathSet: ['resourcePool'] },
          ],
          objectSet: [viewObjectSpec(this.#view)],
        },
        partialUpdates: false,
      },
      options,
    )
    log.debug('inventory', 'index created on %s', this.session.params.url.host)
  }

  #apply(update: ObjectUpdate): void {
    const id = flat(update.obj.value)
    if (update.kind === 'leave') {
      const node = this.#nodes.get(id)
      if (node) this.#unname(node.name, id)
      this.#nodes.delete(id)
      return
    }
    let node = this.#nodes.get(id)
    if (!node) {
      node = { name: '', type: intern(flat(update.obj.type)), parent: undefined, pool: undefined }
      this.#nodes.set(id, node)
    }
    for (const change of update.changeSet) this.#change(node, id, change)
  }

  #change(node: IndexNode, id: string, change: PropertyChange): void {
    const removed = change.op === 'remove' || change.op === 'indirectRemove'
    switch (change.name) {
      case 'name': {
        const name = removed ? '' : flat(String(change.val ?? ''))
        if (name === node.name) return
        if (node.name) this.#unname(node.name, id)
        node.name = name
        if (name) this.#addName(name, id)
        return
      }
      case 'parent':
        node.parent = removed ? undefined : idOf(change.val)
        return
      case 'resourcePool':
        node.pool = removed ? undefined : idOf(change.val)
        return
    }
  }

  #addName(name: string, id: string): void {
    const ids = this.#byName.get(name)
    if (ids === undefined) this.#byName.set(name, id)
    else if (typeof ids === 'string') {
      if (ids !== id) this.#byName.set(name, [ids, id])
    } else if (!ids.includes(id)) ids.push(id)
  }

  #unname(name: string, id: string): void {
    const ids = this.#byName.get(name)
    if (ids === undefined) return
    if (typeof ids === 'string') {
      if (ids === id) this.#byName.delete(name)
      return
    }
    const rest = ids.filter((other) => other !== id)
    if (rest.length === 1) this.#byName.set(name, rest[0]!)
    else this.#byName.set(name, rest)
  }

  /**
   * Whether the entity still hangs below the root folder. A ContainerView can go on holding
   * entities whose ancestor was destroyed (vcsim 0.24.2 removes a destroyed datacenter but not
   * what was inside it); they are not in the inventory, so no lookup may return them.
   */
  #rooted(node: IndexNode): boolean {
    return this.#reaches(node.parent ?? node.pool, this.#root)
  }

  #reaches(from: string | undefined, target: string): boolean {
    let current = from
    for (let depth = 0; current !== undefined && depth < MAX_DEPTH; depth++) {
      if (current === target) return true
      const node: IndexNode | undefined = this.#nodes.get(current)
      if (!node) return false
      current = node.parent ?? node.pool
    }
    return false
  }
}

class IndexBrokenError extends Error {
  constructor() {
    super('the inventory index is being rebuilt')
  }
}

const ignore = () => {}

/** The id of a reference, as a string of its own (see `flat`); parents repeat, so shared. */
const ids = new Map<string, string>()
function idOf(value: unknown): string | undefined {
  const id = (value as ManagedObjectReference | undefined)?.value
  if (id === undefined) return undefined
  return ids.get(id) ?? flatten(id)
}
function flatten(id: string): string {
  const copy = flat(id)
  if (ids.size > 100_000) ids.clear()
  ids.set(copy, copy)
  return copy
}

const indexes = new WeakMap<ServiceInstance, InventoryIndex>()

/**
 * The current index of `si`'s session, refreshed. After a failure the index is built anew,
 * once, on the session `si` then gives (a ReconnectProxy replaces a dead session, and is made
 * to check one whose connection failed); a second failure is thrown.
 */
export async function inventoryIndex(
  si: ServiceInstance,
  options: InvokeOptions = {},
): Promise<InventoryIndex> {
  for (let attempt = 1; ; attempt++) {
    const session = await si.ready()
    let index = indexes.get(session)
    if (!index || index.broken) {
      if (index) void index.destroy().catch(ignore)
      index = new InventoryIndex(session)
      indexes.set(session, index)
    }
    try {
      await index.refresh(options)
      return index
    } catch (error) {
      // An aborted lookup (SIGINT, failhard) ends here: no rebuild, no new login.
      if (isAbort(error, options.signal)) throw error
      if (attempt >= 2 || !(isStale(error) || error instanceof TransportError)) throw error
      if (error instanceof TransportError && isReconnectProxy(si)) session.valid = false
      log.debug('inventory', 'rebuilding the index: %s', (error as Error).message)
    }
  }
}

/** The index of `si`'s session if one was built (no network). */
export function existingIndex(session: ServiceInstance): InventoryIndex | undefined {
  const index = indexes.get(session)
  return index && !index.broken ? index : undefined
}

/** The collector or view belongs to a session that is gone, or a refresh broke off. */
function isStale(error: unknown): boolean {
  return (
    error instanceof ManagedObjectNotFoundError ||
    error instanceof NotAuthenticatedError ||
    error instanceof IndexBrokenError
  )
}
