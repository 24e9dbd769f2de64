// Salt's grains execution module (salt/modules/grains.py): reading the minion's grains,
// choosing values by them (filter_by), and setting grains in the grains file (Salt's, beside
// the config file; else in data_dir), which the config's grains: still override, as in Salt.
// The grains come from ctx.grains (core/grains.ts).
import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'

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

/** Python's == on data: dicts by keys and values, lists in order. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => same(item, b[i]))
  if (isMapping(a) && isMapping(b)) {
    const keys = Object.keys(a)
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]))
    )
  }
  return false
}

/**
 * Salt's setvals: each key set in the grains file (and in the grains), or, for a None value
 * with destructive=True, removed from both. Returns what was given, as Salt.
 */
function setvals(
  ctx: CallContext,
  grains: Record<string, unknown>,
  destructive: boolean,
): Record<string, unknown> {
  const file = ctx.sys.readGrainsFile()
  for (const [name, value] of Object.entries(grains)) {
    if (value === null && destructive) delete file[name]
    else file[name] = value
  }
  ctx.sys.writeGrainsFile(file)
  return grains
}

/** The grain at a path, a copy (Salt's get returns the live object, which its callers modify). */
function lookup(ctx: CallContext, path: string, fallback: unknown, sep = DELIMITER): unknown {
  const found = traverse(ctx.grains, path, sep)
  return found === MISSING ? fallback : structuredClone(found)
}

/** Salt's grains.set: a nested key set conservatively (force= to replace a dict or list). */
function setGrain(
  ctx: CallContext,
  path: string,
  value: unknown,
  force: boolean,
  destructive: boolean,
  sep: string,
): { comment: string; changes: Record<string, unknown>; result: boolean } {
  const ret = { comment: '', changes: {} as Record<string, unknown>, result: true }
  const complex = (v: unknown) => Array.isArray(v) || isMapping(v)
  const existing = traverse(ctx.grains, path, sep)
  const existingType = existing === MISSING ? null : complex(existing) ? 'complex' : 'simple'
  if (existingType !== null && same(existing, value) && (value !== null || !destructive)) {
    ret.comment = 'Grain is already set'
    return ret
  }
  let current: unknown = value
  if (existing !== MISSING && existing !== null && !force) {
    if (existingType === 'complex') {
      return {
        ...ret,
        result: false,
        comment: `The key '${path}' exists but is a dict or a list. Use 'force=True' to overwrite.`,
      }
    }
    if (complex(value) && existingType !== null) {
      return {
        ...ret,
        result: false,
        comment: `The key '${path}' exists and the given value is a dict or a list. Use 'force=True' to overwrite.`,
      }
    }
  }
  let name = path
  while (name.includes(sep)) {
    const cut = name.lastIndexOf(sep)
    const rest = name.slice(cut + sep.length)
    name = name.slice(0, cut)
    const parent = lookup(ctx, name, {}, sep)
    if (isMapping(parent)) {
      if (current === null && destructive) delete parent[rest]
      else parent[rest] = current
      current = parent
    } else if (Array.isArray(parent)) {
      let updated = false
      parent.forEach((item, index) => {
        if (item === rest) {
          parent[index] = { [rest]: current }
          updated = true
        } else if (isMapping(item) && rest in item) {
          item[rest] = current
          updated = true
        }
      })
      if (!updated) parent.push({ [rest]: current })
      current = parent
    } else if (parent === rest || force) {
      current = { [rest]: current }
    } else {
      return {
        ...ret,
        result: false,
        comment: `The key '${name}' value is '${pythonStr(parent)}', which is different from the provided key '${rest}'. Use 'force=True' to overwrite.`,
      }
    }
  }
  ret.changes = setvals(ctx, { [name]: current }, destructive)
  return ret
}

const key = z.string().describe('the grain, or a path into it: pkg:apache')
const delimiter = z.string().default(DELIMITER).describe('path separator (default :)')

