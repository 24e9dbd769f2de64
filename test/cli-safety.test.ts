import { spawn } from 'node:child_process'
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bin, isolatedCliEnv, runCli, runNode } from './helpers/cli.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

// The CLI's duties when its surroundings misbehave: a reader that closes the output pipe
// early (`brine … | head`) and an --out-file that cannot be written.

const tmp = mkdtempSync(join(tmpdir(), 'brine-cli-safety-'))
const cleanEnv = isolatedCliEnv(tmp, { NO_COLOR: '1' })
const brine = (args: string[]) => runCli(args, { cwd: tmp, env: cleanEnv })

// vmware_vm.list, repeated to a few megabytes: far more than a pipe holds, so the write is
// still under way when the reader goes.
const moduleDir = join(tmp, 'modules')
mkdirSync(moduleDir)
writeFileSync(
  join(moduleDir, 'bigout.ts'),
  `import { defineFunction, defineModule } from 'brine/loader'

export default defineModule({
  functions: {
    names: defineFunction({
      doc: 'vmware_vm.list, repeated 100,000 times.',
      args: {},
      vsphere: true,
      run: async (ctx) => {
        const names = (await ctx.salt('vmware_vm.list', {})) as string[]
        return Array.from({ length: 100_000 }, (_, i) => names[i % names.length])
      },
    }),
  },
})
`,
)

interface Closed {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
  firstChunk: number
}

/**
 * Run the real CLI with its stdout read end closed: after the first chunk, or before any
 * output at all (`immediately`, which closes stderr too).
 */
function runWithClosedOutput(args: string[], immediately = false): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries({ ...process.env, ...cleanEnv }))
      if (value !== undefined) env[key] = value
    const child = spawn(process.execPath, [bin, ...args], { cwd: tmp, env })
    let stderr = ''
    let firstChunk = 0
    if (immediately) {
      child.stdout.destroy()
      child.stderr.destroy()
    } else {
      child.stderr.on('data', (chunk) => {
        stderr += chunk
      })
      child.stdout.once('data', (chunk: Buffer) => {
        firstChunk = chunk.length
        child.stdout.destroy()
      })
    }
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stderr, firstChunk }))
  })
}

