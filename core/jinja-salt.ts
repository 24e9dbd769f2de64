// What Salt puts in a template's context: the path variables of generate_sls_context
// (salt/utils/templates.py) and the `salt` object, with the execution functions templates
// call synchronously (pillar.get with merge, grains.get, grains.filter_by, config.get,
// slsutil.merge, log.*, test.ping) as `salt['mod.fun']` and `salt.mod.fun`.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import picomatch from 'picomatch'
import { traverseDictAndList } from './jinja-filters.ts'
import { isDict, type Kwargs, splitArgs } from './jinja-python.ts'
import { log } from './log.ts'
import { loadSaltYaml } from './yaml-salt.ts'

type Data = Record<string, unknown>

/** Salt's sls context: tplpath, tplfile, tpldir, tpldot, slspath, sls_path, slsdotpath, slscolonpath, sls. */
export function slsContext(tplpath: string, sls: string): Data {
  let slspath = sls.replaceAll('.', '/')
  let template = tplpath.replaceAll('\\', '/')
  if (!sls) template = template.slice(template.lastIndexOf('/') + 1)
  else if (template.endsWith(`${slspath}.sls`)) template = template.slice(-(4 + slspath.length))
  else if (template.endsWith(`${slspath}/init.sls`))
    template = template.slice(-(9 + slspath.length))
  slspath = template.includes('/') ? template.slice(0, template.lastIndexOf('/')) : ''
  return {
    sls,
    tplpath,
    tplfile: template,
    tpldir: slspath || '.',
    tpldot: slspath.replaceAll('/', '.'),
    slspath,
    slsdotpath: slspath.replaceAll('/', '.'),
    slscolonpath: slspath.replaceAll('/', ':'),
    sls_path: slspath.replaceAll('/', '_'),
  }
}

/** salt.utils.dictupdate.update: recursive merge into `dest`; lists replaced unless merged. */
export function dictUpdate(dest: Data, upd: Data, mergeLists = false): Data {
  for (const [key, value] of Object.entries(upd)) {
    const current = dest[key]
    if (isDict(current) && isDict(value)) dest[key] = dictUpdate(current, value, mergeLists)
    else if (mergeLists && Array.isArray(current) && Array.isArray(value))
      dest[key] = [
        ...current,
        ...value.filter((v) => !current.some((c) => JSON.stringify(c) === JSON.stringify(v))),
      ]
    else dest[key] = value
  }
  return dest
}

/** salt.utils.dictupdate.merge as slsutil.merge calls it. */
export function mergeData(a: Data, b: Data, strategy = 'smart', mergeLists = false): Data {
  const copyA = structuredClone(a)
  const copyB = structuredClone(b)
  if (strategy === 'smart' || strategy === 'recurse') return dictUpdate(copyA, copyB, mergeLists)
  if (strategy === 'overwrite' || strategy === 'none') return Object.assign(copyA, copyB)
  throw new Error(
    `slsutil.merge: strategy '${strategy}' is not supported (smart, recurse, overwrite, none)`,
  )
}

export interface SaltFunctionsOptions {
  grains: Data
  pillar: Data
  opts: Data
  /** The state tree, for `defaults.get` (`<formula>/defaults.yaml` or `.json`). */
  roots?: string[] | undefined
  /** Further functions (`mod.fun` → function of positional args and kwargs). */
  extra?: Record<string, (args: unknown[], kwargs: Kwargs) => unknown>
}

type SaltFn = (args: unknown[], kwargs: Kwargs) => unknown

