// The state engine's own overhead: 1,000 test.succeed_without_changes states in one SLS,
// against the same 1,000 state-function calls made directly (the floor). In-process.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'

const STATES = 1000
const ROUNDS = 5
const root = join(import.meta.dirname, '..')

export async function benchStates(
  row: (label: string, ms: number, note?: string) => void,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-states-'))
  const lines: string[] = []
  for (let i = 0; i < STATES; i++) lines.push(`state_${i}:`, '  test.succeed_without_changes')
  writeFileSync(join(dir, 'many.sls'), `${lines.join('\n')}\n`)
  const runtime = new Runtime({
    opts: defaultOpts({
      id: 'bench',
      file_roots: [dir],
      pillar_roots: [],
    }),
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
  })
  // Warm up: load modules, JIT.
  await runtime.call('state.sls', { kwargs: { mods: 'many' } })
  let run = Number.POSITIVE_INFINITY
  let direct = Number.POSITIVE_INFINITY
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now()
    const result = (await runtime.call('state.sls', { kwargs: { mods: 'many' } })) as Record<
      string,
      unknown
    >
    run = Math.min(run, performance.now() - started)
    if (Object.keys(result).length !== STATES) throw new Error('not every state ran')
    started = performance.now()
    for (let i = 0; i < STATES; i++)
      await runtime.call('test.succeed_without_changes', {
        state: true,
        kwargs: { name: `state_${i}` },
      })
    direct = Math.min(direct, performance.now() - started)
  }
  await runtime.close()
  row(
    `state.sls with ${STATES} test.succeed_without_changes (render, compile, run)`,
    run,
    `${((run / STATES) * 1000).toFixed(1)} µs per state`,
  )
  row(
    `the same ${STATES} state functions called directly (floor)`,
    direct,
    `${((direct / STATES) * 1000).toFixed(1)} µs per call`,
  )
  row(
    'engine overhead per state',
    (run - direct) / STATES,
    `${(((run - direct) / STATES) * 1000).toFixed(1)} µs (goal: well under 1 ms)`,
  )
}
