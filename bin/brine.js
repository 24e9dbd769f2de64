#!/usr/bin/env node
// The brine command. CommonJS (bin/package.json says so): an ES module costs Node's ESM loader
// on every start, which a short call through the daemon would feel.
//
// 1. With a daemon running, client.cjs (the socket client, a few kilobytes) sends the call
//    before anything else is loaded; the daemon refuses a call that is not its own.
// 2. Else the CLI bundle built by `npm run build` (dist/, which the package ships), compiled
//    with a V8 code cache;
// 3. or, in a checkout without dist/, the TypeScript sources through tsx.
'use strict'
const { readFileSync } = require('node:fs')
const { dirname, join } = require('node:path')

// dist/cli.cjs is a stub naming the current build's CLI (replaced atomically by
// scripts/build.ts). Should that build be gone (dist/ removed by hand while we start), run
// the sources rather than fail.
const dist = join(__dirname, '..', 'dist')
const argv = process.argv.slice(2)
const target = readStub(join(dist, 'cli.cjs'))
const codeAreas = new Set()
// The CLI runs one call and exits (the brine.oneShotCall hook, run()).
let oneShot = false
// Above run(): with BRINE_DAEMON=never, loadCli runs before this file's end is evaluated.
const CACHE_HEADER = 'brine-code-cache '

run().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    console.error(error)
    process.exitCode = 1
  },
)

