// brine call through a warm `brine daemon` against `node -e 0` and the in-process call
// (issue 20's targets: test.ping within 1.3×, vmware_vm.info within 1.5× `node -e 0`).
// Child processes, medians of one run; asserts nothing.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Vcsim } from '../test/helpers/vcsim.ts'

const BIN = join(import.meta.dirname, '..', 'bin', 'brine.js')
const RUNS = Number(process.env.BENCH_DAEMON_RUNS ?? 21)

type Row = (label: string, ms: number, note?: string) => void

export async function benchDaemon(row: Row, vcsim: Vcsim, vm: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-daemon-'))
  const config = join(dir, 'brine.yaml')
  writeFileSync(
    config,
    `saltext.vmware:\n  host: ${vcsim.url}\n  user: daemon-bench\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
  )
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NO_COLOR: '1',
    BRINE_CONFIG: config,
    BRINE_RUNTIME_DIR: join(dir, 'rt'),
  }
  const timeProcess = (args: string[], extra: Record<string, string> = {}) => {
    const started = performance.now()
    const result = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      env: { ...env, ...extra },
    })
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`)
    return performance.now() - started
  }
  const median = (fn: () => number) => {
    const values = Array.from({ length: RUNS }, fn).sort((a, b) => a - b)
    return values[Math.floor(values.length / 2)]!
  }

  const daemon = spawn(process.execPath, [BIN, 'daemon'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  await new Promise<void>((resolve, reject) => {
    let log = ''
    daemon.stderr.on('data', (chunk) => {
      log += chunk
      if (log.includes('brine daemon ready')) resolve()
    })
    daemon.on('exit', (code) => reject(new Error(`brine daemon exited (${code}):\n${log}`)))
  })
  try {
    const always = { BRINE_DAEMON: 'always' }
    const never = { BRINE_DAEMON: 'never' }
    const info = [BIN, 'call', 'vmware_vm.info', vm]
    // Warm: the daemon's session, index and modules.
    timeProcess(info, always)
    const bare = median(() => timeProcess(['-e', '0']))
    const ping = median(() => timeProcess([BIN, 'call', 'test.ping'], always))
    const pingLocal = median(() => timeProcess([BIN, 'call', 'test.ping'], never))
    const vmInfo = median(() => timeProcess(info, always))
    const vmInfoLocal = median(() => timeProcess(info, never))
    const ratio = (ms: number, target?: number) =>
      `median of ${RUNS}, ${(ms / bare).toFixed(2)}× node -e 0${target ? ` (target ${target}×)` : ''}`
    row('node -e 0', bare, `median of ${RUNS}`)
    row('brine call test.ping through a warm daemon', ping, ratio(ping, 1.3))
    row('brine call test.ping in-process', pingLocal, ratio(pingLocal))
    row(`brine call vmware_vm.info ${vm} through a warm daemon`, vmInfo, ratio(vmInfo, 1.5))
    row(`brine call vmware_vm.info ${vm} in-process`, vmInfoLocal, ratio(vmInfoLocal))
  } finally {
    daemon.kill('SIGTERM')
    await new Promise((resolve) => daemon.once('exit', resolve))
  }
}
