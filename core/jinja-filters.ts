// Jinja2's builtin filters and tests with Python semantics and keyword arguments, and Salt's
// own filters (salt/utils/jinja.py, salt/utils/data.py): yaml, json, tojson, load_yaml,
// load_json, traverse, to_bool, unique, yaml_dquote, yaml_squote, yaml_encode, regex_*.
import { parse as parseYaml } from 'yaml'
import {
  isDict,
  iterate,
  type Kwargs,
  percentFormat,
  pyCompare,
  pyEq,
  pyRepr,
  pyStr,
  pyTruthy,
  splitArgs,
  tuple,
} from './jinja-python.ts'
import { loadSaltYaml } from './yaml-salt.ts'

type Filter = (value: unknown, args: unknown[], kwargs: Kwargs) => unknown
type Test = (value: unknown, ...args: unknown[]) => boolean

/** The tests of Jinja2 (`is defined`, `is mapping`, …), used by `is`, select and reject. */
export const TESTS: Record<string, Test> = {
  defined: (v) => v !== undefined,
  undefined: (v) => v === undefined,
  none: (v) => v === null,
  boolean: (v) => typeof v === 'boolean',
  true: (v) => v === true,
  false: (v) => v === false,
  number: (v) => typeof v === 'number',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  float: (v) => typeof v === 'number' && !Number.isInteger(v),
  string: (v) => typeof v === 'string',
  mapping: (v) => isDict(v),
  sequence: (v) => Array.isArray(v) || typeof v === 'string' || isDict(v),
  iterable: (v) => Array.isArray(v) || typeof v === 'string' || isDict(v),
  callable: (v) => typeof v === 'function',
  even: (v) => Number(v) % 2 === 0,
  odd: (v) => Math.abs(Number(v) % 2) === 1,
  divisibleby: (v, n) => Number(v) % Number(n) === 0,
  lower: (v) => typeof v === 'string' && v === v.toLowerCase(),
  upper: (v) => typeof v === 'string' && v === v.toUpperCase(),
  in: (v, seq) => pyIn(v, seq),
  eq: (a, b) => pyEq(a, b),
  equalto: (a, b) => pyEq(a, b),
  '==': (a, b) => pyEq(a, b),
  ne: (a, b) => !pyEq(a, b),
  '!=': (a, b) => !pyEq(a, b),
  lt: (a, b) => pyCompare(a, b) < 0,
  le: (a, b) => pyCompare(a, b) <= 0,
  gt: (a, b) => pyCompare(a, b) > 0,
  ge: (a, b) => pyCompare(a, b) >= 0,
  greaterthan: (a, b) => pyCompare(a, b) > 0,
  lessthan: (a, b) => pyCompare(a, b) < 0,
  sameas: (a, b) => a === b,
}

export function pyIn(item: unknown, container: unknown): boolean {
  if (typeof container === 'string') return container.includes(pyStr(item))
  if (Array.isArray(container)) return container.some((x) => pyEq(x, item))
  if (isDict(container)) return Object.hasOwn(container, String(item))
  return false
}

function attr(value: unknown, path: unknown): unknown {
  let current = value
  for (const part of String(path).split('.')) {
    if (current === null || current === undefined) return undefined
    current =
      Array.isArray(current) && /^\d+$/.test(part)
        ? current[Number(part)]
        : (current as Record<string, unknown>)[part]
  }
  return current
}

function testFor(
  args: unknown[],
  kwargs: Kwargs,
  lookupFilter: (name: string) => Filter,
): (v: unknown) => boolean {
  if (!args.length) return pyTruthy
  const [name, ...rest] = args
  const test = TESTS[String(name)]
  if (!test) throw new Error(`No test named '${String(name)}'`)
  void kwargs
  void lookupFilter
  return (v) => test(v, ...rest)
}

