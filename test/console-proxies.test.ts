// Issue 17: several `brine console serve` processes on one PostgreSQL store, as a site runs
// several proxies behind a load balancer (as OpenStack runs several nova-novncproxy hosts over
// one database). Three proxy processes, a throwaway cluster, an echo server as the console.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { PG_MIGRATIONS, PostgresConsoleStore } from '../console/postgres-store.ts'
import { describeConsole, issueConsole } from '../console/service.ts'
import type { ConsoleConnection } from '../console/store.ts'
import { Secret } from '../core/secret.ts'
import { runNode } from './helpers/cli.ts'
import { type PostgresCluster, startPostgres } from './helpers/postgres.ts'

/**
 * The heartbeat window the proxies run with: seconds, not a minute, so that the killed proxy's
 * port is free soon; long enough that a proxy busy with hundreds of connects still renews its
 * heartbeats within it on a loaded two-core machine.
 */
const WINDOW_S = 10

const closers: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

const cliArgs = (args: string[]) => [
  '--import',
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
  join(import.meta.dirname, 'helpers', 'cli-source.ts'),
  ...args,
]

interface Proxy {
  url: string
  process: ChildProcess
  stderr: () => string
}

let cluster: PostgresCluster
let store: PostgresConsoleStore
let configFile: string
let databaseUrl: string
let dir: string
const proxies: Proxy[] = []
/** The echo server standing in for the consoles; counts the tickets it was opened with. */
const opened: string[] = []
let targetPort = 0

async function startProxy(): Promise<Proxy> {
  const child = spawn(
    process.execPath,
    cliArgs(['console', 'serve', '--listen', '127.0.0.1:0', '--config', configFile]),
    {
      cwd: dir,
      env: Object.fromEntries(
        Object.entries({ ...process.env, NO_COLOR: '1', BRINE_DEBUG: undefined }).filter(
          ([, v]) => v !== undefined,
        ),
      ) as NodeJS.ProcessEnv,
    },
  )
  closers.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stderr = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
      const listening = /listening on (\S+)/.exec(stderr)
      if (listening) resolve(listening[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`console serve exited ${code}: ${stderr}`)))
  })
  return { url, process: child, stderr: () => stderr }
}

let n = 0
function issue(instance: string) {
  n++
  return issueConsole(
    store,
    {
      instanceUuid: instance,
      host: '127.0.0.1',
      port: targetPort,
      mode: 'webmks',
      tls: false,
      target: {
        url: `ws://127.0.0.1:${targetPort}/ticket/proxies${n}`,
        host: '127.0.0.1',
        port: targetPort,
        ticket: `proxies${n}`,
      },
      ttlSeconds: 600,
      proxyUrl: 'ws://console.example.com/console',
    },
    Date.now(),
    WINDOW_S * 1000,
  )
}

/** Connect; answers the open socket, or the HTTP status of the refusal. */
const connect = (url: string) =>
  new Promise<WebSocket | number>((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('error', reject)
  })
const echo = (ws: WebSocket, text: string) =>
  new Promise<string>((resolve) => {
    ws.once('message', (reply: RawData) => resolve(String(reply)))
    ws.send(text)
  })
const closeCode = (ws: WebSocket) =>
  new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))

beforeAll(async () => {
  cluster = await startPostgres()
  closers.push(() => cluster.stop())
  const url = await cluster.createDatabase()
  databaseUrl = url
  store = new PostgresConsoleStore({ url, password: new Secret(cluster.password) })
  closers.push(() => store.close())

  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((r) => wss.once('listening', r))
  wss.on('headers', (_headers, req) => opened.push(req.url ?? ''))
  wss.on('connection', (ws) =>
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
  )
  closers.push(() => {
    for (const client of wss.clients) client.terminate()
    return new Promise<void>((r) => wss.close(() => r()))
  })
  targetPort = (wss.address() as { port: number }).port

  dir = mkdtempSync(join(tmpdir(), 'brine-console-proxies-'))
  configFile = join(dir, 'brine.yaml')
  writeFileSync(
    configFile,
    [
      'console_tokens_backend: postgresql',
      `console_tokens_url: ${url}`,
      `console_tokens_password: ${cluster.password}`,
      `console_heartbeat_window: ${WINDOW_S}`,
      'console_cleanup_interval: 1',
      '',
    ].join('\n'),
  )
  // Three proxies start together on a new database: they migrate it once, between them.
  proxies.push(...(await Promise.all([startProxy(), startProxy(), startProxy()])))
  await store.open()
}, 180_000)

