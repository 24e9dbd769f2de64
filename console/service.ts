import { homedir } from 'node:os'
import { join } from 'node:path'
import { nodeCrypto } from '../core/builtins.ts'
import { BrineError } from '../core/errors.ts'
import { log } from '../core/log.ts'
import { Secret } from '../core/secret.ts'
import { MemoryConsoleStore } from './memory-store.ts'
import { PostgresConsoleStore } from './postgres-store.ts'
import { SqliteConsoleStore } from './sqlite-store.ts'
import {
  type ConsoleConnection,
  type ConsoleMode,
  type ConsoleStore,
  ConsoleStoreError,
  type ConsoleTarget,
  type DamagedRecord,
  type FreePort,
  isDamaged,
} from './store.ts'
import { hashesMatch, hashToken, looksLikeToken, newToken, seal, unseal } from './tokens.ts'

export const BACKENDS = ['sqlite', 'postgresql', 'memory'] as const
export type Backend = (typeof BACKENDS)[number]

/**
 * The console options, read from brine's options (config file, env, flags).
 *
 * | option | type | default |
 * |---|---|---|
 * | console_tokens_backend | sqlite, postgresql, memory | sqlite |
 * | data_dir | path | $BRINE_DATA_DIR, else $XDG_DATA_HOME/brine, else ~/.local/share/brine |
 * | console_tokens_url | postgresql://user@host:port/database (backend postgresql) | $BRINE_CONSOLE_TOKENS_URL |
 * | console_tokens_password | secret (config file or pillar) | $BRINE_CONSOLE_TOKENS_PASSWORD, else PGPASSWORD / ~/.pgpass |
 * | console_tokens_pool | connections per process (postgresql) | 10 |
 * | console_heartbeat_window | seconds without a heartbeat after which a port is free | 60 |
 * | console_token_ttl | seconds | 600 |
 * | console_proxy_url | URL users connect to | ws://127.0.0.1:6090/console |
 * | console_cleanup_batch | records per batch | 500 |
 * | console_cleanup_interval | seconds between cleanups in `brine console serve` | 60 |
 */
export interface ConsoleConfig {
  backend: Backend
  /** The SQLite file (backend sqlite). */
  file: string
  /** The server (backend postgresql): URL, password, pool size. */
  postgres?: { url: string; password?: Secret | undefined; poolSize: number } | undefined
  /** A connection whose heartbeat is older than this is held by nobody (its proxy died). */
  staleMs: number
  ttlSeconds: number
  proxyUrl: string
  cleanupBatch: number
  cleanupIntervalSeconds: number
}

/** The longest a token may live: a day (vCenter's own tickets last minutes). */
export const MAX_TTL_SECONDS = 86_400
/**
 * A connection whose heartbeat is older than this is held by nobody (its proxy died);
 * option console_heartbeat_window. The proxy renews heartbeats four times per window.
 */
