// One vAPI REST session per vSphere session (issue 16: content libraries "with the session
// brine already has"). Every HTTP request brine sends is recorded (as test/dry-run-audit.test.ts
// does) and the REST logins (POST of the session path) and logouts (DELETE of it) are counted:
// a state run of several tag and content library states logs in once and out once; concurrent
// first uses share the login; a REST session dropped behind brine's back costs one new login;
// the runtime's close ends it on vcsim (asked with the token itself, on a transport of the
// test's own). vSphere Automation API reference, cis/session: POST creates a session and
// answers its token, DELETE ends it, `~action=get` answers 401 for a token that is not (or no
// longer) logged in.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { openVapiSession, REST_FLAVOR } from '../vsphere/rest.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { type SendOptions, Transport } from '../vsphere/transport.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

const fixtures = join(import.meta.dirname, 'fixtures')
const SESSION_PATH = '/rest/com/vmware/cis/session'

let vcsim: Vcsim
/** The test's own client: its requests are not brine's and are not recorded. */
let own: Transport
/** brine's REST session requests, and the tokens vcsim answered to its logins. */
const sessionCalls: string[] = []
const tokens: string[] = []
let all = 0

beforeAll(async () => {
  vcsim = await startVcsim()
  own = new Transport({
    url: new URL(vcsim.url),
    ca: readFileSync(vcsim.caFile, 'utf8'),
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    userAgent: 'rest-session-test',
  })
  const send = Transport.prototype.send
  vi.spyOn(Transport.prototype, 'send').mockImplementation(async function (
    this: Transport,
    request: SendOptions,
  ) {
    if (this === own) return send.call(this, request)
    all++
    const session = request.path === SESSION_PATH
    if (session) sessionCalls.push(request.method)
    const response = await send.call(this, request)
    if (session && request.method === 'POST' && response.statusCode === 200)
      tokens.push(String(JSON.parse(response.body).value))
    return response
  })
})
afterAll(async () => {
  vi.restoreAllMocks()
  await own?.close()
  await vcsim?.stop()
})

const count = (method: string) => sessionCalls.filter((m) => m === method).length

/** Is `token` a live REST session on vcsim? Asked with the token itself. */
async function alive(token: string): Promise<boolean> {
  const response = await own.send({
    path: `${SESSION_PATH}?~action=get`,
    method: 'POST',
    headers: { 'vmware-api-session-id': token, accept: 'application/json' },
  })
  if (response.statusCode !== 200 && response.statusCode !== 401)
    throw new Error(`session get: HTTP ${response.statusCode}`)
  return response.statusCode === 200
}

/** End a REST session behind brine's back, as vCenter does when it expires or is dropped. */
async function dropBehindBrinesBack(token: string): Promise<void> {
  const response = await own.send({
    path: SESSION_PATH,
    method: 'DELETE',
    headers: { 'vmware-api-session-id': token },
  })
  expect(response.statusCode).toBe(200)
  expect(await alive(token)).toBe(false)
}

async function apply(rt: Runtime, sls: string): Promise<StateReturn[]> {
  rt.context = {}
  const result = (await rt.call('state.sls', { args: [sls], kwargs: { test: false } })) as
    | Record<string, StateReturn>
    | string[]
  if (Array.isArray(result)) throw new Error(result.join('\n'))
  return Object.values(result)
}

