// High data → ordered low chunks, as Salt's compiler does: one chunk per (ID, module, name),
// `names` expanded, `_in` requisites turned around, `use` applied, references checked, and
// the execution order computed (auto order in file order, `order:` numbers and keywords,
// requisites first). Every problem is collected; a non-empty `errors` means nothing runs.
import picomatch from 'picomatch'
import {
  ENGINE_OPTIONS,
  type HighData,
  type LowChunk,
  REQUISITE_KINDS,
  REVERSE_KINDS,
  type Reference,
} from './types.ts'

export interface CompiledLow {
  chunks: LowChunk[]
  errors: string[]
}

const KINDS = new Set<string>(REQUISITE_KINDS)
const REVERSE = new Set<string>(REVERSE_KINDS)

export function compileHigh(
  high: HighData,
  includes: Map<string, Set<string>> = new Map(),
  autoOrder = true,
): CompiledLow {
  const errors: string[] = []
  let chunks = toChunks(high, errors, autoOrder)
  applyReverseRequisites(chunks, errors)
  applyUse(chunks, includes, errors)
  checkReferences(chunks, includes, errors)
  checkSelfRequisites(chunks, includes, errors)
  if (errors.length) return { chunks: [], errors }
  chunks = orderChunks(chunks, includes, errors)
  return { chunks: errors.length ? [] : chunks, errors }
}

/** The chunks a reference points at (by ID or name, with globs; `sls:` by SLS and includes). */
export function findTargets(
  chunks: LowChunk[],
  ref: Reference,
  includes: Map<string, Set<string>>,
): LowChunk[] {
  const glob = /[*?[]/.test(ref.target)
  const matches = glob ? picomatch(ref.target) : (value: string) => value === ref.target
  if (ref.module === 'sls') {
    return chunks.filter(
      (c) =>
        c.__sls__ !== null &&
        (matches(c.__sls__) || [...(includes.get(ref.target) ?? [])].includes(c.__sls__)),
    )
  }
  // `id:` references match IDs only; a module (or a bare ID) matches the ID or the name.
  if (ref.module === 'id') return chunks.filter((c) => matches(c.__id__))
  return chunks.filter(
    (c) => (ref.module === '*' || c.state === ref.module) && (matches(c.__id__) || matches(c.name)),
  )
}

// --- internal ---

function toChunks(high: HighData, errors: string[], autoOrder: boolean): LowChunk[] {
  const chunks: LowChunk[] = []
  let position = 0
  for (const [id, body] of Object.entries(high)) {
    for (const [mod, list] of Object.entries(body)) {
      if (mod.startsWith('__')) continue
      position++
      const items = list as unknown[]
      const fun = items.find((item): item is string => typeof item === 'string')!
      const args: Record<string, unknown> = {}
      for (const item of items) {
        if (item === fun) continue
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          errors.push(
            `State '${id}' in SLS '${body.__sls__}': the argument ${JSON.stringify(item)} is not a key: value pair`,
          )
          continue
        }
        Object.assign(args, item)
      }
      const base = { state: mod, fun, __id__: id, __sls__: body.__sls__, __env__: body.__env__ }
      const names = args.names
      delete args.names
      const expanded: Array<{ name: string; overrides: Record<string, unknown> }> = []
      if (names === undefined) expanded.push({ name: String(args.name ?? id), overrides: {} })
      else if (!Array.isArray(names))
        errors.push(`The 'names' argument of state '${id}' in SLS '${body.__sls__}' must be a list`)
      else {
        for (const entry of names) {
          if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
            const [name, overrides] = Object.entries(entry)[0] ?? ['', []]
            const merged: Record<string, unknown> = {}
            for (const item of Array.isArray(overrides) ? overrides : [overrides]) {
              if (typeof item === 'object' && item !== null) Object.assign(merged, item)
            }
            expanded.push({ name, overrides: merged })
          } else expanded.push({ name: String(entry), overrides: {} })
        }
      }
      expanded.forEach(({ name, overrides }, index) => {
        const all: Record<string, unknown> = { ...args, ...overrides, name }
        const chunk: LowChunk = {
          ...base,
          name,
          order:
            all.order === undefined
              ? autoOrder
                ? 10000 + position + (names ? index / 10000 : 0)
                : 10000
              : (all.order as number | string),
          args: {},
          requisites: {},
          options: {},
        }
        for (const [key, value] of Object.entries(all)) {
          const kind = key
          if (KINDS.has(kind) || REVERSE.has(kind)) {
            const refs = parseRequisite(kind, value, id, body.__sls__, errors)
            if (refs) chunk.requisites[kind] = refs
          } else if (ENGINE_OPTIONS.has(key)) chunk.options[key] = value
          else if (
            /^(require|watch|onchanges|onfail|prereq|use|listen)/.test(key) &&
            key.includes('.')
          ) {
            errors.push(
              `Requisite types must not contain dots, did you mean '${key.split('.')[0]}'?`,
            )
          } else chunk.args[key] = value
        }
        chunk.args.name = name
        chunks.push(chunk)
      })
    }
  }
  return chunks
}

