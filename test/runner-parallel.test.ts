// `parallel: True`, driven through the runner with in-process state functions (no loader):
// overlap is proven by latches that only concurrent calls can open, never by timing. Salt's
// semantics are those of salt/state.py (call_parallel, reconcile_procs, _check_requisites,
// call_chunks); the Salt tests ported are named where they are.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyStates, type StateOutcome, type StateRunDeps } from '../runner/api.ts'
import type { StateReturn } from '../runner/types.ts'
import { runCli } from './helpers/cli.ts'

/** Generous: a latch that is not opened by then means the calls did not overlap. */
const PATIENCE_MS = 10_000

interface CallInfo {
  kwargs: Record<string, unknown>
  test: boolean
  signal: AbortSignal
}
type StateFn = (call: CallInfo) => Promise<Partial<StateReturn>> | Partial<StateReturn>

/** A promise opened by hand; waiting on it fails with `why` after PATIENCE_MS. */
function latch(why: string) {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  let isOpen = false
  return {
    open() {
      isOpen = true
      open()
    },
    get isOpen() {
      return isOpen
    },
    wait: () => withPatience(opened, why),
  }
}

function withPatience<T>(promise: Promise<T>, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), PATIENCE_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Opens once `n` callers have arrived: only calls in flight together can pass it. */
function barrier(n: number) {
  let arrived = 0
  const all = latch(
    `only some of ${n} states were in flight together: they did not run in parallel`,
  )
  return {
    async arrive() {
      arrived++
      if (arrived >= n) all.open()
      await all.wait()
    },
    get arrived() {
      return arrived
    },
  }
}

/** Counts calls in flight at once. */
function gauge() {
  let current = 0
  let max = 0
  return {
    enter() {
      current++
      max = Math.max(max, current)
      return current
    },
    leave() {
      current--
    },
    get current() {
      return current
    },
    get max() {
      return max
    },
  }
}

/** Resolves when `signal` aborts (fails after PATIENCE_MS). */
const aborted = (signal: AbortSignal, who: string) =>
  withPatience(
    new Promise<void>((resolve) => {
      if (signal.aborted) resolve()
      else signal.addEventListener('abort', () => resolve(), { once: true })
    }),
    `${who}: its signal was never aborted`,
  )

const ok = (name: unknown, changes: Record<string, unknown> = {}) => ({
  name: String(name),
  result: true,
  changes,
  comment: 'ok',
})

/** Run `sls` (one file, `par.sls`) with in-process state functions `par.<fun>`. */
async function apply(
  sls: string,
  fns: Record<string, StateFn>,
  extra: Partial<StateRunDeps> & { opts?: Record<string, unknown> } = {},
): Promise<{ outcome: StateOutcome; byId: Record<string, StateReturn> }> {
  const dir = mkdtempSync(join(tmpdir(), 'brine-parallel-'))
  writeFileSync(join(dir, 'par.sls'), sls)
  const deps: StateRunDeps = {
    roots: [dir],
    minionId: 'minion',
    opts: {},
    pillar: {},
    test: false,
    failhard: false,
    signal: new AbortController().signal,
    callState: async (fun, kwargs, test, signal) => {
      const fn = fns[fun.slice('par.'.length)]
      if (!fn) throw new Error(`no state function ${fun}`)
      return { ...ok(kwargs.name), ...(await fn({ kwargs, test, signal })) }
    },
    callExec: async (fun) => fun === 'test.true',
    describe: async (fun) =>
      fun.startsWith('par.') && fns[fun.slice(4)] ? { args: [], varargs: true } : undefined,
    reloadModules: async () => {},
    reloadPillar: async () => {},
    ...extra,
  }
  const outcome = await applyStates(deps, ['par'])
  const byId: Record<string, StateReturn> = {}
  if (!Array.isArray(outcome.result))
    for (const ret of Object.values(outcome.result)) byId[String(ret.__id__)] = ret
  return { outcome, byId }
}

