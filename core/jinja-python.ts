// Python's value semantics as Jinja2 templates see them, for values that are plain JS data:
// str() and repr() (None, True, ['a', 1], {'k': 'v'}), truthiness (empty lists and dicts are
// false), ==, + and * on lists and strings, % formatting, str.format, and the methods of
// str, list and dict that Salt formulas call (`.split()`, `.update()`, `.items()`, …).

/** Keyword arguments as nunjucks passes them: a last argument object marked `__keywords`. */
export type Kwargs = Record<string, unknown>

const TUPLE = Symbol.for('brine.jinja.tuple')

/** A list that prints as a Python tuple: `(1, 'x')`. */
export function tuple<T>(items: T[]): T[] {
  Object.defineProperty(items, TUPLE, { value: true })
  return items
}

export function isTuple(value: unknown): boolean {
  return Array.isArray(value) && (value as unknown as Record<symbol, unknown>)[TUPLE] === true
}

export function isDict(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Split nunjucks call arguments into positional ones and keyword ones. */
export function splitArgs(args: unknown[]): [unknown[], Kwargs] {
  const last = args[args.length - 1]
  if (typeof last === 'object' && last !== null && Object.hasOwn(last, '__keywords')) {
    const { __keywords: _, ...kwargs } = last as Kwargs
    return [args.slice(0, -1), kwargs]
  }
  return [args, {}]
}

/** Python's `str()`. */
export function pyStr(value: unknown): string {
  if (typeof value === 'string') return value
  // Jinja2's StrictUndefined (Salt's): an undefined value cannot become text.
  if (value === undefined) throw new Error('a Jinja variable is undefined (used as text)')
  if (value === null) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return pyNumber(value)
  if (typeof value === 'function') return '<function>'
  if (typeof value === 'object' && value.constructor?.name === 'SafeString') return String(value)
  if (Array.isArray(value) || isDict(value)) return pyRepr(value)
  return String(value)
}

function pyNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan'
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf'
  return String(value)
}

/** Python's `repr()`. */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string') return reprString(value)
  if (Array.isArray(value)) {
    const inner = value.map(pyRepr).join(', ')
    if (isTuple(value)) return value.length === 1 ? `(${inner},)` : `(${inner})`
    return `[${inner}]`
  }
  if (isDict(value))
    return `{${Object.entries(value)
      .map(([k, v]) => `${reprString(k)}: ${pyRepr(v)}`)
      .join(', ')}}`
  if (value instanceof Date) return `datetime.date(${value.toISOString().slice(0, 10)})`
  return pyStr(value)
}

function reprString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'"
  let out = ''
  for (const ch of text) {
    if (ch === '\\') out += '\\\\'
    else if (ch === quote) out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else out += ch
  }
  return quote + out + quote
}

/** Python truthiness. */
export function pyTruthy(value: unknown): boolean {
  // Salt's StrictUndefined: `{% if pillar.missing %}` is an error, not false.
  if (value === undefined) throw new Error('a Jinja variable is undefined (tested for truth)')
  if (Array.isArray(value)) return value.length > 0
  if (isDict(value)) return Object.keys(value).length > 0
  return Boolean(value)
}

/** Python `==`: deep for lists and dicts, no coercion between strings and numbers. */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true
  if (typeof a === 'boolean' && typeof b === 'number') return Number(a) === b
  if (typeof b === 'boolean' && typeof a === 'number') return Number(b) === a
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => pyEq(item, b[i]))
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a)
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && pyEq(a[key], b[key]))
    )
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  return false
}

export function pyAdd(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b))
    return isTuple(a) && isTuple(b) ? tuple([...a, ...b]) : [...a, ...b]
  if (typeof a === 'string' && typeof b === 'string') return a + b
  if (isNumeric(a) && isNumeric(b)) return Number(a) + Number(b)
  throw new TypeError(
    `unsupported operand type(s) for +: '${pyType(a)}' and '${pyType(b)}' (use ~ to join as text)`,
  )
}

