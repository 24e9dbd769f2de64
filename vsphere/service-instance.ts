import { inspectPoint, isInspecting } from '../core/inspect.ts'
import { isLogEnabled, log } from '../core/log.ts'
import { Secret } from '../core/secret.ts'
import { encodeRequest, moref } from './codec.ts'
import type { ResolvedConnectionParams } from './connection-params.ts'
import { createResponseDecoder, decodeResponse, type ResponseDecoder } from './decoder.ts'
import { SessionClosedError, TransportError } from './errors.ts'
import { faultError } from './faults.ts'
import { startKeepalive } from './keepalive.ts'
import { notifySoapCall, soapObservers } from './soap-observers.ts'
import { Transport } from './transport.ts'
import type {
  ManagedObjectReference,
  RetrieveResult,
  ServiceContent,
  UserSession,
} from './types.ts'

export interface InvokeOptions {
  signal?: AbortSignal | undefined
  /**
   * Another SOAP endpoint of the same vCenter, sharing this session (storage policies:
   * `{ path: '/pbm', namespace: 'urn:pbm', version: '1.0' }`). The session cookie is also sent
   * in the SOAP header (`vcSessionCookie`), as those endpoints expect.
   */
  endpoint?: { path: string; namespace: string; version: string } | undefined
}

const SERVICE_INSTANCE = moref('ServiceInstance', 'ServiceInstance')

/**
 * One connection to one vCenter (or ESXi) endpoint: its transport, API version, ServiceContent
 * and, after `login`, its session cookie. The `invoke` method is the only way a SOAP call is
 * made; it marks the instance invalid when the server says NotAuthenticated.
 *
 * Exactly one copy of this class exists in a brine process, whatever the number of module
 * reloads (see ARCHITECTURE.md); `instanceof ServiceInstance` is therefore reliable.
 */
export class ServiceInstance {
  readonly params: ResolvedConnectionParams
  readonly transport: Transport
  /** The vim25 version used in SOAPAction, negotiated with the server. */
  version: string
  content!: ServiceContent
  userSession: UserSession | undefined
  /** False once the server said NotAuthenticated; the session cache then validates or replaces it. */
  valid = true
  closed = false
  /** Epoch ms of the last proof that the session is alive. */
  lastValidatedAt = 0
  /**
   * ContainerViews of the whole inventory (the root folder, recursive) kept on this session,
   * by object type (retrieveAll): made once, never destroyed, they end with the session. The
   * session store keeps them with a stored session (`viewsChanged`: one was added or dropped).
   */
  readonly views = new Map<string, ManagedObjectReference>()
  viewsChanged = false
  #cookie: Secret | undefined
  #stopKeepalive: (() => void) | undefined
  /** Teardown hooks, each with whether it runs without a live SOAP session (`withoutSession`). */
  readonly #teardown = new Map<(signal: AbortSignal) => Promise<void>, boolean>()

  private constructor(params: ResolvedConnectionParams, version: string) {
    this.params = params
    this.version = version
    this.transport = new Transport({
      url: params.url,
      ca: params.ca,
      thumbprint: params.thumbprint,
      insecure: params.insecure,
      connectTimeoutMs: params.connectTimeoutMs,
      requestTimeoutMs: params.requestTimeoutMs,
      maxResponseBytes: params.maxResponseBytes,
      userAgent: params.userAgent,
    })
  }

  /**
   * Open the transport, fetch the ServiceContent and take the API version from it; no login.
   * With `cookie`, the instance reuses an existing session (check it with `currentSession`);
   * with `content` too (what RetrieveServiceContent answered when that session was made),
   * it makes no call: the session store keeps both, and a session outlives no restart or
   * upgrade of the server that would change its ServiceContent.
   */
  static async connect(
    params: ResolvedConnectionParams,
    options: InvokeOptions & {
      cookie?: Secret
      version?: string
      content?: ServiceContent
      /** The session's kept views (`views`), by type: their ids. */
      views?: Record<string, string>
    } = {},
  ): Promise<ServiceInstance> {
    const si = new ServiceInstance(params, options.version ?? '')
    si.#cookie = options.cookie
    for (const [type, value] of Object.entries(options.views ?? {}))
      si.views.set(type, { type: 'ContainerView', value })
    if (options.cookie && options.content) {
      si.content = options.content
      if (!si.version) si.version = si.content.about.apiVersion
      return si
    }
    try {
      // RetrieveServiceContent needs no version; its about.apiVersion is the server's newest,
      // the one pyVmomi would pick from vimServiceVersions.xml, without that extra round trip.
      si.content = await si.invoke<ServiceContent>(
        'RetrieveServiceContent',
        { _this: SERVICE_INSTANCE },
        options,
      )
      if (!si.version) si.version = si.content.about.apiVersion
      return si
    } catch (error) {
      await si.transport.close()
      throw error
    }
  }

