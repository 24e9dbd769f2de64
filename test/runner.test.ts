import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import type { StateReturn } from '../runner/types.ts'

const root = join(import.meta.dirname, '..')
const statesRoot = join(import.meta.dirname, 'fixtures', 'states')

function runtime(overrides: Partial<Opts> = {}, pillar: Record<string, unknown> = {}) {
  return new Runtime({
    opts: defaultOpts({
      id: 'web01',
      file_roots: [statesRoot],
      pillar_roots: [],
      ...overrides,
    }),
    pillar,
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
  })
}

type ById = Record<string, StateReturn & { tag: string }>

/** Run `state.<fun>` and index the returns by ID (listeners by `listener_<id>`). */
async function apply(
  fun: string,
  kwargs: Record<string, unknown>,
  options: { pillar?: Record<string, unknown>; opts?: Partial<Opts> } = {},
) {
  const rt = runtime(options.opts, options.pillar)
  try {
    const result = (await rt.call(`state.${fun}`, { kwargs })) as
      | Record<string, StateReturn>
      | string[]
    const retcode = rt.context.retcode ?? 0
    if (Array.isArray(result))
      return { errors: result, byId: {} as ById, order: [] as string[], retcode }
    const byId: ById = {}
    for (const [tag, ret] of Object.entries(result)) byId[String(ret.__id__)] = { ...ret, tag }
    const order = Object.values(byId)
      .sort((a, b) => (a.__run_num__ ?? 0) - (b.__run_num__ ?? 0))
      .map((ret) => String(ret.__id__))
    return { errors: [] as string[], byId, order, retcode }
  } finally {
    await rt.close()
  }
}

const brief = (ret: StateReturn | undefined) =>
  ret && { result: ret.result, comment: ret.comment, ran: ret.__state_ran__ !== false }
/** onlyif/unless/creates said no (Salt's `_run_check`): True, skip_watch, no `__state_ran__`. */
const skipped = (ret: StateReturn | undefined) =>
  ret && {
    result: ret.result,
    comment: ret.comment,
    skip_watch: ret.skip_watch,
    ran: ret.__state_ran__,
  }

