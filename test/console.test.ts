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
import {
  createServer as createNetServer,
  type Socket as NetSocket,
  connect as netConnect,
} from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { parse as parseYaml } from 'yaml'
import { formatOutput } from '../cli/output.ts'
import { MemoryConsoleStore } from '../console/memory-store.ts'
import { PG_MIGRATIONS, PG_SQL, PostgresConsoleStore } from '../console/postgres-store.ts'
import { startConsoleProxy } from '../console/proxy.ts'
import {
  cleanupExpired,
  connectConsole,
  consoleConfig,
  describeConsole,
  freePorts,
  type IssueRequest,
  issueConsole,
  STALE_MS,
  startCleanup,
  validateToken,
} from '../console/service.ts'
import { MIGRATIONS, SQL, SqliteConsoleStore } from '../console/sqlite-store.ts'
import type { ConsoleConnection, ConsoleStore } from '../console/store.ts'
import { hashesMatch, hashToken, newToken, seal, unseal } from '../console/tokens.ts'
import { redact } from '../core/redact.ts'
import { Issued, Secret } from '../core/secret.ts'
import { ticketUrl } from '../modules/_console.ts'
import { runNode } from './helpers/cli.ts'
import { type PostgresCluster, postgresBin, startPostgres } from './helpers/postgres.ts'

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

const thrown = async (fn: () => unknown): Promise<(Error & { code?: string }) | undefined> => {
  try {
    await fn()
    return undefined
  } catch (error) {
    return error as Error & { code?: string }
  }
}
const codeOf = async (fn: () => unknown) => {
  const error = await thrown(fn)
  return error && (error.code ?? error.message)
}

