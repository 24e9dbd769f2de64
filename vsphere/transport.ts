import type { Readable } from 'node:stream'
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls'
import type * as Undici from 'undici'
// undici's own files, not its index: the index also builds fetch, WebSocket, the cache and
// cookies, and the cookies module reads globalThis.Headers, which makes Node load its whole
// bundled copy of undici (about 40 ms of a cold `brine` call that talks to vCenter). The
// files carry no declarations: their types are the index's.
// @ts-expect-error no declaration file for undici's internal module
import apiImpl from 'undici/lib/api/index.js'
// @ts-expect-error no declaration file for undici's internal module
import connectorImpl from 'undici/lib/core/connect.js'
// @ts-expect-error no declaration file for undici's internal module
import errorsImpl from 'undici/lib/core/errors.js'
// @ts-expect-error no declaration file for undici's internal module
import DispatcherImpl from 'undici/lib/dispatcher/dispatcher.js'
// @ts-expect-error no declaration file for undici's internal module
import PoolImpl from 'undici/lib/dispatcher/pool.js'
import { nodeCrypto } from '../core/builtins.ts'
import { TransportError, type TransportFailure } from './errors.ts'

const Pool = PoolImpl as typeof Undici.Pool
const buildConnector = connectorImpl as typeof Undici.buildConnector
const undiciErrors = errorsImpl as typeof Undici.errors
// What undici's index does on load: request(), stream() and the rest are Dispatcher methods.
Object.assign((DispatcherImpl as typeof Undici.Dispatcher).prototype, apiImpl)

/**
 * The hook the `brine` command sets (bin/brine.js: V8's --liftoff-only for undici's
 * WebAssembly HTTP parser), run once before the first pool of the process is made; a library
 * user's process has none and is left alone.
 */
const FIRST_CONNECTION = Symbol.for('brine.beforeFirstConnection')
function beforeFirstConnection(): void {
  const holder = globalThis as { [FIRST_CONNECTION]?: unknown }
  const hook = holder[FIRST_CONNECTION]
  if (typeof hook !== 'function') return
  delete holder[FIRST_CONNECTION]
  hook()
}

/**
 * HTTPS to one vCenter, on an undici keep-alive pool. TLS is verified by default; a pinned
 * thumbprint replaces chain verification and is checked right after the handshake, before a
 * single request byte (let alone a credential) is written.
 */
export interface TransportOptions {
  /** Service URL, e.g. `https://vc.example.com/sdk`. */
  url: URL
  /** PEM text of the CA bundle to trust instead of the system store. */
  ca?: string | undefined
  /** Pinned certificate thumbprint, SHA-256 or SHA-1, upper-case hex with colons. */
  thumbprint?: string | undefined
  /** Skip TLS verification entirely. */
  insecure?: boolean | undefined
  connectTimeoutMs: number
  requestTimeoutMs: number
  /**
   * Largest answer body accepted, in bytes (default 256 MiB): a larger answer fails with a
   * `BAD_RESPONSE` TransportError as soon as its Content-Length or its bytes pass the cap.
   */
  maxResponseBytes?: number | undefined
  userAgent: string
  /** Maximum sockets kept to the server. */
  connections?: number | undefined
}

export interface TransportResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  /** The answer as text; empty when a `sink` took it. */
  body: string
  /** The answer's bytes, when asked for with `bytes` (then `body` is empty). */
  bytes?: Buffer
}

export interface SendOptions {
  path: string
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  headers?: Record<string, string>
  /** SOAP text, or file contents (an OVF disk upload) as bytes or a stream. */
  body?: string | Uint8Array | Readable
  signal?: AbortSignal | undefined
  /** For error messages: the SOAP method being called. */
  soapMethod?: string | undefined
  /** Keep the answer as bytes (a file download) instead of decoding it as text. */
  bytes?: boolean | undefined
  /**
   * Take the answer's bytes as they arrive (a streaming decoder) instead of collecting them:
   * called once the status is known; a sink it returns gets every chunk, within the size cap,
   * and `body` stays empty. An error the sink throws ends the request (the connection is
   * closed, the rest never read) and `send` throws it as it is.
   */
  sink?: ((statusCode: number) => BodySink | undefined) | undefined
}

/** Receives an answer's bytes in order, as they arrive. */
export interface BodySink {
  write(bytes: Uint8Array): void
}

export class Transport {
  readonly url: URL
  /** Requests handed to the socket layer, for tests and benchmarks. */
  requestCount = 0
  readonly #pool: Undici.Pool
  readonly #options: TransportOptions
  readonly #maxResponseBytes: number

