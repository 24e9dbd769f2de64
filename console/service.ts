import { randomUUID } from 'node:crypto'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { BrineError } from '../core/errors.ts'
import { log } from '../core/log.ts'
import { MemoryConsoleStore } from './memory-store.ts'
import { SqliteConsoleStore } from './sqlite-store.ts'
import {
  type ConsoleConnection,
  type ConsoleMode,
  type ConsoleStore,
  ConsoleStoreError,
  type ConsoleTarget,
  type DamagedRecord,
  isDamaged,
} from './store.ts'
import { hashesMatch, hashToken, looksLikeToken, newToken, seal, unseal } from './tokens.ts'

export const BACKENDS = ['sqlite', 'memory'] as const
export type Backend = (typeof BACKENDS)[number]

/**
 * The console options, read from brine's options (config file, env, flags).
 *
 * | option | type | default |
 * |---|---|---|
 * | console_tokens_backend | sqlite, memory | sqlite |
 * | data_dir | path | $BRINE_DATA_DIR, else $XDG_DATA_HOME/brine, else ~/.local/share/brine |
 * | console_token_ttl | seconds | 600 |
 * | console_proxy_url | URL users connect to | ws://127.0.0.1:6090/console |
 * | console_cleanup_batch | records per batch | 500 |
 * | console_cleanup_interval | seconds between cleanups in `brine console serve` | 60 |
 */
export interface ConsoleConfig {
  backend: Backend
  /** The SQLite file (backend sqlite). */
  file: string
  ttlSeconds: number
  proxyUrl: string
  cleanupBatch: number
  cleanupIntervalSeconds: number
}

/** The longest a token may live: a day (vCenter's own tickets last minutes). */
export const MAX_TTL_SECONDS = 86_400
/** A proxy renews the heartbeat of each connection it holds this often… */
export const HEARTBEAT_MS = 15_000
/** …and a connection whose heartbeat is older than this is held by nobody (its proxy died). */
export const STALE_MS = 60_000

export const DEFAULT_PROXY_URL = 'ws://127.0.0.1:6090/console'
export const DB_FILE_NAME = 'console-tokens.sqlite'

export function consoleConfig(
  opts: Readonly<Record<string, unknown>>,
  env: Record<string, string | undefined> = process.env,
): ConsoleConfig {
  const backend = opts.console_tokens_backend ?? 'sqlite'
  if (!BACKENDS.includes(backend as Backend)) {
    throw new ConsoleStoreError(
      `option console_tokens_backend is '${String(backend)}'; it must be one of ${BACKENDS.join(', ')}.`,
      { code: 'BRINE_CONFIG' },
    )
  }
  const dataDir =
    stringOption(opts, 'data_dir') ??
    env.BRINE_DATA_DIR ??
    join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'brine')
  const proxyUrl = stringOption(opts, 'console_proxy_url') ?? DEFAULT_PROXY_URL
  if (!URL.canParse(proxyUrl)) {
    throw new ConsoleStoreError(
      `option console_proxy_url '${proxyUrl}' is not a URL (e.g. wss://console.example.com/console).`,
      { code: 'BRINE_CONFIG' },
    )
  }
  return {
    backend: backend as Backend,
    file: join(dataDir, DB_FILE_NAME),
    ttlSeconds: positiveOption(opts, 'console_token_ttl', 600, MAX_TTL_SECONDS),
    proxyUrl,
    cleanupBatch: positiveOption(opts, 'console_cleanup_batch', 500, 100_000),
    cleanupIntervalSeconds: positiveOption(opts, 'console_cleanup_interval', 60, 86_400),
  }
}

function stringOption(opts: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = opts[key]
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string')
    throw new ConsoleStoreError(`option ${key} must be a string.`, { code: 'BRINE_CONFIG' })
  return value
}

function positiveOption(
  opts: Readonly<Record<string, unknown>>,
  key: string,
  fallback: number,
  max: number,
): number {
  const value = opts[key] ?? fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max)
    throw new ConsoleStoreError(`option ${key} must be a whole number from 1 to ${max}.`, {
      code: 'BRINE_CONFIG',
    })
  return value
}

