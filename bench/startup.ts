// Whole processes, as ad-hoc calls and shell loops run brine (issue 21): wall time (median)
// and peak memory (GNU time's maximum resident set), each paired in this run with its
// yardstick: `node -e 0`, and pyVmomi scripts doing the same work.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Vcsim } from '../test/helpers/vcsim.ts'

type Row = (label: string, ms: number, note?: string) => void

const BIN = join(import.meta.dirname, '..', 'bin', 'brine.js')
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3'
const TIME = '/usr/bin/time'
const RUNS = Number(process.env.BENCH_PROCESS_RUNS ?? 11)

interface Measured {
  ms: number
  /** Peak resident memory in MB, when GNU time is installed. */
  mb: number | undefined
}

/** Run `command` RUNS times; the median wall time and the median peak memory. */
function measure(command: string, args: string[], env: Record<string, string> = {}): Measured {
  const times: number[] = []
  const peaks: number[] = []
  const timed = existsSync(TIME)
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    const result = timed
      ? spawnSync(TIME, ['-f', '%M', command, ...args], {
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1', ...env },
        })
      : spawnSync(command, args, {
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1', ...env },
        })
    times.push(performance.now() - started)
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
    if (timed) peaks.push(Number(result.stderr.trim().split('\n').pop()) / 1024)
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  return { ms: median(times), mb: peaks.length ? median(peaks) : undefined }
}

const mb = (m: Measured) =>
  m.mb === undefined ? 'peak n/a (no /usr/bin/time)' : `peak ${m.mb.toFixed(0)} MB`
const ratio = (a: Measured, b: Measured, what: string) =>
  `${(a.ms / b.ms).toFixed(2)}× ${what}` +
  (a.mb !== undefined && b.mb !== undefined ? `, memory ${(a.mb / b.mb).toFixed(2)}×` : '')

export async function benchStartup(row: Row, vcsim: Vcsim): Promise<void> {
  console.log(`\nWhole processes (median of ${RUNS}; peak memory by GNU time)`)
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-startup-'))
  const config = join(dir, 'brine.yaml')
  writeFileSync(
    config,
    `saltext.vmware:\n  host: ${vcsim.url}\n  user: startup-bench\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
  )
  const env = { BRINE_SESSION_DIR: join(dir, 'sessions'), BRINE_CACHE_DIR: join(dir, 'cache') }
  // Warm the transpile and code caches and the stored session, as a second call finds them.
  measure(process.execPath, [BIN, 'call', 'test.ping'], env)
  measure(
    process.execPath,
    [BIN, '--config', config, '--session-store', 'vmware_datacenter.list'],
    env,
  )

  const node = measure(process.execPath, ['-e', '0'])
  row('node -e 0', node.ms, mb(node))
  const ping = measure(process.execPath, [BIN, 'call', 'test.ping'], env)
  row('brine call test.ping', ping.ms, `${mb(ping)}; ${ratio(ping, node, 'node -e 0')}`)

  const py = (what: string) =>
    existsSync(PYTHON)
      ? measure(PYTHON, [
          join(import.meta.dirname, 'pyvmomi-process.py'),
          what,
          '127.0.0.1',
          String(vcsim.port),
          'startup-bench',
          'pw',
          vcsim.caFile,
        ])
      : undefined
  const dcs = measure(
    process.execPath,
    [BIN, '--config', config, '--session-store', 'vmware_datacenter.list'],
    env,
  )
  const pyDcs = py('datacenters')
  if (pyDcs) row('pyVmomi script: login, list datacenters, logout', pyDcs.ms, mb(pyDcs))
  row(
    'brine --session-store vmware_datacenter.list',
    dcs.ms,
    `${mb(dcs)}${pyDcs ? `; ${ratio(dcs, pyDcs, 'the pyVmomi script')}` : ''}`,
  )
  // What any Node program pays for that call: node-floor.cjs makes the same two round trips
  // on the session brine stored, with node:https and no brine.
  const [sessionFile] = readdirSync(env.BRINE_SESSION_DIR).filter((name) => name.endsWith('.json'))
  if (sessionFile) {
    const floor = measure(process.execPath, [
      join(import.meta.dirname, 'node-floor.cjs'),
      vcsim.url,
      vcsim.caFile,
      join(env.BRINE_SESSION_DIR, sessionFile),
    ])
    row(
      'Node floor: the same 2 round trips, node:https, no brine',
      floor.ms,
      `${mb(floor)}${pyDcs ? `; ${ratio(floor, pyDcs, 'the pyVmomi script')}` : ''}; brine adds ${(dcs.ms - floor.ms).toFixed(0)} ms`,
    )
  }
  const vms = measure(
    process.execPath,
    [BIN, '--config', config, '--session-store', 'vmware_vm.list'],
    env,
  )
  const pyVms = py('vms')
  if (pyVms)
    row('pyVmomi script: login, name + config.template of all VMs, logout', pyVms.ms, mb(pyVms))
  row(
    'brine --session-store vmware_vm.list',
    vms.ms,
    `${mb(vms)}${pyVms ? `; ${ratio(vms, pyVms, 'the pyVmomi script')}` : ''}`,
  )
}
