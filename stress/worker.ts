// One stress run, in its own process (started by stress/run.ts with --expose-gc and an IPC
// channel): reload every module and state each cycle, call vSphere functions through the
// ReconnectProxy, apply a small SLS, inject faults, take heap snapshots, write a JSON result.

import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'
import { hostModule, preloadHostModules } from '../loader/host-modules.ts'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import { compilePillar } from '../pillar/compile.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { existingIndex } from '../vsphere/inventory-index.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import { proxyTarget } from '../vsphere/reconnect-proxy.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import type { UserSession } from '../vsphere/types.ts'

export interface WorkerConfig {
  url: string
  caFile: string
  user: string
  password: string
  cycles: number
  /** Stop earlier after this many ms (0: no limit). */
  durationMs: number
  warmup: number
  pillarEvery: number
  sampleEvery: number
  /** Inject vcsim restart, server-side termination and idle expiry. */
  faults: boolean
  /** How long to stay idle to let the server expire the session, ms. */
  idleFaultMs: number
  /** The server's session idle timeout, ms. */
  idleTimeoutMs: number
  /** The control run: reload through native import() with a cache-busting query. */
  leaky: boolean
  dir: string
  resultFile: string
}

export interface WorkerResult {
  leaky: boolean
  cycles: number
  moduleEvaluations: number
  liveModules: number
  heapBaseline: number
  heapFinal: number
  /** Heap used outside V8's code spaces (JIT-compiled code grows while tiering settles). */
  objectsBaseline: number
  objectsFinal: number
  generationsRegistered: number
  generationsCollected: number
  logins: number
  faults: string[]
  /**
   * Heap snapshots that blocked the process for most of the server's idle timeout, followed by
   * more calls: each may have let the session expire (one more login, not a leak).
   */
  stalls: number
  sessionSamples: number[]
  /** Entities in the session's inventory index, sampled with the sessions. */
  indexSamples: number[]
  sessionsAfterShutdown: number
  distinctSessionKeys: number
  snapshots: { baseline: string; target: string; final: string }
  durationMs: number
}

const root = join(import.meta.dirname, '..')
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('the stress worker needs --expose-gc')

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as WorkerConfig
const started = performance.now()

// --- the leaky control strategy (stress only; never in the product) ---
let bust = 0
const written = new Set<string>()
async function leakyEvaluate(file: string): Promise<unknown> {
  const out = join(
    config.dir,
    `${createHash('sha1').update(file).digest('hex').slice(0, 12)}-${basename(file)}.mjs`,
  )
  if (!written.has(out)) {
    const { transform } = await import('esbuild')
    const { code } = await transform(readFileSync(file, 'utf8'), {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
    })
    writeFileSync(
      out,
      `const module = { exports: {} }; const exports = module.exports;\nconst require = globalThis.__brineStressRequire(${JSON.stringify(file)});\n${code}\nexport default module.exports;\n`,
    )
    written.add(out)
  }
  // A new URL each time: Node keeps every module record forever.
  return ((await import(`${pathToFileURL(out).href}?v=${++bust}`)) as { default: unknown }).default
}
;(globalThis as Record<string, unknown>).__brineStressRequire = (file: string) => {
  const nativeRequire = createRequire(file)
  return (specifier: string) => hostModule(specifier) ?? nativeRequire(specifier)
}
await preloadHostModules(['brine/loader', 'brine/vsphere', 'brine/runner'])

// --- the runtime under test ---
const opts = defaultOpts({
  id: 'stress01',
  file_roots: [join(root, 'stress', 'fixtures', 'salt')],
  pillar_roots: [join(root, 'stress', 'fixtures', 'pillar')],
  'saltext.vmware': {
    host: config.url,
    user: config.user,
    password: config.password,
    ca_file: config.caFile,
  },
})
const pillarOf = () => compilePillar({ roots: opts.pillar_roots, minionId: opts.id }).pillar
const runtime = new Runtime({
  opts,
  pillar: pillarOf(),
  moduleDirs: [join(root, 'modules')],
  stateDirs: [join(root, 'states')],
  signal: new AbortController().signal,
  env: {},
  evaluate: config.leaky ? leakyEvaluate : undefined,
  compilePillar: async () => pillarOf(),
})

let registered = 0
let collected = 0
const registry = new FinalizationRegistry(() => {
  collected++
})
const seen = new WeakSet<object>()
const keys = new Set<string>()
let evaluations = 0

const indexSamples: number[] = []

/** The live session behind the runtime's proxy. */
async function connectedSession(): Promise<ServiceInstance> {
  const si = await runtime.serviceInstance()
  await si.ready()
  return proxyTarget(si)!
}

