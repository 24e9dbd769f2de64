#!/usr/bin/env node
// The brine command. Runs the bundle built by `npm run build` (dist/), or the TypeScript
// sources through tsx when there is no bundle (a development checkout).
import { existsSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'

// undici parses HTTP with a WebAssembly build of llhttp. V8 optimizes it with TurboFan on
// background threads, and a process waits for those at exit: ~80 ms on every short
// `brine call vmware_*` (measured with strace here). Baseline (Liftoff) code is plenty fast
// for one CLI call. Must be set before undici is loaded.
setFlagsFromString('--liftoff-only')

const bundle = new URL('../dist/cli.js', import.meta.url)
let main
if (existsSync(bundle)) {
  ;({ main } = await import(bundle.href))
} else {
  const { tsImport } = await import('tsx/esm/api')
  ;({ main } = await tsImport('../cli/main.ts', import.meta.url))
}
process.exitCode = await main(process.argv.slice(2))
