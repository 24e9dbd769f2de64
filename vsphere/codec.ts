import { XMLBuilder, XMLParser } from 'fast-xml-parser'
import { Secret } from '../core/secret.ts'
import { ARRAY_ELEMENT_TYPES, DATA_TYPES, METHOD_RESULTS } from './schema.ts'
import type { DataObject, ManagedObjectReference } from './types.ts'

/**
 * The vim25 SOAP codec: typed objects to envelopes, envelopes to typed objects.
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
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  htmlEntities: false,
})

type XmlNode = string | { [key: string]: XmlNode | XmlNode[] }

/** Make `moref('Folder', 'group-d1')`. */
export function moref(type: string, value: string): ManagedObjectReference {
  return { type, value }
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
export function encodeRequest(method: string, args: Record<string, unknown>): string {
  const body: Record<string, unknown> = { '@_xmlns': 'urn:vim25' }
  for (const [name, value] of Object.entries(args)) {
    const node = toBuilderNode(value)
    if (node !== undefined) body[name] = node
  }
  const envelope = {
    'soapenv:Envelope': {
      '@_xmlns:soapenv': SOAPENV,
      '@_xmlns:xsd': XSD,
      '@_xmlns:xsi': XSI,
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

/** A decoded response: the method's result, or the SOAP fault's parts. */
export type DecodedResponse =
  | { kind: 'result'; value: unknown }
  | { kind: 'fault'; faultType: string; faultString: string; fault: DataObject }

/** Decode a SOAP response body (status 200 or 500) for `method`. */
export function decodeResponse(method: string, xml: string): DecodedResponse {
  const doc = parser.parse(xml) as Record<string, XmlNode>
  const envelope = childEndingWith(doc, 'Envelope')
  const body =
    envelope && typeof envelope === 'object' ? childEndingWith(envelope, 'Body') : undefined
  if (!body || typeof body !== 'object') {
    throw new SyntaxError(`${method}: the response is not a SOAP envelope`)
  }
  const fault = childEndingWith(body, 'Fault')
  if (fault !== undefined) return decodeFault(fault)
  const response = body[`${method}Response`]
  if (response === undefined) {
    throw new SyntaxError(`${method}: the SOAP body holds no ${method}Response`)
  }
  const returnType = METHOD_RESULTS[method] ?? (method.endsWith('_Task') ? 'MoRef' : undefined)
  const returnval =
    typeof response === 'object' && !Array.isArray(response) ? response.returnval : undefined
  if (returnval === undefined) {
    return { kind: 'result', value: returnType?.endsWith('[]') ? [] : undefined }
  }
  return { kind: 'result', value: decodeField(returnval, returnType) }
}

function decodeFault(fault: XmlNode | XmlNode[]): DecodedResponse {
  const node = (Array.isArray(fault) ? fault[0] : fault) ?? {}
  const faultString = typeof node === 'object' ? textOf(node.faultstring) : ''
  const detail = typeof node === 'object' ? node.detail : undefined
  let decoded: DataObject = { _type: 'SystemError' }
  if (detail && typeof detail === 'object' && !Array.isArray(detail)) {
    const [name, value] = Object.entries(detail).find(([key]) => !key.startsWith('@_')) ?? []
    if (name !== undefined && value !== undefined) {
      const node = (Array.isArray(value) ? value[0] : value) as XmlNode
      const faultType =
        (typeof node === 'object' ? xsiTypeOf(node) : undefined) ?? name.replace(/Fault$/, '')
      const typed = decodeNode(node, faultType)
      decoded = { ...(typed && typeof typed === 'object' ? typed : {}), _type: faultType }
    }
  }
  return { kind: 'fault', faultType: decoded._type, faultString, fault: decoded }
}

/** Decode one field value, which the parser gives as an array when the element repeats. */
export function decodeField(value: XmlNode | XmlNode[], type: string | undefined): unknown {
  if (type?.endsWith('[]')) {
    const elementType = type.slice(0, -2)
    return toArray(value).map((item) => decodeNode(item, elementType))
  }
  if (Array.isArray(value)) return value.map((item) => decodeNode(item, type))
  return decodeNode(value, type)
}

function decodeNode(node: XmlNode, hint: string | undefined): unknown {
  const xsiType = typeof node === 'object' ? xsiTypeOf(node) : undefined
  const type = xsiType ?? hint
  if (type === undefined) return decodeUntyped(node)
  switch (type) {
    case 'string':
    case 'anyType':
      return typeof node === 'object' && hasChildElements(node) ? decodeUntyped(node) : textOf(node)
    case 'int':
    case 'long':
    case 'short':
    case 'byte':
    case 'float':
    case 'double':
      return Number(textOf(node))
    case 'boolean':
      return textOf(node) === 'true' || textOf(node) === '1'
    case 'dateTime':
      return new Date(textOf(node))
    case 'MoRef':
    case 'ManagedObjectReference':
      return decodeMoref(node)
  }
  const arrayElement = type.startsWith('ArrayOf') ? type.slice('ArrayOf'.length) : undefined
  if (arrayElement !== undefined) {
    const items = typeof node === 'object' ? node[arrayElement] : undefined
    const elementType = ARRAY_ELEMENT_TYPES[type] ?? arrayElement
    return items === undefined ? [] : toArray(items).map((item) => decodeNode(item, elementType))
  }
  // An enum (or a data object sent empty) is plain text.
  if (typeof node !== 'object' || !hasChildElements(node)) return textOf(node)
  return decodeDataObject(node, type, xsiType !== undefined)
}

function decodeDataObject(
  node: { [key: string]: XmlNode | XmlNode[] },
  type: string,
  announced: boolean,
): Record<string, unknown> {
  const fields = DATA_TYPES[type] ?? {}
  const out: Record<string, unknown> = announced ? { _type: type } : {}
  for (const arrayField of Object.entries(fields)) {
    if (arrayField[1].endsWith('[]') && node[arrayField[0]] === undefined) out[arrayField[0]] = []
  }
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || key === '#text') continue
    out[key] = decodeField(value, fields[key])
  }
  return out
}

function decodeUntyped(node: XmlNode): unknown {
  if (typeof node !== 'object') return node
  if (node['@_type'] !== undefined && !hasChildElements(node)) return decodeMoref(node)
  if (!hasChildElements(node)) return textOf(node)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || key === '#text') continue
    out[key] = decodeField(value, undefined)
  }
  return out
}

