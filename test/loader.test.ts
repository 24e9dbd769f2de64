import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FunctionUnavailableError } from '../loader/errors.ts'
import { ModuleLoader } from '../loader/loader.ts'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import { watchModules } from '../loader/watch.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { createReconnectProxy } from '../vsphere/reconnect-proxy.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { SessionCache } from '../vsphere/session-cache.ts'

const root = join(import.meta.dirname, '..')
const builtins = join(root, 'modules')
const userModules = join(import.meta.dirname, 'fixtures', 'user-modules')

const opts = (overrides: Partial<Opts> = {}): Opts =>
  defaultOpts({
    id: 'minion',
    file_roots: [],
    pillar_roots: [],
    ...overrides,
  })

const runtime = (dirs: string[], overrides: Partial<Opts> = {}) =>
  new Runtime({
    opts: opts(overrides),
    pillar: {},
    moduleDirs: dirs,
    stateDirs: [],
    signal: new AbortController().signal,
  })

function tempModules(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'brine-modules-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const moduleSource = (
  value: string,
  extra = '',
) => `import { defineFunction, defineModule } from 'brine/loader'
${extra}
export default defineModule({
  functions: { value: defineFunction({ doc: 'Return the value.', args: {}, run: () => ${value} }) },
})
`

describe('module loader', () => {
  it('loads lazily: one function call evaluates one module', async () => {
    const rt = runtime([builtins])
    expect(rt.modules.moduleNames()).toEqual([])
    expect(await rt.call('test.ping')).toBe(true)
    expect(rt.modules.moduleNames()).toEqual(['test'])
    await rt.close()
  })

  it('builds a function’s lazy args when it is first called or described, once, and uses them as given', async () => {
    const dir = tempModules({
      'lazy_args.ts': `import { defineFunction, defineModule, lazy, z } from 'brine/loader'
const built: string[] = (globalThis as any).lazyArgsBuilt
const shared = lazy(() => {
  built.push('shared')
  return { count: z.coerce.number().int().default(2).describe('how many') }
})
export default defineModule({
  functions: {
    repeat: defineFunction({
      doc: 'Repeat a word.',
      args: () => {
        built.push('repeat')
        return { word: z.string().min(1), ...shared() }
      },
      run: (_ctx, args) => args.word.repeat(args.count),
    }),
    other: defineFunction({
      doc: 'Another function.',
      args: () => {
        built.push('other')
        return { ...shared(), flag: z.boolean().default(false) }
      },
      run: (_ctx, args) => [args.count, args.flag],
    }),
  },
})
`,
    })
    const built: string[] = []
    ;(globalThis as { lazyArgsBuilt?: string[] }).lazyArgsBuilt = built
    const rt = runtime([dir, builtins])
    try {
      expect(await rt.call('lazy_args.repeat', { args: ['ab'] })).toBe('abab')
      expect(built).toEqual(['repeat', 'shared'])
      expect(await rt.call('lazy_args.repeat', { args: ['c'], kwargs: { count: '3' } })).toBe('ccc')
      await expect(rt.call('lazy_args.repeat', { args: [''] })).rejects.toThrow(/word/)
      await expect(
        rt.call('lazy_args.repeat', { args: ['x'], kwargs: { nope: 1 } }),
      ).rejects.toThrow(/nope/)
      // Described (sys.doc) before its first call: built then.
      const doc = (await rt.call('sys.doc', { args: ['lazy_args.other'] })) as Record<
        string,
        string
      >
      expect(doc['lazy_args.other']).toContain('count (number, optional): how many')
      expect(await rt.call('lazy_args.other')).toEqual([2, false])
      expect(built).toEqual(['repeat', 'shared', 'other'])
    } finally {
      await rt.close()
      delete (globalThis as { lazyArgsBuilt?: string[] }).lazyArgsBuilt
    }
  })

  it('lets user module directories override built-ins', async () => {
    const rt = runtime([userModules, builtins])
    expect(await rt.call('test.ping')).toBe('pong from the user module')
    await expect(rt.call('test.echo', { args: ['x'] })).rejects.toThrow(
      "'test.echo' is not available.",
    )
    expect(await rt.call('pillar.items')).toEqual({})
    await rt.close()
  })

  it('honours __virtual__: a virtual name, and a refusal whose reason reaches the caller', async () => {
    const rt = runtime([userModules])
    expect(await rt.call('shiny.hello')).toBe('hello from shiny')
    await expect(rt.call('renamed_file.hello')).rejects.toBeInstanceOf(FunctionUnavailableError)
    await expect(rt.call('refuser.go')).rejects.toThrow(
      "'refuser.go' is not available. 'refuser' __virtual__ returned False: only runs on the minion called special",
    )
    await rt.close()
    const special = runtime([userModules], { id: 'special' })
    expect(await special.call('refuser.go')).toBe('went')
    await special.close()
  })

  it('reports a module that does not compile with its file and line', async () => {
    const rt = runtime([userModules])
    const error = await rt.call('broken.oops').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FunctionUnavailableError)
    expect((error as Error).message).toMatch(
      /'broken\.oops' is not available\. loading .*broken\.ts:5:\d+ failed: Unexpected "}"/,
    )
    await rt.close()
  })

  it('suggests close matches for an unknown function', async () => {
    const rt = runtime([builtins])
    await expect(rt.call('test.pnig')).rejects.toThrow(
      "'test.pnig' is not available. Did you mean: test.ping?",
    )
    await expect(rt.call('noperiod')).rejects.toThrow(/written module.function/)
    await rt.close()
  })

  it('gives a call the signal it is called with, and its cross-calls inherit it', async () => {
    const dir = tempModules({
      'sig.ts': `import { defineFunction, defineModule } from 'brine/loader'
export default defineModule({
  functions: {
    outer: defineFunction({
      doc: 'Its signal and the one a cross-call sees.',
      args: {},
      run: async (ctx) => [ctx.signal, await ctx.salt('sig.inner')],
    }),
    inner: defineFunction({ doc: 'Its signal.', args: {}, run: (ctx) => ctx.signal }),
  },
})
`,
    })
    const rt = runtime([dir])
    const own = new AbortController().signal
    const [called, crossCalled] = (await rt.call('sig.outer', { signal: own })) as AbortSignal[]
    expect(called).toBe(own)
    expect(crossCalled).toBe(own)
    const [plain, inherited] = (await rt.call('sig.outer')) as AbortSignal[]
    expect(plain).toBe(rt.signal)
    expect(inherited).toBe(rt.signal)
    await rt.close()
  })

  it('makes new code visible after a reload and disposes the old generation', async () => {
    const dir = tempModules({ 'thing.ts': moduleSource("'one'") })
    const rt = runtime([dir, builtins])
    expect(await rt.call('thing.value')).toBe('one')
    const first = rt.modules.module('thing')
    writeFileSync(
      join(dir, 'thing.ts'),
      moduleSource("'two'").replace(
        'functions:',
        'dispose: () => { (globalThis as any).__disposed = ((globalThis as any).__disposed ?? 0) + 1 },\n  functions:',
      ),
    )
    await rt.call('sys.reload_modules', { args: ['thing'] })
    expect(await rt.call('thing.value')).toBe('two')
    expect(rt.modules.module('thing')?.id).toBeGreaterThan(first!.id)
    expect(rt.modules.generationCount).toBe(2) // thing and sys
    await rt.call('sys.reload_modules')
    expect((globalThis as Record<string, unknown>).__disposed).toBe(1)
    await rt.close()
  })

  it('keeps one ServiceInstance class: an object made before a reload is instanceof the class the new generation sees', async () => {
    const dir = tempModules({
      'si_check.ts': `import { defineFunction, defineModule, z } from 'brine/loader'
import { ServiceInstance } from 'brine/vsphere'
export default defineModule({
  functions: {
    check: defineFunction({ doc: 'instanceof', args: {}, vsphere: true, run: (ctx) => ({ proxy: ctx.serviceInstance instanceof ServiceInstance, cls: ServiceInstance }) }),
  },
})
`,
    })
    const proxy = createReconnectProxy({
      cache: new SessionCache(),
      resolveParams: () =>
        resolveConnectionParams({ server: 'vc.invalid', user: 'u', password: 'p' }),
    })
    const rt = runtime([dir])
    const before = (await rt.call('si_check.check', { serviceInstance: proxy })) as {
      proxy: boolean
      cls: unknown
    }
    await rt.modules.reload()
    const after = (await rt.call('si_check.check', { serviceInstance: proxy })) as {
      proxy: boolean
      cls: unknown
    }
    expect(before.proxy).toBe(true)
    expect(after.proxy).toBe(true)
    expect(after.cls).toBe(before.cls)
    expect(after.cls).toBe(ServiceInstance)
    await rt.close()
  })

  it('in watch mode, reloads a changed file and keeps the last good generation when the new one does not compile', async () => {
    const dir = tempModules({ 'watched.ts': moduleSource("'v1'") })
    const loader = new ModuleLoader({ dirs: [dir], opts: opts() })
    const events: Array<{ file: string; error: string | undefined }> = []
    let notify: (() => void) | undefined
    const stop = watchModules(loader, {
      debounceMs: 50,
      onReload: (file, error) => {
        events.push({ file, error: error?.message })
        notify?.()
      },
    })
    const nextEvent = () => new Promise<void>((resolve) => (notify = resolve))
    const value = async () =>
      (await loader.getFunction('watched.value')).definition.run(
        {} as never,
        {},
        { args: [], kwargs: {} },
      )
    try {
      expect(await value()).toBe('v1')
      let event = nextEvent()
      writeFileSync(join(dir, 'watched.ts'), moduleSource("'v2'"))
      await event
      expect(await value()).toBe('v2')

      event = nextEvent()
      writeFileSync(join(dir, 'watched.ts'), moduleSource("'v3' +"))
      await event
      expect(events.at(-1)?.error).toMatch(/watched\.ts:\d+:\d+ failed/)
      expect(await value()).toBe('v2')
      expect(loader.generationCount).toBe(1)
    } finally {
      stop()
      await loader.close()
    }
  })
})

describe('reload leaks (child process, --expose-gc)', () => {
  it('collects every old generation after reloads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-gc-'))
    cpSync(join(import.meta.dirname, 'helpers', 'reload-gc.ts'), join(dir, 'reload-gc.ts'))
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(import.meta.dirname, 'helpers', 'reload-gc.ts'),
        '200',
      ],
      {
        encoding: 'utf8',
        cwd: root,
        timeout: 120_000,
      },
    )
    expect(child.stderr).toBe('')
    const report = JSON.parse(child.stdout) as {
      reloads: number
      collected: number
      alive: number
      heapGrowthBytes: number
      sameClass: boolean
    }
    expect(report.reloads).toBe(200)
    // Every generation but the live one was collected.
    expect(report.alive).toBe(1)
    expect(report.collected).toBe(199)
    expect(report.sameClass).toBe(true)
    // Each generation holds a 1 MB string; had they leaked, the heap would have grown by ~200 MB.
    expect(report.heapGrowthBytes).toBeLessThan(10 * 1024 * 1024)
  })
})

describe('ServiceInstance identity', () => {
  it('is the host class for every module generation', () => {
    expect(ServiceInstance.name).toBe('ServiceInstance')
  })
})
