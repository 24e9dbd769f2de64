// The daemon's first parts: its options, its pillar (recompiled when a file changes and on
// SIGHUP) and its module loaders (watched; old generations tracked until collected).
import { existsSync, type FSWatcher, watch } from 'node:fs'
import { log } from '../core/log.ts'
import { compileOptsPillar, registerSecretsIn, runtimeDirs } from '../loader/caller.ts'
import type { ModuleLoader } from '../loader/loader.ts'
import { DaemonError } from './daemon-paths.ts'
import { configFingerprint, credentialDigest } from './daemon-protocol.ts'
import type { DaemonContext, Part } from './daemon-types.ts'
import { resolveOpts } from './opts.ts'

export function configPart(ctx: DaemonContext): Part {
  return {
    name: 'config',
    async start() {
      const { flags, env, cwd } = ctx.options
      ctx.opts = resolveOpts(flags, env, cwd)
      registerSecretsIn(ctx.opts)
      ctx.fingerprint = configFingerprint(ctx.opts, credentialDigest(env))
    },
    async stop() {},
    status: () => ({
      conf_file: ctx.opts?.conf_file ?? null,
      id: ctx.opts?.id,
      module_dirs: ctx.opts?.module_dirs,
      pillar_roots: ctx.opts?.pillar_roots,
      file_roots: ctx.opts?.file_roots,
    }),
  }
}

export function pillarPart(ctx: DaemonContext): Part {
  const watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | undefined
  let lastError: string | undefined
  const recompile = async () => {
    const opts = ctx.opts!
    const warnings: string[] = []
    try {
      const value = await compileOptsPillar(opts, undefined, (message) => warnings.push(message))
      registerSecretsIn(value)
      ctx.pillar = { value, warnings, compiledAt: Date.now(), compiles: ctx.pillar.compiles + 1 }
      if (ctx.runtime) ctx.runtime.pillar = value
      lastError = undefined
      log.info('daemon', 'pillar compiled (%d warning(s))', warnings.length)
    } catch (error) {
      lastError = (error as Error).message
      log.warn('daemon', 'pillar did not compile, the last one stays: %s', lastError)
    }
  }
  return {
    name: 'pillar',
    async start() {
      ctx.recompilePillar = recompile
      await recompile()
      for (const root of ctx.opts!.pillar_roots) {
        if (!existsSync(root)) continue
        watchers.push(
          watch(root, { recursive: true }, () => {
            clearTimeout(timer)
            timer = setTimeout(() => void recompile(), 100)
          }),
        )
      }
    },
    async stop() {
      clearTimeout(timer)
      for (const watcher of watchers) watcher.close()
      ctx.recompilePillar = undefined
    },
    status: () => ({
      compiled_at: ctx.pillar.compiledAt ? new Date(ctx.pillar.compiledAt).toISOString() : null,
      compiles: ctx.pillar.compiles,
      warnings: ctx.pillar.warnings.length,
      ...(lastError !== undefined && { last_error: lastError }),
    }),
  }
}

export function loaderPart(ctx: DaemonContext): Part {
  const stops: (() => void)[] = []
  const generations = trackGenerations()
  let reloads = 0
  const failures: Record<string, string> = {}
  return {
    name: 'loader',
    async start() {
      const { Runtime } = await import('../loader/runtime.ts')
      const { defaultTranspileCacheDir } = await import('../loader/evaluate.ts')
      const { watchModules } = await import('../loader/watch.ts')
      const opts = ctx.opts!
      ctx.runtime = new Runtime({
        opts,
        pillar: ctx.pillar.value,
        ...runtimeDirs(opts),
        signal: ctx.controller.signal,
        env: ctx.options.env,
        cacheDir: defaultTranspileCacheDir(),
        compilePillar: async () => {
          await ctx.recompilePillar?.()
          return ctx.pillar.value
        },
        createServiceInstances: () => {
          if (!ctx.provider) throw new DaemonError('the sessions part is not started')
          return ctx.provider
        },
      })
      for (const loader of [ctx.runtime.modules, ctx.runtime.states]) {
        stops.push(
          watchModules(loader, {
            onReload: (file, error) => {
              reloads++
              if (error) failures[file] = error.message
              else delete failures[file]
              generations.track(loader)
            },
          }),
        )
      }
    },
    async stop() {
      for (const stop of stops) stop()
      await ctx.runtime?.close()
    },
    status: () => {
      const runtime = ctx.runtime
      if (!runtime) return { state: 'stopped' }
      generations.track(runtime.modules)
      generations.track(runtime.states)
      return {
        modules: loadedGenerations(runtime.modules),
        states: loadedGenerations(runtime.states),
        reloads,
        retired_alive: generations.retired([runtime.modules, runtime.states]),
        ...(Object.keys(failures).length > 0 && { failed_reloads: failures }),
      }
    },
  }
}

// --- module generations ---

function loadedGenerations(loader: ModuleLoader): Record<string, number> {
  const out: Record<string, number> = {}
  for (const name of loader.moduleNames()) {
    const generation = loader.module(name)
    if (generation) out[name] = generation.id
  }
  return out
}

/**
 * Weak references to every generation the loaders have held: a replaced generation that is
 * still reachable after a collection is a leak, and `status` names it.
 */
function trackGenerations() {
  const refs = new Map<number, WeakRef<object>>()
  const registry = new FinalizationRegistry<number>((id) => refs.delete(id))
  return {
    track(loader: ModuleLoader): void {
      for (const name of loader.moduleNames()) {
        const generation = loader.module(name)
        if (!generation || refs.has(generation.id)) continue
        refs.set(generation.id, new WeakRef(generation))
        registry.register(generation, generation.id)
      }
    },
    /** Ids of replaced generations not collected yet. */
    retired(loaders: ModuleLoader[]): number[] {
      const current = new Set(loaders.flatMap((loader) => Object.values(loadedGenerations(loader))))
      return [...refs]
        .filter(([id, ref]) => !current.has(id) && ref.deref() !== undefined)
        .map(([id]) => id)
    },
  }
}