function decodeMoref(node: XmlNode): ManagedObjectReference {
  if (typeof node !== 'object') return { type: '', value: node }
  return { type: String(node['@_type'] ?? ''), value: textOf(node) }
}

// --- internal ---

function xsiTypeOf(node: { [key: string]: XmlNode | XmlNode[] }): string | undefined {
  for (const key in node) {
    if (key.startsWith('@_') && key.endsWith(':type')) {
      const raw = String(node[key])
      const colon = raw.indexOf(':')
      return colon === -1 ? raw : raw.slice(colon + 1)
    }
  }
  return undefined
}

function hasChildElements(node: { [key: string]: XmlNode | XmlNode[] }): boolean {
  for (const key in node) {
    if (!key.startsWith('@_') && key !== '#text') return true
  }
  return false
}

function textOf(node: XmlNode | XmlNode[] | undefined): string {
  if (node === undefined) return ''
  if (typeof node === 'string') return node
  if (Array.isArray(node)) return textOf(node[0])
  const text = node['#text']
  return text === undefined ? '' : String(text)
}

function toArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value]
}

function childEndingWith(
  node: { [key: string]: XmlNode | XmlNode[] },
  suffix: string,
): { [key: string]: XmlNode | XmlNode[] } | undefined {
  for (const key in node) {
    if (key === suffix || key.endsWith(`:${suffix}`)) {
      const value = node[key]
      const one = Array.isArray(value) ? value[0] : value
      return typeof one === 'object' ? one : {}
    }
  }
  return undefined
}
