import { constants as bufferConstants } from 'node:buffer'
import { accessSync, constants, readFileSync } from 'node:fs'
import { Secret } from '../core/secret.ts'
import { ConnectionParamsError } from './errors.ts'
import { DEFAULT_MAX_RESPONSE_BYTES, normalizeThumbprint } from './transport.ts'

/**
 * What it takes to reach one vCenter as one user. Build with `resolveConnectionParams`, which
 * validates everything before any network I/O.
 */
export interface ConnectionOptions {
  /** `vc.example.com`, `vc.example.com:8443`, or a URL (`https://vc/sdk`). Required. */
  server: string
  /** Port when `server` holds none. Default 443. */
  port?: number | undefined
  /** User name. Required. */
  user: string
  /** Password. Required; kept in a Secret. */
  password: string | Secret
  /** Pinned certificate thumbprint (SHA-256 or SHA-1, colons optional). */
  thumbprint?: string | undefined
  /** A PEM file of CAs to trust. */
  caFile?: string | undefined
  /** Do not verify TLS at all. Excludes `thumbprint` and `caFile`. Default false. */
  insecure?: boolean | undefined
  /** Connect (TCP + TLS) timeout in ms. Default 10,000. */
  connectTimeoutMs?: number | undefined
  /** Longest wait in ms for an answer's headers, and for each part of its body. Default 120,000. */
  requestTimeoutMs?: number | undefined
  /**
   * Largest answer body accepted, in bytes; a larger one fails with a TransportError before
   * more than this is buffered. Default 256 MiB (`DEFAULT_MAX_RESPONSE_BYTES`).
   */
  maxResponseBytes?: number | undefined
  /** Sent as User-Agent. Default `brine/<version>`. */
  userAgent?: string | undefined
  /** Separates sessions of the same user on the same server in the cache. Default `default`. */
  label?: string | undefined
  /** Send a keepalive (CurrentTime) every this many ms; 0 disables. Default 0. */
  keepaliveIntervalMs?: number | undefined
}

export interface ResolvedConnectionParams {
  url: URL
  user: string
  password: Secret
  thumbprint: string | undefined
  ca: string | undefined
  caFile: string | undefined
  insecure: boolean
  connectTimeoutMs: number
  requestTimeoutMs: number
  maxResponseBytes: number
  userAgent: string
  label: string
  keepaliveIntervalMs: number
}

export const DEFAULT_USER_AGENT = 'brine/0.1.0'

export { DEFAULT_MAX_RESPONSE_BYTES }
/** The highest cap that can be honoured: an answer is decoded into one string. */
export const MAX_RESPONSE_BYTES = bufferConstants.MAX_STRING_LENGTH
/** Timeouts above this (a day) are refused: Node's timers cannot wait past ~24.8 days anyway. */
export const MAX_TIMEOUT_MS = 86_400_000

/** Validate and normalize connection options. Throws ConnectionParamsError naming the option. */
export function resolveConnectionParams(options: ConnectionOptions): ResolvedConnectionParams {
  const insecure = options.insecure ?? false
  const url = resolveUrl(options.server, options.port, insecure)

  if (options.user !== undefined && options.user !== null && typeof options.user !== 'string') {
    throw new ConnectionParamsError('user', `user must be a string, not ${typeName(options.user)}.`)
  }
  if (typeof options.user !== 'string' || options.user.trim() === '') {
    throw new ConnectionParamsError('user', 'user is missing: give the vCenter user name.')
  }
  const rawPassword: unknown = options.password
  if (
    rawPassword !== undefined &&
    rawPassword !== null &&
    typeof rawPassword !== 'string' &&
    !(rawPassword instanceof Secret)
  ) {
    // Never the value: it is a password.
    throw new ConnectionParamsError(
      'password',
      `password must be a string, not ${typeName(rawPassword)}.`,
    )
  }
  const password =
    rawPassword instanceof Secret
      ? rawPassword
      : typeof rawPassword === 'string' && rawPassword !== ''
        ? new Secret(rawPassword)
        : undefined
  if (!password || password.length === 0) {
    throw new ConnectionParamsError('password', `password is missing for user ${options.user}.`)
  }
  if (options.insecure !== undefined && typeof options.insecure !== 'boolean') {
    throw new ConnectionParamsError(
      'insecure',
      `insecure must be true or false, not ${JSON.stringify(options.insecure)}.`,
    )
  }

  let thumbprint: string | undefined
  if (options.thumbprint !== undefined && options.thumbprint !== '') {
    if (typeof options.thumbprint !== 'string') {
      throw new ConnectionParamsError(
        'thumbprint',
        `thumbprint must be a string of hex digits, not ${typeName(options.thumbprint)}.`,
      )
    }
    thumbprint = normalizeThumbprint(options.thumbprint)
    if (!thumbprint) {
      throw new ConnectionParamsError(
        'thumbprint',
        'thumbprint must be a SHA-256 (64 hex digits) or SHA-1 (40 hex digits) fingerprint, colons optional.',
      )
    }
  }
  if (insecure && thumbprint) {
    throw new ConnectionParamsError(
      'insecure',
      'insecure and thumbprint exclude each other: a pinned thumbprint already verifies the server; drop insecure.',
    )
  }
  let ca: string | undefined
  if (options.caFile !== undefined && typeof options.caFile !== 'string') {
    throw new ConnectionParamsError(
      'caFile',
      `ca_file must be the path of a PEM file, not ${typeName(options.caFile)}.`,
    )
  }
  if (options.caFile) {
    if (insecure) {
      throw new ConnectionParamsError(
        'insecure',
        'insecure and ca_file exclude each other: drop insecure to verify against the CA file.',
      )
    }
    ca = readCaFile(options.caFile)
  }

  return {
    url,
    user: options.user,
    password,
    thumbprint,
    ca,
    caFile: options.caFile,
    insecure,
    connectTimeoutMs: timeout('connectTimeoutMs', options.connectTimeoutMs, 10_000),
    requestTimeoutMs: timeout('requestTimeoutMs', options.requestTimeoutMs, 120_000),
    maxResponseBytes: responseCap(options.maxResponseBytes),
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    label: options.label ?? 'default',
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 0,
  }
}

