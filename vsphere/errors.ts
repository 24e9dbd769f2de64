import { BrineError } from '../core/errors.ts'
import type { DataObject, ManagedObjectReference } from './types.ts'

/**
 * Errors of the vSphere client. Codes are stable: `BRINE_VIM_*` for faults the server
 * reported, `BRINE_VIM_TRANSPORT_*` for the way there, `BRINE_VIM_PARAMS` for bad input.
 */
export class VsphereError extends BrineError {
  static override readonly kind: string = 'VsphereError'
}

export interface VimFaultDetails {
  /** The fault's type name as the server sent it (`NotAuthenticated`, `DuplicateName`, …). */
  faultType: string
  /** The SOAP method that failed. */
  method: string
  /** The object the method was called on (`_this`). */
  moref?: ManagedObjectReference | undefined
  /** The server's fault string, if any. */
  faultString?: string | undefined
  /** The decoded fault object, with its fields. */
  fault?: DataObject | undefined
}

/** A fault reported by vCenter (a SOAP fault, a faulted property, or a failed task). */
export class VimFaultError extends VsphereError {
  static override readonly kind: string = 'VimFaultError'
  readonly faultType: string
  readonly method: string
  readonly moref: ManagedObjectReference | undefined
  readonly faultString: string | undefined
  readonly fault: DataObject | undefined

  constructor(message: string, details: VimFaultDetails, code = faultCode(details.faultType)) {
    super(message, { code })
    this.faultType = details.faultType
    this.method = details.method
    this.moref = details.moref
    this.faultString = details.faultString
    this.fault = details.fault
  }
}

export class NotAuthenticatedError extends VimFaultError {
  static override readonly kind: string = 'NotAuthenticatedError'
}
export class InvalidLoginError extends VimFaultError {
  static override readonly kind: string = 'InvalidLoginError'
}
export class ManagedObjectNotFoundError extends VimFaultError {
  static override readonly kind: string = 'ManagedObjectNotFoundError'
}
export class DuplicateNameError extends VimFaultError {
  static override readonly kind: string = 'DuplicateNameError'
}
export class InvalidNameError extends VimFaultError {
  static override readonly kind: string = 'InvalidNameError'
}
export class InvalidArgumentError extends VimFaultError {
  static override readonly kind: string = 'InvalidArgumentError'
}
export class InvalidStateError extends VimFaultError {
  static override readonly kind: string = 'InvalidStateError'
}
export class NoPermissionError extends VimFaultError {
  static override readonly kind: string = 'NoPermissionError'
}

/** A vCenter task that ended in error; `fault` is the task's fault. */
export class TaskFailedError extends VimFaultError {
  static override readonly kind: string = 'TaskFailedError'
  readonly task: ManagedObjectReference

  constructor(message: string, details: VimFaultDetails, task: ManagedObjectReference) {
    super(message, details, 'BRINE_VIM_TASK_FAILED')
    this.task = task
  }
}

/** Fault classes by fault type; subtypes of these faults (InvalidLogin ⊂ VimFault) keep their own. */
export const FAULT_CLASSES: Record<string, typeof VimFaultError> = {
  NotAuthenticated: NotAuthenticatedError,
  InvalidLogin: InvalidLoginError,
  ManagedObjectNotFound: ManagedObjectNotFoundError,
  DuplicateName: DuplicateNameError,
  InvalidName: InvalidNameError,
  InvalidArgument: InvalidArgumentError,
  InvalidState: InvalidStateError,
  InvalidPowerState: InvalidStateError,
  InvalidDatastoreState: InvalidStateError,
  InvalidHostState: InvalidStateError,
  NoPermission: NoPermissionError,
}

/** `NotAuthenticated` → `BRINE_VIM_NOT_AUTHENTICATED`. */
export function faultCode(faultType: string): string {
  const snake = faultType.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
  return `BRINE_VIM_${snake}`
}

export type TransportFailure =
  | 'CONNECT_TIMEOUT'
  | 'CONNECTION_REFUSED'
  | 'CONNECTION_DROPPED'
  | 'REQUEST_TIMEOUT'
  | 'TLS'
  | 'THUMBPRINT_MISMATCH'
  | 'HTTP_STATUS'
  | 'BAD_RESPONSE'
  | 'ABORTED'
  | 'CLOSED'
  | 'NETWORK'

/**
 * The request did not get a usable answer. `requestSent` tells whether the server may have
 * received (and run) the call: when true and the call changes something, its outcome is unknown.
 */
export class TransportError extends VsphereError {
  static override readonly kind: string = 'TransportError'
  readonly failure: TransportFailure
  readonly url: string
  readonly method: string | undefined
  readonly requestSent: boolean
  readonly statusCode: number | undefined

  constructor(
    message: string,
    details: {
      failure: TransportFailure
      url: string
      method?: string | undefined
      requestSent: boolean
      statusCode?: number | undefined
      cause?: unknown
    },
  ) {
    super(message, { code: `BRINE_VIM_TRANSPORT_${details.failure}`, cause: details.cause })
    this.failure = details.failure
    this.url = details.url
    this.method = details.method
    this.requestSent = details.requestSent
    this.statusCode = details.statusCode
  }
}

/** A connection parameter is missing or wrong; raised before any network I/O. */
export class ConnectionParamsError extends VsphereError {
  static override readonly kind: string = 'ConnectionParamsError'
  readonly param: string

  constructor(param: string, message: string) {
    super(message, { code: 'BRINE_VIM_PARAMS' })
    this.param = param
  }
}

/** The session was closed (logged out) by us and cannot be used any more. */
export class SessionClosedError extends VsphereError {
  static override readonly kind: string = 'SessionClosedError'
  constructor(message: string) {
    super(message, { code: 'BRINE_VIM_SESSION_CLOSED' })
  }
}
