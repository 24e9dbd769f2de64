// onlyif/unless/creates as Salt's `_run_check` (salt/state.py), the cmd states
// (salt/states/cmd.py) and the test states' `comment:` (salt/states/test.py). Salt's tests are
// named where they are restated (tests/pytests/functional/modules/state/requisites/).
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { setLogSink } from '../core/log.ts'
import type { Runtime } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import { compileHigh } from '../runner/compile.ts'
import { executeChunks } from '../runner/execute.ts'
import type { HighData, StateReturn } from '../runner/types.ts'
import { requisiteRuntime } from './helpers/local-runtime.ts'

const _root = join(import.meta.dirname, '..')
const _fixtures = join(import.meta.dirname, 'fixtures', 'requisites')
const runtimes: Runtime[] = []
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close()
})

function runtime(fixture = 'conditions', overrides: Partial<Opts> = {}) {
  const rt = requisiteRuntime(fixture, overrides)
  runtimes.push(rt)
  return rt
}

/** `state.single fun name=… kwargs` (Salt's `state.single` of the functional tests). */
async function single(fun: string, name: string, kwargs: Record<string, unknown>) {
  const result = (await runtime().call('state.single', {
    args: [fun],
    kwargs: { name, ...kwargs },
  })) as Record<string, StateReturn>
  return Object.values(result)[0]!
}

/**
 * One state run straight through the engine, sharing the runtime's `__context__` as the
 * runner's `context` option (what `state.*` hands it): the retcode rules need it.
 */
async function withContext(fun: string, name: string, kwargs: Record<string, unknown>) {
  const rt = runtime()
  const [mod, f] = fun.split('.') as [string, string]
  const high: HighData = {
    [name]: {
      __sls__: '',
      __env__: 'base',
      [mod]: [f, ...Object.entries(kwargs).map(([k, v]) => ({ [k]: v }))],
    },
  }
  const { chunks, errors } = compileHigh(high, new Map(), false)
  expect(errors).toEqual([])
  const signature = async (fn: string) => {
    const { definition } = await rt.states.getFunction(fn).catch(() => ({ definition: undefined }))
    return (
      definition && { args: Object.keys(definition.args), varargs: definition.varargs === true }
    )
  }
  const result = await executeChunks(chunks, {
    test: false,
    failhard: false,
    includes: new Map(),
    callState: (fn, kw, test, signal) => rt.call(fn, { kwargs: kw, state: true, test, signal }),
    callExec: (fn, kw, args) => rt.call(fn, { kwargs: kw, args }),
    describe: signature,
    context: rt.context,
    reloadModules: async () => {},
    reloadPillar: async () => {},
    signal: new AbortController().signal,
  })
  return { ret: Object.values(result)[0]!, context: rt.context }
}

describe('unless and onlyif with fun: (test_unless.py, test_onlyif.py)', () => {
  it('test_unless_req: unless: [{}] is ignored with a warning; test.true / test.false', async () => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    try {
      const ignored = await single('test.succeed_with_changes', 'unless test', { unless: [{}] })
      expect(ignored).toMatchObject({ result: true, comment: 'Success!' })
    } finally {
      restore()
    }
    expect(lines).toContainEqual(expect.stringContaining('no `fun` argument in unless: {}'))

    const held = await single('test.fail_with_changes', 'unless test', {
      unless: [{ fun: 'test.true' }],
    })
    expect(held).toMatchObject({ result: true, changes: {}, comment: 'unless condition is true' })
    const ran = await single('test.fail_with_changes', 'unless test', {
      unless: [{ fun: 'test.false' }],
    })
    expect(ran.result).toBe(false)
    expect(ran.comment).toBe('Failure!')
    expect(Object.keys(ran.changes).length).toBeGreaterThan(0)
    const quiet = await single('test.succeed_without_changes', 'unless test', {
      unless: [{ fun: 'test.false' }],
    })
    expect(quiet).toMatchObject({ result: true, changes: {}, comment: 'Success!' })
  })

  it('test_unless_req_retcode: the retcode in __context__ is looked at first', async () => {
    // test.retcode returns True and sets retcode 42: the unless does not hold.
    const first = await withContext('test.succeed_with_changes', 'unless test', {
      unless: [{ fun: 'test.retcode' }],
    })
    expect(first.ret).toMatchObject({ result: true, comment: 'Success!' })
    expect(Object.keys(first.ret.changes).length).toBeGreaterThan(0)
    // The condition's retcode does not become the run's.
    expect(first.context.retcode).toBeUndefined()
    const second = await withContext('test.succeed_with_changes', 'unless test', {
      unless: [{ fun: 'test.retcode', code: 0 }],
    })
    expect(second.ret).toMatchObject({
      result: true,
      changes: {},
      comment: 'unless condition is true',
    })
  })

  it('test_onlyif_req_retcode', async () => {
    const first = await withContext('test.succeed_with_changes', 'onlyif test', {
      onlyif: [{ fun: 'test.retcode' }],
    })
    expect(first.ret).toMatchObject({
      result: true,
      changes: {},
      comment: 'onlyif condition is false',
    })
    const second = await withContext('test.succeed_with_changes', 'onlyif test', {
      onlyif: [{ fun: 'test.retcode', code: 0 }],
    })
    expect(second.ret).toMatchObject({ result: true, comment: 'Success!' })
    expect(Object.keys(second.ret.changes).length).toBeGreaterThan(0)
  })

  it('a command run by cmd.run in a condition counts by its exit code (cmd sets the retcode, as Salt’s _run)', async () => {
    const failed = await withContext('test.succeed_with_changes', 'onlyif cmd', {
      onlyif: [{ fun: 'cmd.run', cmd: 'exit 3', python_shell: true }],
    })
    expect(failed.ret.comment).toBe('onlyif condition is false')
    expect(failed.context.retcode).toBeUndefined()
    const held = await withContext('test.succeed_with_changes', 'onlyif cmd', {
      onlyif: [{ fun: 'cmd.run', cmd: 'echo yes', python_shell: true }],
    })
    expect(held.ret.comment).toBe('Success!')
  })
})

