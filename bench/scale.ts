// Per-entity work on the 5,000-VM vcsim (issue 12): no-op states as a whole process against one
// vmware_vm.list process, vmware_vm.info against pyVmomi's naive find-by-name, and the heap
// an inventory index takes. Prints; asserts nothing.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import type { Vcsim } from '../test/helpers/vcsim.ts'
import type { ResolvedConnectionParams } from '../vsphere/connection-params.ts'
import { inventoryIndex } from '../vsphere/inventory-index.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { runPyvmomi } from './pyvmomi.ts'

type Row = (label: string, ms: number, note?: string) => void

const BIN = join(import.meta.dirname, '..', 'bin', 'brine.js')
const STATES = Number(process.env.BENCH_NOOP_STATES ?? 200)
const VM = 'DC0_C0_RP0_VM7'

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Wall time of a child `brine` process; its stdout. */
function brine(args: string[]): { ms: number; stdout: string } {
  const started = performance.now()
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  })
  const ms = performance.now() - started
  if (result.status !== 0) throw new Error(`brine ${args.join(' ')} failed: ${result.stderr}`)
  return { ms, stdout: result.stdout }
}

function runtimeFor(vcsim: Vcsim, user: string): Runtime {
  return new Runtime({
    opts: defaultOpts({
      id: 'bench',
      file_roots: [],
      pillar_roots: [],
      'saltext.vmware': { host: vcsim.url, user, password: 'pw', ca_file: vcsim.caFile },
    }),
    pillar: {},
    moduleDirs: [join(import.meta.dirname, '..', 'modules')],
    stateDirs: [join(import.meta.dirname, '..', 'states')],
    signal: new AbortController().signal,
    env: {},
  })
}

export async function benchScale(
  row: Row,
  vcsim: Vcsim,
  params: ResolvedConnectionParams,
  rounds: number,
): Promise<void> {
  console.log(`\nNo-op states at scale (child processes, ${STATES} vmware_vm.present)`)
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-scale-'))
  const roots = join(dir, 'salt')
  mkdirSync(roots)
  const config = join(dir, 'brine.yaml')
  writeFileSync(
    config,
    `file_roots: [${roots}]\npillar_roots: []\nsaltext.vmware:\n  host: ${vcsim.url}\n  user: scale-bench\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
  )
  // VMs of the cluster, each already as stated (1 CPU): nothing to change.
  const sls = (count: number) =>
    Array.from(
      { length: count },
      (_, i) =>
        `DC0_C0_RP0_VM${i}:\n  vmware_vm.present:\n    - datacenter: DC0\n    - num_cpu: 1\n`,
    ).join('')
  writeFileSync(join(roots, 'noop.sls'), sls(STATES))
  writeFileSync(join(roots, 'one.sls'), sls(1))

  const list = median(
    Array.from(
      { length: 5 },
      () => brine(['--config', config, 'vmware_vm.list', '--out', 'quiet']).ms,
    ),
  )
  const checked = brine(['--config', config, '--out', 'json', 'state.sls', 'noop'])
  const returns = Object.values(
    (JSON.parse(checked.stdout) as { local: Record<string, Record<string, unknown>> }).local,
  )
  const changed = returns.filter((r) => r.result !== true || Object.keys(r.changes ?? {}).length)
  const many = median(
    Array.from(
      { length: 3 },
      () => brine(['--config', config, '--out', 'quiet', 'state.sls', 'noop']).ms,
    ),
  )
  const one = median(
    Array.from(
      { length: 3 },
      () => brine(['--config', config, '--out', 'quiet', 'state.sls', 'one']).ms,
    ),
  )
  row('brine vmware_vm.list (one process)', list, 'median of 5')
  row(
    `brine state.sls of ${STATES} no-op vmware_vm.present (one process)`,
    many,
    `median of 3; ${(many / list).toFixed(2)}× one vmware_vm.list process; ${returns.length} states, ${changed.length} not already as wanted`,
  )
  row('brine state.sls of 1 no-op vmware_vm.present (one process)', one, 'median of 3')
  row(
    'each further no-op state, the index built',
    (many - one) / (STATES - 1),
    `(${STATES} states − 1 state) / ${STATES - 1}`,
  )

  console.log('\nvmware_vm.info on one VM of 5,000')
  const warm = runtimeFor(vcsim, 'info-bench')
  const coldStarted = performance.now()
  await warm.call('vmware_vm.info', { kwargs: { name: VM } })
  const cold = performance.now() - coldStarted
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < rounds * 3; i++) {
    const started = performance.now()
    await warm.call('vmware_vm.info', { kwargs: { name: VM } })
    best = Math.min(best, performance.now() - started)
  }
  await warm.close()
  const naive = runPyvmomi<{ find_ms: number }>('pyvmomi-find.py', [
    '127.0.0.1',
    String(vcsim.port),
    'py-find',
    'pw',
    vcsim.caFile,
    String(rounds),
    VM,
  ])?.find_ms
  if (naive !== undefined)
    row('pyVmomi naive: view of all names, then that VM’s properties', naive, `best of ${rounds}`)
  row(
    'brine vmware_vm.info, index warm',
    best,
    `best of ${rounds * 3}${naive ? `; ${(best / naive).toFixed(3)}× pyVmomi's naive time` : ''}`,
  )
  row(
    'brine vmware_vm.info, first call of a process',
    cold,
    `login, module load, index build; ${naive ? `${(cold / naive).toFixed(2)}× pyVmomi's naive time` : ''}`,
  )

  let build = Number.POSITIVE_INFINITY
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    const fresh = await ServiceInstance.connect(params)
    await fresh.login()
    await inventoryIndex(fresh)
    build = Math.min(build, performance.now() - started)
    await fresh.logout()
  }
  row(
    'brine: connect, login and build the index (the cold part)',
    build,
    `best of ${rounds}${naive ? `; ${(build / naive).toFixed(2)}× pyVmomi's naive time, paid once per session` : ''}`,
  )

  console.log('\nInventory index heap (5,000 VMs and the rest of the inventory)')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // A first index warms the decoder, the schema and the code paths; the second is measured.
  const warmup = await ServiceInstance.connect(params)
  await warmup.login()
  await inventoryIndex(warmup)
  await warmup.logout()
  const si = await ServiceInstance.connect(params)
  await si.login()
  gc()
  const before = process.memoryUsage().heapUsed
  const index = await inventoryIndex(si)
  gc()
  const heap = process.memoryUsage().heapUsed - before
  row(
    'inventory index heap after GC',
    0,
    `${(heap / 1024 / 1024).toFixed(2)} MiB for ${index.size} entities (${Math.round(heap / index.size)} bytes each)`,
  )
  await si.logout()
}
