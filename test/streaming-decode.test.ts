// SOAP answers decoded as they arrive (ServiceInstance.invoke → Transport sink → response
// decoder): the values are those of the whole-text decode, no body text is built, the size
// cap, faults and other statuses behave as before, and a malformed answer fails while it is
// still arriving. vSphere API reference: a fault comes as HTTP 500 with a SOAP Fault whose
// detail names the fault type (vSphere Web Services SDK Programming Guide, "SOAP faults").
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { createResponseDecoder, type DecodedResponse, decodeResponse } from '../vsphere/decoder.ts'
import { TransportError, VimFaultError } from '../vsphere/errors.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { observeSoapCalls } from '../vsphere/soap-observers.ts'
import type { BodySink, SendOptions, TransportResponse } from '../vsphere/transport.ts'
import {
  type FakeVcenter,
  loginToFake,
  sendEndless,
  soap,
  startFakeVcenter,
} from './helpers/fake-vcenter.ts'
import { sessionAnswers } from './helpers/soap-calls.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

interface SeenSend {
  method: string | undefined
  streamed: boolean
  chunks: number
  bytes: number
  statusCode: number
  body: string
}

/** Record what each `send` of `si` was asked for and what it returned. */
function recordSends(si: ServiceInstance): SeenSend[] {
  const seen: SeenSend[] = []
  const transport = si.transport
  const send = transport.send.bind(transport)
  transport.send = async (request: SendOptions): Promise<TransportResponse> => {
    const record: SeenSend = {
      method: request.soapMethod,
      streamed: false,
      chunks: 0,
      bytes: 0,
      statusCode: 0,
      body: '',
    }
    const sink = request.sink
    const counted: SendOptions = sink
      ? {
          ...request,
          sink: (statusCode) => {
            const inner = sink(statusCode)
            if (!inner) return undefined
            record.streamed = true
            return {
              write(bytes) {
                record.chunks++
                record.bytes += bytes.length
                inner.write(bytes)
              },
            } satisfies BodySink
          },
        }
      : request
    const response = await send(counted)
    record.statusCode = response.statusCode
    record.body = response.body
    seen.push(record)
    return response
  }
  return seen
}

