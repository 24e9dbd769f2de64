import { ARRAY_ELEMENT_TYPES, DATA_TYPES, METHOD_RESULTS } from './schema.ts'
import type { DataObject } from './types.ts'
import { type BulkReader, type ScanHandlers, XmlScanner } from './xml-scanner.ts'
import { flat, interned, nextAmpersand, nextCdataEnd } from './xml-text.ts'

/**
 * Decoder for vim25 responses: the scanner's events (xml-scanner.ts) become typed values in
 * one pass, driven by `xsi:type` and the schema table, with no intermediate tree. It is fed
 * as the answer arrives (`createResponseDecoder`), so decoding overlaps the download and the
 * whole body is never held as one string; `decodeResponse` decodes a body already read.
 *
 * Values: `xsd:*` primitives become strings, numbers, booleans and Dates; morefs become
 * `{ type, value }`; `ArrayOf*` and schema array fields become arrays (one element too);
 * data objects become plain objects, with `_type` (first) when the server announced their
 * type, and an empty array for each array field of the schema the answer left out (last).
 */
export type DecodedResponse =
  | { kind: 'result'; value: unknown }
  | { kind: 'fault'; faultType: string; faultString: string; fault: DataObject }

/** A decoder fed with the answer's bytes as they arrive. */
export interface ResponseDecoder {
  /** The next bytes of the body (UTF-8). Throws SyntaxError when they are not well-formed. */
  write(bytes: Uint8Array): void
  /** The body is complete: its value or fault. Throws SyntaxError. */
  end(): DecodedResponse
  /** PropertyCollector objects read whole (readObjectContent) so far. */
  readonly objectsReadWhole: number
}

export interface DecodeOptions {
  /**
   * Read a PropertyCollector answer's objects of the common form whole (readObjectContent).
   * Default true; false decodes every element through the scanner's events (tests compare).
   */
  bulk?: boolean
}

/** Decode a SOAP response body (status 200 or 500) for `method`. */
export function decodeResponse(
  method: string,
  xml: string,
  options: DecodeOptions = {},
): DecodedResponse {
  const decoder = new Decoder(method, options)
  decoder.writeText(xml)
  return decoder.end()
}

/** A decoder for the SOAP response body (status 200 or 500) of `method`, fed in pieces. */
export function createResponseDecoder(
  method: string,
  options: DecodeOptions = {},
): ResponseDecoder {
  return new Decoder(method, options)
}

// --- internal ---

/** How a value is built from its element, by its type (see finishFrame). */
enum Kind {
  /** No type known: text, a moref (with a `type` attribute) or an object of its children. */
  Untyped,
  /** `string` or `anyType`: text, or an object of its children. */
  Text,
  Number,
  Boolean,
  Date,
  Moref,
  /** `ArrayOf…`: its children, in an array. */
  Array,
  /** A data object or an enum (text) of the schema. */
  Data,
}

/** What the parent (its schema, the envelope) says of a child element. */
interface Hint {
  /** The child's type; undefined for `DataObject` (it must announce its own). */
  type: string | undefined
  /** The schema says this field is an array. */
  inArray: boolean
  /** A data object even when empty (faults, `DataObject` fields): never text. */
  forceObject: boolean
}

/** What the decoder knows of a type: how its value is built, its schema fields and arrays. */
interface TypeInfo {
  kind: Kind
  /** The schema's fields, as hints for the children; undefined when the schema has no entry. */
  fields: Map<string, Hint> | undefined
  /** The schema's array fields, in schema order: empty arrays when absent. */
  arrays: readonly string[]
}

interface Frame {
  name: string
  type: string | undefined
  kind: Kind
  info: TypeInfo
  /** The element had an `xsi:type`. */
  announced: boolean
  forceObject: boolean
  inArray: boolean
  /** 1: the `…Response` element; 2: a fault's `detail`; 0: any other. */
  role: number
  morefType: string | undefined
  text: string
  fields: Record<string, unknown> | undefined
  repeated: Set<string> | undefined
  items: unknown[] | undefined
}

