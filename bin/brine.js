#!/usr/bin/env node
// The brine command. Runs the CLI bundle built by `npm run build` (dist/, which the package
// ships), compiled with a V8 code cache, or the TypeScript sources through tsx when there is
// no bundle (a development checkout).
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { Script } from 'node:vm'

// undici parses HTTP with a WebAssembly build of llhttp. V8 optimizes it with TurboFan on
// background threads, and a process waits for those at exit: ~80 ms on every short
// `brine call vmware_*` (measured with strace here). Baseline (Liftoff) code is plenty fast
// for one CLI call. Must be set before undici is loaded.
setFlagsFromString('--liftoff-only')

// dist/cli.cjs is a stub naming the current build's CLI (replaced atomically by
// scripts/build.ts). Should that build be gone (dist/ removed by hand while we start), run
// the sources rather than fail.
const dist = fileURLToPath(new URL('../dist/', import.meta.url))
let main
let saveCodeCache
const target = readStub(join(dist, 'cli.cjs'))
// A running daemon serves the call without the CLI bundle being compiled at all: client.cjs
// holds the socket client only, and the daemon decides whether the call is its own.
if (target && process.env.BRINE_DAEMON !== 'never') {
  let fastCall
  try {
    ;({ fastCall } = createRequire(import.meta.url)(join(dist, dirname(target), 'client.cjs')))
  } catch {}
  process.exitCode = await fastCall?.(process.argv.slice(2))
}
if (target && process.exitCode === undefined) {
  const file = join(dist, target)
  let source
  try {
    source = readFileSync(file, 'utf8')
  } catch (error) {
    if (error?.code !== 'ENOENT') throw error
  }
  if (source !== undefined) main = loadCli(file, source, target.split('/')[0])
}
if (!main && process.exitCode === undefined) {
  // Only a checkout lacks dist/ (an installed package ships it); tsx is a dev dependency.
  let tsx
  try {
    tsx = await import('tsx/esm/api')
  } catch {
    console.error(
      `brine: no build in ${dist} and no tsx to run the sources: run \`npm run build\` (or \`npm install\`) in ${dirname(dist)}`,
    )
    process.exit(1)
  }
  ;({ main } = await tsx.tsImport('../cli/main.ts', import.meta.url))
}
if (process.exitCode === undefined) {
  process.exitCode = await main(process.argv.slice(2))
  saveCodeCache?.()
}

/** `build-…/cli.cjs` from the stub, or undefined when there is none. */
function readStub(stub) {
  try {
    return /^module\.exports = require\('\.\/([^']+)'\)/.exec(readFileSync(stub, 'utf8'))?.[1]
  } catch (error) {
    if (error?.code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Compile the CommonJS bundle with the code cache V8 made on an earlier run (under
 * BRINE_CACHE_DIR, default ~/.cache/brine, in code/): Node 20 keeps no compilation of its
 * own, and compiling the bundle was most of what a short call added to `node -e 0`. V8
 * checks that a cache belongs to this source, V8 version and flags, and ignores it
 * otherwise; a missing or rejected cache is written anew once the call is done (the
 * functions it ran are compiled by then and go in too).
 */
function loadCli(file, source, build) {
  const dir = join(
    process.env.BRINE_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brine'),
    'code',
  )
  const cacheFile = join(dir, `${build}-${process.version}-${process.arch}.bin`)
  let cachedData
  try {
    cachedData = readFileSync(cacheFile)
  } catch {}
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    // The bundle has no import() (bin/brine.js's test checks it): a script's import() needs
    // an experimental loader option in Node 20.
    { filename: file, cachedData },
  )
  const module = { exports: {} }
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  if (cachedData === undefined || script.cachedDataRejected) {
    saveCodeCache = () => {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 })
        const temp = `${cacheFile}.${process.pid}`
        writeFileSync(temp, script.createCachedData())
        renameSync(temp, cacheFile)
        // Keep the caches of the newest few builds (several checkouts may share the folder).
        const caches = readdirSync(dir)
          .filter((name) => name.endsWith('.bin'))
          .map((name) => ({
            name,
            at: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0,
          }))
          .sort((a, b) => b.at - a.at)
        for (const old of caches.slice(8)) rmSync(join(dir, old.name), { force: true })
      } catch {
        // A cache is an optimization: a read-only home only costs the compile.
      }
    }
  }
  return module.exports.main
}