// --- internal ---

function resolveUrl(server: string, port: number | undefined, insecure: boolean): URL {
  if (server !== undefined && server !== null && typeof server !== 'string') {
    throw new ConnectionParamsError(
      'server',
      `server must be a string (a host name or URL), not ${typeName(server)}.`,
    )
  }
  if (typeof server !== 'string' || server.trim() === '') {
    throw new ConnectionParamsError(
      'server',
      'server is missing: give the vCenter host name or URL.',
    )
  }
  const text = /^[a-z]+:\/\//i.test(server) ? server : `https://${server}`
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConnectionParamsError(
      'server',
      `server ${JSON.stringify(server)} is not a host name or URL (expected vc.example.com or https://vc.example.com/sdk).`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConnectionParamsError('server', `server URL must use https, not ${url.protocol}`)
  }
  if (url.protocol === 'http:' && !insecure) {
    throw new ConnectionParamsError(
      'server',
      `server ${url.host} uses plain http, which would send the password in clear; use https, or set insecure for a lab.`,
    )
  }
  if (url.username || url.password) {
    throw new ConnectionParamsError(
      'server',
      'server URL must not hold credentials; pass user and password.',
    )
  }
  if (port !== undefined) {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConnectionParamsError(
        'port',
        `port must be a whole number from 1 to 65535, not ${JSON.stringify(port) ?? String(port)}.`,
      )
    }
    if (!url.port) url.port = String(port)
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/sdk'
  url.search = ''
  url.hash = ''
  return url
}

function readCaFile(path: string): string {
  try {
    accessSync(path, constants.R_OK)
    const text = readFileSync(path, 'utf8')
    if (!text.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error('no PEM certificate in it')
    }
    return text
  } catch (error) {
    throw new ConnectionParamsError(
      'caFile',
      `ca_file ${path} is not a readable PEM certificate file (${(error as Error).message}).`,
    )
  }
}

function timeout(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    value > MAX_TIMEOUT_MS
  ) {
    throw new ConnectionParamsError(
      name,
      `${name} must be a number of milliseconds above 0 and at most ${MAX_TIMEOUT_MS} (a day), not ${JSON.stringify(value) ?? String(value)}.`,
    )
  }
  return value
}

function responseCap(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RESPONSE_BYTES
  if (!Number.isInteger(value) || value < 1 || value > MAX_RESPONSE_BYTES) {
    throw new ConnectionParamsError(
      'maxResponseBytes',
      `maxResponseBytes must be a whole number of bytes from 1 to ${MAX_RESPONSE_BYTES} (the longest string Node can decode), not ${JSON.stringify(value) ?? String(value)}.`,
    )
  }
  return value
}

/** `a number`, `a list`, `a mapping`, `true`: what a YAML value turned out to be. */
export function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'null'
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'object') return 'a mapping'
  return `a ${typeof value}`
}
