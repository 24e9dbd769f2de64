// Issue 13 item 13 (and the console part of item 12): the console proxy's message size limit,
// its bounded logging of refused requests, its 1001 close on SIGTERM, and missing PEM files.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import {
  createServer as createNetServer,
  type Socket as NetSocket,
  connect as netConnect,
} from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { MemoryConsoleStore } from '../console/memory-store.ts'
import { DEFAULT_MAX_MESSAGE_BYTES, startConsoleProxy } from '../console/proxy.ts'
import { freePorts, issueConsole } from '../console/service.ts'
import { SqliteConsoleStore } from '../console/sqlite-store.ts'
import type { ConsoleStore } from '../console/store.ts'
import { newToken } from '../console/tokens.ts'
import { setLogSink } from '../core/log.ts'
import { type RunOptions, runNode } from './helpers/cli.ts'

const closers: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

const tempDir = () => mkdtempSync(join(tmpdir(), 'brine-console-limits-'))

/** A WebMKS stand-in: echoes every message; `big <n>` answers n bytes. */
async function target() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((r) => wss.once('listening', r))
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const big = /^big (\d+)$/.exec(isBinary ? '' : String(data))
      ws.send(big ? Buffer.alloc(Number(big[1]), 7) : data, { binary: isBinary || !!big })
    })
  })
  closers.push(() => {
    for (const client of wss.clients) client.terminate()
    return new Promise<void>((r) => wss.close(() => r()))
  })
  return (wss.address() as { port: number }).port
}

let n = 0
/** A console of `instance` whose target is the echo server at `port`. */
function issue(store: ConsoleStore, instance: string, port: number, proxyUrl: string) {
  n++
  return issueConsole(store, {
    instanceUuid: instance,
    host: '127.0.0.1',
    port,
    mode: 'webmks',
    tls: false,
    target: {
      url: `ws://127.0.0.1:${port}/ticket/limits${n}`,
      host: '127.0.0.1',
      port,
      ticket: `limits${n}`,
    },
    ttlSeconds: 600,
    proxyUrl,
  })
}

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
const closeCode = (ws: WebSocket) =>
  new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
const reply = (ws: WebSocket, data: Buffer | string) =>
  new Promise<Buffer>((resolve) => {
    ws.once('message', (message: RawData) => resolve(message as Buffer))
    ws.send(data)
  })