  /** This instance, connected: a no-op here; a ReconnectProxy connects on it. */
  async ready(): Promise<ServiceInstance> {
    return this
  }

  /** The session cookie, for the persistent session store. */
  get cookie(): Secret | undefined {
    return this.#cookie
  }

  get sessionManager(): ManagedObjectReference {
    return this.content.sessionManager ?? moref('SessionManager', 'SessionManager')
  }

  /** Call a vim25 method. `args` are the parameters in WSDL order, `_this` first. */
  async invoke<T>(
    method: string,
    args: Record<string, unknown>,
    options: InvokeOptions = {},
  ): Promise<T> {
    if (this.closed) {
      throw new SessionClosedError(
        `${method}: the session to ${this.params.url.host} was closed (logged out).`,
      )
    }
    const endpoint = options.endpoint
    const body = encodeRequest(method, args, {
      namespace: endpoint?.namespace,
      header:
        endpoint && this.#cookie
          ? { vcSessionCookie: new Secret(this.#cookie.reveal().replace(/^"|"$/g, '')) }
          : undefined,
    })
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset="utf-8"',
      soapaction: endpoint
        ? `${endpoint.namespace}/${endpoint.version}`
        : this.version
          ? `urn:vim25/${this.version}`
          : 'urn:vim25',
    }
    if (this.#cookie) headers.cookie = `vmware_soap_session=${this.#cookie.reveal()}`
    // process.hrtime, not performance: the global `performance` loads node:perf_hooks (~1 ms
    // of every vSphere call's start) for one debug line.
    const started = process.hrtime.bigint()
    if (isLogEnabled('trace', 'soap')) log.trace('soap', '→ %s %s', method, body)
    inspectPoint('SOAP1', `→ ${method}`, () => body)

    // The answer is decoded as it arrives, unless its text is wanted (observers, trace, inspect).
    let decoder: ResponseDecoder | undefined
    let streamedStatus = 0
    const response = await this.transport
      .send({
        path: endpoint?.path ?? this.params.url.pathname,
        method: 'POST',
        headers,
        body,
        signal: options.signal,
        soapMethod: method,
        sink:
          soapObservers.size || isInspecting('SOAP2')
            ? undefined
            : (statusCode) => {
                if (statusCode !== 200 && statusCode !== 500) return undefined
                streamedStatus = statusCode
                decoder = createResponseDecoder(method)
                return decoder
              },
      })
      .catch((error: unknown) => {
        throw decoder && error instanceof SyntaxError
          ? this.#unreadable(method, streamedStatus, error)
          : error
      })
    if (soapObservers.size) notifySoapCall(method, body, response.body)
    // Other endpoints (PBM) answer with cookies of their own, not vim25 sessions: ignore them.
    if (!endpoint) this.#captureCookie(response.headers['set-cookie'])
    log.debug(
      'soap',
      '%s %d in %s ms',
      method,
      response.statusCode,
      (Number(process.hrtime.bigint() - started) / 1e6).toFixed(1),
    )
    if (isLogEnabled('trace', 'soap')) log.trace('soap', '← %s %s', method, response.body)
    inspectPoint('SOAP2', `← ${method} ${response.statusCode}`, () => response.body)

    if (response.statusCode !== 200 && response.statusCode !== 500) {
      throw new TransportError(
        `${method} on ${this.params.url.host}: HTTP ${response.statusCode} (${response.body.slice(0, 200).trim()}).`,
        {
          failure: 'HTTP_STATUS',
          url: this.params.url.href,
          method,
          requestSent: true,
          statusCode: response.statusCode,
        },
      )
    }
    let decoded: ReturnType<typeof decodeResponse>
    try {
      decoded = decoder ? decoder.end() : decodeResponse(method, response.body)
    } catch (error) {
      throw this.#unreadable(method, response.statusCode, error)
    }
    if (decoded.kind === 'fault') {
      const error = faultError(method, args._this as ManagedObjectReference | undefined, decoded)
      if (decoded.faultType === 'NotAuthenticated') this.valid = false
      throw error
    }
    return decoded.value as T
  }

  /** Log in; on success the instance holds the session cookie. */
  async login(options: InvokeOptions = {}): Promise<UserSession> {
    const session = await this.invoke<UserSession>(
      'Login',
      { _this: this.sessionManager, userName: this.params.user, password: this.params.password },
      options,
    )
    this.userSession = session
    this.valid = true
    this.lastValidatedAt = Date.now()
    if (this.params.keepaliveIntervalMs > 0) this.startKeepalive(this.params.keepaliveIntervalMs)
    return session
  }

  /**
   * Run `destroy` before this session logs out or is detached: for objects it owns on the
   * server (views, property collectors) that must not outlive their user. Returns an unregister.
   * Hooks run only while the SOAP session is alive, unless `withoutSession` (the vAPI REST
   * session, which lives on its own).
   */
  onTeardown(
    destroy: (signal: AbortSignal) => Promise<void>,
    { withoutSession = false }: { withoutSession?: boolean } = {},
  ): () => void {
    this.#teardown.set(destroy, withoutSession)
    return () => this.#teardown.delete(destroy)
  }

  async #runTeardown(): Promise<void> {
    const alive = !!this.#cookie && this.valid
    const hooks = [...this.#teardown].flatMap(([hook, withoutSession]) =>
      alive || withoutSession ? [hook] : [],
    )
    this.#teardown.clear()
    if (!hooks.length) return
    const signal = AbortSignal.timeout(10_000)
    await Promise.all(hooks.map((hook) => hook(signal).catch(() => {})))
  }

  /**
   * Log out and close the transport. Never throws for a session that is already gone
   * (expired or terminated); other failures are returned so callers can report them.
   */
  async logout(): Promise<Error | undefined> {
    if (this.closed) return undefined
    this.stopKeepalive()
    await this.#runTeardown()
    let failure: Error | undefined
    if (this.#cookie) {
      try {
        await this.invoke(
          'Logout',
          { _this: this.sessionManager },
          { signal: AbortSignal.timeout(10_000) },
        )
      } catch (error) {
        if ((error as { faultType?: string }).faultType !== 'NotAuthenticated')
          failure = error as Error
      }
    }
    this.closed = true
    this.valid = false
    this.#cookie = undefined
    await this.transport.close()
    if (failure)
      log.warn('session', 'logout from %s failed: %s', this.params.url.host, failure.message)
    return failure
  }

  /** Drop the transport without logging out (the persistent store keeps the session). */
  async detach(): Promise<void> {
    this.stopKeepalive()
    if (!this.closed) await this.#runTeardown()
    this.closed = true
    await this.transport.close()
  }

  /** The current UserSession, or null when the cookie is not (or no longer) logged in. */
  async currentSession(options: InvokeOptions = {}): Promise<UserSession | null> {
    const result = await this.invoke<RetrieveResult | undefined>(
      'RetrievePropertiesEx',
      {
        _this: this.content.propertyCollector,
        specSet: [
          {
            propSet: [{ type: 'SessionManager', pathSet: ['currentSession'] }],
            objectSet: [{ obj: this.sessionManager }],
          },
        ],
        options: {},
      },
      options,
    )
    const session = result?.objects[0]?.propSet.find((p) => p.name === 'currentSession')?.val
    const alive = session !== undefined && session !== null && typeof session === 'object'
    this.valid = alive
    if (alive) {
      this.userSession = session as UserSession
      this.lastValidatedAt = Date.now()
    }
    return alive ? (session as UserSession) : null
  }

  /** The server's clock; needs a session, so it doubles as the keepalive ping. */
  async currentTime(options: InvokeOptions = {}): Promise<Date> {
    return this.invoke<Date>(
      'CurrentTime',
      { _this: moref('ServiceInstance', 'ServiceInstance') },
      options,
    )
  }

  /** Ask the server whether a session (by default ours) is active. vCenter only. */
  async sessionIsActive(
    sessionId?: string,
    userName?: string,
    options: InvokeOptions = {},
  ): Promise<boolean> {
    const key = sessionId ?? this.userSession?.key
    const user = userName ?? this.userSession?.userName
    if (!key || !user) return false
    return this.invoke<boolean>(
      'SessionIsActive',
      { _this: this.sessionManager, sessionID: key, userName: user },
      options,
    )
  }

  startKeepalive(intervalMs: number): void {
    this.stopKeepalive()
    this.#stopKeepalive = startKeepalive(this, intervalMs)
  }

  stopKeepalive(): void {
    this.#stopKeepalive?.()
    this.#stopKeepalive = undefined
  }

  toJSON(): Record<string, unknown> {
    return {
      server: this.params.url.host,
      user: this.params.user,
      version: this.version,
      valid: this.valid,
    }
  }

  // --- internal ---

  #unreadable(method: string, statusCode: number, error: unknown): TransportError {
    return new TransportError(
      `${method} on ${this.params.url.host}: unreadable answer: ${(error as Error).message}`,
      {
        failure: 'BAD_RESPONSE',
        url: this.params.url.href,
        method,
        requestSent: true,
        statusCode,
        cause: error,
      },
    )
  }

  #captureCookie(header: string | string[] | undefined): void {
    for (const line of typeof header === 'string' ? [header] : (header ?? [])) {
      const match = /vmware_soap_session=("[^"]*"|[^;]*)/.exec(line)
      if (match?.[1]) this.#cookie = new Secret(match[1])
    }
  }
}
