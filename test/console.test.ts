import { createHash, randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { formatOutput } from '../cli/output.ts'
import { MemoryConsoleStore } from '../console/memory-store.ts'
import { startConsoleProxy } from '../console/proxy.ts'
import {
  cleanupExpired,
  connectConsole,
  consoleConfig,
  freePorts,
  type IssueRequest,
  issueConsole,
  startCleanup,
  validateToken,
} from '../console/service.ts'
import { MIGRATIONS, SQL, SqliteConsoleStore } from '../console/sqlite-store.ts'
import type { ConsoleStore } from '../console/store.ts'
import { hashesMatch, hashToken, newToken, seal, unseal } from '../console/tokens.ts'
import { redact } from '../core/redact.ts'
import { Issued } from '../core/secret.ts'
import { runNode } from './helpers/cli.ts'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'brine-console-'))
  dirs.push(dir)
  return dir
}

let n = 0
/** A request for a distinct console port of one instance; its target carries a fake vCenter ticket. */
function request(overrides: Partial<IssueRequest> = {}): IssueRequest {
  n++
  return {
    instanceUuid: '50000000-0000-0000-0000-000000000001',
    host: 'esx-01.lab',
    port: 5900 + n,
    mode: 'webmks',
    tls: true,
    target: {
      url: `wss://esx-01.lab:443/ticket/vcticket${n}secret`,
      host: 'esx-01.lab',
      port: 443,
      ticket: `vcticket${n}secret`,
    },
    ttlSeconds: 600,
    proxyUrl: 'wss://console.example.com/console',
    ...overrides,
  }
}

const thrown = (fn: () => unknown): (Error & { code?: string }) | undefined => {
  try {
    fn()
    return undefined
  } catch (error) {
    return error as Error & { code?: string }
  }
}
const codeOf = (fn: () => unknown) => {
  const error = thrown(fn)
  return error && (error.code ?? error.message)
}

describe('console tokens', () => {
  it('are 256-bit random, hashed with SHA-256, compared in constant time, and seal the target', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newToken))
    expect(tokens.size).toBe(1000)
    const token = [...tokens][0] as string
    expect(token).toMatch(/^brc_[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32)
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/)
    expect(hashesMatch(hashToken(token), hashToken(token))).toBe(true)
    expect(hashesMatch(hashToken(token), hashToken(`${token.slice(0, -1)}x`))).toBe(false)
    expect(hashesMatch(hashToken(token), 'abc')).toBe(false)

    const sealed = seal('{"ticket":"t"}', token, 'id-1')
    expect(sealed).not.toContain('ticket')
    expect(unseal(sealed, token, 'id-1')).toBe('{"ticket":"t"}')
    expect(unseal(sealed, newToken(), 'id-1')).toBeUndefined()
    expect(unseal(sealed, token, 'id-2')).toBeUndefined()
  })

  it('are masked in free text, and shown once by the outputter when issued', () => {
    const token = newToken()
    expect(redact(`connect with ${token} now`)).toBe('connect with *** now')
    const result = { token: new Issued(token), access_url: new Issued(`wss://p/c?token=${token}`) }
    for (const out of ['nested', 'json', 'yaml', 'raw'] as const) {
      const text = formatOutput(result, out, false)
      expect(text.split(token)).toHaveLength(3)
    }
    expect(JSON.stringify(result)).not.toContain(token)
    expect(String(result.token)).toBe('[issued]')
  })
})

