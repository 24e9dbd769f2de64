// The client side of `brine call` through a daemon is small (issue 20): it loads neither the
// modules, the vSphere client (nor undici), the module loader nor the state runner; the same
// call in-process does (the check sees what it looks for). Counted from the files the client
// process loaded, not timed.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bin, isolatedCliEnv, runNode } from './helpers/cli.ts'
import { type DaemonProcess, startDaemon } from './helpers/daemon.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const root = join(import.meta.dirname, '..')
const tmp = mkdtempSync(join(tmpdir(), 'brine-daemon-client-'))
const script = join(import.meta.dirname, 'helpers', 'cli-imports.ts')
let vcsim: Vcsim
let daemon: DaemonProcess
let env: Record<string, string | undefined>

/** What a call needs that the client must leave to the daemon. */
const HEAVY = [
  /^modules\//,
  /^states\//,
  /^vsphere\//,
  /^runner\//,
  /^pillar\//,
  /^loader\/(loader|runtime|evaluate|host-modules)\.ts$/,
  // (not esbuild: tsx, which runs these sources, loads it)
  /^node_modules\/(undici|saxes|zod)\//,
]

beforeAll(async () => {
  vcsim = await startVcsim()
  const config = join(tmp, 'brine.yaml')
  writeFileSync(
    config,
    `data_dir: ${join(tmp, 'data')}\nfile_roots: [${join(import.meta.dirname, 'fixtures', 'states')}]\nsaltext.vmware:\n  host: ${vcsim.url}\n  user: client\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
  )
  env = isolatedCliEnv(tmp, { BRINE_CONFIG: config, BRINE_RUNTIME_DIR: join(tmp, 'rt') })
  daemon = await startDaemon(env, { cwd: tmp })
})
afterAll(async () => {
  await daemon?.stop()
  await vcsim?.stop()
})

async function heavyLoadedBy(args: string[], mode: 'always' | 'never'): Promise<string[]> {
  const run = await runNode(['--import', 'tsx', script, ...args], {
    cwd: root, // where `--import tsx` resolves
    env: { ...env, BRINE_DAEMON: mode },
  })
  expect(run.code, run.stdout + run.stderr.slice(0, 300)).toBe(0)
  const line = /imports: (\[.*\])\n$/.exec(run.stderr)
  expect(line, run.stderr).not.toBeNull()
  // node_modules may be a link to another checkout's: name packages from node_modules/ on.
  const files = (JSON.parse(line![1]!) as string[]).map((file) =>
    file.includes('/node_modules/')
      ? file.slice(file.lastIndexOf('/node_modules/') + 1)
      : relative(root, file),
  )
  expect(files).toContain('cli/main.ts')
  return files.filter((file) => HEAVY.some((pattern) => pattern.test(file)))
}

describe('the daemon client', () => {
  it('loads no module, vSphere client, loader or state runner for a call', async () => {
    expect(await heavyLoadedBy(['vmware_vm.info', 'DC0_H0_VM0'], 'always')).toEqual([])
    expect(await heavyLoadedBy(['test.ping'], 'always')).toEqual([])
    expect(await heavyLoadedBy(['state.apply', 'order', 'test=True'], 'always')).toEqual([])
  })

  it('in-process, the same call loads them (the check sees what it looks for)', async () => {
    const heavy = await heavyLoadedBy(['vmware_vm.info', 'DC0_H0_VM0'], 'never')
    expect(heavy).toContain('loader/runtime.ts')
    // Modules are evaluated with vm.Script, not imported: the loader stands for them.
    expect(heavy).toContain('loader/loader.ts')
    expect(heavy.some((file) => file.startsWith('vsphere/'))).toBe(true)
    expect(heavy.some((file) => file.startsWith('node_modules/undici/'))).toBe(true)
  })
})

describe('bin/brine.js with a daemon running (the built CLI)', () => {
  it('sends the call without compiling the CLI bundle: its code cache is never written', async () => {
    // bin/brine.js compiles dist's cli.cjs with a V8 code cache it writes after the first
    // compile; the fast path (client.cjs) reaches the daemon without it.
    const cache = join(tmp, 'client-cache')
    const through = await runNode([bin, 'test.ping'], {
      cwd: tmp,
      env: { ...env, BRINE_CACHE_DIR: cache },
    })
    expect(through).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    expect(existsSync(join(cache, 'code'))).toBe(false)
    const inProcess = await runNode([bin, 'test.ping'], {
      cwd: tmp,
      env: { ...env, BRINE_CACHE_DIR: cache, BRINE_DAEMON: 'never' },
    })
    expect(inProcess).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    expect(readdirSync(join(cache, 'code'))).toHaveLength(1)
  })
})
