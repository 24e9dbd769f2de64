import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { VsphereError } from './errors.ts'
import { openVapiSession, REST_FLAVOR, type VapiSession } from './rest.ts'
import type { ServiceInstance } from './service-instance.ts'

/**
 * Content libraries through the vSphere Automation REST API, `/rest/com/vmware/content/…`
 * (served by vCenter 6.5 through 8.x; 7.0 added `/api/content/…` beside it, with the same
 * data): libraries (local, subscribed), items, files, update sessions that upload a file's
 * bytes, and deployments from an item (`/rest/com/vmware/vcenter/ovf/library-item` for OVF
 * items, `/rest/vcenter/vm-template/library-items` for VM templates).
 */

export interface StorageBacking {
  type: 'DATASTORE' | 'OTHER'
  datastore_id?: string
  storage_uri?: string
}

export interface SubscriptionInfo {
  subscription_url: string
  authentication_method: 'NONE' | 'BASIC'
  automatic_sync_enabled?: boolean
  on_demand?: boolean
  user_name?: string
  /** A Secret on the way in; vCenter never answers it. */
  password?: unknown
  ssl_thumbprint?: string
}

export interface PublishInfo {
  published?: boolean
  publish_url?: string
  authentication_method?: 'NONE' | 'BASIC'
}

export interface Library {
  id: string
  name: string
  description?: string
  type: 'LOCAL' | 'SUBSCRIBED'
  storage_backings: StorageBacking[]
  subscription_info?: SubscriptionInfo
  publish_info?: PublishInfo
  creation_time?: string
  last_modified_time?: string
  last_sync_time?: string
  version?: string
}

export interface LibraryItem {
  id: string
  library_id: string
  name: string
  description?: string
  /** `ovf`, `iso`, `vm-template`, or a free-form type. */
  type?: string
  size?: number
  content_version?: string
  creation_time?: string
  last_modified_time?: string
  last_sync_time?: string
  cached?: boolean
}

export interface Checksum {
  algorithm: 'SHA1' | 'MD5' | 'SHA256' | 'SHA512'
  checksum: string
}

export interface LibraryFile {
  name: string
  size?: number
  checksum_info?: Checksum
  cached?: boolean
  version?: string
}

/** A file to upload into an item: its name in the item, size, checksum, and its bytes. */
export interface UploadFile {
  name: string
  size: number
  checksum?: Checksum
  open: () => Readable
}

export interface CreateLibrarySpec {
  name: string
  description?: string
  storage_backings: StorageBacking[]
  subscription_info?: SubscriptionInfo
  publish_info?: PublishInfo
}

/** `/rest/com/vmware/vcenter/ovf/library-item` deploy: vCenter's LibraryItem.DeploymentSpec and target. */
export interface OvfDeploySpec {
  deployment_spec: {
    name: string
    annotation?: string
    accept_all_EULA: boolean
    network_mappings?: Array<{ key: string; value: string }>
    storage_provisioning?: 'thin' | 'thick' | 'eagerZeroedThick'
    default_datastore_id?: string
  }
  target: { resource_pool_id: string; host_id?: string; folder_id?: string }
}

/** `/rest/vcenter/vm-template/library-items/{item}?action=deploy`: vCenter's DeploySpec. */
export interface TemplateDeploySpec {
  name: string
  description?: string
  placement: { folder?: string; resource_pool?: string; host?: string; cluster?: string }
  disk_storage?: { datastore: string }
  vm_home_storage?: { datastore: string }
  powered_on: boolean
}

export interface CreateTemplateSpec {
  name: string
  description?: string
  library: string
  source_vm: string
  placement: { folder?: string; resource_pool?: string; host?: string; cluster?: string }
  vm_home_storage?: { datastore: string }
  disk_storage?: { datastore: string }
}

export class ContentLibraryError extends VsphereError {
  static override readonly kind: string = 'ContentLibraryError'
  readonly status: number
  constructor(what: string, status: number, body: string) {
    const detail = vapiMessage(body)
    const kind = /already_exists/i.test(body)
      ? 'already exists'
      : status === 404 || /not_found/i.test(body)
        ? 'not found'
        : `HTTP ${status}`
    super(`${what}: ${kind}${detail ? ` (${detail})` : ''}`, {
      code:
        kind === 'already exists'
          ? 'BRINE_VAPI_EXISTS'
          : kind === 'not found'
            ? 'BRINE_NOT_FOUND'
            : 'BRINE_VAPI_REST',
    })
    this.status = status
  }
}

/** The first message of a vAPI error body (`{type, value: {messages: [{default_message}]}}`). */
function vapiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as {
      type?: string
      value?: { messages?: Array<{ default_message?: string }> }
    }
    return (
      parsed.value?.messages?.[0]?.default_message ??
      parsed.type?.replace(/^.*\./, '') ??
      ''
    ).slice(0, 300)
  } catch {
    return body.slice(0, 200)
  }
}