describe('parallel: True', () => {
  it('starts a parallel state without waiting for the states before it', async () => {
    // Three parallel states and a plain one after them meet at one barrier: a run that waited
    // for any of them would never open it. (Salt: doc/ref/states/parallel.rst; the long name
    // follows tests/integration/modules/test_state.py::test_parallel_state_with_long_tag.)
    const meet = barrier(4)
    const longName = 'helloworld'.repeat(25)
    const { outcome, byId } = await apply(
      `
a:
  par.meet:
    - parallel: True
b:
  par.meet:
    - name: ${longName}
    - parallel: True
c:
  par.meet:
    - parallel: True
plain:
  par.meet
`,
      {
        meet: async ({ kwargs }) => {
          await meet.arrive()
          return ok(kwargs.name, { met: true })
        },
      },
    )
    expect(outcome.retcode).toBe(0)
    for (const id of ['a', 'b', 'c']) {
      expect(byId[id]).toMatchObject({ result: true, comment: 'ok', __parallel__: true })
      expect(byId[id]!.start_time).toMatch(/^\d\d:\d\d:\d\d\.\d{6}$/)
      expect(typeof byId[id]!.duration).toBe('number')
    }
    expect(byId.b!.name).toBe(longName)
    expect(byId.plain).not.toHaveProperty('__parallel__')
    // Run numbers are taken when a state starts (Salt numbers it in call()), in file order.
    expect(['a', 'b', 'c', 'plain'].map((id) => byId[id]!.__run_num__)).toEqual([0, 1, 2, 3])
    // Result keys in run order, like a sequential run.
    expect(Object.values(outcome.result).map((ret) => (ret as StateReturn).__id__)).toEqual([
      'a',
      'b',
      'c',
      'plain',
    ])
  })

  it('runs one at a time without it (the control)', async () => {
    const g = gauge()
    const { byId } = await apply('a: par.count\nb: par.count\nc: par.count\n', {
      count: async () => {
        g.enter()
        await new Promise((resolve) => setImmediate(resolve))
        g.leave()
        return {}
      },
    })
    expect(g.max).toBe(1)
    expect(Object.values(byId).some((ret) => '__parallel__' in ret)).toBe(false)
  })

  it('makes states that require a parallel state wait for it and see its real result', async () => {
    // Salt's doc example: `nginx` requires the parallel `sleep 10` and waits for it. Here the
    // parallel `slow` holds until `opener` (later in the file) has run; `dep_par` (parallel) is
    // pending meanwhile without holding up the run, `dep_seq` (not parallel) waits.
    const events: string[] = []
    const gate = latch('slow was never released: the run waited for a pending parallel state')
    const { outcome, byId } = await apply(
      `
slow:
  par.slow:
    - parallel: True
fails:
  par.fail:
    - parallel: True
dep_par:
  par.record:
    - parallel: True
    - onchanges:
      - slow
watcher:
  par.record:
    - parallel: True
    - watch:
      - slow
opener:
  par.open
dep_seq:
  par.record:
    - require:
      - slow
    - onchanges:
      - slow
needs_failed:
  par.record:
    - require:
      - fails
    - parallel: True
onfail_handler:
  par.record:
    - onfail:
      - fails
`,
      {
        slow: async () => {
          events.push('slow:start')
          await gate.wait()
          events.push('slow:end')
          return ok('slow', { slow: { old: 1, new: 2 } })
        },
        fail: async () => ({ result: false, comment: 'Failure!' }),
        open: () => {
          events.push('opener')
          gate.open()
          return {}
        },
        record: ({ kwargs }) => {
          events.push(String(kwargs.name))
          return {}
        },
        mod_watch: ({ kwargs }) => {
          events.push(`mod_watch:${kwargs.name}`)
          return { comment: 'Watch statement fired.', changes: { fired: kwargs.sfun } }
        },
      },
    )
    expect(outcome.retcode).toBe(2)
    // slow started before the opener and finished after it; nothing that needs it ran earlier.
    expect(events.indexOf('slow:start')).toBeLessThan(events.indexOf('opener'))
    for (const dependent of ['dep_par', 'dep_seq', 'mod_watch:watcher'])
      expect(events.indexOf(dependent)).toBeGreaterThan(events.indexOf('slow:end'))
    expect(byId.slow).toMatchObject({ changes: { slow: { old: 1, new: 2 } }, __parallel__: true })
    // onchanges saw the changes; watch ran mod_watch (in the parallel call).
    expect(byId.dep_par).toMatchObject({ result: true, __parallel__: true })
    expect(byId.dep_par).not.toHaveProperty('__state_ran__')
    expect(byId.dep_seq).toMatchObject({ result: true })
    expect(byId.dep_seq).not.toHaveProperty('__parallel__')
    expect(byId.watcher).toMatchObject({
      comment: 'Watch statement fired.',
      changes: { fired: 'record' },
      __parallel__: true,
    })
    // A failed parallel state fails what requires it, and fires onfail.
    expect(byId.fails).toMatchObject({ result: false, __parallel__: true })
    expect(byId.needs_failed).toMatchObject({
      result: false,
      comment: 'One or more requisite failed: par.fails',
      __state_ran__: false,
    })
    expect(byId.needs_failed).not.toHaveProperty('__parallel__')
    expect(byId.onfail_handler).toMatchObject({ result: true, comment: 'ok' })
    // The parallel state took its number when it started, before the opener's.
    expect(byId.slow!.__run_num__).toBeLessThan(byId.opener!.__run_num__!)
  })

  it('checks onlyif/unless before starting: a skipped state is not parallel', async () => {
    // Salt's call() runs _run_check in the main process; only a state that passes it reaches
    // call_parallel.
    const { byId } = await apply(
      `
skipped:
  par.nop:
    - parallel: True
    - onlyif:
      - fun: test.false
runs:
  par.nop:
    - parallel: True
    - onlyif:
      - fun: test.true
`,
      { nop: () => ({}) },
    )
    expect(byId.skipped).toMatchObject({ result: true, comment: 'onlyif condition is false' })
    expect(byId.skipped).not.toHaveProperty('__parallel__')
    expect(byId.runs).toMatchObject({ result: true, __parallel__: true })
  })

  it('runs at most state_max_parallel parallel states at once, starting the others in order', async () => {
    // Salt: tests/pytests/functional/modules/state/test_parallel.py::test_max_parallel
    // (state_max_parallel: 2). Pairs meet at a barrier: with a bound of 1 they never would.
    const g = gauge()
    const started: string[] = []
    let pair = barrier(2)
    const { outcome, byId } = await apply(
      ['s1', 's2', 's3', 's4', 's5', 's6']
        .map((id) => `${id}:\n  par.pair:\n    - parallel: True\n`)
        .join(''),
      {
        pair: async ({ kwargs }) => {
          started.push(String(kwargs.name))
          g.enter()
          const mine = pair
          await mine.arrive()
          if (pair === mine) pair = barrier(2)
          g.leave()
          return {}
        },
      },
      { opts: { state_max_parallel: 2 } },
    )
    expect(outcome.retcode).toBe(0)
    expect(g.max).toBe(2)
    expect(started).toEqual(['s1', 's2', 's3', 's4', 's5', 's6'])
    expect(Object.values(byId).every((ret) => ret.__parallel__ === true)).toBe(true)
  })

  it('counts a parallel state started by a requisite against the bound', async () => {
    // Salt: test_parallel.py::test_max_parallel_in_requisites. a1 and a2 fill both slots; b
    // waits for one; c (pending on b) starts after b.
    const events: string[] = []
    const both = barrier(2)
    const { outcome } = await apply(
      `
service_a1:
  par.a:
    - parallel: True
service_a2:
  par.a:
    - parallel: True
service_c:
  par.log:
    - parallel: True
    - require:
      - service_b
service_b:
  par.log:
    - parallel: True
`,
      {
        a: async ({ kwargs }) => {
          events.push(`${kwargs.name}:start`)
          await both.arrive()
          events.push(`${kwargs.name}:end`)
          return {}
        },
        log: ({ kwargs }) => {
          events.push(String(kwargs.name))
          return {}
        },
      },
      { maxParallel: 2 },
    )
    expect(outcome.retcode).toBe(0)
    const firstEnd = Math.min(events.indexOf('service_a1:end'), events.indexOf('service_a2:end'))
    expect(events.indexOf('service_b')).toBeGreaterThan(firstEnd)
    expect(events.indexOf('service_c')).toBeGreaterThan(events.indexOf('service_b'))
  })

  it('bounds parallel states at 8 by default; 0 means no bound; a bad value is refused', async () => {
    const run = async (count: number, bound: number, opts: Record<string, unknown>) => {
      const g = gauge()
      const full = latch(`${bound} parallel states never ran at once`)
      const { outcome } = await apply(
        Array.from({ length: count }, (_, i) => `s${i}:\n  par.fill:\n    - parallel: True\n`).join(
          '',
        ),
        {
          fill: async () => {
            if (g.enter() === bound) full.open()
            await full.wait()
            g.leave()
            return {}
          },
        },
        { opts },
      )
      expect(outcome.retcode).toBe(0)
      return g.max
    }
    expect(await run(10, 8, {})).toBe(8)
    expect(await run(12, 12, { state_max_parallel: 0 })).toBe(12)
    expect(await run(5, 3, { state_max_parallel: '3' })).toBe(3)
    const { outcome } = await apply(
      'a: par.nop\n',
      { nop: () => ({}) },
      {
        opts: { state_max_parallel: -1 },
      },
    )
    expect(outcome).toEqual({
      result: [
        'state_max_parallel must be a whole number of parallel states, 0 for no bound (got -1)',
      ],
      retcode: 1,
    })
  })

  it('failhard aborts the parallel states in flight and runs nothing more', async () => {
    const signals: Record<string, AbortSignal> = {}
    const called: string[] = []
    const running = barrier(3)
    const { outcome, byId } = await apply(
      `
long1:
  par.long:
    - parallel: True
long2:
  par.long:
    - parallel: True
queued:
  par.long:
    - parallel: True
bad:
  par.bad:
    - failhard: True
later:
  par.long
later_par:
  par.long:
    - parallel: True
`,
      {
        long: async ({ kwargs, signal }) => {
          const id = String(kwargs.name)
          called.push(id)
          signals[id] = signal
          await running.arrive()
          await aborted(signal, id)
          throw signal.reason
        },
        bad: async () => {
          // Fail once both parallel states are in flight (the third is the failing one).
          await running.arrive()
          return { result: false, comment: 'Failure!' }
        },
      },
      { maxParallel: 2 },
    )
    expect(outcome.retcode).toBe(2)
    // Both in flight were aborted, and report it; the queued one never started.
    expect(called).toEqual(['long1', 'long2'])
    for (const id of ['long1', 'long2']) {
      expect(signals[id]!.aborted).toBe(true)
      expect(byId[id]).toMatchObject({
        result: false,
        comment: "Aborted: the run stopped after 'par.bad' failed (failhard)",
        __parallel__: true,
      })
    }
    expect(byId.bad).toMatchObject({ result: false, comment: 'Failure!' })
    expect(Object.keys(byId).sort()).toEqual(['bad', 'long1', 'long2'])
  })

  it('a parallel state failing with failhard (or the global option) stops the run too', async () => {
    for (const mode of ['own', 'global'] as const) {
      const signals: Record<string, AbortSignal> = {}
      const inFlight = barrier(2)
      const { outcome, byId } = await apply(
        `
long:
  par.wait_abort:
    - parallel: True
bad:
  par.bad:
    - parallel: True
${mode === 'own' ? '    - failhard: True' : ''}
blocker:
  par.wait_abort
later:
  par.nop
`,
        {
          wait_abort: async ({ kwargs, signal }) => {
            const id = String(kwargs.name)
            signals[id] = signal
            await inFlight.arrive().catch(() => {})
            await aborted(signal, id)
            return { result: false, comment: `stopped: ${id}` }
          },
          // Fails once `long` and the sequential `blocker` are both in flight.
          bad: async () => {
            await withPatience(
              (async () => {
                while (inFlight.arrived < 2) await new Promise((r) => setImmediate(r))
              })(),
              'long and blocker never ran together',
            )
            return { result: false, comment: 'Failure!' }
          },
          nop: () => ({}),
        },
        { failhard: mode === 'global' },
      )
      expect(outcome.retcode).toBe(2)
      expect(byId.bad).toMatchObject({ result: false, __parallel__: true })
      // The sequential call in flight is aborted as well; its own return stands.
      expect(signals.long!.aborted && signals.blocker!.aborted).toBe(true)
      expect(byId.long).toMatchObject({ comment: 'stopped: long', __parallel__: true })
      expect(byId.blocker).toMatchObject({ comment: 'stopped: blocker' })
      expect(byId).not.toHaveProperty('later')
    }
  })

  it('SIGINT aborts the parallel states in flight; the run rejects once they have settled', async () => {
    const controller = new AbortController()
    const settled: string[] = []
    const both = barrier(2)
    const running = apply(
      `
one:
  par.wait_abort:
    - parallel: True
two:
  par.wait_abort:
    - parallel: True
`,
      {
        wait_abort: async ({ kwargs, signal }) => {
          await both.arrive()
          controller.abort(new Error('SIGINT'))
          await aborted(signal, String(kwargs.name))
          await new Promise((resolve) => setImmediate(resolve))
          settled.push(String(kwargs.name))
          throw signal.reason
        },
      },
      { signal: controller.signal },
    )
    await expect(running).rejects.toThrow('SIGINT')
    expect(settled.sort()).toEqual(['one', 'two'])
  })

  it('test=True still changes nothing: every parallel call is made in test mode', async () => {
    const meet = barrier(2)
    const modes: boolean[] = []
    const { outcome, byId } = await apply(
      `
a:
  par.change:
    - parallel: True
b:
  par.change:
    - parallel: True
    - failhard: True
`,
      {
        change: async ({ test }) => {
          modes.push(test)
          await meet.arrive()
          return test
            ? { result: null, changes: { x: { old: 1, new: 2 } }, comment: 'would change' }
            : { result: false, comment: 'changed for real' }
        },
      },
      { test: true },
    )
    expect(outcome.retcode).toBe(0)
    expect(modes).toEqual([true, true])
    expect(byId.a).toMatchObject({ result: null, comment: 'would change', __parallel__: true })
    expect(byId.b).toMatchObject({ result: null, __parallel__: true })
  })

  it('prereq: a parallel state that fails leaves its target with the test run, unchanged', async () => {
    const calls: string[] = []
    const { byId } = await apply(
      `
prepare:
  par.fail_after_test:
    - parallel: True
    - prereq:
      - target
target:
  par.target:
    - parallel: True
`,
      {
        fail_after_test: () => {
          calls.push('prepare')
          return { result: false, comment: 'Failure!' }
        },
        target: ({ test }) => {
          calls.push(`target:${test ? 'test' : 'real'}`)
          return test ? { result: null, changes: { x: 1 }, comment: 'would change' } : {}
        },
      },
    )
    expect(calls).toEqual(['target:test', 'prepare'])
    expect(byId.prepare).toMatchObject({ result: false, __parallel__: true })
    // Salt's call_chunk: the prereq check's return (no __state_ran__ key), changes cleared.
    expect(byId.target).toMatchObject({ result: null, changes: {}, comment: 'would change' })
    expect(byId.target?.__state_ran__).toBeUndefined()
  })
})

