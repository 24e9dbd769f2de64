// The state runner as reloadable modules see it (`brine/runner`): modules/state.ts drives it.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import picomatch from 'picomatch'
import { createSaltFunctions } from '../core/jinja-salt.ts'
import { RenderError, renderSls } from '../core/render.ts'
import { compileHigh, findTargets } from './compile.ts'
import { DEFAULT_MAX_PARALLEL, type ExecuteOptions, executeChunks } from './execute.ts'
import { loadSls } from './sls.ts'
import type { HighData, LowChunk, RunResult } from './types.ts'

export { StateCompileError } from './errors.ts'
export type * from './types.ts'
export { tagOf } from './types.ts'

export interface StateRunDeps extends Omit<ExecuteOptions, 'includes' | 'maxParallel'> {
  roots: string[]
  minionId: string
  opts: Record<string, unknown>
  pillar: Record<string, unknown>
  /** The minion's grains for templates (ctx.grains); `{ id }` when not given. */
  grains?: Readonly<Record<string, unknown>>
  /** `state_max_parallel` given with the call; else the option of that name; else 8. */
  maxParallel?: unknown
}

/** What a state.* call returns: the results, or Salt's list of compile errors, and its retcode. */
export interface StateOutcome {
  result: RunResult | string[]
  /** 0 all good, 1 compile error, 2 a state failed, 5 pillar errors (Salt's codes). */
  retcode: number
}

/** Run SLS modules (`state.sls`), or the highstate when `mods` is undefined (`state.apply`). */
export async function applyStates(
  deps: StateRunDeps,
  mods: string[] | undefined,
  exclude: string[] = [],
): Promise<StateOutcome> {
  const failed = pillarFailure(deps)
  if (failed) return failed
  let names = mods
  if (names === undefined) {
    const top = matchTop(deps)
    if (top.errors.length) return { result: top.errors, retcode: 1 }
    names = top.sls
    if (names.length === 0) {
      return {
        result: {
          'no_|-states_|-states_|-None': {
            name: 'No States',
            changes: {},
            result: false,
            comment: 'No Top file or master_tops data matches found.',
            __run_num__: 0,
          },
        },
        retcode: 2,
      }
    }
  }
  const compiled = await compileSls(deps, names, exclude)
  if (compiled.errors.length) return { result: compiled.errors, retcode: 1 }
  return run(deps, compiled.chunks, compiled.includes)
}

/** `state.single mod.fun name=… args`: one state, no SLS. */
export async function applySingle(
  deps: StateRunDeps,
  fun: string,
  args: Record<string, unknown>,
): Promise<StateOutcome> {
  const dot = fun.indexOf('.')
  if (dot <= 0)
    return {
      result: [`Invalid function passed to state.single: '${fun}' (expected mod.fun)`],
      retcode: 1,
    }
  if (args.name === undefined)
    return { result: [`state.single ${fun} needs a name= argument`], retcode: 1 }
  const id = String(args.name)
  const high: HighData = {
    [id]: {
      __sls__: '',
      __env__: 'base',
      [fun.slice(0, dot)]: [
        fun.slice(dot + 1),
        ...Object.entries(args).map(([k, v]) => ({ [k]: v })),
      ],
    },
  }
  const compiled = compileHigh(high, new Map(), false)
  const errors = [...compiled.errors, ...(await verifyFunctions(deps, compiled.chunks))]
  if (errors.length) return { result: errors, retcode: 1 }
  for (const chunk of compiled.chunks) chunk.__sls__ = null
  return run(deps, compiled.chunks, new Map())
}

/** `state.show_sls`: the high data, in Salt's shape. */
export function showSls(
  deps: StateRunDeps,
  names: string[],
): { result: HighData | string[]; retcode: number } {
  const loaded = loadSls(names, { roots: deps.roots, context: templateContext(deps) })
  if (loaded.errors.length) return { result: loaded.errors, retcode: 1 }
  const compiled = compileHigh(loaded.high, loaded.includes)
  // The first chunk of an ID (names expand into several) gives the order shown.
  const orders = new Map<string, number | string>()
  for (const chunk of compiled.chunks) {
    const key = `${chunk.__id__}\0${chunk.state}`
    if (!orders.has(key))
      orders.set(key, typeof chunk.order === 'number' ? Math.floor(chunk.order) : chunk.order)
  }
  const high: HighData = {}
  for (const [id, body] of Object.entries(loaded.high)) {
    high[id] = { ...body }
    for (const [mod, list] of Object.entries(body)) {
      if (mod.startsWith('__')) continue
      const order = orders.get(`${id}\0${mod}`)
      high[id]![mod] = [...(list as unknown[]), ...(order === undefined ? [] : [{ order }])]
    }
  }
  return { result: high, retcode: 0 }
}