describe('requisites', () => {
  it('evaluates every requisite kind with Salt’s results and comments', async () => {
    const { byId, retcode } = await apply('sls', { mods: 'requisites' })
    expect(retcode).toBe(2)
    expect(brief(byId.require_ok)).toEqual({ result: true, comment: 'Success!', ran: true })
    expect(brief(byId.require_failed)).toEqual({
      result: false,
      comment: 'One or more requisite failed: requisites.fails',
      ran: false,
    })
    expect(brief(byId.require_any_ok)?.result).toBe(true)
    // watch: the watched state changed and the watcher made no changes, so mod_watch ran.
    expect(byId.watch_fires).toMatchObject({
      result: true,
      comment: 'Watch statement fired.',
      changes: { 'Requisites with changes': ['test: changes'] },
    })
    expect(brief(byId.watch_quiet)).toEqual({ result: true, comment: 'Success!', ran: true })
    expect(brief(byId.watch_any_failed)).toEqual({
      result: false,
      comment: 'One or more requisite failed: requisites.fails',
      ran: false,
    })
    expect(brief(byId.onchanges_met)).toEqual({ result: true, comment: 'Success!', ran: true })
    expect(brief(byId.onchanges_not_met)).toEqual({
      result: true,
      comment: 'State was not run because none of the onchanges reqs changed',
      ran: false,
    })
    // Salt 3006/3007: a failed onchanges target fails the state (documented choice).
    expect(brief(byId.onchanges_failed_target)).toEqual({
      result: false,
      comment: 'One or more requisite failed: requisites.fails',
      ran: false,
    })
    expect(brief(byId.onchanges_any_met)?.ran).toBe(true)
    expect(byId.onfail_met).toMatchObject({ result: true, comment: 'Success!' })
    expect(brief(byId.onfail_not_met)).toEqual({
      result: true,
      comment: 'State was not run because onfail req did not change',
      ran: false,
    })
    expect(brief(byId.onfail_all_not_met)?.ran).toBe(false)
    expect(brief(byId.onfail_all_met)?.ran).toBe(true)
    expect(brief(byId.by_name)?.ran).toBe(true)
    expect(brief(byId.by_glob)?.ran).toBe(true)
    expect(brief(byId.by_sls)?.ran).toBe(true)
    // _in forms
    expect(byId.reverse_target).toMatchObject({ comment: 'Watch statement fired.' })
    expect(byId.reverse_required!.__run_num__!).toBeGreaterThan(byId.reverse_source!.__run_num__!)
    expect(brief(byId.onchanges_in_target)?.ran).toBe(true)
    expect(brief(byId.onfail_in_target)?.ran).toBe(true)
  })

  it('orders by requisites: required and by_sls targets run first', async () => {
    const { order } = await apply('sls', { mods: 'requisites' })
    expect(order.indexOf('helper')).toBeLessThan(order.indexOf('by_sls'))
    expect(order.indexOf('named')).toBeLessThan(order.indexOf('by_name'))
    expect(order.indexOf('changes')).toBeLessThan(order.indexOf('require_ok'))
  })

  it('prereq: the target is tried in test mode first', async () => {
    const { byId, order } = await apply('sls', { mods: 'prereq' })
    expect(order.indexOf('before_change')).toBeLessThan(order.indexOf('would_change'))
    expect(byId.before_change).toMatchObject({ result: true, comment: 'Success!' })
    expect(byId.would_change).toMatchObject({ result: true, comment: 'Success!' })
    expect(brief(byId.before_steady)).toEqual({
      result: true,
      comment: 'No changes detected',
      ran: false,
    })
    expect(byId.prereq_fails).toMatchObject({ result: false })
    // The failed prereq leaves its target with its test-mode return and no changes.
    expect(byId.guarded).toMatchObject({
      result: null,
      changes: {},
      comment: "If we weren't testing, this would be successful with changes",
    })
    expect(order.indexOf('reverse_target')).toBeLessThan(order.indexOf('reverse_source'))
    expect(byId.reverse_target).toMatchObject({ result: true, comment: 'Success!' })
  })

  it('use copies arguments; listen runs mod_watch at the end of the run', async () => {
    const { byId, order } = await apply('sls', { mods: 'use_listen' })
    expect(byId.borrower).toMatchObject({ comment: 'from the base', changes: {} })
    expect(byId.overrider).toMatchObject({ comment: 'my own comment', changes: {} })
    expect(byId.listener_listener).toMatchObject({
      result: true,
      comment: 'Watch statement fired.',
      tag: 'test_|-listener_listener_|-listener_|-mod_watch',
    })
    expect(byId.listener_listen_in_target).toMatchObject({ comment: 'Watch statement fired.' })
    // Listening does not reorder: listeners' mod_watch come after every state.
    expect(order.slice(-2).sort()).toEqual(['listener_listen_in_target', 'listener_listener'])
    expect(order.indexOf('last_plain')).toBeLessThan(order.indexOf('listener_listener'))
  })
})