describe('parallel states from the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brine-parallel-cli-'))
  writeFileSync(
    join(dir, 'par.sls'),
    `
first:
  test.succeed_with_changes:
    - parallel: True
second:
  test.succeed_without_changes:
    - parallel: True
after:
  test.succeed_without_changes:
    - require:
      - first
`,
  )
  const env = { BRINE_CONFIG: undefined, BRINE_DEBUG: undefined }
  const brine = (args: string[], extraEnv: Record<string, string> = {}) =>
    runCli(['--file-root', dir, ...args], { env: { ...env, ...extraEnv } })

  it('prints them in run order with the usual summary, and marks them in the raw result', async () => {
    const text = await brine(['--no-color', 'state.sls', 'par'])
    expect(text.code).toBe(0)
    expect([...text.stdout.matchAll(/ID: (\w+)/g)].map((m) => m[1])).toEqual([
      'first',
      'second',
      'after',
    ])
    expect(text.stdout).toMatch(/Succeeded: 3 \(changed=1\)\nFailed: {4}0/)
    const json = await brine(['--out', 'json', 'state.sls', 'par'], {
      BRINE_STATE_MAX_PARALLEL: '1',
    })
    const result = JSON.parse(json.stdout).local as Record<string, StateReturn>
    expect(result['test_|-first_|-first_|-succeed_with_changes']).toMatchObject({
      __parallel__: true,
      __run_num__: 0,
      result: true,
    })
    expect(result['test_|-after_|-after_|-succeed_without_changes']).not.toHaveProperty(
      '__parallel__',
    )
  })

  it('refuses a bad state_max_parallel in the config file or the environment (exit 2)', async () => {
    const config = join(dir, 'bad.yaml')
    writeFileSync(config, 'state_max_parallel: -1\n')
    const badConfig = await brine(['--config', config, 'state.sls', 'par'])
    expect(badConfig.code).toBe(2)
    expect(badConfig.stderr).toMatch(/state_max_parallel must be a whole number ≥ 0/)
    const badEnv = await brine(['state.sls', 'par'], { BRINE_STATE_MAX_PARALLEL: 'many' })
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr).toMatch(/BRINE_STATE_MAX_PARALLEL must be a whole number/)
  })

  it("state.sls hands the run's abort to the state functions: failhard ends a parallel wait", async () => {
    // A state that only returns once its ctx.signal is aborted: the run below finishes only
    // if failhard reaches it through state.sls (no timing: without the abort it never ends).
    const modules = join(dir, 'mods', '_modules')
    const states = join(dir, 'mods', '_states')
    mkdirSync(modules, { recursive: true })
    mkdirSync(states, { recursive: true })
    writeFileSync(
      join(states, 'waiter.ts'),
      `import { defineFunction, defineModule, z } from 'brine/loader'
export default defineModule({
  functions: {
    until_aborted: defineFunction({
      doc: 'Wait for the run to abort this call.',
      args: { name: z.string() },
      run: (ctx, { name }) =>
        new Promise((resolve) => {
          const done = () => resolve({ name, result: false, changes: {}, comment: 'saw the abort' })
          if (ctx.signal.aborted) done()
          else ctx.signal.addEventListener('abort', done, { once: true })
        }),
    }),
  },
})
`,
    )
    writeFileSync(
      join(dir, 'abort.sls'),
      `
waiting:
  waiter.until_aborted:
    - parallel: True
failing:
  test.fail_without_changes:
    - failhard: True
`,
    )
    const run = await brine(['-m', modules, '--out', 'json', 'state.sls', 'abort'])
    const result = JSON.parse(run.stdout).local as Record<string, StateReturn>
    expect(result['test_|-failing_|-failing_|-fail_without_changes']?.result).toBe(false)
    expect(result['waiter_|-waiting_|-waiting_|-until_aborted']).toMatchObject({
      result: false,
      __parallel__: true,
    })
    expect(run.code).not.toBe(0)
  })
})
