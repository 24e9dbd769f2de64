/**
 * The text side of the XML scanner (xml-scanner.ts): names, values and start tags taken from
 * small caches instead of new strings (an answer repeats a few of them thousands of times),
 * the next `&` and `]]>` of a piece found once, and entity and character references decoded.
 * The caches are keyed by cheap hashes and always compare the cached text in full; they hold
 * flat copies, never slices of a piece.
 */

export class XmlSyntaxError extends SyntaxError {
  constructor(message: string, offset: number) {
    super(`${message} (at offset ${offset})`)
  }
}

let ampersandIn = ''
let ampersandAt = -1
let cdataEndIn = ''
let cdataEndAt = -1

/**
 * The offset of the first `&` in xml at or after `from` (xml.length when none): remembered, so
 * that a piece without any is searched once, not once per text or attribute.
 */
export function nextAmpersand(xml: string, from: number): number {
  if (ampersandIn !== xml || (ampersandAt < from && ampersandAt !== xml.length)) {
    ampersandIn = xml
    const found = xml.indexOf('&', from)
    ampersandAt = found === -1 ? xml.length : found
  }
  return ampersandAt
}

/** The same for `]]>`, which text must not hold. */
export function nextCdataEnd(xml: string, from: number): number {
  if (cdataEndIn !== xml || (cdataEndAt < from && cdataEndAt !== xml.length)) {
    cdataEndIn = xml
    const found = xml.indexOf(']]>', from)
    cdataEndAt = found === -1 ? xml.length : found
  }
  return cdataEndAt
}

/** Forget the piece (it is not kept alive by the caches). */
export function forgetPiece(): void {
  ampersandIn = ''
  cdataEndIn = ''
}

/** A start tag with attributes, as scanned: the same text scans the same. */
export interface KnownTag {
  /** From `<` to the first `>`, the end of the tag. */
  text: string
  name: string
  attributes: readonly string[]
  selfClosing: boolean
}

/** The longest start tag kept, in characters. */
const KNOWN_TAG_LENGTH = 512
/** Recent start tags with attributes, by a hash of their text. */
const KNOWN_TAGS: Array<KnownTag | undefined> = new Array(256)

function tagSlot(xml: string, lt: number, gt: number): number {
  const length = gt - lt
  return (length * 31 + xml.charCodeAt(gt - 1) * 7 + xml.charCodeAt(lt + (length >> 1))) & 255
}

export function rememberTag(
  xml: string,
  lt: number,
  gt: number,
  name: string,
  attributes: string[],
  selfClosing: boolean,
): readonly string[] {
  // Long tags (a long attribute value) are rare and not worth keeping.
  if (gt - lt >= KNOWN_TAG_LENGTH) return attributes
  const text = flat(xml.slice(lt, gt + 1))
  const frozen = Object.freeze(attributes)
  KNOWN_TAGS[tagSlot(xml, lt, gt)] = { text, name, attributes: frozen, selfClosing }
  return frozen
}

/** The start tag at xml[lt…gt] (gt: its first `>`) when it was seen before. */
export function knownTag(xml: string, lt: number, gt: number): KnownTag | undefined {
  const known = KNOWN_TAGS[tagSlot(xml, lt, gt)]
  return known !== undefined && known.text.length === gt + 1 - lt && sameText(xml, lt, known.text)
    ? known
    : undefined
}

/** Interned names and short values, by hash: most repeat in every object of an answer. */
const INTERNED: Array<string | undefined> = new Array(4096)

/**
 * xml.slice(from, to), taken from the cache when the same text was seen before. The hash is
 * cheap (length and three characters): the cached text is compared in full anyway.
 */
export function interned(xml: string, from: number, to: number): string {
  const length = to - from
  const hash =
    length * 7919 +
    xml.charCodeAt(from) * 31 +
    xml.charCodeAt(to - 1) * 131 +
    xml.charCodeAt(from + (length >> 1))
  return internedHashed(xml, from, to, hash)
}

export function internedHashed(xml: string, from: number, to: number, hash: number): string {
  const slot = (hash ^ (hash >>> 12)) & 4095
  const cached = INTERNED[slot]
  if (cached !== undefined && cached.length === to - from && sameText(xml, from, cached))
    return cached
  // A flat copy: a slice would keep the whole piece alive for as long as the name is cached.
  const text = flat(xml.slice(from, to))
  INTERNED[slot] = text
  return text
}

/** Whether xml holds `text` at `from` (a loop: startsWith with a position is slower here). */
export function sameText(xml: string, from: number, text: string): boolean {
  if (text.length > 16) return xml.slice(from, from + text.length) === text
  for (let i = 0; i < text.length; i++)
    if (xml.charCodeAt(from + i) !== text.charCodeAt(i)) return false
  return true
}

/** A copy that holds no reference to the text it was sliced from. */
export function flat(text: string): string {
  return text.length <= 12 ? text : Buffer.from(text, 'utf8').toString('utf8')
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Replace the predefined entities and character references in `text`. */
export function decodeEntities(text: string, offset: number): string {
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
