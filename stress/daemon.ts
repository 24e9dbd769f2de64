// npm run stress:daemon: the stress proof through `brine daemon` (issue 20). Clients make
// 10,000 calls (a user module that uses vCenter, and vmware_vm.info) while the module is
// rewritten every 100 calls; afterwards, in the daemon: the heap flat after GC, one
// ServiceInstance object and one ServiceInstance class (heap snapshot), old module
// generations collected, one login and one session on the server; after SIGTERM, none.
//
//   npm run stress:daemon                 # 10,000 calls
//   npm run stress:daemon -- --calls 1000
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { parseArgs } from 'node:util'
import { callDaemon, requestDaemon } from '../cli/daemon-client.ts'
import type { DaemonStatus } from '../cli/daemon-server.ts'
import { sessionsOf } from '../test/helpers/sessions.ts'
import { startVcsim } from '../test/helpers/vcsim.ts'
import { heapFacts } from './analyze.ts'

const { values } = parseArgs({
  options: { calls: { type: 'string' }, concurrency: { type: 'string' } },
})
const CALLS = Number(values.calls ?? 10_000)
const CONCURRENCY = Number(values.concurrency ?? 8)
const RELOAD_EVERY = 100
/** Heap growth allowed after GC between the baseline (after warm-up) and the end. */
const HEAP_BOUND = 4 * 1024 * 1024
const USER = 'stress-daemon'

const dir = mkdtempSync(join(tmpdir(), 'brine-stress-daemon-'))
const mods = join(dir, 'mods')
mkdirSync(mods)
const writeModule = (version: number) =>
  writeFileSync(
    join(mods, 'stressmod.ts'),
    `import { defineModule, defineFunction } from 'brine/loader'
import { getEntity } from 'brine/vsphere'
// version ${version}
export default defineModule({
  functions: {
    vm: defineFunction({
      doc: 'the name of a VM, and the module version',
      args: {},
      vsphere: true,
      run: async (ctx) => {
        const vm = await getEntity(ctx.serviceInstance, 'VirtualMachine', 'DC0_H0_VM0', { signal: ctx.signal })
        return { name: vm.name, version: ${version} }
      },
    }),
  },
})
`,
  )

const vcsim = await startVcsim()
const config = join(dir, 'brine.yaml')
writeFileSync(
  config,
  `module_dirs: [${mods}]\nsaltext.vmware:\n  host: ${vcsim.url}\n  user: ${USER}\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
)
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  NO_COLOR: '1',
  BRINE_CONFIG: config,
  BRINE_RUNTIME_DIR: join(dir, 'rt'),
  BRINE_SESSION_DIR: join(dir, 'sessions'),
}
writeModule(0)
// From the sources (as the in-process stress suite runs): heap snapshots then name the classes.
const root = join(import.meta.dirname, '..')
const daemon = spawn(
  process.execPath,
  [
    '--expose-gc',
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    `const { main } = await import(${JSON.stringify(join(root, 'cli', 'main.ts'))}); process.exitCode = await main(['daemon'])`,
  ],
  { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] },
)
let daemonLog = ''
await new Promise<void>((resolve, reject) => {
  daemon.stderr.on('data', (chunk) => {
    daemonLog += chunk
    if (daemonLog.includes('brine daemon ready')) resolve()
  })
  daemon.on('exit', (code) => reject(new Error(`brine daemon exited (${code}):\n${daemonLog}`)))
})
const socket = join(dir, 'rt', 'daemon.sock')
const status = async (options: { gc?: boolean; heapSnapshot?: string } = {}) => {
  const answer = await requestDaemon(socket, { type: 'status', ...options })
  if (answer.type !== 'status') throw new Error(`unexpected answer ${answer.type}`)
  return answer.status as DaemonStatus
}

/** One client call; resolves with its parsed JSON result. */
async function call(argv: string[]): Promise<unknown> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk) => {
    out += chunk
  })
  stderr.on('data', (chunk) => {
    err += chunk
  })
  const code = await callDaemon(
    ['--out', 'json', ...argv],
    { config },
    { stdout, stderr },
    new AbortController().signal,
    {
      ...env,
      BRINE_DAEMON: 'always',
    },
  )
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${err}`)
  return (JSON.parse(out) as { local: unknown }).local
}

