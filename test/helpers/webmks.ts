// A stand-in for an ESXi host's WebMKS endpoint, for end-to-end console tests: vcsim issues
// console tickets (test/vcsim/ticket.go) but serves no console. Two pieces:
//
// - a SOAP pass-through between brine and vcsim that notes every ticket AcquireTicket issues
//   and says where the host's console is (the stand-in's address instead of the simulated
//   host's name, which resolves nowhere), presenting vcsim's own certificate so that brine's
//   trust in vcsim holds unchanged;
// - the stand-in: TLS with vcsim's certificate (the one whose thumbprint tickets report),
//   WebSocket at `/ticket/<ticket>`, accepting a ticket only when vcsim issued it and it has
//   not been used (a ticket is good once, as ESXi's are). It greets with `webmks ready`,
//   answers text `t` with `mks:t`, and echoes binary frames.
import { readFileSync } from 'node:fs'
import { createServer, request } from 'node:https'
import { dirname, join } from 'node:path'
import { WebSocketServer } from 'ws'
import type { Vcsim } from './vcsim.ts'

export interface WebmksHost {
  /** The SDK URL to give brine instead of vcsim's (same certificate, same answers). */
  sdkUrl: string
  /** The stand-in's port on 127.0.0.1. */
  port: number
  /** Tickets vcsim issued, in order. */
  issued: string[]
  /** Tickets a console was opened with. */
  used: string[]
  /** What was refused at `/ticket/…` (the path's ticket). */
  refused: string[]
  close(): Promise<void>
}

export async function startWebmksHost(vcsim: Vcsim): Promise<WebmksHost> {
  const dir = dirname(vcsim.caFile)
  const cert = readFileSync(join(dir, 'cert.pem'))
  const key = readFileSync(join(dir, 'key.pem'))
  const issued: string[] = []
  const unused = new Set<string>()
  const used: string[] = []
  const refused: string[] = []

  // The stand-in.
  const host = createServer({ cert, key })
  const wss = new WebSocketServer({
    noServer: true,
    // WebMKS clients offer `binary` (or the older `uint8utils`); answer the first offered.
    handleProtocols: (offered) => [...offered][0] ?? false,
  })
  host.on('upgrade', (req, socket, head) => {
    const ticket = decodeURIComponent(/^\/ticket\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '')
    if (!unused.delete(ticket)) {
      refused.push(ticket)
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    used.push(ticket)
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send('webmks ready')
      ws.on('message', (data, isBinary) =>
        ws.send(isBinary ? data : `mks:${String(data)}`, { binary: isBinary }),
      )
    })
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  const port = (host.address() as { port: number }).port

  // The SOAP pass-through.
  const target = new URL(vcsim.url)
  const soap = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const headers = { ...req.headers, host: target.host }
      // Plain text back, so that the answer can be read.
      delete headers['accept-encoding']
      const out = request(
        {
          hostname: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers,
          ca: cert,
        },
        (answer) => {
          const parts: Buffer[] = []
          answer.on('data', (chunk: Buffer) => parts.push(chunk))
          answer.on('end', () => {
            let text = Buffer.concat(parts).toString('utf8')
            if (text.includes('AcquireTicketResponse')) {
              const ticket = /<ticket>([^<]+)<\/ticket>/.exec(text)?.[1]
              if (ticket) {
                issued.push(ticket)
                unused.add(ticket)
              }
              text = text
                .replace(/<host>[^<]*<\/host>/, '<host>127.0.0.1</host>')
                .replace(/<port>\d+<\/port>/, `<port>${port}</port>`)
            }
            const back = { ...answer.headers }
            delete back['content-length']
            delete back['transfer-encoding']
            res.writeHead(answer.statusCode ?? 502, back).end(text)
          })
        },
      )
      out.on('error', (error) => res.destroy(error))
      out.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve) => soap.listen(0, '127.0.0.1', resolve))
  const sdk = new URL(vcsim.url)
  sdk.port = String((soap.address() as { port: number }).port)

  return {
    sdkUrl: sdk.href,
    port,
    issued,
    used,
    refused,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      wss.close()
      host.closeAllConnections()
      soap.closeAllConnections()
      await Promise.all([
        new Promise<void>((r) => host.close(() => r())),
        new Promise<void>((r) => soap.close(() => r())),
      ])
    },
  }
}
