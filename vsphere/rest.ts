import type { Readable } from 'node:stream'
import { log } from '../core/log.ts'
import { SECRET_BRAND } from '../core/redact.ts'
import { Secret } from '../core/secret.ts'
import type { ServiceInstance } from './service-instance.ts'
import type { SendOptions } from './transport.ts'

/**
 * A session with the vSphere Automation (vAPI) REST endpoint of the vCenter behind a SOAP
 * session, logged in with the same credentials. Two flavors: `/rest/com/vmware/cis/session`
 * (vCenter 6.5 and later, answers wrapped in `{value}`) and `/api/session` (7.0 and later,
 * plain JSON). Callers (tagging, content libraries) give the flavor and how a refused call
 * becomes their own error; the session token is a Secret, so it never reaches a log.
 */
export interface VapiFlavor {
  flavor: 'rest' | 'api'
  sessionPath: string
  unwrap: (answer: unknown) => unknown
}

export const REST_FLAVOR: VapiFlavor = {
  flavor: 'rest',
  sessionPath: '/rest/com/vmware/cis/session',
  unwrap: (answer) =>
    answer && typeof answer === 'object' && 'value' in answer
      ? (answer as { value: unknown }).value
      : answer,
}

export const API_FLAVOR: VapiFlavor = {
  flavor: 'api',
  sessionPath: '/api/session',
  unwrap: (answer) => answer,
}

/** Turns a refused call (`what` was being done) into the caller's error. */
export type VapiErrorFactory = (what: string, status: number, body: string) => Error

export type VapiMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'

export interface VapiSession {
  readonly flavor: 'rest' | 'api'
  /** A JSON call; the answer unwrapped for the flavor (undefined for an empty body). */
  send(method: VapiMethod, path: string, what: string, body?: unknown): Promise<unknown>
  /**
   * PUT a file's bytes to a transfer URL vCenter gave (an update session's upload endpoint),
   * with the session header, over the same connection (vCenter serves transfers itself).
   */
  upload(
    url: string,
    body: Readable | Uint8Array,
    size: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<void>
  /**
   * Nothing: the REST session belongs to the ServiceInstance and ends with it (kept for
   * callers written when each call had its own session).
   */
  close(): Promise<void>
}

/** The `vmware-api-session-id` header the vAPI endpoints take. */
const SESSION_HEADER = 'vmware-api-session-id'

/**
 * The REST logins of each live ServiceInstance, by session path (one per flavor): the token,
 * or the login in flight that gives it, so that concurrent first uses share one login.
 * Logged out by the instance's teardown (logout, detach, a rebuild's logout of the old one).
 * vsphere/ is loaded once per process (ARCHITECTURE.md), so this map is too.
 */
const logins = new WeakMap<ServiceInstance, Map<string, Promise<Secret>>>()

/**
 * A view of the REST session of the vCenter behind `si`: logged in with the SOAP session's
 * credentials on first use, then kept on the (live) ServiceInstance and shared by every call
 * on it, and logged out when that instance is torn down. A call answered 401 (the REST
 * session expired or was dropped) logs in again once and is sent once more.
 */
export async function openVapiSession(
  si: ServiceInstance,
  flavor: VapiFlavor,
  error: VapiErrorFactory,
): Promise<VapiSession> {
  const live = await si.ready()
  const transport = live.transport

  /** Send with the current token; on 401, once more with a fresh one (when `retry`). */
  const authorized = async (
    request: (token: string) => SendOptions,
    what: string,
    retry: boolean,
  ) => {
    const used = tokenFor(live, flavor, error)
    const response = await transport.send(request((await used).reveal()))
    if (response.statusCode !== 401) return response
    if (!retry)
      throw error(
        `${what} (the vSphere REST session ended during the upload; its bytes were streamed and cannot be sent again, so brine did not retry: run it again)`,
        response.statusCode,
        response.body,
      )
    log.info('session', '%s: the vSphere REST session ended; logging in again', what)
    const fresh = tokenFor(live, flavor, error, used)
    return transport.send(request((await fresh).reveal()))
  }

  const send: VapiSession['send'] = async (method, path, what, body) => {
    const response = await authorized(
      (token) => ({
        path,
        method,
        headers: {
          [SESSION_HEADER]: token,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body, revealSecrets) }),
      }),
      what,
      true,
    )
    if (response.statusCode >= 300) throw error(what, response.statusCode, response.body)
    return response.body ? flavor.unwrap(JSON.parse(response.body)) : undefined
  }

  return {
    flavor: flavor.flavor,
    send,
    upload: async (url, body, size, what, signal) => {
      const target = new URL(url)
      const response = await authorized(
        (token) => ({
          path: target.pathname + target.search,
          method: 'PUT',
          headers: {
            [SESSION_HEADER]: token,
            'content-type': 'application/octet-stream',
            'content-length': String(size),
          },
          body,
          signal,
        }),
        what,
        body instanceof Uint8Array,
      )
      if (response.statusCode >= 300) throw error(what, response.statusCode, response.body)
    },
    // The session belongs to the ServiceInstance: its teardown logs it out.
    close: async () => {},
  }
}

