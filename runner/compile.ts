// High data → ordered low chunks, as Salt's compiler does: one chunk per (ID, module, name),
// `names` expanded, `_in` requisites turned around, `use` applied, references checked, and
// the execution order computed (auto order in file order, `order:` numbers and keywords,
// requisites first). Every problem is collected; a non-empty `errors` means nothing runs.
import picomatch from 'picomatch'
import { noteCodeArea } from '../core/code-areas.ts'
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
  noteCodeArea('state')
  // Salt's stages: each one's errors stop the compilation before the next.
  const errors: string[] = []
  let chunks = toChunks(high, errors, autoOrder)
  if (!errors.length) applyReverseRequisites(chunks, errors)
  if (!errors.length) applyUse(chunks, includes, errors)
  if (!errors.length) chunks = orderChunks(chunks, includes, errors)
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
  // A module matches the ID or the name of its states; a bare ID or `id:` those of any state.
  const any = ref.module === '*' || ref.module === 'id'
  return chunks.filter(
    (c) => (any || c.state === ref.module) && (matches(c.__id__) || matches(c.name)),
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
    if (
      typeof item !== 'object' ||
      item === null ||
      Array.isArray(item) ||
      Object.keys(item).length !== 1
    ) {
      errors.push(
        `Requisite declaration ${pyRepr(item)} in state ${id} in SLS ${sls} is not formed as a single key dictionary`,
      )
      continue
    }
    for (const [module, target] of Object.entries(item)) {
      if (module.includes('.')) {
        // Salt's words: _verify_high for requisites, requisite_in for the _in forms.
        const prefix = module.slice(0, module.indexOf('.'))
        const rkey = kind.split('_')[0]
        errors.push(
          !REVERSE.has(kind)
            ? `Invalid requisite type '${module}' in state '${id}', in SLS '${sls}'. Requisite types must not contain dots, did you mean '${prefix}'?`
            : `Invalid requisite in ${rkey}: ${module} for ${String(target)}${Array.isArray(value) ? ',' : ''} in SLS '${sls}'. Requisites must not contain dots, did you mean '${prefix}'?`,
        )
        continue
      }
      for (const one of Array.isArray(target) ? target : [target])
        refs.push({ kind, module, target: String(one) })
    }
  }
  return refs
}

/**
 * `x_in` on A targeting B becomes `x: A` on B, as Salt's `requisite_in` and `reconcile_extend`
 * do: a bare ID adds the requisite to the first state module of that ID (or to the state whose
 * `name` it is) and is ignored when nothing has that ID or name; `sls: x` reaches every state of
 * x; `{mod: ID}` must name a state of that module by ID or name, else nothing runs ("Cannot
 * extend ID …"). A glob (brine goes further than Salt here) may match nothing.
 */
