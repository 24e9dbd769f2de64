import {
  decodeEntities,
  flat,
  forgetPiece,
  interned,
  internedHashed,
  knownTag,
  nextAmpersand,
  nextCdataEnd,
  rememberTag,
  sameText,
  XmlSyntaxError,
} from './xml-text.ts'

export { XmlSyntaxError }

/**
 * A small, strict XML scanner for SOAP answers: start tags with their attributes, text and
 * end tags, in document order. It does what a vim25 answer needs and refuses the rest:
 *
 * - the XML declaration, comments and processing instructions are skipped; CDATA is text;
 * - a DOCTYPE is refused (SOAP forbids it; no entity is ever expanded but the five predefined
 *   ones and character references);
 * - end tags must match their start tags, attributes must be quoted and unique, and the
 *   document must hold one root element and nothing but white space around it.
 *
 * It is push-style: `write` takes the answer in pieces as they arrive (bytes or text, cut
 * anywhere: inside a tag, an attribute value, an entity, a multi-byte UTF-8 sequence, CDATA or
 * a comment) and `end` checks the document is complete. A construct cut by the end of a piece
 * is kept (only that tail) and scanned again once the next piece completes it; its events are
 * sent only when it is whole, so the events are the same however the answer was cut. A long
 * text is passed on in parts (`text` may be called several times in a row).
 *
 * It scans with indexOf where it can, and allocates little (the caches are in xml-text.ts):
 * names, short values and whole start tags with attributes repeat throughout an answer and
 * are taken from small caches keyed by a hash (no new string per tag), end tags are compared
 * in place, and a tag without attributes shares one empty array. Before scanning a tag
 * character by character, it tries the few tags that followed the previous tag before, each
 * compared whole in one call (SeenTag): an answer repeats a few patterns thousands of times,
 * and a short-lived process runs this code before V8 has compiled it, where every character
 * looked at costs (a third of `brine --session-store vmware_vm.list`'s decoding of 5,000 VMs).
 * Element and attribute names are not checked against XML's name grammar: a name is what
 * stands between `<` and white space, `/` or `>`.
 */
export interface ScanHandlers {
  /**
   * A start tag. `attributes` holds name, value, name, value…; read it during the call (a
   * tag without attributes shares one frozen empty array).
   */
  open(name: string, attributes: readonly string[]): void
  /** Text (entities decoded, CDATA as is); one text may come in several calls. */
  text(text: string): void
  close(name: string): void
}

/**
 * A handler that reads some elements whole, in their common form, instead of through events:
 * at each `tag` (`<name>` as written) inside the root, `read(xml, at)` gets the piece and the
 * tag's offset, and returns the offset after the element's end tag when it read the element
 * (as its events would have built it), or -1 to leave it to the events (an element in another
 * form, or cut by the end of the piece). It must not throw.
 */
export interface BulkReader {
  tag: string
  read(xml: string, at: number): number
}

/** Scan `xml` whole, calling `handlers` in document order. Throws XmlSyntaxError. */
export function scanXml(xml: string, handlers: ScanHandlers): void {
  const scanner = new XmlScanner(handlers)
  scanner.writeText(xml)
  scanner.end()
}

/**
 * A scanner fed in pieces: `write` bytes (UTF-8) or `writeText` text, then `end`. Throws
 * XmlSyntaxError (from the call that completes the bad construct, or from `end`); after an
 * error it must not be fed again.
 */
export class XmlScanner {
  readonly #state: ScanState
  /** The first bytes of a UTF-8 sequence the last piece cut. */
  #partial: Buffer | undefined
  #started = false