export function pyMul(a: unknown, b: unknown): unknown {
  if (isNumeric(a) && isNumeric(b)) return Number(a) * Number(b)
  const [seq, n] = isNumeric(b) ? [a, Number(b)] : [b, Number(a)]
  if (typeof seq === 'string') return seq.repeat(Math.max(0, n))
  if (Array.isArray(seq)) return Array.from({ length: Math.max(0, n) }, () => seq).flat()
  throw new TypeError(`unsupported operand type(s) for *: '${pyType(a)}' and '${pyType(b)}'`)
}

export function pyMod(a: unknown, b: unknown): unknown {
  if (typeof a === 'string') return percentFormat(a, b)
  const x = Number(a)
  const y = Number(b)
  return ((x % y) + y) % y
}

function isNumeric(value: unknown): value is number | boolean {
  return typeof value === 'number' || typeof value === 'boolean'
}

export function pyType(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType'
  if (typeof value === 'string') return 'str'
  if (typeof value === 'boolean') return 'bool'
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float'
  if (Array.isArray(value)) return isTuple(value) ? 'tuple' : 'list'
  if (isDict(value)) return 'dict'
  return typeof value
}

/** `"%s-%02d" % (a, b)` and `"%(name)s" % {…}`. */
export function percentFormat(format: string, args: unknown): string {
  // Only a tuple spreads over the conversions; a list is one value, as in Python.
  const list = isTuple(args) ? (args as unknown[]) : [args]
  let index = 0
  const result = format.replace(
    /%(\([^)]*\))?([#0\- +]*)(\d+|\*)?(?:\.(\d+))?([sdirfFeEgGxXoc%])/g,
    (_m, key: string | undefined, flags: string, width: string | undefined, precision, conv) => {
      if (conv === '%') return '%'
      const value = key ? (args as Record<string, unknown>)[key.slice(1, -1)] : list[index++]
      let text: string
      switch (conv) {
        case 's':
          text = pyStr(value)
          break
        case 'r':
          text = pyRepr(value)
          break
        case 'd':
        case 'i':
          text = String(Math.trunc(Number(value)))
          break
        case 'f':
        case 'F':
          text = Number(value).toFixed(precision === undefined ? 6 : Number(precision))
          break
        case 'e':
        case 'E':
          text = Number(value).toExponential(precision === undefined ? 6 : Number(precision))
          break
        case 'g':
        case 'G':
          text = String(Number(value))
          break
        case 'x':
          text = Math.trunc(Number(value)).toString(16)
          break
        case 'X':
          text = Math.trunc(Number(value)).toString(16).toUpperCase()
          break
        case 'o':
          text = Math.trunc(Number(value)).toString(8)
          break
        case 'c':
          text = typeof value === 'number' ? String.fromCharCode(value) : pyStr(value)
          break
        default:
          text = pyStr(value)
      }
      if (precision !== undefined && conv === 's') text = text.slice(0, Number(precision))
      if (flags.includes('+') && /[dif]/.test(conv) && Number(value) >= 0) text = `+${text}`
      const w = width ? Number(width) : 0
      if (text.length < w) {
        if (flags.includes('-')) text = text.padEnd(w)
        else if (flags.includes('0') && /[dixXofeE]/.test(conv)) {
          const sign = /^[-+]/.test(text) ? text.charAt(0) : ''
          text = sign + text.slice(sign.length).padStart(w - sign.length, '0')
        } else text = text.padStart(w)
      }
      return text
    },
  )
  if (!isTuple(args) && !isDict(args) && index === 0 && !/%[^%]/.test(format) && args !== '')
    throw new TypeError('not all arguments converted during string formatting')
  return result
}

/** `"{} {name}".format(…)`: positional, numbered and named fields, with a simple format spec. */
export function strFormat(format: string, args: unknown[], kwargs: Kwargs): string {
  let auto = 0
  return format.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rs])?(?::([^{}]*))?\}/g, (m, field, spec) => {
    if (m === '{{') return '{'
    if (m === '}}') return '}'
    const [head, ...path] = String(field).split('.')
    let value: unknown =
      head === '' ? args[auto++] : /^\d+$/.test(head!) ? args[Number(head)] : kwargs[head!]
    for (const part of path) value = (value as Record<string, unknown>)?.[part]
    return applySpec(value, spec)
  })
}