// One store per backend and file in a process: the memory store must be shared to be any use,
// and one SQLite connection serves every module generation.
const stores = new Map<string, ConsoleStore>()

export function openConsoleStore(config: Pick<ConsoleConfig, 'backend' | 'file'>): ConsoleStore {
  const key = config.backend === 'memory' ? 'memory' : `sqlite:${config.file}`
  let store = stores.get(key)
  if (!store) {
    // Close (and checkpoint) SQLite files when the process ends.
    if (stores.size === 0) process.once('exit', closeConsoleStores)
    store =
      config.backend === 'memory' ? new MemoryConsoleStore() : new SqliteConsoleStore(config.file)
    stores.set(key, store)
  }
  return store
}

export function closeConsoleStores(): void {
  for (const store of stores.values()) store.close()
  stores.clear()
}

export class ConsoleTokenError extends BrineError {
  static override readonly kind: string = 'ConsoleTokenError'
}

export interface IssueRequest {
  instanceUuid: string
  host: string
  port: number
  mode: ConsoleMode
  tls: boolean
  target: ConsoleTarget
  ttlSeconds: number
  /** Where users connect; the token is added as `?token=`. */
  proxyUrl: string
}

export interface IssuedConsole {
  record: ConsoleConnection
  /** Shown once; brine keeps only its hash. */
  token: string
  /** `proxyUrl` with the token. */
  accessUrl: string
}

/** Store a new console record and answer its token (the one time it exists in clear). */
export function issueConsole(
  store: ConsoleStore,
  request: IssueRequest,
  now = Date.now(),
): IssuedConsole {
  if (
    !Number.isInteger(request.ttlSeconds) ||
    request.ttlSeconds <= 0 ||
    request.ttlSeconds > MAX_TTL_SECONDS
  ) {
    throw new ConsoleTokenError(
      `a console token lives 1 to ${MAX_TTL_SECONDS} seconds, not ${request.ttlSeconds}.`,
      { code: 'BRINE_ARGUMENT' },
    )
  }
  const token = newToken()
  const id = randomUUID()
  const record: ConsoleConnection = {
    id,
    instanceUuid: request.instanceUuid,
    host: request.host,
    port: request.port,
    tokenHash: hashToken(token),
    accessUrl: request.proxyUrl,
    options: {
      tls: request.tls,
      mode: request.mode,
      internalAccessPath: seal(JSON.stringify(request.target), token, id),
    },
    connected: false,
    createdAt: new Date(now),
    expiresAt: new Date(now + request.ttlSeconds * 1000),
  }
  if (!store.put(record, now - STALE_MS)) {
    throw new ConsoleTokenError(
      `console ${request.host}:${request.port} of instance ${request.instanceUuid} is in use: someone is connected. Revoke its record (console.list shows the id) to take it over.`,
      { code: 'BRINE_CONSOLE_BUSY' },
    )
  }
  const url = new URL(request.proxyUrl)
  url.searchParams.set('token', token)
  return { record, token, accessUrl: url.href }
}

/**
 * The live record `token` opens. Hashes the token, finds the record by that hash, compares
 * the hashes in constant time, refuses expired records.
 */
export function validateToken(
  store: ConsoleStore,
  token: string,
  now = Date.now(),
): ConsoleConnection {
  if (!looksLikeToken(token)) {
    throw new ConsoleTokenError(
      'that is not a brine console token (expected brc_ and 43 more characters, as vmware_vm.console issues them).',
      { code: 'BRINE_ARGUMENT' },
    )
  }
  const hash = hashToken(token)
  const record = store.findByTokenHash(hash)
  if (!record || (!isDamaged(record) && !hashesMatch(record.tokenHash, hash))) {
    throw new ConsoleTokenError('console token is not valid: unknown or revoked.', {
      code: 'BRINE_CONSOLE_TOKEN',
    })
  }
  if (isDamaged(record)) throw damagedError(store, record)
  if (record.expiresAt.getTime() <= now) {
    throw new ConsoleTokenError(
      `console token expired at ${record.expiresAt.toISOString()}; ask for a new console.`,
      { code: 'BRINE_CONSOLE_TOKEN' },
    )
  }
  return record
}

