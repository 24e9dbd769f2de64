// What reloadable modules import as `brine/vsphere`, and the vSphere part of brine's public API.

export { callVim, runTask, startTask, type TaskHandle, waitForHandle, withContext } from './call.ts'
export { encodeRequest, isMoref, moref, typed, typedPrimitive } from './codec.ts'
export {
  type ConnectionOptions,
  type ResolvedConnectionParams,
  resolveConnectionParams,
} from './connection-params.ts'
export {
  type ContentLibraryClient,
  ContentLibraryError,
  createContentLibraryClient,
  type Library,
  type LibraryFile,
  type LibraryItem,
  type UploadFile,
} from './content-library.ts'
export {
  type CredentialLookup,
  type CredentialSources,
  CredentialsError,
  resolveVsphereConnection,
  VsphereConfigError,
} from './credentials.ts'
export { type DecodedResponse, decodeResponse } from './decoder.ts'
export {
  AmbiguousEntityError,
  ENTITY_TYPES,
  type Entity,
  EntityNotFoundError,
  type FindOptions,
  findEntityByName,
  getEntity,
  getEntityById,
  getEntityByName,
  inventoryPaths,
  listEntities,
  readEntity,
} from './entities.ts'
export {
  ConnectionParamsError,
  DuplicateNameError,
  InvalidArgumentError,
  InvalidLoginError,
  InvalidNameError,
  InvalidStateError,
  ManagedObjectNotFoundError,
  NoPermissionError,
  NotAuthenticatedError,
  SessionClosedError,
  TaskFailedError,
  TransportError,
  VimFaultError,
  VsphereError,
} from './errors.ts'
export { existingIndex, InventoryIndex, inventoryIndex } from './inventory-index.ts'
export { withSession } from './one-shot.ts'
export { type DeployOvfOptions, deployOvf, deployOvfFile, openOvfPackage } from './ovf.ts'
export {
  createContainerView,
  createObjectCollector,
  destroyCollector,
  destroyView,
  findByInventoryPath,
  propertiesOf,
  type RetrievedObject,
  retrieveAll,
  retrieveObjectProperties,
  retrieveProperties,
} from './property-collector.ts'
export { ServiceInstanceProvider, type ServiceInstanceProviderOptions } from './provider.ts'
export {
  type Explanation,
  formatExplanation,
  type MetadataFilter,
  QueryError,
  SEARCHABLE,
  type SearchFilters,
  type SearchItem,
  type SearchOptions,
  type SearchResult,
  search,
  searchOne,
} from './query.ts'
export {
  createReconnectProxy,
  isReconnectProxy,
  NotConnectedError,
  OutcomeUnknownError,
  proxyTarget,
  type ReconnectProxyOptions,
} from './reconnect-proxy.ts'
export { type InvokeOptions, ServiceInstance } from './service-instance.ts'
export { SessionCache, type SessionCacheOptions } from './session-cache.ts'
export { SessionStore, SessionStoreError, type StoredSession } from './session-store.ts'
export { observeSoapCalls, type SoapCallRecord } from './soap-observers.ts'
export {
  type Category,
  createTaggingClient,
  type Tag,
  type TaggingClient,
  TaggingError,
} from './tagging.ts'
export { cancelTask, waitForTask, waitForTaskInfo } from './tasks.ts'
export { withTransferTransport } from './transfer.ts'
export { certificateThumbprints, normalizeThumbprint, Transport } from './transport.ts'
export type * from './types.ts'
export {
  compareVersions,
  selectByVersion,
  UnsupportedVersionError,
  type VersionedImplementation,
} from './versions.ts'
