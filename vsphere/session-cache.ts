import { createHmac, randomBytes } from 'node:crypto'
import { log } from '../core/log.ts'
import type { ResolvedConnectionParams } from './connection-params.ts'
import { ServiceInstance } from './service-instance.ts'
import type { SessionStore } from './session-store.ts'

export interface SessionCacheOptions {
  /** A cached session unused for checks this long (ms) is validated on checkout. Default 60,000. */
  validateAfterMs?: number | undefined
  /** Persist sessions here so that other processes reuse them (and keep them on `closeAll`). */
  store?: SessionStore | undefined
}

interface Entry {
  params: ResolvedConnectionParams
  si?: ServiceInstance | undefined
  pending?: Promise<ServiceInstance> | undefined
}

/** A process-local random key: cache keys depend on the password without holding it. */
const keyHmacSecret = randomBytes(32)

/**
 * Sessions keyed by server + user + label (+ the password, so that a changed password never
 * reuses the old session). A checked-out session is validated when it is marked invalid or
 * has not been proven alive for `validateAfterMs`, and replaced when dead. Concurrent
 * checkouts of one key share one in-flight login.
 */
export class SessionCache {
  /** Logins performed by this cache (not counting sessions reused from the store). */
  logins = 0
  readonly #entries = new Map<string, Entry>()
  readonly #validateAfterMs: number
  readonly #store: SessionStore | undefined

  constructor(options: SessionCacheOptions = {}) {
    this.#validateAfterMs = options.validateAfterMs ?? 60_000
    this.#store = options.store
  }

  get size(): number {
    return this.#entries.size
  }

  /** A live session for `params`: cached, reused from the store, or freshly logged in. */
  checkout(params: ResolvedConnectionParams): Promise<ServiceInstance> {
    const key = cacheKey(params)
    let entry = this.#entries.get(key)
    if (!entry) {
      entry = { params }
      this.#entries.set(key, entry)
    }
    if (entry.pending) return entry.pending
    const si = entry.si
    if (si && !si.closed && si.valid && Date.now() - si.lastValidatedAt < this.#validateAfterMs) {
      return Promise.resolve(si)
    }
    const current = entry
    const pending = this.#refresh(current).finally(() => {
      current.pending = undefined
    })
    current.pending = pending
    return pending
  }

  /** Mark a session invalid so that the next checkout validates or replaces it. */
  invalidate(si: ServiceInstance): void {
    si.valid = false
  }

  /**
   * Log out every cached session (sessions kept in the store stay, on purpose, unless
   * `logoutPersisted`). Returns the logout failures; the cache is empty afterwards.
   */
  async closeAll(options: { logoutPersisted?: boolean } = {}): Promise<Error[]> {
    const entries = [...this.#entries.values()]
    this.#entries.clear()
    const failures: Error[] = []
    await Promise.all(
      entries.map(async (entry) => {
        const si = entry.pending ? await entry.pending.catch(() => undefined) : entry.si
        if (!si || si.closed) return
        if (this.#store && !options.logoutPersisted) return si.detach()
        const failure = await si.logout()
        this.#store?.remove(entry.params)
        if (failure) failures.push(failure)
      }),
    )
    return failures
  }

  // --- internal ---

  async #refresh(entry: Entry): Promise<ServiceInstance> {
    const old = entry.si
    if (old && !old.closed) {
      if (await isAlive(old)) return old
      log.info(
        'session',
        'session to %s as %s is no longer valid; logging in again',
        old.params.url.host,
        old.params.user,
      )
      entry.si = undefined
      await old.logout()
    }
    const reused = old ? undefined : await this.#reuseStored(entry.params)
    const si = reused ?? (await this.#login(entry.params))
    entry.si = si
    return si
  }

  async #reuseStored(params: ResolvedConnectionParams): Promise<ServiceInstance | undefined> {
    const stored = this.#store?.load(params)
    if (!stored) return undefined
    const si = await ServiceInstance.connect(params, {
      cookie: stored.cookie,
      version: stored.version,
    })
    if (await isAlive(si)) {
      log.debug('session', 'reusing the stored session to %s as %s', params.url.host, params.user)
      if (params.keepaliveIntervalMs > 0) si.startKeepalive(params.keepaliveIntervalMs)
      return si
    }
    await si.detach()
    return undefined
  }

  async #login(params: ResolvedConnectionParams): Promise<ServiceInstance> {
    const si = await ServiceInstance.connect(params)
    try {
      await si.login()
    } catch (error) {
      await si.detach()
      throw error
    }
    this.logins++
    log.debug(
      'session',
      'logged in to %s as %s (label %s)',
      params.url.host,
      params.user,
      params.label,
    )
    if (this.#store && si.cookie) this.#store.save(params, si.cookie, si.version)
    return si
  }
}

function cacheKey(params: ResolvedConnectionParams): string {
  const passwordTag = createHmac('sha256', keyHmacSecret)
    .update(params.password.reveal())
    .digest('base64url')
  return `${params.url.href}\n${params.user}\n${params.label}\n${passwordTag}`
}

/** A cheap liveness check: SessionManager.currentSession (one small RetrievePropertiesEx). */
async function isAlive(si: ServiceInstance): Promise<boolean> {
  try {
    return (
      (await si.currentSession({
        signal: AbortSignal.timeout(si.params.connectTimeoutMs + 5_000),
      })) !== null
    )
  } catch (error) {
    log.debug(
      'session',
      'validating the session to %s failed: %s',
      si.params.url.host,
      (error as Error).message,
    )
    return false
  }
}