const failures: string[] = []
let version = 0
let baseline: number | undefined
let reloadsSeen = 0
const sessionSamples: number[] = []
try {
  for (let done = 0; done < CALLS; ) {
    const batch = Math.min(RELOAD_EVERY, CALLS - done)
    // A batch of calls at CONCURRENCY, every result checked.
    for (let i = 0; i < batch; i += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, batch - i) }, async (_, j) => {
          if ((i + j) % 2) {
            const info = (await call(['vmware_vm.info', 'DC0_H0_VM0'])) as { name: string }
            if (info.name !== 'DC0_H0_VM0') failures.push(`vmware_vm.info gave ${info.name}`)
          } else {
            const result = (await call(['stressmod.vm'])) as { name: string; version: number }
            if (result.name !== 'DC0_H0_VM0' || result.version !== version)
              failures.push(
                `stressmod.vm gave ${JSON.stringify(result)}, version ${version} expected`,
              )
          }
        }),
      )
    }
    done += batch
    // Rewrite the module, and wait (bounded) until the daemon serves the new version.
    version++
    writeModule(version)
    for (let tries = 0; ; tries++) {
      const result = (await call(['stressmod.vm'])) as { version: number }
      if (result.version === version) break
      if (tries > 400) throw new Error(`version ${version} was never loaded`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    reloadsSeen++
    if (done === Math.min(1000, CALLS)) baseline = (await status({ gc: true })).memory.heap_used
    if (done % 1000 === 0) {
      sessionSamples.push((await sessionsOf(vcsim, USER)).length)
      const s = await status({ gc: true })
      console.log(
        `  ${String(done).padStart(6)} calls: heap ${(s.memory.heap_used / 1024 / 1024).toFixed(1)} MB, ${reloadsSeen} reloads, ${sessionSamples.at(-1)} session(s)`,
      )
    }
  }
  // Facts of the daemon's heap, after GC.
  const snapshot = join(dir, 'final.heapsnapshot')
  const final = await status({ gc: true })
  await status({ gc: true, heapSnapshot: snapshot })
  const heap = await heapFacts(snapshot)
  const loader = final.parts.loader as { modules: Record<string, number>; retired_alive: number[] }
  const sessions = final.parts.sessions as { logins: number }
  const growth = final.memory.heap_used - (baseline ?? final.memory.heap_used)
  if (heap.serviceInstanceObjects !== 1)
    failures.push(`${heap.serviceInstanceObjects} live ServiceInstance objects (want 1)`)
  if (heap.serviceInstanceClasses !== 1)
    failures.push(`${heap.serviceInstanceClasses} ServiceInstance classes (want 1)`)
  const loaded =
    Object.keys(loader.modules).length +
    Object.keys((final.parts.loader as { states: object }).states).length
  if (heap.moduleGenerations !== loaded)
    failures.push(`${heap.moduleGenerations} live module generations for ${loaded} loaded modules`)
  if (loader.retired_alive.length)
    failures.push(`old generations not collected: ${loader.retired_alive.join(', ')}`)
  if (sessions.logins !== 1) failures.push(`${sessions.logins} logins (want 1)`)
  if (sessionSamples.some((n) => n !== 1))
    failures.push(`server sessions during the run: ${sessionSamples.join(',')} (want 1)`)
  if (growth > HEAP_BOUND)
    failures.push(
      `heap grew by ${(growth / 1024 / 1024).toFixed(2)} MB after warm-up (bound ${HEAP_BOUND / 1024 / 1024} MB)`,
    )
  console.log(
    `daemon: ${CALLS} calls, ${reloadsSeen} reloads; heap growth after warm-up ${(growth / 1024).toFixed(0)} KB; ${heap.serviceInstanceObjects} ServiceInstance, ${heap.serviceInstanceClasses} class; ${heap.moduleGenerations} generations live; ${sessions.logins} login(s)`,
  )
} finally {
  daemon.kill('SIGTERM')
  await new Promise((resolve) => daemon.once('exit', resolve))
  const left = (await sessionsOf(vcsim, USER)).length
  if (left !== 0) failures.push(`${left} sessions left on the server after SIGTERM`)
  await vcsim.stop()
}
if (failures.length) {
  console.error(`FAILED:\n  ${failures.join('\n  ')}`)
  process.exitCode = 1
} else console.log('passed')