describe.each(['sqlite', 'memory'] as const)('console store (%s)', (backend) => {
  let store: ConsoleStore
  beforeEach(() => {
    store =
      backend === 'sqlite'
        ? new SqliteConsoleStore(join(tempDir(), 'console.sqlite'))
        : new MemoryConsoleStore()
  })
  afterEach(() => store.close())

  it('issues a token once, validates it, never validates it expired, and forgets it on revoke', () => {
    const now = Date.now()
    const issued = issueConsole(store, request({ ttlSeconds: 60 }), now)
    expect(issued.accessUrl).toBe(`wss://console.example.com/console?token=${issued.token}`)
    expect(issued.record.tokenHash).toBe(hashToken(issued.token))
    expect(JSON.stringify(store.list())).not.toContain(issued.token)

    const record = validateToken(store, issued.token, now + 59_000)
    expect(record).toMatchObject({
      id: issued.record.id,
      port: issued.record.port,
      connected: false,
    })
    expect(codeOf(() => validateToken(store, issued.token, now + 60_000))).toBe(
      'BRINE_CONSOLE_TOKEN',
    )
    expect(codeOf(() => validateToken(store, newToken(), now))).toBe('BRINE_CONSOLE_TOKEN')
    expect(codeOf(() => validateToken(store, 'not-a-token', now))).toBe('BRINE_ARGUMENT')

    expect(store.delete(issued.record.id)).toBe(true)
    expect(store.delete(issued.record.id)).toBe(false)
    expect(codeOf(() => validateToken(store, issued.token, now))).toBe('BRINE_CONSOLE_TOKEN')
  })

  it('accounts for ports: one connection per port, free ports by query, no re-issue while connected', () => {
    const instance = '50000000-0000-0000-0000-0000000000aa'
    const a = issueConsole(store, request({ instanceUuid: instance, port: 902 }))
    const b = issueConsole(store, request({ instanceUuid: instance, port: 443 }))
    expect(freePorts(store, instance, Date.now())).toEqual([
      { host: 'esx-01.lab', port: 443 },
      { host: 'esx-01.lab', port: 902 },
    ])

    const opened = connectConsole(store, a.token)
    expect(opened.target.ticket).toMatch(/^vcticket\d+secret$/)
    expect(codeOf(() => connectConsole(store, a.token))).toBe('BRINE_CONSOLE_BUSY')
    expect(freePorts(store, instance, Date.now())).toEqual([{ host: 'esx-01.lab', port: 443 }])
    // A new console for a connected port is refused, and the connected one keeps working.
    expect(codeOf(() => issueConsole(store, request({ instanceUuid: instance, port: 902 })))).toBe(
      'BRINE_CONSOLE_BUSY',
    )
    expect(validateToken(store, a.token).connected).toBe(true)

    opened.release()
    opened.release()
    expect(freePorts(store, instance, Date.now())).toHaveLength(2)
    // Once free, a new console for the port replaces the old record and its token.
    const again = issueConsole(store, request({ instanceUuid: instance, port: 902 }))
    expect(codeOf(() => validateToken(store, a.token))).toBe('BRINE_CONSOLE_TOKEN')
    expect(validateToken(store, again.token).id).toBe(again.record.id)
    expect(
      store
        .list(instance)
        .map((r) => r.id)
        .sort(),
    ).toEqual([again.record.id, b.record.id].sort())
    // An expired record does not count as a free port and cannot be connected.
    const later = Date.now() + 601_000
    expect(freePorts(store, instance, later)).toEqual([])
    expect(codeOf(() => connectConsole(store, b.token, later))).toBe('BRINE_CONSOLE_TOKEN')
  })

  it('cleans up expired records in bounded batches, and on a timer', async () => {
    const now = Date.now()
    for (let i = 0; i < 1050; i++) {
      issueConsole(
        store,
        request({ port: 1 + (i % 60000), instanceUuid: `i-${i}`, ttlSeconds: 1 }),
        now - 5000,
      )
    }
    const live = issueConsole(store, request({ instanceUuid: 'live' }), now)
    expect(cleanupExpired(store, { now, batch: 500, maxBatches: 1 })).toEqual({
      deleted: 500,
      more: true,
    })
    expect(store.list()).toHaveLength(551)
    expect(cleanupExpired(store, { now, batch: 500, maxBatches: 20 })).toEqual({
      deleted: 550,
      more: false,
    })
    expect(store.list().map((r) => r.id)).toEqual([live.record.id])

    issueConsole(store, request({ instanceUuid: 'short', ttlSeconds: 1 }), now - 2000)
    const timer = startCleanup(store, { intervalMs: 20 })
    try {
      await expect.poll(() => store.list().length, { timeout: 2000 }).toBe(1)
    } finally {
      timer.stop()
    }
  })
})