/** `state.show_lowstate` (or `show_low_sls`): the ordered low chunks. */
export async function showLowstate(
  deps: StateRunDeps,
  mods: string[] | undefined,
): Promise<{ result: Record<string, unknown>[] | string[]; retcode: number }> {
  const names = mods ?? matchTop(deps).sls
  const compiled = await compileSls(deps, names, [])
  if (compiled.errors.length) return { result: compiled.errors, retcode: 1 }
  return {
    result: compiled.chunks.map((c) => ({
      state: c.state,
      __id__: c.__id__,
      name: c.name,
      fun: c.fun,
      __sls__: c.__sls__,
      __env__: c.__env__,
      order: c.order,
      ...c.args,
      ...c.options,
      ...Object.fromEntries(
        Object.entries(c.requisites).map(([kind, refs]) => [
          kind,
          refs.map((r) => ({ [r.module === '*' ? 'id' : r.module]: r.target })),
        ]),
      ),
    })),
    retcode: 0,
  }
}

/** `state.show_top`: `{ base: [sls…] }` for this minion. */
export function showTop(deps: StateRunDeps): {
  result: Record<string, string[]> | string[]
  retcode: number
} {
  const top = matchTop(deps)
  return top.errors.length
    ? { result: top.errors, retcode: 1 }
    : { result: { base: top.sls }, retcode: 0 }
}

/**
 * `state.sls_id id mods`: the states of one ID in the SLS modules, and (as Salt's call_chunk
 * runs the requisites of a state that have not run) the states they require, transitively:
 * require, watch, onchanges, onfail, prereq and their _any/_all forms. `listen` is left out,
 * as Salt's sls_id never runs listeners. No state of that ID: an empty result.
 */
export async function applySlsId(
  deps: StateRunDeps,
  id: string,
  mods: string[],
): Promise<StateOutcome> {
  const failed = pillarFailure(deps)
  if (failed) return failed
  const compiled = await compileSls(deps, mods, [])
  if (compiled.errors.length) return { result: compiled.errors, retcode: 1 }
  const chosen = new Set<LowChunk>()
  const visit = (chunk: LowChunk) => {
    if (chosen.has(chunk)) return
    chosen.add(chunk)
    for (const [kind, refs] of Object.entries(chunk.requisites)) {
      if (kind === 'listen' || kind === 'use') continue
      for (const ref of refs)
        for (const target of findTargets(compiled.chunks, ref, compiled.includes)) visit(target)
    }
  }
  for (const chunk of compiled.chunks) if (chunk.__id__ === id) visit(chunk)
  if (chosen.size === 0) return { result: {}, retcode: 0 }
  const chunks = compiled.chunks
    .filter((chunk) => chosen.has(chunk))
    .map((chunk) => {
      if (!chunk.requisites.listen) return chunk
      const { listen: _, ...requisites } = chunk.requisites
      return { ...chunk, requisites }
    })
  return run(deps, chunks, compiled.includes)
}

// --- internal ---

/** Salt's answer when pillar did not render: the messages, retcode 5. */
function pillarFailure(deps: StateRunDeps): StateOutcome | undefined {
  const errors = deps.pillar._errors
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  return {
    result: ['Pillar failed to render with the following messages:', ...errors.map(String)],
    retcode: 5,
  }
}

async function compileSls(deps: StateRunDeps, names: string[], exclude: string[]) {
  const loaded = await loadSlsCalling(deps, names)
  for (const sls of exclude)
    for (const [id, state] of Object.entries(loaded.high))
      if (state.__sls__ === sls) delete loaded.high[id]
  if (loaded.errors.length)
    return { chunks: [] as LowChunk[], errors: loaded.errors, includes: loaded.includes }
  const compiled = compileHigh(loaded.high, loaded.includes)
  const errors = compiled.errors.length
    ? compiled.errors
    : await verifyFunctions(deps, compiled.chunks)
  return { chunks: compiled.chunks, errors, includes: loaded.includes }
}

/** Every state function must exist: "State 'x.y' was not found in SLS 'z'" with the loader's reason. */
async function verifyFunctions(deps: StateRunDeps, chunks: LowChunk[]): Promise<string[]> {
  const errors: string[] = []
  for (const chunk of chunks) {
    const fun = `${chunk.state}.${chunk.fun}`
    const found = await deps.describe(fun).catch((error: Error) => error)
    if (found === undefined || found instanceof Error) {
      const reason = found instanceof Error ? found.message : `'${fun}' is not available.`
      errors.push(`State '${fun}' was not found in SLS '${chunk.__sls__ ?? ''}'\nReason: ${reason}`)
    }
  }
  return [...new Set(errors)]
}

