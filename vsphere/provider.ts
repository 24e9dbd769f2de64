import { resolveConnectionParams } from './connection-params.ts'
import { type CredentialSources, resolveVsphereConnection } from './credentials.ts'
import { createReconnectProxy } from './reconnect-proxy.ts'
import type { ServiceInstance } from './service-instance.ts'
import { SessionCache } from './session-cache.ts'
import { SessionStore } from './session-store.ts'

export interface ServiceInstanceProviderOptions {
  sources: CredentialSources
  /** Keep sessions in the persistent store so later processes reuse them. Default false. */
  persistSessions?: boolean
  /** Directory of the persistent store (default: SessionStore's). */
  sessionDir?: string | undefined
  /** Connect timeout for every profile, ms. */
  connectTimeoutMs?: number | undefined
}

/**
 * The process-wide ReconnectProxy per vSphere profile, owned by the host (never by a module
 * generation): reloads cannot create a second one. `close()` logs the sessions out (those
 * kept in the persistent store stay, on purpose).
 */
export class ServiceInstanceProvider {
  readonly cache: SessionCache
  readonly #proxies = new Map<string, ServiceInstance>()
  readonly #options: ServiceInstanceProviderOptions

  constructor(options: ServiceInstanceProviderOptions) {
    this.#options = options
    this.cache = new SessionCache({
      store: options.persistSessions ? new SessionStore({ dir: options.sessionDir }) : undefined,
    })
  }

  /**
   * The proxy for `profile` (undefined: the default profile), or with `esxiHost` for that ESXi
   * host, connected with the profile's `esxi_host` credentials for it. No I/O.
   */
  get(profile?: string, esxiHost?: string): ServiceInstance {
    const key = `${profile ?? ''}\0${esxiHost ?? ''}`
    let proxy = this.#proxies.get(key)
    if (!proxy) {
      proxy = createReconnectProxy({
        cache: this.cache,
        resolveParams: () =>
          resolveConnectionParams({
            ...resolveVsphereConnection(this.#options.sources, { profile, esxiHost }),
            ...(this.#options.connectTimeoutMs !== undefined && {
              connectTimeoutMs: this.#options.connectTimeoutMs,
            }),
          }),
      })
      this.#proxies.set(key, proxy)
    }
    return proxy
  }

  /** Logins made by the session cache. */
  get logins(): number {
    return this.cache.logins
  }

  /** Number of proxies created (one per profile, and per ESXi host, used). */
  get size(): number {
    return this.#proxies.size
  }

  async close(): Promise<Error[]> {
    this.#proxies.clear()
    return this.cache.closeAll()
  }
}
