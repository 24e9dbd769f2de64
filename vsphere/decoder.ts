import { ARRAY_ELEMENT_TYPES, DATA_TYPES, METHOD_RESULTS } from './schema.ts'
import type { DataObject } from './types.ts'
import { scanXml } from './xml-scanner.ts'

/**
 * Decoder for vim25 responses: the scanner's events (xml-scanner.ts) become typed values in
 * one pass, driven by `xsi:type` and the schema table, with no intermediate tree.
 *
 * Values: `xsd:*` primitives become strings, numbers, booleans and Dates; morefs become
 * `{ type, value }`; `ArrayOf*` and schema array fields become arrays (one element too);
 * data objects become plain objects, with `_type` when the server announced their type.
 */
export type DecodedResponse =
  | { kind: 'result'; value: unknown }
  | { kind: 'fault'; faultType: string; faultString: string; fault: DataObject }

interface Frame {
  name: string
  type: string | undefined
  announced: boolean
  /** A data object even when empty (faults): never collapses to text. */
  forceObject: boolean
  /** The schema says this field is an array. */
  inArray: boolean
  morefType: string | undefined
  text: string
  fields: Record<string, unknown> | undefined
  repeated: Set<string> | undefined
  items: unknown[] | undefined
}

const NUMERIC = new Set(['int', 'long', 'short', 'byte', 'float', 'double'])

/** Decode a SOAP response body (status 200 or 500) for `method`. */
export function decodeResponse(method: string, xml: string): DecodedResponse {
  const responseName = `${method}Response`
  const returnType = METHOD_RESULTS[method] ?? (method.endsWith('_Task') ? 'MoRef' : undefined)
  const root = newFrame()
  resetFrame(root, '#document', undefined, false, false, false, undefined)
  // Frames are reused by depth: an answer has some 100,000 elements but few levels.
  const stack: Frame[] = [root]
  let depth = 0
  const open = (tag: string, attributes: readonly string[]): void => {
    const parent = stack[depth]!
    const name = localName(tag)
    let xsiType: string | undefined
    let morefType: string | undefined
    for (let i = 0; i < attributes.length; i += 2) {
      const key = attributes[i]!
      if (key === 'type') morefType = attributes[i + 1]
      else if (key.endsWith(':type')) xsiType = typeName(attributes[i + 1]!)
    }
    // What the parent (or the envelope) says about this child.
    let hint: string | undefined
    let inArray = false
    let forceObject = false
    const parentType = parent.type
    if (parentType?.startsWith('ArrayOf')) {
      hint = ARRAY_ELEMENT_TYPES[parentType] ?? name
    } else if (parent.name === responseName && name === 'returnval') {
      hint = returnType
    } else if (parent.name === 'detail') {
      hint = name.endsWith('Fault') ? name.slice(0, -5) : name
      forceObject = true
    } else if (parentType !== undefined) {
      hint = DATA_TYPES[parentType]?.[name]
    }
    if (hint?.endsWith('[]')) {
      hint = hint.slice(0, -2)
      inArray = true
    }
    if (hint === 'DataObject') forceObject = true
    const type = xsiType ?? (hint === 'DataObject' ? undefined : hint)
    depth++
    stack[depth] ??= newFrame()
    resetFrame(stack[depth]!, name, type, xsiType !== undefined, forceObject, inArray, morefType)
  }

  const text = (text: string): void => {
    stack[depth]!.text += text
  }

  const close = (): void => {
    const frame = stack[depth]!
    depth--
    const parent = stack[depth]!
    const value = finishFrame(frame)
    if (parent.items) {
      parent.items.push(value)
      return
    }
    if (!parent.fields) parent.fields = {}
    const fields = parent.fields
    const existing = fields[frame.name]
    if (frame.inArray) {
      if (existing === undefined) fields[frame.name] = [value]
      else (existing as unknown[]).push(value)
    } else if (existing === undefined && !(frame.name in fields)) {
      fields[frame.name] = value
    } else {
      // A repeated element the schema does not know as an array.
      if (!parent.repeated) parent.repeated = new Set()
      const repeated = parent.repeated
      if (repeated.has(frame.name)) (existing as unknown[]).push(value)
      else {
        repeated.add(frame.name)
        fields[frame.name] = [existing, value]
      }
    }
  }

  try {
    scanXml(xml, { open, text, close })
  } catch (error) {
    throw new SyntaxError(
      `${method}: the response is not well-formed XML: ${(error as Error).message}`,
    )
  }

  const body = (root.fields?.Envelope as Record<string, unknown> | undefined)?.Body as
    | Record<string, unknown>
    | undefined
  if (!body || typeof body !== 'object')
    throw new SyntaxError(`${method}: the response is not a SOAP envelope`)
  if (body.Fault !== undefined) return faultOf(body.Fault as Record<string, unknown>)
  if (!(responseName in body))
    throw new SyntaxError(`${method}: the SOAP body holds no ${responseName}`)
  const response = body[responseName]
  const returnval =
    typeof response === 'object' && response !== null
      ? (response as Record<string, unknown>).returnval
      : undefined
  if (returnval === undefined)
    return { kind: 'result', value: returnType?.endsWith('[]') ? [] : undefined }
  return { kind: 'result', value: returnval }
}

