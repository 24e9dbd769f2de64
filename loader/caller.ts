// brine as a library: a Runtime set up as `brine call` sets one up (config file, pillar,
// built-in and user modules), for programs that call brine functions in their own process,
// as salt.client.Caller does for Salt. The CLI builds its runtime with the same parts.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { coreGrains } from '../core/grains.ts'
import { log } from '../core/log.ts'
import { isSecretKey, registerSecret } from '../core/redact.ts'
import type { Runtime, RuntimeOptions } from './runtime.ts'
import type { Opts } from './types.ts'

/**
 * The folder holding the built-in modules/ and states/: the parent of loader/ when run from
 * source, of dist/<build>/ when run from the bundle (scripts/build.ts), in a checkout or an
 * installed package alike.
 */
export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)))

export interface CreateRuntimeOptions {
  /** Config file; default as `brine call`: BRINE_CONFIG, else ./brine.yaml when present. */
  config?: string | undefined
  /** Minion id (default: the config file's `id`, else the host name). */
  id?: string | undefined
  fileRoots?: string[] | undefined
  pillarRoots?: string[] | undefined
  /** Module directories searched before the built-ins (`-m`). */
  moduleDirs?: string[] | undefined
  /** Merged over the compiled pillar last, as `pillar=` on the command line. */
  pillar?: Record<string, unknown> | undefined
  /** Keep vCenter sessions on disk for later processes (`--session-store`). */
  sessionStore?: boolean | undefined
  /** Aborts every call of this runtime (default: never aborted). */
  signal?: AbortSignal | undefined
}

/**
 * A runtime for calls from a program: `await runtime.call('vmware_vm.list', { kwargs })`.
 * vSphere functions use the `serviceInstance` given with the call, else the runtime's lazy
 * ReconnectProxy built from the pillar's or config file's credentials. `close()` logs the
 * runtime's sessions out.
 */
export async function createRuntime(options: CreateRuntimeOptions = {}): Promise<Runtime> {
  const { resolveOpts } = await import('../cli/opts.ts')
  const opts = resolveOpts({
    config: options.config,
    id: options.id,
    fileRoots: options.fileRoots,
    pillarRoots: options.pillarRoots,
    moduleDirs: options.moduleDirs,
    sessionStore: options.sessionStore,
  })
  registerSecretsIn(opts)
  const compile = async () => {
    const pillar = await compileOptsPillar(opts, options.pillar, (message) =>
      log.warn('pillar', '%s', message),
    )
    registerSecretsIn(pillar)
    return pillar
  }
  const { Runtime } = await import('./runtime.ts')
  const { defaultTranspileCacheDir } = await import('./evaluate.ts')
  return new Runtime({
    opts,
    pillar: await compile(),
    ...runtimeDirs(opts),
    signal: options.signal ?? new AbortController().signal,
    cacheDir: defaultTranspileCacheDir(),
    compilePillar: compile,
  })
}

/** Module and state directories: the user's first, then the built-ins. */
export function runtimeDirs(opts: Opts): Pick<RuntimeOptions, 'moduleDirs' | 'stateDirs'> {
  return {
    moduleDirs: [...opts.module_dirs, join(PACKAGE_ROOT, 'modules')],
    stateDirs: [
      ...opts.module_dirs.map((dir) => join(dir, '..', '_states')),
      join(PACKAGE_ROOT, 'states'),
    ],
  }
}

/**
 * The pillar of these options: the pillar roots' top.sls compiled for the minion id, with
 * `overrides` merged last. Each rendering error goes to `onError` (the rest of the pillar
 * stays usable, as in Salt).
 */
export async function compileOptsPillar(
  opts: Opts,
  overrides: Record<string, unknown> | undefined,
  onError: (message: string) => void,
): Promise<Record<string, unknown>> {
  if (!opts.pillar_roots.some((root) => existsSync(join(root, 'top.sls'))))
    return { ...(overrides ?? {}) }
  const { compilePillar } = await import('../pillar/compile.ts')
  const compiled = compilePillar({
    roots: opts.pillar_roots,
    minionId: opts.id,
    overrides,
    context: { opts, grains: coreGrains(opts) },
  })
  for (const error of compiled.errors) onError(error.message)
  return compiled.pillar
}

/**
 * Register values held under secret-looking keys (the outputters' own rule), so that no
 * output shows them: strings, and numbers (`password: 80551234` is a number once YAML read it).
 */
export function registerSecretsIn(data: unknown, key = ''): void {
  if (typeof data === 'string' || typeof data === 'number' || typeof data === 'bigint') {
    if (isSecretKey(key)) registerSecret(data)
    return
  }
  if (typeof data !== 'object' || data === null) return
  for (const [k, v] of Object.entries(data)) registerSecretsIn(v, k)
}

function packageRoot(from: string): string {
  for (let dir = from; ; ) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'modules'))) return dir
    const parent = dirname(dir)
    if (parent === dir) return join(from, '..')
    dir = parent
  }
}