/**
 * The token of `si`'s REST session for `flavor`: the one held, else one login shared by all
 * who ask meanwhile. `stale` is a token the server refused: unless another call has replaced
 * it already, it is dropped and a new login made.
 */
function tokenFor(
  si: ServiceInstance,
  flavor: VapiFlavor,
  error: VapiErrorFactory,
  stale?: Promise<Secret>,
): Promise<Secret> {
  const held = loginsOf(si)
  const current = held.get(flavor.sessionPath)
  if (current && current !== stale) return current
  const fresh = logIn(si, flavor, error)
  held.set(flavor.sessionPath, fresh)
  // A failed login is not kept: the next call tries again.
  fresh.catch(() => {
    if (held.get(flavor.sessionPath) === fresh) held.delete(flavor.sessionPath)
  })
  return fresh
}

function loginsOf(si: ServiceInstance): Map<string, Promise<Secret>> {
  let held = logins.get(si)
  if (!held) {
    const created = new Map<string, Promise<Secret>>()
    held = created
    logins.set(si, created)
    // Also when the SOAP session is gone: the REST session lives on without it.
    si.onTeardown((signal) => logOutAll(si, created, signal), { withoutSession: true })
  }
  return held
}

async function logIn(
  si: ServiceInstance,
  flavor: VapiFlavor,
  error: VapiErrorFactory,
): Promise<Secret> {
  const basic = Buffer.from(`${si.params.user}:${si.params.password.reveal()}`).toString('base64')
  const login = await si.transport.send({
    path: flavor.sessionPath,
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'vmware-use-header-authn': 'true',
      accept: 'application/json',
    },
  })
  if (login.statusCode !== 200 && login.statusCode !== 201)
    throw error('logging in to the vSphere REST API', login.statusCode, login.body)
  log.debug('session', 'logged in to the vSphere REST API of %s', si.params.url.host)
  return new Secret(String(flavor.unwrap(JSON.parse(login.body))))
}

/** Log out every REST session of `si` (errors ignored: the SOAP session's end covers it). */
async function logOutAll(
  si: ServiceInstance,
  held: Map<string, Promise<Secret>>,
  signal: AbortSignal,
): Promise<void> {
  logins.delete(si)
  const sessions = [...held]
  held.clear()
  await Promise.all(
    sessions.map(async ([path, pending]) => {
      const token = await pending.catch(() => undefined)
      if (!token) return
      await si.transport
        .send({
          path,
          method: 'DELETE',
          headers: { [SESSION_HEADER]: token.reveal(), accept: 'application/json' },
          signal,
        })
        .catch(() => {})
    }),
  )
}

/**
 * JSON.stringify replacer: a Secret in a request body is sent as its value (and only there).
 * The holder's own field is checked, as stringify has called the Secret's toJSON already.
 */
function revealSecrets(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  return raw && typeof raw === 'object' && SECRET_BRAND in raw ? (raw as Secret).reveal() : value
}