  constructor(options: TransportOptions) {
    this.url = options.url
    this.#options = options
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    beforeFirstConnection()
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections ?? 8,
      keepAliveTimeout: 30_000,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connect: createConnector(options),
    })
  }

  async send(request: SendOptions): Promise<TransportResponse> {
    this.requestCount++
    try {
      const response = await this.#pool.request({
        path: request.path,
        method: request.method,
        headers: { 'user-agent': this.#options.userAgent, ...request.headers },
        body: request.body ?? null,
        signal: request.signal ?? null,
      })
      const { statusCode, headers } = response
      const sink = request.sink?.(statusCode)
      const raw = await readBody(
        response,
        this.#maxResponseBytes,
        this.url,
        request.soapMethod,
        sink,
      )
      // undici frees the socket a tick after the body ends: a request sent at once would open
      // a second connection (a full TLS handshake, measured at 5–10 ms here). Let it settle.
      await new Promise((resolve) => setImmediate(resolve))
      if (sink) return { statusCode, headers, body: '' }
      if (request.bytes) return { statusCode, headers, body: '', bytes: raw }
      // TextDecoder drops a BOM, like undici's body.text().
      return { statusCode, headers, body: new TextDecoder().decode(raw) }
    } catch (error) {
      if (error instanceof TransportError) throw error
      if (error instanceof SinkFailure) throw error.cause
      throw toTransportError(error, this.url, request.soapMethod, this.#options)
    }
  }

  /** Close idle sockets and refuse new requests. */
  async close(): Promise<void> {
    await this.#pool.close().catch(() => this.#pool.destroy())
  }
}

/**
 * The default cap on one answer's body: 256 MiB. A 5,000-VM inventory read is about 3.5 MB, so
 * the largest inventory vCenter supports (about 45,000 VMs) stays near 32 MB, an eighth of it;
 * answers past that are runaways. It is also half of the longest string V8 can hold (about
 * 512 MiB, past which an answer could not be decoded at all), and keeps a runaway's chunks,
 * text and decoded form under about a gigabyte of heap.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024

/** Normalize a thumbprint to upper-case hex pairs with colons; undefined when malformed. */
export function normalizeThumbprint(text: string): string | undefined {
  const hex = text.replace(/[:\s-]/g, '').toUpperCase()
  if (!/^[0-9A-F]+$/.test(hex) || (hex.length !== 40 && hex.length !== 64)) return undefined
  return hex.match(/../g)!.join(':')
}

/** The SHA-256 and SHA-1 thumbprints of a DER certificate. */
export function certificateThumbprints(der: Buffer): { sha256: string; sha1: string } {
  const hash = (algorithm: string) =>
    nodeCrypto()
      .createHash(algorithm)
      .update(der)
      .digest('hex')
      .toUpperCase()
      .match(/../g)!
      .join(':')
  return { sha256: hash('sha256'), sha1: hash('sha1') }
}

/**
 * Why the peer of `socket` fails the pin (a normalized SHA-256 or SHA-1 thumbprint), or
 * undefined when it matches. Call once the handshake is done.
 */
export function pinMismatch(socket: TLSSocket, pinned: string): string | undefined {
  const raw = socket.getPeerCertificate?.()?.raw
  const seen = raw ? certificateThumbprints(raw) : undefined
  const algorithm = pinned.length === 95 ? 'sha256' : 'sha1'
  if (seen?.[algorithm] === pinned) return undefined
  return `the server certificate's ${algorithm.toUpperCase()} thumbprint is ${seen?.[algorithm] ?? 'unavailable'}, not the pinned ${pinned}`
}

// --- internal ---

/** An error thrown by a body sink, to be thrown by `send` as it is. */
class SinkFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * The body's bytes, refusing it once it passes `limit` bytes: at once when its Content-Length
 * says so, else as soon as the bytes read pass it (the rest is never read: the socket is closed).
 * With a `sink`, each chunk goes to it as it arrives and none is kept (the result is empty).
 */