async function run() {
  if (target && process.env.BRINE_DAEMON !== 'never') {
    let fastCall
    try {
      ;({ fastCall } = require(join(dist, dirname(target), 'client.cjs')))
    } catch {}
    const code = await fastCall?.(argv)
    if (code !== undefined) return code
  }
  // undici parses HTTP with a WebAssembly build of llhttp. V8 optimizes it with TurboFan on
  // background threads, and a process waits for those at exit: ~80 ms on every short
  // `brine call vmware_*` (measured with strace here). Baseline (Liftoff) code is plenty fast
  // for one CLI call. It must be set before undici compiles llhttp, at its first connection:
  // vsphere/transport.ts calls this hook when it makes its first pool, so that a call that
  // never reaches vCenter (test.ping) does not load node:v8 for it.
  //
  // A process that runs one call and exits (cli/main.ts says so through the oneShotCall
  // hook; a daemon's calls do not) has no use for V8's incremental marking either: after a
  // large answer (5,000 VMs) the old generation nears its first limit (13 of 19 MB), and V8
  // then marks alongside the call, slows allocation with its barriers and ends in a
  // Mark-Compact just before the exit. Without it, V8 collects the old generation only at
  // the limit, in one pause: a stored-session `vmware_vm.list` on 5,000 VMs is ~20 ms
  // sooner (issue 21). Set here, where node:v8 is loaded anyway.
  globalThis[Symbol.for('brine.beforeFirstConnection')] = () => {
    require('node:v8').setFlagsFromString(
      oneShot ? '--liftoff-only --no-incremental-marking' : '--liftoff-only',
    )
    codeAreas.add('vsphere')
  }
  globalThis[Symbol.for('brine.oneShotCall')] = () => {
    oneShot = true
  }
  // The parts of the bundle this call ran, for its code cache (loadCli); the CLI names
  // others through this hook (core/code-areas.ts).
  globalThis[Symbol.for('brine.codeArea')] = (area) => codeAreas.add(area)
  const bundle = target && loadCli(join(dist, target), target.split('/')[0])
  if (bundle) {
    const code = await bundle.main(argv)
    bundle.saveCodeCache()
    return code
  }
  // Only a checkout lacks dist/ (an installed package ships it); tsx is a dev dependency.
  let tsx
  try {
    tsx = await import('tsx/esm/api')
  } catch {
    console.error(
      `brine: no build in ${dist} and no tsx to run the sources: run \`npm run build\` (or \`npm install\`) in ${dirname(dist)}`,
    )
    return 1
  }
  const { pathToFileURL } = require('node:url')
  const { main } = await tsx.tsImport('../cli/main.ts', pathToFileURL(__filename).href)
  return main(argv)
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
 * Which code cache a call starts from. vSphere calls, state runs and the rest (test.ping,
 * sys.doc…) run different parts of the bundle, and V8 deserializes all of a cache: a
 * vSphere call's cache costs `test.ping` ~4 ms more than its own. A guess from the command
 * line; a wrong one costs some compiling, and the cache then grows the area (codeAreas).
 */
function codeKind(args) {
  for (const arg of args) {
    if (arg.startsWith('state.')) return 'state'
    if (arg.startsWith('vmware_')) return 'vsphere'
  }
  return 'base'
}

/**
 * Compile the CommonJS bundle with the code cache V8 made on an earlier run (under
 * BRINE_CACHE_DIR, default ~/.cache/brine, in code/): Node 20 keeps no compilation of its
 * own, and compiling the bundle was most of what a short call added to `node -e 0`. V8
 * checks that a cache belongs to this source, V8 version and flags, and ignores it
 * otherwise; a missing or rejected cache is written anew once the call is done (the
 * functions it ran are compiled by then and go in too).
 *
 * A cache holds what the calls that wrote it ran; a call that runs more compiles the rest
 * every time (~6 ms of a stored-session `vmware_datacenter.list` after a cache made by
 * `test.ping`). So there is one cache per kind of call (codeKind), each starting with the
 * areas it covers (`vsphere`, `state`: codeAreas), and a call that ran an area its cache
 * lacks writes it again, with what it loaded from the cache still in: at most one write
 * per kind, area and build.
 * Undefined when the build's file is gone.
 */
function loadCli(file, build) {
  let source
  try {
    // ASCII (scripts/build.ts, wrapCli): Latin-1 reads it as UTF-8 would, ~2 ms sooner.
    source = readFileSync(file, 'latin1')
  } catch (error) {
    if (error?.code === 'ENOENT') return undefined
    throw error
  }
  const fs = require('node:fs')
  const { homedir } = require('node:os')
  const { Script } = require('node:vm')
  const { createRequire } = require('node:module')
  const dir = join(
    process.env.BRINE_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brine'),
    'code',
  )
  const cacheFile = join(dir, `${build}-${codeKind(argv)}-${process.version}-${process.arch}.bin`)
  let cachedData
  let cachedAreas = []
  try {
    const file = fs.readFileSync(cacheFile)
    // "brine-code-cache <areas>\n", then V8's data.
    const header = file.subarray(0, Math.max(file.indexOf(10), 0)).toString('latin1')
    if (header.startsWith(CACHE_HEADER)) {
      cachedAreas = header.slice(CACHE_HEADER.length).split(',').filter(Boolean)
      cachedData = file.subarray(header.length + 1)
    }
  } catch {}
  // The build wraps the bundle in the function Node's require() would (scripts/build.ts,
  // wrapCli) and applies it to `arguments`: here, a global of that name for the moment the
  // script runs. (Wrapping it here would hold the 1.85 MB text twice.)
  const script = new Script(source, {
    filename: file,
    cachedData,
    // The bundle has no import() (bin/brine.js's test checks it): a script's import() needs
    // an experimental loader option in Node 20.
  })
  const module = { exports: {} }
  globalThis.arguments = [module.exports, createRequire(file), module, file, dirname(file)]
  try {
    script.runInThisContext()
  } finally {
    delete globalThis.arguments
  }
  const saveCodeCache = () => {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      // V8 stamps a cache with a hash of the flags in force: back to the defaults that the
      // next process compiles under, or it would reject this cache (--liftoff-only and
      // --no-incremental-marking are flags; the call is done by now).
      if (codeAreas.has('vsphere'))
        require('node:v8').setFlagsFromString(
          '--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering --incremental-marking',
        )
      const temp = `${cacheFile}.${process.pid}`
      const areas = [...new Set([...cachedAreas, ...codeAreas])].sort().join(',')
      fs.writeFileSync(
        temp,
        Buffer.concat([
          Buffer.from(`${CACHE_HEADER}${areas}\n`, 'latin1'),
          script.createCachedData(),
        ]),
      )
      fs.renameSync(temp, cacheFile)
      // Keep the caches of the newest few builds (several checkouts may share the folder).
      const caches = fs
        .readdirSync(dir)
        .filter((name) => name.endsWith('.bin'))
        .map((name) => ({
          name,
          at: fs.statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0,
        }))
        .sort((a, b) => b.at - a.at)
      for (const old of caches.slice(12)) fs.rmSync(join(dir, old.name), { force: true })
    } catch {
      // A cache is an optimization: a read-only home only costs the compile.
    }
  }
  // V8 compiled nothing from a rejected cache: it covers no area.
  if (script.cachedDataRejected) cachedAreas = []
  const stale = () =>
    cachedData === undefined ||
    script.cachedDataRejected ||
    [...codeAreas].some((area) => !cachedAreas.includes(area))
  return { main: module.exports.main, saveCodeCache: () => stale() && saveCodeCache() }
}