function applySpec(value: unknown, spec: string | undefined): string {
  if (!spec) return pyStr(value)
  const m = /^(?:(.)?([<>^]))?([+-])?(0)?(\d+)?(?:\.(\d+))?([sdfxXob%])?$/.exec(spec)
  if (!m) return pyStr(value)
  const [, fill = ' ', align, , zero, width, precision, type] = m
  let text =
    type === 'f'
      ? Number(value).toFixed(precision ? Number(precision) : 6)
      : type === 'd'
        ? String(Math.trunc(Number(value)))
        : type === 'x'
          ? Number(value).toString(16)
          : pyStr(value)
  if (precision && type !== 'f' && typeof value === 'string')
    text = text.slice(0, Number(precision))
  const w = width ? Number(width) : 0
  if (text.length < w) {
    const pad = zero ? '0' : fill
    const dir = align ?? (typeof value === 'number' ? '>' : '<')
    if (dir === '<') text = text.padEnd(w, pad)
    else if (dir === '>') text = text.padStart(w, pad)
    else {
      const left = Math.floor((w - text.length) / 2)
      text = text.padStart(text.length + left, pad).padEnd(w, pad)
    }
  }
  return text
}

function pySplit(text: string, sep: unknown, maxsplit: unknown): string[] {
  const max = maxsplit === undefined || maxsplit === null ? -1 : Number(maxsplit)
  if (sep === undefined || sep === null) {
    const parts = text.trim().split(/\s+/).filter(Boolean)
    if (max < 0 || parts.length <= max + 1) return parts
    const out: string[] = []
    let rest = text.trimStart()
    for (let i = 0; i < max; i++) {
      const match = /\s+/.exec(rest)
      if (!match) break
      out.push(rest.slice(0, match.index))
      rest = rest.slice(match.index + match[0].length)
    }
    out.push(rest)
    return out
  }
  const s = String(sep)
  const parts = text.split(s)
  if (max < 0 || parts.length <= max + 1) return parts
  return [...parts.slice(0, max), parts.slice(max).join(s)]
}

function stripChars(text: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    let out = text
    if (left) out = out.trimStart()
    if (right) out = out.trimEnd()
    return out
  }
  const set = new Set(String(chars))
  let start = 0
  let end = text.length
  if (left) while (start < end && set.has(text[start]!)) start++
  if (right) while (end > start && set.has(text[end - 1]!)) end--
  return text.slice(start, end)
}

type Method = (self: never, args: unknown[], kwargs: Kwargs) => unknown