describe('brine CLI: a closed output pipe and --out-file, against vcsim', () => {
  let vcsim: Vcsim
  const configFor = (user: string) => {
    const path = join(tmp, `${user}.yaml`)
    writeFileSync(
      path,
      `saltext.vmware:\n  host: ${vcsim.url}\n  user: ${user}\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
    )
    return path
  }
  beforeAll(async () => {
    vcsim = await startVcsim()
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  it('logs out when the reader closes stdout mid-output (brine … | head), exit code unchanged', async () => {
    const config = configFor('pipe-user')
    const result = await runWithClosedOutput([
      '--config',
      config,
      '-m',
      moduleDir,
      '-l',
      'debug',
      'bigout.names',
    ])
    expect(result.firstChunk).toBeGreaterThan(0)
    // The write really failed with EPIPE (the output is far larger than what was read) ...
    expect(result.stderr).toContain('the output pipe was closed by its reader (EPIPE)')
    // ... without a crash, and the session was logged out.
    expect(result.stderr).not.toMatch(/Error|Emitted 'error' event/)
    expect(result).toMatchObject({ code: 0, signal: null })
    expect(await sessionsOf(vcsim, 'pipe-user')).toHaveLength(0)
  })

  it('logs out when stdout and stderr are closed before any output', async () => {
    const config = configFor('closed-user')
    const result = await runWithClosedOutput(
      ['--config', config, '-l', 'debug', 'vmware_vm.list'],
      true,
    )
    expect(result).toMatchObject({ code: 0, signal: null })
    expect(await sessionsOf(vcsim, 'closed-user')).toHaveLength(0)
  })

  it('refuses an --out-file it cannot open before anything runs (exit 2, the path named)', async () => {
    const config = configFor('file-user')
    const missing = join(tmp, 'no-such-dir', 'out.json')
    const result = await brine([
      '--config',
      config,
      '--out-file',
      missing,
      'vmware_datacenter.create',
      'DC-outfile',
    ])
    expect(result).toMatchObject({ code: 2, stdout: '' })
    expect(result.stderr).toBe(
      `Error: cannot open --out-file ${missing} for writing: ENOENT (no such file or directory); nothing was run.\n`,
    )
    const directory = await brine(['--config', config, '--out-file', tmp, 'test.ping'])
    expect(directory.code).toBe(2)
    expect(directory.stderr).toContain(`cannot open --out-file ${tmp} for writing: EISDIR`)

    // Nothing was created on the server.
    const list = await brine(['--config', config, '--out', 'json', 'vmware_datacenter.list'])
    expect(list.code).toBe(0)
    expect(JSON.parse(list.stdout).local).not.toContain('DC-outfile')
    expect(await sessionsOf(vcsim, 'file-user')).toHaveLength(0)
  })

  it('creates --out-file 0600, and leaves no file (or the old content) when the call fails', async () => {
    const config = configFor('file-user')
    const file = join(tmp, 'token.json')
    const ok = await brine([
      '--config',
      config,
      '--out',
      'json',
      '--out-file',
      file,
      'vmware_datacenter.list',
    ])
    expect(ok).toMatchObject({ code: 0, stdout: '' })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8')).local).toContain('DC0')

    // A shorter output replaces a longer one completely.
    const echo = await brine(['--out', 'json', '--out-file', file, 'test.echo', 'x'])
    expect(echo.code).toBe(0)
    expect(readFileSync(file, 'utf8')).toBe('{\n    "local": "x"\n}\n')

    const failed = await brine(['--out-file', file, 'test.exception', 'it broke'])
    expect(failed).toMatchObject({ code: 1, stderr: 'Error: it broke\n' })
    expect(readFileSync(file, 'utf8')).toBe('{\n    "local": "x"\n}\n')

    const fresh = join(tmp, 'never.json')
    expect((await brine(['--out-file', fresh, 'test.exception', 'it broke'])).code).toBe(1)
    expect(existsSync(fresh)).toBe(false)
  })
})

describe('npm run build and bin/brine.js', () => {
  // A checkout of our own (sources linked; bin/, cli/ and package.json copied, cli/ so that a
  // source can change) so that building leaves the shared dist/ alone.
  const root = join(import.meta.dirname, '..')
  const checkout = mkdtempSync(join(tmpdir(), 'brine-checkout-'))
  for (const entry of readdirSync(root)) {
    if (['bin', 'cli', 'dist', 'package.json', '.git'].includes(entry)) continue
    symlinkSync(join(root, entry), join(checkout, entry))
  }
  mkdirSync(join(checkout, 'bin'))
  for (const file of ['brine.js', 'package.json'])
    copyFileSync(join(root, 'bin', file), join(checkout, 'bin', file))
  copyFileSync(join(root, 'package.json'), join(checkout, 'package.json'))
  cpSync(join(root, 'cli'), join(checkout, 'cli'), { recursive: true })
  const dist = join(checkout, 'dist')
  const ping = () =>
    runNode([join(checkout, 'bin', 'brine.js'), 'test.ping'], { cwd: checkout, env: cleanEnv })
  const build = (...args: string[]) =>
    runNode(['--import', 'tsx', 'scripts/build.ts', ...args], { cwd: checkout })
  const stubs = ['cli.cjs', 'console.js', 'index.js', 'loader.js', 'runner.js', 'vsphere.js']
  /** The build folder each stub names. */
  const stubTargets = () =>
    stubs.map(
      (stub) =>
        (stub === 'cli.cjs'
          ? /^module\.exports = require\('\.\/([^/]+)\/cli\.cjs'\)\n$/
          : new RegExp(`^export \\* from '\\./([^/]+)/${stub.replace('.', '\\.')}'\n$`)
        ).exec(readFileSync(join(dist, stub), 'utf8'))?.[1],
    )

  it('runs the sources without dist/, and the bundle from a build folder named by its content', async () => {
    expect(await ping()).toMatchObject({ code: 0, stdout: 'local:\n    True\n' })

    expect(await build()).toMatchObject({ code: 0, stderr: '' })
    const first = stubTargets()[0]
    expect(first).toMatch(/^build-[0-9a-f]{16}$/)
    // Every entry's stub names the one build; complete folders only: no temporary folder left.
    expect(stubTargets()).toEqual(stubs.map(() => first))
    expect(readdirSync(dist).sort()).toEqual([first, ...stubs, 'types'].sort())
    expect(existsSync(join(dist, first!, 'cli.cjs'))).toBe(true)
    // bin/brine.js runs the CLI as a script (for the code cache), where import() would need
    // an experimental option.
    expect(readFileSync(join(dist, first!, 'cli.cjs'), 'utf8')).not.toMatch(/\bimport\(/)
    // ASCII only: bin/brine.js reads it as Latin-1.
    expect(readFileSync(join(dist, first!, 'cli.cjs')).every((byte) => byte < 0x80)).toBe(true)
    expect(existsSync(join(dist, 'types', 'index.d.ts'))).toBe(true)
    // The bundle one level deeper still finds the built-in modules (test.ping).
    expect(await ping()).toMatchObject({ code: 0, stdout: 'local:\n    True\n' })

    // The code cache: written by the first run, used as is by the next (V8 accepted it: a
    // rejected cache is written anew), and a damaged one is replaced, the call unharmed.
    const cacheDir = join(checkout, 'cache')
    const cached = () =>
      runNode([join(checkout, 'bin', 'brine.js'), 'test.ping'], {
        cwd: checkout,
        env: { ...cleanEnv, BRINE_CACHE_DIR: cacheDir },
      })
    expect(await cached()).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    const cacheFile = join(cacheDir, 'code', `${first}-base-${process.version}-${process.arch}.bin`)
    const written = readFileSync(cacheFile)
    const writtenAt = statSync(cacheFile).mtimeMs
    expect(written.length).toBeGreaterThan(10_000)
    expect(await cached()).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    expect(statSync(cacheFile).mtimeMs).toBe(writtenAt)
    writeFileSync(cacheFile, 'not a code cache')
    expect(await cached()).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    expect(readFileSync(cacheFile).length).toBeGreaterThan(10_000)

    // The same sources build the same folder: nothing new.
    expect((await build()).code).toBe(0)
    expect(readdirSync(dist).sort()).toEqual([first, ...stubs, 'types'].sort())

    // A changed source: a new folder and stubs; the first build stays for processes started on it.
    appendFileSync(join(checkout, 'cli', 'main.ts'), '\nexport const rebuilt = true\n')
    expect((await build()).code).toBe(0)
    const second = stubTargets()[0]
    expect(second).not.toBe(first)
    expect(readdirSync(dist).sort()).toEqual([first, second, ...stubs, 'types'].sort())
    expect(await ping()).toMatchObject({ code: 0, stdout: 'local:\n    True\n' })

    // --prune (npm pack's prepack) keeps only the current build.
    expect((await build('--prune')).code).toBe(0)
    expect(readdirSync(dist).sort()).toEqual([second, ...stubs, 'types'].sort())
    expect(await build('--nonsense')).toMatchObject({
      code: 2,
      stderr: 'build: unknown argument --nonsense; the only option is --prune\n',
    })

    // The stubs' folder gone (dist/ cleaned by hand): bin/brine.js runs the sources.
    rmSync(join(dist, second!), { recursive: true })
    expect(await ping()).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
  }, 300_000)
})