describe('three console proxies on one PostgreSQL store', () => {
  it('migrated the new database once, starting together', async () => {
    const client = new pg.Client({
      connectionString: databaseUrl.replace('brine@', `brine:${cluster.password}@`),
    })
    await client.connect()
    try {
      expect((await client.query('SELECT version FROM brine_console_schema')).rows).toEqual([
        { version: PG_MIGRATIONS.length },
      ])
    } finally {
      await client.end()
    }
    for (const proxy of proxies) expect(proxy.process.exitCode).toBeNull()
  })

  it('1,000 concurrent connects spread over them take each port exactly once', async () => {
    const issued = await Promise.all(Array.from({ length: 100 }, (_, i) => issue(`many-${i}`)))
    const before = opened.length
    // Ten connects per token, to proxy (i mod 3): all 1,000 at once.
    const attempts = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const { token } = issued[i % 100] as (typeof issued)[0]
        const proxy = proxies[i % 3] as Proxy
        return connect(`${proxy.url}?token=${token}`).then((result) => ({ token, result, proxy }))
      }),
    )
    const open = attempts.filter((a) => a.result instanceof WebSocket)
    const refused = attempts.filter((a) => !(a.result instanceof WebSocket))
    expect(refused.map((a) => a.result)).toEqual(Array(900).fill(409))
    expect(open.map((a) => a.token).sort()).toEqual(issued.map((i) => i.token).sort())
    // Spread: every proxy holds some of the sessions.
    for (const proxy of proxies) expect(open.some((a) => a.proxy === proxy)).toBe(true)
    // The consoles were opened once each, with their own tickets, and carry frames.
    expect(opened.slice(before).sort()).toEqual(
      Array.from({ length: 100 }, (_, i) => `/ticket/proxies${i + 1}`).sort(),
    )
    for (const a of open.slice(0, 10))
      expect(await echo(a.result as WebSocket, `hello ${a.token.slice(-6)}`)).toBe(
        `hello ${a.token.slice(-6)}`,
      )
    for (const a of open) (a.result as WebSocket).close()
    await expect
      .poll(
        async () => (await store.list()).filter((r) => (r as ConsoleConnection).connected).length,
        {
          timeout: 30_000,
        },
      )
      .toBe(0)
  }, 120_000)

  it('serves a token through each proxy in turn; a revoke from another host ends the session', async () => {
    const issued = await issue('each')
    for (const proxy of proxies) {
      const ws = await connect(`${proxy.url}?token=${issued.token}`)
      expect(ws).toBeInstanceOf(WebSocket)
      expect(await echo(ws as WebSocket, 'via one')).toBe('via one')
      const closed = closeCode(ws as WebSocket)
      ;(ws as WebSocket).close()
      await closed
      // Free again once that proxy has let go of it.
      await expect
        .poll(async () => ((await store.get(issued.record.id)) as ConsoleConnection).connected)
        .toBe(false)
    }
    // `brine call console.revoke` in another process: the proxy holding the session ends it
    // (1008) at its next heartbeat.
    const ws = (await connect(`${proxies[1]?.url}?token=${issued.token}`)) as WebSocket
    const closed = closeCode(ws)
    const revoke = await runNode(
      cliArgs(['call', 'console.revoke', issued.record.id, '--config', configFile]),
      { cwd: dir, env: { NO_COLOR: '1' } },
    )
    expect([revoke.code, revoke.stderr]).toEqual([0, ''])
    expect(await closed).toBe(1008)
  }, 60_000)

  it('frees the port of a killed proxy after the heartbeat window, and lists it as stale meanwhile', async () => {
    const issued = await issue('killed')
    const [doomed, survivor] = proxies as [Proxy, Proxy]
    const ws = (await connect(`${doomed.url}?token=${issued.token}`)) as WebSocket
    expect(await echo(ws, 'before')).toBe('before')
    ws.on('error', () => {})
    expect(await connect(`${survivor.url}?token=${issued.token}`)).toBe(409)

    const gone = new Promise((resolve) => doomed.process.once('exit', resolve))
    doomed.process.kill('SIGKILL')
    await gone
    // The record still says connected; once its heartbeat is a window old it lists as stale…
    await expect
      .poll(
        async () =>
          describeConsole(
            (await store.get(issued.record.id)) as ConsoleConnection,
            Date.now(),
            WINDOW_S * 1000,
          ),
        { timeout: 60_000, interval: 250 },
      )
      .toMatchObject({ connected: false, stale: true })
    // `brine call console.list` (another process, as an operator would run it) says so too.
    const listed = await runNode(
      cliArgs(['call', 'console.list', 'killed', '--config', configFile, '--out', 'json']),
      { cwd: dir, env: { NO_COLOR: '1' } },
    )
    expect([listed.code, listed.stderr]).toEqual([0, ''])
    expect(JSON.parse(listed.stdout).local).toEqual([
      expect.objectContaining({ id: issued.record.id, connected: false, stale: true }),
    ])
    // …and another proxy takes the port.
    const again = await connect(`${survivor.url}?token=${issued.token}`)
    expect(again).toBeInstanceOf(WebSocket)
    expect(await echo(again as WebSocket, 'after')).toBe('after')
    ;(again as WebSocket).close()
    // The password never reached a proxy's output.
    for (const proxy of proxies) expect(proxy.stderr()).not.toContain(cluster.password)
  }, 90_000)
})
