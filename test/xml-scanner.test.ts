// The SOAP answer scanner (vsphere/xml-scanner.ts): the same events as saxes, a conformant
// XML parser, on real vcsim answers (the one it replaced in the decoder); the same events and
// errors however the answer is cut into pieces; and what it refuses.
import { SaxesParser, type SaxesTagPlain } from 'saxes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scanXml, XmlScanner } from '../vsphere/xml-scanner.ts'
import { sessionAnswers } from './helpers/soap-calls.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

type Event = ['open', string, string[]] | ['text', string] | ['close', string]

/** The scanner's events, adjacent texts merged (saxes may split text differently). */
function scanned(xml: string): Event[] {
  const events: Event[] = []
  scanXml(xml, {
    open: (name, attributes) => events.push(['open', name, [...attributes]]),
    text: (text) => pushText(events, text),
    close: (name) => events.push(['close', name]),
  })
  return events
}

/** The events of `bytes` fed to one scanner in pieces cut at `cuts` (byte offsets, ascending). */
function scannedInPieces(bytes: Buffer, cuts: readonly number[]): Event[] {
  const events: Event[] = []
  const scanner = new XmlScanner({
    open: (name, attributes) => events.push(['open', name, [...attributes]]),
    text: (text) => pushText(events, text),
    close: (name) => events.push(['close', name]),
  })
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    scanner.write(bytes.subarray(from, cut))
    from = cut
  }
  scanner.end()
  return events
}

/** The error message (or 'ok') of scanning `xml` whole, and of scanning its bytes in pieces. */
function outcome(scan: () => unknown): string {
  try {
    scan()
    return 'ok'
  } catch (error) {
    return (error as Error).message
  }
}

/** Cut positions: every single one, every pair of neighbours, one-byte pieces, random sets. */
function cutSets(length: number, random: () => number): number[][] {
  const sets: number[][] = [Array.from({ length: length - 1 }, (_, i) => i + 1)]
  for (let i = 1; i < length; i++) sets.push([i], [i, Math.min(i + 1, length)])
  for (let n = 0; n < 50; n++) {
    const cuts = new Set<number>()
    const count = 1 + Math.floor(random() * 8)
    for (let k = 0; k < count; k++) cuts.add(1 + Math.floor(random() * (length - 1)))
    sets.push([...cuts].sort((a, b) => a - b))
  }
  return sets
}