describe('ordering, names, extend, failhard', () => {
  it('runs included files first, then file order, with order: numbers, first, last and negatives', async () => {
    const { order } = await apply('sls', { mods: 'order' })
    expect(order).toEqual([
      'c_first',
      'g_required_early', // required by h_requires (order: 1): inherits its early position
      'h_requires',
      'b_numbered_late',
      'helper', // included: auto-numbered before this file's states
      'a_file_first',
      'f_file_second',
      'e_negative',
      'd_last',
    ])
  })

  it('expands names into one state each, with per-name overrides, and fails a state given an unknown argument', async () => {
    const rt = runtime()
    const result = (await rt.call('state.sls', { kwargs: { mods: 'names' } })) as Record<
      string,
      StateReturn
    >
    await rt.close()
    expect(Object.keys(result)).toEqual([
      'test_|-pkgs_|-one_|-show_notification',
      'test_|-pkgs_|-two_|-show_notification',
      'test_|-pkgs_|-three_|-show_notification',
      'test_|-unknown_arg_|-unknown_arg_|-show_notification',
    ])
    expect(Object.values(result).map((ret) => ret.comment)).toEqual([
      'default text',
      'custom text',
      'default text',
      // Salt warns and drops the argument; brine refuses it (README: differences from Salt).
      "unknown argument 'colour' for 'test.show_notification'. Arguments: name, text. Nothing was run.",
    ])
    expect(result['test_|-unknown_arg_|-unknown_arg_|-show_notification']).toMatchObject({
      result: false,
      changes: {},
    })
  })

  it('extend replaces arguments and appends requisites', async () => {
    const { byId, order } = await apply('sls', { mods: 'extend' })
    expect(byId.target).toMatchObject({ comment: 'extended comment', changes: {} })
    expect(order.indexOf('extra_req')).toBeLessThan(order.indexOf('target'))
  })

  it('failhard stops the run after a failure (and not in test mode)', async () => {
    const hard = await apply('sls', { mods: 'failhard' })
    expect(hard.order).toEqual(['one', 'two'])
    const test = await apply('sls', { mods: 'failhard', test: true })
    expect(test.order).toEqual(['one', 'two', 'three'])
    const global = await apply('sls', { mods: 'requisites' }, { opts: { failhard: true } })
    expect(global.order.at(-1)).toBe('fails')
  })
})

