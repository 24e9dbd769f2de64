// A second process on the same console database: validates every token `rounds` times and
// tries once to take each console port. Prints {validated, failures, connected} as JSON.
// Usage: console-worker.ts <db file> <rounds> (tokens on stdin, one per line)
import { readFileSync } from 'node:fs'
import { connectConsole, validateToken } from '../../console/service.ts'
import { SqliteConsoleStore } from '../../console/sqlite-store.ts'

const [file, rounds] = process.argv.slice(2)
const tokens = readFileSync(0, 'utf8').split('\n').filter(Boolean)
const store = new SqliteConsoleStore(file as string)
let validated = 0
const failures: string[] = []
for (let round = 0; round < Number(rounds); round++) {
  for (const token of tokens) {
    try {
      await validateToken(store, token)
      validated++
    } catch (error) {
      failures.push((error as Error).message)
    }
  }
}
const connected: string[] = []
for (const token of tokens) {
  try {
    connected.push((await connectConsole(store, token)).record.id)
  } catch (error) {
    if ((error as { code?: string }).code !== 'BRINE_CONSOLE_BUSY')
      failures.push((error as Error).message)
  }
}
await store.close()
process.stdout.write(JSON.stringify({ validated, failures: failures.slice(0, 5), connected }))
