import type { DecodedResponse } from './decoder.ts'
import { FAULT_CLASSES, VimFaultError } from './errors.ts'
import type { DataObject, LocalizedMethodFault, ManagedObjectReference } from './types.ts'

/** What the user should do about a fault, where brine can tell. */
const FIXES: Record<string, string> = {
  InvalidLogin: 'Check the user name and password.',
  NotAuthenticated: 'The session expired, was terminated or logged out; log in again.',
  NoPermission: 'The user lacks a privilege for this call; grant it or use another account.',
}

/** Turn a decoded SOAP fault into the typed error for its fault type. */
export function faultError(
  method: string,
  target: ManagedObjectReference | undefined,
  decoded: Extract<DecodedResponse, { kind: 'fault' }>,
): VimFaultError {
  return createFaultError(method, target, decoded.fault, decoded.faultString)
}

/** Turn a LocalizedMethodFault (from a task or a missingSet) into a typed error. */
export function localizedFaultError(
  method: string,
  target: ManagedObjectReference | undefined,
  fault: LocalizedMethodFault,
): VimFaultError {
  return createFaultError(method, target, fault.fault, fault.localizedMessage)
}

export function createFaultError(
  method: string,
  target: ManagedObjectReference | undefined,
  fault: DataObject,
  faultString: string | undefined,
): VimFaultError {
  const faultType = fault._type
  const ErrorClass = FAULT_CLASSES[faultType] ?? VimFaultError
  return new ErrorClass(describeFault(method, target, fault, faultString), {
    faultType,
    method,
    moref: target,
    faultString,
    fault,
  })
}

export function describeFault(
  method: string,
  target: ManagedObjectReference | undefined,
  fault: DataObject,
  faultString: string | undefined,
): string {
  const on = target ? ` on ${target.type}:${target.value}` : ''
  const details = faultDetails(fault)
  const text = faultString?.trim() || details || 'no message from the server'
  const fix = FIXES[fault._type]
  return `${method}${on} failed: ${fault._type}: ${text}${fix ? ` ${fix}` : ''}`
}

function faultDetails(fault: DataObject): string {
  const parts: string[] = []
  for (const key of ['name', 'invalidProperty', 'obj', 'object', 'privilegeId']) {
    const value = fault[key]
    if (value === undefined || value === '') continue
    parts.push(
      typeof value === 'object' && value !== null && 'value' in value
        ? `${key} ${(value as ManagedObjectReference).type}:${(value as ManagedObjectReference).value}`
        : `${key} ${String(value)}`,
    )
  }
  return parts.join(', ')
}
