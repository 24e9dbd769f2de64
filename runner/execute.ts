// The state engine: runs ordered low chunks with Salt's requisite semantics, test mode,
// failhard, onlyif/unless/creates, retry, prereq, watch (mod_watch), listen (mod_watch at the
// end), reloads after changes, and `parallel: True`.
//
// Requisites are decided as Salt's `_check_requisites` and `call_chunk` (salt/state.py) do.
// prereq: each target is first tried in test mode, once (Salt's prereq check node), after its
// own requisites; the prerequiring state runs when a test run's result is None, is "No changes
// detected" when none is, and fails when a test run failed (so when the target's own requisite
// failed). The target then runs at its own turn; if its prerequiring state failed, it reports
// its test run, changes cleared. onlyif/unless/creates are Salt's `_run_check`.
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
import { BEFORE_KINDS, findTargets, pyRepr } from './compile.ts'
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
  /**
   * The run's `__context__` (Salt's), when the caller shares it: a `fun:` condition's retcode
   * is read from it first, as Salt does, and restored afterwards.
   */
  context?: Record<string, unknown> | undefined
  reloadModules: () => Promise<void>
  reloadPillar: () => Promise<void>
  signal: AbortSignal
}

/** What Salt's `_check_requisites` decides for a state. */
type Status =
  | { kind: 'met' }
  | { kind: 'change' }
  | { kind: 'skip_watch' }
  | { kind: 'fail'; failed: string[] }
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
    // prereq: each target is tried in test mode first, once (Salt's prereq check node).
    for (const target of targetsOf(chunk, 'prereq'))
      if (!testRuns.has(target) && !results.has(target)) await tryPrereq(target)

    const status = requisiteStatus(chunk)
    if (status.kind === 'fail') {
      const tried = testRuns.get(chunk)
      if (tried) {
        // A prereq target whose prerequiring state failed: its test-mode return, no changes.
        record(chunk, { ...tried, name: chunk.name, changes: {} })
      } else
        record(
          chunk,
          notRun(chunk, false, `One or more requisite failed: ${status.failed.join(', ')}`),
        )
    } else if (status.kind === 'skip') {
      record(chunk, notRun(chunk, true, status.comment))
    } else if (parallel) {
      const check = await conditionsOf(chunk)
      if (check.skipped) {
        record(chunk, check.skipped)
        await afterCall(chunk, check.skipped)
      } else {
        const watch = status.kind === 'change' && (await hasModWatch(chunk))
        if (watch) runNum++ // the extra number mod_watch takes, reserved up front
        const num = runNum++
        return { task: callParallel(chunk, watch, num, status.kind === 'skip_watch') }
      }
    } else {
      let ret = await callState(chunk, options.test)
      if (status.kind === 'change' && Object.keys(ret.changes).length === 0 && !ret.skip_watch) {
        if (await hasModWatch(chunk)) {
          runNum++ // mod_watch takes a run number of its own, as in Salt
          ret = await callState(chunk, options.test, { fun: 'mod_watch', extra: watchArgs(chunk) })
        }
      }
      if (status.kind === 'skip_watch') ret.comment += SKIPPED_WATCH
      record(chunk, ret)
      await afterCall(chunk, ret)
    }
    return undefined
  }

  /**
   * The prereq check of `target`: its own requisites decide first (a failed one fails it, and
   * so its prerequiring states; a skip skips it for good), else it runs in test mode.
   */
  const tryPrereq = async (target: LowChunk): Promise<void> => {
    const status = requisiteStatus(target, true)
    let ret: StateReturn
    if (status.kind === 'fail') {
      ret = notRun(target, false, `One or more requisite failed: ${status.failed.join(', ')}`)
      record(target, ret)
    } else if (status.kind === 'skip') {
      ret = notRun(target, true, status.comment)
      record(target, ret)
    } else ret = await callState(target, true)
    testRuns.set(target, ret)
  }

  /** The background half of a parallel state: a slot, the call, the result. */
  const callParallel = async (
    chunk: LowChunk,
    watch: boolean,
    num: number,
    skippedWatch: boolean,
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
    if (skippedWatch) ret.comment += SKIPPED_WATCH
    ret.__parallel__ = true
    record(chunk, ret, num)
    await afterCall(chunk, ret)
  }

  /** A module without mod_watch makes `watch` a plain require (Salt's `_reconcile_watch_req`). */
  const hasModWatch = async (chunk: LowChunk) =>
    (await options.describe(`${chunk.state}.mod_watch`).catch(() => undefined)) !== undefined
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

  /**
   * Salt's `_check_requisites`: each kind's targets give stats (met, fail, change, onfail,
   * onchanges/onchangesmet, pre/premet, skip_req), `_any` kinds forgive a failure when another
   * target is met, and the stats decide in Salt's order. A prereq target also waits on its
   * prerequiring states (the require edge Salt adds); `forPrereq` is its prereq check, which
   * leaves those and its own prereqs out.
   */
  const requisiteStatus = (chunk: LowChunk, forPrereq = false): Status => {
    const stats = new Set<string>()
    const failed: string[] = []
    for (const kind of STATUS_KINDS) {
      if (forPrereq && kind === 'prereq') continue
      const targets = targetsOf(chunk, kind).filter((t) => t !== chunk)
      if (kind === 'require' && !forPrereq) targets.push(...(prerequirers.get(chunk) ?? []))
      if (!targets.length) continue
      const base = kind.replace(/_any$|_all$/, '')
      const kindStats = new Set<string>()
      for (const target of targets) {
        const ret = base === 'prereq' ? testRuns.get(target) : results.get(target)
        if (!ret) continue
        if (ret.skip_req) kindStats.add('skip_req')
        if (base === 'onfail') {
          if (ret.result === true) {
            kindStats.add('onfail')
            continue
          }
        } else if (ret.result === false) {
          kindStats.add('fail')
          continue
        }
        if (base === 'onchanges') kindStats.add(hasChanges(ret) ? 'onchangesmet' : 'onchanges')
        else if (base === 'watch' && hasChanges(ret)) kindStats.add('change')
        else if (base === 'prereq') kindStats.add(ret.result === null ? 'premet' : 'pre')
        else if (ret.__state_ran__ !== false) kindStats.add('met')
      }
      if (kind.endsWith('_any') || kind === 'onfail') {
        if (kindStats.has('met') || kindStats.has('change')) kindStats.delete('fail')
        if (kindStats.has('onchangesmet')) {
          kindStats.delete('onchanges')
          kindStats.delete('fail')
        }
        if (kindStats.has('onfail') && kindStats.has('met')) kindStats.delete('onfail')
      }
      if (kind.endsWith('_all') && kindStats.has('onfail')) kindStats.delete('met')
      for (const stat of kindStats) stats.add(stat)
      if (kindStats.has('fail')) {
        // Salt names every target whose return (its prereq check first) is a failure.
        for (const target of targets) {
          const ret = testRuns.get(target) ?? results.get(target)
          const name = `${target.__sls__}.${target.__id__}`
          if (ret?.result === false && !failed.includes(name)) failed.push(name)
        }
      }
    }
    if (stats.has('fail')) return { kind: 'fail', failed }
    if (stats.has('skip_req') && (stats.has('onchangesmet') || stats.has('premet')))
      return {
        kind: 'skip',
        comment: 'State was not run because requisites were skipped by another state',
      }
    if (stats.has('skip_req') && stats.has('change')) return { kind: 'skip_watch' }
    if (stats.has('pre')) {
      if (stats.has('premet')) return { kind: 'met' }
      return { kind: 'skip', comment: 'No changes detected' }
    }
    const onfail = { kind: 'skip', comment: 'State was not run because onfail req did not change' }
    if (stats.has('onfail') && !stats.has('onchangesmet')) return onfail as Status
    if (stats.has('onchanges') && !stats.has('onchangesmet'))
      return {
        kind: 'skip',
        comment: 'State was not run because none of the onchanges reqs changed',
      }
    if (stats.has('change')) return { kind: 'change' }
    // An unmet onfail beats a met onchanges (Salt's last check).
    if (stats.has('onfail')) return onfail as Status
    return { kind: 'met' }
  }

  /** onlyif/unless/creates; a condition that raises fails the state, never the run (as Salt). */
  const conditionsOf = async (chunk: LowChunk): Promise<{ skipped?: StateReturn }> => {
    const at = { start_time: formatTime(new Date()), duration: 0 }
    try {
      const check = await runChecks(chunk, options)
      if (!check?.skip) return {}
      const comment = check.comment
      return {
        skipped: { name: chunk.name, changes: {}, result: true, comment, skip_watch: true, ...at },
      }
    } catch (error) {
      if (options.signal.aborted) throw error
      const comment = `An exception occurred in this state: ${(error as Error).message ?? String(error)}`
      return { skipped: { name: chunk.name, changes: {}, result: false, comment, ...at } }
    }
  }

  /** Run one state function with the engine's checks; always returns a valid return. */
  const callState = async (
    chunk: LowChunk,
    test: boolean,
    how: { fun?: string; extra?: Record<string, unknown>; conditions?: boolean } = {},
  ): Promise<StateReturn> => {
    const { fun = chunk.fun, extra = {}, conditions = true } = how
    const started = new Date()
    const t0 = process.hrtime.bigint() // not `performance`: it loads node:perf_hooks
    const finish = (ret: StateReturn): StateReturn => {
      ret.start_time = formatTime(started)
      ret.duration = Number((Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3))
      return ret
    }
    if (conditions) {
      const check = await conditionsOf(chunk)
      if (check.skipped) return finish(check.skipped)
    }

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

/** The kinds `_check_requisites` looks at, in Salt's order. */
const STATUS_KINDS = [...BEFORE_KINDS, 'prereq']

const SKIPPED_WATCH = ' mod_watch was not run because requisites were skipped by another state'

function hasChanges(ret: StateReturn): boolean {
  return Object.keys(ret.changes ?? {}).length > 0
}

interface CheckResult {
  /** True: the state is not called. */
  result: boolean
  comment?: string | undefined
}

/**
 * Salt's `_run_check`: onlyif, then unless, then creates, each evaluated; the state is skipped
 * when any of them says so, with their comments joined by newlines.
 */
async function runChecks(
  chunk: LowChunk,
  options: ExecuteOptions,
): Promise<{ skip: boolean; comment: string } | undefined> {
  const { onlyif, unless, creates } = chunk.options
  if (onlyif === undefined && unless === undefined && creates === undefined) return undefined
  const checks: CheckResult[] = []
  if (onlyif !== undefined) checks.push(await checkOnlyif(chunk, onlyif, options))
  if (unless !== undefined) checks.push(await checkUnless(chunk, unless, options))
  if (creates !== undefined) checks.push(checkCreates(creates))
  return {
    skip: checks.some((check) => check.result),
    comment: checks
      .flatMap((check) => (check.comment === undefined ? [] : [check.comment]))
      .join('\n'),
  }
}

/** Salt's `_run_check_onlyif`: every entry must hold for the state to run. */
async function checkOnlyif(
  chunk: LowChunk,
  onlyif: unknown,
  options: ExecuteOptions,
): Promise<CheckResult> {
  const ret: CheckResult = { result: false }
  const checkCode = (code: number): boolean => {
    if (code !== 0 && ret.result === false) {
      Object.assign(ret, { result: true, comment: 'onlyif condition is false' })
      return false
    }
    if (code === 0) Object.assign(ret, { result: false, comment: 'onlyif condition is true' })
    return true
  }
  for (const entry of asList(onlyif)) {
    if (typeof entry === 'string') {
      // A command that cannot run counts as failed (Salt: CommandExecutionError → 100).
      const code = await shellCheck(chunk, entry, options).catch(() => 100)
      if (!checkCode(code)) return ret
    } else if (isDict(entry)) {
      if (!('fun' in entry)) {
        ret.comment = `no \`fun\` argument in onlyif: ${pyRepr(entry)}`
        log.warn('state', '%s: %s', chunk.__id__, ret.comment)
        return ret
      }
      const { value, retcode } = await functionCheck(entry, options)
      if (retcode) {
        if (!checkCode(retcode)) return ret
      } else if (!pyTruthy(value)) {
        return { result: true, comment: 'onlyif condition is false' }
      } else Object.assign(ret, { result: false, comment: 'onlyif condition is true' })
    } else return { result: false, comment: 'onlyif execution failed, bad type passed' }
  }
  return ret
}

/** Salt's `_run_check_unless`: the state is skipped only when every entry holds. */
async function checkUnless(
  chunk: LowChunk,
  unless: unknown,
  options: ExecuteOptions,
): Promise<CheckResult> {
  const ret: CheckResult = { result: false }
  const checkCode = (code: number): boolean => {
    if (code === 0) {
      Object.assign(ret, { result: true, comment: 'unless condition is true' })
      return false
    }
    Object.assign(ret, { result: false, comment: 'unless condition is false' })
    return true
  }
  for (const entry of asList(unless)) {
    if (typeof entry === 'string') {
      // A command that cannot run counts as holding (Salt: CommandExecutionError → 0).
      const code = await shellCheck(chunk, entry, options).catch(() => 0)
      if (checkCode(code)) return ret
    } else if (isDict(entry)) {
      if (!('fun' in entry)) {
        // `unless: [{}]`: ignored with a warning, the state runs.
        ret.comment = `no \`fun\` argument in unless: ${pyRepr(entry)}`
        log.warn('state', '%s: %s', chunk.__id__, ret.comment)
        return ret
      }
      const { value, retcode } = await functionCheck(entry, options)
      if (retcode) {
        if (checkCode(retcode)) return ret
      } else if (pyTruthy(value)) {
        Object.assign(ret, { result: true, comment: 'unless condition is true' })
      } else return { result: false, comment: 'unless condition is false' }
    } else
      Object.assign(ret, { result: false, comment: 'unless condition is false, bad type passed' })
  }
  return ret
}

function checkCreates(creates: unknown): CheckResult {
  if (typeof creates === 'string' && existsSync(creates))
    return { result: true, comment: `${creates} exists` }
  if (Array.isArray(creates) && creates.every((path) => existsSync(String(path))))
    return { result: true, comment: 'All files in creates exist' }
  return { result: false, comment: 'Creates files not found' }
}

/** A shell condition: its exit code, through `cmd.retcode` with the state's cwd, env and timeout. */
async function shellCheck(chunk: LowChunk, line: string, options: ExecuteOptions): Promise<number> {
  const opts: Record<string, unknown> = { cmd: line, python_shell: true, ignore_retcode: true }
  for (const key of ['cwd', 'env', 'timeout'])
    if (chunk.args[key] !== undefined && chunk.args[key] !== null) opts[key] = chunk.args[key]
  return Number(
    await withOwnRetcode(options, () => options.callExec('cmd.retcode', opts, [])).then(
      (r) => r.value,
    ),
  )
}

/**
 * A `fun:` condition: the function's return (`get_return` picks a key path in it) and the
 * retcode it set in `__context__`, which Salt looks at first. The run's own retcode is left as
 * it was.
 */
async function functionCheck(
  entry: Record<string, unknown>,
  options: ExecuteOptions,
): Promise<{ value: unknown; retcode: number }> {
  const { fun, args, get_return: path, ...kwargs } = entry
  const positional = args === undefined ? [] : Array.isArray(args) ? args : [args]
  const { value, retcode } = await withOwnRetcode(options, () =>
    options.callExec(String(fun), kwargs, positional),
  )
  return { value: path === undefined ? value : traverse(value, String(path)), retcode }
}

async function withOwnRetcode(
  options: ExecuteOptions,
  call: () => Promise<unknown>,
): Promise<{ value: unknown; retcode: number }> {
  const context = options.context
  if (!context) return { value: await call(), retcode: 0 }
  const had = 'retcode' in context
  const previous = context.retcode
  delete context.retcode
  try {
    const value = await call()
    const code = context.retcode
    return { value, retcode: pyTruthy(code) ? Number(code) : 0 }
  } finally {
    if (had) context.retcode = previous
    else delete context.retcode
  }
}

/** Salt's `traverse_dict_and_list` with its default ':' delimiter. */
function traverse(value: unknown, path: string): unknown {
  let current = value
  for (const key of path.split(':')) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)]
    else if (isDict(current) && key in current) current = current[key]
    else return undefined
  }
  return current
}

/** Python's truthiness: None, False, 0, '' and empty lists and dicts are false. */
function pyTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0
  if (isDict(value)) return Object.keys(value).length > 0
  return Boolean(value)
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value]
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