const STR_METHODS: Record<string, Method> = {
  format: (s: string, args, kwargs) => strFormat(s, args, kwargs),
  startswith: (s: string, [p]) =>
    Array.isArray(p) ? p.some((x) => s.startsWith(String(x))) : s.startsWith(String(p)),
  endswith: (s: string, [p]) =>
    Array.isArray(p) ? p.some((x) => s.endsWith(String(x))) : s.endsWith(String(p)),
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  strip: (s: string, [c]) => stripChars(s, c, true, true),
  lstrip: (s: string, [c]) => stripChars(s, c, true, false),
  rstrip: (s: string, [c]) => stripChars(s, c, false, true),
  split: (s: string, [sep, max], kw) => pySplit(s, sep ?? kw.sep, max ?? kw.maxsplit),
  rsplit: (s: string, [sep, max], kw) => {
    const m = max ?? kw.maxsplit
    if (m === undefined || m === null || Number(m) < 0) return pySplit(s, sep ?? kw.sep, -1)
    const parts = s.split(String(sep ?? ' '))
    const n = Number(m)
    return parts.length <= n + 1
      ? parts
      : [parts.slice(0, parts.length - n).join(String(sep ?? ' ')), ...parts.slice(-n)]
  },
  splitlines: (s: string) => s.split(/\r?\n/).filter((line, i, all) => i < all.length - 1 || line),
  replace: (s: string, [old, replacement, count]) => {
    const parts = s.split(String(old))
    const n = count === undefined || Number(count) < 0 ? parts.length : Number(count) + 1
    return [
      parts.slice(0, n).join(String(replacement)),
      ...(parts.length > n ? [parts.slice(n).join(String(old))] : []),
    ].join(String(old))
  },
  join: (s: string, [items]) => (items as unknown[]).map(pyStr).join(s),
  partition: (s: string, [sep]) => {
    const i = s.indexOf(String(sep))
    return tuple(
      i < 0 ? [s, '', ''] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)],
    )
  },
  rpartition: (s: string, [sep]) => {
    const i = s.lastIndexOf(String(sep))
    return tuple(
      i < 0 ? ['', '', s] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)],
    )
  },
  title: (s: string) =>
    s.toLowerCase().replace(/(^|[^a-zA-Z])([a-z])/g, (_, a, b) => a + b.toUpperCase()),
  capitalize: (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  count: (s: string, [sub]) => s.split(String(sub)).length - 1,
  find: (s: string, [sub]) => s.indexOf(String(sub)),
  rfind: (s: string, [sub]) => s.lastIndexOf(String(sub)),
  index: (s: string, [sub]) => {
    const i = s.indexOf(String(sub))
    if (i < 0) throw new Error('ValueError: substring not found')
    return i
  },
  isdigit: (s: string) => /^\d+$/.test(s),
  isalpha: (s: string) => /^[a-zA-Z]+$/.test(s),
  isalnum: (s: string) => /^[a-zA-Z0-9]+$/.test(s),
  islower: (s: string) => s === s.toLowerCase() && s !== s.toUpperCase(),
  isupper: (s: string) => s === s.toUpperCase() && s !== s.toLowerCase(),
  zfill: (s: string, [w]) => s.padStart(Number(w), '0'),
  ljust: (s: string, [w, f]) => s.padEnd(Number(w), f === undefined ? ' ' : String(f)),
  rjust: (s: string, [w, f]) => s.padStart(Number(w), f === undefined ? ' ' : String(f)),
  center: (s: string, [w]) => {
    const left = Math.floor((Number(w) - s.length) / 2)
    return s.padStart(s.length + Math.max(0, left)).padEnd(Number(w))
  },
  encode: (s: string) => s,
  decode: (s: string) => s,
}

const LIST_METHODS: Record<string, Method> = {
  append: (l: unknown[], [x]) => {
    l.push(x)
    return null
  },
  extend: (l: unknown[], [xs]) => {
    l.push(...iterate(xs))
    return null
  },
  insert: (l: unknown[], [i, x]) => {
    l.splice(Number(i), 0, x)
    return null
  },
  pop: (l: unknown[], [i]) => {
    if (!l.length) throw new Error('IndexError: pop from empty list')
    return i === undefined
      ? l.pop()
      : l.splice(Number(i) < 0 ? l.length + Number(i) : Number(i), 1)[0]
  },
  remove: (l: unknown[], [x]) => {
    const i = l.findIndex((item) => pyEq(item, x))
    if (i < 0) throw new Error('ValueError: list.remove(x): x not in list')
    l.splice(i, 1)
    return null
  },
  index: (l: unknown[], [x]) => {
    const i = l.findIndex((item) => pyEq(item, x))
    if (i < 0) throw new Error(`ValueError: ${pyRepr(x)} is not in list`)
    return i
  },
  count: (l: unknown[], [x]) => l.filter((item) => pyEq(item, x)).length,
  sort: (l: unknown[], _args, kw) => {
    l.sort(pyCompare)
    if (kw.reverse) l.reverse()
    return null
  },
  reverse: (l: unknown[]) => {
    l.reverse()
    return null
  },
  copy: (l: unknown[]) => [...l],
}

