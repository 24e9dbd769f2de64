// parallel: True against a slow vCenter: 20 VM clones (vmware_vm.present from a VM) applied as
// one state run, one at a time and then with `parallel: True` (state_max_parallel at its
// default, 8), on a vcsim of its own that answers every SOAP call 50 ms late. In-process.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { startVcsim } from '../test/helpers/vcsim.ts'

const CLONES = 20
const DELAY_MS = 50
const SOURCE = 'DC0_H0_VM0'
const root = join(import.meta.dirname, '..')

export async function benchParallel(
  row: (label: string, ms: number, note?: string) => void,
): Promise<void> {
  const vcsim = await startVcsim({ vm: 1, delay: DELAY_MS })
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-parallel-'))
  const sls = (prefix: string, count: number, parallel: boolean) =>
    Array.from(
      { length: count },
      (_, i) =>
        `${prefix}${i}:\n  vmware_vm.present:\n    - datacenter: DC0\n    - template: ${SOURCE}\n${parallel ? '    - parallel: True\n' : ''}`,
    ).join('')
  writeFileSync(join(dir, 'warmup.sls'), sls('warm', 1, false))
  writeFileSync(join(dir, 'sequential.sls'), sls('seq', CLONES, false))
  writeFileSync(join(dir, 'parallel.sls'), sls('par', CLONES, true))
  const runtime = new Runtime({
    opts: defaultOpts({
      id: 'bench',
      file_roots: [dir],
      pillar_roots: [],
      'saltext.vmware': { host: vcsim.url, user: 'bench', password: 'pw', ca_file: vcsim.caFile },
    }),
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
    env: {},
  })
  const apply = async (mods: string, count: number) => {
    const started = performance.now()
    const result = (await runtime.call('state.sls', { kwargs: { mods } })) as
      | Record<string, StateReturn>
      | string[]
    const ms = performance.now() - started
    const rets = Array.isArray(result) ? [] : Object.values(result)
    const cloned = rets.filter((ret) => ret.result === true && Object.keys(ret.changes).length)
    if (cloned.length !== count)
      throw new Error(
        `${mods}: ${cloned.length} of ${count} clones made: ${JSON.stringify(result)}`,
      )
    return ms
  }
  try {
    await apply('warmup', 1) // login, module loading, the inventory index
    const sequential = await apply('sequential', CLONES)
    const parallel = await apply('parallel', CLONES)
    row(
      `${CLONES} VM clones in one state run, one at a time (${DELAY_MS} ms per call)`,
      sequential,
      `${(sequential / CLONES).toFixed(0)} ms per clone`,
    )
    row(
      `the same ${CLONES} clones with parallel: True (at most 8 at once)`,
      parallel,
      `${(sequential / parallel).toFixed(1)}× faster than one at a time`,
    )
  } finally {
    await runtime.close()
    await vcsim.stop()
  }
}
