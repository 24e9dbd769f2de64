// npm run stress: the proof that modules reload forever while exactly one vCenter session and
// one ServiceInstance class live in the process, and the heap stays flat. A brine run, then a
// control run with a deliberately leaky reload strategy that must fail the same assertions.
//
//   npm run stress                       # 2,000 cycles, control 300
//   npm run stress -- --cycles 5000 --duration 600
//   npm run stress -- --quick            # 300 cycles, control 100 (what npm test runs)
import { fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startVcsim, type Vcsim } from '../test/helpers/vcsim.ts'
import { findLeaks, type HeapFacts, heapFacts, type LeakReport } from './analyze.ts'
import type { WorkerConfig, WorkerResult } from './worker.ts'

const { values } = parseArgs({
  options: {
    cycles: { type: 'string' },
    duration: { type: 'string' },
    'control-cycles': { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'string' },
    'no-control': { type: 'boolean' },
  },
})
const quick = values.quick === true
const cycles = Number(values.cycles ?? (quick ? 300 : 2000))
const controlCycles = Number(values['control-cycles'] ?? (quick ? 100 : 300))
const durationMs = Number(values.duration ?? 0) * 1000
const jsonPath =
  values.json ?? join(import.meta.dirname, 'results', quick ? 'quick.json' : 'report.json')
/**
 * Growth allowed over the whole run, after GC: of objects (every heap space but V8's code
 * spaces), and of heap used in all (JIT-compiled code keeps growing a little while V8 tiers
 * up hot functions; that is not a leak, but it is still bounded).
 */
const OBJECT_BOUND = 2 * 1024 * 1024
const HEAP_BOUND = 4 * 1024 * 1024
const IDLE_TIMEOUT_S = quick ? 2 : 4

interface RunReport {
  name: string
  result: WorkerResult
  heap: HeapFacts
  leaks: LeakReport
  heapGrowthPer1000: number
  failures: string[]
}