async function readBody(
  response: Undici.Dispatcher.ResponseData,
  limit: number,
  url: URL,
  method: string | undefined,
  sink?: BodySink,
): Promise<Buffer> {
  const tooLarge = (size: string) => {
    response.body.destroy()
    const where = `${method ? `${method} on ` : ''}${url.origin}`
    return new TransportError(
      `${where}: the answer is larger than the response size limit (${size}, limit ${formatBytes(limit)}); it was not read further. Raise max_response_size (bytes) if such answers are expected, or ask for less (fewer objects or properties per call).`,
      { failure: 'BAD_RESPONSE', url: url.href, method, requestSent: true },
    )
  }
  const declared = Number(response.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit)
    throw tooLarge(`${formatBytes(declared)} declared`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length
    if (size > limit) throw tooLarge(`more than ${formatBytes(limit)} received`)
    if (!sink) chunks.push(chunk as Buffer)
    else {
      try {
        sink.write(chunk as Buffer)
      } catch (error) {
        response.body.destroy()
        throw new SinkFailure(error)
      }
    }
  }
  if (sink) return EMPTY
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

const EMPTY = Buffer.alloc(0)

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB (${bytes} bytes)`
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB (${bytes} bytes)`
  return `${bytes} bytes`
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)} s`
}

class ThumbprintMismatchError extends Error {
  readonly code = 'BRINE_THUMBPRINT_MISMATCH'
}

function createConnector(options: TransportOptions): Undici.buildConnector.connector {
  const pinned = options.thumbprint
  const base = buildConnector({
    timeout: options.connectTimeoutMs,
    rejectUnauthorized: !(options.insecure || pinned),
    // A resumed TLS session shows no certificate, and a session cached from a connection we
    // then rejected would skip the check: with a pin, every connection does a full handshake.
    ...(pinned ? { maxCachedSessions: 0 } : {}),
    ...(options.ca ? { secureContext: secureContextFor(options.ca) } : {}),
  })
  if (!pinned) return base
  return (connectOptions, callback) =>
    base(connectOptions, (error, socket) => {
      if (error || !socket) return callback(error ?? new Error('no socket'), null)
      const mismatch = pinMismatch(socket as TLSSocket, pinned)
      if (!mismatch) return callback(null, socket)
      socket.destroy()
      callback(new ThumbprintMismatchError(mismatch), null)
    })
}

const secureContexts = new Map<string, SecureContext>()

/** One SecureContext per CA bundle: parsing the PEM on every handshake costs more than the handshake. */
function secureContextFor(ca: string): SecureContext {
  let context = secureContexts.get(ca)
  if (!context) {
    if (secureContexts.size >= 16) secureContexts.clear()
    context = createSecureContext({ ca })
    secureContexts.set(ca, context)
  }
  return context
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|ERR_OSSL|HOSTNAME)/

function toTransportError(
  error: unknown,
  url: URL,
  method: string | undefined,
  options: TransportOptions,
): TransportError {
  const where = `${method ? `${method} on ` : ''}${url.origin}`
  const cause = error
  const code = String((error as { code?: unknown })?.code ?? '')
  const fail = (failure: TransportFailure, message: string, requestSent: boolean) =>
    new TransportError(message, { failure, url: url.href, method, requestSent, cause })

  if (error instanceof ThumbprintMismatchError) {
    return fail(
      'THUMBPRINT_MISMATCH',
      `TLS thumbprint mismatch for ${url.host}: ${error.message}. Nothing was sent. Check ssl_thumbprint (or drop it to verify against a CA).`,
      false,
    )
  }
  if (error instanceof undiciErrors.ConnectTimeoutError) {
    return fail(
      'CONNECT_TIMEOUT',
      `cannot connect to ${url.host}: no connection within the connect timeout of ${seconds(options.connectTimeoutMs)} (${where}). Check the host, port and firewall, or raise connect_timeout (seconds).`,
      false,
    )
  }
  if (TLS_CODES.test(code)) {
    return fail(
      'TLS',
      `TLS verification of ${url.host} failed (${code}: ${(error as Error).message}). Trust the server with ca_file or ssl_thumbprint; use insecure only for a lab.`,
      false,
    )
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) {
    return fail(
      code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED' : 'NETWORK',
      `cannot connect to ${url.host} (${code}) for ${where}. Check that vCenter is running and reachable.`,
      false,
    )
  }
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  ) {
    return fail(
      'REQUEST_TIMEOUT',
      `${where}: no complete answer within the request timeout of ${seconds(options.requestTimeoutMs)}; the call may have run on the server. Raise request_timeout (seconds) if vCenter is this slow.`,
      true,
    )
  }
  if (
    error instanceof undiciErrors.RequestAbortedError ||
    (error as Error)?.name === 'AbortError'
  ) {
    return fail('ABORTED', `${where}: aborted.`, true)
  }
  if (
    error instanceof undiciErrors.ClientClosedError ||
    error instanceof undiciErrors.ClientDestroyedError
  ) {
    return fail('CLOSED', `${where}: the connection pool is closed.`, false)
  }
  if (error instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'EPIPE') {
    return fail(
      'CONNECTION_DROPPED',
      `${where}: the connection dropped before the answer arrived; the server may or may not have run the call.`,
      true,
    )
  }
  return fail('NETWORK', `${where}: ${(error as Error)?.message ?? String(error)}`, true)
}
