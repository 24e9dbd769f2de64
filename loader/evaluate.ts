// Evaluate a module file as a compiled function (transpile → wrap → run), never through
// native `import()`: Node cannot evict an ES module record, so each native re-import would
// leak the whole module. What `require` gives the module:
// - `brine/*`: the host's single instance (host-modules.ts);
// - node builtins and packages: Node's own (shared) require;
// - relative files: evaluated the same way, as part of this generation.
// Transpiled output is cached on disk (found by the file's path, size and mtime, used only
// for the exact source it was made from), so a cold start skips esbuild.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Script } from 'node:vm'
import { log } from '../core/log.ts'
import { ModuleLoadError } from './errors.ts'
import { HOST_MODULES, hostModule, preloadHostModules } from './host-modules.ts'

export interface EvaluateOptions {
  /** Directory of the transpile cache; undefined disables it. */
  cacheDir?: string | undefined
}

const WRAPPER_ARGS = '(function (exports, require, module, __filename, __dirname) {'
const builtins = new Set(builtinModules)
const REQUIRE_CALL = /\brequire\(\s*["']([^"']+)["']\s*\)/g
let esbuildVersion: string | undefined

export function defaultTranspileCacheDir(): string {
  return join(
    process.env.BRINE_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brine'),
    'transpiled',
  )
}

/** Evaluate `file` and return its `module.exports`. */
export async function evaluateFile(file: string, options: EvaluateOptions = {}): Promise<unknown> {
  const units = new Map<string, string>()
  await collectUnits(resolve(file), units, options)
  const cache = new Map<string, { exports: unknown }>()
  return runUnit(resolve(file), units, cache)
}

// --- internal ---

/** Transpile `file` and every relative file it requires; preload the host modules they use. */
async function collectUnits(
  file: string,
  units: Map<string, string>,
  options: EvaluateOptions,
): Promise<void> {
  if (units.has(file)) return
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ModuleLoadError(file, (error as Error).message, error)
  }
  const code = await transpile(file, source, options)
  units.set(file, code)
  const hosts: string[] = []
  for (const [, specifier] of code.matchAll(REQUIRE_CALL)) {
    if (!specifier) continue
    if (specifier in HOST_MODULES) hosts.push(specifier)
    else if (specifier.startsWith('.'))
      await collectUnits(resolveRelative(file, specifier), units, options)
  }
  await preloadHostModules(hosts)
}

function resolveRelative(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier)
  if (/\.[cm]?[jt]s$/.test(base)) return base
  for (const candidate of [
    `${base}.ts`,
    `${base}.js`,
    join(base, 'index.ts'),
    join(base, 'index.js'),
  ]) {
    try {
      readFileSync(candidate)
      return candidate
    } catch {}
  }
  return base
}

function runUnit(
  file: string,
  units: Map<string, string>,
  cache: Map<string, { exports: unknown }>,
): unknown {
  const cached = cache.get(file)
  if (cached) return cached.exports
  const code = units.get(file)
  if (code === undefined) throw new ModuleLoadError(file, 'not transpiled (required dynamically?)')
  const module = { exports: {} as unknown }
  cache.set(file, module)
  const nativeRequire = createRequire(file)
  const require = (specifier: string): unknown => {
    const host = hostModule(specifier)
    if (host !== undefined) return host
    if (specifier.startsWith('.')) return runUnit(resolveRelative(file, specifier), units, cache)
    if (builtins.has(specifier) || specifier.startsWith('node:')) return nativeRequire(specifier)
    try {
      return nativeRequire(specifier)
    } catch (error) {
      throw new ModuleLoadError(
        file,
        `cannot require '${specifier}': ${(error as Error).message}`,
        error,
      )
    }
  }
  let fn: (...args: unknown[]) => void
  try {
    fn = new Script(`${WRAPPER_ARGS}${code}\n})`, { filename: file }).runInThisContext()
  } catch (error) {
    throw new ModuleLoadError(file, (error as Error).message, error)
  }
  try {
    fn.call(module.exports, module.exports, require, module, file, dirname(file))
  } catch (error) {
    throw new ModuleLoadError(file, `evaluation threw: ${(error as Error).message}`, error)
  }
  return module.exports
}

