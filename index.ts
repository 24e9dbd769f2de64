// brine's public API: named re-exports only.
export { BrineError, hasErrorCode } from './core/errors.ts'
export { type LogLevel, log, setLogLevel, setLogSink } from './core/log.ts'
export { redact, registerSecret } from './core/redact.ts'
export { Secret } from './core/secret.ts'
export { encodeRequest, isMoref, moref } from './vsphere/codec.ts'
export {
  type ConnectionOptions,
  type ResolvedConnectionParams,
  resolveConnectionParams,
} from './vsphere/connection-params.ts'
export { type DecodedResponse, decodeResponse } from './vsphere/decoder.ts'
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
} from './vsphere/errors.ts'
export { withSession } from './vsphere/one-shot.ts'
export {
  createContainerView,
  destroyView,
  findByInventoryPath,
  propertiesOf,
  type RetrievedObject,
  retrieveAll,
  retrieveObjectProperties,
  retrieveProperties,
} from './vsphere/property-collector.ts'
export { type InvokeOptions, ServiceInstance } from './vsphere/service-instance.ts'
export { SessionCache, type SessionCacheOptions } from './vsphere/session-cache.ts'
export { SessionStore, type StoredSession } from './vsphere/session-store.ts'
export { cancelTask, waitForTask, waitForTaskInfo } from './vsphere/tasks.ts'
export { certificateThumbprints, normalizeThumbprint } from './vsphere/transport.ts'
export type * from './vsphere/types.ts'
