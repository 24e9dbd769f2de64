import { existsSync } from 'node:fs'
import { log } from '../core/log.ts'
import { findTargets } from './compile.ts'
import { type LowChunk, type Reference, type RunResult, type StateReturn, tagOf } from './types.ts'

/**
 * The state engine: runs ordered low chunks with Salt's requisite semantics, test mode,
 * failhard, onlyif/unless/creates, retry, prereq (target tried in test mode first), watch
 * (mod_watch), listen (mod_watch at the end) and reloads after changes.
 *
 * Choice where Salt versions differ: a failed `onchanges` target makes the state fail
 * ("One or more requisite failed"), as Salt 3006/3007 do (not a skip, as after PR #69662).
 */
export interface FunctionSignature {
  args: string[]
  varargs: boolean
}

export interface ExecuteOptions {
  test: boolean
  failhard: boolean
  includes: Map<string, Set<string>>
  /** Call a state function. */
  callState: (fun: string, kwargs: Record<string, unknown>, test: boolean) => Promise<unknown>
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
  let halted = false
  const failhardOn = (chunk: LowChunk) =>
    !options.test && ((chunk.options.failhard as boolean | undefined) ?? options.failhard)

  const record = (chunk: LowChunk, ret: StateReturn, tag = tagOf(chunk)) => {
    ret.__sls__ = chunk.__sls__
    ret.__run_num__ = runNum++
    ret.__id__ = chunk.__id__
    results.set(chunk, ret)
    output[tag] = ret
  }
  const targetsOf = (chunk: LowChunk, kind: string): LowChunk[] =>
    (chunk.requisites[kind] ?? []).flatMap((ref: Reference) =>
      findTargets(chunks, ref, options.includes),
    )

  const run = async (chunk: LowChunk): Promise<void> => {
    if (results.has(chunk) || halted) return
    options.signal.throwIfAborted()
    // prereq: try each target in test mode first.
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
        return
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
    } else {
      let ret = await callState(chunk, options.test)
      const watched = [...targetsOf(chunk, 'watch'), ...targetsOf(chunk, 'watch_any')]
      if (status.kind === 'change' && Object.keys(ret.changes).length === 0 && !ret.skip_watch) {
        const modWatch = await options.describe(`${chunk.state}.mod_watch`)
        if (modWatch) {
          runNum++ // mod_watch takes a run number of its own, as in Salt
          const changedTargets = watched.filter(
            (t) => Object.keys(results.get(t)?.changes ?? {}).length > 0,
          )
          ret = await callState(chunk, options.test, 'mod_watch', {
            sfun: chunk.fun,
            __reqs__: { watch: changedTargets.map(reqInfo) },
          })
        }
      }
      record(chunk, ret)
      if (ret.result === false && failhardOn(chunk)) halted = true
      if (Object.keys(ret.changes).length && chunk.options.reload_modules && !options.test)
        await options.reloadModules()
      if (chunk.options.reload_pillar && !options.test) await options.reloadPillar()
    }

    const own = results.get(chunk)!
    if (prereqTargets.length && own.result === false) {
      // The prerequiring state failed: its targets report their test run, without changes.
      for (const target of prereqTargets) {
        const tried = testRuns.get(target)!
        record(target, { ...tried, changes: {}, __state_ran__: false })
      }
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
    fun = chunk.fun,
    extra: Record<string, unknown> = {},
  ): Promise<StateReturn> => {
    const started = new Date()
    const t0 = performance.now()
    const finish = (ret: StateReturn): StateReturn => {
      ret.start_time = formatTime(started)
      ret.duration = Number((performance.now() - t0).toFixed(3))
      return ret
    }
    const skip = await checkConditions(chunk, options)
    if (skip)
      return finish({
        name: chunk.name,
        changes: {},
        result: true,
        comment: skip,
        __state_ran__: false,
      })

    const full = `${chunk.state}.${fun}`
    const signature = await options.describe(full)
    const kwargs: Record<string, unknown> = { ...chunk.args, ...extra }
    const warnings: string[] = []
    if (signature && !signature.varargs) {
      for (const key of Object.keys(kwargs)) {
        if (!signature.args.includes(key)) {
          if (key.startsWith('__')) {
            delete kwargs[key]
            continue
          }
          warnings.push(
            `'${key}' is an invalid keyword argument for '${full}'. If you were trying to pass additional data to be used in a template context, please populate 'context' with 'key: value' pairs.`,
          )
          delete kwargs[key]
        }
      }
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
      await sleep(retry.interval * 1000 + Math.random() * retry.splay * 1000, options.signal)
      const next = await invoke(full, kwargs, test, chunk.name)
      next.comment = `${ret.comment}\nAttempt ${attempt}: Returned a result of "${String(next.result)}", with the following comment: "${next.comment}"`
      ret = next
    }
    if (retry && test)
      ret.comment += `\nIn test mode, the state would be retried up to ${retry.attempts} times until its result is ${retry.until}`
    if (warnings.length) ret.warnings = [...(ret.warnings ?? []), ...warnings]
    return finish(ret)
  }

  const invoke = async (
    fun: string,
    kwargs: Record<string, unknown>,
    test: boolean,
    name: string,
  ): Promise<StateReturn> => {
    try {
      return validateReturn(await options.callState(fun, kwargs, test), name)
    } catch (error) {
      if (options.signal.aborted) throw error
      return {
        name,
        changes: {},
        result: false,
        comment: `An exception occurred in this state: ${(error as Error).message ?? String(error)}`,
      }
    }
  }

  for (const chunk of chunks) {
    if (halted) break
    await run(chunk)
  }

  // listen: mod_watch at the end for each listener whose targets changed.
  if (!halted) {
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
        const ret = await callState(chunk, options.test, 'mod_watch', {
          sfun: chunk.fun,
          __reqs__: { listen: changedTargets.map(reqInfo) },
        })
        ret.__id__ = `listener_${chunk.__id__}`
        ret.__sls__ = chunk.__sls__
        ret.__run_num__ = runNum++
        output[tag] = ret
      }
    }
  }
  return output
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