const get = defineFunction({
  doc: 'Return a grain, or a value inside one with a path (pkg:apache); default (empty string) when there is none.',
  args: () => ({
    key,
    default: z.unknown().optional().describe('returned when the grain is absent (default: "")'),
    delimiter,
    ordered: z.unknown().optional().describe('accepted for Salt compatibility; no effect'),
  }),
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
      args: () => ({ sanitize: z.unknown().default(false).describe('hide identifying values') }),
      run: (ctx, { sanitize: hide }) => sorted(isTrue(hide) ? sanitize(ctx.grains) : ctx.grains),
    }),
    item: defineFunction({
      doc: 'Return the named grains (paths allowed): grains.item os osrelease. default=, delimiter=, sanitize= as keywords.',
      args: () => ({}),
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
      args: () => ({ key }),
      run: (ctx, { key }) => traverse(ctx.grains, key) !== MISSING,
    }),
    ls: defineFunction({
      doc: 'Return the names of all grains, sorted.',
      args: () => ({}),
      run: (ctx) => Object.keys(ctx.grains).sort(),
    }),
    equals: defineFunction({
      doc: 'Return True when the grain, compared as text, equals value: grains.equals osmajorrelease 12.',
      args: () => ({ key, value: z.unknown().describe('the expected value') }),
      run: (ctx, { key, value }) => {
        const found = traverse(ctx.grains, key)
        return pythonStr(value) === pythonStr(found === MISSING ? '' : found)
      },
    }),
    setvals: defineFunction({
      doc: "Set grains in the grains file: setvals \"{'key1': 'val1', 'key2': 'val2'}\". destructive=True removes the keys given None. Returns the grains given.",
      args: () => ({
        grains: z.record(z.string(), z.unknown()).describe('the grains to set'),
        destructive: z.boolean().default(false).describe('remove the keys whose value is None'),
        refresh_pillar: z.boolean().default(true).describe('accepted for Salt compatibility'),
      }),
      run: (ctx, { grains, destructive }) => setvals(ctx, grains, destructive),
    }),
    setval: defineFunction({
      doc: 'Set one grain in the grains file: setval key val. Returns {key: val}.',
      args: () => ({
        key: z.string().describe('the grain'),
        val: z.unknown().describe('its value (a dict or list too)'),
        destructive: z.boolean().default(false).describe('with val None: remove the grain'),
        refresh_pillar: z.boolean().default(true).describe('accepted for Salt compatibility'),
      }),
      run: (ctx, { key, val, destructive }) => setvals(ctx, { [key]: val ?? null }, destructive),
    }),
    append: defineFunction({
      doc: 'Append a value to a list grain (created when absent; a:b paths); convert=True makes a non-list value a list first.',
      args: () => ({
        key,
        val: z.unknown().describe('the value to append (a list appends each item)'),
        convert: z.boolean().default(false).describe('make a non-list value into a list'),
        delimiter,
      }),
      run: (ctx, { key, val, convert, delimiter: sep }) => {
        let grains = lookup(ctx, key, [], sep)
        if (convert && !Array.isArray(grains)) grains = grains === null ? [] : [grains]
        if (!Array.isArray(grains)) return `The key ${key} is not a valid list`
        if (grains.some((item) => same(item, val)))
          return `The val ${pythonStr(val)} was already in the list ${key}`
        if (Array.isArray(val)) grains.push(...val)
        else grains.push(val)
        let name = key
        let value: unknown = grains
        while (name.includes(sep)) {
          const cut = name.lastIndexOf(sep)
          const rest = name.slice(cut + sep.length)
          name = name.slice(0, cut)
          const parent = lookup(ctx, name, {}, sep)
          if (isMapping(parent)) parent[rest] = value
          value = parent
        }
        return setvals(ctx, { [name]: value }, false)
      },
    }),
    remove: defineFunction({
      doc: 'Remove a value from a list grain (a:b paths).',
      args: () => ({ key, val: z.unknown().describe('the value to remove'), delimiter }),
      run: (ctx, { key, val, delimiter: sep }) => {
        const grains = lookup(ctx, key, [], sep)
        if (!Array.isArray(grains)) return `The key ${key} is not a valid list`
        const index = grains.findIndex((item) => same(item, val))
        if (index < 0) return `The val ${pythonStr(val)} was not in the list ${key}`
        grains.splice(index, 1)
        let name = key
        let value: unknown = grains
        while (name.includes(sep)) {
          const cut = name.lastIndexOf(sep)
          const rest = name.slice(cut + sep.length)
          name = name.slice(0, cut)
          const parent = lookup(ctx, name, null, sep)
          if (isMapping(parent)) parent[rest] = value
          value = parent
        }
        return setvals(ctx, { [name]: value }, false)
      },
    }),
    set: defineFunction({
      doc: "Set a grain at a path (apps:myApp:port 2209); an existing dict or list, or a dict or list given, needs force=True. Returns Salt's {comment, changes, result}.",
      args: () => ({
        key,
        val: z.unknown().default('').describe('the value'),
        force: z.boolean().default(false).describe('replace a dict or list'),
        destructive: z.boolean().default(false).describe('with val None: remove the key'),
        delimiter,
      }),
      run: (ctx, { key, val, force, destructive, delimiter: sep }) =>
        setGrain(ctx, key, val ?? null, force, destructive, sep),
    }),
    delval: defineFunction({
      doc: 'Set a grain to None in the grains file; destructive=True removes it.',
      args: () => ({
        key,
        destructive: z.boolean().default(false).describe('remove the grain'),
        force: z.boolean().default(false).describe('also a dict or list grain'),
      }),
      run: (ctx, { key, destructive, force }) =>
        setGrain(ctx, key, null, force, destructive, DELIMITER),
    }),
    delkey: defineFunction({
      doc: 'Remove a grain from the grains file.',
      args: () => ({
        key,
        force: z.boolean().default(false).describe('also a dict or list grain'),
      }),
      run: (ctx, { key, force }) => setGrain(ctx, key, null, force, true, DELIMITER),
    }),
    filter_by: defineFunction({
      doc: "Choose from lookup_dict by a grain's value (keys may be globs): filter_by '{Debian: apt, RedHat: yum}'. merge= is merged over the choice, base= is the entry merged under it, default= the key used when nothing matches.",
      args: () => ({
        lookup_dict: z.record(z.string(), z.unknown()).describe('choices keyed by grain value'),
        grain: z.string().default('os_family').describe('the grain to look up (default os_family)'),
        merge: z.unknown().optional().describe('a dictionary merged over the choice'),
        default: z.string().default('default').describe('the key used when nothing matches'),
        base: z.string().nullish().describe('the key of the entry the choice is merged over'),
      }),
      run: (ctx, { lookup_dict, grain, merge, default: defaultKey, base }) =>
        filterBy(lookup_dict, grain, ctx.grains, merge, defaultKey, base),
    }),
  },
})
