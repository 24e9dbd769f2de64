import { log } from '../core/log.ts'
import { moref } from './codec.ts'
import { ManagedObjectNotFoundError, NotAuthenticatedError, TransportError } from './errors.ts'
import { localizedFaultError } from './faults.ts'
import { isReconnectProxy, proxyTarget } from './reconnect-proxy.ts'
import type { InvokeOptions, ServiceInstance } from './service-instance.ts'
import type {
  ManagedObjectReference,
  ObjectContent,
  ObjectSpec,
  PropertyFilterSpec,
  RetrieveResult,
} from './types.ts'

export interface RetrieveOptions extends InvokeOptions {
  /** Page size asked of the server (RetrieveOptions.maxObjects); the server may send fewer. */
  maxObjects?: number | undefined
}

/**
 * RetrievePropertiesEx, then ContinueRetrievePropertiesEx until no token is left, so callers
 * always get every object. A NotAuthenticated fault hidden in a missingSet (a 200 answer)
 * becomes NotAuthenticatedError, as a SOAP fault would.
 */
export async function retrieveProperties(
  si: ServiceInstance,
  specSet: PropertyFilterSpec[],
  options: RetrieveOptions = {},
): Promise<ObjectContent[]> {
  const collector = (await si.ready()).content.propertyCollector
  const retrieveOptions = options.maxObjects ? { maxObjects: options.maxObjects } : {}
  let result = await si.invoke<RetrieveResult | undefined>(
    'RetrievePropertiesEx',
    { _this: collector, specSet, options: retrieveOptions },
    options,
  )
  const objects: ObjectContent[] = []
  while (result) {
    for (const object of result.objects) {
      throwIfNotAuthenticated(si, object)
      objects.push(object)
    }
    if (!result.token) break
    result = await si.invoke<RetrieveResult | undefined>(
      'ContinueRetrievePropertiesEx',
      { _this: collector, token: result.token },
      options,
    )
  }
  return objects
}

/** Properties of one object, as a path → value record (missing properties are absent). */
export async function retrieveObjectProperties(
  si: ServiceInstance,
  obj: ManagedObjectReference,
  pathSet: string[],
  options: InvokeOptions = {},
): Promise<Record<string, unknown>> {
  const [object] = await retrieveProperties(
    si,
    [{ propSet: [{ type: obj.type, pathSet }], objectSet: [{ obj }] }],
    options,
  )
  return object ? propertiesOf(object) : {}
}

export interface RetrievedObject {
  obj: ManagedObjectReference
  props: Record<string, unknown>
}

export interface RetrieveAllOptions extends RetrieveOptions {
  /** Where to start; default the root folder. */
  root?: ManagedObjectReference | undefined
  /** Descend into child folders, datacenters, clusters… Default true. */
  recursive?: boolean | undefined
}

/**
 * The given properties of every object of `type` under `root`, in one PropertyCollector round
 * trip (plus pages): a ContainerView, RetrievePropertiesEx over it, and DestroyView; for
 * datacenters under a folder, one RetrievePropertiesEx (retrieveDatacenters).
 *
 * A view of the whole inventory (no `root`, recursive) is made once per session and type and
 * kept (ServiceInstance.views, and with a stored session in the session store): a later call,
 * in this process or the next one on the stored session, is the RetrievePropertiesEx alone
 * (issue 21: two of the four round trips of a stored-session `vmware_vm.list`). Such a view
 * ends with its session; vCenter keeps a view's list current as the inventory changes, and
 * a session keeps one per type listed at most. One the server no longer knows is made again.
 *
 * A view belongs to the session that made it. When a ReconnectProxy replaces a dead session
 * between the calls, its retry of RetrievePropertiesEx names a view the new session does not
 * have (ManagedObjectNotFound): the whole sequence then runs once more on the new session.
 * The view is destroyed on its own session, never through the proxy (which could log in
 * again, e.g. after an abort and shutdown, only to destroy a view that died with the session).
 */
