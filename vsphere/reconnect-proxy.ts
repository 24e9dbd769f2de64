// A lazy, self-healing ServiceInstance (the TypeScript counterpart of the lazy_object_proxy
// that saltext-vmware's design notes proposed and never built).
//
// - Creating it costs nothing; the first call resolves credentials and checks a session out
//   of the session cache (so concurrent first calls share one login).
// - On NotAuthenticated, a refused connection or a connect timeout (the server did not run
//   the call), it rebuilds the session and retries once. A connection dropped after the
//   request was sent is retried only for read-only methods; for anything that changes
//   state the error says the outcome is unknown (no duplicate VM or datacenter).
// - InvalidLogin is never retried. Rebuilds back off and give up after `maxRebuilds`.
// - An aborted call (its AbortSignal aborted, or a TransportError it caused) is never retried
//   and never rebuilds or logs in: on SIGINT the host logs its sessions out, and a retry
//   would log in again behind its back and leave a session on vCenter.
// - It is `instanceof ServiceInstance`; synchronous fields (`content`, `version`, …) need
//   a connection: `await si.ready()` first (the vSphere helpers do).
import { log } from '../core/log.ts'
import type { ResolvedConnectionParams } from './connection-params.ts'
import { InvalidLoginError, NotAuthenticatedError, TransportError, VsphereError } from './errors.ts'
import { type InvokeOptions, ServiceInstance } from './service-instance.ts'
import type { SessionCache } from './session-cache.ts'

export interface ReconnectProxyOptions {
  /** Resolves connection parameters on first use (throws for missing credentials). */
  resolveParams: () => ResolvedConnectionParams
  cache: SessionCache
  /** Attempts to get a working session after a failure. Default 3. */
  maxRebuilds?: number
  /** First back-off between rebuild attempts, doubled each time. Default 250 ms. */
  backoffMs?: number
}

/** Methods that only read: safe to send again when the first answer was lost. */
const READ_ONLY =
  /^(Retrieve|Find|Query|Browse|Fetch|Check|Validate|Current|SessionIsActive|WaitForUpdates|CreateContainerView|CreateListView|CreatePropertyCollector|DestroyPropertyCollector|DestroyView|CreateFilter)/

export class OutcomeUnknownError extends VsphereError {
  static override readonly kind: string = 'OutcomeUnknownError'
  readonly method: string
  constructor(method: string, cause: unknown) {
    super(
      `${method}: the connection dropped after the request was sent, so vCenter may or may not have done it. brine does not retry calls that change something; check the inventory before trying again.`,
      { code: 'BRINE_VIM_OUTCOME_UNKNOWN', cause },
    )
    this.method = method
  }
}

export class NotConnectedError extends VsphereError {
  static override readonly kind: string = 'NotConnectedError'
  constructor(property: string) {
    super(
      `serviceInstance.${property} is known once connected: await serviceInstance.ready() first.`,
      {
        code: 'BRINE_VIM_NOT_CONNECTED',
      },
    )
  }
}

const kProxyState = Symbol('brine.reconnectProxy')

interface ProxyState {
  options: ReconnectProxyOptions
  params: ResolvedConnectionParams | undefined
  current: ServiceInstance | undefined
  rebuilds: number
}

export function createReconnectProxy(options: ReconnectProxyOptions): ServiceInstance {
  const state: ProxyState = { options, params: undefined, current: undefined, rebuilds: 0 }
  // A plain target: instanceof comes from the getPrototypeOf trap, and heap snapshots show
  // exactly one object named ServiceInstance per live session, not one per proxy.
  const target = {} as ServiceInstance

  const methods: Record<string, (...args: never[]) => unknown> = {
    ready: () => acquire(state),
    invoke: (method: string, args: Record<string, unknown>, invokeOptions?: InvokeOptions) =>
      withRetry(state, method, invokeOptions?.signal, (si) =>
        si.invoke(method, args, invokeOptions),
      ),
    currentTime: (invokeOptions?: InvokeOptions) =>
      withRetry(state, 'CurrentTime', invokeOptions?.signal, (si) => si.currentTime(invokeOptions)),
    currentSession: (invokeOptions?: InvokeOptions) =>
      withRetry(state, 'RetrievePropertiesEx', invokeOptions?.signal, (si) =>
        si.currentSession(invokeOptions),
      ),
    sessionIsActive: (...args: Parameters<ServiceInstance['sessionIsActive']>) =>
      withRetry(state, 'SessionIsActive', args[2]?.signal, (si) => si.sessionIsActive(...args)),
    login: () => acquire(state).then((si) => si.userSession),
    logout: async () => {
      const si = state.current
      state.current = undefined
      return si ? si.logout() : undefined
    },
    toJSON: () => ({
      proxy: true,
      connected: state.current !== undefined,
      ...(state.current?.toJSON() ?? {}),
    }),
  }

  return new Proxy(target, {
    getPrototypeOf: () => ServiceInstance.prototype,
    get(_target, property, _receiver) {
      if (property === kProxyState) return state
      if (typeof property === 'string' && property in methods) return methods[property]
      if (property === 'then') return undefined // not a thenable
      const si = state.current
      if (!si) {
        if (typeof property === 'symbol') return undefined
        throw new NotConnectedError(property)
      }
      const value = Reflect.get(si, property, si)
      return typeof value === 'function' ? value.bind(si) : value
    },
    set(_target, property, value) {
      if (!state.current) throw new NotConnectedError(String(property))
      return Reflect.set(state.current, property, value)
    },
  })
}