// --- internal ---

/** A frame with every field present (one hidden class), to be set with resetFrame. */
function newFrame(): Frame {
  return {
    name: '',
    type: undefined,
    announced: false,
    forceObject: false,
    inArray: false,
    morefType: undefined,
    text: '',
    fields: undefined,
    repeated: undefined,
    items: undefined,
  }
}

function resetFrame(
  frame: Frame,
  name: string,
  type: string | undefined,
  announced: boolean,
  forceObject: boolean,
  inArray: boolean,
  morefType: string | undefined,
): void {
  frame.name = name
  frame.type = type
  frame.announced = announced
  frame.forceObject = forceObject
  frame.inArray = inArray
  frame.morefType = morefType
  frame.text = ''
  frame.fields = undefined
  frame.repeated = undefined
  frame.items = type?.startsWith('ArrayOf') ? [] : undefined
}

function finishFrame(frame: Frame): unknown {
  const { type, fields, text } = frame
  if (frame.items) return frame.items
  if (type === undefined) {
    if (fields) return fields
    if (frame.forceObject) return {}
    return frame.morefType === undefined ? text : { type: frame.morefType, value: text }
  }
  if (type === 'string' || type === 'anyType') return fields ?? text
  if (NUMERIC.has(type)) return Number(text)
  if (type === 'boolean') return text === 'true' || text === '1'
  if (type === 'dateTime') return new Date(text)
  if (type === 'MoRef' || type === 'ManagedObjectReference')
    return { type: frame.morefType ?? '', value: text }
  // An enum is text; a data object has fields, is forced to be one, or was announced with
  // xsi:type and has no content (a data object without fields, e.g. a bootable CD-ROM device).
  if (!fields && !frame.forceObject && !(frame.announced && text === '')) return text
  const out: Record<string, unknown> = frame.announced || frame.forceObject ? { _type: type } : {}
  const schema = DATA_TYPES[type]
  if (schema) {
    for (const field in schema) {
      if (schema[field]!.endsWith('[]') && (fields === undefined || fields[field] === undefined))
        out[field] = []
    }
  }
  return fields ? Object.assign(out, fields) : out
}

function faultOf(fault: Record<string, unknown>): DecodedResponse {
  const faultString = typeof fault.faultstring === 'string' ? fault.faultstring : ''
  const detail = fault.detail
  let decoded: DataObject = { _type: 'SystemError' }
  if (detail && typeof detail === 'object') {
    const first = Object.values(detail as Record<string, unknown>)[0]
    if (first && typeof first === 'object' && '_type' in first) decoded = first as DataObject
  }
  return { kind: 'fault', faultType: decoded._type, faultString, fault: decoded }
}

const typeNames = new Map<string, string>()

/** The local part of an `xsi:type` value (`xsd:string` → `string`), cached: types repeat. */
function typeName(value: string): string {
  let name = typeNames.get(value)
  if (name === undefined) {
    name = localName(value)
    if (typeNames.size < 4096 && value.length <= 64) typeNames.set(value, name)
  }
  return name
}

function localName(name: string): string {
  const colon = name.indexOf(':')
  return colon === -1 ? name : name.slice(colon + 1)
}
