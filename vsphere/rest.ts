import type { Readable } from 'node:stream'
import { SECRET_BRAND } from '../core/redact.ts'
import { Secret } from '../core/secret.ts'
import type { ServiceInstance } from './service-instance.ts'

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
  /** End the REST session (errors ignored: the SOAP session's end covers it). */
  close(): Promise<void>
}

/** The `vmware-api-session-id` header the vAPI endpoints take. */
const SESSION_HEADER = 'vmware-api-session-id'

/** Log in to the vAPI endpoint of the vCenter behind `si`. */
export async function openVapiSession(
  si: ServiceInstance,
  flavor: VapiFlavor,
  error: VapiErrorFactory,
): Promise<VapiSession> {
  const live = await si.ready()
  const transport = live.transport
  const basic = Buffer.from(`${live.params.user}:${live.params.password.reveal()}`).toString(
    'base64',
  )
  const login = await transport.send({
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
  const token = new Secret(String(flavor.unwrap(JSON.parse(login.body))))

  const send: VapiSession['send'] = async (method, path, what, body) => {
    const response = await transport.send({
      path,
      method,
      headers: {
        [SESSION_HEADER]: token.reveal(),
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body, revealSecrets) }),
    })
    if (response.statusCode >= 300) throw error(what, response.statusCode, response.body)
    return response.body ? flavor.unwrap(JSON.parse(response.body)) : undefined
  }

  return {
    flavor: flavor.flavor,
    send,
    upload: async (url, body, size, what, signal) => {
      const target = new URL(url)
      const response = await transport.send({
        path: target.pathname + target.search,
        method: 'PUT',
        headers: {
          [SESSION_HEADER]: token.reveal(),
          'content-type': 'application/octet-stream',
          'content-length': String(size),
        },
        body,
        signal,
      })
      if (response.statusCode >= 300) throw error(what, response.statusCode, response.body)
    },
    close: async () => {
      await send('DELETE', flavor.sessionPath, 'logging out of the vSphere REST API').catch(
        () => {},
      )
    },
  }
}

/**
 * JSON.stringify replacer: a Secret in a request body is sent as its value (and only there).
 * The holder's own field is checked, as stringify has called the Secret's toJSON already.
 */
function revealSecrets(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  return raw && typeof raw === 'object' && SECRET_BRAND in raw ? (raw as Secret).reveal() : value
}
