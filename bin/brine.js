#!/usr/bin/env node
// The brine command. Runs the bundle built by `npm run build` (dist/, which the package
// ships), or the TypeScript sources through tsx when there is no bundle (a development
// checkout).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'

// undici parses HTTP with a WebAssembly build of llhttp. V8 optimizes it with TurboFan on
// background threads, and a process waits for those at exit: ~80 ms on every short
// `brine call vmware_*` (measured with strace here). Baseline (Liftoff) code is plenty fast
// for one CLI call. Must be set before undici is loaded.
setFlagsFromString('--liftoff-only')

// dist/cli.js is a stub pointing at the current build folder (replaced atomically by
// scripts/build.ts). Should that folder be gone (dist/ removed by hand while we start), run
// the sources rather than fail.
const dist = new URL('../dist/', import.meta.url)
const bundle = new URL('cli.js', dist)
let main
if (existsSync(bundle)) {
  try {
    ;({ main } = await import(bundle.href))
  } catch (error) {
    // Only a missing file of dist/ itself ("Cannot find module '<dist>/…' imported from …").
    const missing = /^Cannot find module '([^']+)'/.exec(String(error?.message))?.[1]
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !missing?.startsWith(fileURLToPath(dist)))
      throw error
  }
}
if (!main) {
  // Only a checkout lacks dist/ (an installed package ships it); tsx is a dev dependency.
  let tsx
  try {
    tsx = await import('tsx/esm/api')
  } catch {
    console.error(
      `brine: no build in ${fileURLToPath(dist)} and no tsx to run the sources: run \`npm run build\` (or \`npm install\`) in ${fileURLToPath(new URL('..', dist))}`,
    )
    process.exit(1)
  }
  ;({ main } = await tsx.tsImport('../cli/main.ts', import.meta.url))
}
process.exitCode = await main(process.argv.slice(2))