describe('conditions in a state run', () => {
  it('a condition that cannot be called fails its state, and every state that ran is reported', async () => {
    const result = (await runtime().call('state.sls', { kwargs: { mods: 'requisite' } })) as Record<
      string,
      StateReturn
    >
    const byId = Object.fromEntries(Object.values(result).map((ret) => [ret.__id__, ret]))
    expect(Object.keys(byId)).toEqual([
      'broken_condition',
      'after_broken',
      'unless_no_fun',
      'get_return',
      'bad_type',
      'creates_list',
    ])
    expect(byId.broken_condition).toMatchObject({ result: false, changes: {} })
    expect(byId.broken_condition?.comment).toMatch(
      /^An exception occurred in this state: .*no_such_module\.nothing/,
    )
    expect(byId.after_broken).toMatchObject({ result: true, comment: 'Success!' })
    expect(byId.unless_no_fun).toMatchObject({ result: true, comment: 'Success!' })
    // get_return picks args:0 ('a', true): the unless holds.
    expect(byId.get_return).toMatchObject({ result: true, comment: 'unless condition is true' })
    // Salt: an onlyif entry neither a command nor a fun: "bad type passed", and the state runs.
    expect(byId.bad_type).toMatchObject({ result: true, comment: 'Success!' })
    expect(byId.creates_list).toMatchObject({ result: true, comment: 'Success!' })
  })
})

describe('cmd.script, cmd.wait_script, cmd.wait (salt/states/cmd.py)', () => {
  it('runs scripts from salt:// with the words after the name as arguments; wait states run through mod_watch', async () => {
    const result = (await runtime('cmd_script').call('state.sls', {
      kwargs: { mods: 'requisite' },
    })) as Record<string, StateReturn>
    const byId = Object.fromEntries(Object.values(result).map((ret) => [ret.__id__, ret]))
    expect(byId.run_script).toMatchObject({
      result: true,
      comment: "Command 'salt://scripts/hello.sh world' run",
      changes: { retcode: 0, stdout: 'hello world' },
    })
    expect(byId.failing_script).toMatchObject({
      result: false,
      comment: "Command 'fail-it' run",
      changes: { retcode: 4, stderr: 'failing' },
    })
    expect(byId.missing_script).toMatchObject({
      result: false,
      comment: "Unable to cache script salt://scripts/nope.sh from saltenv 'base'",
    })
    expect(byId.waits_for_change).toMatchObject({
      result: true,
      comment: "Command 'salt://scripts/hello.sh waited' run",
      changes: { stdout: 'hello waited' },
    })
    expect(byId.waits_quietly).toMatchObject({ result: true, comment: '', changes: {} })
    expect(byId.wait_cmd).toMatchObject({
      result: true,
      comment: 'Command "echo fired" run',
      changes: { stdout: 'fired' },
    })
    // cmd.run watching: it ran with changes, so mod_watch did not run again.
    expect(byId.run_watching).toMatchObject({ changes: { stdout: 'ran once' } })
    expect(byId.run_watching?.__run_num__).toBe((byId.wait_cmd?.__run_num__ ?? 0) + 1)
  })

  it('test mode: Salt’s comments, nothing runs', async () => {
    const result = (await runtime('cmd_script').call('state.sls', {
      kwargs: { mods: 'requisite', test: true },
    })) as Record<string, StateReturn>
    const byId = Object.fromEntries(Object.values(result).map((ret) => [ret.__id__, ret]))
    expect(byId.run_script).toMatchObject({
      result: null,
      comment: "Command 'salt://scripts/hello.sh world' would have been executed",
    })
    expect(byId.run_watching).toMatchObject({
      result: null,
      comment: 'Command "echo ran once" would have been executed',
    })
  })

  it('mod_watch refuses a function it cannot run', async () => {
    const ret = (await runtime().call('cmd.mod_watch', {
      state: true,
      kwargs: { name: 'x', sfun: 'call' },
    })) as StateReturn
    expect(ret).toMatchObject({
      result: false,
      comment:
        'cmd.call does not work with the watch requisite, please use cmd.wait or cmd.wait_script',
    })
  })
})

describe('test states honour comment:', () => {
  it('succeed/fail with and without changes, and test.mod_watch', async () => {
    const result = (await runtime('test_comments').call('state.sls', {
      kwargs: { mods: 'requisite' },
    })) as Record<string, StateReturn>
    const comments = Object.fromEntries(
      Object.values(result).map((ret) => [ret.__id__, ret.comment]),
    )
    expect(comments).toEqual({
      without: 'my comment',
      with: 'changed it',
      fails: 'went wrong',
      fails_with: 'went wrong, changed',
      this_state_will_return_changes: 'Success!',
      this_state_is_watching_another_state: 'This is a custom comment',
    })
    const watching = Object.values(result).find(
      (ret) => ret.__id__ === 'this_state_is_watching_another_state',
    )
    expect(watching?.changes).toEqual({
      'Requisites with changes': ['test: this_state_will_return_changes'],
    })
    // In test mode the "with changes" states say what they would do, as in Salt.
    const test = (await runtime('test_comments').call('state.sls', {
      kwargs: { mods: 'requisite', test: true },
    })) as Record<string, StateReturn>
    expect(Object.values(test).find((ret) => ret.__id__ === 'with')?.comment).toBe(
      "If we weren't testing, this would be successful with changes",
    )
  })
})