/** The `salt` template variable: `salt['pillar.get'](…)` and `salt.pillar.get(…)`. */
export function createSaltFunctions(options: SaltFunctionsOptions): Data {
  const { grains, pillar, opts } = options
  const arg = (args: unknown[], kwargs: Kwargs, i: number, name: string, dflt: unknown) =>
    args.length > i ? args[i] : Object.hasOwn(kwargs, name) ? kwargs[name] : dflt
  const functions: Record<string, SaltFn> = {
    'pillar.get': (args, kw) => {
      const key = String(arg(args, kw, 0, 'key', ''))
      const dflt = arg(args, kw, 1, 'default', '')
      const delimiter = String(kw.delimiter ?? ':')
      if (kw.merge) {
        if (isDict(dflt)) {
          const found = traverseDictAndList(pillar, key, {}, delimiter)
          if (isDict(found))
            return dictUpdate(
              structuredClone(dflt),
              structuredClone(found),
              Boolean(kw.merge_nested_lists),
            )
        } else if (Array.isArray(dflt)) {
          const found = traverseDictAndList(pillar, key, [], delimiter)
          if (Array.isArray(found)) return [...dflt, ...found.filter((x) => !dflt.includes(x))]
        }
      }
      return traverseDictAndList(pillar, key, dflt, delimiter)
    },
    'grains.get': (args, kw) =>
      traverseDictAndList(
        grains,
        String(arg(args, kw, 0, 'key', '')),
        arg(args, kw, 1, 'default', ''),
        String(kw.delimiter ?? ':'),
      ),
    'grains.filter_by': (args, kw) => {
      const lookup = arg(args, kw, 0, 'lookup_dict', {}) as Data
      const grain = String(arg(args, kw, 1, 'grain', 'os_family'))
      const merge = arg(args, kw, 2, 'merge', null)
      const dflt = String(arg(args, kw, 3, 'default', 'default'))
      const base = arg(args, kw, 4, 'base', null) as string | null
      const value = traverseDictAndList(grains, grain, [])
      let ret: unknown = null
      for (const each of Array.isArray(value) ? value : [value]) {
        const key = Object.keys(lookup).find((k) =>
          picomatch.isMatch(String(each), k, { dot: true }),
        )
        if (key !== undefined) {
          ret = lookup[key]
          break
        }
      }
      if (ret === null || ret === undefined) ret = lookup[dflt] ?? null
      if (base && Object.hasOwn(lookup, base)) {
        const baseValues = lookup[base]
        if (ret === null) ret = baseValues
        else if (isDict(baseValues) && isDict(ret))
          ret = dictUpdate(structuredClone(baseValues), ret)
      }
      if (merge) {
        if (!isDict(merge)) throw new Error('grains.filter_by: merge must be a dictionary')
        if (ret === null) ret = merge
        else if (isDict(ret)) dictUpdate(ret, structuredClone(merge))
      }
      return ret
    },
    'config.get': (args, kw) => {
      const key = String(arg(args, kw, 0, 'key', ''))
      const delimiter = String(kw.delimiter ?? ':')
      for (const source of [opts, grains, pillar]) {
        const found = traverseDictAndList(source, key, MISSING, delimiter)
        if (found !== MISSING) return found
      }
      return arg(args, kw, 1, 'default', '')
    },
    'slsutil.merge': (args, kw) =>
      mergeData(
        arg(args, kw, 0, 'obj_a', {}) as Data,
        arg(args, kw, 1, 'obj_b', {}) as Data,
        String(arg(args, kw, 2, 'strategy', 'smart')),
        Boolean(arg(args, kw, 4, 'merge_lists', false)),
      ),
    // salt/modules/defaults.py: `web:port` reads `salt://web/defaults.yaml` (or .json).
    'defaults.get': (args, kw) => {
      const query = String(arg(args, kw, 0, 'key', ''))
      const [formula, key] = query.includes(':')
        ? [query.slice(0, query.indexOf(':')), query.slice(query.indexOf(':') + 1)]
        : [query, undefined]
      const data = loadFormulaDefaults(options.roots ?? [], formula)
      return key ? traverseDictAndList(data, key, arg(args, kw, 1, 'default', '')) : data
    },
    'defaults.merge': (args, kw) => {
      const dest = arg(args, kw, 0, 'dest', {}) as Data
      const src = arg(args, kw, 1, 'src', {}) as Data
      const target = arg(args, kw, 3, 'in_place', true) ? dest : structuredClone(dest)
      return dictUpdate(target, src, Boolean(arg(args, kw, 2, 'merge_lists', false)))
    },
    'defaults.deepcopy': (args, kw) => structuredClone(arg(args, kw, 0, 'source', null)),
    'test.ping': () => true,
    'test.true': () => true,
    'test.false': () => false,
    ...Object.fromEntries(
      ['debug', 'info', 'warning', 'error', 'critical', 'trace'].map((level) => [
        `log.${level}`,
        (args: unknown[]) => {
          const write =
            level === 'error' || level === 'critical'
              ? log.error
              : level === 'warning'
                ? log.warn
                : level === 'info'
                  ? log.info
                  : log.debug
          write('jinja', String(args[0]))
          return null
        },
      ]),
    ),
    ...options.extra,
  }
  const salt: Data = {}
  const modules = new Map<string, Data>()
  for (const [name, fn] of Object.entries(functions)) {
    const call = (...raw: unknown[]) => fn(...splitArgs(raw))
    salt[name] = call
    const [mod, fun] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)]
    if (!modules.has(mod)) modules.set(mod, {})
    modules.get(mod)![fun] = call
  }
  for (const [mod, funs] of modules)
    Object.defineProperty(salt, mod, { value: funs, enumerable: false })
  Object.defineProperty(salt, SALT_FUNCTIONS, { value: true, enumerable: false })
  return salt
}

const MISSING = Symbol('missing')

function loadFormulaDefaults(roots: string[], formula: string): unknown {
  for (const root of roots)
    for (const ext of ['yaml', 'json']) {
      const file = join(root, formula, `defaults.${ext}`)
      if (!existsSync(file)) continue
      const text = readFileSync(file, 'utf8')
      return ext === 'yaml' ? loadSaltYaml(text) : JSON.parse(text)
    }
  return {}
}

/** Marks the `salt` object: a function it lacks goes to the render's `call` (core/jinja.ts). */
export const SALT_FUNCTIONS = Symbol.for('brine.jinja.salt')
