import { createServer as createTcpServer, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import { moref } from '../vsphere/codec.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { resolveVsphereConnection } from '../vsphere/credentials.ts'
import { TransportError } from '../vsphere/errors.ts'
import { retrieveProperties } from '../vsphere/property-collector.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { waitForTask } from '../vsphere/tasks.ts'
import { Transport } from '../vsphere/transport.ts'
import {
  type FakeVcenter,
  loginToFake,
  reply,
  sendEndless,
  soap,
  startFakeVcenter,
} from './helpers/fake-vcenter.ts'

let fake: FakeVcenter
beforeEach(async () => {
  fake = await startFakeVcenter()
})
afterEach(async () => {
  await fake.close()
})

const connect = () => loginToFake(fake)

const vmObject = (i: number) =>
  `<objects><obj type="VirtualMachine">vm-${i}</obj><propSet><name>name</name><val xsi:type="xsd:string">vm${i}</val></propSet></objects>`

describe('against a fake vCenter on node:http', () => {
  it('falls back to about.apiVersion when vimServiceVersions.xml is missing, and sends the cookie', async () => {
    const si = await connect()
    expect(si.version).toBe('8.0.2.0')
    await si.logout()
    const logout = fake.calls.find((call) => call.method === 'Logout')
    expect(logout?.cookie).toBe('vmware_soap_session="fake-cookie-0123456789"')
  })

  it('follows ContinueRetrievePropertiesEx tokens until every page is read', async () => {
    const pages = [
      { objects: [1, 2], token: 'tok-1' },
      { objects: [3, 4], token: 'tok-2' },
      { objects: [5], token: undefined },
    ]
    fake.handle('RetrievePropertiesEx', (body, _req, res) => {
      expect(body).toContain('<maxObjects>2</maxObjects>')
      const page = pages[0]!
      reply(
        res,
        'RetrievePropertiesEx',
        `<returnval><token>${page.token}</token>${page.objects.map(vmObject).join('')}</returnval>`,
      )
    })
    fake.handle('ContinueRetrievePropertiesEx', (body, _req, res) => {
      const token = /<token>([^<]+)<\/token>/.exec(body)?.[1]
      const page = token === 'tok-1' ? pages[1]! : pages[2]!
      reply(
        res,
        'ContinueRetrievePropertiesEx',
        `<returnval>${page.token ? `<token>${page.token}</token>` : ''}${page.objects.map(vmObject).join('')}</returnval>`,
      )
    })
    const si = await connect()
    const objects = await retrieveProperties(
      si,
      [
        {
          propSet: [{ type: 'VirtualMachine', pathSet: ['name'] }],
          objectSet: [{ obj: moref('Folder', 'group-d1') }],
        },
      ],
      { maxObjects: 2 },
    )
    expect(objects.map((o) => o.obj.value)).toEqual(['vm-1', 'vm-2', 'vm-3', 'vm-4', 'vm-5'])
    expect(
      fake.calls
        .filter((c) => c.method === 'ContinueRetrievePropertiesEx')
        .map((c) => /<token>(.*)<\/token>/.exec(c.body)?.[1]),
    ).toEqual(['tok-1', 'tok-2'])
    await si.logout()
  })

  it('reports a connection dropped mid-answer as CONNECTION_DROPPED with an unknown outcome', async () => {
    fake.handle('CreateFolder', (_body, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': '5000' })
      res.write('<?xml version="1.0"?><soapenv:Envelope')
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const si = await connect()
    const error = await si
      .invoke('CreateFolder', { _this: moref('Folder', 'group-v1'), name: 'new' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('BRINE_VIM_TRANSPORT_CONNECTION_DROPPED')
    expect((error as TransportError).requestSent).toBe(true)
    expect((error as Error).message).toMatch(
      /CreateFolder on http:\/\/127\.0\.0\.1:\d+: the connection dropped.*may or may not have run/,
    )
    await si.logout()
  })

  it('waits for an asynchronous task through WaitForUpdatesEx and cancels it on abort', async () => {
    let polls = 0
    fake.handle('CreatePropertyCollector', (_b, _r, res) =>
      reply(
        res,
        'CreatePropertyCollector',
        '<returnval type="PropertyCollector">session[1]pc</returnval>',
      ),
    )
    fake.handle('CreateFilter', (_b, _r, res) =>
      reply(res, 'CreateFilter', '<returnval type="PropertyFilter">session[1]f</returnval>'),
    )
    fake.handle('DestroyPropertyCollector', (_b, _r, res) =>
      reply(res, 'DestroyPropertyCollector', ''),
    )
    fake.handle('CancelTask', (_b, _r, res) => reply(res, 'CancelTask', ''))
    fake.handle('WaitForUpdatesEx', (body, _req, res) => {
      polls++
      const version = /<version>([^<]*)<\/version>/.exec(body)?.[1] ?? ''
      const progress = Math.min(polls * 30, 90)
      // Answer the first three polls at once with growing progress, then hold the request.
      if (polls > 3) return
      reply(
        res,
        'WaitForUpdatesEx',
        `<returnval><version>${version}${polls}</version><filterSet><filter type="PropertyFilter">session[1]f</filter><objectSet><kind>modify</kind><obj type="Task">task-7</obj>` +
          `<changeSet><name>info</name><op>assign</op><val xsi:type="TaskInfo"><key>task-7</key><task type="Task">task-7</task><descriptionId>VirtualMachine.clone</descriptionId>` +
          `<state>running</state><cancelled>false</cancelled><cancelable>true</cancelable><progress>${progress}</progress><queueTime>2026-11-21T00:00:00Z</queueTime></val></changeSet></objectSet></filterSet></returnval>`,
      )
    })
    const si = await connect()
    const controller = new AbortController()
    const seen: number[] = []
    const waiting = waitForTask(si, moref('Task', 'task-7'), {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p)
        if (p === 90) setTimeout(() => controller.abort(new Error('user pressed ^C')), 50)
      },
    })
    await expect(waiting).rejects.toThrow('user pressed ^C')
    expect(seen).toEqual([30, 60, 90])
    const methods = fake.calls.map((c) => c.method)
    expect(methods).toContain('CancelTask')
    expect(methods.at(-1)).toBe('DestroyPropertyCollector')
    expect(fake.calls.find((c) => c.method === 'CancelTask')?.body).toContain(
      '<_this type="Task">task-7</_this>',
    )
    await si.logout()
  })

  it('traces SOAP bodies with the password and cookie redacted', async () => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    setLogLevel('trace', ['soap'])
    try {
      const si = await connect()
      await si.logout()
    } finally {
      setLogLevel('warning')
      restore()
    }
    const text = lines.join('\n')
    expect(text).toContain('→ Login')
    expect(text).toContain('<password>***</password>')
    expect(text).not.toContain('fake-Pa55word')
    expect(text).not.toContain('fake-cookie-0123456789')
  })

  it('refuses an answer whose Content-Length passes max_response_size, without reading it', async () => {
    fake.handle('RetrievePropertiesEx', (_body, _req, res) => {
      res.writeHead(200, {
        'content-type': 'text/xml',
        'content-length': String(300 * 1024 * 1024),
      })
      res.write('<?xml version="1.0"?>')
      // …and nothing more: the client must not wait for the 300 MB.
    })
    const transport = capped(64 * 1024)
    const error = await transport.send(soapRequest('RetrievePropertiesEx')).catch((e: unknown) => e)
    await transport.close()
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('BRINE_VIM_TRANSPORT_BAD_RESPONSE')
    expect((error as TransportError).requestSent).toBe(true)
    expect((error as Error).message).toMatch(
      /RetrievePropertiesEx on http:\/\/127\.0\.0\.1:\d+: the answer is larger than the response size limit \(300 MiB \(314572800 bytes\) declared, limit 64 KiB \(65536 bytes\)\).*max_response_size/,
    )
  })

  it('stops reading an endless answer once it passes the cap, and closes the connection', async () => {
    let connectionClosed!: Promise<void>
    fake.handle('RetrievePropertiesEx', (_body, _req, res) => {
      connectionClosed = sendEndless(res, `<objects>${'x'.repeat(16 * 1024)}</objects>`)
    })
    const transport = capped(256 * 1024)
    const error = await transport.send(soapRequest('RetrievePropertiesEx')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).failure).toBe('BAD_RESPONSE')
    expect((error as Error).message).toMatch(
      /more than 256 KiB \(262144 bytes\) received, limit 256 KiB .*Raise max_response_size/,
    )
    await connectionClosed
    // The transport still works: a small answer is read whole.
    fake.handle('CurrentTime', (_body, _req, res) =>
      reply(res, 'CurrentTime', '<returnval>2026-11-27T00:00:00Z</returnval>'),
    )
    const ok = await transport.send(soapRequest('CurrentTime'))
    expect(ok.body).toContain('<returnval>2026-11-27T00:00:00Z</returnval>')
    await transport.close()
  })

  it('a vCenter that never answers fails after request_timeout from the config, naming it', async () => {
    fake.handle('RetrieveServiceContent', () => {
      // accepted, never answered
    })
    const params = resolveConnectionParams(
      resolveVsphereConnection({
        env: {},
        opts: {
          'saltext.vmware': {
            host: fake.url,
            user: 'fake',
            password: 'fake-Pa55word',
            insecure: true,
            request_timeout: 0.2,
          },
        },
        pillar: {},
      }),
    )
    expect(params.requestTimeoutMs).toBe(200)
    const error = await ServiceInstance.connect(params).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).code).toBe('BRINE_VIM_TRANSPORT_REQUEST_TIMEOUT')
    expect((error as Error).message).toMatch(
      /RetrieveServiceContent on http:\/\/127\.0\.0\.1:\d+: no complete answer within the request timeout of 0\.2 s; .*Raise request_timeout \(seconds\)/,
    )
  })

  it('a server that accepts the connection and never speaks TLS fails after connect_timeout, naming it', async () => {
    const sockets = new Set<Socket>()
    const silent = createTcpServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    try {
      const params = resolveConnectionParams(
        resolveVsphereConnection(
          {
            env: {},
            opts: {
              'saltext.vmware': {
                lab: {
                  host: `127.0.0.1:${port}`,
                  user: 'fake',
                  password: 'fake-Pa55word',
                  insecure: true,
                  connect_timeout: 0.2,
                },
              },
            },
            pillar: {},
          },
          { profile: 'lab' },
        ),
      )
      expect(params.connectTimeoutMs).toBe(200)
      const error = await ServiceInstance.connect(params).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TransportError)
      expect((error as TransportError).code).toBe('BRINE_VIM_TRANSPORT_CONNECT_TIMEOUT')
      expect((error as TransportError).requestSent).toBe(false)
      expect((error as Error).message).toMatch(
        /no connection within the connect timeout of 0\.2 s .*raise connect_timeout \(seconds\)/,
      )
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })
})

function capped(maxResponseBytes: number): Transport {
  return new Transport({
    url: new URL(fake.url),
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 60_000,
    maxResponseBytes,
    userAgent: 'brine-test',
    connections: 1,
  })
}

function soapRequest(method: string) {
  return {
    path: '/sdk',
    method: 'POST' as const,
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: soap(
      `<${method} xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></${method}>`,
    ),
    soapMethod: method,
  }
}