async function runWorker(vcsim: Vcsim, leaky: boolean, n: number): Promise<WorkerResult> {
  const dir = mkdtempSync(join(tmpdir(), `brine-stress-${leaky ? 'control' : 'brine'}-`))
  const config: WorkerConfig = {
    url: vcsim.url,
    caFile: vcsim.caFile,
    user: leaky ? 'stress-control' : 'stress-brine',
    password: 'stress-pw',
    cycles: n,
    durationMs,
    // JIT warm-up of the host code must end before the baseline, or it shows as growth.
    warmup: quick ? 60 : 400,
    pillarEvery: 10,
    sampleEvery: 25,
    faults: !leaky,
    idleFaultMs: IDLE_TIMEOUT_S * 2500,
    idleTimeoutMs: IDLE_TIMEOUT_S * 1000,
    leaky,
    dir,
    resultFile: join(dir, 'result.json'),
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const child = fork(join(import.meta.dirname, 'worker.ts'), [join(dir, 'config.json')], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  child.on('message', async (message: { type: string }) => {
    if (message.type === 'restart') {
      await vcsim.restart()
      child.send({ type: 'done' })
    }
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0)
    throw new Error(`the ${leaky ? 'control' : 'brine'} stress worker exited with ${code}`)
  return JSON.parse(readFileSync(config.resultFile, 'utf8')) as WorkerResult
}

async function analyze(
  name: string,
  result: WorkerResult,
  expectFaultLogins: boolean,
): Promise<RunReport> {
  const heap = await heapFacts(result.snapshots.final)
  const leaks = await findLeaks(
    result.snapshots.baseline,
    result.snapshots.target,
    result.snapshots.final,
  )
  const growth = result.heapFinal - result.heapBaseline
  const objectGrowth = result.objectsFinal - result.objectsBaseline
  const failures: string[] = []
  if (heap.serviceInstanceObjects !== 1)
    failures.push(`${heap.serviceInstanceObjects} live ServiceInstance objects (want 1)`)
  if (heap.serviceInstanceClasses !== 1)
    failures.push(`${heap.serviceInstanceClasses} ServiceInstance classes (want 1)`)
  if (heap.moduleGenerations !== result.liveModules) {
    failures.push(
      `${heap.moduleGenerations} live module generations for ${result.liveModules} loaded modules`,
    )
  }
  const uncollected =
    result.generationsRegistered - result.generationsCollected - result.liveModules
  if (uncollected > 0) failures.push(`${uncollected} old module generations not collected`)
  if (leaks.throughBrine.length)
    failures.push(`${leaks.throughBrine.length} leak traces through brine code`)
  if (objectGrowth > OBJECT_BOUND)
    failures.push(
      `objects grew by ${(objectGrowth / 1024 / 1024).toFixed(2)} MB (bound ${OBJECT_BOUND / 1024 / 1024} MB)`,
    )
  if (growth > HEAP_BOUND)
    failures.push(
      `heap grew by ${(growth / 1024 / 1024).toFixed(2)} MB (bound ${HEAP_BOUND / 1024 / 1024} MB)`,
    )
  if (expectFaultLogins) {
    if (result.sessionSamples.some((n) => n !== 1))
      failures.push(`server sessions during the run: ${result.sessionSamples.join(',')} (want 1)`)
    // One login, one more per fault; a heap snapshot that blocked for about the idle timeout
    // may have let the server expire the session too (one more login each, at most).
    const want = 1 + result.faults.length
    if (result.logins < want || result.logins > want + result.stalls)
      failures.push(
        `${result.logins} logins for ${result.faults.length} faults and ${result.stalls} long heap snapshots (want ${want}${result.stalls ? `–${want + result.stalls}` : ''})`,
      )
  }
  if (new Set(result.indexSamples).size !== 1 || !result.indexSamples[0])
    failures.push(
      `inventory index sizes during the run: ${result.indexSamples.join(',')} (want one size: the inventory does not change)`,
    )
  if (result.sessionsAfterShutdown !== 0)
    failures.push(`${result.sessionsAfterShutdown} sessions left on the server after shutdown`)
  return {
    name,
    result,
    heap,
    leaks,
    heapGrowthPer1000: (growth / Math.max(result.cycles, 1)) * 1000,
    failures,
  }
}

function printTable(reports: RunReport[]): void {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(3)} MB`
  const rows: Array<[string, ...string[]]> = [
    ['', ...reports.map((r) => r.name)],
    [
      'cycles (each reloads every module and state)',
      ...reports.map((r) => String(r.result.cycles)),
    ],
    ['module evaluations', ...reports.map((r) => String(r.result.moduleEvaluations))],
    [
      'heap growth after GC, whole run',
      ...reports.map((r) => mb(r.result.heapFinal - r.result.heapBaseline)),
    ],
    [
      'object heap growth after GC, whole run',
      ...reports.map((r) => mb(r.result.objectsFinal - r.result.objectsBaseline)),
    ],
    ['heap growth per 1,000 reloads', ...reports.map((r) => mb(r.heapGrowthPer1000))],
    [
      'live ServiceInstance objects / classes',
      ...reports.map((r) => `${r.heap.serviceInstanceObjects} / ${r.heap.serviceInstanceClasses}`),
    ],
    [
      'live module generations / loaded modules',
      ...reports.map((r) => `${r.heap.moduleGenerations} / ${r.result.liveModules}`),
    ],
    [
      'old generations collected (FinalizationRegistry)',
      ...reports.map(
        (r) =>
          `${r.result.generationsCollected} of ${r.result.generationsRegistered - r.result.liveModules}`,
      ),
    ],
    [
      'faults injected',
      ...reports.map(
        (r) =>
          (r.result.faults.join(', ') || 'none') +
          (r.result.stalls ? ` (+${r.result.stalls} long heap snapshot)` : ''),
      ),
    ],
    [
      'logins (client) / distinct server session keys',
      ...reports.map((r) => `${r.result.logins} / ${r.result.distinctSessionKeys}`),
    ],
    [
      'server sessions during run (samples)',
      ...reports.map(
        (r) =>
          `${Math.min(...r.result.sessionSamples)}–${Math.max(...r.result.sessionSamples)} (${r.result.sessionSamples.length})`,
      ),
    ],
    [
      'server sessions after shutdown',
      ...reports.map((r) => String(r.result.sessionsAfterShutdown)),
    ],
    [
      'memlab leak traces (through brine)',
      ...reports.map((r) => `${r.leaks.total} (${r.leaks.throughBrine.length})`),
    ],
    [
      'verdict',
      ...reports.map((r) => (r.failures.length ? `FAIL: ${r.failures.join('; ')}` : 'pass')),
    ],
  ]
  const width = Math.max(...rows.map((r) => r[0].length))
  for (const [label, ...cells] of rows)
    console.log(`${label.padEnd(width)}  ${cells.map((c) => c.padEnd(28)).join('  ')}`)
}

const vcsim = await startVcsim({ idleTimeout: `${IDLE_TIMEOUT_S}s` })
let exitCode = 0
try {
  console.log(
    `brine run: ${cycles} cycles${durationMs ? ` (at most ${durationMs / 1000} s)` : ''}…`,
  )
  const brine = await analyze('brine', await runWorker(vcsim, false, cycles), true)
  const reports = [brine]
  let control: RunReport | undefined
  if (!values['no-control']) {
    console.log(
      `control run (native import() with a cache-busting query): ${controlCycles} cycles…`,
    )
    control = await analyze('leaky control', await runWorker(vcsim, true, controlCycles), false)
    reports.push(control)
  }
  console.log('')
  printTable(reports)
  mkdirSync(join(jsonPath, '..'), { recursive: true })
  writeFileSync(
    jsonPath,
    JSON.stringify(
      reports.map((r) => ({
        name: r.name,
        cycles: r.result.cycles,
        heapGrowthBytes: r.result.heapFinal - r.result.heapBaseline,
        objectHeapGrowthBytes: r.result.objectsFinal - r.result.objectsBaseline,
        heapGrowthPer1000Bytes: Math.round(r.heapGrowthPer1000),
        serviceInstanceObjects: r.heap.serviceInstanceObjects,
        serviceInstanceClasses: r.heap.serviceInstanceClasses,
        moduleGenerations: r.heap.moduleGenerations,
        loadedModules: r.result.liveModules,
        generationsRegistered: r.result.generationsRegistered,
        generationsCollected: r.result.generationsCollected,
        logins: r.result.logins,
        faults: r.result.faults,
        serverSessionSamples: r.result.sessionSamples,
        indexSizeSamples: r.result.indexSamples,
        serverSessionsAfterShutdown: r.result.sessionsAfterShutdown,
        leakTraces: r.leaks.total,
        leakTracesThroughBrine: r.leaks.throughBrine,
        failures: r.failures,
        durationMs: Math.round(r.result.durationMs),
      })),
      null,
      2,
    ),
  )
  console.log(`\nreport: ${jsonPath}`)
  if (brine.failures.length) exitCode = 1
  if (control && control.failures.length === 0) {
    console.log('the leaky control run passed: the suite cannot tell a leak from none')
    exitCode = 1
  }
} finally {
  await vcsim.stop()
}
process.exitCode = exitCode
