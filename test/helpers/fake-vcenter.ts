import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type ConnectionOptions, resolveConnectionParams } from '../../vsphere/connection-params.ts'
import { ServiceInstance } from '../../vsphere/service-instance.ts'

/**
 * A tiny vim25 endpoint on a `node:http` server, port 0, for what vcsim 0.24.2 cannot play:
 * paging tokens, dropped connections, tasks that stay running. Each handler gets the method
 * name and the request body and writes the answer; RetrieveServiceContent and Login have
 * defaults. Every call is recorded.
 */
export type Handler = (body: string, req: IncomingMessage, res: ServerResponse) => void

export interface FakeVcenter {
  url: string
  calls: Array<{ method: string; body: string; cookie: string | undefined }>
  handle(method: string, handler: Handler): void
  /** Answer non-SOAP requests (the REST APIs); `body` is the raw request body. */
  handleRest(handler: Handler): void
  close(): Promise<void>
}

export const soap = (inner: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`

export function reply(res: ServerResponse, method: string, returnval: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' })
  res.end(soap(`<${method}Response xmlns="urn:vim25">${returnval}</${method}Response>`))
}

const SERVICE_CONTENT =
  '<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>' +
  '<viewManager type="ViewManager">ViewManager</viewManager><about><name>Fake vCenter</name><fullName>Fake vCenter 8.0</fullName><vendor>brine</vendor>' +
  '<version>8.0.2</version><build>1</build><apiType>VirtualCenter</apiType><apiVersion>8.0.2.0</apiVersion></about>' +
  '<sessionManager type="SessionManager">SessionManager</sessionManager><searchIndex type="SearchIndex">SearchIndex</searchIndex></returnval>'

/**
 * Answer 200 with `start`, then `chunk` again and again, chunked, with no Content-Length and
 * no end: only a reader that stops can fail. Resolves once the client has closed the
 * connection.
 */
export function sendEndless(res: ServerResponse, chunk: string, start = ''): Promise<void> {
  const closed = new Promise<void>((resolve) => res.on('close', () => resolve()))
  res.writeHead(200, { 'content-type': 'text/xml' })
  if (start) res.write(start)
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {}
    if (!res.destroyed) res.once('drain', pump)
  }
  pump()
  return closed
}

export async function startFakeVcenter(): Promise<FakeVcenter> {
  const handlers = new Map<string, Handler>()
  let restHandler: Handler | undefined
  const calls: FakeVcenter['calls'] = []
  handlers.set('RetrieveServiceContent', (_body, _req, res) =>
    reply(res, 'RetrieveServiceContent', SERVICE_CONTENT),
  )
  handlers.set('Login', (_body, _req, res) => {
    res.setHeader(
      'set-cookie',
      'vmware_soap_session="fake-cookie-0123456789"; Path=/; HttpOnly; Secure;',
    )
    reply(
      res,
      'Login',
      '<returnval><key>52fake</key><userName>fake</userName><fullName>Fake</fullName><loginTime>2026-11-21T00:00:00Z</loginTime><lastActiveTime>2026-11-21T00:00:00Z</lastActiveTime><locale>en</locale><messageLocale>en</messageLocale></returnval>',
    )
  })
  handlers.set('Logout', (_body, _req, res) => reply(res, 'Logout', ''))

  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      if (!req.url?.startsWith('/sdk')) {
        if (restHandler) restHandler(body, req, res)
        else res.writeHead(404).end()
        return
      }
      const method = /<soapenv:Body><(\w+)/.exec(body)?.[1] ?? 'unknown'
      calls.push({ method, body, cookie: req.headers.cookie })
      const handler = handlers.get(method)
      if (!handler) {
        res.writeHead(500, { 'content-type': 'text/xml' })
        res.end(
          soap(
            `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>no ${method}</faultstring><detail><MethodNotFoundFault xmlns="urn:vim25" xsi:type="MethodNotFound"></MethodNotFoundFault></detail></soapenv:Fault>`,
          ),
        )
        return
      }
      handler(body, req, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/sdk`,
    calls,
    handle: (method, handler) => handlers.set(method, handler),
    handleRest: (handler) => {
      restHandler = handler
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A session on `fake` (plain HTTP), logged in as its fixed user; `options` override. */
export async function loginToFake(
  fake: FakeVcenter,
  options: Partial<ConnectionOptions> = {},
): Promise<ServiceInstance> {
  const si = await ServiceInstance.connect(
    resolveConnectionParams({
      server: fake.url,
      user: 'fake',
      password: 'fake-Pa55word',
      insecure: true,
      requestTimeoutMs: 20_000,
      ...options,
    }),
  )
  await si.login()
  return si
}