const BASE = '/rest/com/vmware/content'
/** Reads of a completed update session before giving up (every 500 ms: 5 minutes). */
const MAX_SESSION_POLLS = 600
const id = (value: string) => `id:${encodeURIComponent(value)}`

export interface ContentLibraryClient {
  listLibraries(): Promise<Library[]>
  getLibrary(libraryId: string): Promise<Library>
  createLibrary(type: Library['type'], spec: CreateLibrarySpec): Promise<string>
  deleteLibrary(library: Pick<Library, 'id' | 'type'>): Promise<void>
  /** Change what `spec` gives (name, description; a subscribed library's subscription settings). */
  updateLibrary(
    library: Pick<Library, 'id' | 'type'>,
    spec: {
      name?: string
      description?: string
      subscription_info?: Partial<SubscriptionInfo> &
        Pick<SubscriptionInfo, 'authentication_method'>
    },
  ): Promise<void>
  /** Sync a subscribed library (its items' metadata, and content unless on demand). */
  syncLibrary(libraryId: string): Promise<void>
  listItems(libraryId: string): Promise<LibraryItem[]>
  getItem(itemId: string): Promise<LibraryItem>
  createItem(spec: Omit<LibraryItem, 'id'>): Promise<string>
  deleteItem(itemId: string): Promise<void>
  /** Change what `spec` gives (name, description). */
  updateItem(itemId: string, spec: { name?: string; description?: string }): Promise<void>
  listFiles(itemId: string): Promise<LibraryFile[]>
  /** Upload `files` into an item in one update session: add, PUT, validate, complete. */
  uploadFiles(
    itemId: string,
    files: UploadFile[],
    options?: { signal?: AbortSignal | undefined; onFile?: (name: string) => void },
  ): Promise<void>
  deployOvf(itemId: string, spec: OvfDeploySpec): Promise<string>
  deployTemplate(itemId: string, spec: TemplateDeploySpec): Promise<string>
  createTemplate(spec: CreateTemplateSpec): Promise<string>
  /** Nothing: the REST session ends with the ServiceInstance (see vsphere/rest.ts). */
  close(): Promise<void>
}