async function transpile(file: string, source: string, options: EvaluateOptions): Promise<string> {
  // The esbuild version keys the cache; reading it is cheaper than loading esbuild, which a
  // cache hit (every cold start after the first) never does.
  esbuildVersion ??= (createRequire(import.meta.url)('esbuild/package.json') as { version: string })
    .version
  const keyed = `${esbuildVersion}\0${file}\0${source}`
  // The entry's name: from the file's path, size and modification time where it has them
  // (a stat instead of hashing the module's whole text, ~3 ms of a cold vmware_vm.list);
  // the entry is used only when its text matches `keyed` exactly, whatever the name says.
  const stat = statSync(file, { throwIfNoEntry: false })
  const key = contentHash(
    stat ? `${esbuildVersion}\0${file}\0${stat.size}\0${stat.mtimeMs}\0${source.length}` : keyed,
  )
  const cached = options.cacheDir ? readCache(options.cacheDir, key, keyed) : undefined
  if (cached !== undefined) return cached
  // require, not import(): the CLI bundle is CommonJS, compiled by bin/brine.js as a script.
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild')
  try {
    const result = await esbuild.transform(source, {
      loader: file.endsWith('.ts') || file.endsWith('.mts') || file.endsWith('.cts') ? 'ts' : 'js',
      format: 'cjs',
      target: 'node20',
      sourcefile: file,
      logLevel: 'silent',
    })
    if (options.cacheDir) writeCache(options.cacheDir, key, keyed, result.code)
    return result.code
  } catch (error) {
    const first = (
      error as { errors?: Array<{ text: string; location?: { line: number; column: number } }> }
    ).errors?.[0]
    const where = first?.location ? `${file}:${first.location.line}:${first.location.column}` : file
    throw new ModuleLoadError(where, first ? first.text : (error as Error).message, error)
  }
}

/** Read a cached transpile; hot path of a cold start, so only the sync fs is used. */
/**
 * A cache entry holds what it was made from (the esbuild version, the file's path and its
 * source: `keyed`) before the code, and is used only when that matches exactly. The file name
 * is a fast 64-bit hash (contentHash) of the file's path, size and mtime (of `keyed` for a
 * source with no file), so a lookup needs no node:crypto, whose loading is a good part of a
 * cold `brine call test.ping`: a collision of names, or a file changed within its mtime's
 * resolution, can only miss the cache, never load another module's code.
 */
function readCache(dir: string, key: string, keyed: string): string | undefined {
  let entry: string
  try {
    entry = readFileSync(join(dir, `${key}.js`), 'utf8')
  } catch {
    return undefined
  }
  const newline = entry.indexOf('\n')
  const length = Number(entry.slice(0, newline))
  if (newline < 0 || length !== keyed.length) return undefined
  const start = newline + 1
  return entry.slice(start, start + length) === keyed ? entry.slice(start + length) : undefined
}

/** cyrb53's mixing in two 32-bit lanes: 64 bits of hash as 16 hex digits (not a MAC). */
export function contentHash(text: string): string {
  let h1 = 0xdeadbeef ^ text.length
  let h2 = 0x41c6ce57 ^ text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0')
  return hex(h2) + hex(h1)
}

function writeCache(dir: string, key: string, keyed: string, code: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const tmp = join(dir, `${key}.${process.pid}.tmp`)
    writeFileSync(tmp, `${keyed.length}\n${keyed}${code}`)
    renameSync(tmp, join(dir, `${key}.js`))
  } catch (error) {
    log.debug('loader', 'cannot write the transpile cache in %s: %s', dir, (error as Error).message)
  }
}
