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
 * It scans the string with indexOf where it can, and allocates little: names and short
 * attribute values repeat throughout an answer and are taken from a small cache keyed by
 * their hash (no new string per tag), end tags are compared in place, and the attributes of
 * a tag come in one reused array. A 3 MB PropertyCollector answer reads several times faster
 * than with a general SAX parser (saxes); the decode is what brine adds to the wire floor of
 * an inventory read (bench/).
 * Element and attribute names are not checked against XML's name grammar: a name is what
 * stands between `<` and white space, `/` or `>`.
 */
export interface ScanHandlers {
  /**
   * A start tag. `attributes` holds name, value, name, value…; it is reused for the next
   * tag, so read it during the call.
   */
  open(name: string, attributes: readonly string[]): void
  text(text: string): void
  close(name: string): void
}

export class XmlSyntaxError extends SyntaxError {
  constructor(message: string, offset: number) {
    super(`${message} (at offset ${offset})`)
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Scan `xml` whole, calling `handlers` in document order. Throws XmlSyntaxError. */
export function scanXml(xml: string, handlers: ScanHandlers): void {
  const open: string[] = []
  let sawRoot = false
  let pos = 0
  const end = xml.length
  while (pos < end) {
    const lt = xml.indexOf('<', pos)
    const textEnd = lt === -1 ? end : lt
    if (textEnd > pos) {
      if (open.length > 0) handlers.text(decodeText(xml, pos, textEnd))
      else if (!isSpace(xml, pos, textEnd))
        throw new XmlSyntaxError('text outside the root element', pos)
    }
    if (lt === -1) break
    const next = xml.charCodeAt(lt + 1)
    if (next === 47 /* / */) {
      const expected = open.pop()
      let gt = lt + 2 + (expected?.length ?? 0)
      if (expected !== undefined && xml.startsWith(expected, lt + 2)) {
        while (gt < end && isSpaceCode(xml.charCodeAt(gt))) gt++
      }
      if (
        expected === undefined ||
        xml.charCodeAt(gt) !== 62 /* > */ ||
        !xml.startsWith(expected, lt + 2)
      ) {
        const close = xml.indexOf('>', lt + 2)
        const name = xml.slice(lt + 2, close === -1 ? end : close).trimEnd()
        throw new XmlSyntaxError(
          expected === undefined
            ? `end tag </${name}> without a start tag`
            : `end tag </${name}> closes <${expected}>`,
          lt,
        )
      }
      handlers.close(expected)
      pos = gt + 1
    } else if (next === 63 /* ? */) {
      const close = xml.indexOf('?>', lt + 2)
      if (close === -1) throw new XmlSyntaxError('unclosed processing instruction', lt)
      pos = close + 2
    } else if (next === 33 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const close = xml.indexOf('-->', lt + 4)
        if (close === -1) throw new XmlSyntaxError('unclosed comment', lt)
        pos = close + 3
      } else if (xml.startsWith('<![CDATA[', lt)) {
        if (open.length === 0) throw new XmlSyntaxError('CDATA outside the root element', lt)
        const close = xml.indexOf(']]>', lt + 9)
        if (close === -1) throw new XmlSyntaxError('unclosed CDATA section', lt)
        handlers.text(xml.slice(lt + 9, close))
        pos = close + 3
      } else {
        throw new XmlSyntaxError('a DOCTYPE or declaration is not allowed in a SOAP message', lt)
      }
    } else {
      if (open.length === 0 && sawRoot) throw new XmlSyntaxError('a second root element', lt)
      pos = scanStartTag(xml, lt, open, handlers)
      sawRoot = true
    }
  }
  if (open.length > 0) throw new XmlSyntaxError(`unclosed element <${open[open.length - 1]}>`, end)
  if (!sawRoot) throw new XmlSyntaxError('no root element', end)
}

const attributes: string[] = []
/** Interned names and short values, by hash: most repeat in every object of an answer. */
const INTERNED: Array<string | undefined> = new Array(4096)

/** Scan the start tag at `lt`; returns the offset after it. */
function scanStartTag(xml: string, lt: number, open: string[], handlers: ScanHandlers): number {
  const end = xml.length
  let pos = lt + 1
  while (pos < end) {
    const c = xml.charCodeAt(pos)
    if (c === 62 /* > */ || c === 47 /* / */ || c === 61 /* = */ || isSpaceCode(c)) break
    pos++
  }
  if (pos === lt + 1) throw new XmlSyntaxError('a tag without a name', lt)
  const name = interned(xml, lt + 1, pos)
  attributes.length = 0
  for (;;) {
    const spaced = pos
    while (pos < end && isSpaceCode(xml.charCodeAt(pos))) pos++
    if (pos >= end) throw new XmlSyntaxError(`unclosed start tag <${name}`, lt)
    const c = xml.charCodeAt(pos)
    if (c === 62 /* > */) {
      handlers.open(name, attributes)
      open.push(name)
      return pos + 1
    }
    if (c === 47 /* / */) {
      if (xml.charCodeAt(pos + 1) !== 62) throw new XmlSyntaxError(`bad start tag <${name}`, pos)
      handlers.open(name, attributes)
      handlers.close(name)
      return pos + 2
    }
    if (pos === spaced) throw new XmlSyntaxError(`no space before an attribute in <${name}`, pos)
    const keyStart = pos
    while (pos < end) {
      const k = xml.charCodeAt(pos)
      if (k === 61 /* = */ || k === 62 || k === 47 || isSpaceCode(k)) break
      pos++
    }
    const key = interned(xml, keyStart, pos)
    while (pos < end && isSpaceCode(xml.charCodeAt(pos))) pos++
    if (xml.charCodeAt(pos) !== 61)
      throw new XmlSyntaxError(`attribute ${key} without a value in <${name}`, pos)
    pos++
    while (pos < end && isSpaceCode(xml.charCodeAt(pos))) pos++
    const quote = xml.charCodeAt(pos)
    if (quote !== 34 && quote !== 39)
      throw new XmlSyntaxError(`unquoted attribute ${key} in <${name}`, pos)
    const close = xml.indexOf(quote === 34 ? '"' : "'", pos + 1)
    if (close === -1) throw new XmlSyntaxError(`unclosed attribute ${key} in <${name}`, pos)
    let amp = false
    for (let i = pos + 1; i < close; i++) {
      const v = xml.charCodeAt(i)
      if (v === 60 /* < */) throw new XmlSyntaxError(`'<' in attribute ${key} of <${name}`, i)
      if (v === 38 /* & */) amp = true
    }
    for (let i = 0; i < attributes.length; i += 2)
      if (attributes[i] === key)
        throw new XmlSyntaxError(`attribute ${key} twice in <${name}`, keyStart)
    attributes.push(
      key,
      amp
        ? decodeEntities(xml.slice(pos + 1, close), pos + 1)
        : close - pos - 1 <= 64
          ? interned(xml, pos + 1, close)
          : xml.slice(pos + 1, close),
    )
    pos = close + 1
  }
}

/** xml.slice(from, to), taken from the cache when the same text was seen before. */
function interned(xml: string, from: number, to: number): string {
  let hash = to - from
  for (let i = from; i < to; i++) hash = (Math.imul(hash, 31) + xml.charCodeAt(i)) | 0
  const slot = hash & 4095
  const cached = INTERNED[slot]
  if (cached !== undefined && cached.length === to - from && xml.startsWith(cached, from))
    return cached
  // A flat copy: a slice would keep the whole answer alive for as long as the name is cached.
  const text = flat(xml.slice(from, to))
  INTERNED[slot] = text
  return text
}

/** A copy that holds no reference to the answer it was sliced from. */
function flat(text: string): string {
  return text.length <= 12 ? text : Buffer.from(text, 'utf8').toString('utf8')
}

function isSpaceCode(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13
}

function decodeText(xml: string, from: number, to: number): string {
  const text = xml.slice(from, to)
  if (text.includes('>') && text.includes(']]>'))
    throw new XmlSyntaxError("']]>' in text", from + text.indexOf(']]>'))
  return text.includes('&') ? decodeEntities(text, from) : text
}

/** Replace the predefined entities and character references in `text`. */
function decodeEntities(text: string, offset: number): string {
  let out = ''
  let pos = 0
  for (;;) {
    const amp = text.indexOf('&', pos)
    if (amp === -1) return out + text.slice(pos)
    out += text.slice(pos, amp)
    const semi = text.indexOf(';', amp + 1)
    if (semi === -1 || semi - amp > 12)
      throw new XmlSyntaxError("a bare '&' (write &amp;)", offset + amp)
    const entity = text.slice(amp + 1, semi)
    if (entity.charCodeAt(0) === 35 /* # */) {
      const hex = entity.charCodeAt(1) === 120 /* x */
      const digits = hex ? entity.slice(2) : entity.slice(1)
      const code = Number.parseInt(digits, hex ? 16 : 10)
      if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits) || !isXmlChar(code))
        throw new XmlSyntaxError(`bad character reference &${entity};`, offset + amp)
      out += String.fromCodePoint(code)
    } else {
      const value = ENTITIES[entity]
      if (value === undefined) throw new XmlSyntaxError(`unknown entity &${entity};`, offset + amp)
      out += value
    }
    pos = semi + 1
  }
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  )
}

function isSpace(xml: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = xml.charCodeAt(i)
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false
  }
  return true
}