describe('a state run with its runtime', () => {
  let rt: Runtime
  const lines: string[] = []
  let restoreSink: () => void = () => {}
  beforeAll(() => {
    sessionCalls.length = 0
    tokens.length = 0
    rt = vmwareRuntime(vcsim, 'rest-session', [join(fixtures, 'rest-session')])
    rt.pillar = { ovf: join(fixtures, 'ovf', 'tiny.ovf') }
    restoreSink = setLogSink((line) => lines.push(line))
    setLogLevel('trace')
  })
  afterAll(async () => {
    restoreSink()
    setLogLevel('warning')
    await rt?.close()
  })

  it('six tag and content library states make one REST login and no logout before the end', async () => {
    const returns = await apply(rt, 'tags-and-library')
    expect(returns.map((r) => [r.name, r.result])).toEqual([
      ['rest-env', true],
      ['rest-prod', true],
      ['rest-staging', true],
      ['rest-images', true],
      ['rest-tiny', true],
      ['DC0_H0_VM0', true],
    ])
    expect(returns.every((r) => Object.keys(r.changes).length > 0)).toBe(true)
    expect(count('POST')).toBe(1)
    expect(count('DELETE')).toBe(0)

    // Applied again: nothing to change, and still the same REST session.
    const again = await apply(rt, 'tags-and-library')
    expect(again.map((r) => [r.name, r.result, r.changes])).toEqual(
      returns.map((r) => [r.name, true, {}]),
    )
    expect(sessionCalls).toEqual(['POST'])
    expect(tokens).toHaveLength(1)
    expect(await alive(tokens[0]!)).toBe(true)
  })

  it('a REST session dropped behind its back costs one login, and the call succeeds', async () => {
    await dropBehindBrinesBack(tokens[0]!)
    const categories = (await rt.call('vmware_tag.list_categories', {})) as string[]
    expect(categories).toHaveLength(1)
    expect(sessionCalls).toEqual(['POST', 'POST'])
    // The next calls (tags and libraries) use the new session.
    const libraries = (await rt.call('vmware_content_library.list_libraries', {})) as unknown[]
    expect(libraries).toHaveLength(1)
    await rt.call('vmware_tag.list_tags', { kwargs: { category: 'rest-env' } })
    expect(sessionCalls).toEqual(['POST', 'POST'])
    expect(await alive(tokens[1]!)).toBe(true)
  })

  it("the runtime's close logs the REST session out, once", async () => {
    await rt.close()
    expect(sessionCalls).toEqual(['POST', 'POST', 'DELETE'])
    expect(await alive(tokens[1]!)).toBe(false)
  })

  it('no token reaches the trace log', () => {
    expect(lines.some((l) => l.includes('[soap]'))).toBe(true)
    expect(lines.some((l) => l.includes('logged in to the vSphere REST API'))).toBe(true)
    expect(lines.some((l) => l.includes('the vSphere REST session ended'))).toBe(true)
    for (const token of tokens) expect(lines.filter((l) => l.includes(token))).toEqual([])
  })
})

describe('concurrent first uses', () => {
  it('three first calls at once (tags and libraries) share one SOAP and one REST login', async () => {
    sessionCalls.length = 0
    tokens.length = 0
    const rt = vmwareRuntime(vcsim, 'rest-session-concurrent')
    try {
      // The runtime's very first calls: they share one vSphere session provider (one SOAP
      // login) as well as one REST login.
      const [categories, libraries, tags] = (await Promise.all([
        rt.call('vmware_tag.list_categories', {}),
        rt.call('vmware_content_library.list_libraries', {}),
        rt.call('vmware_tag.list_tags', {}),
      ])) as unknown[][]
      // Whatever earlier tests left on vcsim: the three calls answered.
      for (const listing of [categories, libraries, tags]) expect(Array.isArray(listing)).toBe(true)
      expect(sessionCalls).toEqual(['POST'])
      expect(rt.vsphereLogins).toBe(1)
    } finally {
      await rt.close()
    }
    expect(sessionCalls).toEqual(['POST', 'DELETE'])
    expect(await alive(tokens[0]!)).toBe(false)
  })
})

