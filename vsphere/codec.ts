import { XMLBuilder } from 'fast-xml-parser'
import { Secret } from '../core/secret.ts'
import type { ManagedObjectReference } from './types.ts'

/**
 * Encoding half of the vim25 SOAP codec (decoding: decoder.ts): typed objects to envelopes.
 *
 * Encoding conventions: `{ type, value }` objects are ManagedObjectReferences; objects with a
 * `_type` field get `xsi:type` (required in polymorphic positions); arrays become repeated
 * elements; `undefined`/`null` fields are left out; Dates are sent as ISO strings; Secrets are
 * revealed here and nowhere else. Field order is insertion order, which must follow the WSDL.
 */
const SOAPENV = 'http://schemas.xmlsoap.org/soap/envelope/'
const XSI = 'http://www.w3.org/2001/XMLSchema-instance'
const XSD = 'http://www.w3.org/2001/XMLSchema'

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' })

/** Make `moref('Folder', 'group-d1')`. */
export function moref(type: string, value: string): ManagedObjectReference {
  return { type, value }
}

/**
 * A primitive for an `anyType` field (OptionValue.value, ArrayUpdateSpec.removeKey…), which
 * must carry its xsi:type: `typed(1, 'xsd:int')`.
 */
export function typed(
  value: string | number | boolean,
  xsiType: 'xsd:int' | 'xsd:long' | 'xsd:double' | 'xsd:string' | 'xsd:boolean',
): { _type: string; _value: string | number | boolean } {
  return { _type: xsiType, _value: value }
}

/** A JavaScript primitive for an anyType position: int (long when too big), double, boolean or string. */
export function typedPrimitive(value: string | number | boolean) {
  if (typeof value === 'boolean') return typed(value, 'xsd:boolean')
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return typed(value, 'xsd:double')
    return typed(value, Math.abs(value) < 2 ** 31 ? 'xsd:int' : 'xsd:long')
  }
  return typed(value, 'xsd:string')
}

/** True for `{ type: string, value: string }` and nothing else. */
export function isMoref(value: unknown): value is ManagedObjectReference {
  if (typeof value !== 'object' || value === null) return false
  const keys = Object.keys(value)
  return (
    keys.length === 2 &&
    typeof (value as ManagedObjectReference).type === 'string' &&
    typeof (value as ManagedObjectReference).value === 'string'
  )
}

/** Build the SOAP envelope for `method` with its arguments in WSDL order (`_this` first). */
export interface EnvelopeOptions {
  /** Namespace of the method element. Default `urn:vim25` (`urn:pbm` for storage policies). */
  namespace?: string | undefined
  /** SOAP header elements, e.g. `{ vcSessionCookie: secret }` for vCenter's other endpoints. */
  header?: Record<string, unknown> | undefined
}

export function encodeRequest(
  method: string,
  args: Record<string, unknown>,
  options: EnvelopeOptions = {},
): string {
  const body: Record<string, unknown> = { '@_xmlns': options.namespace ?? 'urn:vim25' }
  for (const [name, value] of Object.entries(args)) {
    const node = toBuilderNode(value)
    if (node !== undefined) body[name] = node
  }
  const envelope = {
    'soapenv:Envelope': {
      '@_xmlns:soapenv': SOAPENV,
      '@_xmlns:xsd': XSD,
      '@_xmlns:xsi': XSI,
      ...(options.header ? { 'soapenv:Header': toBuilderNode(options.header) } : {}),
      'soapenv:Body': { [method]: body },
    },
  }
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build(envelope)}`
}

function toBuilderNode(value: unknown): unknown {
  if (value === undefined || value === null) return undefined
  if (value instanceof Secret) return value.reveal()
  if (value instanceof Date) return value.toISOString()
  if (typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return value.map(toBuilderNode).filter((v) => v !== undefined)
  if (isMoref(value)) return { '@_type': value.type, '#text': value.value }
  // A primitive in an anyType position: { _type: 'xsd:int', _value: 1 } (see `typed`).
  if ('_value' in value && '_type' in value) {
    return {
      '@_xsi:type': (value as { _type: string })._type,
      '#text': String((value as { _value: unknown })._value),
    }
  }
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    if (key === '_type') {
      out['@_xsi:type'] = field
      continue
    }
    const node = toBuilderNode(field)
    if (node !== undefined) out[key] = node
  }
  return out
}