describe('SQLite console database', () => {
  it('is a 0600 WAL file at data_dir/console-tokens.sqlite holding hashes, never a token or ticket in clear', () => {
    const dataDir = join(tempDir(), 'data')
    const config = consoleConfig({ data_dir: dataDir })
    expect(config).toMatchObject({
      backend: 'sqlite',
      file: join(dataDir, 'console-tokens.sqlite'),
      ttlSeconds: 600,
    })
    const store = new SqliteConsoleStore(config.file)
    const issued = Array.from({ length: 50 }, () => issueConsole(store, request()))
    const bytes = () =>
      Buffer.concat(
        ['', '-wal', '-shm']
          .map((suffix) => `${config.file}${suffix}`)
          .filter(existsSync)
          .map((file) => readFileSync(file)),
      )
    const check = (data: Buffer) => {
      for (const { token, record } of issued) {
        expect(data.includes(token)).toBe(false)
        expect(data.includes(token.slice(4, 24))).toBe(false)
        expect(data.includes(record.tokenHash)).toBe(true)
      }
      expect(data.includes('vcticket')).toBe(false)
      expect(data.includes('ticket/')).toBe(false)
    }
    check(bytes())
    store.close() // checkpoints the WAL into the main file
    check(readFileSync(config.file))
    expect(statSync(config.file).mode & 0o777).toBe(0o600)
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)

    const db = new Database(config.file, { readonly: true })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
      const plan = (sql: string, ...params: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
          .map((row) => row.detail)
          .join('; ')
      expect(plan(SQL.byTokenHash, 'x')).toMatch(
        /SEARCH .*USING INDEX console_connections_token_hash/,
      )
      expect(plan(SQL.freePorts, 'i', 0, 0)).toMatch(
        /SEARCH console_connections USING (COVERING )?INDEX sqlite_autoindex_console_connections_\d \(instance_uuid=\?\)/,
      )
      expect(plan(SQL.deleteExpired, 0, 0, 10)).toMatch(
        /USING (COVERING )?INDEX console_connections_expires_at/,
      )
      expect(plan(SQL.freePorts, 'i', 0, 0)).not.toMatch(/SCAN/)
      const pk = db
        .prepare("SELECT name FROM pragma_index_list('console_connections') WHERE origin = 'pk'")
        .all()
      expect(pk).toHaveLength(1)
      expect(
        db
          .prepare(`SELECT name FROM pragma_index_info('${(pk[0] as { name: string }).name}')`)
          .all(),
      ).toEqual([{ name: 'instance_uuid' }, { name: 'host' }, { name: 'port' }])
    } finally {
      db.close()
    }
  })

  it('migrates once, shared by processes, and refuses a schema newer than it knows', () => {
    const file = join(tempDir(), 'console.sqlite')
    new SqliteConsoleStore(file).close()
    new SqliteConsoleStore(file).close()
    const db = new Database(file)
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`)
    db.close()
    const error = thrown(() => new SqliteConsoleStore(file))
    expect(error?.code).toBe('BRINE_CONSOLE_SCHEMA')
    expect(error?.message).toContain(file)
    expect(error?.message).toMatch(/newer than this brine knows/)
  })

  it('serves a second process: tokens issued here validate there, concurrently, one connection per port', async () => {
    const file = join(tempDir(), 'console.sqlite')
    const store = new SqliteConsoleStore(file)
    const issued = Array.from({ length: 40 }, () => issueConsole(store, request()))
    const input = issued.map((i) => i.token).join('\n')
    const worker = async () => {
      const result = await runNode(
        ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'console-worker.ts'), file, '25'],
        { stdin: input },
      )
      if (result.code !== 0) throw new Error(`worker exit ${result.code}: ${result.stderr}`)
      return JSON.parse(result.stdout) as {
        validated: number
        failures: string[]
        connected: string[]
      }
    }
    // Four processes validate 1,000 times each while this one keeps writing new records.
    const running = Promise.all([worker(), worker(), worker(), worker()])
    let writes = 0
    const writer = setInterval(() => {
      issueConsole(store, request({ instanceUuid: 'writer' }))
      writes++
    }, 2)
    const results = await running.finally(() => clearInterval(writer))
    for (const result of results) {
      expect(result.failures).toEqual([])
      expect(result.validated).toBe(25 * 40)
    }
    // Each port was taken by exactly one of the four processes.
    const taken = results.flatMap((r) => r.connected)
    expect(taken.sort()).toEqual(issued.map((i) => i.record.id).sort())
    expect(writes).toBeGreaterThan(0)
    expect(store.list('writer')).toHaveLength(writes)
    store.close()
  })

  it('reports a corrupted or unreadable file clearly and leaves it, and every record, as it was', () => {
    const dir = tempDir()
    const file = join(dir, 'console.sqlite')
    const store = new SqliteConsoleStore(file)
    const kept = Array.from({ length: 3 }, () => issueConsole(store, request()))
    store.close()
    const original = readFileSync(file)

    // Damaged header: a clear error naming the file and the way out; the file is untouched.
    const damaged = Buffer.from(original)
    damaged.write('NOT AN SQLITE FILE', 0)
    writeFileSync(file, damaged)
    const error = thrown(() => new SqliteConsoleStore(file))
    expect(error?.code).toBe('BRINE_CONSOLE_STORE')
    expect(error?.message).toContain(file)
    expect(error?.message).toMatch(/SQLITE_NOTADB/)
    expect(error?.message).toMatch(/move it aside/)
    expect(readFileSync(file).equals(damaged)).toBe(true)

    // Put back, every record is there and its token validates.
    writeFileSync(file, original)
    const reopened = new SqliteConsoleStore(file)
    for (const { token, record } of kept) expect(validateToken(reopened, token).id).toBe(record.id)

    // One damaged record is reported as such; the others keep working; revoke removes it.
    const [bad, ...good] = kept as [(typeof kept)[0], ...typeof kept]
    const raw = new Database(file)
    raw
      .prepare('UPDATE console_connections SET options = ? WHERE id = ?')
      .run('{broken', bad.record.id)
    raw.close()
    expect(reopened.list()).toContainEqual({
      id: bad.record.id,
      instanceUuid: bad.record.instanceUuid,
      damage: 'options are not JSON',
    })
    expect(codeOf(() => validateToken(reopened, bad.token))).toBe('BRINE_CONSOLE_DAMAGED')
    for (const { token, record } of good) expect(validateToken(reopened, token).id).toBe(record.id)
    expect(reopened.delete(bad.record.id)).toBe(true)
    expect(reopened.list()).toHaveLength(2)
    reopened.close()

    // Unreadable: a directory where the file should be; a data dir that is a file.
    const asDir = join(dir, 'is-a-dir.sqlite')
    mkdirSync(asDir)
    expect(() => new SqliteConsoleStore(asDir)).toThrow(
      /console token database .*is-a-dir.sqlite: cannot open .*Check that/,
    )
    writeFileSync(join(dir, 'plain-file'), '')
    expect(() => new SqliteConsoleStore(join(dir, 'plain-file', 'console.sqlite'))).toThrow(
      /cannot open \(E(NOTDIR|EXIST)\b/,
    )
    // Read-only file (mode 0400; root ignores modes, so only checked for other users).
    if (process.getuid?.() !== 0) {
      chmodSync(file, 0o400)
      expect(() => issueConsole(new SqliteConsoleStore(file), request())).toThrow(
        /console token database/,
      )
    }
  })

  it('rejects bad options with the option named', () => {
    expect(codeOf(() => consoleConfig({ console_tokens_backend: 'redis' }))).toBe('BRINE_CONFIG')
    expect(() => consoleConfig({ console_tokens_backend: 'redis' })).toThrow(
      /console_tokens_backend .*sqlite, memory/,
    )
    expect(() => consoleConfig({ console_token_ttl: -5 })).toThrow(
      /console_token_ttl must be a whole number from 1 to 86400/,
    )
    expect(() => consoleConfig({ console_proxy_url: 'not a url' })).toThrow(/console_proxy_url/)
    expect(
      consoleConfig({ console_tokens_backend: 'memory' }, { BRINE_DATA_DIR: '/d' }),
    ).toMatchObject({
      backend: 'memory',
      file: '/d/console-tokens.sqlite',
    })
  })
})

describe('console proxy', () => {
  const closers: Array<() => Promise<void> | void> = []
  afterAll(async () => {
    for (const close of closers.reverse()) await close()
  })

  /**
   * A WebSocket echo server standing in for an ESXi host's WebMKS. Records the path of every
   * upgrade request that reached it (complete or not) and counts TLS connections.
   */
  async function echoServer(options: { tls?: { cert: string; key: string } } = {}) {
    const paths: string[] = []
    const handshakes = { count: 0 }
    const https = options.tls ? createServer(options.tls) : undefined
    const wss = https
      ? new WebSocketServer({ server: https })
      : new WebSocketServer({ port: 0, host: '127.0.0.1' })
    if (https) await new Promise<void>((r) => https.listen(0, '127.0.0.1', r))
    else await new Promise<void>((r) => wss.once('listening', r))
    https?.on('connection', () => handshakes.count++)
    if (https) https.on('upgrade', (req) => paths.push(req.url ?? ''))
    else wss.on('headers', (_headers, req) => paths.push(req.url ?? ''))
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    })
    const port = ((https ?? wss).address() as { port: number }).port
    closers.push(
      () => new Promise<void>((r) => (https ? https.close(() => r()) : wss.close(() => r()))),
    )
    for (const client of wss.clients) client.terminate()
    return { port, paths, handshakes, wss }
  }

  const open = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url)
      ws.once('open', () => resolve(ws))
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
      ws.once('error', reject)
    })
  const echo = (ws: WebSocket, data: Buffer) =>
    new Promise<Buffer>((resolve) => {
      ws.once('message', (reply: RawData) => resolve(reply as Buffer))
      ws.send(data)
    })

  it('validates the token, takes the port, pipes frames to the target, and frees the port on close', async () => {
    const target = await echoServer()
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({ store, port: 0, cleanupIntervalMs: 60_000 })
    closers.push(() => proxy.close())
    const instance = 'proxy-instance'
    const issued = issueConsole(
      store,
      request({
        instanceUuid: instance,
        host: '127.0.0.1',
        port: target.port,
        tls: false,
        target: {
          url: `ws://127.0.0.1:${target.port}/ticket/vcsecret`,
          host: '127.0.0.1',
          port: target.port,
          ticket: 'vcsecret',
        },
        proxyUrl: proxy.url,
      }),
    )
    const client = await open(issued.accessUrl)
    const payload = Buffer.from([0, 1, 2, 250, 251, 252])
    expect(Buffer.compare(await echo(client, payload), payload)).toBe(0)
    expect(target.paths).toEqual(['/ticket/vcsecret'])
    expect(freePorts(store, instance, Date.now())).toEqual([])

    // A second connection to the connected port is refused; bad and unknown tokens too.
    await expect(open(issued.accessUrl)).rejects.toThrow('HTTP 409')
    await expect(open(`${proxy.url}?token=${newToken()}`)).rejects.toThrow('HTTP 401')
    await expect(open(`${proxy.url}?token=nope`)).rejects.toThrow('HTTP 401')
    await expect(open(proxy.url.replace('/console', '/other'))).rejects.toThrow('HTTP 404')

    client.close()
    await expect
      .poll(() => freePorts(store, instance, Date.now()), { timeout: 2000 })
      .toEqual([{ host: '127.0.0.1', port: target.port }])
    const again = await open(issued.accessUrl)
    expect(Buffer.compare(await echo(again, payload), payload)).toBe(0)
    again.close()

    // An expired token no longer opens the console.
    const expired = issueConsole(
      store,
      request({
        target: { ...request().target, url: `ws://127.0.0.1:${target.port}/x` },
        ttlSeconds: 1,
        proxyUrl: proxy.url,
      }),
      Date.now() - 2000,
    )
    await expect(open(expired.accessUrl)).rejects.toThrow('HTTP 401')
  })

  it('carries 25 MiB of frames both ways intact and in order, text as text and binary as binary', async () => {
    const target = await echoServer()
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({ store, port: 0 })
    closers.push(() => proxy.close())
    const issued = issueConsole(
      store,
      request({
        target: {
          url: `ws://127.0.0.1:${target.port}/t`,
          host: '127.0.0.1',
          port: target.port,
          ticket: 't',
        },
        proxyUrl: proxy.url,
      }),
    )
    const client = await open(issued.accessUrl)
    const frames = Array.from({ length: 400 }, (_, i) => randomBytes(64 * 1024 + i))
    const sent = createHash('sha256')
    const received = createHash('sha256')
    let count = 0
    const done = new Promise<void>((resolve) => {
      client.on('message', (data: RawData, isBinary) => {
        expect(isBinary).toBe(count < frames.length)
        received.update(data as Buffer)
        if (++count === frames.length + 1) resolve()
      })
    })
    for (const frame of frames) {
      sent.update(frame)
      client.send(frame)
    }
    sent.update('the end')
    client.send('the end')
    await done
    expect(received.digest('hex')).toBe(sent.digest('hex'))
    client.close()
  })

  it('sends nothing to a TLS target whose certificate is not the ticket’s thumbprint', async () => {
    const dir = tempDir()
    const certDir = join(import.meta.dirname, 'fixtures', 'console-tls')
    const cert = readFileSync(join(certDir, 'cert.pem'), 'utf8')
    const key = readFileSync(join(certDir, 'key.pem'), 'utf8')
    const target = await echoServer({ tls: { cert, key } })
    const store = new SqliteConsoleStore(join(dir, 'console.sqlite'))
    closers.push(() => store.close())
    const proxy = await startConsoleProxy({ store, port: 0 })
    closers.push(() => proxy.close())
    const issue = (sslThumbprint: string) =>
      issueConsole(
        store,
        request({
          host: '127.0.0.1',
          port: target.port,
          target: {
            url: `wss://127.0.0.1:${target.port}/ticket/vcsecret`,
            host: '127.0.0.1',
            port: target.port,
            ticket: 'vcsecret',
            sslThumbprint,
          },
          proxyUrl: proxy.url,
        }),
      )
    const wrong = issue(`${'AA:'.repeat(19)}AA`)
    await expect(open(wrong.accessUrl)).rejects.toThrow('HTTP 502')
    // The proxy reached the target (one connection) and wrote no request: no ticket left.
    expect(target.handshakes.count).toBe(1)
    await new Promise((r) => setTimeout(r, 50))
    expect(target.paths).toEqual([])
    // The right thumbprint (SHA-1, as tickets carry it) connects.
    const { X509Certificate } = await import('node:crypto')
    const right = issue(new X509Certificate(cert).fingerprint)
    const client = await open(right.accessUrl)
    expect(target.paths).toEqual(['/ticket/vcsecret'])
    client.close()
  })
})

afterAll(() => {
  // Temp dirs are left for the OS to clean: SQLite files may still be open in workers.
  dirs.length = 0
})
