// A plain vSphere call does not load the console store's SQLite binding or the WebSocket
// library (every vmware_vm.* call loads the console module), nor undici's index with its fetch
// and Node's own copy of undici (the transport needs only undici's Pool: issue 21); a console
// call loads the SQLite binding; node:http2 is not loaded either (scripts/lazy-http2.cjs); a
// call reads its config file once.
// Counted from the CLI process's module cache and Node's
// process.moduleLoadList, not timed.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isolatedCliEnv, runNode } from './helpers/cli.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const tmp = mkdtempSync(join(tmpdir(), 'brine-lazy-'))
const script = join(import.meta.dirname, 'helpers', 'cli-loaded.ts')
/** The built command (`npm test` builds first), as a user runs it. */
const bin = join(import.meta.dirname, '..', 'bin', 'brine.js')
let vcsim: Vcsim
let config: string

beforeAll(async () => {
  vcsim = await startVcsim()
  config = join(tmp, 'brine.yaml')
  writeFileSync(
    config,
    `data_dir: ${join(tmp, 'data')}\nsaltext.vmware:\n  host: ${vcsim.url}\n  user: lazy\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
  )
})
afterAll(async () => {
  await vcsim?.stop()
})

async function loadedBy(args: string[]): Promise<string[]> {
  const run = await runNode(['--import', 'tsx', script, '--config', config, ...args], {
    cwd: join(import.meta.dirname, '..'), // where `--import tsx` resolves
    env: isolatedCliEnv(tmp),
  })
  expect(run.code, run.stderr).toBe(0)
  const line = /loaded: (\[.*\])\n$/.exec(run.stderr)
  expect(line, run.stderr).not.toBeNull()
  return JSON.parse(line![1]!) as string[]
}

describe('what a call loads', () => {
  it('vmware_vm.list and vmware_vm.info load neither better-sqlite3, ws nor undici’s fetch', async () => {
    expect(await loadedBy(['vmware_vm.list'])).toEqual([])
    expect(await loadedBy(['vmware_vm.info', 'DC0_H0_VM0'])).toEqual([])
  })

  it('test.ping from the built command loads neither node:crypto nor node:v8; a vSphere call loads v8 for its first connection', async () => {
    let pingLargeObjects = 0
    const builtins = async (args: string[]) => {
      const run = await runNode(
        ['-r', join(import.meta.dirname, 'helpers', 'builtins-loaded.cjs'), bin, ...args],
        {
          env: isolatedCliEnv(tmp),
        },
      )
      expect(run.code, run.stderr).toBe(0)
      pingLargeObjects ||= Number(/large objects: (\d+)\n/.exec(run.stderr)?.[1])
      const line = /builtins: (\[.*\])\n$/.exec(run.stderr)
      expect(line, run.stderr).not.toBeNull()
      return JSON.parse(line![1]!) as string[]
    }
    const ping = await builtins(['test.ping'])
    expect(ping).toContain('vm') // the V8 code cache: the check sees what is loaded
    expect(pingLargeObjects).toBeGreaterThan(0)
    expect(ping.filter((name) => /^(crypto|v8|http2?|tls)$|undici/.test(name))).toEqual([])
    const list = await builtins(['--config', config, 'vmware_vm.list'])
    expect(list).toEqual(expect.arrayContaining(['crypto', 'v8', 'tls']))
    // The bundle's text is held once (scripts/build.ts wrapCli): wrapping it at run time
    // made a second copy, which a short call never collects (issue 21's peak memory).
    const stub = readFileSync(join(import.meta.dirname, '..', 'dist', 'cli.cjs'), 'utf8')
    const bundle = statSync(
      join(import.meta.dirname, '..', 'dist', /require\('\.\/([^']+)'\)/.exec(stub)![1]!),
    ).size
    expect(pingLargeObjects).toBeLessThan(bundle * 1.5)
    expect(list.filter((name) => name.includes('undici') || name.includes('http2'))).toEqual([])
    // node:fs/promises loads node:readline; only an OVF import reads files that way.
    expect(list.filter((name) => /readline|^fs\/promises$/.test(name))).toEqual([])
    // undici's node:assert is scripts/lazy-assert.cjs; SOAP timings use process.hrtime (the
    // global `performance` loads node:perf_hooks).
    expect(list).not.toContain('assert')
    expect(list).not.toContain('perf_hooks')
  })

  it('a call reads its config file once: the daemon client (daemon: auto) and the call share the options', async () => {
    const reads = async (args: string[], env: Record<string, string> = {}) => {
      const run = await runNode(
        ['-r', join(import.meta.dirname, 'helpers', 'count-reads.cjs'), bin, ...args],
        { env: isolatedCliEnv(tmp, { COUNT_READS_OF: config, ...env }) },
      )
      expect(run.code, run.stderr).toBe(0)
      return Number(/reads: (\d+)\n$/.exec(run.stderr)?.[1])
    }
    expect(await reads(['--config', config, 'test.ping'])).toBe(1)
    expect(await reads(['--config', config, 'vmware_datacenter.list'])).toBe(1)
    // The config named by BRINE_CONFIG instead of -c.
    expect(await reads(['test.ping'], { BRINE_CONFIG: config })).toBe(1)
  })

  it('code caches per kind of call cover what the calls ran: written again once when a call runs an area its cache lacks, then used as is', async () => {
    const cacheDir = join(tmp, 'code-cache-areas')
    const run = async (args: string[], extra: Record<string, string> = {}) => {
      const result = await runNode([bin, ...args], {
        env: { ...isolatedCliEnv(tmp), BRINE_CACHE_DIR: cacheDir, ...extra },
      })
      expect(result.code, result.stderr).toBe(0)
      const caches: Record<string, { areas: string; bytes: number; at: number }> = {}
      for (const name of readdirSync(join(cacheDir, 'code'))) {
        const path = join(cacheDir, 'code', name)
        const data = readFileSync(path)
        caches[/^build-[0-9a-f]+-(\w+)-v/.exec(name)![1]!] = {
          areas: data.subarray(0, data.indexOf(10)).toString('latin1'),
          bytes: data.length,
          at: statSync(path).mtimeMs,
        }
      }
      return caches
    }
    const ping = await run(['test.ping'])
    expect(ping).toEqual({ base: expect.objectContaining({ areas: 'brine-code-cache ' }) })
    // A vSphere call has a cache of its own (test.ping would deserialize the SOAP client,
    // the sessions and undici for nothing), covering the vsphere area.
    const list = await run(['--config', config, 'vmware_datacenter.list'])
    expect(list.base).toEqual(ping.base)
    expect(list.vsphere!.areas).toBe('brine-code-cache vsphere')
    expect(list.vsphere!.bytes).toBeGreaterThan(ping.base!.bytes)
    // V8 accepts both (a rejected cache is written anew): the flags the vSphere cache was
    // made under are the defaults again, though that call set --liftoff-only.
    expect(await run(['--config', config, 'vmware_datacenter.list'])).toEqual(list)
    expect(await run(['test.ping'])).toEqual(list)
    // Without the daemon's fast path too (bin/brine.js then loads the bundle at once).
    expect(await run(['test.ping'], { BRINE_DAEMON: 'never' })).toEqual(list)
    // A state run that reaches vCenter writes its cache once more, with the vsphere area.
    const nop = await run(['state.single', 'test.nop', 'name=x'])
    expect(nop.state!.areas).toBe('brine-code-cache state')
    const present = ['--config', config, 'state.single', 'vmware_datacenter.present', 'name=DC0']
    const connected = await run([...present, 'test=True'])
    expect(connected.state!.areas).toBe('brine-code-cache state,vsphere')
    expect(connected.state!.bytes).toBeGreaterThan(nop.state!.bytes)
    expect(await run([...present, 'test=True'])).toEqual(connected)
  })

  it('the node:http2 stand-in the bundles give undici has node:http2’s constants', () => {
    const standIn = createRequire(import.meta.url)('../scripts/lazy-http2.cjs') as {
      constants: Record<string, unknown>
    }
    const real = http2.constants as unknown as Record<string, unknown>
    for (const [name, value] of Object.entries(standIn.constants))
      expect(value, name).toBe(real[name])
    expect(Object.keys(standIn.constants)).toHaveLength(10)
  })

  it('undici calls node:assert only as a function, all the stand-in the bundles give it has', () => {
    const lib = join(import.meta.dirname, '..', 'node_modules', 'undici', 'lib')
    const files = readdirSync(lib, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.js'))
      .map((name) => readFileSync(join(lib, name), 'utf8'))
    const users = files.filter((text) => /require\('(node:)?assert'\)/.test(text))
    expect(users.length).toBeGreaterThan(10) // the check sees undici's files
    for (const text of users) {
      expect(text).toMatch(/const assert = require\('node:assert'\)/)
      expect(text).not.toMatch(/\bassert\s*\.\s*\w/)
    }
    const standIn = createRequire(import.meta.url)('../scripts/lazy-assert.cjs') as (
      value: unknown,
      message?: string,
    ) => void
    expect(() => standIn(1)).not.toThrow()
    expect(() => standIn(0, 'checked')).toThrow(expect.objectContaining({ name: 'AssertionError' }))
  })

  it('a console call loads the SQLite binding (the check sees what it looks for)', async () => {
    expect(await loadedBy(['console.list'])).toContain('better-sqlite3')
  })
})