const DICT_METHODS: Record<string, Method> = {
  get: (d: Record<string, unknown>, [key, fallback]) =>
    Object.hasOwn(d, String(key)) ? d[String(key)] : (fallback ?? null),
  items: (d: Record<string, unknown>) => Object.entries(d).map((entry) => tuple(entry)),
  keys: (d: Record<string, unknown>) => Object.keys(d),
  values: (d: Record<string, unknown>) => Object.values(d),
  update: (d: Record<string, unknown>, [other], kwargs) => {
    if (isDict(other)) Object.assign(d, other)
    else if (Array.isArray(other)) for (const [k, v] of other as unknown[][]) d[String(k)] = v
    Object.assign(d, kwargs)
    return null
  },
  setdefault: (d: Record<string, unknown>, [key, fallback]) => {
    if (!Object.hasOwn(d, String(key))) d[String(key)] = fallback ?? null
    return d[String(key)]
  },
  pop: (d: Record<string, unknown>, args) => {
    const key = String(args[0])
    if (Object.hasOwn(d, key)) {
      const value = d[key]
      delete d[key]
      return value
    }
    if (args.length > 1) return args[1]
    throw new Error(`KeyError: ${pyRepr(args[0])}`)
  },
  copy: (d: Record<string, unknown>) => ({ ...d }),
  has_key: (d: Record<string, unknown>, [key]) => Object.hasOwn(d, String(key)),
  iteritems: (d: Record<string, unknown>) => Object.entries(d).map((entry) => tuple(entry)),
}

/** A bound Python method of `value` named `name`, if it has one. */
export function pyMethod(
  value: unknown,
  name: string,
): ((...args: unknown[]) => unknown) | undefined {
  const table =
    typeof value === 'string'
      ? STR_METHODS
      : Array.isArray(value)
        ? LIST_METHODS
        : isDict(value)
          ? DICT_METHODS
          : undefined
  const method = table && Object.hasOwn(table, name) ? table[name] : undefined
  if (!method) return undefined
  return (...raw: unknown[]) => {
    const [args, kwargs] = splitArgs(raw)
    return method(value as never, args, kwargs)
  }
}

/** What `for x in value` iterates: a dict's keys, a string's characters, a list's items. */
export function iterate(value: unknown): unknown[] {
  if (Array.isArray(value)) return value
  if (typeof value === 'string') return [...value]
  if (value === null || value === undefined) return []
  if (value instanceof Map) return [...value.keys()]
  if (value instanceof Set) return [...value]
  if (isDict(value)) return Object.keys(value)
  throw new TypeError(`'${pyType(value)}' object is not iterable`)
}

/** Python ordering for sort/min/max: numbers, then strings, lists element-wise. */
export function pyCompare(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = pyCompare(a[i], b[i])
      if (c) return c
    }
    return a.length - b.length
  }
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b)
  const x = pyStr(a)
  const y = pyStr(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Python slicing `value[start:stop:step]` of a list or a string. */
export function pySlice(value: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  const items: unknown[] = typeof value === 'string' ? [...value] : ((value as unknown[]) ?? [])
  const n = items.length
  const s = step === null || step === undefined ? 1 : Number(step)
  const norm = (v: unknown, dflt: number, lo: number, hi: number) => {
    if (v === null || v === undefined) return dflt
    let x = Number(v)
    if (x < 0) x += n
    return Math.min(Math.max(x, lo), hi)
  }
  const out: unknown[] = []
  if (s > 0) {
    const a = norm(start, 0, 0, n)
    const b = norm(stop, n, 0, n)
    for (let i = a; i < b; i += s) out.push(items[i])
  } else {
    const a = norm(start, n - 1, -1, n - 1)
    const b = norm(stop, -1, -1, n - 1)
    for (let i = a; i > b; i += s) out.push(items[i])
  }
  return typeof value === 'string' ? out.join('') : out
}