describe('conditions and built-in states', () => {
  it('honours onlyif, unless, creates and retry', async () => {
    const { byId } = await apply('sls', { mods: 'conditions' })
    expect(skipped(byId.onlyif_false)).toEqual({
      result: true,
      comment: 'onlyif condition is false',
      skip_watch: true,
      ran: undefined,
    })
    expect(byId.onlyif_true).toMatchObject({ result: true, comment: 'Success!' })
    expect(skipped(byId.unless_true)).toEqual({
      result: true,
      comment: 'unless condition is true',
      skip_watch: true,
      ran: undefined,
    })
    expect(byId.unless_false?.comment).toBe('Success!')
    // Salt: a single path says "<path> exists"; a list "All files in creates exist".
    expect(skipped(byId.creates_exists)).toEqual({
      result: true,
      comment: '/ exists',
      skip_watch: true,
      ran: undefined,
    })
    expect(byId.retried?.result).toBe(false)
    expect(byId.retried?.comment.match(/Attempt \d/g)).toEqual(['Attempt 2', 'Attempt 3'])
  })

  it('cmd.run (creates, unless, cwd, env, stateful, watch) and module.run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-cmd-state-'))
    const first = await apply('sls', { mods: 'cmd' }, { pillar: { workdir: dir } })
    expect(first.byId.make_file).toMatchObject({
      result: true,
      comment: 'Command "echo made > made.txt && echo "$GREETING"" run',
    })
    expect(first.byId.make_file?.changes.stdout).toBe('hello from env')
    expect(readFileSync(join(dir, 'made.txt'), 'utf8')).toBe('made\n')
    expect(skipped(first.byId.skip_unless)).toEqual({
      result: true,
      comment: 'unless condition is true',
      skip_watch: true,
      ran: undefined,
    })
    expect(first.byId.stateful).toMatchObject({
      result: true,
      comment: 'nothing to do',
      changes: {},
    })
    // Salt's comment for a command that ran and failed (salt/states/cmd.py, run).
    expect(first.byId.failing_cmd).toMatchObject({
      result: false,
      comment: 'Command "exit 3" run',
      changes: { retcode: 3 },
    })
    expect(first.byId.call_module).toMatchObject({
      result: true,
      changes: {
        'test.echo': { ret: 'from module.run' },
        'test.arg': { ret: { args: [1], kwargs: { k: 'v' } } },
      },
    })
    expect(first.retcode).toBe(2)
    const second = await apply('sls', { mods: 'cmd' }, { pillar: { workdir: dir } })
    expect(skipped(second.byId.make_file)).toEqual({
      result: true,
      comment: `${dir}/made.txt exists`,
      skip_watch: true,
      ran: undefined,
    })
  })

  it('test mode: every built-in state predicts, nothing changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-cmd-test-'))
    const { byId, retcode } = await apply(
      'sls',
      { mods: 'cmd', test: true },
      { pillar: { workdir: dir } },
    )
    expect(byId.make_file).toMatchObject({
      result: null,
      comment: 'Command "echo made > made.txt && echo "$GREETING"" would have been executed',
    })
    expect(() => readFileSync(join(dir, 'made.txt'))).toThrow()
    expect(byId.call_module).toMatchObject({
      result: null,
      comment: 'Functions test.echo, test.arg to be executed.',
    })
    expect(retcode).toBe(0)

    const rt = runtime({ test: true })
    const single = async (fun: string, kwargs: Record<string, unknown> = {}) =>
      Object.values(
        (await rt.call('state.single', {
          args: [fun],
          kwargs: { name: 'x', ...kwargs },
        })) as Record<string, StateReturn>,
      )[0]
    expect(await single('test.succeed_with_changes')).toMatchObject({
      result: null,
      comment: "If we weren't testing, this would be successful with changes",
    })
    expect(await single('test.fail_with_changes')).toMatchObject({
      result: null,
      comment: "If we weren't testing, this would be failed with changes",
    })
    expect(await single('test.fail_without_changes')).toMatchObject({
      result: false,
      comment: "If we weren't testing, this would be a failure!",
    })
    expect(await single('test.succeed_without_changes')).toMatchObject({
      result: true,
      comment: 'Success!',
    })
    expect(await single('test.nop')).toMatchObject({ result: true, comment: 'Success!' })
    expect(
      await single('test.configurable_test_state', { changes: true, result: false }),
    ).toMatchObject({ result: null, comment: 'This is a test' })
    expect(await single('test.configurable_test_state', { changes: false })).toMatchObject({
      result: true,
    })
    expect(await single('test.show_notification', { text: 'hello' })).toMatchObject({
      result: true,
      comment: 'hello',
    })
    await rt.close()
  })

  it('state.single in normal mode, with Salt’s tag and __sls__ None', async () => {
    const rt = runtime()
    const result = (await rt.call('state.single', {
      args: ['test.succeed_with_changes'],
      kwargs: { name: 'foo' },
    })) as Record<string, StateReturn>
    expect(Object.keys(result)).toEqual(['test_|-foo_|-foo_|-succeed_with_changes'])
    expect(Object.values(result)[0]).toMatchObject({
      result: true,
      comment: 'Success!',
      __sls__: null,
      __run_num__: 0,
      changes: { testing: { old: 'Unchanged', new: 'Something pretended to change' } },
    })
    expect(Object.values(result)[0]?.start_time).toMatch(/^\d\d:\d\d:\d\d\.\d{6}$/)
    await rt.call('state.single', { args: ['test.fail_without_changes'], kwargs: { name: 'bar' } })
    expect(rt.context.retcode).toBe(2)
    await rt.close()
  })
})

