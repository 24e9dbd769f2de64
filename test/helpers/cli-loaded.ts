// The brine CLI run from the sources, then a last stderr line naming the packages it loaded
// of those a plain vSphere call should not need. Usage:
//   node --import tsx cli-loaded.ts <brine arguments>
import { createRequire } from 'node:module'
import { main } from '../../cli/main.ts'

process.exitCode = await main(process.argv.slice(2))
const loaded = Object.keys(createRequire(import.meta.url).cache)
const heavy = ['better-sqlite3', 'pg', 'ws'].filter((name) =>
  loaded.some((file) => file.includes(`/node_modules/${name}/`)),
)
process.stderr.write(`\nloaded: ${JSON.stringify(heavy)}\n`)