export const STALE_MS = 60_000
export const HEARTBEAT_MS = STALE_MS / 4

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
  let postgres: ConsoleConfig['postgres']
  if (backend === 'postgresql') {
    const url = stringOption(opts, 'console_tokens_url') ?? env.BRINE_CONSOLE_TOKENS_URL
    if (!url) {
      throw new ConsoleStoreError(
        'console_tokens_backend postgresql needs console_tokens_url (postgresql://user@host:5432/database), or BRINE_CONSOLE_TOKENS_URL.',
        { code: 'BRINE_CONFIG' },
      )
    }
    const password =
      secretOption(opts, 'console_tokens_password') ?? env.BRINE_CONSOLE_TOKENS_PASSWORD
    postgres = {
      url,
      password: password ? new Secret(password) : undefined,
      poolSize: positiveOption(opts, 'console_tokens_pool', 10, 1000),
    }
  }
  return {
    backend: backend as Backend,
    file: join(dataDir, DB_FILE_NAME),
    postgres,
    staleMs: positiveOption(opts, 'console_heartbeat_window', STALE_MS / 1000, 86_400) * 1000,
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

/** A password option: a string, or a number YAML read from an unquoted one. */
function secretOption(opts: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = opts[key]
  if (value instanceof Secret) return value.reveal()
  if (typeof value === 'number') return String(value)
  return stringOption(opts, key)
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

// One store per backend and file (or server) in a process: the memory store must be shared to
// be any use, and one SQLite connection or PostgreSQL pool serves every module generation.
const stores = new Map<string, Promise<ConsoleStore>>()
/** The stores created, for the exit handler (which cannot wait for a promise). */
const created = new Set<ConsoleStore>()

/** The store `config` names, opened (migrated) once per process. */
export function openConsoleStore(
  config: Pick<ConsoleConfig, 'backend' | 'file' | 'postgres'>,
): Promise<ConsoleStore> {
  const key =
    config.backend === 'memory'
      ? 'memory'
      : config.backend === 'postgresql'
        ? `postgresql:${config.postgres?.url}`
        : `sqlite:${config.file}`
  let store = stores.get(key)
  if (!store) {
    // Close (and checkpoint) SQLite files when the process ends.
    if (stores.size === 0 && created.size === 0) process.once('exit', closeAtExit)
    store = createStore(config).then(async (opened) => {
      created.add(opened)
      try {
        await opened.open()
      } catch (error) {
        created.delete(opened)
        await opened.close().catch(() => {})
        throw error
      }
      return opened
    })
    // A store that failed to open is tried afresh by the next call.
    store.catch(() => stores.delete(key))
    stores.set(key, store)
  }
  return store
}

async function createStore(
  config: Pick<ConsoleConfig, 'backend' | 'file' | 'postgres'>,
): Promise<ConsoleStore> {
  if (config.backend === 'memory') return new MemoryConsoleStore()
  if (config.backend === 'sqlite') return new SqliteConsoleStore(config.file)
  if (!config.postgres)
    throw new ConsoleStoreError('backend postgresql without console_tokens_url', {
      code: 'BRINE_CONFIG',
    })
  return new PostgresConsoleStore(config.postgres)
}

export async function closeConsoleStores(): Promise<void> {
  const open = [...stores.values()]
  stores.clear()
  for (const store of open) {
    const opened = await store.catch(() => undefined)
    if (opened) created.delete(opened)
    await opened?.close()
  }
}

/** At exit nothing asynchronous runs; SQLite's close (and checkpoint) is synchronous. */
function closeAtExit(): void {
  for (const store of created) void store.close().catch(() => {})
  created.clear()
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

/**
 * Store a new console record and answer its token (the one time it exists in clear).
 * `staleMs`: the heartbeat window (a connection older than that holds its port no more).
 */
export async function issueConsole(
  store: ConsoleStore,
  request: IssueRequest,
  now = Date.now(),
  staleMs = STALE_MS,
): Promise<IssuedConsole> {
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
  const id = nodeCrypto().randomUUID()
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
  if (!(await store.put(record, now - staleMs))) {
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
export async function validateToken(
  store: ConsoleStore,
  token: string,
  now = Date.now(),
): Promise<ConsoleConnection> {
  if (!looksLikeToken(token)) {
    throw new ConsoleTokenError(
      'that is not a brine console token (expected brc_ and 43 more characters, as vmware_vm.console issues them).',
      { code: 'BRINE_ARGUMENT' },
    )
  }
  const hash = hashToken(token)
  const record = await store.findByTokenHash(hash)
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
  heartbeat(): Promise<boolean>
  /** Mark the port free again. */
  release(): Promise<void>
}

/**
 * Validate `token` and take its port: a second connection to a connected port is refused.
 * Answers the unsealed target to connect to.
 */
export async function connectConsole(
  store: ConsoleStore,
  token: string,
  now = Date.now(),
  staleMs = STALE_MS,
): Promise<OpenedConsole> {
  const record = await validateToken(store, token, now)
  const plain = unseal(record.options.internalAccessPath, token, record.id)
  if (plain === undefined)
    throw damagedError(store, { ...record, damage: 'its target does not open' })
  if (!(await store.markConnected(record.id, now, now - staleMs))) {
    throw new ConsoleTokenError(
      `console ${record.host}:${record.port} is already connected; one connection per console port.`,
      { code: 'BRINE_CONSOLE_BUSY' },
    )
  }
  let released = false
  // The heartbeat this session wrote last: another proxy taking the port over writes its own.
  let beat = now
  return {
    record: { ...record, connected: true },
    target: JSON.parse(plain) as ConsoleTarget,
    heartbeat: async () => {
      if (released) return false
      const at = Math.max(Date.now(), beat + 1)
      if (!(await store.heartbeat(record.id, at, beat))) return false
      beat = at
      return true
    },
    release: async () => {
      if (released) return
      released = true
      await store.markDisconnected(record.id)
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
export async function cleanupExpired(
  store: ConsoleStore,
  { now = Date.now(), batch = 500, maxBatches = 20, staleMs = STALE_MS } = {},
): Promise<CleanupResult> {
  let deleted = 0
  for (let i = 0; i < maxBatches; i++) {
    const n = await store.deleteExpired(now, batch, now - staleMs)
    deleted += n
    if (n < batch) return { deleted, more: false }
  }
  return { deleted, more: true }
}

/**
 * Run cleanupExpired every `intervalMs` (the timer does not keep the process alive); a run
 * still going when the next is due is not doubled.
 */
export function startCleanup(
  store: ConsoleStore,
  { intervalMs = 60_000, batch = 500, maxBatches = 20, staleMs = STALE_MS } = {},
): { stop(): void } {
  let running = false
  const timer = setInterval(async () => {
    if (running) return
    running = true
    try {
      const { deleted, more } = await cleanupExpired(store, { batch, maxBatches, staleMs })
      if (deleted)
        log.debug(
          'console',
          'cleanup deleted %d expired record(s)%s',
          deleted,
          more ? ', more left' : '',
        )
    } catch (error) {
      log.warn('console', 'cleanup failed: %s', (error as Error).message)
    } finally {
      running = false
    }
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

/** Ports of an instance nobody holds, with a live record. */
export function freePorts(
  store: ConsoleStore,
  instanceUuid: string,
  now = Date.now(),
  staleMs = STALE_MS,
): Promise<FreePort[]> {
  return store.freePorts(instanceUuid, now, now - staleMs)
}

/**
 * A record as outputs show it: never the token, its hash or the sealed target. A connection
 * whose heartbeat is older than `staleMs` (its proxy died) shows as stale, not connected: its
 * port is free.
 */
export function describeConsole(
  record: ConsoleConnection | DamagedRecord,
  now = Date.now(),
  staleMs = STALE_MS,
) {
  if (isDamaged(record)) {
    return { id: record.id, instance_uuid: record.instanceUuid, damaged: record.damage }
  }
  const stale =
    record.connected &&
    record.heartbeatAt !== undefined &&
    record.heartbeatAt.getTime() < now - staleMs
  return {
    id: record.id,
    instance_uuid: record.instanceUuid,
    host: record.host,
    port: record.port,
    mode: record.options.mode,
    tls: record.options.tls,
    connected: record.connected && !stale,
    stale,
    access_url: record.accessUrl,
    created: record.createdAt.toISOString(),
    expires: record.expiresAt.toISOString(),
    expired: record.expiresAt.getTime() <= now,
  }
}