export async function retrieveAll(
  si: ServiceInstance,
  type: string,
  pathSet: string[],
  options: RetrieveAllOptions = {},
): Promise<RetrievedObject[]> {
  if (type === 'Datacenter' && (options.root === undefined || options.root.type === 'Folder'))
    return retrieveDatacenters(si, pathSet, options)
  // A view of the whole inventory is kept on the session (ServiceInstance.views).
  const kept = options.root === undefined && options.recursive !== false
  for (let attempt = 1; ; attempt++) {
    const { content } = await si.ready()
    let view = kept ? (proxyTarget(si) ?? si).views.get(type) : undefined
    const reused = view !== undefined
    view ??= await createContainerView(
      si,
      options.root ?? content.rootFolder,
      [type],
      options.recursive ?? true,
      options,
    )
    // The session the view lives on (the proxy may have replaced one during the call).
    const owner = proxyTarget(si) ?? si
    if (kept && !reused) {
      owner.views.set(type, view)
      owner.viewsChanged = true
    }
    try {
      const objects = await retrieveProperties(
        si,
        [
          {
            propSet: [{ type, pathSet }],
            objectSet: [viewObjectSpec(view)],
          },
        ],
        options,
      )
      return objects.map((object) => ({ obj: object.obj, props: propertiesOf(object) }))
    } catch (error) {
      const gone = isGone(view, error)
      if (gone && owner.views.get(type) === view) {
        owner.views.delete(type)
        owner.viewsChanged = true
      }
      if (attempt >= 2 || options.signal?.aborted) throw error
      if (reused && gone) {
        log.debug('session', 'the kept view of %s is gone; creating it again', type)
        continue
      }
      if (!viewDiedWithSession(si, owner, view, error)) throw error
      log.debug(
        'session',
        'the view of %s died with its session; creating it again on the new one',
        type,
      )
    } finally {
      if (!kept && !owner.closed && owner.valid) await destroyView(owner, view).catch(() => {})
    }
  }
}

/**
 * Datacenters live only in folders, from the root folder down: a traversal of
 * Folder.childEntity reads them in one round trip that costs what the folders and
 * datacenters cost, where a ContainerView of type Datacenter walks the whole inventory
 * under the root, VMs and hosts included, and costs two more round trips (issue 21: a
 * stored-session `vmware_datacenter.list` on a 5,000-VM vCenter). The traversal stops at
 * each datacenter: only folders are entered.
 */
async function retrieveDatacenters(
  si: ServiceInstance,
  pathSet: string[],
  options: RetrieveAllOptions,
): Promise<RetrievedObject[]> {
  const spec = (root: ManagedObjectReference): PropertyFilterSpec => ({
    propSet: [{ type: 'Datacenter', pathSet }],
    objectSet: [
      {
        obj: root,
        skip: true,
        selectSet: [
          {
            _type: 'TraversalSpec',
            name: 'folders',
            type: 'Folder',
            path: 'childEntity',
            skip: false,
            selectSet:
              options.recursive === false ? [] : [{ _type: 'SelectionSpec', name: 'folders' }],
          },
        ],
      },
    ],
  })
  for (let attempt = 1; ; attempt++) {
    const root = options.root ?? (await si.ready()).content.rootFolder
    try {
      const objects = await retrieveProperties(si, [spec(root)], options)
      return objects
        .filter((object) => object.obj.type === 'Datacenter')
        .map((object) => ({ obj: object.obj, props: propertiesOf(object) }))
    } catch (error) {
      // A dead session answers NotAuthenticated inside a 200 answer (a missingSet), which the
      // ReconnectProxy cannot see: the session is marked invalid (throwIfNotAuthenticated),
      // and the proxy replaces it before the one more attempt.
      if (
        attempt >= 2 ||
        options.signal?.aborted ||
        !isReconnectProxy(si) ||
        !(error instanceof NotAuthenticatedError)
      )
        throw error
      log.debug('session', 'the session died while listing datacenters; once more on a new one')
    }
  }
}

/**
 * The view is gone because its session is: the proxy replaced the session during the call
 * (its retry named the old view), the server answered ManagedObjectNotFound for the view
 * itself (vcsim does so for a view of a terminated session), or a NotAuthenticated hidden in
 * a missingSet. The old session is then marked invalid, so that the proxy checks it (and
 * replaces it when dead) before the next attempt, and nothing more is sent to it.
 */
function viewDiedWithSession(
  si: ServiceInstance,
  owner: ServiceInstance,
  view: ManagedObjectReference,
  error: unknown,
): boolean {
  if (!isReconnectProxy(si)) return false
  const replaced = proxyTarget(si) !== owner
  const gone = (replaced && error instanceof ManagedObjectNotFoundError) || isGone(view, error)
  if (!gone && !(error instanceof NotAuthenticatedError)) return false
  owner.valid = false
  return true
}