  constructor(handlers: ScanHandlers) {
    this.#state = {
      handlers,
      open: [],
      sawRoot: false,
      tail: '',
      base: 0,
      resumeAt: 0,
      bulk: undefined,
      last: undefined,
      tagName: '',
      tagAttributes: NO_ATTRIBUTES,
      tagEmpty: false,
    }
  }

  /**
   * The next bytes of a UTF-8 document (a BOM at its start is dropped; bytes that are not
   * UTF-8 read as U+FFFD).
   */
  write(bytes: Uint8Array): void {
    const state = this.#state
    let input = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    // The kept tail is decoded again with the new bytes, as one flat string: text joined with
    // `+` would be scanned through a rope, slower per character.
    const short = state.tail.length <= SHORT_TAIL
    if ((short && state.tail !== '') || this.#partial) {
      const head = short && state.tail !== '' ? Buffer.from(state.tail, 'utf8') : undefined
      input = Buffer.concat([
        ...(head ? [head] : []),
        ...(this.#partial ? [this.#partial] : []),
        input,
      ])
      if (head) state.tail = ''
      this.#partial = undefined
    }
    const whole = completeLength(input)
    if (whole < input.length) this.#partial = Buffer.from(input.subarray(whole))
    let text = input.toString('utf8', 0, whole)
    if (!this.#started && text !== '') {
      this.#started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    this.writeText(text)
  }

  /**
   * Let `reader` read whole elements that start with `reader.tag`, from now until this is
   * called again (undefined: none): see BulkReader.
   */
  bulk(reader: BulkReader | undefined): void {
    this.#state.bulk = reader
  }

  /** The next characters of the document. */
  writeText(text: string): void {
    if (!text) return
    const state = this.#state
    const xml = state.tail === '' ? text : state.tail + text
    state.tail = ''
    scan(state, xml, false)
  }

  /** The document is complete: scan what is left and check it is one whole element. */
  end(): void {
    const state = this.#state
    const rest = this.#partial ? this.#partial.toString('utf8') : ''
    this.#partial = undefined
    const xml = state.tail + rest
    const end = state.base + xml.length
    state.tail = ''
    state.resumeAt = 0
    scan(state, xml, true)
    const open = state.open
    if (open.length > 0)
      throw new XmlSyntaxError(`unclosed element <${open[open.length - 1]}>`, end)
    if (!state.sawRoot) throw new XmlSyntaxError('no root element', end)
  }
}

// --- internal ---

interface ScanState {
  handlers: ScanHandlers
  /** Names of the open elements, outermost first. */
  open: string[]
  sawRoot: boolean
  /** The unscanned end of the last piece: a construct (or text) it cut. */
  tail: string
  /** Offset in the document of the text being scanned, for error messages. */
  base: number
  /**
   * Where in the kept tail the terminator of the cut construct may start: a long comment,
   * CDATA section or start tag is not searched again from its start for every piece.
   */
  resumeAt: number
  /** Whole elements a handler reads itself (XmlScanner.bulk). */
  bulk: BulkReader | undefined
  /** The last tag scanned, whose successors predict the next (undefined after other markup). */
  last: SeenTag | undefined
  /** The tag scanEndTag or scanStartTag just read, for its SeenTag. */
  tagName: string
  tagAttributes: readonly string[]
  tagEmpty: boolean
}

/** A kept tail up to this many characters is joined to the next piece as bytes. */
const SHORT_TAIL = 4096
/** Text longer than this, cut by the end of a piece, is passed on rather than kept. */
const LONG_TEXT = 1 << 16
/** Returned by a construct's scanner when the piece ends inside it. */
const CUT = -1

/**
 * Scan `xml` (the kept tail and the new piece); keep its unscanned end in `state.tail`. With
 * `final`, there is no more: a construct left open is an error.
 */
function scan(state: ScanState, xml: string, final: boolean): void {
  try {
    scanPiece(state, xml, final)
  } finally {
    forgetPiece()
  }
}

function scanPiece(state: ScanState, xml: string, final: boolean): void {
  const { handlers, open } = state
  const end = xml.length
  let pos = 0
  while (pos < end) {
    const lt = xml.indexOf('<', pos)
    if (lt === -1) {
      // Text to the end of the piece: pass it on, or keep it until its end is known.
      if (open.length === 0) {
        if (!isSpace(xml, pos, end))
          throw new XmlSyntaxError('text outside the root element', state.base + pos)
        if (!final) keep(state, xml, end, end)
        return
      }
      if (final) {
        handlers.text(decodeText(xml, pos, end, state.base))
        return
      }
      if (end - pos <= LONG_TEXT) {
        keep(state, xml, pos, pos)
        return
      }
      // Pass on all but the last two characters (a `]]>` cut after them) and a cut reference.
      const bad = xml.indexOf(']]>', pos)
      if (bad !== -1) throw new XmlSyntaxError("']]>' in text", state.base + bad)
      let cut = end - 2
      const amp = xml.lastIndexOf('&', cut - 1)
      // (A reference is at most 12 characters; an older '&' without ';' is an error below.)
      if (amp >= pos && amp > end - 16) {
        const semi = xml.indexOf(';', amp)
        if (semi === -1 || semi >= cut) cut = amp
      }
      if (cut > pos) handlers.text(decodeText(xml, pos, cut, state.base))
      keep(state, xml, cut, cut)
      return
    }
    if (lt > pos) {
      if (open.length > 0) handlers.text(decodeText(xml, pos, lt, state.base))
      else if (!isSpace(xml, pos, lt))
        throw new XmlSyntaxError('text outside the root element', state.base + pos)
    }
    const bulk = state.bulk
    if (bulk !== undefined && open.length > 0 && xml.startsWith(bulk.tag, lt)) {
      const after = bulk.read(xml, lt)
      if (after > lt) {
        state.last = undefined
        state.resumeAt = 0
        pos = after
        continue
      }
    }
    // The tags of an answer follow each other in a few patterns: try the tags that followed
    // the last one before, each compared whole in one call, before scanning.
    const last = state.last
    if (last !== undefined && open.length > 0) {
      const seen = predicted(last, xml, lt, open[open.length - 1]!)
      if (seen !== undefined) {
        if (seen.kind === END) {
          open.pop()
          handlers.close(seen.name)
        } else {
          handlers.open(seen.name, seen.attributes)
          if (seen.kind === EMPTY) handlers.close(seen.name)
          else open.push(seen.name)
        }
        state.last = seen
        state.resumeAt = 0
        pos = lt + seen.text.length
        continue
      }
    }
    const next = lt + 1 < end ? xml.charCodeAt(lt + 1) : -1
    let after: number
    if (next === 47 /* / */) {
      after = scanEndTag(state, xml, lt, final)
      if (after !== CUT)
        state.last = follow(last, xml, lt, after, END, state.tagName, NO_ATTRIBUTES)
    } else if (next === 63 /* ? */) {
      after = skipTo(state, xml, lt, '?>', 'unclosed processing instruction', final)
      state.last = undefined
    } else if (next === 33 /* ! */) {
      state.last = undefined
      if (startsWithCut(xml, lt, '<!--', final)) {
        after = skipTo(state, xml, lt, '-->', 'unclosed comment', final)
      } else if (startsWithCut(xml, lt, '<![CDATA[', final)) {
        if (open.length === 0)
          throw new XmlSyntaxError('CDATA outside the root element', state.base + lt)
        after = skipTo(state, xml, lt, ']]>', 'unclosed CDATA section', final)
        if (after !== CUT) handlers.text(xml.slice(lt + 9, after - 3))
      } else if (!final && end - lt < 9 && '<![CDATA['.startsWith(xml.slice(lt))) {
        after = CUT
      } else {
        throw new XmlSyntaxError(
          'a DOCTYPE or declaration is not allowed in a SOAP message',
          state.base + lt,
        )
      }
    } else if (next === -1 && !final) {
      after = CUT
    } else {
      if (open.length === 0 && state.sawRoot)
        throw new XmlSyntaxError('a second root element', state.base + lt)
      after = scanStartTag(state, xml, lt, final)
      if (after !== CUT) {
        state.sawRoot = true
        state.last = follow(
          last,
          xml,
          lt,
          after,
          state.tagEmpty ? EMPTY : START,
          state.tagName,
          state.tagAttributes,
        )
      }
    }
    if (after === CUT) {
      keep(state, xml, lt, state.resumeAt)
      return
    }
    state.resumeAt = 0
    pos = after
  }
  state.base += end
}

/**
 * How many of `bytes` end whole UTF-8 sequences: all, or up to a sequence the end cut (its
 * lead byte and up to two more).
 */
function completeLength(bytes: Buffer): number {
  const length = bytes.length
  for (let i = length - 1; i >= 0 && i >= length - 3; i--) {
    const byte = bytes[i]!
    if (byte < 0x80) return length
    if (byte >= 0xc0) {
      const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2
      return length - i >= needed ? length : i
    }
  }
  return length
}

/** Keep xml[from…] for the next piece; `resumeAt` is an offset in xml (at or after `from`). */
function keep(state: ScanState, xml: string, from: number, resumeAt: number): void {
  state.tail = xml.slice(from)
  state.resumeAt = Math.max(0, resumeAt - from)
  state.base += from
}

/**
 * Whether xml at `at` starts with `prefix`, or (not `final`) with the first three or more
 * characters of it, the rest cut by the piece's end.
 */
function startsWithCut(xml: string, at: number, prefix: string, final: boolean): boolean {
  const left = xml.length - at
  if (left >= prefix.length) return xml.startsWith(prefix, at)
  return !final && left >= 3 && xml.startsWith(prefix.slice(0, left), at)
}

/** Skip a comment, CDATA section or processing instruction at `lt`: the offset after `close`. */
function skipTo(
  state: ScanState,
  xml: string,
  lt: number,
  close: string,
  unclosed: string,
  final: boolean,
): number {
  const start = lt + (close === '-->' ? 4 : close === ']]>' ? 9 : 2)
  const found = xml.indexOf(close, Math.max(start, lt + state.resumeAt))
  if (found !== -1) return found + close.length
  if (final) throw new XmlSyntaxError(unclosed, state.base + lt)
  // Search again from the last characters that could begin `close`.
  state.resumeAt = Math.max(start, xml.length - close.length + 1)
  return CUT
}

function scanEndTag(state: ScanState, xml: string, lt: number, final: boolean): number {
  const end = xml.length
  const expected = state.open[state.open.length - 1]
  let gt = lt + 2 + (expected?.length ?? 0)
  if (
    expected !== undefined &&
    end - lt - 2 >= expected.length &&
    sameText(xml, lt + 2, expected)
  ) {
    while (gt < end && isSpaceCode(xml.charCodeAt(gt))) gt++
    if (gt < end && xml.charCodeAt(gt) === 62 /* > */) {
      state.open.pop()
      state.tagName = expected
      state.handlers.close(expected)
      return gt + 1
    }
  }
  const close = xml.indexOf('>', lt + 2)
  if (close === -1 && !final) return CUT
  const name = xml.slice(lt + 2, close === -1 ? end : close).trimEnd()
  throw new XmlSyntaxError(
    expected === undefined
      ? `end tag </${name}> without a start tag`
      : `end tag </${name}> closes <${expected}>`,
    state.base + lt,
  )
}

/** The attributes of a tag without any: most tags of an answer. */
const NO_ATTRIBUTES: readonly string[] = Object.freeze([])

/** Scan the start tag at `lt`: the offset after it, or CUT. */
function scanStartTag(state: ScanState, xml: string, lt: number, final: boolean): number {
  const end = xml.length
  // A tag cut by the piece's end is scanned again only once a `>` has come.
  if (!final && state.resumeAt > 0 && xml.indexOf('>', lt + state.resumeAt) === -1) {
    state.resumeAt = end
    return CUT
  }
  let pos = lt + 1
  let hash = 0
  while (pos < end) {
    const c = xml.charCodeAt(pos)
    if (c === 62 /* > */ || c === 47 /* / */ || c === 61 /* = */ || isSpaceCode(c)) break
    hash = (Math.imul(hash, 31) + c) | 0
    pos++
  }
  if (pos === lt + 1) throw new XmlSyntaxError('a tag without a name', state.base + lt)
  if (pos === end && !final) return cutStartTag(state, end)
  const name = internedHashed(xml, lt + 1, pos, hash)
  // A tag with attributes, written as one seen before (up to its first `>`), means the same.
  const gt = xml.charCodeAt(pos) === 62 /* > */ ? pos : xml.indexOf('>', pos)
  if (gt !== pos && gt !== -1) {
    const known = knownTag(xml, lt, gt)
    if (known !== undefined) {
      state.tagName = known.name
      state.tagAttributes = known.attributes
      state.tagEmpty = known.selfClosing
      if (known.selfClosing) {
        state.handlers.open(known.name, known.attributes)
        state.handlers.close(known.name)
      } else {
        state.open.push(known.name)
        state.handlers.open(known.name, known.attributes)
      }
      return gt + 1
    }
  }
  let attributes = NO_ATTRIBUTES as string[]
  for (;;) {
    const spaced = pos
    while (pos < end && isSpaceCode(xml.charCodeAt(pos))) pos++
    if (pos >= end) {
      if (final) throw new XmlSyntaxError(`unclosed start tag <${name}`, state.base + lt)
      return cutStartTag(state, end)
    }
    const c = xml.charCodeAt(pos)
    if (c === 62 /* > */) {
      if (pos === gt && attributes !== NO_ATTRIBUTES)
        attributes = rememberTag(xml, lt, gt, name, attributes, false) as string[]
      state.tagName = name
      state.tagAttributes = attributes
      state.tagEmpty = false
      state.open.push(name)
      state.handlers.open(name, attributes)
      return pos + 1
    }
    if (c === 47 /* / */) {
      if (pos + 1 >= end && !final) return cutStartTag(state, end)
      if (xml.charCodeAt(pos + 1) !== 62)
        throw new XmlSyntaxError(`bad start tag <${name}`, state.base + pos)
      if (pos + 1 === gt && attributes !== NO_ATTRIBUTES)
        attributes = rememberTag(xml, lt, gt, name, attributes, true) as string[]
      state.tagName = name
      state.tagAttributes = attributes
      state.tagEmpty = true
      state.handlers.open(name, attributes)
      state.handlers.close(name)
      return pos + 2
    }
    if (pos === spaced)
      throw new XmlSyntaxError(`no space before an attribute in <${name}`, state.base + pos)
    const keyStart = pos
    hash = 0
    while (pos < end) {
      const k = xml.charCodeAt(pos)
      if (k === 61 /* = */ || k === 62 || k === 47 || isSpaceCode(k)) break
      hash = (Math.imul(hash, 31) + k) | 0
      pos++
    }
    if (pos >= end && !final) return cutStartTag(state, end)
    const key = internedHashed(xml, keyStart, pos, hash)
    while (pos < end && isSpaceCode(xml.charCodeAt(pos))) pos++
    if (pos >= end && !final) return cutStartTag(state, end)
    if (xml.charCodeAt(pos) !== 61)
      throw new XmlSyntaxError(`attribute ${key} without a value in <${name}`, state.base + pos)
    pos++
    while (pos < end && isSpaceCode(xml.charCodeAt(pos))) pos++
    if (pos >= end && !final) return cutStartTag(state, end)
    const quote = xml.charCodeAt(pos)
    if (quote !== 34 && quote !== 39)
      throw new XmlSyntaxError(`unquoted attribute ${key} in <${name}`, state.base + pos)
    const close = xml.indexOf(quote === 34 ? '"' : "'", pos + 1)
    if (close === -1) {
      if (final) throw new XmlSyntaxError(`unclosed attribute ${key} in <${name}`, state.base + pos)
      return cutStartTag(state, end)
    }
    const lessThan = xml.indexOf('<', pos + 1)
    if (lessThan !== -1 && lessThan < close)
      throw new XmlSyntaxError(`'<' in attribute ${key} of <${name}`, state.base + lessThan)
    const amp = nextAmpersand(xml, pos + 1) < close
    for (let i = 0; i < attributes.length; i += 2)
      if (attributes[i] === key)
        throw new XmlSyntaxError(`attribute ${key} twice in <${name}`, state.base + keyStart)
    if (attributes === NO_ATTRIBUTES) attributes = []
    attributes.push(
      key,
      amp
        ? decodeEntities(xml.slice(pos + 1, close), state.base + pos + 1)
        : close - pos - 1 <= 64
          ? interned(xml, pos + 1, close)
          : xml.slice(pos + 1, close),
    )
    pos = close + 1
  }
}

const START = 0
/** A start tag that closes itself (`<a/>`). */
const EMPTY = 1
const END = 2

/**
 * A tag as written (start, self-closing or end tag, `<` to `>`), once scanned: the same text
 * scans the same. It remembers the tags that came after it, to try first next time.
 */
interface SeenTag {
  text: string
  kind: typeof START | typeof EMPTY | typeof END
  name: string
  attributes: readonly string[]
  /** The codes of text's second and next-to-last characters. */
  second: number
  beforeLast: number
  after: SeenTag[]
}

/** Tags seen, by text; emptied when it grows past MAX_SEEN (an answer has a few dozen). */
const SEEN = new Map<string, SeenTag>()
const MAX_SEEN = 1024
/** The longest tag kept, and how many successors a tag keeps. */
const MAX_SEEN_LENGTH = 512
const MAX_AFTER = 4

/**
 * The tag at `lt`, when it is one that followed `last` before and is wholly in the piece; an
 * end tag only when it closes the open element `top`.
 */
function predicted(last: SeenTag, xml: string, lt: number, top: string): SeenTag | undefined {
  const after = last.after
  for (let i = 0; i < after.length; i++) {
    const seen = after[i]!
    // (Two characters first: most candidates that differ, differ there, without a call.)
    if (
      xml.charCodeAt(lt + 1) === seen.second &&
      xml.charCodeAt(lt + seen.text.length - 2) === seen.beforeLast &&
      xml.startsWith(seen.text, lt)
    )
      return seen.kind !== END || seen.name === top ? seen : undefined
  }
  return undefined
}

/** The SeenTag of the tag just scanned at xml[lt, to), noted as a successor of `last`. */
function follow(
  last: SeenTag | undefined,
  xml: string,
  lt: number,
  to: number,
  kind: SeenTag['kind'],
  name: string,
  attributes: readonly string[],
): SeenTag | undefined {
  if (to - lt > MAX_SEEN_LENGTH) return undefined
  const text = xml.slice(lt, to)
  let seen = SEEN.get(text)
  if (seen === undefined) {
    if (SEEN.size >= MAX_SEEN) SEEN.clear()
    seen = {
      text: flat(text),
      second: text.charCodeAt(1),
      beforeLast: text.charCodeAt(text.length - 2),
      kind,
      name,
      attributes:
        attributes.length === 0 || Object.isFrozen(attributes)
          ? attributes
          : Object.freeze([...attributes]),
      after: [],
    }
    SEEN.set(seen.text, seen)
  }
  if (last !== undefined && !last.after.includes(seen)) {
    if (last.after.length >= MAX_AFTER) last.after.pop()
    last.after.unshift(seen)
  }
  return seen
}

/** A start tag cut by the piece's end: look for its end from `end` on, once more has come. */
function cutStartTag(state: ScanState, end: number): number {
  state.resumeAt = end
  return CUT
}

function isSpaceCode(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13
}

/** The text xml[from, to), which ends before a `<` or at the end of the piece. */
function decodeText(xml: string, from: number, to: number, base: number): string {
  const bad = nextCdataEnd(xml, from)
  if (bad < to) throw new XmlSyntaxError("']]>' in text", base + bad)
  if (nextAmpersand(xml, from) < to) return decodeEntities(xml.slice(from, to), base + from)
  // Short texts repeat (property names, enum values): no new string for those seen before.
  return to - from <= 12 ? interned(xml, from, to) : xml.slice(from, to)
}

function isSpace(xml: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = xml.charCodeAt(i)
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false
  }
  return true
}
