import { type CallContext, ModuleError } from 'brine/loader'
import {
  type ContentLibraryClient,
  createContentLibraryClient,
  type Library,
  type LibraryFile,
  type LibraryItem,
} from 'brine/vsphere'

/**
 * Run `fn` with a content library client on the session's vAPI REST session (one login per
 * vSphere session, shared with tagging, logged out when that session ends).
 */
export async function withLibraries<T>(
  ctx: CallContext,
  fn: (client: ContentLibraryClient) => Promise<T>,
): Promise<T> {
  return fn(await createContentLibraryClient(ctx.serviceInstance))
}

/** A library by id or name; undefined when there is none. Two of one name: BRINE_AMBIGUOUS. */
export async function findLibrary(
  client: ContentLibraryClient,
  nameOrId: string,
): Promise<Library | undefined> {
  const all = await client.listLibraries()
  const byId = all.find((l) => l.id === nameOrId)
  if (byId) return byId
  const named = all.filter((l) => l.name === nameOrId)
  if (named.length > 1)
    throw new ModuleError(
      `${named.length} content libraries are named '${nameOrId}'; give the library's id`,
      { code: 'BRINE_AMBIGUOUS' },
    )
  return named[0]
}

export async function libraryNamed(
  client: ContentLibraryClient,
  nameOrId: string,
): Promise<Library> {
  const found = await findLibrary(client, nameOrId)
  if (!found)
    throw new ModuleError(`content library '${nameOrId}' not found`, { code: 'BRINE_NOT_FOUND' })
  return found
}

/** An item of a library by id or name (names are unique within a library). */
export async function findItem(
  client: ContentLibraryClient,
  library: Library,
  nameOrId: string,
): Promise<LibraryItem | undefined> {
  const items = await client.listItems(library.id)
  return items.find((i) => i.id === nameOrId) ?? items.find((i) => i.name === nameOrId)
}

export async function itemNamed(
  client: ContentLibraryClient,
  library: Library,
  nameOrId: string,
): Promise<LibraryItem> {
  const found = await findItem(client, library, nameOrId)
  if (!found)
    throw new ModuleError(`item '${nameOrId}' not found in content library '${library.name}'`, {
      code: 'BRINE_NOT_FOUND',
    })
  return found
}

/** brine's view of a library: what a user sets, and what vCenter reports. */
export function describeLibrary(l: Library) {
  return {
    id: l.id,
    name: l.name,
    type: l.type,
    description: l.description ?? '',
    datastores: l.storage_backings.flatMap((b) => (b.datastore_id ? [b.datastore_id] : [])),
    ...(l.subscription_info
      ? {
          subscription_url: l.subscription_info.subscription_url,
          on_demand: l.subscription_info.on_demand ?? false,
          automatic_sync: l.subscription_info.automatic_sync_enabled ?? false,
        }
      : {}),
    published: l.publish_info?.published ?? false,
    ...(l.publish_info?.publish_url ? { publish_url: l.publish_info.publish_url } : {}),
    ...(l.last_sync_time ? { last_sync_time: l.last_sync_time } : {}),
    ...(l.creation_time ? { creation_time: l.creation_time } : {}),
  }
}

export function describeItem(item: LibraryItem, library: Library) {
  return {
    id: item.id,
    name: item.name,
    library: library.name,
    library_id: library.id,
    type: item.type ?? '',
    description: item.description ?? '',
    size: item.size ?? 0,
    ...(item.content_version ? { content_version: item.content_version } : {}),
    ...(item.last_sync_time ? { last_sync_time: item.last_sync_time } : {}),
  }
}

export function describeFile(f: LibraryFile) {
  return {
    name: f.name,
    size: f.size ?? 0,
    ...(f.checksum_info
      ? { checksum: f.checksum_info.checksum.toLowerCase(), algorithm: f.checksum_info.algorithm }
      : {}),
  }
}
