import { BrineError } from '../core/errors.ts'

/** How a console is reached: VMware's WebSocket MKS, or the older MKS protocol (port 902). */
export type ConsoleMode = 'webmks' | 'mks'

/** What a console proxy connects to; kept sealed (see tokens.ts), never in clear. */
export interface ConsoleTarget {
  /** The URL to open: `wss://{host}:{port}/ticket/{ticket}` for webmks; none for mks. */
  url?: string | undefined
  host: string
  port: number
  /** The vCenter ticket: a credential for the host's console, valid once. */
  ticket: string
  sslThumbprint?: string | undefined
  cfgFile?: string | undefined
}

export interface ConsoleOptions {
  /** The target speaks TLS (wss). */
  tls: boolean
  mode: ConsoleMode
  /** The target (ConsoleTarget as JSON), sealed with a key only the token derives. */
  internalAccessPath: string
}

/**
 * One console connection: which console of which VM, reached how, until when. At most one
 * record per (instance, host, port); the token itself is never kept, only its SHA-256.
 */
export interface ConsoleConnection {
  id: string
  /** The VM's instance UUID (config.instanceUuid). */
  instanceUuid: string
  host: string
  port: number
  tokenHash: string
  /** Where users connect, without the token (the token is appended once, at issue). */
  accessUrl: string
  options: ConsoleOptions
  connected: boolean
  createdAt: Date
  expiresAt: Date
}

/** A stored record that no longer reads as one; kept, reported, never guessed at. */
export interface DamagedRecord {
  id: string
  instanceUuid: string
  damage: string
}

export interface FreePort {
  host: string
  port: number
}

/** Where console records live. Backends: `sqlite` (default, a file) and `memory`. */
export interface ConsoleStore {
  readonly backend: 'sqlite' | 'memory'
  /** The database file, or `:memory:`. */
  readonly location: string
  /**
   * Insert the record, replacing the one of the same (instance, host, port) unless that one
   * is connected with a heartbeat at or after `staleBefore`: then nothing changes and this
   * answers false.
   */
  put(record: ConsoleConnection, staleBefore: number): boolean
  /** The record whose token hash is `hash` (expired ones too: the caller decides). */
  findByTokenHash(hash: string): ConsoleConnection | DamagedRecord | undefined
  get(id: string): ConsoleConnection | DamagedRecord | undefined
  list(instanceUuid?: string): Array<ConsoleConnection | DamagedRecord>
  /** Ports of `instanceUuid` with a live record and nobody connected (or a stale connection). */
  freePorts(instanceUuid: string, now: number, staleBefore: number): FreePort[]
  /**
   * Mark connected (heartbeat now) if live and not connected, or connected with a heartbeat
   * before `staleBefore`; false otherwise. Atomic, across processes too.
   */
  markConnected(id: string, now: number, staleBefore: number): boolean
  /** Renew a connection's heartbeat; false when the record is gone or not connected. */
  heartbeat(id: string, now: number): boolean
  markDisconnected(id: string): void
  /** Delete one record; false when there was none. */
  delete(id: string): boolean
  /**
   * Delete up to `limit` expired records, oldest expiry first, sparing connected ones whose
   * heartbeat is at or after `staleBefore`; answers how many.
   */
  deleteExpired(now: number, limit: number, staleBefore: number): number
  close(): void
}

export function isDamaged(record: ConsoleConnection | DamagedRecord): record is DamagedRecord {
  return 'damage' in record
}

export class ConsoleStoreError extends BrineError {
  static override readonly kind: string = 'ConsoleStoreError'
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { code: options.code ?? 'BRINE_CONSOLE_STORE', cause: options.cause })
  }
}
