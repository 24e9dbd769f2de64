// Heap-snapshot analysis with memlab (@memlab/heap-analysis, @memlab/api) on Node heap
// snapshots: no browser involved.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface HeapFacts {
  /** Live objects whose constructor is ServiceInstance. */
  serviceInstanceObjects: number
  /** ServiceInstance constructors (class identities) in the heap. */
  serviceInstanceClasses: number
  /** Live ModuleGeneration objects (one per loaded module when nothing leaks). */
  moduleGenerations: number
}

/** memlab reports progress on the terminal; the stress report is ours. */
async function quietMemlab(): Promise<void> {
  const { config } = await import('@memlab/core')
  config.muteConsole = true
}

export async function heapFacts(file: string): Promise<HeapFacts> {
  await quietMemlab()
  const { getFullHeapFromFile } = await import('@memlab/heap-analysis')
  const heap = await getFullHeapFromFile(file)
  const facts: HeapFacts = {
    serviceInstanceObjects: 0,
    serviceInstanceClasses: 0,
    moduleGenerations: 0,
  }
  heap.nodes.forEach((node) => {
    if (node.name === 'ServiceInstance' && node.type === 'object') facts.serviceInstanceObjects++
    if (node.name === 'ServiceInstance' && node.type === 'closure') facts.serviceInstanceClasses++
    if (node.name === 'ModuleGeneration' && node.type === 'object') facts.moduleGenerations++
  })
  return facts
}

/** Names in a retainer trace that point at brine code. */
const BRINE =
  /ModuleGeneration|ModuleLoader|Runtime|ServiceInstance|SessionCache|ReconnectProxy|defineModule|brine|\/(loader|modules|states|runner|vsphere|core)\//

export interface LeakReport {
  /** Leak clusters memlab found (objects allocated after the baseline, alive in target and final). */
  total: number
  /** Those whose retainer trace passes through brine code. */
  throughBrine: string[]
}

/** memlab's leak finding over baseline → target → final. */
export async function findLeaks(
  baseline: string,
  target: string,
  final: string,
): Promise<LeakReport> {
  await quietMemlab()
  const { findLeaksBySnapshotFilePaths } = await import('@memlab/api')
  const { ConsoleMode } = await import('@memlab/api')
  const workDir = mkdtempSync(join(tmpdir(), 'brine-memlab-'))
  const traces = await findLeaksBySnapshotFilePaths(baseline, target, final, {
    workDir,
    consoleMode: ConsoleMode.SILENT,
  })
  const throughBrine: string[] = []
  for (const trace of traces) {
    const text = JSON.stringify(trace)
    if (BRINE.test(text)) throughBrine.push(text.length > 600 ? `${text.slice(0, 600)}…` : text)
  }
  return { total: traces.length, throughBrine }
}