export interface OpenedConsole {
  record: ConsoleConnection
  target: ConsoleTarget
  /** Renew the connection's heartbeat (every HEARTBEAT_MS); false: revoked or replaced, end it. */
  heartbeat(): boolean
  /** Mark the port free again. */
  release(): void
}

/**
 * Validate `token` and take its port: a second connection to a connected port is refused.
 * Answers the unsealed target to connect to.
 */
export function connectConsole(
  store: ConsoleStore,
  token: string,
  now = Date.now(),
): OpenedConsole {
  const record = validateToken(store, token, now)
  const plain = unseal(record.options.internalAccessPath, token, record.id)
  if (plain === undefined)
    throw damagedError(store, { ...record, damage: 'its target does not open' })
  if (!store.markConnected(record.id, now, now - STALE_MS)) {
    throw new ConsoleTokenError(
      `console ${record.host}:${record.port} is already connected; one connection per console port.`,
      { code: 'BRINE_CONSOLE_BUSY' },
    )
  }
  let released = false
  return {
    record: { ...record, connected: true },
    target: JSON.parse(plain) as ConsoleTarget,
    heartbeat: () => !released && store.heartbeat(record.id, Date.now()),
    release: () => {
      if (released) return
      released = true
      store.markDisconnected(record.id)
    },
  }
}

function damagedError(store: ConsoleStore, record: Pick<DamagedRecord, 'id' | 'damage'>) {
  return new ConsoleStoreError(
    `console record ${record.id} in ${store.location} is damaged (${record.damage}); revoke it with console.revoke ${record.id}. Other records are unaffected.`,
    { code: 'BRINE_CONSOLE_DAMAGED' },
  )
}

export interface CleanupResult {
  deleted: number
  /** True when the run stopped at its bound with expired records left. */
  more: boolean
}

/**
 * Delete expired records in batches of `batch` (each its own short transaction, so other
 * processes get the database between batches), at most `maxBatches` per run.
 */
export function cleanupExpired(
  store: ConsoleStore,
  { now = Date.now(), batch = 500, maxBatches = 20 } = {},
): CleanupResult {
  let deleted = 0
  for (let i = 0; i < maxBatches; i++) {
    const n = store.deleteExpired(now, batch, now - STALE_MS)
    deleted += n
    if (n < batch) return { deleted, more: false }
  }
  return { deleted, more: true }
}

/** Run cleanupExpired every `intervalMs` (the timer does not keep the process alive). */
export function startCleanup(
  store: ConsoleStore,
  { intervalMs = 60_000, batch = 500, maxBatches = 20 } = {},
): { stop(): void } {
  const timer = setInterval(() => {
    try {
      const { deleted, more } = cleanupExpired(store, { batch, maxBatches })
      if (deleted)
        log.debug(
          'console',
          'cleanup deleted %d expired record(s)%s',
          deleted,
          more ? ', more left' : '',
        )
    } catch (error) {
      log.warn('console', 'cleanup failed: %s', (error as Error).message)
    }
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

/** Ports of an instance nobody holds, with a live record. */
export function freePorts(store: ConsoleStore, instanceUuid: string, now = Date.now()) {
  return store.freePorts(instanceUuid, now, now - STALE_MS)
}

/** A record as outputs show it: never the token, its hash or the sealed target. */
export function describeConsole(record: ConsoleConnection | DamagedRecord, now = Date.now()) {
  if (isDamaged(record)) {
    return { id: record.id, instance_uuid: record.instanceUuid, damaged: record.damage }
  }
  return {
    id: record.id,
    instance_uuid: record.instanceUuid,
    host: record.host,
    port: record.port,
    mode: record.options.mode,
    tls: record.options.tls,
    connected: record.connected,
    access_url: record.accessUrl,
    created: record.createdAt.toISOString(),
    expires: record.expiresAt.toISOString(),
    expired: record.expiresAt.getTime() <= now,
  }
}