/** A small seeded PRNG (mulberry32): the same cuts on every run. */
function seeded(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** saxes's events for the same document, in the same form. */
function saxesEvents(xml: string): Event[] {
  const events: Event[] = []
  const parser = new SaxesParser({ xmlns: false, position: false })
  let depth = 0
  parser.on('opentag', (tag: SaxesTagPlain) => {
    depth++
    events.push(['open', tag.name, Object.entries(tag.attributes as Record<string, string>).flat()])
  })
  parser.on('text', (text) => {
    if (depth > 0) pushText(events, text)
  })
  parser.on('cdata', (text) => pushText(events, text))
  parser.on('closetag', (tag) => {
    depth--
    events.push(['close', tag.name])
  })
  parser.write(xml).close()
  return events
}

function pushText(events: Event[], text: string): void {
  const last = events[events.length - 1]
  if (last?.[0] === 'text') last[1] += text
  else events.push(['text', text])
}

describe('on real vcsim answers', () => {
  let vcsim: Vcsim
  beforeAll(async () => {
    vcsim = await startVcsim()
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  it('gives the events saxes gives, for every answer of a session that reads, fails and runs a task', async () => {
    const answers = await sessionAnswers(vcsim, 'scanner', async (si) => {
      const { retrieveAll } = await import('../vsphere/property-collector.ts')
      // Whole data objects, nested arrays, enums, dates, morefs.
      const vms = await retrieveAll(si, 'VirtualMachine', ['config', 'runtime', 'guest'])
      await retrieveAll(si, 'HostSystem', ['config.network', 'summary', 'hardware'])
      // A fault (500 with a detail element).
      await si
        .invoke('RenameDatacenter_Task', { _this: { type: 'Datacenter', value: 'no-such' } })
        .catch(() => undefined)
      // A task and its info.
      const { runTask } = await import('../vsphere/call.ts')
      await runTask(si, 'power off', 'PowerOffVM_Task', { _this: vms[0]!.obj })
    })
    expect(answers.length).toBeGreaterThan(5)
    expect(answers.some((a) => a.xml.includes('Fault>'))).toBe(true)
    for (const { method, xml } of answers) expect(scanned(xml), method).toEqual(saxesEvents(xml))

    // The same answers as bytes, cut anywhere: one-byte pieces, and random cuts.
    const random = seeded(21)
    for (const { method, xml } of answers) {
      const whole = scanned(xml)
      const bytes = Buffer.from(xml, 'utf8')
      expect(scannedInPieces(bytes, cutSets(bytes.length, random)[0]!), method).toEqual(whole)
      for (let n = 0; n < 20; n++) {
        const cuts = [
          ...new Set(Array.from({ length: 40 }, () => Math.floor(random() * bytes.length))),
        ]
        cuts.sort((a, b) => a - b)
        expect(
          scannedInPieces(
            bytes,
            cuts.filter((c) => c > 0),
          ),
          method,
        ).toEqual(whole)
      }
    }
  })
})

describe('XML it reads', () => {
  it('decodes entities and character references in text and attributes, CDATA as text', () => {
    expect(
      scanned(
        `<?xml version="1.0"?><!-- c --><a k='x &amp; &#x41;'>1 &lt; 2 &#233;<![CDATA[<raw>]]></a>`,
      ),
    ).toEqual([
      ['open', 'a', ['k', 'x & A']],
      ['text', '1 < 2 é<raw>'],
      ['close', 'a'],
    ])
  })

  it('reads self-closing tags, white space in tags, and attributes in either quote', () => {
    expect(scanned(`<a\n  x = "1"\ty='2' ><b/><c z="3" /></a >`)).toEqual(
      saxesEvents(`<a\n  x = "1"\ty='2' ><b/><c z="3" /></a >`),
    )
  })
})

describe('XML cut into pieces anywhere', () => {
  // Each document is fed as bytes cut at every position, at every pair of neighbouring
  // positions, in one-byte pieces, and at random positions; the events must be those of the
  // whole string. The cuts fall inside tags, attribute values, entities, character
  // references, multi-byte UTF-8 sequences, CDATA sections and comments.
  it.each([
    [
      'entities in text and attributes',
      `<a k="x &amp; y" j='&lt;&#65;&#x42;'>1 &lt; 2 &gt; 0 &quot;&apos;</a>`,
    ],
    ['a character reference past the BMP', '<a t="&#x1F600;">smile &#x1F600; &#128512;</a>'],
    ['multi-byte UTF-8: 2, 3 and 4 bytes', '<a n="é中😀">café 中文 😀 ü</a>'],
    ['CDATA with markup and a split terminator', '<a>x<![CDATA[<b>&amp;]]]]><![CDATA[>]]>y</a>'],
    [
      'comments and processing instructions',
      '<?xml version="1.0"?><!-- a <b> -- c --><a><!--x--><?pi data?>t</a><!-- end -->',
    ],
    [
      'white space in tags, both quotes, self-closing',
      `<a\n  x = "1"\ty='2' ><b/><c z="3" /><d></d ></a >`,
    ],
    ['a byte order mark', '\ufeff<a>bom</a>'],
    [
      'a SOAP answer',
      `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><R xmlns="urn:vim25"><returnval><obj type="VirtualMachine">vm-1</obj><val xsi:type="xsd:string">Ünïcödé &amp; ✓</val><val xsi:type="xsd:string">Ünïcödé &amp; ✓</val></returnval></R></soapenv:Body></soapenv:Envelope>`,
    ],
  ])('%s', (_label, xml) => {
    // A BOM is dropped from bytes (as TextDecoder does), not from text.
    const whole = scanned(xml.replace(/^\ufeff/, ''))
    const bytes = Buffer.from(xml, 'utf8')
    for (const cuts of cutSets(bytes.length, seeded(bytes.length)))
      expect(scannedInPieces(bytes, cuts), `cut at ${cuts.join(',')}`).toEqual(whole)
  })

  it('gives the same events for text written in pieces, a surrogate pair cut too', () => {
    const xml = '<a k="v😀">x😀&#x1F600;<![CDATA[😀]]></a>'
    const whole = scanned(xml)
    for (let i = 1; i < xml.length; i++) {
      const events: Event[] = []
      const scanner = new XmlScanner({
        open: (name, attributes) => events.push(['open', name, [...attributes]]),
        text: (text) => pushText(events, text),
        close: (name) => events.push(['close', name]),
      })
      scanner.writeText(xml.slice(0, i))
      scanner.writeText(xml.slice(i))
      scanner.end()
      expect(events, `cut at ${i}`).toEqual(whole)
    }
  })

  it('passes a long text on in parts, decoding a reference cut between pieces', () => {
    const text = `${'x'.repeat(70_000)}&amp;${'y'.repeat(70_000)}&#233;`
    const xml = `<a>${text}</a>`
    const bytes = Buffer.from(xml, 'utf8')
    const texts: string[] = []
    const scanner = new XmlScanner({ open() {}, text: (t) => texts.push(t), close() {} })
    for (let from = 0; from < bytes.length; from += 4093)
      scanner.write(bytes.subarray(from, from + 4093))
    scanner.end()
    expect(texts.length).toBeGreaterThan(1)
    expect(texts.join('')).toBe(`${'x'.repeat(70_000)}&${'y'.repeat(70_000)}é`)

    // A piece long enough to be passed on, cut at each position in and around references.
    const long = `<a>${'x'.repeat(66_000)}&amp;&#x1F600;]]</a>`
    const whole = scanned(long)
    const longBytes = Buffer.from(long, 'utf8')
    for (let cut = 66_000; cut < 66_000 + 24; cut++)
      expect(scannedInPieces(longBytes, [cut]), `cut at ${cut}`).toEqual(whole)
  })

  it('refuses what it refuses whole, with the same message, in one-byte pieces', () => {
    for (const [label, xml] of REFUSED) {
      const bytes = Buffer.from(xml, 'utf8')
      const whole = outcome(() => scanned(xml))
      expect(whole, label).not.toBe('ok')
      expect(
        outcome(() => scannedInPieces(bytes, cutSets(bytes.length, seeded(1))[0]!)),
        label,
      ).toBe(whole)
      for (let i = 1; i < bytes.length; i++)
        expect(
          outcome(() => scannedInPieces(bytes, [i])),
          `${label}, cut at ${i}`,
        ).toBe(whole)
    }
  })
})

const REFUSED: Array<[string, string, RegExp]> = [
  ['a mismatched end tag', '<a><b></a></b>', /end tag <\/a> closes <b>/],
  ['an unclosed element', '<a><b></b>', /unclosed element <a>/],
  ['a DOCTYPE (no entity is ever declared)', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE/],
  ['an unknown entity', '<a>&nbsp;</a>', /unknown entity &nbsp;/],
  ['a bare ampersand', '<a>fish & chips</a>', /bare '&'/],
  ['a bad character reference', '<a>&#0;</a>', /bad character reference/],
  ['a decimal reference with hex digits', '<a>&#1a;</a>', /bad character reference/],
  ['an unquoted attribute', '<a k=v></a>', /unquoted attribute k/],
  ['an attribute twice', '<a k="1" k="2"></a>', /attribute k twice/],
  ['attributes without space between', '<a k="1"j="2"></a>', /no space before an attribute/],
  ["'<' in an attribute", '<a k="<"></a>', /'<' in attribute k/],
  ['text outside the root', '<a></a>tail', /text outside the root/],
  ['a second root', '<a></a><b></b>', /a second root element/],
  ['no root at all', '  ', /no root element/],
  ['an end tag without a start', '</a>', /without a start tag/],
  ['an unclosed comment', '<a><!-- x</a>', /unclosed comment/],
  ['an unclosed CDATA section', '<a><![CDATA[ x</a>', /unclosed CDATA section/],
  ["']]>' in text", '<a>x]]>y</a>', /']]>' in text/],
  ['an unclosed start tag', '<a><b k="1"', /unclosed start tag <b/],
  ['an unclosed attribute value', '<a><b k="1></a>', /unclosed attribute k/],
]

describe('start tags seen before', () => {
  it('reads a repeated tag as saxes does, also one with `>` in a value or a tag that differs late', () => {
    const xml =
      '<r><v a="1" b="x">1</v><v a="1" b="x">2</v><v a="1" b="y">3</v><v a="1" b="x"/>' +
      '<w k=">" j="1">4</w><w k=">" j="2">5</w><w k=">" j="1">6</w><v a="1" b="x">7</v></r>'
    expect(scanned(xml)).toEqual(saxesEvents(xml))
    expect(scanned(xml)).toEqual(saxesEvents(xml))
  })

  it('tries the tags that followed a tag before, and takes one only where it is right', () => {
    // Each pattern is seen first, then met again where the predicted tag must not be taken:
    // a longer tag it is the start of, an end tag that closes another element, a tag cut by
    // the piece's end, a successor that changed.
    const xml =
      '<r><o><n>a</n><v t="s">x</v></o><o><n>b</n><v t="b">y</v></o><o><n>c</n><v t="s">z</v></o>' +
      '<o><nn>d</nn><v t="s" u="1">w</v></o><o><n>e</n><v t="s">q</v><v t="s"/></o></r>'
    expect(scanned(xml)).toEqual(saxesEvents(xml))
    // A predicted tag completing one the last piece cut, then a short comment: the comment's
    // end is looked for from its start, not from where the cut tag's was.
    const commented = `${xml.slice(0, -4)}<!--c--><w/><!--d--></r>`
    for (const text of [xml, commented]) {
      const bytes = Buffer.from(text)
      for (let cut = 1; cut < bytes.length; cut++)
        expect(scannedInPieces(bytes, [cut]), `cut at ${cut}`).toEqual(saxesEvents(text))
    }
    // `<x/>` was followed by `</b>`; after `<c><x/>`, `</b>` closes the wrong element.
    expect(() => scanned('<r><b><x/></b><c><x/></b></c></r>')).toThrow(/end tag <\/b> closes <c>/)
  })
})

describe('XML it refuses', () => {
  it.each(REFUSED)('%s', (_label, xml, error) => {
    expect(() => scanned(xml)).toThrow(error)
  })
})
