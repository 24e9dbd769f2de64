// A lazy registry of one kind of module (execution modules or states), keyed `mod.fn` as
// Salt's LazyLoader. Construction only lists directories; a file is transpiled and evaluated
// when one of its functions is first asked for. Directories earlier in `dirs` win (user
// `module_dirs` before the built-ins). Each module name has one slot: a reload replaces the
// generation in it and disposes the old one, so nothing keeps old generations alive.
import { readdirSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import { log } from '../core/log.ts'
import { editDistance } from '../core/suggest.ts'
import { isModuleDefinition } from './api.ts'
import { FunctionUnavailableError, ModuleLoadError } from './errors.ts'
import { evaluateFile } from './evaluate.ts'
import type { FunctionDefinition, ModuleDefinition, Opts } from './types.ts'

export interface LoaderOptions {
  /** Search order: the first directory holding a file name wins. */
  dirs: string[]
  opts: Readonly<Opts>
  /** Transpile cache directory (undefined: none). */
  cacheDir?: string | undefined
  /** What the loader holds, for messages: `execution module` or `state module`. */
  label?: string
  /**
   * How a file becomes its exports. Default: `evaluateFile` (compiled function). Only the
   * stress suite's leaky control run replaces it.
   */
  evaluate?: ((file: string) => Promise<unknown>) | undefined
}

/**
 * One evaluated version of one module. A class, so that heap snapshots name it
 * (`ModuleGeneration`) and the stress suite can count the live ones.
 */
export class ModuleGeneration {
  constructor(
    readonly id: number,
    readonly name: string,
    readonly file: string,
    readonly definition: ModuleDefinition,
  ) {}
}
export type Generation = ModuleGeneration

let nextGenerationId = 1

export class ModuleLoader {
  readonly dirs: string[]
  readonly #opts: Readonly<Opts>
  readonly #cacheDir: string | undefined
  readonly #evaluateFile: (file: string) => Promise<unknown>
  #files = new Map<string, string>()
  readonly #byName = new Map<string, Generation>()
  readonly #loadedFiles = new Map<string, Generation | undefined>()
  readonly #refusals = new Map<string, string>()
  readonly #loadErrors = new Map<string, ModuleLoadError>()
  readonly #loading = new Map<string, Promise<void>>()

  constructor(options: LoaderOptions) {
    this.dirs = options.dirs.map((dir) => resolve(dir))
    this.#opts = options.opts
    this.#cacheDir = options.cacheDir
    this.#evaluateFile =
      options.evaluate ?? ((file) => evaluateFile(file, { cacheDir: this.#cacheDir }))
    this.#scan()
  }

  /** The function `mod.fn`, loading its module if needed. */
  async getFunction(
    fun: string,
  ): Promise<{ generation: Generation; definition: FunctionDefinition }> {
    const dot = fun.lastIndexOf('.')
    if (dot <= 0 || dot === fun.length - 1) {
      throw new FunctionUnavailableError(
        fun,
        'Function names are written module.function, like test.ping.',
      )
    }
    const mod = fun.slice(0, dot)
    const name = fun.slice(dot + 1)
    let generation = this.#byName.get(mod)
    if (!generation) {
      const file = this.#files.get(mod)
      if (file) await this.#load(file)
      generation = this.#byName.get(mod)
    }
    if (!generation) {
      await this.loadAll()
      generation = this.#byName.get(mod)
    }
    const definition = generation?.definition.functions[name]
    if (generation && definition) return { generation, definition }

    const refusal = this.#refusals.get(mod)
    if (refusal !== undefined) throw new FunctionUnavailableError(fun, refusal)
    const loadError = this.#loadErrors.get(mod)
    if (loadError) throw new FunctionUnavailableError(fun, loadError.message)
    const matches = closeMatches(fun, this.#knownFunctions())
    throw new FunctionUnavailableError(
      fun,
      matches.length ? `Did you mean: ${matches.join(', ')}?` : undefined,
    )
  }

  /** Load every module (for listings and for virtual names that differ from file names). */
  async loadAll(): Promise<void> {
    for (const file of this.#files.values()) await this.#load(file)
  }

  /** Loaded module names (after `loadAll`, every available one). */
  moduleNames(): string[] {
    return [...this.#byName.keys()].sort()
  }

  module(name: string): Generation | undefined {
    return this.#byName.get(name)
  }

  /** Reasons modules refused to load, by name. */
  refusals(): ReadonlyMap<string, string> {
    return this.#refusals
  }

  /** Number of module generations the loader holds (one per loaded module). */
  get generationCount(): number {
    return this.#byName.size
  }

  /**
   * Drop one module (by name) or all, disposing their generations; they load again, from the
   * current files, on next use. Directories are listed again, so new files are seen.
   */
  async reload(name?: string): Promise<void> {
    const victims = name
      ? [this.#byName.get(name)].filter((g): g is Generation => !!g)
      : [...this.#byName.values()]
    for (const generation of victims) {
      this.#forget(generation.file)
      await disposeGeneration(generation)
    }
    if (!name) {
      this.#loadedFiles.clear()
      this.#refusals.clear()
      this.#loadErrors.clear()
    } else {
      this.#refusals.delete(name)
      this.#loadErrors.delete(name)
      const file = this.#files.get(name)
      if (file) this.#loadedFiles.delete(file)
    }
    this.#scan()
  }

  /**
   * Evaluate `file` now and swap it in only if it loads: the last good generation stays when
   * the new code does not compile (watch mode). Returns the error, if any.
   */
  async reloadFile(file: string): Promise<ModuleLoadError | undefined> {
    const path = resolve(file)
    let definition: ModuleDefinition
    try {
      definition = await this.#evaluate(path)
    } catch (error) {
      const loadError =
        error instanceof ModuleLoadError
          ? error
          : new ModuleLoadError(path, (error as Error).message, error)
      log.warn('loader', 'keeping the last good %s: %s', basename(path), loadError.message)
      return loadError
    }
    const old = this.#loadedFiles.get(path)
    if (old) this.#forget(path)
    this.#scan()
    this.#register(path, definition)
    if (old) await disposeGeneration(old)
    return undefined
  }

  /** Dispose every generation. */
  async close(): Promise<void> {
    const generations = [...this.#byName.values()]
    this.#byName.clear()
    this.#loadedFiles.clear()
    for (const generation of generations) await disposeGeneration(generation)
  }

  // --- internal ---

  #scan(): void {
    const files = new Map<string, string>()
    for (const dir of this.dirs) {
      let entries: string[]
      try {
        entries = readdirSync(dir)
      } catch {
        continue
      }
      for (const entry of entries.sort()) {
        if (entry.startsWith('_') || entry.startsWith('.') || entry.endsWith('.d.ts')) continue
        if (!['.ts', '.js', '.mts', '.mjs', '.cjs', '.cts'].includes(extname(entry))) continue
        const name = basename(entry, extname(entry))
        if (!files.has(name)) files.set(name, join(dir, entry))
      }
    }
    this.#files = files
  }

  async #load(file: string): Promise<void> {
    if (this.#loadedFiles.has(file)) return
    const pending = this.#loading.get(file)
    if (pending) return pending
    const loading = (async () => {
      try {
        this.#register(file, await this.#evaluate(file))
      } catch (error) {
        const loadError =
          error instanceof ModuleLoadError
            ? error
            : new ModuleLoadError(file, (error as Error).message, error)
        this.#loadedFiles.set(file, undefined)
        this.#loadErrors.set(basename(file, extname(file)), loadError)
        log.warn('loader', '%s', loadError.message)
      }
    })().finally(() => this.#loading.delete(file))
    this.#loading.set(file, loading)
    return loading
  }

  async #evaluate(file: string): Promise<ModuleDefinition> {
    const exports = (await this.#evaluateFile(file)) as {
      default?: unknown
    }
    const definition = isModuleDefinition(exports?.default)
      ? exports.default
      : isModuleDefinition(exports)
        ? exports
        : undefined
    if (!definition) {
      throw new ModuleLoadError(
        file,
        'it does not export default defineModule({...}) from brine/loader.',
      )
    }
    return definition
  }

  #register(file: string, definition: ModuleDefinition): void {
    const fileName = basename(file, extname(file))
    const decision = decideVirtual(fileName, definition, this.#opts)
    if ('refused' in decision) {
      this.#loadedFiles.set(file, undefined)
      for (const name of new Set([fileName, definition.virtualname ?? fileName])) {
        const previous = this.#refusals.get(name)
        this.#refusals.set(name, previous ? `${previous}; ${decision.refused}` : decision.refused)
      }
      log.debug('loader', '%s not loaded: %s', file, decision.refused)
      void disposeGeneration(new ModuleGeneration(0, fileName, file, definition))
      return
    }
    const existing = this.#byName.get(decision.name)
    if (existing && existing.file !== file) {
      log.debug(
        'loader',
        '%s: %s already provides %s; first one wins',
        file,
        existing.file,
        decision.name,
      )
      this.#loadedFiles.set(file, undefined)
      return
    }
    const generation = new ModuleGeneration(nextGenerationId++, decision.name, file, definition)
    this.#byName.set(decision.name, generation)
    this.#loadedFiles.set(file, generation)
    this.#refusals.delete(decision.name)
    log.debug('loader', 'loaded %s as %s (generation %d)', file, decision.name, generation.id)
  }

  #forget(file: string): void {
    const generation = this.#loadedFiles.get(file)
    this.#loadedFiles.delete(file)
    if (generation && this.#byName.get(generation.name) === generation)
      this.#byName.delete(generation.name)
  }

  #knownFunctions(): string[] {
    const names: string[] = []
    for (const [mod, generation] of this.#byName) {
      for (const fn of Object.keys(generation.definition.functions)) names.push(`${mod}.${fn}`)
    }
    return names
  }
}

function decideVirtual(
  fileName: string,
  definition: ModuleDefinition,
  opts: Readonly<Opts>,
): { name: string } | { refused: string } {
  const virtualName = definition.virtualname ?? fileName
  if (!definition.virtual) return { name: virtualName }
  let result: ReturnType<NonNullable<ModuleDefinition['virtual']>>
  try {
    result = definition.virtual(opts)
  } catch (error) {
    return {
      refused: `Exception raised when processing __virtual__ function for ${fileName}. Module will not be loaded: ${(error as Error).message}`,
    }
  }
  if (result === true) return { name: virtualName }
  if (typeof result === 'string') return { name: result }
  if (Array.isArray(result))
    return { refused: `'${virtualName}' __virtual__ returned False: ${result[1]}` }
  return { refused: `'${virtualName}' __virtual__ returned False` }
}

async function disposeGeneration(generation: Generation): Promise<void> {
  try {
    await generation.definition.dispose?.()
  } catch (error) {
    log.warn('loader', 'dispose of %s failed: %s', generation.name, (error as Error).message)
  }
}

/** Up to three known names within a small edit distance of `wanted`. */
export function closeMatches(wanted: string, known: string[]): string[] {
  return known
    .map((name) => ({ name, distance: editDistance(wanted, name) }))
    .filter(({ name, distance }) => distance <= Math.max(2, Math.floor(name.length / 4)))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, 3)
    .map(({ name }) => name)
}