describe('console proxy limits', () => {
  it('closes a session with 1009 on a message over console_proxy_max_message, from either side, and frees its port', async () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(32 * 1024 * 1024)
    const limit = 64 * 1024
    const port = await target()
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({ store, port: 0, maxMessageBytes: limit })
    closers.push(() => proxy.close())
    const isFree = async (instance: string) =>
      (await freePorts(store, instance, Date.now())).length === 1

    // A message of exactly the limit passes, both ways; one byte more from the client: 1009.
    const client = await open((await issue(store, 'too-big-client', port, proxy.url)).accessUrl)
    expect((await reply(client, Buffer.alloc(limit, 1))).length).toBe(limit)
    expect((await reply(client, `big ${limit}`)).length).toBe(limit)
    expect(await isFree('too-big-client')).toBe(false)
    const closed = closeCode(client)
    client.send(Buffer.alloc(limit + 1, 2))
    expect(await closed).toBe(1009)
    await expect.poll(() => isFree('too-big-client')).toBe(true)

    // The target sends one byte more than the limit: the client is told 1009 too.
    const other = await open((await issue(store, 'too-big-target', port, proxy.url)).accessUrl)
    const otherClosed = closeCode(other)
    let received = 0
    other.on('message', () => received++)
    other.send(`big ${limit + 1}`)
    expect(await otherClosed).toBe(1009)
    expect(received).toBe(0)
    await expect.poll(() => isFree('too-big-target')).toBe(true)

    // The port opens again.
    const again = await open((await issue(store, 'too-big-client', port, proxy.url)).accessUrl)
    expect(String(await reply(again, 'still here'))).toBe('still here')
    again.close()
  })

  it('refuses a client that sends more than a message while its target opens, freeing the port', async () => {
    const limit = 4096
    // A target that accepts connections and never answers.
    const hanging = createNetServer()
    const held: NetSocket[] = []
    hanging.on('connection', (socket) => {
      held.push(socket)
      socket.resume()
    })
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r))
    closers.push(() => {
      for (const socket of held) socket.destroy()
      return new Promise<void>((r) => hanging.close(() => r()))
    })
    const port = (hanging.address() as { port: number }).port
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({ store, port: 0, maxMessageBytes: limit })
    closers.push(() => proxy.close())
    const url = new URL((await issue(store, 'early', port, proxy.url)).accessUrl)
    const raw = netConnect(Number(url.port), '127.0.0.1', () =>
      raw.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    )
    raw.on('error', () => {})
    const status = new Promise<string>((resolve) =>
      raw.once('data', (chunk) => resolve(chunk.toString().split('\r\n')[0] as string)),
    )
    await expect.poll(() => held.length).toBe(1)
    expect(await freePorts(store, 'early', Date.now())).toEqual([])
    raw.write(Buffer.alloc(limit + 15))
    expect(await status).toBe('HTTP/1.1 413 Content Too Large')
    raw.destroy()
    await expect.poll(() => freePorts(store, 'early', Date.now())).toHaveLength(1)
    await expect.poll(() => held[0]?.destroyed || held[0]?.readableEnded).toBe(true)
  })

  it('logs a burst of refused requests in a bounded number of lines, with a "… K more refused" summary', async () => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    closers.push(restore)
    let clock = 1_000_000
    const port = await target()
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({
      store,
      port: 0,
      refusalLog: { lines: 5, intervalMs: 60_000, now: () => clock },
    })
    closers.push(() => proxy.close())
    const held = await open((await issue(store, 'flooded', port, proxy.url)).accessUrl)
    const busy = await issue(store, 'flooded-busy', port, proxy.url)
    const busyClient = await open(busy.accessUrl)
    const status = (url: string) =>
      open(url).then(
        () => 101,
        (error: Error) => Number(/HTTP (\d+)/.exec(error.message)?.[1]),
      )
    const badHandshake = () =>
      new Promise<string>((resolve) => {
        const url = new URL(proxy.url)
        const raw = netConnect(Number(url.port), '127.0.0.1', () =>
          raw.write(
            `GET ${url.pathname}?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
          ),
        )
        raw.once('data', (chunk) => {
          resolve(chunk.toString().split('\r\n')[0] as string)
          raw.destroy()
        })
      })
    const refusedLines = () => lines.filter((line) => / refused /.test(line))

    // 40 guesses, 5 requests for a busy port and 5 bad handshakes: 5 lines are written.
    for (let i = 0; i < 40; i++) expect(await status(`${proxy.url}?token=${newToken()}`)).toBe(401)
    for (let i = 0; i < 5; i++) expect(await status(busy.accessUrl)).toBe(409)
    for (let i = 0; i < 5; i++) expect(await badHandshake()).toBe('HTTP/1.1 400 Bad Request')
    expect(refusedLines()).toHaveLength(5)
    expect(lines.join('\n')).not.toMatch(/more refused/)

    // The next interval: the count of the last one, then lines again.
    clock += 60_000
    expect(await status(`${proxy.url}?token=${newToken()}`)).toBe(401)
    expect(refusedLines()).toHaveLength(7)
    expect(refusedLines()[5]).toMatch(/\[warning\] \[console\] … 45 more refused/)
    expect(refusedLines()[6]).toMatch(/refused 127\.0\.0\.1:\d+: console token is not valid/)

    // Closing the proxy reports what the interval held back.
    for (let i = 0; i < 10; i++) expect(await status(`${proxy.url}?token=${newToken()}`)).toBe(401)
    expect(refusedLines()).toHaveLength(11)
    const heldClosed = closeCode(held)
    await proxy.close()
    expect(refusedLines()).toHaveLength(12)
    expect(refusedLines()[11]).toMatch(/… 6 more refused/)
    expect(lines.join('\n')).not.toMatch(/brc_/)
    // …and closes every client with 1001 (going away), freeing the ports.
    expect(await heldClosed).toBe(1001)
    expect(busyClient.readyState).toBe(WebSocket.CLOSED)
    expect(await freePorts(store, 'flooded', Date.now())).toHaveLength(1)
    expect(await freePorts(store, 'flooded-busy', Date.now())).toHaveLength(1)
  })
})

describe('brine console serve', () => {
  // From the sources: a dist/ bundle in the checkout may predate them.
  const cliArgs = (args: string[]) => [
    '--import',
    pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
    join(import.meta.dirname, 'helpers', 'cli-source.ts'),
    ...args,
  ]
  const env = (dataDir: string) => ({
    NO_COLOR: '1',
    BRINE_CONFIG: undefined,
    BRINE_DEBUG: undefined,
    BRINE_DATA_DIR: dataDir,
  })
  const runCli = (args: string[], options: RunOptions) => runNode(cliArgs(args), options)

  it('sends every connected client a 1001 close frame on SIGTERM, frees the ports and exits 0', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const store = new SqliteConsoleStore(join(dataDir, 'console-tokens.sqlite'))
    closers.push(() => store.close())
    const port = await target()
    const serve: ChildProcess = spawn(
      process.execPath,
      cliArgs(['console', 'serve', '--listen', '127.0.0.1:0']),
      {
        cwd: dir,
        env: Object.fromEntries(
          Object.entries({ ...process.env, ...env(dataDir) }).filter(([, v]) => v !== undefined),
        ) as NodeJS.ProcessEnv,
      },
    )
    closers.push(() => {
      if (serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL')
    })
    const exited = new Promise<number | null>((resolve) => serve.once('close', resolve))
    let stderr = ''
    serve.stderr?.on('data', (chunk) => {
      stderr += chunk
    })
    await expect
      .poll(() => /listening on (\S+)/.exec(stderr)?.[1], { timeout: 30_000 })
      .toBeTruthy()
    const url = /listening on (\S+)/.exec(stderr)?.[1] as string

    const clients = await Promise.all(
      ['sigterm-1', 'sigterm-2'].map(async (instance) => {
        const client = await open(`${url}?token=${(await issue(store, instance, port, url)).token}`)
        expect(String(await reply(client, `hello ${instance}`))).toBe(`hello ${instance}`)
        return client
      }),
    )
    expect(await freePorts(store, 'sigterm-1', Date.now())).toEqual([])
    const codes = Promise.all(clients.map(closeCode))
    serve.kill('SIGTERM')
    expect(await codes).toEqual([1001, 1001])
    expect(await exited).toBe(0)
    for (const instance of ['sigterm-1', 'sigterm-2'])
      expect(await freePorts(store, instance, Date.now())).toEqual([{ host: '127.0.0.1', port }])
  }, 60_000)

  it('refuses a missing console_proxy_cert or key file, or a bad console_proxy_max_message, with exit 2 naming the option', async () => {
    const dir = tempDir()
    const missing = join(dir, 'nope', 'cert.pem')
    const key = join(dir, 'key.pem')
    writeFileSync(key, 'not a key\n')
    const config = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const run = (file: string) =>
      runCli(['console', 'serve', '--listen', '127.0.0.1:0', '--config', file], {
        cwd: dir,
        env: env(join(dir, 'data')),
      })

    const noCert = await run(
      config('no-cert.yaml', `console_proxy_cert: ${missing}\nconsole_proxy_key: ${key}\n`),
    )
    expect(noCert.code).toBe(2)
    expect(noCert.stderr).toBe(
      `Error: option console_proxy_cert: cannot read ${missing}: no such file.\n`,
    )

    const noKey = await run(
      config('no-key.yaml', `console_proxy_cert: ${key}\nconsole_proxy_key: ${dir}\n`),
    )
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toBe(
      `Error: option console_proxy_key: cannot read ${dir}: a directory, not a file.\n`,
    )

    const badPem = await run(
      config('bad-pem.yaml', `console_proxy_cert: ${key}\nconsole_proxy_key: ${key}\n`),
    )
    expect(badPem.code).toBe(2)
    expect(badPem.stderr).toMatch(
      /^Error: console_proxy_cert \S+ and console_proxy_key \S+ are not a PEM certificate and its key: /,
    )

    const badLimit = await run(config('limit.yaml', 'console_proxy_max_message: 10\n'))
    expect(badLimit.code).toBe(2)
    expect(badLimit.stderr).toMatch(/option console_proxy_max_message must be a whole number/)
  }, 60_000)
})
