import { VsphereError } from './errors.ts'
import { API_FLAVOR, openVapiSession, REST_FLAVOR, type VapiFlavor } from './rest.ts'
import type { ServiceInstance } from './service-instance.ts'
import type { ManagedObjectReference } from './types.ts'
import { selectByVersion } from './versions.ts'

/**
 * Tags and categories live in the vSphere Automation REST API, not in vim25 SOAP. Before
 * vSphere 7.0 it is served under `/rest/com/vmware/cis/…` (bodies wrapped in `create_spec`,
 * answers in `{value}`, actions as `~action=`); from 7.0 under `/api/cis/…` (plain JSON,
 * `action=`). The implementation is chosen once from `about.apiVersion`. vcsim 0.24.2 serves
 * only `/rest`; the `/api` branch is tested against a node:http fake.
 */
export interface Category {
  id: string
  name: string
  description: string
  cardinality: 'SINGLE' | 'MULTIPLE'
  associable_types: string[]
}

export interface Tag {
  id: string
  name: string
  description: string
  category_id: string
}

export interface TaggingClient {
  readonly flavor: 'rest' | 'api'
  listCategories(): Promise<Category[]>
  createCategory(spec: Omit<Category, 'id'>): Promise<string>
  /** Change what `spec` gives (name, description, cardinality, associable_types). */
  updateCategory(id: string, spec: Partial<Omit<Category, 'id'>>): Promise<void>
  deleteCategory(id: string): Promise<void>
  listTags(): Promise<Tag[]>
  createTag(spec: Omit<Tag, 'id'>): Promise<string>
  /** Change what `spec` gives (name, description). */
  updateTag(id: string, spec: Partial<Pick<Tag, 'name' | 'description'>>): Promise<void>
  deleteTag(id: string): Promise<void>
  attach(tagId: string, obj: ManagedObjectReference): Promise<void>
  detach(tagId: string, obj: ManagedObjectReference): Promise<void>
  attachedTags(obj: ManagedObjectReference): Promise<string[]>
  attachedObjects(tagId: string): Promise<ManagedObjectReference[]>
  /** Nothing: the REST session ends with the ServiceInstance (see vsphere/rest.ts). */
  close(): Promise<void>
}

export class TaggingError extends VsphereError {
  static override readonly kind: string = 'TaggingError'
  readonly status: number
  constructor(what: string, status: number, body: string) {
    const kind = /already_exists/i.test(body)
      ? 'already exists'
      : status === 404 || /not_found/i.test(body)
        ? 'not found'
        : `HTTP ${status}`
    super(`${what}: ${kind}${body && kind.startsWith('HTTP') ? ` (${body.slice(0, 200)})` : ''}`, {
      code:
        kind === 'already exists'
          ? 'BRINE_TAG_EXISTS'
          : kind === 'not found'
            ? 'BRINE_NOT_FOUND'
            : 'BRINE_TAG_REST',
    })
    this.status = status
  }
}

interface Flavor extends VapiFlavor {
  /** Path of a collection (`category`, `tag`, `tag-association`). */
  base: string
  idPath: (collection: string, id: string) => string
  action: (path: string, action: string) => string
  wrapCreate: (spec: Record<string, unknown>) => unknown
  wrapUpdate: (spec: Record<string, unknown>) => unknown
}

const REST: Flavor = {
  ...REST_FLAVOR,
  base: '/rest/com/vmware/cis/tagging',
  idPath: (collection, id) =>
    `/rest/com/vmware/cis/tagging/${collection}/id:${encodeURIComponent(id)}`,
  action: (path, action) => `${path}?~action=${action}`,
  wrapCreate: (spec) => ({ create_spec: spec }),
  wrapUpdate: (spec) => ({ update_spec: spec }),
}

const API: Flavor = {
  ...API_FLAVOR,
  base: '/api/cis/tagging',
  idPath: (collection, id) => `/api/cis/tagging/${collection}/${encodeURIComponent(id)}`,
  action: (path, action) => `${path}?action=${action}`,
  wrapCreate: (spec) => spec,
  wrapUpdate: (spec) => spec,
}

const FLAVORS = [
  { max: '7.0', impl: REST },
  { min: '7.0', impl: API },
]

/**
 * A tagging client for the vCenter behind `si`, on `si`'s REST session (logged in with the same
 * credentials on first use, shared, and logged out with `si`).
 */
export async function createTaggingClient(si: ServiceInstance): Promise<TaggingClient> {
  const live = await si.ready()
  const flavor = selectByVersion(FLAVORS, live.content.about.apiVersion, 'tagging')
  const session = await openVapiSession(
    si,
    flavor,
    (what, status, body) => new TaggingError(what, status, body),
  )
  const send = session.send
  const objectId = (obj: ManagedObjectReference) => ({
    object_id: { id: obj.value, type: obj.type },
  })
  const list = async <T>(collection: string): Promise<T[]> => {
    const ids =
      ((await send('GET', `${flavor.base}/${collection}`, `listing ${collection}s`)) as
        | string[]
        | null) ?? []
    return Promise.all(
      ids.map(
        async (id) =>
          ({
            ...((await send(
              'GET',
              flavor.idPath(collection, id),
              `reading ${collection} ${id}`,
            )) as object),
            id,
          }) as T,
      ),
    )
  }

  return {
    flavor: flavor.flavor,
    listCategories: () => list<Category>('category'),
    createCategory: async (spec) =>
      String(
        await send(
          'POST',
          `${flavor.base}/category`,
          `creating category '${spec.name}'`,
          flavor.wrapCreate({ ...spec }),
        ),
      ),
    updateCategory: async (id, spec) =>
      void (await send(
        'PATCH',
        flavor.idPath('category', id),
        `updating category ${id}`,
        flavor.wrapUpdate({ ...spec }),
      )),
    deleteCategory: async (id) =>
      void (await send('DELETE', flavor.idPath('category', id), `deleting category ${id}`)),
    listTags: () => list<Tag>('tag'),
    createTag: async (spec) =>
      String(
        await send(
          'POST',
          `${flavor.base}/tag`,
          `creating tag '${spec.name}'`,
          flavor.wrapCreate({ ...spec }),
        ),
      ),
    updateTag: async (id, spec) =>
      void (await send(
        'PATCH',
        flavor.idPath('tag', id),
        `updating tag ${id}`,
        flavor.wrapUpdate({ ...spec }),
      )),
    deleteTag: async (id) =>
      void (await send('DELETE', flavor.idPath('tag', id), `deleting tag ${id}`)),
    attach: async (tagId, obj) =>
      void (await send(
        'POST',
        flavor.action(flavor.idPath('tag-association', tagId), 'attach'),
        `attaching tag ${tagId} to ${obj.value}`,
        objectId(obj),
      )),
    detach: async (tagId, obj) =>
      void (await send(
        'POST',
        flavor.action(flavor.idPath('tag-association', tagId), 'detach'),
        `detaching tag ${tagId} from ${obj.value}`,
        objectId(obj),
      )),
    attachedTags: async (obj) =>
      ((await send(
        'POST',
        flavor.action(`${flavor.base}/tag-association`, 'list-attached-tags'),
        `listing tags of ${obj.value}`,
        objectId(obj),
      )) as string[] | null) ?? [],
    attachedObjects: async (tagId) =>
      (
        ((await send(
          'POST',
          flavor.action(flavor.idPath('tag-association', tagId), 'list-attached-objects'),
          `listing objects of tag ${tagId}`,
          {},
        )) as Array<{ id: string; type: string }> | null) ?? []
      ).map((o) => ({ type: o.type, value: o.id })),
    close: () => session.close(),
  }
}
