// Salt's grains execution module (salt/modules/grains.py): reading the minion's grains and
// choosing values by them (filter_by). The grains come from ctx.grains (core/grains.ts).
import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'

/** Salt's DEFAULT_TARGET_DELIM. */
const DELIMITER = ':'

/** What `traverse` returns for a path that leads nowhere (Salt passes KeyError as the default). */
const MISSING = Symbol('missing')

/**
 * Salt's salt.utils.data.traverse_dict_and_list: `a:b:0` walks dicts by key and lists by
 * index; a key that is not a number, met at a list, is looked up in the dicts the list holds.
 */
export function traverse(data: unknown, key: string, delimiter = DELIMITER): unknown {
  let pointer: unknown = data
  for (const part of key.split(delimiter)) {
    if (Array.isArray(pointer)) {
      const embedded = pointer.find((item) => isMapping(item) && Object.hasOwn(item, part)) as
        | Record<string, unknown>
        | undefined
      if (embedded) pointer = embedded[part]
      else if (/^-?\d+$/.test(part)) {
        const index = Number(part)
        const item = pointer.at(index)
        if (item === undefined && (index >= pointer.length || index < -pointer.length))
          return MISSING
        pointer = item
      } else return MISSING
    } else if (isMapping(pointer) && Object.hasOwn(pointer, part)) {
      pointer = pointer[part]
    } else return MISSING
  }
  return pointer
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Salt's salt.utils.dictupdate.update (recursive): mappings merge, anything else replaces. */
function update(dest: Record<string, unknown>, upd: Record<string, unknown>) {
  for (const [key, value] of Object.entries(upd)) {
    const current = dest[key]
    if (isMapping(current) && isMapping(value)) dest[key] = update({ ...current }, value)
    else dest[key] = value
  }
  return dest
}

/** Python's fnmatch.fnmatchcase: `*`, `?`, `[seq]`, `[!seq]`; nothing else is special. */
function fnmatchCase(name: string, pattern: string): boolean {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === '*') source += '[\\s\\S]*'
    else if (char === '?') source += '[\\s\\S]'
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) source += '\\['
      else {
        let set = pattern.slice(i + 1, end).replaceAll('\\', '\\\\')
        if (set.startsWith('!')) set = `^${set.slice(1)}`
        else if (set.startsWith('^')) set = `\\${set}`
        source += `[${set}]`
        i = end
      }
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^${source}$`).test(name)
}

/** Python's str() of a lookup key or grain value, for matching. */
function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  return String(value)
}

/**
 * Salt's salt.utils.data.filter_by: the lookup_dict entry whose key (a glob) matches the
 * grain's value (the first item of a list value that matches any key), else the `default`
 * entry; merged over `base`, then `merge` merged over it.
 */
export function filterBy(
  lookupDict: Record<string, unknown>,
  lookup: string,
  traverseData: unknown,
  merge: unknown,
  defaultKey: string,
  base: string | undefined | null,
): unknown {
  let ret: unknown = null
  const found = traverse(traverseData, lookup)
  const value = found === MISSING ? [] : found
  for (const each of Array.isArray(value) ? value : [value]) {
    for (const key of Object.keys(lookupDict)) {
      if (fnmatchCase(pythonStr(each), key)) {
        ret = lookupDict[key]
        break
      }
    }
    if (ret !== null && ret !== undefined) break
  }
  if (ret === null || ret === undefined) ret = lookupDict[defaultKey] ?? null
  if (base && Object.hasOwn(lookupDict, base)) {
    const baseValues = lookupDict[base]
    if (ret === null) ret = baseValues
    else if (isMapping(baseValues)) {
      if (!isMapping(ret))
        throw new ModuleError('filter_by default and look-up values must both be dictionaries.')
      ret = update(structuredClone(baseValues), ret)
    }
  }
  if (merge) {
    if (!isMapping(merge)) throw new ModuleError('filter_by merge argument must be a dictionary.')
    if (ret !== null && !isMapping(ret))
      throw new ModuleError(
        `filter_by chose ${JSON.stringify(ret)}, which is not a dictionary: merge= can only be merged over a dictionary.`,
      )
    ret = ret === null ? merge : update(structuredClone(ret), merge)
  }
  return ret
}

// Salt's _SANITIZERS (grains.items sanitize=True).
const SANITIZERS: Record<string, (value: unknown) => unknown> = {
  serialnumber: (value) => {
    const text = String(value)
    const index = Math.floor(text.length * 0.75)
    return `${text.slice(0, index)}${'X'.repeat(text.length - index)}`
  },
  domain: () => 'DOMAINNAME',
  fqdn: () => 'MINION.DOMAINNAME',
  id: () => 'MINION.DOMAINNAME',
  host: () => 'MINION',
  localhost: () => 'MINION',
  nodename: () => 'MINION',
}

function sanitize(grains: Record<string, unknown>): Record<string, unknown> {
  const out = { ...grains }
  for (const [key, sanitizer] of Object.entries(SANITIZERS))
    if (key in out) out[key] = sanitizer(out[key])
  return out
}

/** Salt's salt.utils.data.is_true: numbers above 0, the string "true" in any case, truthy. */
function isTrue(value: unknown): boolean {
  if (typeof value === 'number') return value > 0
  if (typeof value === 'string') {
    const number = Number(value)
    if (value.trim() !== '' && !Number.isNaN(number)) return number > 0
    return value.toLowerCase() === 'true'
  }
  return Boolean(value)
}

/** The grains in name order (Salt's nested outputter prints a dict's keys sorted). */
function sorted(grains: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(grains)
      .sort()
      .map((key) => [key, grains[key]]),
  )
}

const key = z.string().describe('the grain, or a path into it: pkg:apache')
const delimiter = z.string().default(DELIMITER).describe('path separator (default :)')

const get = defineFunction({
  doc: 'Return a grain, or a value inside one with a path (pkg:apache); default (empty string) when there is none.',
  args: {
    key,
    default: z.unknown().optional().describe('returned when the grain is absent (default: "")'),
    delimiter,
    ordered: z.unknown().optional().describe('accepted for Salt compatibility; no effect'),
  },
  run: (ctx, { key, default: fallback, delimiter }) => {
    const value = traverse(ctx.grains, key, delimiter)
    return value === MISSING ? (fallback === undefined ? '' : fallback) : value
  },
})

export default defineModule({
  doc: 'The minion’s grains, as Salt’s grains module: facts about this machine and the config file’s grains:.',
  functions: {
    items: defineFunction({
      doc: 'Return all grains. sanitize=True hides host names, the id and serial numbers.',
      args: { sanitize: z.unknown().default(false).describe('hide identifying values') },
      run: (ctx, { sanitize: hide }) => sorted(isTrue(hide) ? sanitize(ctx.grains) : ctx.grains),
    }),
    item: defineFunction({
      doc: 'Return the named grains (paths allowed): grains.item os osrelease. default=, delimiter=, sanitize= as keywords.',
      args: {},
      varargs: true,
      run: (ctx, _args, extra) => {
        const fallback = Object.hasOwn(extra.kwargs, 'default') ? extra.kwargs.default : ''
        const sep = typeof extra.kwargs.delimiter === 'string' ? extra.kwargs.delimiter : DELIMITER
        const ret: Record<string, unknown> = {}
        for (const name of extra.args) {
          const value = traverse(ctx.grains, String(name), sep)
          ret[String(name)] = value === MISSING ? fallback : value
        }
        return isTrue(extra.kwargs.sanitize) ? sanitize(ret) : ret
      },
    }),
    get,
    fetch: { ...get, doc: `${get.doc}\nThe same as grains.get (Salt's alias for Jinja).` },
    has_value: defineFunction({
      doc: 'Return True when the grain (or the path inside it) exists, whatever its value.',
      args: { key },
      run: (ctx, { key }) => traverse(ctx.grains, key) !== MISSING,
    }),
    ls: defineFunction({
      doc: 'Return the names of all grains, sorted.',
      args: {},
      run: (ctx) => Object.keys(ctx.grains).sort(),
    }),
    equals: defineFunction({
      doc: 'Return True when the grain, compared as text, equals value: grains.equals osmajorrelease 12.',
      args: { key, value: z.unknown().describe('the expected value') },
      run: (ctx, { key, value }) => {
        const found = traverse(ctx.grains, key)
        return pythonStr(value) === pythonStr(found === MISSING ? '' : found)
      },
    }),
    filter_by: defineFunction({
      doc: "Choose from lookup_dict by a grain's value (keys may be globs): filter_by '{Debian: apt, RedHat: yum}'. merge= is merged over the choice, base= is the entry merged under it, default= the key used when nothing matches.",
      args: {
        lookup_dict: z.record(z.string(), z.unknown()).describe('choices keyed by grain value'),
        grain: z.string().default('os_family').describe('the grain to look up (default os_family)'),
        merge: z.unknown().optional().describe('a dictionary merged over the choice'),
        default: z.string().default('default').describe('the key used when nothing matches'),
        base: z.string().nullish().describe('the key of the entry the choice is merged over'),
      },
      run: (ctx, { lookup_dict, grain, merge, default: defaultKey, base }) =>
        filterBy(lookup_dict, grain, ctx.grains, merge, defaultKey, base),
    }),
  },
})
