// Whole processes, as ad-hoc calls and shell loops run brine (issue 21): wall time (median)
// and peak memory (GNU time's maximum resident set), each paired in this run with its
// yardstick: `node -e 0`, and pyVmomi scripts doing the same work. A pair's runs take turns,
// so that both meet the same load (this machine's speed drifts by a fifth within minutes),
// each timed run after an untimed one of the same command, as in a shell loop.
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

interface Command {
  command: string
  args: string[]
  env?: Record<string, string>
}

/** Run `command` RUNS times; the median wall time and the median peak memory. */
function measure(command: string, args: string[], env: Record<string, string> = {}): Measured {
  return measureTogether([{ command, args, env }])[0]!
}

/**
 * Run the commands RUNS times each, taking turns, so that a compared pair meets the same load
 * on a busy machine; the median wall time and peak memory of each. Each timed run comes right
 * after an untimed run of the same command, as in a shell loop (which the issue measures:
 * the files and the CPU's caches are as the same command left them).
 */
function measureTogether(commands: Command[]): Measured[] {
  const times = commands.map((): number[] => [])
  const peaks = commands.map((): number[] => [])
  const timed = existsSync(TIME)
  for (let i = 0; i < RUNS; i++) {
    commands.forEach(({ command, args, env }, which) => {
      const options = {
        encoding: 'utf8' as const,
        env: { ...process.env, NO_COLOR: '1', ...env },
      }
      spawnSync(command, args, options)
      const started = performance.now()
      const result = timed
        ? spawnSync(TIME, ['-f', '%M', command, ...args], options)
        : spawnSync(command, args, options)
      times[which]!.push(performance.now() - started)
      if (result.status !== 0)
        throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
      if (timed) peaks[which]!.push(Number(result.stderr.trim().split('\n').pop()) / 1024)
    })
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  return commands.map((_, which) => ({
    ms: median(times[which]!),
    mb: peaks[which]!.length ? median(peaks[which]!) : undefined,
  }))
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
  // (And the view of all VMs, kept with the stored session.)
  spawnSync(process.execPath, [BIN, '--config', config, '--session-store', 'vmware_vm.list'], {
    env: { ...process.env, ...env },
  })

  const [node, ping] = measureTogether([
    { command: process.execPath, args: ['-e', '0'] },
    { command: process.execPath, args: [BIN, 'call', 'test.ping'], env },
  ])
  if (!node || !ping) throw new Error('no measure of node -e 0 or test.ping')
  row('node -e 0', node.ms, mb(node))
  row('brine call test.ping', ping.ms, `${mb(ping)}; ${ratio(ping, node, 'node -e 0')}`)

  const python = existsSync(PYTHON)
  const py = (what: string): Command => ({
    command: PYTHON,
    args: [
      join(import.meta.dirname, 'pyvmomi-process.py'),
      what,
      '127.0.0.1',
      String(vcsim.port),
      'startup-bench',
      'pw',
      vcsim.caFile,
    ],
  })
  const brine = (fun: string): Command => ({
    command: process.execPath,
    args: [BIN, '--config', config, '--session-store', fun],
    env,
  })
  // What any Node program pays for the datacenters: node-floor.cjs makes the same two round
  // trips on the session brine stored, with node:https and no brine.
  const [sessionFile] = readdirSync(env.BRINE_SESSION_DIR).filter((name) => name.endsWith('.json'))
  const floorOf = (what: 'datacenters' | 'vms'): Command | undefined =>
    sessionFile
      ? {
          command: process.execPath,
          args: [
            join(import.meta.dirname, 'node-floor.cjs'),
            vcsim.url,
            vcsim.caFile,
            join(env.BRINE_SESSION_DIR, sessionFile),
            what,
          ],
        }
      : undefined
  const floorCommand = floorOf('datacenters')
  const together = measureTogether([
    brine('vmware_datacenter.list'),
    ...(python ? [py('datacenters')] : []),
    ...(floorCommand ? [floorCommand] : []),
  ])
  const dcs = together[0]!
  const pyDcs = python ? together[1] : undefined
  const floor = floorCommand ? together.at(-1) : undefined
  if (pyDcs) row('pyVmomi script: login, list datacenters, logout', pyDcs.ms, mb(pyDcs))
  row(
    'brine --session-store vmware_datacenter.list',
    dcs.ms,
    `${mb(dcs)}${pyDcs ? `; ${ratio(dcs, pyDcs, 'the pyVmomi script')}` : ''}`,
  )
  if (floor)
    row(
      'Node floor: the same 2 round trips, node:https, no brine',
      floor.ms,
      `${mb(floor)}${pyDcs ? `; ${ratio(floor, pyDcs, 'the pyVmomi script')}` : ''}; brine adds ${(dcs.ms - floor.ms).toFixed(0)} ms`,
    )
  // And for the VMs: the Node floor's peak memory is where issue 21's memory target stands
  // against any Node program that reads the same answer.
  const vmsFloorCommand = floorOf('vms')
  const vmsTogether = measureTogether([
    brine('vmware_vm.list'),
    ...(python ? [py('vms')] : []),
    ...(vmsFloorCommand ? [vmsFloorCommand] : []),
  ])
  const vms = vmsTogether[0]
  const pyVms = python ? vmsTogether[1] : undefined
  const vmsFloor = vmsFloorCommand ? vmsTogether.at(-1) : undefined
  if (!vms) throw new Error('no measure of vmware_vm.list')
  if (pyVms)
    row('pyVmomi script: login, name + config.template of all VMs, logout', pyVms.ms, mb(pyVms))
  row(
    'brine --session-store vmware_vm.list',
    vms.ms,
    `${mb(vms)}${pyVms ? `; ${ratio(vms, pyVms, 'the pyVmomi script')}` : ''}`,
  )
  if (vmsFloor)
    row(
      'Node floor: the same 2 round trips over the kept view, node:https, no brine',
      vmsFloor.ms,
      `${mb(vmsFloor)}${pyVms ? `; ${ratio(vmsFloor, pyVms, 'the pyVmomi script')}` : ''}; brine adds ${(vms.ms - vmsFloor.ms).toFixed(0)} ms`,
    )
}
