// brine as its users get it: `npm pack` in the checkout (prepack builds), the tarball
// installed into an empty project outside the checkout, and there: the `brine` command, the
// entry points from plain Node, the README's library example type-checked (node16/nodenext
// and bundler resolution) and run against vcsim, and a user module from `-m DIR`.
//
// Kept fast: npm installs from its cache (--prefer-offline; `npm ci` filled it), and no
// native dependency is compiled a second time: install scripts are skipped and the
// better-sqlite3 binary the checkout compiled is copied in (same version, same Node).
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isolatedCliEnv, runNode } from './helpers/cli.ts'
import { writeOva } from './helpers/ova.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const root = join(import.meta.dirname, '..')
const tmp = mkdtempSync(join(tmpdir(), 'brine-package-'))
const project = join(tmp, 'project')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const versionOf = (name: string): string =>
  (
    JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string
    }
  ).version

interface PackedFile {
  path: string
  size: number
}
let packed: { files: PackedFile[]; size: number; unpackedSize: number; filename: string }
let vcsim: Vcsim
let env: Record<string, string | undefined>

/** Run a command (npm, npx) to its end; its output, code and elapsed time. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const merged: Record<string, string | undefined> = { ...process.env, ...options.env }
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
    const child = spawn(command, args, { cwd: options.cwd, env: merged as NodeJS.ProcessEnv })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

beforeAll(async () => {
  vcsim = await startVcsim()
  const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: root })
  expect(pack.code, pack.stderr).toBe(0)
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!

  mkdirSync(project)
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2)}\n`,
  )
  const install = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      join(tmp, packed.filename),
      `better-sqlite3@${versionOf('better-sqlite3')}`,
      `@types/node@${versionOf('@types/node')}`,
    ],
    { cwd: project },
  )
  expect(install.code, install.stderr).toBe(0)
  const release = join('node_modules', 'better-sqlite3', 'build', 'Release')
  mkdirSync(join(project, release), { recursive: true })
  copyFileSync(
    join(root, release, 'better_sqlite3.node'),
    join(project, release, 'better_sqlite3.node'),
  )

  writeFileSync(
    join(tmp, 'brine.yaml'),
    `data_dir: ${join(tmp, 'data')}\nsaltext.vmware:\n  host: ${vcsim.url}\n  user: ${vcsim.user}\n  password: ${vcsim.password}\n  ca_file: ${vcsim.caFile}\n`,
  )
  env = isolatedCliEnv(tmp, {
    BRINE_CONFIG: join(tmp, 'brine.yaml'),
    BRINE_CACHE_DIR: join(tmp, 'cache'),
    // Nothing of the checkout may leak in: no NODE_PATH, no npm prefix of the checkout.
    NODE_PATH: undefined,
    npm_config_prefix: undefined,
  })
}, 240_000)

afterAll(async () => {
  await vcsim?.stop()
})

const npx = (args: string[]) => run('npx', ['--no-install', ...args], { cwd: project, env })

describe('npm pack', () => {
  it('holds the bundle, the declarations and the built-in modules, and nothing of the checkout else', () => {
    const paths = packed.files.map((file) => file.path)
    for (const needed of [
      'package.json',
      'README.md',
      'bin/brine.js',
      'bin/package.json',
      'dist/cli.cjs',
      'dist/index.js',
      'dist/loader.js',
      'dist/vsphere.js',
      'dist/runner.js',
      'dist/console.js',
      'dist/types/index.d.ts',
      'dist/types/loader/api.d.ts',
      'dist/types/vsphere/api.d.ts',
      'dist/types/runner/api.d.ts',
      'dist/types/console/api.d.ts',
      'modules/vmware_vm.ts',
      'states/vmware_vm.ts',
    ])
      expect(paths).toContain(needed)
    // Only these top-level entries; one build folder; no source maps, tests, fixtures,
    // benchmarks, vcsim sources or TypeScript sources outside the reloadable modules.
    const top = new Set(paths.map((path) => path.split('/')[0]))
    expect([...top].sort()).toEqual([
      'README.md',
      'bin',
      'dist',
      'modules',
      'package.json',
      'states',
    ])
    const builds = new Set(
      paths.filter((path) => path.startsWith('dist/build-')).map((path) => path.split('/')[1]),
    )
    expect(builds.size).toBe(1)
    expect(paths.filter((path) => /\.map$|(^|\/)test\/|fixtures|bench|\.go$/.test(path))).toEqual(
      [],
    )
    // Each file is of a kind the package ships (a count cap failed each time the bundles
    // grew a chunk: an OVA's tar-stream is one since issue 21's fifth round).
    expect(
      paths.filter(
        (path) =>
          !/^(package\.json|README\.md|bin\/[\w-]+\.(js|json)|dist\/\w+\.c?js|dist\/build-[0-9a-f]{16}\/[\w-]+\.c?js|dist\/types\/[\w/-]+\.d\.ts|(modules|states)\/\w+\.ts)$/.test(
            path,
          ),
      ),
    ).toEqual([])
  })
})

// Each case starts Node (and tsc) several times: generous bounds for a busy machine.
describe('the installed package', { timeout: 240_000 }, () => {
  it('runs `npx brine test.ping` and `npx brine sys.doc vmware_vm.list` with no dev dependency', async () => {
    expect(await npx(['brine', 'test.ping'])).toMatchObject({
      code: 0,
      stdout: 'local:\n    True\n',
      stderr: '',
    })
    const doc = await npx(['brine', 'sys.doc', 'vmware_vm.list'])
    expect(doc.code, doc.stderr).toBe(0)
    expect(doc.stdout).toContain('vmware_vm.list:')
    expect(doc.stdout).toContain('List VM names')
    // The installed project has no tsx: the bundle ran.
    expect(
      (
        await run('node', ['-e', "import('tsx').then(() => process.exit(1), () => {})"], {
          cwd: project,
        })
      ).code,
    ).toBe(0)
  })

  it('gives plain Node ESM every entry point, from the package, with one copy of each class', async () => {
    writeFileSync(
      join(project, 'entry-points.mjs'),
      `import * as brine from 'brine'
import * as loader from 'brine/loader'
import * as vsphere from 'brine/vsphere'
import * as runner from 'brine/runner'
import * as consoleApi from 'brine/console'
console.log(JSON.stringify({
  resolved: ['brine', 'brine/loader', 'brine/vsphere', 'brine/runner', 'brine/console'].map((s) => import.meta.resolve(s)),
  oneServiceInstance: brine.ServiceInstance === vsphere.ServiceInstance,
  oneDefineModule: brine.defineModule === loader.defineModule,
  oneBrineError: Object.getPrototypeOf(consoleApi.ConsoleStoreError) === brine.BrineError,
  applyStates: typeof runner.applyStates,
  createRuntime: typeof brine.createRuntime,
}))
`,
    )
    const result = await runNode(['entry-points.mjs'], { cwd: project, env })
    expect(result.code, result.stderr).toBe(0)
    const seen = JSON.parse(result.stdout) as Record<string, unknown>
    expect(seen).toMatchObject({
      oneServiceInstance: true,
      oneDefineModule: true,
      oneBrineError: true,
      applyStates: 'function',
      createRuntime: 'function',
    })
    for (const url of seen.resolved as string[])
      expect(url).toMatch(
        new RegExp(
          `^file://${project}/node_modules/brine/dist/(index|loader|vsphere|runner|console)\\.js$`,
        ),
      )
  })

  it('opens an OVA through the library’s ESM bundle, whose tar-stream is a chunk loaded by the walk', async () => {
    // vsphere/ovf.ts imports tar-stream lazily; in the library's ESM bundle that import is a
    // chunk whose namespace has only `default`: a named import from it read undefined.
    const fixtures = join(import.meta.dirname, 'fixtures', 'ovf')
    const descriptor = readFileSync(join(fixtures, 'tiny.ovf'))
    const disk = readFileSync(join(fixtures, 'tiny-disk1.vmdk'))
    const ova = await writeOva(tmp, 'tiny.ova', [
      ['tiny.ovf', descriptor],
      ['tiny-disk1.vmdk', disk],
    ])
    writeFileSync(
      join(project, 'ova.mjs'),
      `import { openOvfPackage } from 'brine/vsphere'
const ova = await openOvfPackage(process.argv[2])
const files = []
await ova.each(new Set(['tiny-disk1.vmdk']), async (name, size, body) => {
  let read = 0
  for await (const chunk of body) read += chunk.length
  files.push({ name, size, read })
})
console.log(JSON.stringify({ descriptor: ova.descriptor.length, files }))
`,
    )
    const result = await runNode(['ova.mjs', ova], { cwd: project, env })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      descriptor: descriptor.toString('utf8').length,
      files: [{ name: 'tiny-disk1.vmdk', size: disk.length, read: disk.length }],
    })
  })

  it("type-checks the README's library example with node16, nodenext and bundler resolution, and catches a type error", async () => {
    writeFileSync(join(project, 'example.ts'), readmeExample())
    writeFileSync(
      join(project, 'wrong.ts'),
      `import { createRuntime } from 'brine'\nconst runtime: number = await createRuntime()\n`,
    )
    for (const [module, resolution] of [
      ['node16', 'node16'],
      ['nodenext', 'nodenext'],
      ['esnext', 'bundler'],
    ] as const) {
      const config = `tsconfig.${resolution}.json`
      const compilerOptions = {
        target: 'es2022',
        module,
        moduleResolution: resolution,
        strict: true,
        noEmit: true,
        // Our declarations checked in full once (they must not name a type that is missing).
        skipLibCheck: resolution !== 'nodenext',
        types: ['node'],
      }
      writeFileSync(
        join(project, config),
        JSON.stringify({ compilerOptions, files: ['example.ts'] }),
      )
      const checked = await runNode([tsc, '-p', config], { cwd: project })
      expect(checked, `${resolution}: ${checked.stdout}`).toMatchObject({ code: 0, stdout: '' })
    }
    writeFileSync(
      join(project, 'tsconfig.wrong.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', strict: true, noEmit: true, types: ['node'] },
        files: ['wrong.ts'],
      }),
    )
    const wrong = await runNode([tsc, '-p', 'tsconfig.wrong.json'], { cwd: project })
    expect(wrong.code).not.toBe(0)
    expect(wrong.stdout).toMatch(
      /wrong\.ts\(2,7\): error TS2322: Type 'Runtime' is not assignable to type 'number'/,
    )
  })

  it("runs the README's library example against vcsim: the lazy default and a service instance passed in", async () => {
    const { transform } = await import('esbuild')
    const { code } = await transform(readmeExample(), { loader: 'ts', format: 'esm' })
    writeFileSync(join(project, 'example.mjs'), code)
    const result = await runNode(['example.mjs'], {
      cwd: project,
      env: {
        ...env,
        VC_SERVER: vcsim.url,
        VC_USER: vcsim.user,
        VC_PASSWORD: vcsim.password,
        VC_CA_FILE: vcsim.caFile,
      },
    })
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: "4 [ 'DC0' ]\n", stderr: '' })
  })

  it('runs a user module from -m DIR that imports brine/loader and brine/vsphere: the host copy, one class identity', async () => {
    const modules = join(tmp, 'user-modules')
    mkdirSync(modules, { recursive: true })
    writeFileSync(
      join(modules, 'mine.ts'),
      `import { defineFunction, defineModule, z } from 'brine/loader'
import { retrieveAll, ServiceInstance } from 'brine/vsphere'
import * as library from 'brine'

export default defineModule({
  functions: {
    datacenters: defineFunction({
      doc: 'Datacenter names, and whether this module sees the classes the host uses.',
      args: { prefix: z.string().default('') },
      vsphere: true,
      run: async (ctx, { prefix }) => ({
        names: (await retrieveAll(ctx.serviceInstance, 'Datacenter', ['name']))
          .map((dc) => String(dc.props.name))
          .filter((name) => name.startsWith(prefix)),
        hostServiceInstance: ctx.serviceInstance instanceof ServiceInstance,
        oneClass: library.ServiceInstance === ServiceInstance,
      }),
    }),
  },
})
`,
    )
    const result = await npx(['brine', '-m', modules, '--out', 'json', 'mine.datacenters', 'DC'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      local: { names: ['DC0'], hostServiceInstance: true, oneClass: true },
    })
  })
})

/** The README's library example: the ```ts block that imports createRuntime. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = readme
    .split(/^```ts\n/m)
    .slice(1)
    .map((rest) => rest.slice(0, rest.indexOf('\n```\n') + 1))
    .find((code) => code.startsWith('import { createRuntime'))
  expect(block, 'the README has a ```ts block importing createRuntime').toBeDefined()
  return block!
}