class Decoder implements ScanHandlers, ResponseDecoder {
  readonly #method: string
  readonly #responseName: string
  readonly #returnType: string | undefined
  readonly #returnHint: Hint
  readonly #scanner: XmlScanner
  // Frames are reused by depth: an answer has some 100,000 elements but few levels.
  readonly #stack: Frame[]
  #depth = 0
  /** The depth of the RetrieveResult whose objects the bulk reader reads; 0: none. */
  #resultDepth = 0
  readonly #objects: BulkReader = {
    tag: '<objects>',
    read: (xml, at) => (this.#depth === this.#resultDepth ? this.#readObject(xml, at) : -1),
  }

  readonly #bulk: boolean
  objectsReadWhole = 0

  constructor(method: string, options: DecodeOptions) {
    this.#bulk = options.bulk ?? true
    this.#method = method
    this.#responseName = `${method}Response`
    this.#returnType = METHOD_RESULTS[method] ?? (method.endsWith('_Task') ? 'MoRef' : undefined)
    this.#returnHint = hintFor(this.#returnType)
    const root = newFrame()
    resetFrame(root, '#document', undefined, false, false, false, undefined, 0)
    this.#stack = [root]
    this.#scanner = new XmlScanner(this)
  }

  write(bytes: Uint8Array): void {
    try {
      this.#scanner.write(bytes)
    } catch (error) {
      throw this.#notXml(error)
    }
  }

  writeText(text: string): void {
    try {
      this.#scanner.writeText(text)
    } catch (error) {
      throw this.#notXml(error)
    }
  }

  end(): DecodedResponse {
    try {
      this.#scanner.end()
    } catch (error) {
      throw this.#notXml(error)
    }
    const method = this.#method
    const responseName = this.#responseName
    const root = this.#stack[0]!
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
      return { kind: 'result', value: this.#returnType?.endsWith('[]') ? [] : undefined }
    return { kind: 'result', value: returnval }
  }

  open(tag: string, attributes: readonly string[]): void {
    const parent = this.#stack[this.#depth]!
    const name = localName(tag)
    let xsiType: string | undefined
    let morefType: string | undefined
    for (let i = 0; i < attributes.length; i += 2) {
      const key = attributes[i]!
      if (key === 'type') morefType = attributes[i + 1]
      else if (isTypeAttribute(key)) xsiType = typeName(attributes[i + 1]!)
    }
    let hint: Hint | undefined
    if (parent.items !== undefined) hint = arrayElementHint(parent.type!, name)
    else if (parent.role === 1 && name === 'returnval') hint = this.#returnHint
    else if (parent.role === 2) hint = faultHint(name)
    else hint = parent.info.fields?.get(name)
    const role = name === this.#responseName ? 1 : name === 'detail' ? 2 : 0
    const depth = ++this.#depth
    let frame = this.#stack[depth]
    if (frame === undefined) {
      frame = newFrame()
      this.#stack[depth] = frame
    }
    if (hint === undefined)
      resetFrame(frame, name, xsiType, xsiType !== undefined, false, false, morefType, role)
    else
      resetFrame(
        frame,
        name,
        xsiType ?? hint.type,
        xsiType !== undefined,
        hint.forceObject,
        hint.inArray,
        morefType,
        role,
      )
    if (frame.type === 'RetrieveResult' && this.#resultDepth === 0 && this.#bulk) {
      this.#resultDepth = depth
      this.#scanner.bulk(this.#objects)
    }
  }

  text(text: string): void {
    this.#stack[this.#depth]!.text += text
  }

  close(): void {
    if (this.#depth === this.#resultDepth) {
      this.#resultDepth = 0
      this.#scanner.bulk(undefined)
    }
    const frame = this.#stack[this.#depth]!
    const parent = this.#stack[--this.#depth]!
    const value = finishFrame(frame)
    if (parent.items !== undefined) {
      parent.items.push(value)
      return
    }
    if (parent.fields === undefined) parent.fields = newFields(parent)
    const fields = parent.fields
    const key = frame.name
    const existing = fields[key]
    if (frame.inArray) {
      if (existing === undefined) fields[key] = [value]
      else (existing as unknown[]).push(value)
    } else if (existing === undefined) {
      // (No value is undefined: an absent key reads as undefined.)
      fields[key] = value
    } else {
      // A repeated element the schema does not know as an array.
      if (parent.repeated === undefined) parent.repeated = new Set()
      const repeated = parent.repeated
      if (repeated.has(key)) (existing as unknown[]).push(value)
      else {
        repeated.add(key)
        fields[key] = [existing, value]
      }
    }
  }

  /**
   * One `<objects>` of a RetrieveResult at `at`, read whole when it has the common form (see
   * readObjectContent), into the result as close() would put it; -1 when it has not.
   */
  #readObject(xml: string, at: number): number {
    const content = readObjectContent(xml, at)
    if (content === undefined) return -1
    const parent = this.#stack[this.#depth]!
    if (parent.fields === undefined) parent.fields = newFields(parent)
    const existing = parent.fields.objects as unknown[] | undefined
    if (existing === undefined) parent.fields.objects = [content]
    else existing.push(content)
    this.objectsReadWhole++
    return objectEnd
  }