describe('console tokens', () => {
  it('are 256-bit random, hashed with SHA-256, compared in constant time, and seal the target', async () => {
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

  it('are masked in free text, and shown once by the outputter when issued', async () => {
    const token = newToken()
    expect(redact(`connect with ${token} now`)).toBe('connect with *** now')
    const result = { token: new Issued(token), access_url: new Issued(`wss://p/c?token=${token}`) }
    for (const out of ['nested', 'json', 'yaml', 'raw'] as const) {
      const text = formatOutput(result, out, false)
      expect(text.split(token)).toHaveLength(3)
    }
    expect(JSON.stringify(result)).not.toContain(token)
    expect(String(result.token)).toBe('[issued]')

    // Issued values are written as each outputter writes a string, whatever they hold.
    const odd = `a"b'c\\d: yes`
    const values = { odd: new Issued(odd), number: new Issued('123'), bool: new Issued('yes') }
    expect(JSON.parse(formatOutput(values, 'json', false)).local).toEqual({
      odd,
      number: '123',
      bool: 'yes',
    })
    expect(parseYaml(formatOutput(values, 'yaml', false)).local).toEqual({
      odd,
      number: '123',
      bool: 'yes',
    })
    expect(formatOutput(values, 'raw', false)).toBe(
      `{'local': {'odd': 'a"b\\'c\\\\d: yes', 'number': '123', 'bool': 'yes'}}\n`,
    )
  })

  it('build ticket URLs with IPv6 hosts bracketed and the ticket encoded', async () => {
    expect(ticketUrl('esx-01.lab', 443, 'abc')).toBe('wss://esx-01.lab:443/ticket/abc')
    expect(ticketUrl('fd00::1', 443, 'a/b?c')).toBe('wss://[fd00::1]:443/ticket/a%2Fb%3Fc')
    expect(new URL(ticketUrl('fd00::1', 443, 'x')).hostname).toBe('[fd00::1]')
  })
})

describe.each(['sqlite', 'memory', 'postgresql'] as const)('console store (%s)', (backend) => {
  // postgresql: a throwaway cluster for this suite, a new database for each test.
  let cluster: PostgresCluster | undefined
  beforeAll(async () => {
    if (backend === 'postgresql') cluster = await startPostgres()
  }, 120_000)
  afterAll(() => cluster?.stop())
  let store: ConsoleStore
  beforeEach(async () => {
    store =
      backend === 'sqlite'
        ? new SqliteConsoleStore(join(tempDir(), 'console.sqlite'))
        : backend === 'memory'
          ? new MemoryConsoleStore()
          : new PostgresConsoleStore({
              url: await (cluster as PostgresCluster).createDatabase(),
              password: new Secret((cluster as PostgresCluster).password),
            })
    await store.open()
  })
  afterEach(() => store.close())

  it('issues a token once, validates it, never validates it expired, and forgets it on revoke', async () => {
    const now = Date.now()
    const issued = await issueConsole(store, request({ ttlSeconds: 60 }), now)
    expect(issued.accessUrl).toBe(`wss://console.example.com/console?token=${issued.token}`)
    expect(issued.record.tokenHash).toBe(hashToken(issued.token))
    expect(JSON.stringify(await store.list())).not.toContain(issued.token)

    const record = await validateToken(store, issued.token, now + 59_000)
    expect(record).toMatchObject({
      id: issued.record.id,
      port: issued.record.port,
      connected: false,
    })
    expect(await codeOf(() => validateToken(store, issued.token, now + 60_000))).toBe(
      'BRINE_CONSOLE_TOKEN',
    )
    expect(await codeOf(() => validateToken(store, newToken(), now))).toBe('BRINE_CONSOLE_TOKEN')
    expect(await codeOf(() => validateToken(store, 'not-a-token', now))).toBe('BRINE_ARGUMENT')

    expect(await store.delete(issued.record.id)).toBe(true)
    expect(await store.delete(issued.record.id)).toBe(false)
    expect(await codeOf(() => validateToken(store, issued.token, now))).toBe('BRINE_CONSOLE_TOKEN')
  })

  it('accounts for ports: one connection per port, free ports by query, no re-issue while connected', async () => {
    const instance = '50000000-0000-0000-0000-0000000000aa'
    const a = await issueConsole(store, request({ instanceUuid: instance, port: 902 }))
    const b = await issueConsole(store, request({ instanceUuid: instance, port: 443 }))
    expect(await freePorts(store, instance, Date.now())).toEqual([
      { host: 'esx-01.lab', port: 443 },
      { host: 'esx-01.lab', port: 902 },
    ])

    const opened = await connectConsole(store, a.token)
    expect(opened.target.ticket).toMatch(/^vcticket\d+secret$/)
    expect(await codeOf(() => connectConsole(store, a.token))).toBe('BRINE_CONSOLE_BUSY')
    expect(await freePorts(store, instance, Date.now())).toEqual([
      { host: 'esx-01.lab', port: 443 },
    ])
    // A new console for a connected port is refused, and the connected one keeps working.
    expect(
      await codeOf(() => issueConsole(store, request({ instanceUuid: instance, port: 902 }))),
    ).toBe('BRINE_CONSOLE_BUSY')
    expect((await validateToken(store, a.token)).connected).toBe(true)

    await opened.release()
    await opened.release()
    expect(await freePorts(store, instance, Date.now())).toHaveLength(2)
    // Once free, a new console for the port replaces the old record and its token.
    const again = await issueConsole(store, request({ instanceUuid: instance, port: 902 }))
    expect(await codeOf(() => validateToken(store, a.token))).toBe('BRINE_CONSOLE_TOKEN')
    expect((await validateToken(store, again.token)).id).toBe(again.record.id)
    expect((await store.list(instance)).map((r) => r.id).sort()).toEqual(
      [again.record.id, b.record.id].sort(),
    )
    // An expired record does not count as a free port and cannot be connected.
    const later = Date.now() + 601_000
    expect(await freePorts(store, instance, later)).toEqual([])
    expect(await codeOf(() => connectConsole(store, b.token, later))).toBe('BRINE_CONSOLE_TOKEN')
  })

  it('keeps a live session’s record and port, and frees those of a session whose proxy died', async () => {
    const now = Date.now()
    const instance = '50000000-0000-0000-0000-0000000000bb'
    const issued = await issueConsole(
      store,
      request({ instanceUuid: instance, port: 5901, ttlSeconds: 60 }),
      now,
    )
    const opened = await connectConsole(store, issued.token, now)
    // Expired while connected with fresh heartbeats: cleanup spares it, nobody can take it.
    const later = now + 120_000
    expect(await store.heartbeat(issued.record.id, later, now)).toBe(true)
    expect(await cleanupExpired(store, { now: later })).toEqual({ deleted: 0, more: false })
    expect(
      await codeOf(() =>
        issueConsole(store, request({ instanceUuid: instance, port: 5901 }), later),
      ),
    ).toBe('BRINE_CONSOLE_BUSY')
    // console.list shows it connected while its heartbeat is fresh…
    const held = (await store.get(issued.record.id)) as ConsoleConnection
    expect(describeConsole(held, later)).toMatchObject({ connected: true, stale: false })
    // …and stale, not connected, once its heartbeat is a window old (the proxy is gone).
    const silent = later + 61_000
    expect(describeConsole(held, silent)).toMatchObject({ connected: false, stale: true })
    expect(describeConsole(held, later + 5_000, 4_000)).toMatchObject({ stale: true })
    // No heartbeat for a minute: the port is free and cleanup deletes the record.
    expect(await cleanupExpired(store, { now: silent })).toEqual({ deleted: 1, more: false })
    expect(await opened.heartbeat()).toBe(false)

    // A stale connection does not block a new console for its port either.
    const again = await issueConsole(store, request({ instanceUuid: instance, port: 5901 }), silent)
    await connectConsole(store, again.token, silent)
    const fresh = await issueConsole(
      store,
      request({ instanceUuid: instance, port: 5901 }),
      silent + 61_000,
    )
    expect(await freePorts(store, instance, silent + 61_000)).toEqual([
      { host: 'esx-01.lab', port: 5901 },
    ])
    expect((await validateToken(store, fresh.token, silent + 61_000)).connected).toBe(false)
  })

  it('ends a session whose port another proxy took over after it went silent', async () => {
    const now = Date.now()
    const issued = await issueConsole(store, request({ instanceUuid: 'takeover' }), now)
    const first = await connectConsole(store, issued.token, now)
    expect(await first.heartbeat()).toBe(true)
    // Silent for a window: a second proxy takes the port; the first learns it at its next
    // heartbeat (and ends its session), so that no port is ever held twice.
    const second = await connectConsole(store, issued.token, Date.now() + STALE_MS + 60_000)
    expect(await first.heartbeat()).toBe(false)
    expect(await second.heartbeat()).toBe(true)
    expect(await second.heartbeat()).toBe(true)
  })

  it('cleans up expired records in bounded batches, and on a timer', async () => {
    const now = Date.now()
    for (let i = 0; i < 1050; i++) {
      await issueConsole(
        store,
        request({ port: 1 + (i % 60000), instanceUuid: `i-${i}`, ttlSeconds: 1 }),
        now - 5000,
      )
    }
    const live = await issueConsole(store, request({ instanceUuid: 'live' }), now)
    expect(await cleanupExpired(store, { now, batch: 500, maxBatches: 1 })).toEqual({
      deleted: 500,
      more: true,
    })
    expect(await store.list()).toHaveLength(551)
    expect(await cleanupExpired(store, { now, batch: 500, maxBatches: 20 })).toEqual({
      deleted: 550,
      more: false,
    })
    expect((await store.list()).map((r) => r.id)).toEqual([live.record.id])

    await issueConsole(store, request({ instanceUuid: 'short', ttlSeconds: 1 }), now - 2000)
    const timer = startCleanup(store, { intervalMs: 20 })
    try {
      await expect.poll(async () => (await store.list()).length, { timeout: 2000 }).toBe(1)
    } finally {
      timer.stop()
    }
  })
})

describe('SQLite console database', () => {
  it('is a 0600 WAL file at data_dir/console-tokens.sqlite holding hashes, never a token or ticket in clear', async () => {
    const dataDir = join(tempDir(), 'data')
    const config = consoleConfig({ data_dir: dataDir })
    expect(config).toMatchObject({
      backend: 'sqlite',
      file: join(dataDir, 'console-tokens.sqlite'),
      ttlSeconds: 600,
    })
    const store = new SqliteConsoleStore(config.file)
    const issued = await Promise.all(
      Array.from({ length: 50 }, () => issueConsole(store, request())),
    )
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

  it('upgrades a version-1 database in place, keeping its records', async () => {
    const file = join(tempDir(), 'console.sqlite')
    const v1 = new Database(file)
    v1.exec(MIGRATIONS[0] as string)
    v1.pragma('user_version = 1')
    const token = newToken()
    const id = 'record-from-v1'
    v1.prepare(
      `INSERT INTO console_connections (id, instance_uuid, host, port, token_hash, access_url, options, created_at, expires_at)
       VALUES (?, 'i-1', 'esx', 443, ?, 'wss://p/c', ?, ?, ?)`,
    ).run(
      id,
      hashToken(token),
      JSON.stringify({
        tls: true,
        mode: 'webmks',
        internalAccessPath: seal(
          '{"url":"wss://esx/t","host":"esx","port":443,"ticket":"t"}',
          token,
          id,
        ),
      }),
      Date.now(),
      Date.now() + 600_000,
    )
    v1.close()
    const store = new SqliteConsoleStore(file)
    expect((await validateToken(store, token)).id).toBe(id)
    expect((await connectConsole(store, token)).target.ticket).toBe('t')
    store.close()
    const db = new Database(file, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    expect(
      db
        .prepare(
          "SELECT name FROM pragma_table_info('console_connections') WHERE name = 'heartbeat_at'",
        )
        .all(),
    ).toHaveLength(1)
    db.close()
  })

  it('migrates a new file once when processes open it together, and refuses a schema newer than it knows', async () => {
    const file = join(tempDir(), 'console.sqlite')
    const opens = await Promise.all(
      Array.from({ length: 4 }, () =>
        runNode(
          ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'console-worker.ts'), file, '1'],
          {
            stdin: '',
          },
        ),
      ),
    )
    for (const open of opens) expect([open.code, open.stderr]).toEqual([0, ''])
    const check = new Database(file, { readonly: true })
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    check.close()
    const db = new Database(file)
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`)
    db.close()
    const error = await thrown(() => new SqliteConsoleStore(file))
    expect(error?.code).toBe('BRINE_CONSOLE_SCHEMA')
    expect(error?.message).toContain(file)
    expect(error?.message).toMatch(/newer than this brine knows/)
  })

  it('serves a second process: tokens issued here validate there, concurrently, one connection per port', async () => {
    const file = join(tempDir(), 'console.sqlite')
    const store = new SqliteConsoleStore(file)
    const issued = await Promise.all(
      Array.from({ length: 40 }, () => issueConsole(store, request())),
    )
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
    const writer = setInterval(async () => {
      await issueConsole(store, request({ instanceUuid: 'writer' }))
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
    expect(await store.list('writer')).toHaveLength(writes)
    store.close()
  })

  it('reports a corrupted or unreadable file clearly and leaves it, and every record, as it was', async () => {
    const dir = tempDir()
    const file = join(dir, 'console.sqlite')
    const store = new SqliteConsoleStore(file)
    const kept = await Promise.all(Array.from({ length: 3 }, () => issueConsole(store, request())))
    store.close()
    const original = readFileSync(file)

    // Damaged header: a clear error naming the file and the way out; the file is untouched.
    const damaged = Buffer.from(original)
    damaged.write('NOT AN SQLITE FILE', 0)
    writeFileSync(file, damaged)
    const error = await thrown(() => new SqliteConsoleStore(file))
    expect(error?.code).toBe('BRINE_CONSOLE_STORE')
    expect(error?.message).toContain(file)
    expect(error?.message).toMatch(/SQLITE_NOTADB/)
    expect(error?.message).toMatch(/move it aside/)
    expect(readFileSync(file).equals(damaged)).toBe(true)

    // Put back, every record is there and its token validates.
    writeFileSync(file, original)
    const reopened = new SqliteConsoleStore(file)
    for (const { token, record } of kept)
      expect((await validateToken(reopened, token)).id).toBe(record.id)

    // One damaged record is reported as such; the others keep working; revoke removes it.
    const [bad, ...good] = kept as [(typeof kept)[0], ...typeof kept]
    const raw = new Database(file)
    raw
      .prepare('UPDATE console_connections SET options = ? WHERE id = ?')
      .run('{broken', bad.record.id)
    raw.close()
    expect(await reopened.list()).toContainEqual({
      id: bad.record.id,
      instanceUuid: bad.record.instanceUuid,
      damage: 'options are not JSON',
    })
    expect(await codeOf(() => validateToken(reopened, bad.token))).toBe('BRINE_CONSOLE_DAMAGED')
    for (const { token, record } of good)
      expect((await validateToken(reopened, token)).id).toBe(record.id)
    expect(await reopened.delete(bad.record.id)).toBe(true)
    expect(await reopened.list()).toHaveLength(2)
    reopened.close()

    // A -wal left without its database: refused, not truncated by a new database.
    const orphan = join(dir, 'orphan.sqlite')
    writeFileSync(`${orphan}-wal`, 'records not yet checkpointed')
    expect(() => new SqliteConsoleStore(orphan)).toThrow(
      /orphan.sqlite is missing but its .*-wal is there/,
    )
    expect(readFileSync(`${orphan}-wal`, 'utf8')).toBe('records not yet checkpointed')
    expect(existsSync(orphan)).toBe(false)

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

  it('rejects bad options with the option named', async () => {
    expect(await codeOf(() => consoleConfig({ console_tokens_backend: 'redis' }))).toBe(
      'BRINE_CONFIG',
    )
    expect(() => consoleConfig({ console_tokens_backend: 'redis' })).toThrow(
      /console_tokens_backend .*sqlite, postgresql, memory/,
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

describe('PostgreSQL console database', () => {
  let cluster: PostgresCluster
  beforeAll(async () => {
    cluster = await startPostgres()
  }, 120_000)
  afterAll(() => cluster?.stop())
  const stores: ConsoleStore[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
  })
  const storeOn = (url: string, password = cluster.password) => {
    const store = new PostgresConsoleStore({ url, password: new Secret(password) })
    stores.push(store)
    return store
  }
  /** Raw SQL on `url`, as an administrator would type it. */
  const sql = async (url: string, text: string, values: unknown[] = []) => {
    const client = new pg.Client({
      connectionString: url.replace('brine@', `brine:${cluster.password}@`),
    })
    await client.connect()
    try {
      return (await client.query(text, values)).rows
    } finally {
      await client.end()
    }
  }

  it('holds hashes, never a token or ticket in clear, and finds them through its indexes', async () => {
    const url = await cluster.createDatabase()
    const store = storeOn(url)
    const issued = await Promise.all(
      Array.from({ length: 20 }, () => issueConsole(store, request())),
    )
    const rows = JSON.stringify(
      await sql(url, 'SELECT row_to_json(c)::text AS row FROM brine_console_connections c'),
    )
    for (const { token, record } of issued) {
      expect(rows.includes(token.slice(4, 24))).toBe(false)
      expect(rows.includes(record.tokenHash)).toBe(true)
    }
    expect(rows).not.toContain('vcticket')
    expect(rows).not.toContain('ticket/')
    expect(await sql(url, 'SELECT version FROM brine_console_schema')).toEqual([
      { version: PG_MIGRATIONS.length },
    ])
    const plan = async (text: string, values: unknown[]) => {
      const client = new pg.Client({
        connectionString: url.replace('brine@', `brine:${cluster.password}@`),
      })
      await client.connect()
      try {
        // A few rows: the planner would rather scan; forbid it to see which index serves.
        await client.query('SET enable_seqscan = off')
        const explained = await client.query({ text: `EXPLAIN ${text}`, values })
        return explained.rows.map((r) => r['QUERY PLAN']).join('; ')
      } finally {
        await client.end()
      }
    }
    expect(await plan(PG_SQL.byTokenHash, ['x'])).toMatch(
      /Index (Only )?Scan (using|on) brine_console_connections_token_hash/,
    )
    expect(await plan(PG_SQL.freePorts, ['i', 0, 0])).toMatch(
      /Index (Only )?Scan (using|on) brine_console_connections_pkey/,
    )
    expect(await plan(PG_SQL.deleteExpired, [0, 0, 10])).toMatch(
      /Index (Only )?Scan (using|on) brine_console_connections_expires_at/,
    )
  })

  it('migrates once when several proxies open it together; refuses a newer schema or tables it did not make, and leaves them untouched', async () => {
    const url = await cluster.createDatabase()
    // Six stores (six pools, as six proxies would hold) open a new database at once.
    const racing = Array.from({ length: 6 }, () => storeOn(url))
    await Promise.all(racing.map((store) => store.open()))
    expect(await sql(url, 'SELECT version FROM brine_console_schema')).toEqual([
      { version: PG_MIGRATIONS.length },
    ])
    const kept = await issueConsole(racing[0] as ConsoleStore, request())

    await sql(url, 'UPDATE brine_console_schema SET version = $1', [PG_MIGRATIONS.length + 1])
    const newer = await thrown(() => storeOn(url).open())
    expect(newer?.code).toBe('BRINE_CONSOLE_SCHEMA')
    expect(newer?.message).toContain(url)
    expect(newer?.message).toMatch(/newer than this brine knows .*Upgrade brine/)
    expect(await sql(url, 'SELECT version FROM brine_console_schema')).toEqual([
      { version: PG_MIGRATIONS.length + 1 },
    ])
    expect(await sql(url, 'SELECT id FROM brine_console_connections')).toEqual([
      { id: kept.record.id },
    ])

    const foreign = await cluster.createDatabase()
    await sql(foreign, 'CREATE TABLE brine_console_connections (note TEXT)')
    await sql(foreign, "INSERT INTO brine_console_connections VALUES ('theirs')")
    const error = await thrown(() => storeOn(foreign).open())
    expect(error?.code).toBe('BRINE_CONSOLE_SCHEMA')
    expect(error?.message).toMatch(/holds tables brine did not make/)
    expect(await sql(foreign, 'SELECT note FROM brine_console_connections')).toEqual([
      { note: 'theirs' },
    ])
    expect(await sql(foreign, "SELECT to_regclass('brine_console_schema') AS t")).toEqual([
      { t: null },
    ])
  })

  it('is one store for every proxy: tokens issued on one validate on all, revokes are seen by all, and racing connects take each port once', async () => {
    const url = await cluster.createDatabase()
    const [a, b, c, d] = [storeOn(url), storeOn(url), storeOn(url), storeOn(url)] as const
    const issued = await Promise.all(Array.from({ length: 50 }, () => issueConsole(a, request())))
    for (const store of [b, c, d])
      for (const { token, record } of issued)
        expect((await validateToken(store, token)).id).toBe(record.id)
    // Every store tries every port at once: each is taken exactly once.
    const attempts = await Promise.all(
      [a, b, c, d].flatMap((store) =>
        issued.map((i) =>
          connectConsole(store, i.token).then(
            (opened) => opened.record.id,
            (error: { code?: string }) => error.code,
          ),
        ),
      ),
    )
    const taken = attempts.filter((r) => r !== 'BRINE_CONSOLE_BUSY')
    expect(taken.sort()).toEqual(issued.map((i) => i.record.id).sort())
    expect(attempts.filter((r) => r === 'BRINE_CONSOLE_BUSY')).toHaveLength(150)
    // A revoke through one is seen by the others at once.
    const [first] = issued as [(typeof issued)[0]]
    expect(await d.delete(first.record.id)).toBe(true)
    expect(await codeOf(() => validateToken(b, first.token))).toBe('BRINE_CONSOLE_TOKEN')
  })

  it('says what is wrong with the server, naming it and never the password', async () => {
    const url = await cluster.createDatabase()
    const wrong = 'not-the-Password-42'
    const refused = await thrown(() => storeOn(url, wrong).open())
    expect(refused?.code).toBe('BRINE_CONSOLE_STORE')
    expect(refused?.message).toContain(url)
    expect(refused?.message).toMatch(
      /28P01.*refused brine's credentials: set console_tokens_password/,
    )
    // A password inside the URL works, and stays out of the location and every message.
    const inUrl = new PostgresConsoleStore({
      url: url.replace('brine@', `brine:${encodeURIComponent(cluster.password)}@`),
    })
    stores.push(inUrl)
    await inUrl.open()
    expect(inUrl.location).toBe(url)
    const badInUrl = new PostgresConsoleStore({ url: url.replace('brine@', `brine:${wrong}@`) })
    stores.push(badInUrl)
    const hidden = await thrown(() => badInUrl.open())
    expect(hidden?.message).toContain(url)
    expect(hidden?.message).not.toContain(wrong)
    expect(redact(`said ${wrong}`)).toBe('said ***')

    const missing = cluster.url('no_such_database')
    expect((await thrown(() => storeOn(missing).open()))?.message).toMatch(
      /no_such_database: cannot open \(3D000.*The database does not exist: create it/,
    )
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    const down = `postgresql://brine@127.0.0.1:${closedPort}/brine`
    expect((await thrown(() => storeOn(down).open()))?.message).toMatch(
      new RegExp(
        `${down}: cannot open \\(ECONNREFUSED.*not reachable: check that PostgreSQL runs there`,
      ),
    )
    // A store that failed to open tries again on the next call (the server may be back).
    const retry = storeOn(url)
    expect(await validateToken(retry, newToken()).catch((e) => e.code)).toBe('BRINE_CONSOLE_TOKEN')
  })

  it('needs PostgreSQL installed for these tests, and says how to install it rather than skip', () => {
    expect(() => postgresBin({}, join(tempDir(), 'no-postgresql'))).toThrow(
      /PostgreSQL is not installed .*sudo apt-get install -y postgresql/,
    )
    expect(postgresBin({ PG_BIN: '/opt/pg/bin' })).toBe('/opt/pg/bin')
  })

  it('is chosen with console_tokens_backend postgresql and a URL; the password is a secret', () => {
    expect(() => consoleConfig({ console_tokens_backend: 'postgresql' }, {})).toThrow(
      /needs console_tokens_url/,
    )
    expect(() =>
      consoleConfig({ console_tokens_backend: 'postgresql', console_tokens_url: 'mysql://x/y' }),
    ).not.toThrow() // checked when the store is made, with the fix
    expect(() => new PostgresConsoleStore({ url: 'mysql://x/y' })).toThrow(
      /console_tokens_url must be a PostgreSQL URL/,
    )
    const fromEnv = consoleConfig(
      { console_tokens_backend: 'postgresql', console_heartbeat_window: 5 },
      {
        BRINE_CONSOLE_TOKENS_URL: 'postgresql://brine@db1:5432/brine',
        BRINE_CONSOLE_TOKENS_PASSWORD: 'env-Secret-77',
      },
    )
    expect(fromEnv).toMatchObject({
      backend: 'postgresql',
      staleMs: 5000,
      postgres: { url: 'postgresql://brine@db1:5432/brine', poolSize: 10 },
    })
    expect(fromEnv.postgres?.password?.reveal()).toBe('env-Secret-77')
    expect(JSON.stringify(fromEnv)).not.toContain('env-Secret-77')
    expect(redact('auth env-Secret-77 failed')).toBe('auth *** failed')
    // A numeric password as YAML reads it, from the config file or pillar.
    const numeric = consoleConfig({
      console_tokens_backend: 'postgresql',
      console_tokens_url: 'postgresql://brine@db1/brine',
      console_tokens_password: 80551234,
    })
    expect(numeric.postgres?.password?.reveal()).toBe('80551234')
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
  async function echoServer(
    options: { tls?: { cert: string; key: string }; stallMs?: number } = {},
  ) {
    const paths: string[] = []
    const connections = { count: 0 }
    const https = options.tls ? createServer(options.tls) : undefined
    const wss = https
      ? new WebSocketServer({ server: https })
      : new WebSocketServer({ port: 0, host: '127.0.0.1' })
    if (https) await new Promise<void>((r) => https.listen(0, '127.0.0.1', r))
    else await new Promise<void>((r) => wss.once('listening', r))
    https?.on('connection', () => connections.count++)
    if (https) https.on('upgrade', (req) => paths.push(req.url ?? ''))
    else wss.on('headers', (_headers, req) => paths.push(req.url ?? ''))
    wss.on('connection', (ws) => {
      // stallMs: a slow console, that stops reading for a while after the first frame.
      let stalled = false
      ws.on('message', (data, isBinary) => {
        ws.send(data, { binary: isBinary })
        if (options.stallMs && !stalled) {
          stalled = true
          ws.pause()
          setTimeout(() => ws.resume(), options.stallMs)
        }
      })
    })
    const port = ((https ?? wss).address() as { port: number }).port
    closers.push(
      () => new Promise<void>((r) => (https ? https.close(() => r()) : wss.close(() => r()))),
    )
    for (const client of wss.clients) client.terminate()
    return { port, paths, connections, wss }
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
    const issued = await issueConsole(
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
    expect(await freePorts(store, instance, Date.now())).toEqual([])

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
    const expired = await issueConsole(
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

  it('carries 25 MiB of frames both ways intact and in order through a stalling target, text as text and binary as binary', async () => {
    const target = await echoServer({ stallMs: 300 })
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({ store, port: 0 })
    closers.push(() => proxy.close())
    const issued = await issueConsole(
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

  it('frees the port on every failed path and ends a session whose record is revoked', async () => {
    const store = new MemoryConsoleStore()
    const proxy = await startConsoleProxy({ store, port: 0, heartbeatIntervalMs: 50 })
    closers.push(() => proxy.close())
    // A target that accepts connections and never answers.
    const hanging = createNetServer()
    const held: NetSocket[] = []
    let heldClosed = 0
    hanging.on('connection', (socket) => {
      held.push(socket)
      socket.resume()
      socket.on('close', () => heldClosed++)
    })
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => hanging.close(() => r())))
    const hangingPort = (hanging.address() as { port: number }).port
    const console = (instance: string, targetPort: number) =>
      issueConsole(
        store,
        request({
          instanceUuid: instance,
          host: '127.0.0.1',
          port: targetPort,
          target: {
            url: `ws://127.0.0.1:${targetPort}/t`,
            host: '127.0.0.1',
            port: targetPort,
            ticket: 't',
          },
          proxyUrl: proxy.url,
        }),
      )
    const isFree = async (instance: string) =>
      (await freePorts(store, instance, Date.now())).length === 1

    // Not a WebSocket handshake: 400, the port untouched, the target never contacted.
    const bad = await console('bad-handshake', hangingPort)
    const status = await new Promise<string>((resolve) => {
      const url = new URL(bad.accessUrl)
      const raw = netConnect(Number(url.port), '127.0.0.1', () =>
        raw.write(
          `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
        ),
      )
      raw.once('data', (chunk) => {
        resolve(chunk.toString().split('\r\n')[0] as string)
        raw.destroy()
      })
    })
    expect(status).toBe('HTTP/1.1 400 Bad Request')
    expect(await isFree('bad-handshake')).toBe(true)
    expect(held).toHaveLength(0)

    // The client leaves while the target is still being opened: the port is freed and the
    // half-open target connection closed.
    const left = await console('client-left', hangingPort)
    const leaving = new WebSocket(left.accessUrl)
    leaving.on('error', () => {})
    await expect.poll(() => held.length).toBe(1)
    expect(await isFree('client-left')).toBe(false)
    leaving.terminate()
    await expect.poll(() => isFree('client-left')).toBe(true)
    await expect.poll(() => heldClosed).toBe(1)

    // Nothing listens at the target: 502, port freed.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    const refused = await console('refused', closedPort)
    await expect(open(refused.accessUrl)).rejects.toThrow('HTTP 502')
    expect(await isFree('refused')).toBe(true)

    // Revoked while connected: the next heartbeat ends the session (1008).
    const target = await echoServer()
    const live = await console('revoked', target.port)
    const client = await open(live.accessUrl)
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)))
    expect(await store.delete(live.record.id)).toBe(true)
    expect(await closed).toBe(1008)
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
          instanceUuid: `tls-${sslThumbprint}`,
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
    const { X509Certificate } = await import('node:crypto')
    const x509 = new X509Certificate(cert)
    // A malformed thumbprint is refused before any connection (never a fallback to no pin).
    await expect(open((await issue('not-a-thumbprint')).accessUrl)).rejects.toThrow('HTTP 502')
    expect(target.connections.count).toBe(0)
    // Wrong SHA-1 and SHA-256 pins: the proxy reaches the target and writes no request.
    await expect(open((await issue(`${'AA:'.repeat(19)}AA`)).accessUrl)).rejects.toThrow('HTTP 502')
    await expect(open((await issue(`${'AB:'.repeat(31)}AB`)).accessUrl)).rejects.toThrow('HTTP 502')
    expect(target.connections.count).toBe(2)
    await new Promise((r) => setTimeout(r, 50))
    expect(target.paths).toEqual([])
    // The right thumbprints, SHA-1 (as tickets carry it) and SHA-256, connect.
    for (const pin of [x509.fingerprint, x509.fingerprint256]) {
      const client = await open((await issue(pin)).accessUrl)
      client.close()
    }
    expect(target.paths).toEqual(['/ticket/vcsecret', '/ticket/vcsecret'])
  })
})

afterAll(() => {
  // Temp dirs are left for the OS to clean: SQLite files may still be open in workers.
  dirs.length = 0
})