/** The server does not know `view` (ManagedObjectNotFound naming it). */
function isGone(view: ManagedObjectReference, error: unknown): boolean {
  return (
    error instanceof ManagedObjectNotFoundError &&
    (error.fault?.obj as ManagedObjectReference | undefined)?.value === view.value
  )
}

/** The ObjectSpec that reaches every object a ContainerView holds (not the view itself). */
export function viewObjectSpec(view: ManagedObjectReference): ObjectSpec {
  return {
    obj: view,
    skip: true,
    selectSet: [
      { _type: 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false },
    ],
  }
}

export async function createContainerView(
  si: ServiceInstance,
  container: ManagedObjectReference,
  types: string[],
  recursive: boolean,
  options: InvokeOptions = {},
): Promise<ManagedObjectReference> {
  const viewManager = (await si.ready()).content.viewManager ?? moref('ViewManager', 'ViewManager')
  return si.invoke<ManagedObjectReference>(
    'CreateContainerView',
    { _this: viewManager, container, type: types, recursive },
    options,
  )
}

export async function destroyView(
  si: ServiceInstance,
  view: ManagedObjectReference,
): Promise<void> {
  await si.invoke('DestroyView', { _this: view })
}

/** SearchIndex.FindByInventoryPath (`DC0/vm/web01`); null when nothing is there. */
export async function findByInventoryPath(
  si: ServiceInstance,
  inventoryPath: string,
  options: InvokeOptions = {},
): Promise<ManagedObjectReference | null> {
  const found = await si.invoke<ManagedObjectReference | undefined>(
    'FindByInventoryPath',
    { _this: (await si.ready()).content.searchIndex, inventoryPath },
    options,
  )
  return found ?? null
}

/** `propSet` as a record; a faulted property is reported under `missingSet`, not here. */
export function propertiesOf(object: ObjectContent): Record<string, unknown> {
  const props: Record<string, unknown> = {}
  // (An indexed loop: 5,000 objects in a short process run before V8 compiles this, where
  // an iterator and a destructuring per property cost.)
  const propSet = object.propSet
  for (let i = 0; i < propSet.length; i++) {
    const property = propSet[i]!
    props[property.name] = property.val
  }
  return props
}

function throwIfNotAuthenticated(si: ServiceInstance, object: ObjectContent): void {
  for (const missing of object.missingSet) {
    if (missing.fault.fault._type === 'NotAuthenticated') {
      si.valid = false
      const error = localizedFaultError('RetrievePropertiesEx', object.obj, missing.fault)
      throw error
    }
  }
}

/**
 * A PropertyCollector of its own (CreatePropertyCollector) with one filter on `pathSet` of
 * one object, for a WaitForUpdatesEx loop that must not disturb the session's shared
 * collector (a task's progress, a guest's tools and address). Destroyed again if the filter
 * cannot be made.
 */
export async function createObjectCollector(
  session: ServiceInstance,
  obj: ManagedObjectReference,
  pathSet: string[],
  signal: AbortSignal | undefined,
): Promise<ManagedObjectReference> {
  const collector = await session.invoke<ManagedObjectReference>(
    'CreatePropertyCollector',
    { _this: session.content.propertyCollector },
    { signal },
  )
  try {
    await session.invoke(
      'CreateFilter',
      {
        _this: collector,
        spec: { propSet: [{ type: obj.type, pathSet }], objectSet: [{ obj }] },
        partialUpdates: false,
      },
      { signal },
    )
    return collector
  } catch (error) {
    await destroyCollector(session, collector)
    throw error
  }
}

/** DestroyPropertyCollector, bounded; a failure is logged (not at all when the link is gone). */
export async function destroyCollector(
  session: ServiceInstance,
  collector: ManagedObjectReference,
): Promise<void> {
  if (session.closed) return
  await session
    .invoke(
      'DestroyPropertyCollector',
      { _this: collector },
      { signal: AbortSignal.timeout(10_000) },
    )
    .catch((error: unknown) => {
      if (!(error instanceof TransportError))
        log.debug('vsphere', 'DestroyPropertyCollector failed: %s', (error as Error).message)
    })
}