async function cycle(): Promise<void> {
  await runtime.modules.reload()
  await runtime.states.reload()
  const names = await runtime.call('vmware_datacenter.list')
  if (!Array.isArray(names) || !names.includes('DC0'))
    throw new Error(`vmware_datacenter.list: ${JSON.stringify(names)}`)
  // Lookups by name go through the session's inventory index (refreshed each time).
  const dc = (await runtime.call('vmware_datacenter.get', { kwargs: { name: 'DC0' } })) as {
    path?: string
  }
  if (dc.path !== '/DC0') throw new Error(`vmware_datacenter.get: ${JSON.stringify(dc)}`)
  await runtime.call('test.ping')
  const result = (await runtime.call('state.sls', { kwargs: { mods: 'small' } })) as Record<
    string,
    { result: boolean }
  >
  if (Object.values(result).some((ret) => ret.result !== true))
    throw new Error(`state.sls small failed: ${JSON.stringify(result)}`)
  for (const loader of [runtime.modules, runtime.states]) {
    for (const name of loader.moduleNames()) {
      const definition = loader.module(name)!.definition
      if (!seen.has(definition)) {
        seen.add(definition)
        registry.register(definition, name)
        registered++
        evaluations++
      }
    }
  }
  const si = await runtime.serviceInstance()
  const key = proxyTarget(si)?.userSession?.key
  if (key) keys.add(key)
}

const observer = resolveConnectionParams({
  server: config.url,
  user: 'stress-observer',
  password: 'observer',
  caFile: config.caFile,
  label: 'observer',
})
async function serverSessions(): Promise<number> {
  return withSession(observer, async (si) => {
    const props = await retrieveObjectProperties(si, si.sessionManager, ['sessionList'])
    return ((props.sessionList as UserSession[] | undefined) ?? []).filter(
      (s) => s.userName === config.user,
    ).length
  })
}
async function terminateOurSession(): Promise<void> {
  const key = proxyTarget(await runtime.serviceInstance())?.userSession?.key
  if (!key) throw new Error('no session to terminate')
  await withSession(observer, (si) =>
    si.invoke('TerminateSession', { _this: si.sessionManager, sessionId: [key] }),
  )
}
function askParent(message: string): Promise<void> {
  return new Promise((resolve) => {
    process.once('message', () => resolve())
    process.send!({ type: message })
  })
}
/** Bytes used by objects: every V8 heap space but the code spaces. */
function objectHeap(): number {
  return getHeapSpaceStatistics()
    .filter((space) => !space.space_name.startsWith('code'))
    .reduce((sum, space) => sum + space.space_used_size, 0)
}

const settle = async () => {
  for (let i = 0; i < 5; i++) {
    gc!()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// Warm-up, then the baseline
for (let i = 0; i < config.warmup; i++) await cycle()
await settle()
let stalls = 0
/**
 * Run `write` (a heap snapshot blocks the event loop for seconds on a busy machine) and count
 * it when it took most of the idle timeout: the server may have expired the session meanwhile.
 */
function stalling(write: () => string): string {
  const started = performance.now()
  const file = write()
  if (performance.now() - started >= config.idleTimeoutMs * 0.5) stalls++
  return file
}
const heapBaseline = process.memoryUsage().heapUsed
const objectsBaseline = objectHeap()
const snapshots = {
  baseline: stalling(() => writeHeapSnapshot(join(config.dir, 'baseline.heapsnapshot'))),
  target: '',
  final: '',
}

const faults: string[] = []
const sessionSamples: number[] = []
const faultAt = new Map<number, string>(
  config.faults
    ? [
        [Math.floor(config.cycles * 0.25), 'restart'],
        [Math.floor(config.cycles * 0.5), 'terminate'],
        [Math.floor(config.cycles * 0.75), 'idle'],
      ]
    : [],
)
let cycles = 0
for (; cycles < config.cycles; cycles++) {
  if (config.durationMs && performance.now() - started > config.durationMs) break
  const fault = faultAt.get(cycles)
  if (fault === 'restart') await askParent('restart')
  if (fault === 'terminate') await terminateOurSession()
  if (fault === 'idle') await new Promise((resolve) => setTimeout(resolve, config.idleFaultMs))
  if (fault) faults.push(fault)
  await cycle()
  if (cycles % config.pillarEvery === 0) runtime.pillar = pillarOf()
  if (cycles % config.sampleEvery === 0) {
    sessionSamples.push(await serverSessions())
    indexSamples.push(existingIndex(await connectedSession())?.size ?? 0)
  }
  if (cycles === Math.floor(config.cycles * 0.6))
    snapshots.target = stalling(() => writeHeapSnapshot(join(config.dir, 'target.heapsnapshot')))
}
sessionSamples.push(await serverSessions())
if (!snapshots.target) snapshots.target = writeHeapSnapshot(join(config.dir, 'target.heapsnapshot'))

await settle()
const heapFinal = process.memoryUsage().heapUsed
const objectsFinal = objectHeap()
snapshots.final = writeHeapSnapshot(join(config.dir, 'final.heapsnapshot'))
const liveModules = runtime.modules.moduleNames().length + runtime.states.moduleNames().length
const logins = runtime.vsphereLogins

// Shutdown: sessions are logged out.
await runtime.close()
const sessionsAfterShutdown = await serverSessions()

const result: WorkerResult = {
  leaky: config.leaky,
  cycles,
  moduleEvaluations: evaluations,
  liveModules,
  heapBaseline,
  heapFinal,
  objectsBaseline,
  objectsFinal,
  generationsRegistered: registered,
  generationsCollected: collected,
  logins,
  faults,
  stalls,
  sessionSamples,
  indexSamples,
  sessionsAfterShutdown,
  distinctSessionKeys: keys.size,
  snapshots,
  durationMs: performance.now() - started,
}
writeFileSync(config.resultFile, JSON.stringify(result, null, 2))
process.disconnect?.()