function applyReverseRequisites(chunks: LowChunk[], errors: string[]): void {
  for (const chunk of chunks) {
    for (const kind of REVERSE_KINDS) {
      for (const ref of chunk.requisites[kind] ?? []) {
        const glob = /[*?[]/.test(ref.target)
        let targets: LowChunk[]
        if (ref.module === '*') {
          const byId = chunks.filter((c) =>
            glob ? picomatch.isMatch(c.__id__, ref.target) : c.__id__ === ref.target,
          )
          const first = byId[0]
          targets = first
            ? byId.filter((c) => glob || c.state === first.state)
            : chunks.filter((c) =>
                glob ? picomatch.isMatch(c.name, ref.target) : c.name === ref.target,
              )
          if (!glob && !first) targets = targets.slice(0, 1)
        } else targets = findTargets(chunks, ref, new Map())
        if (targets.length === 0 && ref.module !== '*' && ref.module !== 'sls' && !glob) {
          errors.push(cannotExtend(ref.target, chunk.__env__, chunk.__sls__))
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

/** Salt's `reconcile_extend` error, word for word. */
export function cannotExtend(id: string, env: string, sls: string | null): string {
  return (
    `Cannot extend ID '${id}' in '${env}:${sls}'. It is not part of the high state.\n` +
    'This is likely due to a missing include statement or an incorrectly typed ID.\n' +
    `Ensure that a state with an ID of '${id}' is available\nin environment '${env}' and to SLS '${sls}'`
  )
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

// --- ordering: Salt's DependencyGraph (salt/utils/requisite.py) ---
//
// Nodes are the chunks, plus one "prereq check" node per prereq target (its test run), which
// inherits the target's other requisites. An edge runs from the state that must go first to
// the state that waits for it, keyed by its requisite kind; a prereq adds `target-check ->
// prerequiring` (prereq) and `prerequiring -> target` (require). The order is networkx's
// lexicographical topological sort keyed by (order, state+name+fun): a state's order is its
// own, lowered to that of the states waiting on it (one level, as Salt's `_get_chunk_order`).

/** Salt's `RequisiteType` weights: the order of precedence for `_get_chunk_order`. */
const WEIGHT: Record<string, number> = {
  onfail: 0,
  onfail_any: 1,
  onfail_all: 2,
  require: 3,
  require_any: 4,
  onchanges: 5,
  onchanges_any: 6,
  watch: 7,
  watch_any: 8,
  prereq: 9,
}

/** The order in which Salt's `add_requisites` walks the kinds (edges are inserted in it). */
const GRAPH_KINDS = [
  'require',
  'require_any',
  'watch',
  'watch_any',
  'prereq',
  'onfail',
  'onfail_any',
  'onfail_all',
  'onchanges',
  'onchanges_any',
]

interface GraphNode {
  chunk: LowChunk
  index: number
  /** Edges to the nodes waiting for this one, in insertion order, by kind. */
  out: Map<GraphNode, string[]>
  in: Map<GraphNode, string[]>
  childMin?: number
}

class RequisiteGraph {
  readonly nodes: GraphNode[] = []
  readonly #real = new Map<LowChunk, GraphNode>()
  readonly #check = new Map<LowChunk, GraphNode>()

  constructor(
    chunks: LowChunk[],
    /** A new prereq check node takes the requisites its target already has (Salt's code). */
    readonly copyRequisites: boolean,
  ) {
    for (const chunk of chunks) this.#real.set(chunk, this.#add(chunk))
  }

  node(chunk: LowChunk): GraphNode {
    return this.#real.get(chunk)!
  }

  /** `target` must run before `chunk` (or, for prereq, be tried before it). */
  link(chunk: LowChunk, target: LowChunk, kind: string): void {
    if (kind === 'prereq') {
      let check = this.#check.get(target)
      if (!check) {
        check = this.#add(target)
        this.#check.set(target, check)
        if (this.copyRequisites)
          for (const [from, kinds] of this.node(target).in)
            for (const k of kinds) if (k !== 'prereq') this.#edge(from, check, k)
      }
      this.#edge(check, this.node(chunk), 'prereq')
      this.#edge(this.node(chunk), this.node(target), 'require')
      return
    }
    const check = this.#check.get(chunk)
    if (check) this.#edge(this.node(target), check, kind)
    this.#edge(this.node(target), this.node(chunk), kind)
  }

  #add(chunk: LowChunk): GraphNode {
    const node: GraphNode = { chunk, index: this.nodes.length, out: new Map(), in: new Map() }
    this.nodes.push(node)
    return node
  }

  /** networkx's MultiDiGraph keeps one edge per (from, to, key). */
  #edge(from: GraphNode, to: GraphNode, kind: string): void {
    const kinds = from.out.get(to) ?? []
    if (kinds.includes(kind)) return
    kinds.push(kind)
    from.out.set(to, kinds)
    to.in.set(from, [...(to.in.get(from) ?? []), kind])
  }
}

function orderChunks(
  chunks: LowChunk[],
  includes: Map<string, Set<string>>,
  errors: string[],
): LowChunk[] {
  // Salt's stored code copies a target's earlier requisites to its prereq check, which makes
  // a cycle of Salt's own test_requisites_mixed_require_prereq_use_1 (C prereq A and B, A
  // requires B), whose expected result is C, B, A: when the copy makes a cycle, the order is
  // computed without it (the test run then sees the requisites that have run by then).
  const found: string[] = []
  const ordered = sortChunks(new RequisiteGraph(chunks, true), chunks, includes, found)
  if (!found.length) return ordered
  const retry: string[] = []
  const again = sortChunks(new RequisiteGraph(chunks, false), chunks, includes, retry)
  errors.push(...retry)
  return again
}

function sortChunks(
  graph: RequisiteGraph,
  chunks: LowChunk[],
  includes: Map<string, Set<string>>,
  errors: string[],
): LowChunk[] {
  let cap = 1
  for (const chunk of chunks) {
    const error = addRequisites(graph, chunks, chunk, includes)
    if (error) errors.push(error)
    else if (typeof chunk.order === 'number') {
      const order = Math.floor(chunk.order)
      if (order > cap - 1 && order > 0) cap = order + 100
    }
  }

  // Salt's `_get_chunk_order`, with its quirks: a chunk's order is resolved (first, last,
  // negatives) when its node is first keyed; a dependent not keyed yet counts with its raw order.
  const orders = new Map<LowChunk, number | string>(chunks.map((c) => [c, c.order]))
  const raw = (chunk: LowChunk): number => {
    const order = orders.get(chunk)
    if (typeof order === 'number') return order
    const resolved = order === 'last' ? cap + 1_000_000 : order === 'first' ? 0 : cap
    orders.set(chunk, resolved)
    return resolved
  }
  const keyOf = (node: GraphNode): [number, number, string, number] => {
    let own = raw(node.chunk)
    if (own < 0) {
      own += cap + 1_000_000
      orders.set(node.chunk, own)
    }
    if (node.childMin === undefined) {
      let weight = Number.NEGATIVE_INFINITY
      let min = Number.POSITIVE_INFINITY
      for (const [child, kinds] of node.out) {
        for (const kind of kinds) {
          if (weight > WEIGHT[kind]!) continue
          weight = WEIGHT[kind]!
          min = Math.min(min, raw(child.chunk))
        }
      }
      node.childMin = min
    }
    const { state, name, fun } = node.chunk
    return [Math.min(own, node.childMin), own, `${state}${name}${fun}`, node.index]
  }

  // networkx's lexicographical_topological_sort: Kahn's algorithm, smallest key first.
  const indegree = new Map<GraphNode, number>()
  for (const node of graph.nodes)
    indegree.set(
      node,
      [...node.in.values()].reduce((n, kinds) => n + kinds.length, 0),
    )
  const ready = new MinHeap<[[number, number, string, number], GraphNode]>((a, b) =>
    compareKeys(a[0], b[0]),
  )
  for (const node of graph.nodes) if (indegree.get(node) === 0) ready.push([keyOf(node), node])
  const sorted: GraphNode[] = []
  for (let next = ready.pop(); next; next = ready.pop()) {
    const node = next[1]
    sorted.push(node)
    for (const [child, kinds] of node.out) {
      const left = indegree.get(child)! - kinds.length
      indegree.set(child, left)
      if (left === 0) ready.push([keyOf(child), child])
    }
  }
  if (sorted.length < graph.nodes.length) {
    errors.push(`Recursive requisites were found: ${describeCycle(graph)}`)
    return []
  }
  const real = new Set(chunks)
  return sorted
    .filter((node) => real.has(node.chunk) && graph.node(node.chunk) === node)
    .map((n) => n.chunk)
}

/**
 * Salt's `add_requisites`: one edge per target found; the first reference that finds nothing
 * is the chunk's error ("Referenced state does not exist…", the state named by its `name`).
 * A glob or `sls:` reference that also matches the state itself leaves it out (brine's choice:
 * Salt would report a recursion).
 */
function addRequisites(
  graph: RequisiteGraph,
  chunks: LowChunk[],
  chunk: LowChunk,
  includes: Map<string, Set<string>>,
): string | undefined {
  for (const kind of GRAPH_KINDS) {
    for (const ref of chunk.requisites[kind] ?? []) {
      let targets = findTargets(chunks, ref, includes)
      if (targets.length === 0) return referenceError(chunk, ref)
      if (ref.module === 'sls' || /[*?[]/.test(ref.target))
        targets = targets.filter((target) => target !== chunk)
      for (const target of targets) graph.link(chunk, target, kind)
    }
  }
  return undefined
}

/** Salt's wording; the state is named by its `name`, a bare ID reference as `id:`. */
function referenceError(chunk: LowChunk, ref: Reference): string {
  return `Referenced state does not exist for requisite [${ref.kind}: (${ref.module === '*' ? 'id' : ref.module}: ${ref.target})] in state [${chunk.name}] in SLS [${chunk.__sls__}]`
}

function compareKeys(a: [number, number, string, number], b: [number, number, string, number]) {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1
    if (a[i]! > b[i]!) return 1
  }
  return 0
}

/**
 * The cycle as Salt words it: networkx's `find_cycle` (edge DFS from the first node), each edge
 * shown as (waiting state, kind, state waited for); the require edge a prereq adds is shown as
 * prereq when the state declares no require.
 */
function describeCycle(graph: RequisiteGraph): string {
  const explored = new Set<GraphNode>()
  for (const start of graph.nodes) {
    if (explored.has(start)) continue
    const seen = new Set([start])
    let active = new Set([start])
    let path: Array<[GraphNode, GraphNode, string]> = []
    let previousHead: GraphNode | undefined
    for (const edge of edgeDfs(start)) {
      const [tail, head] = edge
      if (explored.has(head)) continue
      if (previousHead !== undefined && tail !== previousHead) {
        // Backtracking: drop the edges walked since `tail`.
        for (;;) {
          const popped = path.pop()
          if (!popped) {
            path = []
            active = new Set([tail])
            break
          }
          active.delete(popped[1])
          if (path.length && path.at(-1)![1] === tail) break
        }
      }
      path.push(edge)
      if (active.has(head)) {
        const from = path.findIndex(([t]) => t === head)
        return path
          .slice(Math.max(0, from))
          .map(([dependency, dependent, kind]) => {
            const shown =
              kind === 'require' && !dependent.chunk.requisites.require?.length ? 'prereq' : kind
            return `(${chunkRepr(dependent.chunk)}, '${shown}', ${chunkRepr(dependency.chunk)})`
          })
          .join(', ')
      }
      seen.add(head)
      active.add(head)
      previousHead = head
    }
    for (const node of seen) explored.add(node)
  }
  return ''
}

/** networkx's `edge_dfs` from one node: every edge once, depth first, in insertion order. */
function* edgeDfs(start: GraphNode): Generator<[GraphNode, GraphNode, string]> {
  const visited = new Set<GraphNode>()
  const pending = new Map<GraphNode, Iterator<[GraphNode, GraphNode, string]>>()
  const edgesOf = function* (node: GraphNode): Generator<[GraphNode, GraphNode, string]> {
    for (const [to, kinds] of node.out) for (const kind of kinds) yield [node, to, kind]
  }
  const stack = [start]
  while (stack.length) {
    const current = stack.at(-1)!
    if (!visited.has(current)) {
      pending.set(current, edgesOf(current))
      visited.add(current)
    }
    const next = pending.get(current)!.next()
    if (next.done) stack.pop()
    else {
      stack.push(next.value[1])
      yield next.value
    }
  }
}

/** `{'SLS': 'x', 'ID': 'a', 'NAME': 'b'}`, as Python prints Salt's `_chunk_str` dict. */
function chunkRepr(chunk: LowChunk): string {
  const parts = [`'SLS': ${pyRepr(chunk.__sls__)}`, `'ID': ${pyRepr(chunk.__id__)}`]
  if (chunk.__id__ !== chunk.name) parts.push(`'NAME': ${pyRepr(chunk.name)}`)
  return `{${parts.join(', ')}}`
}

/** Python's repr() of plain data (str, int, float, bool, None, list, dict). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(value)
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'"
    const body = value
      .replaceAll('\\', '\\\\')
      .replaceAll('\n', '\\n')
      .replaceAll('\t', '\\t')
      .replaceAll('\r', '\\r')
    return quote + (quote === "'" ? body.replaceAll("'", "\\'") : body) + quote
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`
  if (typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`
  return String(value)
}

/** A binary min-heap (the ready set of the topological sort). */
class MinHeap<T> {
  readonly #items: T[] = []
  constructor(readonly compare: (a: T, b: T) => number) {}

  push(item: T): void {
    const items = this.#items
    items.push(item)
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (this.compare(items[i]!, items[parent]!) >= 0) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length && last !== undefined) {
      items[0] = last
      for (let i = 0; ; ) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < items.length && this.compare(items[left]!, items[smallest]!) < 0) smallest = left
        if (right < items.length && this.compare(items[right]!, items[smallest]!) < 0)
          smallest = right
        if (smallest === i) break
        ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
        i = smallest
      }
    }
    return top
  }
}