function parseRequisite(
  kind: string,
  value: unknown,
  id: string,
  sls: string,
  errors: string[],
): Reference[] | undefined {
  let items: unknown[]
  if (Array.isArray(value)) items = value
  else if (REVERSE.has(kind) && typeof value === 'object' && value !== null)
    items = Object.entries(value).map(([k, v]) => ({ [k]: v }))
  else if (typeof value === 'string' && REVERSE.has(kind)) items = [value]
  else {
    errors.push(
      `The ${kind} statement in state '${id}' in SLS '${sls}' needs to be formed as a list`,
    )
    return undefined
  }
  const refs: Reference[] = []
  for (const item of items) {
    if (typeof item === 'string') {
      refs.push({ kind, module: '*', target: item })
      continue
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push(
        `The ${kind} statement in state '${id}' in SLS '${sls}' has an entry that is neither an ID nor a {module: ID} pair`,
      )
      continue
    }
    for (const [module, target] of Object.entries(item)) {
      if (module.includes('.')) {
        errors.push(
          `Requisite types must not contain dots, did you mean '${module.split('.')[0]}'?`,
        )
        continue
      }
      for (const one of Array.isArray(target) ? target : [target])
        refs.push({ kind, module, target: String(one) })
    }
  }
  return refs
}

/** `x_in` on A targeting B becomes `x: A` on B. */
function applyReverseRequisites(chunks: LowChunk[], errors: string[]): void {
  for (const chunk of chunks) {
    for (const kind of REVERSE_KINDS) {
      for (const ref of chunk.requisites[kind] ?? []) {
        const targets = findTargets(chunks, ref, new Map())
        if (targets.length === 0) {
          errors.push(
            `Cannot extend ID '${ref.target}' in '${chunk.__env__}:${chunk.__sls__}'. It is not part of the high state.`,
          )
          continue
        }
        const forward = kind.slice(0, -3)
        for (const target of targets) {
          target.requisites[forward] = [
            ...(target.requisites[forward] ?? []),
            { kind: forward, module: chunk.state, target: chunk.__id__ },
          ]
        }
      }
      delete chunk.requisites[kind]
    }
  }
}

/** `use`: copy arguments from the referenced states, except name and those already set. */
function applyUse(chunks: LowChunk[], includes: Map<string, Set<string>>, errors: string[]): void {
  for (const chunk of chunks) {
    for (const ref of chunk.requisites.use ?? []) {
      const targets = findTargets(chunks, ref, includes)
      if (targets.length === 0) {
        errors.push(referenceError(chunk, ref))
        continue
      }
      for (const target of targets) {
        for (const [key, value] of Object.entries(target.args))
          if (key !== 'name' && !(key in chunk.args)) chunk.args[key] = value
        for (const [key, value] of Object.entries(target.options))
          if (key !== 'order' && !(key in chunk.options)) chunk.options[key] = value
      }
    }
    delete chunk.requisites.use
  }
}

function checkReferences(
  chunks: LowChunk[],
  includes: Map<string, Set<string>>,
  errors: string[],
): void {
  for (const chunk of chunks) {
    for (const [kind, refs] of Object.entries(chunk.requisites)) {
      if (kind === 'listen') continue // reported at run time, as Salt does
      for (const ref of refs)
        if (findTargets(chunks, ref, includes).length === 0) errors.push(referenceError(chunk, ref))
    }
  }
}

