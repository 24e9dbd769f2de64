// Console records: what validation, issue and cleanup cost on the SQLite file against the
// in-memory store, and what the WebSocket proxy adds to a round trip. In-process.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket, WebSocketServer } from 'ws'
import { MemoryConsoleStore } from '../console/memory-store.ts'
import { startConsoleProxy } from '../console/proxy.ts'
import {
  cleanupExpired,
  type IssueRequest,
  issueConsole,
  validateToken,
} from '../console/service.ts'
import { SqliteConsoleStore } from '../console/sqlite-store.ts'
import type { ConsoleStore } from '../console/store.ts'

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

function perOp(ops: number, fn: () => void): number {
  const started = performance.now()
  fn()
  return ((performance.now() - started) * 1000) / ops
}

export async function benchConsole(row: Row): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-console-'))
  const stores: Array<[string, ConsoleStore]> = [
    ['sqlite', new SqliteConsoleStore(join(dir, 'console.sqlite'))],
    ['memory', new MemoryConsoleStore()],
  ]
  const results: Record<string, { issue: number; validate: number }> = {}
  for (const [name, store] of stores) {
    const tokens: string[] = []
    const issue = perOp(RECORDS, () => {
      for (let i = 0; i < RECORDS; i++) tokens.push(issueConsole(store, request(`i-${i}`)).token)
    })
    const validate = perOp(VALIDATIONS, () => {
      for (let i = 0; i < VALIDATIONS; i++) validateToken(store, tokens[i % RECORDS] as string)
    })
    results[name] = { issue, validate }
  }
  const sqlite = results.sqlite!
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

  // Cleanup stays bounded however large the table: one batch of 500 out of 100,000 expired.
  const [, store] = stores[0]!
  const past = Date.now() - 3_600_000
  const db = store as SqliteConsoleStore
  for (let i = 0; i < EXPIRED; i++) issueConsole(db, request(`old-${i}`, 1), past)
  let started = performance.now()
  const batch = cleanupExpired(db, { batch: 500, maxBatches: 1 })
  const oneBatch = performance.now() - started
  started = performance.now()
  const rest = cleanupExpired(db, { batch: 500, maxBatches: 1000 })
  const all = performance.now() - started
  row(
    `cleanup: one batch of 500 of ${EXPIRED.toLocaleString('en')} expired records`,
    oneBatch,
    `${batch.deleted} deleted; the other ${rest.deleted.toLocaleString('en')} took ${all.toFixed(0)} ms in ${Math.ceil(rest.deleted / 500)} batches`,
  )
  for (const [, s] of stores) s.close()

  // Proxy: 2,000 round trips of a 1 KiB frame, direct to an echo server and through the proxy.
  const echo = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await new Promise<void>((resolve) => echo.once('listening', resolve))
  echo.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })))
  const echoPort = (echo.address() as { port: number }).port
  const memoryStore = new MemoryConsoleStore()
  const proxy = await startConsoleProxy({ store: memoryStore, port: 0 })
  const issued = issueConsole(memoryStore, {
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