  #notXml(error: unknown): SyntaxError {
    return new SyntaxError(
      `${this.#method}: the response is not well-formed XML: ${(error as Error).message}`,
    )
  }
}

/** A frame with every field present (one hidden class), to be set with resetFrame. */
function newFrame(): Frame {
  return {
    name: '',
    type: undefined,
    kind: Kind.Untyped,
    info: UNTYPED,
    announced: false,
    forceObject: false,
    inArray: false,
    role: 0,
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
  role: number,
): void {
  const info = typeInfo(type)
  const kind = info.kind
  frame.name = name
  frame.type = type
  frame.kind = kind
  frame.info = info
  frame.announced = announced
  frame.forceObject = forceObject
  frame.inArray = inArray
  frame.role = role
  frame.morefType = morefType
  frame.text = ''
  frame.fields = undefined
  frame.repeated = undefined
  frame.items = kind === Kind.Array ? [] : undefined
}

/** The object of a frame's children, made at its first child: `_type` comes first. */
function newFields(frame: Frame): Record<string, unknown> {
  return frame.kind === Kind.Data && (frame.announced || frame.forceObject)
    ? { _type: frame.type }
    : {}
}

function finishFrame(frame: Frame): unknown {
  const { fields, text } = frame
  switch (frame.kind) {
    case Kind.Array:
      return frame.items
    case Kind.Untyped:
      if (fields) return fields
      if (frame.forceObject) return {}
      return frame.morefType === undefined ? text : { type: frame.morefType, value: text }
    case Kind.Text:
      return fields ?? text
    case Kind.Number:
    case Kind.Boolean:
    case Kind.Date:
    case Kind.Moref:
      return scalarValue(frame.kind, text, frame.morefType)
  }
  // An enum is text; a data object has fields, is forced to be one, or was announced with
  // xsi:type and has no content (a data object without fields, e.g. a bootable CD-ROM device).
  if (!fields && !frame.forceObject && !(frame.announced && text === '')) return text
  const out = fields ?? newFields(frame)
  const arrays = frame.info.arrays
  for (let i = 0; i < arrays.length; i++) {
    const field = arrays[i]!
    if (out[field] === undefined) out[field] = []
  }
  return out
}

/**
 * The PropertyCollector's ObjectContent in its common form, read with indexOf and startsWith
 * on the piece instead of some 16 scanner events and decoder steps per object: a short-lived
 * process runs the decoder before V8 has compiled it, and a list of 5,000 VMs is 5,000 of
 * these (issue 21). The form: `<obj type="T">id</obj>`, then propSets of a `<name>` and a
 * `<val>` whose attributes are double-quoted, without entities, and whose content is text
 * of a simple type (string, number, boolean, dateTime, a moref, an enum); no white space
 * between tags, no missingSet, no entity or `]]>` anywhere. Anything else (and an element
 * the piece cuts) is left to the events. It builds what the events build, key for key and
 * in the same order (test/streaming-decode.test.ts compares both on every answer of a
 * vcsim session).
 *
 * What it makes is all that stays of an answer of 5,000 VMs, and a short process pays for
 * it in scavenges (each copies what survives): the objects are built at their final shape
 * and size (their fields in one literal, each propSet an array of its exact length), and
 * the end of the object is left in objectEnd rather than returned in an object of its own.
 */
const OBJECT_START = '<objects><obj type="'
const ATTRIBUTE = /\s+([^\s="'<>/]+)="([^"<>&]*)"/y
const TRAILING_SPACE = /^\s*$/

/** Where the object readObjectContent read last ends. */
let objectEnd = 0
/** The last moref type readObjectContent found to be a name (an answer repeats one). */
let objectType = ''

function readObjectContent(xml: string, at: number): Record<string, unknown> | undefined {
  // (indexOf and startsWith on the piece: no string is made but the values.)
  if (!xml.startsWith(OBJECT_START, at)) return undefined
  const typeStart = at + OBJECT_START.length
  const typeEnd = xml.indexOf('">', typeStart)
  if (typeEnd === -1) return undefined
  const morefType = interned(xml, typeStart, typeEnd)
  const idStart = typeEnd + 2
  let end = xml.indexOf('<', idStart)
  if (end === -1 || !xml.startsWith('</obj>', end)) return undefined
  const obj = { type: morefType, value: xml.slice(idStart, end) }
  end += 6
  // The first two properties (as many as most objects have) wait here, so that the array is
  // made at its length; push would give it room for 17.
  let count = 0
  let first: unknown
  let second: unknown
  let more: unknown[] | undefined
  while (xml.startsWith('<propSet><name>', end)) {
    const nameStart = end + 15
    const nameEnd = xml.indexOf('<', nameStart)
    if (nameEnd === -1 || !xml.startsWith('</name>', nameEnd)) return undefined
    const tag = valTag(xml, nameEnd + 7)
    if (tag === undefined) return undefined
    const textStart = nameEnd + 7 + tag.text.length
    const textEnd = xml.indexOf('<', textStart)
    if (textEnd === -1 || !xml.startsWith('</val></propSet>', textEnd)) return undefined
    const val = simpleValue(tag, xml.slice(textStart, textEnd))
    if (val === NOT_SIMPLE) return undefined
    const property = { name: interned(xml, nameStart, nameEnd), val }
    if (count === 0) first = property
    else if (count === 1) second = property
    else if (more === undefined) more = [first, second, property]
    else more.push(property)
    count++
    end = textEnd + 16
  }
  if (!xml.startsWith('</objects>', end)) return undefined
  end += 10
  // No reference to decode and no `]]>` (an error the events report) in the whole object;
  // `<` only in tags, found above. A type is a name: anything else is left to the events.
  if (nextAmpersand(xml, at) < end || nextCdataEnd(xml, at) < end) return undefined
  if (morefType !== objectType) {
    if (!/^[A-Za-z_][\w.-]*$/.test(morefType)) return undefined
    objectType = morefType
  }
  objectEnd = end
  const propSet = count === 0 ? [] : count === 1 ? [first] : count === 2 ? [first, second] : more
  // What finishFrame adds: the schema's arrays the object lacks, in schema order (propSet,
  // then missingSet, which this form never has).
  if (objectContentArrays()) return { obj, propSet, missingSet: [] }
  const content: Record<string, unknown> = { obj }
  if (count > 0) content.propSet = propSet
  const arrays = typeInfo('ObjectContent').arrays
  for (let i = 0; i < arrays.length; i++) {
    const field = arrays[i]!
    if (content[field] === undefined) content[field] = []
  }
  return content
}

let knownArrays: boolean | undefined
/** ObjectContent's array fields are propSet and missingSet, in this order (the schema's). */
function objectContentArrays(): boolean {
  if (knownArrays === undefined) {
    const arrays = typeInfo('ObjectContent').arrays
    knownArrays = arrays.length === 2 && arrays[0] === 'propSet' && arrays[1] === 'missingSet'
  }
  return knownArrays
}

/** A `<val …>` start tag as written, and what its attributes say: an answer repeats a few. */
interface ValTag {
  text: string
  xsiType: string | undefined
  morefType: string | undefined
}
const valTags: ValTag[] = []

/** The `<val>` start tag at `at` (seen before, or read now); undefined when not simple. */
function valTag(xml: string, at: number): ValTag | undefined {
  if (!xml.startsWith('<val', at)) return undefined
  for (let i = 0; i < valTags.length; i++)
    if (xml.startsWith(valTags[i]!.text, at)) return valTags[i]
  const gt = xml.indexOf('>', at)
  if (gt === -1 || gt - at > 512) return undefined
  const attributes = xml.slice(at + 4, gt)
  if (attributes !== '' && !/^\s/.test(attributes)) return undefined
  const tag: ValTag = {
    text: flat(xml.slice(at, gt + 1)),
    xsiType: undefined,
    morefType: undefined,
  }
  const keys: string[] = []
  ATTRIBUTE.lastIndex = 0
  while (ATTRIBUTE.lastIndex < attributes.length) {
    const from = ATTRIBUTE.lastIndex
    const attribute = ATTRIBUTE.exec(attributes)
    if (attribute === null) {
      if (TRAILING_SPACE.test(attributes.slice(from))) break
      return undefined
    }
    const key = attribute[1]!
    // A repeated attribute is an error the events report.
    if (keys.includes(key)) return undefined
    keys.push(key)
    if (key === 'type') tag.morefType = attribute[2]!
    else if (isTypeAttribute(key)) tag.xsiType = typeName(attribute[2]!)
  }
  if (valTags.length >= 16) valTags.pop()
  valTags.unshift(tag)
  return tag
}

/** Returned by simpleValue for a value it leaves to the events. */
const NOT_SIMPLE = Symbol('not simple')

/** A `<val>`'s value from its tag and text, as finishFrame builds it; or NOT_SIMPLE. */
function simpleValue(tag: ValTag, text: string): unknown {
  // DynamicProperty.val is anyType: without xsi:type, text.
  const info = typeInfo(tag.xsiType ?? 'anyType')
  switch (info.kind) {
    case Kind.Text:
      return text
    case Kind.Number:
    case Kind.Boolean:
    case Kind.Date:
    case Kind.Moref:
      return scalarValue(info.kind, text, tag.morefType)
    case Kind.Data:
      // An enum; empty, it would be a data object without fields.
      return text === '' ? NOT_SIMPLE : text
    default:
      return NOT_SIMPLE
  }
}

/** The value of a number, boolean, date or moref element from its text. */
function scalarValue(
  kind: Kind.Number | Kind.Boolean | Kind.Date | Kind.Moref,
  text: string,
  morefType: string | undefined,
): unknown {
  switch (kind) {
    case Kind.Number:
      return Number(text)
    case Kind.Boolean:
      return text === 'true' || text === '1'
    case Kind.Date:
      return new Date(text)
    case Kind.Moref:
      return { type: morefType ?? '', value: text }
  }
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

// --- schema lookups, cached: an answer repeats a few names and types many times ---

const NUMERIC = new Set(['int', 'long', 'short', 'byte', 'float', 'double'])
const UNTYPED: TypeInfo = { kind: Kind.Untyped, fields: undefined, arrays: [] }
const typeInfos = new Map<string, TypeInfo>()

function typeInfo(type: string | undefined): TypeInfo {
  if (type === undefined) return UNTYPED
  let info = typeInfos.get(type)
  if (info === undefined) {
    const schema = DATA_TYPES[type]
    info = {
      kind: kindOf(type),
      fields: schema
        ? new Map(Object.entries(schema).map(([field, fieldType]) => [field, hintFor(fieldType)]))
        : undefined,
      arrays: schema ? Object.keys(schema).filter((field) => schema[field]!.endsWith('[]')) : [],
    }
    if (typeInfos.size < 4096) typeInfos.set(type, info)
  }
  return info
}

function kindOf(type: string): Kind {
  if (type === 'string' || type === 'anyType') return Kind.Text
  if (NUMERIC.has(type)) return Kind.Number
  if (type === 'boolean') return Kind.Boolean
  if (type === 'dateTime') return Kind.Date
  if (type === 'MoRef' || type === 'ManagedObjectReference') return Kind.Moref
  if (type.startsWith('ArrayOf')) return Kind.Array
  return Kind.Data
}

const hints = new Map<string | undefined, Hint>()

/** A schema field type (`T`, `T[]`, `DataObject`) as a hint. */
function hintFor(fieldType: string | undefined): Hint {
  let hint = hints.get(fieldType)
  if (hint === undefined) {
    const inArray = fieldType?.endsWith('[]') ?? false
    const type = inArray ? fieldType!.slice(0, -2) : fieldType
    hint =
      type === 'DataObject'
        ? { type: undefined, inArray, forceObject: true }
        : { type, inArray, forceObject: false }
    if (hints.size < 4096) hints.set(fieldType, hint)
  }
  return hint
}

/** An element of `ArrayOf…`: typed by the table, else by its element name. */
function arrayElementHint(arrayType: string, name: string): Hint {
  return hintFor(ARRAY_ELEMENT_TYPES[arrayType] ?? name)
}

const faultHints = new Map<string, Hint>()

/** A fault in a SOAP fault's `detail` (`InvalidLoginFault` is an `InvalidLogin`). */
function faultHint(name: string): Hint {
  let hint = faultHints.get(name)
  if (hint === undefined) {
    hint = {
      type: name.endsWith('Fault') ? name.slice(0, -5) : name,
      inArray: false,
      forceObject: true,
    }
    if (faultHints.size < 4096) faultHints.set(name, hint)
  }
  return hint
}

const typeNames = new Map<string, string>()

/** The local part of an `xsi:type` value (`xsd:string` → `string`), cached: types repeat. */
function typeName(value: string): string {
  let name = typeNames.get(value)
  if (name === undefined) {
    name = stripPrefix(value)
    if (typeNames.size < 4096 && value.length <= 64) typeNames.set(value, name)
  }
  return name
}

const localNames = new Map<string, string>()

/** An element's name without its namespace prefix, cached. */
function localName(tag: string): string {
  let name = localNames.get(tag)
  if (name === undefined) {
    name = stripPrefix(tag)
    if (localNames.size < 4096) localNames.set(tag, name)
  }
  return name
}

const typeAttributes = new Map<string, boolean>()

/** Whether an attribute is an `xsi:type` (any prefix). */
function isTypeAttribute(key: string): boolean {
  let is = typeAttributes.get(key)
  if (is === undefined) {
    is = key.endsWith(':type')
    if (typeAttributes.size < 4096) typeAttributes.set(key, is)
  }
  return is
}

function stripPrefix(name: string): string {
  const colon = name.indexOf(':')
  return colon === -1 ? name : name.slice(colon + 1)
}