/**
 * A state that requires (watches, prereqs…) itself by its ID or name can never run: Salt's
 * compiler refuses it with 'A recursive requisite was found, SLS "x" ID "A" ID "A"'
 * (salt/state.py, verify_high). A glob or `sls:` reference that also matches the state itself
 * is not an error: the state is left out of its own targets.
 */
function checkSelfRequisites(
  chunks: LowChunk[],
  includes: Map<string, Set<string>>,
  errors: string[],
): void {
  const reported = new Set<string>()
  for (const chunk of chunks) {
    for (const kind of [...BEFORE_KINDS, 'prereq']) {
      for (const ref of chunk.requisites[kind] ?? []) {
        if (ref.module === 'sls' || /[*?[]/.test(ref.target)) continue
        if (!findTargets(chunks, ref, includes).includes(chunk)) continue
        const text = `A recursive requisite was found, SLS "${chunk.__sls__}" ID "${chunk.__id__}" ID "${ref.target}"`
        if (!reported.has(text)) errors.push(text)
        reported.add(text)
      }
    }
  }
}

function referenceError(chunk: LowChunk, ref: Reference): string {
  return `Referenced state does not exist for requisite [${ref.kind}: (${ref.module === '*' ? 'id' : ref.module}: ${ref.target})] in state [${chunk.__id__}] in SLS [${chunk.__sls__}]`
}

/** Kinds whose targets run before the state; `prereq` runs the state before its target. */
export const BEFORE_KINDS = [
  'require',
  'require_any',
  'watch',
  'watch_any',
  'onchanges',
  'onchanges_any',
  'onfail',
  'onfail_any',
  'onfail_all',
]

function orderChunks(
  chunks: LowChunk[],
  includes: Map<string, Set<string>>,
  errors: string[],
): LowChunk[] {
  // Numeric sort key: first = 0, last and negatives after everything else.
  const numeric = chunks
    .map((c) => (typeof c.order === 'number' ? c.order : Number.NaN))
    .filter((n) => !Number.isNaN(n) && n >= 0)
  const cap = (numeric.length ? Math.max(...numeric) : 0) + 100
  const keyOf = (c: LowChunk): number => {
    if (c.order === 'first') return 0
    if (c.order === 'last') return cap + 1_000_000
    const n = typeof c.order === 'number' ? c.order : Number(c.order)
    if (Number.isNaN(n)) return cap
    return n < 0 ? cap + 1_000_000 + n + 1 : n
  }
  const sorted = [...chunks].sort(
    (a, b) =>
      keyOf(a) - keyOf(b) ||
      `${a.state}${a.name}${a.fun}`.localeCompare(`${b.state}${b.name}${b.fun}`),
  )

  // Dependencies: required states first; a prereq-ing state before its target.
  const deps = new Map<LowChunk, LowChunk[]>()
  for (const chunk of chunks) deps.set(chunk, [])
  for (const chunk of chunks) {
    for (const kind of BEFORE_KINDS)
      for (const ref of chunk.requisites[kind] ?? [])
        deps.get(chunk)!.push(...findTargets(chunks, ref, includes))
    for (const ref of chunk.requisites.prereq ?? [])
      for (const target of findTargets(chunks, ref, includes)) deps.get(target)!.push(chunk)
  }

  const ordered: LowChunk[] = []
  const state = new Map<LowChunk, 'visiting' | 'done'>()
  const stack: LowChunk[] = []
  const reported = new Set<string>()
  const visit = (chunk: LowChunk): void => {
    const mark = state.get(chunk)
    if (mark === 'done') return
    if (mark === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(chunk)), chunk].map(
        (c) => `${c.__sls__}.${c.__id__}`,
      )
      const text = `Recursive requisites were found: ${cycle.join(' -> ')}`
      if (!reported.has(text)) errors.push(text)
      reported.add(text)
      return
    }
    state.set(chunk, 'visiting')
    stack.push(chunk)
    for (const dep of [...deps.get(chunk)!].sort((a, b) => keyOf(a) - keyOf(b)))
      if (dep !== chunk) visit(dep)
    stack.pop()
    state.set(chunk, 'done')
    ordered.push(chunk)
  }
  for (const chunk of sorted) visit(chunk)
  return ordered
}
