import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { BrineError } from '../core/errors.ts'
import { log } from '../core/log.ts'
import { certificateThumbprints, normalizeThumbprint } from '../vsphere/transport.ts'
import { connectConsole, type OpenedConsole, startCleanup } from './service.ts'
import type { ConsoleStore, ConsoleTarget } from './store.ts'

export interface ConsoleProxyOptions {
  store: ConsoleStore
  /** Address to listen on. Default 127.0.0.1. */
  host?: string | undefined
  /** Port; 0 picks a free one. Default 6090. */
  port?: number | undefined
  /** URL path users connect to (the path of console_proxy_url). Default `/console`. */
  path?: string | undefined
  /** Serve wss with this PEM certificate and key (files). */
  cert?: string | undefined
  key?: string | undefined
  /** Trust for targets that give no thumbprint: a CA bundle (PEM text). */
  targetCa?: string | undefined
  /** Connect to TLS targets without verifying them (labs only). */
  targetInsecure?: boolean | undefined
  /** How often expired records are cleaned up. Default 60 s. */
  cleanupIntervalMs?: number | undefined
}

export interface ConsoleProxy {
  /** `ws://host:port/path` (or wss). */
  url: string
  close(): Promise<void>
}

const TARGET_TIMEOUT_MS = 10_000
/** Stop reading a side while more than this waits to be written to the other. */
const HIGH_WATER_BYTES = 1 << 20

/**
 * `brine console serve`: a WebSocket proxy to VM consoles. A client connects to
 * `…/console?token=…`; the proxy validates the token, takes the console's port (a second
 * connection to it is refused), opens the target from the token's sealed record, and pipes
 * frames both ways until either side closes, when the port is free again.
 */
export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<ConsoleProxy> {
  const path = options.path ?? '/console'
  const tls = options.cert !== undefined && options.key !== undefined
  const server: Server = tls
    ? createHttpsServer({
        cert: readFileSync(options.cert as string),
        key: readFileSync(options.key as string),
      })
    : createHttpServer()
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n')
  })
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // Answer the subprotocol the target chose (stashed on the request below).
    handleProtocols: (_offered, req) =>
      (req as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol || false,
  })
  // Open sessions and how to free their port.
  const sessions = new Map<WebSocket, () => void>()

  server.on('upgrade', (req, socket, head) => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`
    const url = new URL(req.url ?? '/', 'http://proxy')
    if (url.pathname !== path) return refuse(socket, 404, 'Not Found', `${peer}: unknown path`)
    let opened: OpenedConsole
    try {
      opened = connectConsole(options.store, url.searchParams.get('token') ?? '')
    } catch (error) {
      const code = (error as BrineError).code
      const [status, text] =
        code === 'BRINE_CONSOLE_BUSY'
          ? [409, 'Conflict']
          : code === 'BRINE_CONSOLE_TOKEN' || code === 'BRINE_ARGUMENT'
            ? [401, 'Unauthorized']
            : [503, 'Service Unavailable']
      return refuse(socket, status, text, `${peer}: ${(error as Error).message}`)
    }
    const { record, target } = opened
    const label = `${record.instanceUuid} ${record.host}:${record.port}`
    if (!target.url) {
      opened.release()
      return refuse(
        socket,
        501,
        'Not Implemented',
        `${peer}: ${label}: ${record.options.mode} consoles are not WebSocket`,
      )
    }
    const offered = req.headers['sec-websocket-protocol']
    const upstream = new WebSocket(
      target.url,
      offered ? offered.split(',').map((p) => p.trim()) : [],
      {
        perMessageDeflate: false,
        handshakeTimeout: TARGET_TIMEOUT_MS,
        createConnection: () => targetSocket(target, options) as never,
      },
    )
    upstream.once('error', (error) => {
      if (socket.destroyed) return
      opened.release()
      refuse(socket, 502, 'Bad Gateway', `${peer}: ${label}: target: ${(error as Error).message}`)
    })
    upstream.once('open', () => {
      ;(req as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol = upstream.protocol
      wss.handleUpgrade(req, socket, head, (client) => {
        const release = () => {
          sessions.delete(client)
          try {
            opened.release()
          } catch (error) {
            log.warn('console', 'could not free %s: %s', label, (error as Error).message)
          }
        }
        sessions.set(client, release)
        log.info('console', '%s connected to %s', peer, label)
        pipe(client, upstream, () => {
          release()
          log.info('console', '%s disconnected from %s', peer, label)
        })
      })
    })
  })

  // Listen
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 6090, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const cleanup = startCleanup(options.store, { intervalMs: options.cleanupIntervalMs ?? 60_000 })
  const address = server.address() as { address: string; port: number }
  const host = address.address.includes(':') ? `[${address.address}]` : address.address
  return {
    url: `${tls ? 'wss' : 'ws'}://${host}:${address.port}${path}`,
    close: async () => {
      cleanup.stop()
      for (const [client, release] of sessions) {
        release()
        client.terminate()
      }
      wss.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Frames both ways, message for message (binary stays binary), reading a side only while the
 * other keeps up; when either side closes, close the other; `done` runs once.
 */
function pipe(client: WebSocket, upstream: WebSocket, done: () => void): void {
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    done()
  }
  const forward = (from: WebSocket, to: WebSocket) => (data: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < HIGH_WATER_BYTES / 2) from.resume()
    })
    if (to.bufferedAmount > HIGH_WATER_BYTES) from.pause()
  }
  client.on('message', forward(client, upstream))
  upstream.on('message', forward(upstream, client))
  const closeOther = (other: WebSocket) => (code: number) => {
    finish()
    // 1005/1006 cannot be sent in a close frame.
    if (other.readyState === WebSocket.OPEN)
      other.close(code === 1005 || code === 1006 ? 1000 : code)
  }
  client.on('close', closeOther(upstream))
  upstream.on('close', closeOther(client))
  client.on('error', () => upstream.terminate())
  upstream.on('error', () => client.terminate())
}

/**
 * The connection to the target, verified before the request (which carries the vCenter
 * ticket) is written: the ticket's host thumbprint when it has one, else the CA bundle or
 * the system CAs.
 */
function targetSocket(target: ConsoleTarget, options: ConsoleProxyOptions): Socket {
  const url = new URL(target.url as string)
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80))
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (url.protocol !== 'wss:') return netConnect({ host, port })
  const pinned = target.sslThumbprint ? normalizeThumbprint(target.sslThumbprint) : undefined
  const socket = tlsConnect({
    host,
    port,
    servername: /^[\d.:]+$/.test(host) ? undefined : host,
    rejectUnauthorized: !(pinned || options.targetInsecure),
    ...(options.targetCa ? { ca: options.targetCa } : {}),
  })
  if (pinned) {
    // Node holds writes until the handshake is done; cork holds them until the pin is
    // checked too: nothing (not the ticket) leaves before.
    socket.cork()
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw
      const seen = raw ? certificateThumbprints(raw) : undefined
      const algorithm = pinned.length === 95 ? 'sha256' : 'sha1'
      if (seen?.[algorithm] === pinned) return socket.uncork()
      socket.destroy(
        new BrineError(
          `${host}:${port} presented thumbprint ${seen?.[algorithm] ?? 'none'}, not the ticket's ${pinned}; nothing was sent`,
          { code: 'BRINE_THUMBPRINT_MISMATCH' },
        ),
      )
    })
  }
  return socket
}

function refuse(
  socket: Socket | import('node:stream').Duplex,
  status: number,
  text: string,
  why: string,
): void {
  log.warn('console', 'refused %s', why)
  if (socket.writable)
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  else socket.destroy()
}