describe('compile errors: nothing runs', () => {
  const compileErrors = async (mods: string) => {
    const { errors, retcode, order } = await apply('sls', { mods })
    expect(order).toEqual([])
    expect(retcode).toBe(1)
    return errors
  }

  it('names the states in a cycle', async () => {
    // Salt's wording (main branch, networkx's find_cycle): each edge as (waiting, kind, waited for).
    expect(await compileErrors('errors.cycle')).toEqual([
      "Recursive requisites were found: ({'SLS': 'errors.cycle', 'ID': 'c'}, 'require', {'SLS': 'errors.cycle', 'ID': 'a'}), ({'SLS': 'errors.cycle', 'ID': 'b'}, 'require', {'SLS': 'errors.cycle', 'ID': 'c'}), ({'SLS': 'errors.cycle', 'ID': 'a'}, 'require', {'SLS': 'errors.cycle', 'ID': 'b'})",
    ])
  })

  it('names a missing requisite target', async () => {
    expect(await compileErrors('errors.missing')).toEqual([
      'Referenced state does not exist for requisite [require: (test: z)] in state [g] in SLS [errors.missing]',
    ])
  })

  it('rejects conflicting IDs, dotted requisites, non-list requisites', async () => {
    expect((await compileErrors('errors.conflict_a'))[0]).toBe(
      "Detected conflicting IDs, SLS IDs need to be globally unique.\n    The conflicting ID is 'same_id' and is found in SLS 'base:errors.conflict_b' and SLS 'base:errors.conflict_a'",
    )
    // Salt's _verify_high wording.
    expect(await compileErrors('errors.dotted')).toEqual([
      "Invalid requisite type 'test.nop' in state 'b', in SLS 'errors.dotted'. Requisite types must not contain dots, did you mean 'test'?",
    ])
    expect(await compileErrors('errors.notlist')).toEqual([
      "The require statement in state 'b' in SLS 'errors.notlist' needs to be formed as a list",
    ])
  })

  it('locates YAML and Jinja errors, and explains unknown state functions with the loader’s reason', async () => {
    expect((await compileErrors('errors.badyaml'))[0]).toMatch(
      /^Rendering SLS 'base:errors.badyaml' failed \(yaml, line 4\): Flow sequence .*badyaml\.sls/,
    )
    expect((await compileErrors('errors.undefined'))[0]).toMatch(
      /^Rendering SLS 'base:errors.undefined' failed \(jinja, line 3\): .*no_such_variable/,
    )
    const unknown = await compileErrors('errors.unknownfun')
    expect(unknown).toEqual([
      "State 'test.no_such_function' was not found in SLS 'errors.unknownfun'\nReason: 'test.no_such_function' is not available.",
      "State 'nosuchmod.run' was not found in SLS 'errors.unknownfun'\nReason: 'nosuchmod.run' is not available.",
    ])
    expect(await compileErrors('nonexistent')).toEqual([
      "No matching sls found for 'nonexistent' in env 'base'",
    ])
  })

  it('reports pillar failures with retcode 5 before anything runs', async () => {
    const { errors, retcode } = await apply(
      'sls',
      { mods: 'names' },
      { pillar: { _errors: ["Rendering SLS 'x' failed"] } },
    )
    expect(errors).toEqual([
      'Pillar failed to render with the following messages:',
      "Rendering SLS 'x' failed",
    ])
    expect(retcode).toBe(5)
  })
})

describe('highstate and introspection', () => {
  it('applies top.sls for the minion id; show_top, show_sls, show_lowstate', async () => {
    const { order } = await apply('apply', {})
    expect(order).toContain('pkgs')
    expect(order).toContain('c_first')
    const rt = runtime({ id: 'db01' })
    expect(await rt.call('state.show_top')).toEqual({ base: ['order'] })
    const high = (await rt.call('state.show_sls', { args: ['names'] })) as Record<string, unknown>
    expect(high.pkgs).toEqual({
      __sls__: 'names',
      __env__: 'base',
      test: [
        'show_notification',
        { text: 'default text' },
        { names: ['one', { two: [{ text: 'custom text' }] }, 'three'] },
        { order: 10001 },
      ],
    })
    const low = (await rt.call('state.show_lowstate', { args: ['failhard'] })) as Array<
      Record<string, unknown>
    >
    expect(low.map((chunk) => [chunk.__id__, chunk.fun, chunk.order])).toEqual([
      ['one', 'nop', 10001],
      ['two', 'fail_without_changes', 10002],
      ['three', 'nop', 10003],
    ])
    expect(low[1]).toMatchObject({
      state: 'test',
      name: 'two',
      __sls__: 'failhard',
      __env__: 'base',
      failhard: true,
    })
    await rt.close()
  })
})