/** Filters by name; each takes the value, positional arguments and keyword arguments. */
export function createFilters(
  callMacro: (fn: unknown, args: unknown[]) => unknown,
): Record<string, Filter> {
  const filters: Record<string, Filter> = {
    default: (v, [d = '', boolean = false], kw) =>
      v === undefined || ((kw.boolean ?? boolean) && !pyTruthy(v)) ? (kw.default_value ?? d) : v,
    list: (v) => (v === undefined ? [] : [...iterate(v)]),
    string: (v) => pyStr(v),
    int: (v, [d = 0]) => {
      const n = typeof v === 'string' ? Number.parseInt(v.trim(), 10) : Math.trunc(Number(v))
      return Number.isNaN(n) ? d : n
    },
    float: (v, [d = 0]) => {
      const n = Number.parseFloat(String(v))
      return Number.isNaN(n) ? d : n
    },
    bool: (v) => pyTruthy(v),
    length: (v) =>
      isDict(v) ? Object.keys(v).length : ((v as unknown[] | string | undefined)?.length ?? 0),
    first: (v) => iterate(v)[0],
    last: (v) => {
      const items = iterate(v)
      return items[items.length - 1]
    },
    join: (v, [sep = '', attribute], kw) =>
      iterate(v)
        .map((x) => pyStr((kw.attribute ?? attribute) ? attr(x, kw.attribute ?? attribute) : x))
        .join(String(kw.d ?? sep)),
    upper: (v) => pyStr(v).toUpperCase(),
    lower: (v) => pyStr(v).toLowerCase(),
    capitalize: (v) => {
      const s = pyStr(v)
      return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()
    },
    title: (v) =>
      pyStr(v)
        .toLowerCase()
        .replace(/(^|[^a-zA-Z])([a-z])/g, (_, a, b) => a + b.toUpperCase()),
    trim: (v, [chars]) => {
      const s = pyStr(v)
      if (chars === undefined) return s.trim()
      const set = new Set(String(chars))
      let a = 0
      let b = s.length
      while (a < b && set.has(s[a]!)) a++
      while (b > a && set.has(s[b - 1]!)) b--
      return s.slice(a, b)
    },
    replace: (v, [old, replacement, count]) => {
      const s = pyStr(v)
      const parts = s.split(String(old))
      const n = count === undefined ? parts.length : Number(count) + 1
      return [
        parts.slice(0, n).join(String(replacement)),
        ...(parts.length > n ? [parts.slice(n).join(String(old))] : []),
      ].join(String(old))
    },
    indent: (v, [width = 4, first = false, blank = false], kw) => {
      const w = kw.width ?? width
      const pad = typeof w === 'string' ? w : ' '.repeat(Number(w))
      const lines = pyStr(v).split('\n')
      const out = lines.map((line, i) =>
        (i === 0 && !(kw.first ?? first)) || (!line.trim() && !(kw.blank ?? blank))
          ? line
          : pad + line,
      )
      return out.join('\n')
    },
    sort: (v, [reverse = false, _case = false, attribute], kw) => {
      const key = kw.attribute ?? attribute
      const items = [...iterate(v)].sort((a, b) =>
        key ? pyCompare(attr(a, key), attr(b, key)) : pyCompare(a, b),
      )
      return (kw.reverse ?? reverse) ? items.reverse() : items
    },
    reverse: (v) => (typeof v === 'string' ? [...v].reverse().join('') : [...iterate(v)].reverse()),
    unique: (v, _a, kw) => {
      const out: unknown[] = []
      for (const x of iterate(v)) {
        const k = kw.attribute ? attr(x, kw.attribute) : x
        if (!out.some((y) => pyEq(kw.attribute ? attr(y, kw.attribute) : y, k))) out.push(x)
      }
      return out
    },
    map: (v, args, kw) => {
      if (kw.attribute !== undefined)
        return iterate(v).map((x) => attr(x, kw.attribute) ?? kw.default)
      const [name, ...rest] = args
      const f = filters[String(name)]
      if (!f) throw new Error(`No filter named '${String(name)}'`)
      return iterate(v).map((x) => f(x, rest, kw))
    },
    select: (v, args, kw) => iterate(v).filter(testFor(args, kw, (n) => filters[n]!)),
    reject: (v, args, kw) => {
      const t = testFor(args, kw, (n) => filters[n]!)
      return iterate(v).filter((x) => !t(x))
    },
    selectattr: (v, [name, ...rest], kw) => {
      const t = testFor(rest, kw, (n) => filters[n]!)
      return iterate(v).filter((x) => t(attr(x, name)))
    },
    rejectattr: (v, [name, ...rest], kw) => {
      const t = testFor(rest, kw, (n) => filters[n]!)
      return iterate(v).filter((x) => !t(attr(x, name)))
    },
    dictsort: (v, [caseSensitive = false, byArg = 'key', reverseArg = false], kw) => {
      void caseSensitive
      const by = kw.by ?? byArg
      const reverse = pyTruthy(kw.reverse ?? reverseArg)
      const items = Object.entries(v as Record<string, unknown>).sort((a, b) =>
        by === 'value' ? pyCompare(a[1], b[1]) : pyCompare(a[0], b[0]),
      )
      return (reverse ? items.reverse() : items).map((e) => tuple(e))
    },
    items: (v) => (v === undefined ? [] : Object.entries(v as object).map((e) => tuple(e))),
    max: (v, _a, kw) =>
      [...iterate(v)]
        .sort((a, b) =>
          pyCompare(
            kw.attribute ? attr(a, kw.attribute) : a,
            kw.attribute ? attr(b, kw.attribute) : b,
          ),
        )
        .pop(),
    min: (v, _a, kw) =>
      [...iterate(v)].sort((a, b) =>
        pyCompare(
          kw.attribute ? attr(a, kw.attribute) : a,
          kw.attribute ? attr(b, kw.attribute) : b,
        ),
      )[0],
    sum: (v, [attribute, start = 0], kw) => {
      let total: unknown = kw.start ?? start
      for (const x of iterate(v)) {
        const item = (kw.attribute ?? attribute) ? attr(x, kw.attribute ?? attribute) : x
        total = Array.isArray(total)
          ? [...total, ...(item as unknown[])]
          : Number(total) + Number(item)
      }
      return total
    },
    round: (v, [precision = 0, method = 'common']) => {
      const f = 10 ** Number(precision)
      const x = Number(v) * f
      const r =
        method === 'ceil' ? Math.ceil(x) : method === 'floor' ? Math.floor(x) : Math.round(x)
      return r / f
    },
    abs: (v) => Math.abs(Number(v)),
    batch: (v, [n, fill]) => {
      const items = iterate(v)
      const out: unknown[][] = []
      for (let i = 0; i < items.length; i += Number(n)) out.push(items.slice(i, i + Number(n)))
      const lastBatch = out[out.length - 1]
      if (fill !== undefined && lastBatch) while (lastBatch.length < Number(n)) lastBatch.push(fill)
      return out
    },
    format: (v, args, kw) => percentFormat(pyStr(v), Object.keys(kw).length ? kw : tuple(args)),
    safe: (v) => v,
    e: (v) => v,
    escape: (v) =>
      pyStr(v)
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&#34;')
        .replace(/'/g, '&#39;'),
    wordcount: (v) => pyStr(v).split(/\s+/).filter(Boolean).length,
    center: (v, [w = 80]) => {
      const s = pyStr(v)
      const left = Math.floor((Number(w) - s.length) / 2)
      return s.padStart(s.length + Math.max(0, left)).padEnd(Number(w))
    },
    // Salt's filters
    yaml: (v, [flow = true], kw) => dumpYaml(v, pyTruthy(kw.flow_style ?? flow)),
    json: (v, [sortKeys = true, indent], kw) =>
      dumpJson(v, {
        sortKeys: pyTruthy(kw.sort_keys ?? sortKeys),
        indent: (kw.indent ?? indent) as number | undefined,
        ascii: true,
      }),
    tojson: (v, [indent], kw) =>
      dumpJson(v, {
        sortKeys: pyTruthy(kw.sort_keys ?? false),
        indent: (kw.indent ?? indent) as number | undefined,
        ascii: kw.ensure_ascii === undefined ? true : pyTruthy(kw.ensure_ascii),
      }),
    python: (v) => pyRepr(v),
    load_yaml: (v) => {
      if (typeof v !== 'string') throw new TypeError(`load_yaml expects a string, got ${pyRepr(v)}`)
      return loadSaltYaml(v)
    },
    load_json: (v) => {
      if (typeof v !== 'string') throw new TypeError(`load_json expects a string, got ${pyRepr(v)}`)
      return JSON.parse(v)
    },
    load_text: (v) => pyStr(v),
    traverse: (v, [key, dflt = null, delimiter = ':'], kw) =>
      traverseDictAndList(v, String(key), kw.default ?? dflt, String(kw.delimiter ?? delimiter)),
    to_bool: (v) => toBool(v),
    yaml_dquote: (v) => JSON.stringify(pyStr(v)),
    yaml_squote: (v) => `'${pyStr(v).replaceAll("'", "''")}'`,
    yaml_encode: (v) => dumpYaml(v, true),
    regex_replace: (v, [pattern, replacement, ignorecase = false, multiline = false], kw) =>
      pyStr(v).replace(
        pyRegex(
          pattern,
          pyTruthy(kw.ignorecase ?? ignorecase),
          pyTruthy(kw.multiline ?? multiline),
          'g',
        ),
        String(replacement)
          .replace(/\\(\d)/g, '$$$1')
          .replace(/\\g<(\w+)>/g, '$$<$1>'),
      ),
    regex_search: (v, [pattern, ignorecase = false, multiline = false], kw) => {
      const m = pyRegex(
        pattern,
        pyTruthy(kw.ignorecase ?? ignorecase),
        pyTruthy(kw.multiline ?? multiline),
      ).exec(pyStr(v))
      return m ? tuple(m.slice(1).map((g) => g ?? null)) : null
    },
    regex_match: (v, [pattern, ignorecase = false, multiline = false], kw) => {
      const m = pyRegex(
        `^(?:${String(pattern)})`,
        pyTruthy(kw.ignorecase ?? ignorecase),
        pyTruthy(kw.multiline ?? multiline),
      ).exec(pyStr(v))
      return m ? tuple(m.slice(1).map((g) => g ?? null)) : null
    },
    regex_escape: (v) => pyStr(v).replace(/[^A-Za-z0-9_]/g, '\\$&'),
    sequence: (v) => (Array.isArray(v) ? v : isDict(v) ? v : [v]),
    is_list: (v) => Array.isArray(v),
    quote: (v) => `'${pyStr(v).replaceAll("'", `'"'"'`)}'`,
  }
  filters.d = filters.default!
  filters.count = filters.length!
  void callMacro
  return filters
}

function pyRegex(pattern: unknown, ignorecase: boolean, multiline: boolean, extra = ''): RegExp {
  const source = String(pattern)
    .replace(/\(\?P<(\w+)>/g, '(?<$1>')
    .replace(/\\Z/g, '$')
  return new RegExp(source, `${ignorecase ? 'i' : ''}${multiline ? 'm' : ''}${extra}`)
}

/** Salt's `salt.utils.data.traverse_dict_and_list`: `a:b:0` through dicts and lists. */
export function traverseDictAndList(
  data: unknown,
  key: string,
  fallback: unknown = null,
  delimiter = ':',
): unknown {
  let current = data
  for (const part of key.split(delimiter)) {
    if (Array.isArray(current)) {
      const index = Number(part)
      if (!/^-?\d+$/.test(part) || index >= current.length) return fallback
      current = current[index < 0 ? current.length + index : index]
    } else if (isDict(current) && Object.hasOwn(current, part)) current = current[part]
    else return fallback
  }
  return current
}

/** Salt's `to_bool` filter. */
export function toBool(value: unknown): boolean {
  if (value === null || value === undefined) return false
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') return ['yes', '1', 'true'].includes(value.toLowerCase())
  if (typeof value === 'number') return value > 0
  if (Array.isArray(value)) return value.length > 0
  return false
}

/** Python's json.dumps: `, ` and `: ` separators, keys sorted on request, ASCII escapes. */
export function dumpJson(
  value: unknown,
  options: { sortKeys: boolean; indent?: number | undefined; ascii: boolean },
): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted)
    if (isDict(v)) {
      const keys = Object.keys(v)
      if (options.sortKeys) keys.sort()
      return Object.fromEntries(keys.map((k) => [k, sorted(v[k])]))
    }
    return v === undefined ? null : v
  }
  const data = sorted(value)
  let text: string
  if (options.indent === undefined || options.indent === null) {
    const emit = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(emit).join(', ')}]`
      if (isDict(v))
        return `{${Object.entries(v)
          .map(([k, x]) => `${JSON.stringify(k)}: ${emit(x)}`)
          .join(', ')}}`
      if (typeof v === 'number' && !Number.isFinite(v))
        return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'
      return JSON.stringify(v) ?? 'null'
    }
    text = emit(data)
  } else text = JSON.stringify(data, null, Number(options.indent))
  return options.ascii
    ? text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : text
}

const YAML_SPECIAL =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|=|<<)$/

function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (value === true) return 'true'
  if (value === false) return 'false'
  if (typeof value === 'number')
    return Number.isFinite(value)
      ? String(value)
      : Number.isNaN(value)
        ? '.nan'
        : value > 0
          ? '.inf'
          : '-.inf'
  if (value instanceof Date) return value.toISOString().slice(0, 10)
  const s = String(value)
  const plain =
    s !== '' &&
    !YAML_SPECIAL.test(s) &&
    !/^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s) &&
    !/^0[xob]/i.test(s) &&
    !/^\d{4}-\d\d?-\d\d?/.test(s) &&
    /^[^\s\-?:,[\]{}#&*!|>'"%@`]/.test(s) &&
    !/[\s]$/.test(s) &&
    !/: |:$| #|[\n\t,[\]{}]/.test(s) &&
    !/^\.(inf|nan)$/i.test(s) &&
    !/^-?\.?(inf|nan)$/i.test(s)
  if (plain) return s
  if ([...s].some((c) => c === '\\' || c.charCodeAt(0) < 0x20)) return JSON.stringify(s)
  return `'${s.replaceAll("'", "''")}'`
}

