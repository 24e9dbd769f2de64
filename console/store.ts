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
  /** When the proxy holding the connection last renewed it (the epoch when never). */
  heartbeatAt?: Date | undefined
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

/**
 * Where console records live. Backends: `sqlite` (default, a file), `postgresql` (a server
 * several proxies share) and `memory`. Every method is asynchronous (a network store answers
 * later); each is one atomic step, across processes and hosts too.
 */
export interface ConsoleStore {
  readonly backend: 'sqlite' | 'postgresql' | 'memory'
  /** The database file, `:memory:`, or the server URL (without its password). */
  readonly location: string
  /** Ready for use: connected and the schema migrated (rejects when it cannot be). */
  open(): Promise<void>
  /**
   * Insert the record, replacing the one of the same (instance, host, port) unless that one
   * is connected with a heartbeat at or after `staleBefore`: then nothing changes and this
   * answers false.
   */
  put(record: ConsoleConnection, staleBefore: number): Promise<boolean>
  /** The record whose token hash is `hash` (expired ones too: the caller decides). */
  findByTokenHash(hash: string): Promise<ConsoleConnection | DamagedRecord | undefined>
  get(id: string): Promise<ConsoleConnection | DamagedRecord | undefined>
  list(instanceUuid?: string): Promise<Array<ConsoleConnection | DamagedRecord>>
  /** Ports of `instanceUuid` with a live record and nobody connected (or a stale connection). */
  freePorts(instanceUuid: string, now: number, staleBefore: number): Promise<FreePort[]>
  /**
   * Mark connected (heartbeat now) if live and not connected, or connected with a heartbeat
   * before `staleBefore`; false otherwise. Atomic, across processes too.
   */
  markConnected(id: string, now: number, staleBefore: number): Promise<boolean>
  /**
   * Renew a connection's heartbeat, written last as `previous`; false when the record is
   * gone, not connected, or taken over by another proxy (which wrote a heartbeat of its own).
   */
  heartbeat(id: string, now: number, previous: number): Promise<boolean>
  markDisconnected(id: string): Promise<void>
  /** Delete one record; false when there was none. */
  delete(id: string): Promise<boolean>
  /**
   * Delete up to `limit` expired records, oldest expiry first, sparing connected ones whose
   * heartbeat is at or after `staleBefore`; answers how many.
   */
  deleteExpired(now: number, limit: number, staleBefore: number): Promise<number>
  close(): Promise<void>
}

/** A stored row as the SQL stores read it (drivers differ on booleans and big integers). */
export interface StoredRow {
  id: string
  instance_uuid: string
  host: string
  port: number
  token_hash: string
  access_url: string
  options: string
  connected: number | boolean
  heartbeat_at?: number | string | undefined
  created_at: number | string
  expires_at: number | string
}

/** A row as a record, or as damaged when its options do not read (never guessed at). */
export function recordFromRow(row: StoredRow): ConsoleConnection | DamagedRecord {
  let options: unknown
  try {
    options = JSON.parse(row.options)
  } catch {
    return { id: row.id, instanceUuid: row.instance_uuid, damage: 'options are not JSON' }
  }
  const o = options as Record<string, unknown> | null
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.tls !== 'boolean' ||
    (o.mode !== 'webmks' && o.mode !== 'mks') ||
    typeof o.internalAccessPath !== 'string'
  ) {
    return {
      id: row.id,
      instanceUuid: row.instance_uuid,
      damage: 'options lack tls, mode or internalAccessPath',
    }
  }
  return {
    id: row.id,
    instanceUuid: row.instance_uuid,
    host: row.host,
    port: row.port,
    tokenHash: row.token_hash,
    accessUrl: row.access_url,
    options: { tls: o.tls, mode: o.mode, internalAccessPath: o.internalAccessPath },
    connected: row.connected === 1 || row.connected === true,
    heartbeatAt: new Date(Number(row.heartbeat_at ?? 0)),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: new Date(Number(row.expires_at)),
  }
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