/** A content library client for the vCenter behind `si`, on `si`'s shared REST session. */
export async function createContentLibraryClient(
  si: ServiceInstance,
): Promise<ContentLibraryClient> {
  const session: VapiSession = await openVapiSession(
    si,
    REST_FLAVOR,
    (what, status, body) => new ContentLibraryError(what, status, body),
  )
  const send = session.send
  const libraryPath = (type: Library['type']) =>
    `${BASE}/${type === 'SUBSCRIBED' ? 'subscribed' : 'local'}-library`

  const getLibrary = async (libraryId: string) =>
    (await send(
      'GET',
      `${BASE}/library/${id(libraryId)}`,
      `reading content library ${libraryId}`,
    )) as Library
  const getItem = async (itemId: string) =>
    (await send(
      'GET',
      `${BASE}/library/item/${id(itemId)}`,
      `reading library item ${itemId}`,
    )) as LibraryItem

  const waitForSession = async (sessionId: string, what: string, signal?: AbortSignal) => {
    // vCenter finishes a completed session in the background: ACTIVE until then.
    for (let attempt = 0; ; attempt++) {
      const state = (await send(
        'GET',
        `${BASE}/library/item/update-session/${id(sessionId)}`,
        what,
      )) as { state?: string; error_message?: { default_message?: string } }
      if (state.state === 'ERROR')
        throw new ContentLibraryError(
          what,
          500,
          JSON.stringify({ value: { messages: [state.error_message ?? {}] } }),
        )
      if (state.state !== 'ACTIVE') return
      if (attempt >= MAX_SESSION_POLLS)
        throw new ContentLibraryError(
          what,
          504,
          JSON.stringify({
            value: {
              messages: [
                {
                  default_message: `the update session was still active after ${MAX_SESSION_POLLS} reads`,
                },
              ],
            },
          }),
        )
      await sleep(500, undefined, { signal })
    }
  }

  return {
    listLibraries: async () => {
      const ids = ((await send('GET', `${BASE}/library`, 'listing content libraries')) ??
        []) as string[]
      return Promise.all(ids.map(getLibrary))
    },
    getLibrary,
    createLibrary: async (type, spec) =>
      String(
        await send('POST', libraryPath(type), `creating content library '${spec.name}'`, {
          create_spec: { ...spec, type },
        }),
      ),
    deleteLibrary: async (library) =>
      void (await send(
        'DELETE',
        `${libraryPath(library.type)}/${id(library.id)}`,
        `deleting content library ${library.id}`,
      )),
    updateLibrary: async (library, spec) =>
      void (await send(
        'PATCH',
        `${libraryPath(library.type)}/${id(library.id)}`,
        `updating content library ${library.id}`,
        { update_spec: spec },
      )),
    syncLibrary: async (libraryId) =>
      void (await send(
        'POST',
        `${libraryPath('SUBSCRIBED')}/${id(libraryId)}?~action=sync`,
        `syncing content library ${libraryId}`,
      )),
    listItems: async (libraryId) => {
      const ids = ((await send(
        'GET',
        `${BASE}/library/item?library_id=${encodeURIComponent(libraryId)}`,
        `listing the items of content library ${libraryId}`,
      )) ?? []) as string[]
      return Promise.all(ids.map(getItem))
    },
    getItem,
    createItem: async (spec) =>
      String(
        await send('POST', `${BASE}/library/item`, `creating library item '${spec.name}'`, {
          create_spec: spec,
        }),
      ),
    deleteItem: async (itemId) =>
      void (await send(
        'DELETE',
        `${BASE}/library/item/${id(itemId)}`,
        `deleting library item ${itemId}`,
      )),
    updateItem: async (itemId, spec) =>
      void (await send(
        'PATCH',
        `${BASE}/library/item/${id(itemId)}`,
        `updating library item ${itemId}`,
        { update_spec: spec },
      )),
    listFiles: async (itemId) =>
      ((await send(
        'GET',
        `${BASE}/library/item/file?library_item_id=${encodeURIComponent(itemId)}`,
        `listing the files of library item ${itemId}`,
      )) ?? []) as LibraryFile[],
    uploadFiles: async (itemId, files, options = {}) => {
      const what = `uploading into library item ${itemId}`
      const sessionId = String(
        await send('POST', `${BASE}/library/item/update-session`, what, {
          create_spec: { library_item_id: itemId },
        }),
      )
      const sessionPath = `${BASE}/library/item/update-session/${id(sessionId)}`
      const filesPath = `${BASE}/library/item/updatesession/file/${id(sessionId)}`
      try {
        for (const file of files) {
          const added = (await send('POST', `${filesPath}?~action=add`, `${what}: ${file.name}`, {
            file_spec: {
              name: file.name,
              source_type: 'PUSH',
              size: file.size,
              ...(file.checksum ? { checksum_info: file.checksum } : {}),
            },
          })) as { upload_endpoint?: { uri: string } }
          if (!added.upload_endpoint?.uri)
            throw new ContentLibraryError(`${what}: ${file.name}`, 500, 'no upload endpoint')
          const body = file.open()
          try {
            await session.upload(
              added.upload_endpoint.uri,
              body,
              file.size,
              `${what}: ${file.name}`,
              options.signal,
            )
          } finally {
            body.destroy()
          }
          options.onFile?.(file.name)
        }
        const check = (await send('POST', `${filesPath}?~action=validate`, what)) as
          | {
              has_errors?: boolean
              missing_files?: string[]
              invalid_files?: Array<{ name: string; error_message?: { default_message?: string } }>
            }
          | undefined
        if (check?.has_errors) {
          const problems = [
            ...(check.missing_files ?? []).map((n) => `${n}: not received`),
            ...(check.invalid_files ?? []).map(
              (f) => `${f.name}: ${f.error_message?.default_message ?? 'invalid'}`,
            ),
          ]
          throw new ContentLibraryError(
            what,
            400,
            JSON.stringify({ value: { messages: [{ default_message: problems.join('; ') }] } }),
          )
        }
        await send('POST', `${sessionPath}?~action=complete`, what)
        await waitForSession(sessionId, what, options.signal)
      } catch (error) {
        await send('POST', `${sessionPath}?~action=fail`, what, {
          client_error_message: 'brine: upload failed',
        }).catch(() => {})
        throw error
      } finally {
        await send('DELETE', sessionPath, what).catch(() => {})
      }
    },
    deployOvf: async (itemId, spec) => {
      const what = `deploying library item ${itemId} as VM '${spec.deployment_spec.name}'`
      const result = (await send(
        'POST',
        `/rest/com/vmware/vcenter/ovf/library-item/${id(itemId)}?~action=deploy`,
        what,
        spec,
      )) as {
        succeeded?: boolean
        resource_id?: { type: string; id: string }
        error?: {
          errors?: Array<{
            message?: { default_message?: string }
            error?: { messages?: Array<{ default_message?: string }> }
          }>
        }
      }
      if (!result.succeeded || !result.resource_id) {
        const first = result.error?.errors?.[0]
        const message =
          first?.message?.default_message ??
          first?.error?.messages?.[0]?.default_message ??
          'vCenter reported no VM'
        throw new ContentLibraryError(
          what,
          500,
          JSON.stringify({ value: { messages: [{ default_message: message }] } }),
        )
      }
      return result.resource_id.id
    },
    deployTemplate: async (itemId, spec) =>
      String(
        await send(
          'POST',
          `/rest/vcenter/vm-template/library-items/${encodeURIComponent(itemId)}?action=deploy`,
          `deploying VM template item ${itemId} as VM '${spec.name}'`,
          { spec },
        ),
      ),
    createTemplate: async (spec) =>
      String(
        await send(
          'POST',
          '/rest/vcenter/vm-template/library-items',
          `capturing VM ${spec.source_vm} as VM template '${spec.name}'`,
          { spec },
        ),
      ),
    close: () => session.close(),
  }
}