function flowYaml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flowYaml).join(', ')}]`
  if (isDict(value))
    return `{${Object.entries(value)
      .map(([k, v]) => `${yamlScalar(k)}: ${flowYaml(v)}`)
      .join(', ')}}`
  return yamlScalar(value)
}

function blockYaml(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (!value.length) return `${indent}[]\n`
    return value
      .map((item) => {
        if ((Array.isArray(item) && item.length) || (isDict(item) && Object.keys(item).length)) {
          const inner = blockYaml(item, `${indent}  `)
          return `${indent}- ${inner.slice(indent.length + 2)}`
        }
        return `${indent}- ${flowYaml(item)}\n`
      })
      .join('')
  }
  if (isDict(value)) {
    if (!Object.keys(value).length) return `${indent}{}\n`
    return Object.entries(value)
      .map(([k, v]) => {
        if (Array.isArray(v) && v.length)
          return `${indent}${yamlScalar(k)}:\n${blockYaml(v, indent)}`
        if (isDict(v) && Object.keys(v).length)
          return `${indent}${yamlScalar(k)}:\n${blockYaml(v, `${indent}  `)}`
        return `${indent}${yamlScalar(k)}: ${flowYaml(v)}\n`
      })
      .join('')
  }
  return `${indent}${yamlScalar(value)}\n`
}

/** Salt's `yaml` filter: PyYAML's dump, flow style unless `yaml(False)`, stripped. */
export function dumpYaml(value: unknown, flow: boolean): string {
  return (flow ? flowYaml(value) : blockYaml(value, '')).trim()
}

export { parseYaml, splitArgs }