async function run(
  deps: StateRunDeps,
  chunks: LowChunk[],
  includes: Map<string, Set<string>>,
): Promise<StateOutcome> {
  const maxParallel = parseMaxParallel(deps.maxParallel ?? deps.opts.state_max_parallel)
  if (typeof maxParallel === 'string') return { result: [maxParallel], retcode: 1 }
  const result = await executeChunks(chunks, { ...deps, includes, maxParallel })
  const failed = Object.values(result).some((ret) => ret.result === false)
  return { result, retcode: failed ? 2 : 0 }
}

/** `state_max_parallel`: a whole number ≥ 0 (0: no bound), or the error to report. */
function parseMaxParallel(value: unknown): number | string {
  if (value === undefined || value === null) return DEFAULT_MAX_PARALLEL
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n
  return `state_max_parallel must be a whole number of parallel states, 0 for no bound (got ${JSON.stringify(value)})`
}

function matchTop(deps: StateRunDeps): { sls: string[]; errors: string[] } {
  const file = deps.roots.map((root) => join(root, 'top.sls')).find((path) => existsSync(path))
  if (!file) return { sls: [], errors: [] }
  let data: unknown
  try {
    data = renderSls(readFileSync(file, 'utf8'), {
      file,
      context: { ...templateContext(deps), sls: 'top' },
    })
  } catch (error) {
    return { sls: [], errors: [error instanceof RenderError ? error.message : String(error)] }
  }
  const sls: string[] = []
  const base =
    typeof data === 'object' && data !== null ? (data as Record<string, unknown>).base : undefined
  if (typeof base !== 'object' || base === null) return { sls, errors: [] }
  for (const [target, entries] of Object.entries(base)) {
    if (!Array.isArray(entries) || !picomatch.isMatch(deps.minionId, target)) continue
    for (const entry of entries)
      if (typeof entry === 'string' && !sls.includes(entry)) sls.push(entry)
  }
  return { sls, errors: [] }
}

/** A module function a template called, and what it gave (or threw). */
interface TemplateCall {
  fun: string
  args: unknown[]
  kwargs: Record<string, unknown>
  value?: unknown
  error?: unknown
}

const MAX_TEMPLATE_CALLS = 1000

/**
 * loadSls where templates may call any module function, vSphere ones included, through the
 * runtime (its one session and ReconnectProxy). Rendering is synchronous and module functions
 * are not, so a render that reaches a call not made yet stops there; the call is made, and the
 * SLS files are rendered again from the start, each template getting the answers of its earlier
 * calls in order. Every call is made once, in the order Jinja2 would make it, and only when
 * the template really reaches it; the data templates see is fresh for each pass.
 */
async function loadSlsCalling(deps: StateRunDeps, names: string[]) {
  const calls = new Map<string, TemplateCall[]>()
  for (let made = 0; ; made++) {
    let pending: (TemplateCall & { sls: string }) | undefined
    const callFor = (sls: string) => {
      const log = calls.get(sls) ?? []
      let next = 0
      return (fun: string, args: unknown[], kwargs: Record<string, unknown>) => {
        const done = log[next++]
        if (
          done &&
          done.fun === fun &&
          JSON.stringify([done.args, done.kwargs]) === JSON.stringify([args, kwargs])
        ) {
          if ('error' in done) throw done.error
          return done.value
        }
        pending ??= { sls, fun, args, kwargs }
        throw new Error(`salt['${fun}'] is being called`)
      }
    }
    const loaded = loadSls(names, { roots: deps.roots, context: templateContext(deps), callFor })
    if (!pending) return loaded
    if (made >= MAX_TEMPLATE_CALLS)
      return {
        ...loaded,
        errors: [`SLS templates called more than ${MAX_TEMPLATE_CALLS} module functions`],
      }
    const call: TemplateCall = { fun: pending.fun, args: pending.args, kwargs: pending.kwargs }
    try {
      call.value = await deps.callExec(pending.fun, pending.kwargs, pending.args)
    } catch (error) {
      call.error = error
    }
    const log = calls.get(pending.sls) ?? []
    log.splice(log.length, 0, call)
    calls.set(pending.sls, log)
  }
}

/** Jinja variables of SLS files, as Salt defines them; `salt` offers the functions that answer synchronously. */
function templateContext(deps: StateRunDeps): Record<string, unknown> {
  const grains = { id: deps.minionId, ...structuredClone(deps.grains) }
  // A copy for each render pass: a template's `do pillar.x.update(…)` must not add up.
  const pillar = structuredClone(deps.pillar)
  return {
    salt: createSaltFunctions({ grains, pillar, opts: deps.opts, roots: deps.roots }),
    pillar,
    grains,
    opts: deps.opts,
    saltenv: 'base',
  }
}
