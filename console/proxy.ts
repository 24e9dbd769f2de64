import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { isIP, connect as netConnect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { BrineError } from '../core/errors.ts'
import { log } from '../core/log.ts'
import { Secret } from '../core/secret.ts'
import { normalizeThumbprint, pinMismatch } from '../vsphere/transport.ts'
import { connectConsole, type OpenedConsole, STALE_MS, startCleanup } from './service.ts'
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
  /** Records deleted per cleanup batch. Default 500. */
  cleanupBatch?: number | undefined
  /**
   * The heartbeat window (option console_heartbeat_window): a connection whose heartbeat is
   * older is held by nobody. Default STALE_MS (a minute). Every proxy on one store must use
   * the same window.
   */
  staleMs?: number | undefined
  /** How often held connections renew their heartbeat. Default a quarter of `staleMs`. */
  heartbeatIntervalMs?: number | undefined
  /**
   * The largest WebSocket message taken from a client or a target, in bytes (option
   * `console_proxy_max_message`). Default DEFAULT_MAX_MESSAGE_BYTES. A larger one closes the
   * session with 1009 (message too big).
   */
  maxMessageBytes?: number | undefined
  /**
   * Refused requests are logged at most `lines` times per `intervalMs` (default 10 per 10 s);
   * the rest are counted in one "… K more refused" line. `now` is the clock (tests).
   */
  refusalLog?: { lines?: number; intervalMs?: number; now?: () => number } | undefined
  /** On close(), how long clients get to answer the 1001 close frame. Default 2 s. */
  closeGraceMs?: number | undefined
}

interface Session {
  heartbeat(): Promise<boolean>
  release(): Promise<void>
  end(code: number, reason: string): void
  /** Settles when the client's connection is closed. */
  closed: Promise<void>
}

export interface ConsoleProxy {
  /** `ws://host:port/path` (or wss). */
  url: string
  close(): Promise<void>
}

