// Console records: what validation, issue and cleanup cost on the SQLite file and on a
// PostgreSQL server (a throwaway local cluster, over TCP) against the in-memory store, and
// what the WebSocket proxy adds to a round trip. In-process.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket, WebSocketServer } from 'ws'
import { MemoryConsoleStore } from '../console/memory-store.ts'
import { PostgresConsoleStore } from '../console/postgres-store.ts'
import { startConsoleProxy } from '../console/proxy.ts'
import {
  cleanupExpired,
  type IssueRequest,
  issueConsole,
  validateToken,
} from '../console/service.ts'
import { SqliteConsoleStore } from '../console/sqlite-store.ts'
import type { ConsoleStore } from '../console/store.ts'
import { Secret } from '../core/secret.ts'
import { startPostgres } from '../test/helpers/postgres.ts'

type Row = (label: string, ms: number, note?: string) => void

const RECORDS = 10_000
const VALIDATIONS = 20_000
const EXPIRED = 100_000

let port = 0
const request = (instanceUuid: string, ttlSeconds = 600): IssueRequest => ({
  instanceUuid,
  host: 'esx-01.lab',
  port: 1 + (port++ % 65535),
  mode: 'webmks',
  tls: true,
  target: { url: 'wss://esx-01.lab/ticket/t', host: 'esx-01.lab', port: 443, ticket: 't' },
  ttlSeconds,
  proxyUrl: 'wss://console.example.com/console',
})

async function perOp(ops: number, fn: () => Promise<void>): Promise<number> {
  const started = performance.now()
  await fn()
  return ((performance.now() - started) * 1000) / ops
}

export async function benchConsole(row: Row): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-console-'))
  const cluster = await startPostgres()
  const postgres = new PostgresConsoleStore({
    url: await cluster.createDatabase('brine_bench'),
    password: new Secret(cluster.password),
  })
  const stores: Array<[string, ConsoleStore]> = [
    ['sqlite', new SqliteConsoleStore(join(dir, 'console.sqlite'))],
    ['postgresql', postgres],
    ['memory', new MemoryConsoleStore()],
  ]
  const results: Record<string, { issue: number; validate: number; concurrent: number }> = {}
  for (const [name, store] of stores) {
    await store.open()
    const tokens: string[] = []
    // One after the other: the latency of one call.
    const issue = await perOp(RECORDS, async () => {
      for (let i = 0; i < RECORDS; i++)
        tokens.push((await issueConsole(store, request(`i-${i}`))).token)
    })
    const validate = await perOp(VALIDATIONS, async () => {
      for (let i = 0; i < VALIDATIONS; i++)
        await validateToken(store, tokens[i % RECORDS] as string)
    })
    // 32 at a time, as a proxy serving many clients asks: what the pool buys.
    const concurrent = await perOp(VALIDATIONS, async () => {
      let next = 0
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < VALIDATIONS) await validateToken(store, tokens[next++ % RECORDS] as string)
        }),
      )
    })
    results[name] = { issue, validate, concurrent }
  }
  const sqlite = results.sqlite!
  const pgsql = results.postgresql!
  const memory = results.memory!
  row(
    `validate a token, SQLite file (${RECORDS.toLocaleString('en')} records)`,
    sqlite.validate / 1000,
    `${sqlite.validate.toFixed(1)} µs each, ${(sqlite.validate / memory.validate).toFixed(1)}× memory (${memory.validate.toFixed(1)} µs)`,
  )
  row(
    'issue a record (hash, seal, upsert; WAL, synchronous=NORMAL)',
    sqlite.issue / 1000,
    `${sqlite.issue.toFixed(1)} µs each, ${(sqlite.issue / memory.issue).toFixed(1)}× memory (${memory.issue.toFixed(1)} µs)`,
  )
  row(
    `validate a token, PostgreSQL over TCP (${RECORDS.toLocaleString('en')} records)`,
    pgsql.validate / 1000,
    `${pgsql.validate.toFixed(1)} µs each, one at a time (${(pgsql.validate / sqlite.validate).toFixed(1)}× SQLite); 32 at a time on a pool of 10: ${pgsql.concurrent.toFixed(1)} µs each`,
  )
  row(
    'issue a record on PostgreSQL (upsert, prepared, committed)',
    pgsql.issue / 1000,
    `${pgsql.issue.toFixed(1)} µs each, ${(pgsql.issue / sqlite.issue).toFixed(1)}× SQLite`,
  )

  // Cleanup stays bounded however large the table: one batch of 500 out of 100,000 expired.
  const [, store] = stores[0]!
  const past = Date.now() - 3_600_000
  const db = store as SqliteConsoleStore
  for (let i = 0; i < EXPIRED; i++) await issueConsole(db, request(`old-${i}`, 1), past)
  let started = performance.now()
  const batch = await cleanupExpired(db, { batch: 500, maxBatches: 1 })
  const oneBatch = performance.now() - started
  started = performance.now()
  const rest = await cleanupExpired(db, { batch: 500, maxBatches: 1000 })
  const all = performance.now() - started
  row(
    `cleanup: one batch of 500 of ${EXPIRED.toLocaleString('en')} expired records`,
    oneBatch,
    `${batch.deleted} deleted; the other ${rest.deleted.toLocaleString('en')} took ${all.toFixed(0)} ms in ${Math.ceil(rest.deleted / 500)} batches`,
  )
  for (const [, s] of stores) await s.close()
  await cluster.stop()

  // Proxy: 2,000 round trips of a 1 KiB frame, direct to an echo server and through the proxy.
  const echo = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await new Promise<void>((resolve) => echo.once('listening', resolve))
  echo.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })))
  const echoPort = (echo.address() as { port: number }).port
  const memoryStore = new MemoryConsoleStore()
  const proxy = await startConsoleProxy({ store: memoryStore, port: 0 })
  const issued = await issueConsole(memoryStore, {
    ...request('proxy'),
    tls: false,
    target: { url: `ws://127.0.0.1:${echoPort}/`, host: '127.0.0.1', port: echoPort, ticket: 't' },
    proxyUrl: proxy.url,
  })
  const roundTrips = async (url: string) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const frame = Buffer.alloc(1024, 7)
    const once = () =>
      new Promise<void>((resolve) => {
        ws.once('message', () => resolve())
        ws.send(frame)
      })
    for (let i = 0; i < 200; i++) await once()
    const t0 = performance.now()
    for (let i = 0; i < 2000; i++) await once()
    const elapsed = (performance.now() - t0) / 2000
    ws.close()
    await new Promise((resolve) => ws.once('close', resolve))
    return elapsed
  }
  const direct = await roundTrips(`ws://127.0.0.1:${echoPort}/`)
  const proxied = await roundTrips(issued.accessUrl)
  row('WebSocket round trip, 1 KiB, direct to the target', direct, 'mean of 2,000')
  row(
    'the same through brine console serve',
    proxied,
    `mean of 2,000, +${((proxied - direct) * 1000).toFixed(0)} µs per round trip (${(proxied / direct).toFixed(2)}×)`,
  )
  await proxy.close()
  await new Promise((resolve) => echo.close(resolve))
}
