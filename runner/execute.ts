// The state engine: runs ordered low chunks with Salt's requisite semantics, test mode,
// failhard, onlyif/unless/creates, retry, prereq (target tried in test mode first), watch
// (mod_watch), listen (mod_watch at the end), reloads after changes, and `parallel: True`.
//
// Choice where Salt versions differ: a failed `onchanges` target makes the state fail
// ("One or more requisite failed"), as Salt 3006/3007 do (not a skip, as after PR #69662).
//
// Parallel states, after Salt's `State.call_parallel`, `reconcile_procs`, `_check_requisites`
// and `call_chunks` (salt/state.py), as concurrent calls in this process instead of forked
// processes:
// - A state with `parallel: True` is started and the run goes on without waiting for it. It
//   takes its `__run_num__` when it is started (Salt numbers it in `call()`, before the process
//   returns); its `start_time` and `duration` are those of the state function itself (Salt's
//   `_call_parallel_target` measures them again in the process), and it carries
//   `__parallel__: True`. onlyif/unless/creates are checked before it starts, as Salt's
//   `_run_check` does in the main process: a state they skip is not parallel.
// - A state that requires (watch, onchanges, onfail…) a parallel state still running waits for
//   it and sees its real result. A non-parallel state holds up the run while it waits (Salt
//   loops on `reconcile_procs`); a parallel one is "pending" and the run goes on without it.
// - At most `maxParallel` parallel states run at once (Salt's `state_max_parallel`); the others
//   wait for a slot in the order they were started ("Waiting to be started…, max_parallel hit").
// - The run returns once every parallel state has finished.
// - `retry` runs inside the parallel call, as in Salt. A parallel state under `watch` runs its
//   `mod_watch` after it, in the same call (Salt starts both at once, a race), and takes the
//   extra run number up front.
// - Where brine goes further than Salt (whose failhard returns at once and leaves the processes
//   running, and never sees a parallel state fail): a failed state with failhard, parallel or
//   not, aborts the signal of every state call in flight (vSphere task waits cancel their task)
//   and waits for them; parallel states not started yet are not run and not reported, as later
//   states are not. SIGINT/SIGTERM (`signal`) abort the calls in flight the same way, and the
//   run rejects once they have settled.
import { setMaxListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { log } from '../core/log.ts'
import { closestName } from '../core/suggest.ts'
import { BEFORE_KINDS, findTargets } from './compile.ts'
import { type LowChunk, type Reference, type RunResult, type StateReturn, tagOf } from './types.ts'

export interface FunctionSignature {
  args: string[]
  varargs: boolean
}

/** Salt's `state_max_parallel` has no bound by default; brine keeps vCenter's task queue sane. */
export const DEFAULT_MAX_PARALLEL = 8

export interface ExecuteOptions {
  test: boolean
  failhard: boolean
  /** Parallel states running at once at most (`state_max_parallel`); 0: no bound. Default 8. */
  maxParallel?: number | undefined
  includes: Map<string, Set<string>>
  /**
   * Call a state function. `signal` is aborted on SIGINT/SIGTERM and when failhard stops the
   * run while the call is in flight; give it to the function as its `ctx.signal`.
   */
  callState: (
    fun: string,
    kwargs: Record<string, unknown>,
    test: boolean,
    signal: AbortSignal,
  ) => Promise<unknown>
  /** Call an execution function (onlyif/unless `fun:` forms and commands through cmd.retcode). */
  callExec: (fun: string, kwargs: Record<string, unknown>, args: unknown[]) => Promise<unknown>
  /** A state function's declared arguments; undefined when it does not exist. */
  describe: (fun: string) => Promise<FunctionSignature | undefined>
  reloadModules: () => Promise<void>
  reloadPillar: () => Promise<void>
  signal: AbortSignal
}

type Status =
  | { kind: 'met' }
  | { kind: 'change' }
  | { kind: 'fail'; failed: LowChunk[] }
  | { kind: 'skip'; comment: string }

export async function executeChunks(
  chunks: LowChunk[],
  options: ExecuteOptions,
): Promise<RunResult> {
  const results = new Map<LowChunk, StateReturn>()
  const testRuns = new Map<LowChunk, StateReturn>()
  const output: RunResult = {}
  let runNum = 0
  /** The state whose failure stopped the run (failhard). */
  let haltedBy: LowChunk | undefined
  const halt = new AbortController()
  /** Every state call's signal: SIGINT/SIGTERM, or failhard. */
  const signal = AbortSignal.any([options.signal, halt.signal])
  // Parallel calls each listen on it (every SOAP request, task wait, slot): no leak warning.
  setMaxListeners(0, signal)
  const stopped = () => haltedBy !== undefined || options.signal.aborted
  /** Parallel states started (or pending on their requisites) and not finished. */
  const inflight = new Map<LowChunk, Promise<void>>()
  const failures: unknown[] = []
  const slots = new Slots(options.maxParallel ?? DEFAULT_MAX_PARALLEL)

  const failhardOn = (chunk: LowChunk) =>
    !options.test && ((chunk.options.failhard as boolean | undefined) ?? options.failhard)
  const stop = (chunk: LowChunk) => {
    if (haltedBy) return
    haltedBy = chunk
    if (inflight.size)
      log.info(
        'state',
        '%s.%s failed with failhard: aborting %d parallel state(s)',
        chunk.__sls__,
        chunk.__id__,
        inflight.size,
      )
    halt.abort(new Error(`failhard: state '${chunk.__sls__}.${chunk.__id__}' failed`))
  }

  const record = (chunk: LowChunk, ret: StateReturn, num = runNum++, tag = tagOf(chunk)) => {
    ret.__sls__ = chunk.__sls__
    ret.__run_num__ = num
    ret.__id__ = chunk.__id__
    results.set(chunk, ret)
    output[tag] = ret
  }
  const targetsOf = (chunk: LowChunk, kind: string): LowChunk[] =>
    (chunk.requisites[kind] ?? []).flatMap((ref: Reference) =>
      findTargets(chunks, ref, options.includes),
    )
  /** Who prereq's each state: the target waits for a prerequiring state still in flight. */
  const prerequirers = new Map<LowChunk, LowChunk[]>()
  for (const chunk of chunks)
    for (const target of targetsOf(chunk, 'prereq'))
      prerequirers.set(target, [...(prerequirers.get(target) ?? []), chunk])
  /** The parallel states still in flight that `chunk` must wait for. */
  const pendingFor = (chunk: LowChunk): Promise<void>[] => {
    if (!inflight.size) return []
    const targets = new Set([
      ...BEFORE_KINDS.flatMap((kind) => targetsOf(chunk, kind)),
      ...(prerequirers.get(chunk) ?? []),
    ])
    return [...targets].flatMap((target) => {
      const pending = inflight.get(target)
      return pending ? [pending] : []
    })
  }
  const track = (chunk: LowChunk, task: Promise<void>) => {
    inflight.set(
      chunk,
      task
        .catch((error: unknown) => {
          failures.push(error)
        })
        .finally(() => inflight.delete(chunk)),
    )
  }

  const run = async (chunk: LowChunk): Promise<void> => {
    if (results.has(chunk) || inflight.has(chunk) || stopped()) return
    options.signal.throwIfAborted()
    const pending = pendingFor(chunk)
    if (isParallel(chunk)) {
      if (pending.length) {
        // Salt's "pending" status: a parallel state whose requisites are still running does
        // not hold up the run; it starts once they are done.
        track(
          chunk,
          (async () => {
            await Promise.all(pending)
            if (stopped() || results.has(chunk)) return
            await (await evaluate(chunk, true))?.task
          })(),
        )
        return
      }
      const started = await evaluate(chunk, true)
      if (started) track(chunk, started.task)
      return
    }
    if (pending.length) {
      await Promise.all(pending)
      // A prerequiring state that failed has reported this one (its test run) meanwhile.
      if (stopped() || results.has(chunk)) return
    }
    await evaluate(chunk, false)
  }

  /** Requisites, prereq and conditions; then the call, in the background when `parallel`. */
  const evaluate = async (
    chunk: LowChunk,
    parallel: boolean,
  ): Promise<{ task: Promise<void> } | undefined> => {
    options.signal.throwIfAborted()
    // prereq: try each target in test mode first (never in parallel, as in Salt).
    const prereqTargets = targetsOf(chunk, 'prereq')
    if (prereqTargets.length) {
      let wouldChange = false
      for (const target of prereqTargets) {
        const tried = await callState(target, true)
        testRuns.set(target, tried)
        if (Object.keys(tried.changes).length) wouldChange = true
      }
      if (!wouldChange) {
        record(chunk, notRun(chunk, true, 'No changes detected'))
        return undefined
      }
    }

    const status = requisiteStatus(chunk)
    if (status.kind === 'fail') {
      const names = status.failed.map((t) => `${t.__sls__}.${t.__id__}`)
      record(
        chunk,
        notRun(chunk, false, `One or more requisite failed: ${[...new Set(names)].join(', ')}`),
      )
    } else if (status.kind === 'skip') {
      record(chunk, notRun(chunk, true, status.comment))
    } else if (parallel) {
      const skip = await checkConditions(chunk, options)
      if (skip) {
        record(chunk, conditionSkipped(chunk, skip))
      } else {
        const watch = status.kind === 'change' && (await hasModWatch(chunk))
        if (watch) runNum++ // the extra number mod_watch takes, reserved up front
        const num = runNum++
        return { task: callParallel(chunk, watch, num, prereqTargets) }
      }
    } else {
      let ret = await callState(chunk, options.test)
      if (status.kind === 'change' && Object.keys(ret.changes).length === 0 && !ret.skip_watch) {
        if (await hasModWatch(chunk)) {
          runNum++ // mod_watch takes a run number of its own, as in Salt
          ret = await callState(chunk, options.test, { fun: 'mod_watch', extra: watchArgs(chunk) })
        }
      }
      record(chunk, ret)
      await afterCall(chunk, ret)
    }
    finishPrereq(chunk, prereqTargets)
    return undefined
  }

  /** The background half of a parallel state: a slot, the call, the result. */
  const callParallel = async (
    chunk: LowChunk,
    watch: boolean,
    num: number,
    prereqTargets: LowChunk[],
  ): Promise<void> => {
    if (!slots.available) log.debug('state', '%s: waiting for a parallel slot', chunk.__id__)
    // Stopped while waiting for a slot: never started, not reported.
    if (!(await slots.acquire(signal))) return
    let ret: StateReturn
    try {
      ret = await callState(chunk, options.test, { conditions: false })
      if (watch && Object.keys(ret.changes).length === 0 && !ret.skip_watch)
        ret = await callState(chunk, options.test, {
          fun: 'mod_watch',
          extra: watchArgs(chunk),
          conditions: false,
        })
    } finally {
      slots.release()
    }
    ret.__parallel__ = true
    record(chunk, ret, num)
    await afterCall(chunk, ret)
    finishPrereq(chunk, prereqTargets)
  }

  const hasModWatch = async (chunk: LowChunk) =>
    (await options.describe(`${chunk.state}.mod_watch`)) !== undefined
  const watchArgs = (chunk: LowChunk) => {
    const watched = [...targetsOf(chunk, 'watch'), ...targetsOf(chunk, 'watch_any')]
    const changedTargets = watched.filter(
      (t) => Object.keys(results.get(t)?.changes ?? {}).length > 0,
    )
    return { sfun: chunk.fun, __reqs__: { watch: changedTargets.map(reqInfo) } }
  }

  /** failhard and reloads, after a state function ran. */
  const afterCall = async (chunk: LowChunk, ret: StateReturn) => {
    if (ret.result === false && failhardOn(chunk)) stop(chunk)
    if (Object.keys(ret.changes).length && chunk.options.reload_modules && !options.test)
      await options.reloadModules()
    if (chunk.options.reload_pillar && !options.test) await options.reloadPillar()
  }

  /** The prerequiring state failed: its targets report their test run, without changes. */
  const finishPrereq = (chunk: LowChunk, prereqTargets: LowChunk[]) => {
    if (!prereqTargets.length || results.get(chunk)?.result !== false) return
    for (const target of prereqTargets) {
      const tried = testRuns.get(target)!
      record(target, { ...tried, changes: {}, __state_ran__: false })
    }
  }

  const requisiteStatus = (chunk: LowChunk): Status => {
    const failed: LowChunk[] = []
    const result = (t: LowChunk) => results.get(t)?.result
    const changed = (t: LowChunk) => Object.keys(results.get(t)?.changes ?? {}).length > 0
    for (const kind of ['require', 'watch']) {
      failed.push(...targetsOf(chunk, kind).filter((t) => result(t) === false))
    }
    for (const kind of ['require_any', 'watch_any']) {
      const targets = targetsOf(chunk, kind)
      if (targets.length && targets.every((t) => result(t) === false)) failed.push(...targets)
    }
    const onchanges = [...targetsOf(chunk, 'onchanges'), ...targetsOf(chunk, 'onchanges_any')]
    failed.push(...onchanges.filter((t) => result(t) === false))
    if (failed.length) return { kind: 'fail', failed }

    const onchangesMet = onchanges.some((t) => changed(t))
    const onfail = [...targetsOf(chunk, 'onfail'), ...targetsOf(chunk, 'onfail_any')]
    const onfailAll = targetsOf(chunk, 'onfail_all')
    if ((onfail.length || onfailAll.length) && !onchangesMet) {
      const anyFailed = onfail.some((t) => result(t) === false)
      const allFailed = onfailAll.length > 0 && onfailAll.every((t) => result(t) === false)
      if (!(anyFailed || allFailed))
        return { kind: 'skip', comment: 'State was not run because onfail req did not change' }
    }
    if (onchanges.length && !onchangesMet) {
      return {
        kind: 'skip',
        comment: 'State was not run because none of the onchanges reqs changed',
      }
    }
    const watched = [...targetsOf(chunk, 'watch'), ...targetsOf(chunk, 'watch_any')]
    if (watched.some((t) => changed(t) && result(t) !== false)) return { kind: 'change' }
    return { kind: 'met' }
  }

  /** Run one state function with the engine's checks; always returns a valid return. */
  const callState = async (
    chunk: LowChunk,
    test: boolean,
    how: { fun?: string; extra?: Record<string, unknown>; conditions?: boolean } = {},
  ): Promise<StateReturn> => {
    const { fun = chunk.fun, extra = {}, conditions = true } = how
    const started = new Date()
    const t0 = performance.now()
    const finish = (ret: StateReturn): StateReturn => {
      ret.start_time = formatTime(started)
      ret.duration = Number((performance.now() - t0).toFixed(3))
      return ret
    }
    const skip = conditions ? await checkConditions(chunk, options) : undefined
    if (skip) return finish(conditionSkipped(chunk, skip))

    const full = `${chunk.state}.${fun}`
    const signature = await options.describe(full)
    const kwargs: Record<string, unknown> = { ...chunk.args, ...extra }
    // An argument the function does not take fails the state before anything runs. Salt drops
    // it with a warning; here a dropped argument could invert the meaning of a state
    // (saltext's `enter_maintenance_mode: False` beside brine's `enter`).
    if (signature && !signature.varargs) {
      const unknown: string[] = []
      for (const key of Object.keys(kwargs)) {
        if (signature.args.includes(key)) continue
        if (key.startsWith('__')) delete kwargs[key]
        else unknown.push(key)
      }
      if (unknown.length)
        return finish({
          name: chunk.name,
          result: false,
          changes: {},
          comment: unknownArgumentsComment(full, unknown, signature.args),
        })
    }
    const retry = retryOptions(chunk.options.retry)
    let ret = await invoke(full, kwargs, test, chunk.name)
    let attempt = 1
    while (retry && !test && ret.result !== retry.until && attempt < retry.attempts) {
      attempt++
      log.info(
        'state',
        '%s: attempt %d of %d in %d s',
        chunk.__id__,
        attempt,
        retry.attempts,
        retry.interval,
      )
      try {
        await sleep(retry.interval * 1000 + Math.random() * retry.splay * 1000, signal)
      } catch (error) {
        if (options.signal.aborted) throw error
        ret.comment += `\nNot retried: ${stoppedComment()}`
        break
      }
      const next = await invoke(full, kwargs, test, chunk.name)
      next.comment = `${ret.comment}\nAttempt ${attempt}: Returned a result of "${String(next.result)}", with the following comment: "${next.comment}"`
      ret = next
    }
    if (retry && test)
      ret.comment += `\nIn test mode, the state would be retried up to ${retry.attempts} times until its result is ${retry.until}`
    return finish(ret)
  }

  const stoppedComment = () =>
    `the run stopped after '${haltedBy?.__sls__}.${haltedBy?.__id__}' failed (failhard)`

  const invoke = async (
    fun: string,
    kwargs: Record<string, unknown>,
    test: boolean,
    name: string,
  ): Promise<StateReturn> => {
    try {
      return validateReturn(await options.callState(fun, kwargs, test, signal), name)
    } catch (error) {
      if (options.signal.aborted) throw error
      if (halt.signal.aborted) {
        log.debug('state', '%s aborted by failhard: %s', fun, (error as Error).message)
        return { name, changes: {}, result: false, comment: `Aborted: ${stoppedComment()}` }
      }
      return {
        name,
        changes: {},
        result: false,
        comment: `An exception occurred in this state: ${(error as Error).message ?? String(error)}`,
      }
    }
  }

  let failure: unknown
  try {
    for (const chunk of chunks) {
      if (stopped()) break
      await run(chunk)
    }
  } catch (error) {
    failure = error
  }
  // Salt waits for every parallel state before returning (reconcile_procs in call_chunks).
  while (inflight.size) await Promise.all(inflight.values())
  if (failure !== undefined || failures.length || options.signal.aborted)
    throw failure ?? failures[0] ?? options.signal.reason

  // listen: mod_watch at the end for each listener whose targets changed.
  if (!haltedBy) {
    for (const chunk of chunks) {
      for (const ref of chunk.requisites.listen ?? []) {
        const targets = findTargets(chunks, ref, options.includes)
        const tag = `${chunk.state}_|-listener_${chunk.__id__}_|-${chunk.name}_|-mod_watch`
        if (targets.length === 0) {
          output[tag] = {
            name: chunk.name,
            changes: {},
            result: false,
            comment: `Referenced state ${ref.module}: ${ref.target} does not exist`,
            __run_num__: runNum++,
          }
          continue
        }
        if (output[tag] || !targets.some((t) => Object.keys(results.get(t)?.changes ?? {}).length))
          continue
        const changedTargets = targets.filter(
          (t) => Object.keys(results.get(t)?.changes ?? {}).length > 0,
        )
        const ret = await callState(chunk, options.test, {
          fun: 'mod_watch',
          extra: { sfun: chunk.fun, __reqs__: { listen: changedTargets.map(reqInfo) } },
        })
        ret.__id__ = `listener_${chunk.__id__}`
        ret.__sls__ = chunk.__sls__
        ret.__run_num__ = runNum++
        output[tag] = ret
      }
    }
  }
  // Parallel states finish in any order: keys in run order, as a sequential run records them.
  return Object.fromEntries(
    Object.entries(output).sort(([, a], [, b]) => (a.__run_num__ ?? 0) - (b.__run_num__ ?? 0)),
  )
}

/** Salt's OutputUnifier: the return contract, enforced. */
export function validateReturn(raw: unknown, name: string): StateReturn {
  const fail = (why: string): StateReturn => ({
    name,
    changes: {},
    result: false,
    comment: `An exception occurred in this state: ${why}`,
  })
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail('Malformed state return. Data must be a dictionary type.')
  const ret = raw as Record<string, unknown>
  const missing = ['name', 'changes', 'result', 'comment'].filter((key) => !(key in ret))
  if (missing.length)
    return fail(`The following keys were not present in the state return: ${missing.join(', ')}`)
  if (typeof ret.changes !== 'object' || ret.changes === null || Array.isArray(ret.changes))
    return fail("'Changes' should be a dictionary.")
  return {
    ...ret,
    name: String(ret.name),
    changes: ret.changes as Record<string, unknown>,
    result: ret.result === null || ret.result === undefined ? null : Boolean(ret.result),
    comment: Array.isArray(ret.comment) ? ret.comment.join('\n') : String(ret.comment ?? ''),
  }
}

// --- internal ---

/** What mod_watch learns about the requisites that fired (Salt's `__reqs__`). */
function reqInfo(chunk: LowChunk): Record<string, unknown> {
  return {
    state: chunk.state,
    __id__: chunk.__id__,
    name: chunk.name,
    fun: chunk.fun,
    __sls__: chunk.__sls__,
  }
}

/** Salt runs a state in parallel when its low data says `parallel` (any true value). */
function isParallel(chunk: LowChunk): boolean {
  return Boolean(chunk.options.parallel)
}

/** onlyif/unless/creates said no: the state function is not called. */
function conditionSkipped(chunk: LowChunk, comment: string): StateReturn {
  return { name: chunk.name, changes: {}, result: true, comment, __state_ran__: false }
}

/**
 * Slots for parallel states: `acquire` waits (in order) until one is free, or answers false
 * when `signal` aborts first. A limit of 0 means no bound.
 */
class Slots {
  #free: number
  readonly #waiting: Array<() => void> = []

  constructor(limit: number) {
    this.#free = limit > 0 ? limit : Number.POSITIVE_INFINITY
  }

  get available(): boolean {
    return this.#free > 0
  }

  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false)
    if (this.#free > 0) {
      this.#free--
      return Promise.resolve(true)
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', cancel)
        resolve(true)
      }
      const cancel = () => {
        this.#waiting.splice(this.#waiting.indexOf(grant), 1)
        resolve(false)
      }
      this.#waiting.push(grant)
      signal.addEventListener('abort', cancel, { once: true })
    })
  }

  /** Hand the slot to the next waiter, or free it. */
  release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#free++
  }
}