describe('on a ServiceInstance of its own', () => {
  let si: ServiceInstance
  beforeAll(async () => {
    si = await ServiceInstance.connect(
      resolveConnectionParams({
        server: vcsim.url,
        user: 'rest-session-si',
        password: 'pw',
        caFile: vcsim.caFile,
      }),
    )
    await si.login()
    sessionCalls.length = 0
    tokens.length = 0
  })
  afterEach(() => {
    sessionCalls.length = 0
    tokens.length = 0
  })
  afterAll(async () => {
    await si?.logout()
  })

  const failure = (what: string, status: number, body: string) =>
    Object.assign(new Error(`${what}: HTTP ${status}`), { status, body })

  it('opening a client logs in on first use only; two clients share the session', async () => {
    const a = await openVapiSession(si, REST_FLAVOR, failure)
    const b = await openVapiSession(si, REST_FLAVOR, failure)
    expect(sessionCalls).toEqual([])
    await Promise.all([
      a.send('GET', '/rest/com/vmware/cis/tagging/category', 'listing'),
      b.send('GET', '/rest/com/vmware/content/library', 'listing'),
    ])
    await a.close()
    await b.send('GET', '/rest/com/vmware/content/library', 'listing')
    expect(sessionCalls).toEqual(['POST'])
  })

  it('a streamed upload refused with 401 is not sent again, and says why', async () => {
    const vapi = await openVapiSession(si, REST_FLAVOR, failure)
    const held = await currentToken(vapi)
    // The login of the previous test is shared: no new one was made.
    expect(sessionCalls).toEqual([])
    await dropBehindBrinesBack(held)
    const before = all
    const error = await vapi
      .upload(
        `${new URL(vcsim.url).origin}/rest/com/vmware/content/library`,
        Readable.from([Buffer.from('disk bytes')]),
        10,
        'uploading disk.vmdk',
      )
      .then(
        () => undefined,
        (e: unknown) => e as Error & { status?: number },
      )
    expect(error?.message).toMatch(/^uploading disk\.vmdk \(the vSphere REST session ended/)
    expect(error?.message).toContain('cannot be sent again')
    expect(error?.status).toBe(401)
    expect(all - before).toBe(1)
    expect(sessionCalls).toEqual([])
    // The next JSON call logs in again (once) and succeeds.
    await vapi.send('GET', '/rest/com/vmware/content/library', 'listing')
    expect(sessionCalls).toEqual(['POST'])
  })

  it('logout of the ServiceInstance ends its REST session', async () => {
    const vapi = await openVapiSession(si, REST_FLAVOR, failure)
    const token = await currentToken(vapi)
    expect(await alive(token)).toBe(true)
    await si.logout()
    expect(sessionCalls).toEqual(['DELETE'])
    expect(await alive(token)).toBe(false)
  })
})

/**
 * The token `vapi` sends, read off the wire of one call (the test's recorder sees the header;
 * brine hands it out nowhere else).
 */
async function currentToken(vapi: Awaited<ReturnType<typeof openVapiSession>>): Promise<string> {
  let seen: string | undefined
  const spy = vi.mocked(Transport.prototype.send)
  const recorder = spy.getMockImplementation()!
  spy.mockImplementation(function (this: Transport, request: SendOptions) {
    seen ??= request.headers?.['vmware-api-session-id']
    return recorder.call(this, request)
  })
  try {
    await vapi.send('GET', '/rest/com/vmware/content/library', 'listing')
  } finally {
    spy.mockImplementation(recorder)
  }
  return seen!
}

describe('a SOAP session replaced by the ReconnectProxy', () => {
  it('takes its REST session with it; the new one logs in its own', async () => {
    sessionCalls.length = 0
    tokens.length = 0
    const rt = vmwareRuntime(vcsim, 'rest-session-rebuild')
    try {
      expect(Array.isArray(await rt.call('vmware_tag.list_categories', {}))).toBe(true)
      expect(sessionCalls).toEqual(['POST'])
      // vcsim restarted: every session, SOAP and REST, is gone (as after a vCenter reboot).
      await vcsim.restart()
      expect(await rt.call('vmware_datacenter.list', {})).toEqual(['DC0'])
      expect(rt.vsphereLogins).toBe(2)
      // The old instance's teardown tried to log its REST session out (vcsim had lost it).
      expect(sessionCalls).toEqual(['POST', 'DELETE'])
      expect(Array.isArray(await rt.call('vmware_tag.list_categories', {}))).toBe(true)
      expect(sessionCalls).toEqual(['POST', 'DELETE', 'POST'])
      expect(tokens[1]).not.toBe(tokens[0])
      expect(await alive(tokens[1]!)).toBe(true)
    } finally {
      await rt.close()
    }
    expect(sessionCalls).toEqual(['POST', 'DELETE', 'POST', 'DELETE'])
    expect(await alive(tokens[1]!)).toBe(false)
  })
})

describe('--session-store (the SOAP session kept between processes)', () => {
  it('keeps the SOAP session, not the REST one: each runtime logs in to REST once and out at its end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-rest-store-'))
    chmodSync(dir, 0o700)
    const saved = process.env.BRINE_SESSION_DIR
    process.env.BRINE_SESSION_DIR = dir
    sessionCalls.length = 0
    tokens.length = 0
    try {
      const logins: number[] = []
      for (const _ of [1, 2]) {
        const rt = vmwareRuntime(vcsim, 'rest-session-store', [], { session_store: true })
        try {
          expect(Array.isArray(await rt.call('vmware_tag.list_categories', {}))).toBe(true)
          logins.push(rt.vsphereLogins)
        } finally {
          await rt.close()
        }
      }
      // One SOAP login, reused by the second runtime from the store.
      expect(logins).toEqual([1, 0])
      expect(sessionCalls).toEqual(['POST', 'DELETE', 'POST', 'DELETE'])
      for (const token of tokens) expect(await alive(token)).toBe(false)
      const stored = readdirSync(dir, { recursive: true }).map(String)
      expect(stored.length).toBeGreaterThan(0)
      for (const file of stored.map((f) => join(dir, f)).filter((f) => statSync(f).isFile()))
        for (const token of tokens) expect(readFileSync(file, 'utf8')).not.toContain(token)
    } finally {
      if (saved === undefined) delete process.env.BRINE_SESSION_DIR
      else process.env.BRINE_SESSION_DIR = saved
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
