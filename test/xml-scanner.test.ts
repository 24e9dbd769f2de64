// The SOAP answer scanner (vsphere/xml-scanner.ts): the same events as saxes, a conformant
// XML parser, on real vcsim answers (the one it replaced in the decoder); and what it refuses.
import { SaxesParser, type SaxesTagPlain } from 'saxes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { observeSoapCalls } from '../vsphere/soap-observers.ts'
import { scanXml } from '../vsphere/xml-scanner.ts'
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
    const answers: Array<{ method: string; xml: string }> = []
    const stop = observeSoapCalls((call) =>
      answers.push({ method: call.method, xml: call.response }),
    )
    const params = resolveConnectionParams({
      server: vcsim.url,
      user: 'scanner',
      password: 'pw',
      caFile: vcsim.caFile,
    })
    try {
      await withSession(params, async (si) => {
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
    } finally {
      stop()
    }
    expect(answers.length).toBeGreaterThan(5)
    expect(answers.some((a) => a.xml.includes('Fault>'))).toBe(true)
    for (const { method, xml } of answers) expect(scanned(xml), method).toEqual(saxesEvents(xml))
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

describe('XML it refuses', () => {
  it.each([
    ['a mismatched end tag', '<a><b></a></b>', /end tag <\/a> closes <b>/],
    ['an unclosed element', '<a><b></b>', /unclosed element <a>/],
    [
      'a DOCTYPE (no entity is ever declared)',
      '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
      /DOCTYPE/,
    ],
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
  ])('%s', (_label, xml, error) => {
    expect(() => scanned(xml)).toThrow(error)
  })
})