/** True for a proxy made by `createReconnectProxy`. */
export function isReconnectProxy(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[kProxyState] !== undefined
  )
}

/** The live session behind a proxy, if it has connected (tests, diagnostics). */
export function proxyTarget(value: ServiceInstance): ServiceInstance | undefined {
  return (value as unknown as Record<symbol, ProxyState | undefined>)[kProxyState]?.current
}

// --- internal ---

async function acquire(state: ProxyState): Promise<ServiceInstance> {
  const current = state.current
  if (current && !current.closed && current.valid) return current
  state.params ??= state.options.resolveParams()
  const si = await state.options.cache.checkout(state.params)
  state.current = si
  return si
}

async function withRetry<T>(
  state: ProxyState,
  method: string,
  signal: AbortSignal | undefined,
  call: (si: ServiceInstance) => Promise<T>,
): Promise<T> {
  // Aborted before it started: no checkout, so no login either.
  signal?.throwIfAborted()
  const si = await acquire(state)
  try {
    return await call(si)
  } catch (error) {
    if (isAbort(error, signal)) throw error
    if (!shouldRebuild(error, method)) {
      if (
        error instanceof TransportError &&
        error.requestSent &&
        !READ_ONLY.test(method) &&
        isConnectionLoss(error)
      ) {
        si.valid = false
        throw new OutcomeUnknownError(method, error)
      }
      throw error
    }
    log.info(
      'session',
      '%s failed (%s); rebuilding the session and retrying once',
      method,
      (error as Error).message,
    )
    const fresh = await rebuild(state, si, signal)
    signal?.throwIfAborted()
    return call(fresh)
  }
}

/**
 * The call was aborted by its caller: the signal is aborted, or the transport says so. An
 * abort whose reason is not an AbortError (the CLI aborts with its own error on SIGINT)
 * reaches us as a TransportError of another kind caused by that reason.
 */
export function isAbort(error: unknown, signal?: AbortSignal | undefined): boolean {
  if (signal?.aborted) return true
  if (!(error instanceof TransportError)) return false
  if (error.failure === 'ABORTED') return true
  return signal !== undefined && error.cause !== undefined && error.cause === signal.reason
}

function shouldRebuild(error: unknown, method: string): boolean {
  if (error instanceof NotAuthenticatedError) return true
  if (!(error instanceof TransportError)) return false
  if (!error.requestSent)
    return ['CONNECTION_REFUSED', 'CONNECT_TIMEOUT', 'NETWORK', 'CLOSED'].includes(error.failure)
  // A server that took the request and never answered is not asked again: that would hold the
  // caller for twice request_timeout. A dropped connection is (for calls that only read).
  return isConnectionLoss(error) && error.failure !== 'REQUEST_TIMEOUT' && READ_ONLY.test(method)
}

function isConnectionLoss(error: TransportError): boolean {
  return (
    error.failure === 'CONNECTION_DROPPED' ||
    error.failure === 'REQUEST_TIMEOUT' ||
    error.failure === 'NETWORK'
  )
}

async function rebuild(
  state: ProxyState,
  failed: ServiceInstance,
  signal?: AbortSignal | undefined,
): Promise<ServiceInstance> {
  failed.valid = false
  state.current = undefined
  const max = state.options.maxRebuilds ?? 3
  let delay = state.options.backoffMs ?? 250
  let lastError: unknown
  for (let attempt = 1; attempt <= max; attempt++) {
    signal?.throwIfAborted()
    try {
      const si = await acquire(state)
      state.rebuilds++
      return si
    } catch (error) {
      if (error instanceof InvalidLoginError || !(error instanceof TransportError)) throw error
      lastError = error
      log.info('session', 'reconnect attempt %d of %d failed: %s', attempt, max, error.message)
      if (attempt < max) await sleep(delay, signal)
      delay *= 2
    }
  }
  throw new VsphereError(
    `cannot reconnect to ${state.params?.url.host ?? 'vCenter'} after ${max} attempts: ${(lastError as Error).message}`,
    { code: 'BRINE_VIM_RECONNECT_FAILED', cause: lastError },
  )
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      if (signal?.aborted) reject(signal.reason)
      else resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