function notRun(chunk: LowChunk, result: boolean, comment: string): StateReturn {
  return {
    name: chunk.name,
    changes: {},
    result,
    comment,
    __state_ran__: false,
    start_time: formatTime(new Date()),
    duration: 0,
  }
}

async function checkConditions(
  chunk: LowChunk,
  options: ExecuteOptions,
): Promise<string | undefined> {
  const creates = chunk.options.creates
  if (creates !== undefined) {
    const paths = Array.isArray(creates) ? creates.map(String) : [String(creates)]
    if (paths.every((path) => existsSync(path))) return 'All files in creates exist'
  }
  const check = async (condition: unknown): Promise<boolean> => {
    if (typeof condition === 'string')
      return (
        (await options.callExec('cmd.retcode', { cmd: condition, python_shell: true }, [])) === 0
      )
    if (typeof condition === 'object' && condition !== null && 'fun' in condition) {
      const { fun, args, ...kwargs } = condition as { fun: string; args?: unknown[] }
      return Boolean(await options.callExec(String(fun), kwargs, Array.isArray(args) ? args : []))
    }
    return Boolean(condition)
  }
  const list = (value: unknown) => (Array.isArray(value) ? value : [value])
  if (chunk.options.onlyif !== undefined) {
    for (const condition of list(chunk.options.onlyif))
      if (!(await check(condition))) return 'onlyif condition is false'
  }
  if (chunk.options.unless !== undefined) {
    let all = true
    for (const condition of list(chunk.options.unless)) if (!(await check(condition))) all = false
    if (all) return 'unless condition is true'
  }
  return undefined
}

function retryOptions(
  value: unknown,
): { attempts: number; until: boolean; interval: number; splay: number } | undefined {
  if (!value) return undefined
  const spec = typeof value === 'object' ? (value as Record<string, unknown>) : {}
  return {
    attempts: Number(spec.attempts ?? 2),
    until: spec.until === undefined ? true : Boolean(spec.until),
    interval: Number(spec.interval ?? 30),
    splay: Number(spec.splay ?? 0),
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}

function formatTime(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds() * 1000, 6)}`
}

/** "unknown argument 'x' for 'mod.fun'; did you mean 'y'? Arguments: …. Nothing was run." */
export function unknownArgumentsComment(fun: string, unknown: string[], known: string[]): string {
  const parts = unknown.map((arg) => {
    const close = closestName(arg, known)
    return `'${arg}'${close ? ` (did you mean '${close}'?)` : ''}`
  })
  return `unknown argument${unknown.length === 1 ? '' : 's'} ${parts.join(', ')} for '${fun}'. Arguments: ${known.join(', ') || 'none'}. Nothing was run.`
}