describe('against vcsim', () => {
  let vcsim: Vcsim
  beforeAll(async () => {
    vcsim = await startVcsim({ vm: 20 })
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  it('decodes streamed answers to the values of the whole text, and builds no body text', async () => {
    const params = resolveConnectionParams({
      server: vcsim.url,
      user: 'stream',
      password: 'pw',
      caFile: vcsim.caFile,
    })
    await withSession(params, async (si) => {
      const seen = recordSends(si)
      const read = () =>
        Promise.all([
          retrieveAll(si, 'VirtualMachine', ['name', 'config', 'runtime', 'guest']),
          retrieveAll(si, 'HostSystem', ['config.network', 'summary', 'hardware']),
        ])
      const streamed = await read()
      const streamedSends = seen.splice(0)
      // With an observer the body is read whole and decoded as one string (the old path).
      const answers: string[] = []
      const stop = observeSoapCalls((call) => answers.push(call.response))
      const whole = await read().finally(stop)

      expect(streamed).toEqual(whole)
      expect(streamed[0]).toHaveLength(40)
      expect(answers.length).toBeGreaterThan(0)
      const retrieves = streamedSends.filter((s) => s.method === 'RetrievePropertiesEx')
      expect(retrieves.length).toBeGreaterThan(0)
      for (const send of retrieves) {
        expect(send.streamed).toBe(true)
        expect(send.body).toBe('')
        expect(send.bytes).toBeGreaterThan(0)
      }
      // The VM answer (40 full configs) comes in many chunks, each decoded as it came.
      expect(Math.max(...retrieves.map((s) => s.chunks))).toBeGreaterThan(1)
      // The whole path kept its text for the observer.
      expect(seen.every((s) => !s.streamed && s.body.length > 0)).toBe(true)
    })
  })
})

/** The decode of `xml` with the objects read whole, fed in pieces cut at `cuts`, or its error. */
function bulkDecode(method: string, xml: string, cuts: number[] = []): DecodedResponse | string {
  try {
    const decoder = createResponseDecoder(method)
    const bytes = Buffer.from(xml)
    let from = 0
    for (const cut of [...cuts, bytes.length]) {
      decoder.write(bytes.subarray(from, cut))
      from = cut
    }
    return decoder.end()
  } catch (error) {
    return (error as Error).message
  }
}

/** The decode of `xml` through the scanner's events only, or its error. */
function eventDecode(method: string, xml: string): DecodedResponse | string {
  try {
    return decodeResponse(method, xml, { bulk: false })
  } catch (error) {
    return (error as Error).message
  }
}

/** Equal, key for key in the same order (JSON), and as values (dates, numbers). */
function expectSame(actual: unknown, expected: unknown, label: string): void {
  expect(JSON.stringify(actual), label).toBe(JSON.stringify(expected))
  expect(actual, label).toEqual(expected)
}

describe('PropertyCollector objects read whole (readObjectContent)', () => {
  let vcsim: Vcsim
  beforeAll(async () => {
    vcsim = await startVcsim({ vm: 20 })
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  it('builds what the events build, on every answer of a vcsim session, however cut', async () => {
    const answers = await sessionAnswers(vcsim, 'bulk', async (si) => {
      // Strings, booleans, numbers, enums, dates, morefs, and whole data objects.
      await retrieveAll(si, 'VirtualMachine', [
        'name',
        'config.template',
        'config.uuid',
        'runtime.powerState',
        'runtime.bootTime',
        'runtime.host',
        'summary.config.numCpu',
        'summary.config.memorySizeMB',
        'summary.quickStats.overallCpuUsage',
        'guest.ipAddress',
        'parent',
        'resourcePool',
        'overallStatus',
      ])
      await retrieveAll(si, 'HostSystem', ['name', 'runtime.connectionState', 'parent'])
      // Arrays and whole data objects: left to the events.
      await retrieveAll(si, 'VirtualMachine', ['name', 'datastore'])
      await retrieveAll(si, 'VirtualMachine', ['config', 'runtime'])
      await retrieveAll(si, 'HostSystem', ['name', 'summary'])
      await retrieveAll(si, 'Datacenter', ['name', 'vmFolder'])
    })
    const retrieves = answers.filter((a) => a.method === 'RetrievePropertiesEx')
    expect(retrieves.length).toBeGreaterThanOrEqual(4)
    let whole = 0
    let objects = 0
    for (const { method, xml } of retrieves) {
      const expected = eventDecode(method, xml)
      const decoder = createResponseDecoder(method)
      decoder.write(Buffer.from(xml))
      const actual = decoder.end()
      expectSame(actual, expected, method)
      whole += decoder.objectsReadWhole
      objects += ((expected as { value?: { objects?: unknown[] } }).value?.objects ?? []).length
      // Cut into pieces anywhere: an object a piece cuts is left to the events.
      const bytes = Buffer.byteLength(xml)
      for (const size of [1000, 4093, 65536])
        expectSame(
          bulkDecode(
            method,
            xml,
            Array.from({ length: Math.floor(bytes / size) }, (_, i) => (i + 1) * size).filter(
              (cut) => cut < bytes,
            ),
          ),
          expected,
          `${method} in ${size}-byte pieces`,
        )
    }
    // The simple answers were read whole (20 VMs, the hosts); the others were not.
    expect(whole).toBeGreaterThan(20)
    expect(whole).toBeLessThan(objects - 40)
  })

  const answer = (objects: string) =>
    soap(
      `<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>${objects}</returnval></RetrievePropertiesExResponse>`,
    )
  const object = (
    props: string,
    obj: string | undefined = '<obj type="VirtualMachine">vm-1</obj>',
  ) => `<objects>${obj}${props}</objects>`
  const prop = (name: string, val: string) => `<propSet><name>${name}</name>${val}</propSet>`

  it.each<[string, string, string?]>([
    [
      'a string, an empty one, no xsi:type',
      prop('a', '<val xsi:type="xsd:string">web 01</val>') +
        prop('b', '<val xsi:type="xsd:string"></val>') +
        prop('c', '<val>plain</val>'),
    ],
    [
      'numbers, booleans, a date',
      prop('n', '<val xsi:type="xsd:int">4</val>') +
        prop('l', '<val xsi:type="xsd:long">-12</val>') +
        prop('f', '<val xsi:type="xsd:double">1.5</val>') +
        prop('t', '<val xsi:type="xsd:boolean">true</val>') +
        prop('one', '<val xsi:type="xsd:boolean">1</val>') +
        prop('d', '<val xsi:type="xsd:dateTime">2026-01-02T03:04:05Z</val>'),
    ],
    [
      'an enum, and an empty one (a data object)',
      prop('p', '<val xsi:type="VirtualMachinePowerState">poweredOn</val>') +
        prop('e', '<val xsi:type="VirtualMachineConfigSummary"></val>'),
    ],
    [
      'morefs, with and without xsi:type',
      prop('parent', '<val type="Folder" xsi:type="ManagedObjectReference">group-v3</val>') +
        prop('host', '<val xsi:type="ManagedObjectReference" type="HostSystem">host-1</val>'),
    ],
    [
      "vcsim's namespaced xsi:type",
      prop(
        'n',
        '<val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="xsd:string">DC0_H0_VM0</val>',
      ),
    ],
    [
      'entities (left to the events)',
      prop('a', '<val xsi:type="xsd:string">R&amp;D &lt;1&gt;</val>'),
    ],
    ['an entity in the moref', '', '<obj type="VirtualMachine">vm&#45;1</obj>'],
    ["']]>' in a value (an error either way)", prop('a', '<val xsi:type="xsd:string">a]]>b</val>')],
    [
      'a repeated attribute (an error either way)',
      prop('a', '<val xsi:type="xsd:string" xsi:type="xsd:int">1</val>'),
    ],
    [
      'single quotes, spaces around =, a self-closing val',
      prop('a', "<val xsi:type='xsd:string'>x</val>") +
        prop('b', '<val xsi:type = "xsd:int">2</val>') +
        prop('c', '<val xsi:type="xsd:string"/>'),
    ],
    ['a `>` in an attribute value', prop('a', '<val xsi:type="xsd:string" note="a>b">x</val>')],
    [
      'arrays and data objects',
      prop(
        'ds',
        '<val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Datastore" xsi:type="ManagedObjectReference">ds-1</ManagedObjectReference></val>',
      ) + prop('tags', '<val xsi:type="ArrayOfString"></val>'),
    ],
    ['white space between tags', ` ${prop('a', '<val xsi:type="xsd:string">x</val>')}\n`],
    [
      'a missingSet',
      '<missingSet><path>config</path><fault><fault xsi:type="NoPermission"><object type="VirtualMachine">vm-1</object></fault><localizedMessage></localizedMessage></fault></missingSet>',
    ],
    ['no property', ''],
    ['an odd moref type', '', '<obj type="Virtual Machine">vm-1</obj>'],
    [
      'another attribute on obj',
      '',
      '<obj type="VirtualMachine" xsi:type="ManagedObjectReference">vm-1</obj>',
    ],
  ])('%s: the same value (or error) as the events', (_label, props, obj) => {
    const xml = answer(
      object(props, obj) + object(prop('name', '<val xsi:type="xsd:string">vm two</val>')),
    )
    const expected = eventDecode('RetrievePropertiesEx', xml)
    expectSame(bulkDecode('RetrievePropertiesEx', xml), expected, 'whole')
    for (let cut = 1; cut < Buffer.byteLength(xml); cut += 7)
      expectSame(bulkDecode('RetrievePropertiesEx', xml, [cut]), expected, `cut at ${cut}`)
  })

  it('reads only the objects of a RetrieveResult, and counts them', () => {
    const simple = object(prop('name', '<val xsi:type="xsd:string">a</val>'))
    const decoder = createResponseDecoder('RetrievePropertiesEx')
    decoder.write(Buffer.from(answer(simple + simple)))
    decoder.end()
    expect(decoder.objectsReadWhole).toBe(2)
    // RetrieveProperties answers ObjectContent[] as returnval elements: events only.
    const plain = createResponseDecoder('RetrieveProperties')
    plain.write(
      Buffer.from(
        soap(
          `<RetrievePropertiesResponse xmlns="urn:vim25"><returnval><obj type="VirtualMachine">vm-1</obj>${prop('name', '<val xsi:type="xsd:string">a</val>')}</returnval></RetrievePropertiesResponse>`,
        ),
      ),
    )
    expect(plain.end()).toEqual(
      eventDecode(
        'RetrieveProperties',
        soap(
          `<RetrievePropertiesResponse xmlns="urn:vim25"><returnval><obj type="VirtualMachine">vm-1</obj>${prop('name', '<val xsi:type="xsd:string">a</val>')}</returnval></RetrievePropertiesResponse>`,
        ),
      ),
    )
    expect(plain.objectsReadWhole).toBe(0)
  })
})

describe('against a fake vCenter on node:http', () => {
  let fake: FakeVcenter
  beforeEach(async () => {
    fake = await startFakeVcenter()
  })
  afterEach(async () => {
    await fake.close()
  })

  const connect = (maxResponseBytes?: number) =>
    loginToFake(fake, {
      requestTimeoutMs: 60_000,
      ...(maxResponseBytes ? { maxResponseBytes } : {}),
    })

  /** Write `text` in `size`-byte pieces, one per turn of the event loop, then end (or not). */
  const writeInPieces = (
    res: import('node:http').ServerResponse,
    text: string,
    size: number,
    end = true,
  ) => {
    const bytes = Buffer.from(text, 'utf8')
    let at = 0
    const next = () => {
      if (res.destroyed) return
      if (at >= bytes.length) {
        if (end) res.end()
        return
      }
      res.write(bytes.subarray(at, at + size))
      at += size
      setImmediate(next)
    }
    next()
  }

  it('decodes a fault sent in small pieces (HTTP 500)', async () => {
    fake.handle('RenameDatacenter_Task', (_body, _req, res) => {
      res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' })
      writeInPieces(
        res,
        soap(
          '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted or has not been completely created — ✓</faultstring>' +
            '<detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="Datacenter">dc-9</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault>',
        ),
        5,
      )
    })
    const si = await connect()
    const seen = recordSends(si)
    const error = await si
      .invoke('RenameDatacenter_Task', {
        _this: { type: 'Datacenter', value: 'dc-9' },
        newName: 'x',
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(VimFaultError)
    expect((error as VimFaultError).faultType).toBe('ManagedObjectNotFound')
    expect((error as Error).message).toContain('has not been completely created — ✓')
    expect(seen[0]).toMatchObject({ streamed: true, statusCode: 500, body: '' })
    expect(seen[0]!.chunks).toBeGreaterThan(1)
    await si.logout()
  })

  it('refuses an endless answer once it passes the cap, with the transport’s message', async () => {
    let connectionClosed!: Promise<void>
    fake.handle('RetrievePropertiesEx', (_body, _req, res) => {
      connectionClosed = sendEndless(
        res,
        `<objects><obj type="VirtualMachine">vm-1</obj>${'<x>y</x>'.repeat(2048)}</objects>`,
        `${soap('').replace('</soapenv:Body></soapenv:Envelope>', '')}<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>`,
      )
    })
    const si = await connect(256 * 1024)
    const error = await si
      .invoke('RetrievePropertiesEx', {
        _this: si.content.propertyCollector,
        specSet: [],
        options: {},
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).failure).toBe('BAD_RESPONSE')
    expect((error as Error).message).toMatch(
      /RetrievePropertiesEx on http:\/\/127\.0\.0\.1:\d+: the answer is larger than the response size limit \(more than 256 KiB \(262144 bytes\) received, limit 256 KiB .*Raise max_response_size/,
    )
    await connectionClosed
    await si.logout()
  })

  it('fails on a malformed answer while it is still arriving (the server never ends it)', async () => {
    let closed!: () => void
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve
    })
    fake.handle('CurrentTime', (_body, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' })
      res.on('close', () => closed())
      // A bad end tag, then silence: only a decoder reading as bytes arrive can fail now.
      res.write(soap('<CurrentTimeResponse xmlns="urn:vim25"><returnval>x</CurrentTime>'))
    })
    const si = await connect()
    const error = await si.currentTime().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).failure).toBe('BAD_RESPONSE')
    expect((error as Error).message).toMatch(
      /CurrentTime on 127\.0\.0\.1:\d+: unreadable answer: CurrentTime: the response is not well-formed XML: end tag <\/CurrentTime> closes <returnval>/,
    )
    await connectionClosed
    // The session still works on a new connection.
    fake.handle('CurrentTime', (_body, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' })
      writeInPieces(
        res,
        soap(
          '<CurrentTimeResponse xmlns="urn:vim25"><returnval>2026-11-28T00:00:00Z</returnval></CurrentTimeResponse>',
        ),
        3,
      )
    })
    expect(await si.currentTime()).toEqual(new Date('2026-11-28T00:00:00Z'))
    await si.logout()
  })

  it('keeps the text of another status for its message, and never logs the password', async () => {
    fake.handle('CurrentTime', (_body, _req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' })
      res.end('vpxd is restarting')
    })
    const si = await connect()
    const seen = recordSends(si)
    const error = await si.currentTime().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).failure).toBe('HTTP_STATUS')
    expect((error as Error).message).toContain('HTTP 503 (vpxd is restarting)')
    expect(seen[0]).toMatchObject({ streamed: false, body: 'vpxd is restarting' })
    expect(JSON.stringify(error)).not.toContain('fake-Pa55word')
    await si.logout()
  })
})
