// The brine CLI run from the sources, then a last stderr line listing every module file it
// loaded (ESM URLs seen by a resolve hook, and CommonJS files of require's cache). Usage:
//   node --import tsx cli-imports.ts <brine arguments>
import { createRequire, register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
const urls = new Set<string>()
let onSentinel: (() => void) | undefined
const SENTINEL = 'data:text/javascript,export%20default%20%22imports-flushed%22'
port1.on('message', (url: string) => {
  if (url === SENTINEL) onSentinel?.()
  else urls.add(url)
})
port1.unref()
register('./record-imports-hooks.mjs', import.meta.url, {
  data: { port: port2 },
  transferList: [port2],
})

// Imported after the hooks are in place, so that they see it and everything it loads.
const { main } = await import('../../cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
// Messages on one port arrive in order: once the sentinel's has, every earlier one has.
await new Promise<void>((resolve) => {
  onSentinel = resolve
  void import(SENTINEL)
})
const files = [
  ...[...urls].filter((url) => url.startsWith('file:')).map((url) => new URL(url).pathname),
  ...Object.keys(createRequire(import.meta.url).cache),
]
process.stderr.write(`\nimports: ${JSON.stringify([...new Set(files)].sort())}\n`)
