// The brine CLI run from the sources, then a last stderr line naming the packages it loaded
// of those a plain vSphere call should not need (Node's internal modules included). Usage:
//   node --import tsx cli-loaded.ts <brine arguments>
import { createRequire } from 'node:module'
import { main } from '../../cli/main.ts'

process.exitCode = await main(process.argv.slice(2))
const loaded = Object.keys(createRequire(import.meta.url).cache)
const heavy = ['better-sqlite3', 'pg', 'ws'].filter((name) =>
  loaded.some((file) => file.includes(`/node_modules/${name}/`)),
)
// undici's index (fetch, WebSocket, cache, cookies) and Node's own bundled undici, which the
// index's cookies module pulls in by reading globalThis.Headers: the transport needs neither.
if (loaded.some((file) => file.endsWith('/node_modules/undici/index.js'))) heavy.push('undici')
const internal = (process as unknown as { moduleLoadList: string[] }).moduleLoadList
if (internal.some((name) => name.includes('internal/deps/undici'))) heavy.push('node:undici')
process.stderr.write(`\nloaded: ${JSON.stringify(heavy)}\n`)