const TARGET_TIMEOUT_MS = 10_000
/**
 * The default largest message (`console_proxy_max_message`): 32 MiB, against ws's 100 MiB.
 * The largest message a console carries is a framebuffer update from the target (the client
 * sends keys, pointer moves and the odd clipboard). WebMKS hosts send compressed encodings and
 * split updates over many messages, so real ones are a small fraction of this; the worst case
 * is a whole screen sent raw at 32 bits a pixel: 16.4 MB for 2560×1600 (twice within this
 * limit) and 33.2 MB for 3840×2160, which still fits in one message with its headers. Each
 * session may hold about this much per side while a message is read, so a smaller limit
 * bounds the memory one client can make the proxy take.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024
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
  const maxPayload = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const refusals = refusalLog(options.refusalLog)
  const refuse = (socket: Duplex, status: number, text: string, why: string) => {
    refusals.write(why)
    closeRefused(socket, status, text)
  }
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload,
    // Answer the subprotocol the target chose (stashed on the request below).
    handleProtocols: (_offered, req) =>
      (req as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol || false,
  })
  // Open sessions: how to free their port, renew their heartbeat, end them.
  const sessions = new Map<WebSocket, Session>()
  // Targets being opened for a client not upgraded yet.
  const pending = new Set<WebSocket>()
  // Every upgraded socket, so that close() leaves none behind.
  const sockets = new Set<Duplex>()

  const staleMs = options.staleMs ?? STALE_MS
  server.on('upgrade', async (req, socket, head) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`
    // Node drops its own socket error handler on upgrade: a reset would be uncaught.
    socket.on('error', (error) => log.debug('console', '%s: %s', peer, error.message))
    const url = new URL(req.url ?? '/', 'http://proxy')
    if (url.pathname !== path) return refuse(socket, 404, 'Not Found', `${peer}: unknown path`)
    // A well-formed handshake first: ws would refuse a bad one only after the port was
    // taken and the one-time vCenter ticket spent on the target.
    const bad = badHandshake(req)
    if (bad) return refuse(socket, 400, 'Bad Request', `${peer}: ${bad}`)
    // A client that leaves while the store answers: its port is given back below.
    let gone = false
    const onEarlyGone = () => {
      gone = true
    }
    socket.once('close', onEarlyGone)
    let opened: OpenedConsole
    try {
      opened = await connectConsole(
        options.store,
        url.searchParams.get('token') ?? '',
        Date.now(),
        staleMs,
      )
    } catch (error) {
      socket.off('close', onEarlyGone)
      const code = (error as BrineError).code
      const [status, text] =
        code === 'BRINE_CONSOLE_BUSY'
          ? [409, 'Conflict']
          : code === 'BRINE_CONSOLE_TOKEN' || code === 'BRINE_ARGUMENT'
            ? [401, 'Unauthorized']
            : [503, 'Service Unavailable']
      return refuse(socket, status, text, `${peer}: ${(error as Error).message}`)
    }
    socket.off('close', onEarlyGone)
    const { record, target } = opened
    // The ticket is a credential: masked wherever it might be logged from here on.
    new Secret(target.ticket)
    if (target.url) new Secret(target.url)
    const label = `${record.instanceUuid} ${record.host}:${record.port}`
    if (gone || socket.destroyed) {
      safely(label, opened.release)
      return log.info('console', '%s left before %s was open', peer, label)
    }
    const fail = (status: number, text: string, why: string) => {
      safely(label, opened.release)
      refuse(socket, status, text, `${peer}: ${label}: ${why}`)
    }
    if (!target.url)
      return fail(501, 'Not Implemented', `${record.options.mode} consoles are not WebSocket`)
    if (target.sslThumbprint && !normalizeThumbprint(target.sslThumbprint))
      return fail(
        502,
        'Bad Gateway',
        "the ticket's host thumbprint is malformed; not connecting unpinned",
      )

    // Open the target, then upgrade the client with the subprotocol the target chose.
    const offered = req.headers['sec-websocket-protocol']
    let upstream: WebSocket
    try {
      upstream = new WebSocket(target.url, offered ? offered.split(',').map((p) => p.trim()) : [], {
        perMessageDeflate: false,
        maxPayload,
        handshakeTimeout: TARGET_TIMEOUT_MS,
        createConnection: () => targetSocket(target, options) as never,
      })
    } catch {
      return fail(502, 'Bad Gateway', 'the target URL is not valid')
    }
    pending.add(upstream)
    const settle = () => {
      pending.delete(upstream)
      upstream.off('error', onError)
      // terminate() on a connecting target emits an error nobody needs.
      upstream.on('error', () => {})
      socket.off('data', keep)
      socket.off('end', onClientGone)
      socket.off('close', onClientGone)
    }
    const onError = (error: Error) => {
      settle()
      fail(502, 'Bad Gateway', `target: ${error.message}`)
    }
    const onClientGone = () => {
      settle()
      socket.destroy()
      upstream.terminate()
      safely(label, opened.release)
      log.info('console', '%s left before %s was open', peer, label)
    }
    upstream.once('error', onError)
    // Read the client while the target opens, to see it leave (a paused socket never sees
    // its end). A client sends nothing before the 101; anything early is kept for ws, which
    // takes the socket over in the same tick as settle() stops reading it.
    // More than one message's worth (a frame header is at most 14 bytes) is not kept: the
    // client is refused.
    const early: Buffer[] = []
    let earlyBytes = 0
    const keep = (chunk: Buffer) => {
      early.push(chunk)
      earlyBytes += chunk.length
      if (earlyBytes <= maxPayload + 14) return
      settle()
      upstream.terminate()
      early.length = 0
      fail(413, 'Content Too Large', 'sent more than a message before the console was open')
    }
    socket.on('data', keep)
    socket.once('end', onClientGone)
    socket.once('close', onClientGone)
    upstream.once('open', () => {
      settle()
      ;(req as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol = upstream.protocol
      let upgraded = false
      wss.handleUpgrade(req, socket, Buffer.concat([head, ...early]), (client) => {
        upgraded = true
        const session: Session = {
          heartbeat: opened.heartbeat,
          release: () => {
            sessions.delete(client)
            return safely(label, opened.release)
          },
          end: (code, reason) => {
            client.close(code, reason)
            upstream.close(code, reason)
          },
          closed: new Promise<void>((resolve) => client.once('close', () => resolve())),
        }
        sessions.set(client, session)
        log.info('console', '%s connected to %s', peer, label)
        pipe(client, upstream, () => {
          session.release()
          log.info('console', '%s disconnected from %s', peer, label)
        })
      })
      // handleUpgrade answers synchronously; a socket it could not use gets no callback.
      if (!upgraded) {
        upstream.terminate()
        safely(label, opened.release)
      }
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
  const cleanup = startCleanup(options.store, {
    intervalMs: options.cleanupIntervalMs ?? 60_000,
    batch: options.cleanupBatch ?? 500,
    staleMs,
  })
  // Heartbeats keep held ports held; a revoked or replaced record ends its session. A round
  // still waiting for the store when the next is due is not doubled.
  let beating = false
  const heartbeat = setInterval(
    async () => {
      if (beating) return
      beating = true
      await Promise.all(
        [...sessions.values()].map(async (session) => {
          let alive = false
          try {
            alive = await session.heartbeat()
          } catch (error) {
            log.warn('console', 'heartbeat failed: %s', (error as Error).message)
            return
          }
          if (!alive) session.end(1008, 'console revoked')
        }),
      )
      beating = false
    },
    options.heartbeatIntervalMs ?? staleMs / 4,
  )
  heartbeat.unref()
  const address = server.address() as { address: string; port: number }
  const host = address.address.includes(':') ? `[${address.address}]` : address.address
  return {
    url: `${tls ? 'wss' : 'ws'}://${host}:${address.port}${path}`,
    close: async () => {
      cleanup.stop()
      clearInterval(heartbeat)
      // No new connections; targets still opening are dropped (their clients get a 502).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const upstream of pending) upstream.terminate()
      // Every client gets a 1001 (going away) close frame and a moment to answer it; the
      // ports are freed first, so that they are free even if this process is killed meanwhile.
      const open = [...sessions]
      await Promise.all(open.map(([, session]) => session.release()))
      for (const [, session] of open) session.end(1001, 'console proxy shutting down')
      let grace: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.all(open.map(([, session]) => session.closed)),
        new Promise<void>((resolve) => {
          grace = setTimeout(resolve, options.closeGraceMs ?? 2000)
        }),
      ])
      clearTimeout(grace)
      for (const [client] of open) client.terminate()
      refusals.flush()
      wss.close()
      server.closeAllConnections()
      for (const socket of sockets) socket.destroy()
      await closed
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
  // The session is over: its port is free now, not when both sides have finished closing. A
  // message over the limit: ws closes that side with 1009, and the other is told why.
  const onError = (other: WebSocket) => (error: Error & { code?: string }) => {
    finish()
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && other.readyState === WebSocket.OPEN)
      other.close(1009, 'message too big')
    else other.terminate()
  }
  client.on('error', onError(upstream))
  upstream.on('error', onError(client))
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
    servername: isIP(host) ? undefined : host,
    rejectUnauthorized: !(pinned || options.targetInsecure),
    ...(options.targetCa ? { ca: options.targetCa } : {}),
  })
  if (pinned) {
    // Node holds writes until the handshake is done; cork holds them until the pin is
    // checked too: nothing (not the ticket) leaves before.
    socket.cork()
    socket.once('secureConnect', () => {
      const mismatch = pinMismatch(socket, pinned)
      if (!mismatch) return socket.uncork()
      socket.destroy(
        new BrineError(`${host}:${port}: ${mismatch} (the ticket's); nothing was sent`, {
          code: 'BRINE_THUMBPRINT_MISMATCH',
        }),
      )
    })
  }
  return socket
}

/** Why a request is not a WebSocket handshake ws would accept, or undefined. */
function badHandshake(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return `method ${req.method} is not GET`
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return 'not a WebSocket upgrade'
  const key = req.headers['sec-websocket-key']
  if (!key || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return 'no valid Sec-WebSocket-Key'
  const version = req.headers['sec-websocket-version']
  if (version !== '13' && version !== '8')
    return `WebSocket version ${version ?? '(none)'} is not 13`
  return undefined
}

/** Free a port, logging (not throwing) when the store fails. */
async function safely(label: string, release: () => Promise<void>): Promise<void> {
  try {
    await release()
  } catch (error) {
    log.warn('console', 'could not free %s: %s', label, (error as Error).message)
  }
}

/**
 * The "refused …" log lines, at most `lines` per `intervalMs`: a flood of guessed tokens or
 * bad handshakes must not flood the log. Lines over the limit are counted and reported in one
 * "… K more refused" line, when the interval ends or at flush().
 */
export function refusalLog(options: ConsoleProxyOptions['refusalLog'] = {}): {
  write(why: string): void
  flush(): void
} {
  const lines = options.lines ?? 10
  const intervalMs = options.intervalMs ?? 10_000
  const now = options.now ?? Date.now
  let windowStart = Number.NEGATIVE_INFINITY
  let written = 0
  let suppressed = 0
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    if (suppressed === 0) return
    log.warn(
      'console',
      '… %d more refused (logging at most %d a %ds)',
      suppressed,
      lines,
      intervalMs / 1000,
    )
    suppressed = 0
  }
  return {
    write: (why) => {
      const at = now()
      if (at - windowStart >= intervalMs) {
        flush()
        windowStart = at
        written = 0
      }
      if (written < lines) {
        written++
        log.warn('console', 'refused %s', why)
        return
      }
      suppressed++
      if (!timer) {
        timer = setTimeout(flush, Math.max(0, windowStart + intervalMs - at))
        timer.unref()
      }
    },
    flush,
  }
}

function closeRefused(socket: Duplex, status: number, text: string): void {
  // Written, then closed for good: nobody reads this socket, so a half-close would linger.
  if (socket.writable)
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () =>
      socket.destroy(),
    )
  else socket.destroy()
}
