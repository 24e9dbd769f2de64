import { nodeCrypto } from '../core/builtins.ts'
import { log } from '../core/log.ts'
import type { Secret } from '../core/secret.ts'
import type { ResolvedConnectionParams } from './connection-params.ts'
import { ServiceInstance } from './service-instance.ts'
import { type SessionStore, SessionStoreError, type StoredSession } from './session-store.ts'

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
  /** `si` is kept in the store (kept on closeAll); false when the store refused it. */
  persisted?: boolean | undefined
}

/** A process-local random key: cache keys depend on the password without holding it. */
let keyHmacSecret: Buffer | undefined

/**
 * Sessions keyed by server + user + label (+ the password, so that a changed password never
 * reuses the old session). A checked-out session is validated when it is marked invalid or
 * has not been proven alive for `validateAfterMs`, and replaced when dead. Concurrent
 * checkouts of one key share one in-flight login. With a store, a stored session is reused
 * only by the credentials that made it, and logins are made under the store's lock, so that
 * parallel processes share one; a session the store refused to keep is logged out on closeAll.
 */
export class SessionCache {
  /** Logins performed by this cache (not counting sessions reused from the store). */
  logins = 0
  readonly #entries = new Map<string, Entry>()
  readonly #validateAfterMs: number
  readonly #store: SessionStore | undefined
  /** Aborted by closeAll: a checkout waiting for another process's login stops waiting. */
  #closing = new AbortController()

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
    const pending = this.#refresh(current, this.#closing.signal).finally(() => {
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
    this.#closing.abort(new Error('the session cache was closed'))
    this.#closing = new AbortController()
    this.#entries.clear()
    const failures: Error[] = []
    await Promise.all(
      entries.map(async (entry) => {
        const si = entry.pending ? await entry.pending.catch(() => undefined) : entry.si
        if (!si || si.closed) return
        if (this.#store && entry.persisted && !options.logoutPersisted) {
          if (si.viewsChanged && si.cookie) this.#saveViews(entry.params, si, si.cookie)
          return si.detach()
        }
        const cookie = si.cookie
        const failure = await si.logout()
        // Only while the file still holds this session (another process may have stored its own).
        if (this.#store && entry.persisted) this.#forget(entry.params, cookie)
        if (failure) failures.push(failure)
      }),
    )
    return failures
  }

  // --- internal ---

  async #refresh(entry: Entry, closing: AbortSignal): Promise<ServiceInstance> {
    const old = entry.si
    let dead: string | undefined
    if (old && !old.closed) {
      if (await isAlive(old)) return old
      log.info(
        'session',
        'session to %s as %s is no longer valid; logging in again',
        old.params.url.host,
        old.params.user,
      )
      entry.si = undefined
      dead = old.cookie?.reveal()
      await old.logout()
    }
    if (!this.#store) {
      entry.si = await this.#login(entry.params)
      return entry.si
    }
    const { si, persisted } = await this.#fromStore(entry.params, dead, closing)
    entry.si = si
    entry.persisted = persisted
    return si
  }

  /**
   * A session through the store: the stored one when it was made with these credentials and
   * is alive, else a login under the store's lock (so that parallel first runs share one
   * login), stored. When the store cannot be used safely (a foreign, loose or corrupt file,
   * a directory that is not private), that is reported and the session is not kept.
   */
  async #fromStore(
    params: ResolvedConnectionParams,
    dead: string | undefined,
    closing: AbortSignal,
  ): Promise<{ si: ServiceInstance; persisted: boolean }> {
    const store = this.#store!
    let release: (() => void) | undefined
    try {
      const reused = await this.#reuseStored(params, dead)
      if (reused) return { si: reused, persisted: true }
      release = await store.lock(params, closing)
      // Another process may have logged in while we waited for the lock.
      const again = await this.#reuseStored(params, dead)
      if (again) {
        release()
        return { si: again, persisted: true }
      }
    } catch (error) {
      release?.()
      if (!(error instanceof SessionStoreError)) throw error
      log.warn('session', '%s (this session is not kept)', error.message)
      return { si: await this.#login(params), persisted: false }
    }
    try {
      const previous = this.#loadQuietly(params)
      const si = await this.#login(params)
      try {
        if (si.cookie) store.save(params, si.cookie, si.version, si.content)
      } catch (error) {
        if (!(error instanceof SessionStoreError)) throw error
        log.warn('session', '%s (this session is not kept)', error.message)
        return { si, persisted: false }
      }
      // A session stored by other credentials (the password changed) would be left on vCenter.
      if (previous && !previous.credentialsMatch) await logoutStored(params, previous)
      return { si, persisted: true }
    } finally {
      release()
    }
  }

  #loadQuietly(params: ResolvedConnectionParams): StoredSession | undefined {
    try {
      return this.#store?.load(params)
    } catch {
      return undefined
    }
  }

  /** Keep the session's views with it in the store (they outlive this process with it). */
  #saveViews(params: ResolvedConnectionParams, si: ServiceInstance, cookie: Secret): void {
    const ids = Object.fromEntries([...si.views].map(([type, view]) => [type, view.value]))
    try {
      this.#store?.saveViews(params, cookie, ids)
    } catch (error) {
      log.warn('session', '%s', (error as Error).message)
    }
  }

  #forget(params: ResolvedConnectionParams, cookie: Secret | undefined): void {
    try {
      this.#store?.remove(params, cookie)
    } catch (error) {
      log.warn('session', '%s', (error as Error).message)
    }
  }

  async #reuseStored(
    params: ResolvedConnectionParams,
    dead: string | undefined,
  ): Promise<ServiceInstance | undefined> {
    const stored = this.#store?.load(params)
    if (!stored) return undefined
    if (!stored.credentialsMatch) {
      log.debug(
        'session',
        'the stored session to %s as %s was made with other credentials; not reusing it',
        params.url.host,
        params.user,
      )
      return undefined
    }
    if (stored.cookie.reveal() === dead) return undefined
    const si = await ServiceInstance.connect(params, {
      cookie: stored.cookie,
      version: stored.version,
      content: stored.content,
      views: stored.views,
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
    return si
  }
}

/** Log out a stored session that is being replaced (best effort; it may be gone already). */
async function logoutStored(
  params: ResolvedConnectionParams,
  stored: StoredSession,
): Promise<void> {
  try {
    const si = await ServiceInstance.connect(params, {
      cookie: stored.cookie,
      version: stored.version,
      signal: AbortSignal.timeout(params.connectTimeoutMs + 5_000),
    })
    await si.logout()
  } catch (error) {
    log.debug('session', 'logging out the replaced stored session: %s', (error as Error).message)
  }
}

function cacheKey(params: ResolvedConnectionParams): string {
  keyHmacSecret ??= nodeCrypto().randomBytes(32)
  const passwordTag = nodeCrypto()
    .createHmac('sha256', keyHmacSecret)
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
