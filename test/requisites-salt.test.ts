// Salt's own requisite tests, restated: each SLS is Salt's (a file under
// test/fixtures/requisites/<case>/requisite.sls, so the SLS is named 'requisite' as in Salt),
// each expectation is Salt's, and each case names the Salt test it comes from
// (saltstack/salt, tests/pytests/functional/modules/state/requisites/, main branch).
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StateReturn } from '../runner/types.ts'
import { requisiteRuntime } from './helpers/local-runtime.ts'

const _root = join(import.meta.dirname, '..')
const _fixtures = join(import.meta.dirname, 'fixtures', 'requisites')

const runtime = requisiteRuntime

type Raw = Record<string, StateReturn>

/** `state.sls requisite` in the fixture's tree: the raw return (or the compile errors). */
async function sls(fixture: string, kwargs: Record<string, unknown> = {}) {
  const rt = runtime(fixture)
  try {
    const raw = (await rt.call('state.sls', { kwargs: { mods: 'requisite', ...kwargs } })) as
      | Raw
      | string[]
    return { raw, retcode: rt.context.retcode ?? 0 }
  } finally {
    await rt.close()
  }
}

async function run(fixture: string): Promise<Raw> {
  const { raw } = await sls(fixture)
  if (Array.isArray(raw)) throw new Error(`compile errors: ${raw.join('\n')}`)
  return raw
}

async function errors(fixture: string): Promise<string[]> {
  const { raw, retcode } = await sls(fixture)
  expect(retcode).toBe(1)
  if (!Array.isArray(raw)) throw new Error(`no compile error: ${JSON.stringify(raw)}`)
  return raw
}

/** Salt's `normalize_ret` (requisites/__init__.py): run number, comment, result, changed. */
function normalize(raw: Raw) {
  return Object.fromEntries(
    Object.entries(raw).map(([tag, ret]) => [
      tag,
      {
        __run_num__: ret.__run_num__,
        comment: ret.comment,
        result: ret.result,
        changes: Object.keys(ret.changes).length > 0,
      },
    ]),
  )
}

const ran = (num: number, comment: string, result: boolean | null = true, changes = true) => ({
  __run_num__: num,
  comment,
  result,
  changes,
})
const cmd = (num: number, line: string, result = true) =>
  ran(num, `Command "${line}" run`, result, true)

describe('prereq (test_prereq.py)', () => {
  it('test_requisites_full_sls_prereq', async () => {
    expect(normalize(await run('prereq_full_sls'))).toEqual({
      'cmd_|-A_|-echo A_|-run': cmd(0, 'echo A'),
      'cmd_|-B_|-echo B_|-run': cmd(1, 'echo B'),
      'cmd_|-C_|-echo C_|-run': cmd(2, 'echo C'),
    })
  })

  it('test_requisites_prereq_simple_ordering_and_errors_1: fires on the test run’s result None', async () => {
    expect(normalize(await run('prereq_ordering_1'))).toEqual({
      'cmd_|-A_|-echo A third_|-run': cmd(2, 'echo A third'),
      'cmd_|-B_|-echo B first_|-run': cmd(0, 'echo B first'),
      'cmd_|-C_|-echo C second_|-run': cmd(1, 'echo C second'),
      'test_|-I_|-echo I_|-fail_without_changes': ran(3, 'Failure!', false, false),
      'test_|-J_|-echo J_|-fail_without_changes': ran(4, 'Failure!', false, false),
    })
  })

  it('test_requisites_prereq_simple_ordering_and_errors_2', async () => {
    expect(await errors('prereq_ordering_2')).toEqual([
      "The prereq statement in state 'B' in SLS 'requisite' needs to be formed as a list",
    ])
  })

  it('test_requisites_prereq_simple_ordering_and_errors_3', async () => {
    expect(normalize(await run('prereq_ordering_3'))).toEqual({
      'cmd_|-A_|-echo A third_|-run': cmd(2, 'echo A third'),
      'cmd_|-B_|-echo B first_|-run': cmd(0, 'echo B first'),
      'cmd_|-C_|-echo C second_|-run': cmd(1, 'echo C second'),
      'test_|-I_|-echo I_|-fail_without_changes': ran(3, 'Failure!', false, false),
    })
  })

  it('test_requisites_prereq_simple_ordering_and_errors_4', async () => {
    expect(normalize(await run('prereq_ordering_4'))).toEqual({
      'cmd_|-A_|-echo A_|-run': cmd(1, 'echo A'),
      'cmd_|-B_|-echo B_|-run': cmd(2, 'echo B'),
      'cmd_|-C_|-echo C_|-run': cmd(0, 'echo C'),
      'cmd_|-D_|-echo D_|-run': cmd(3, 'echo D'),
      'cmd_|-E_|-echo E_|-run': cmd(4, 'echo E'),
    })
  })

  it('test_requisites_prereq_simple_ordering_and_errors_5: a cmd.wait target would not change', async () => {
    expect(normalize(await run('prereq_ordering_5'))).toEqual({
      'cmd_|-A_|-echo A first_|-run': cmd(0, 'echo A first'),
      'cmd_|-B_|-echo B second_|-run': cmd(1, 'echo B second'),
      'cmd_|-C_|-echo C third_|-wait': ran(2, '', true, false),
    })
  })

  it('test_requisites_prereq_simple_ordering_and_errors_6 (issue #8211)', async () => {
    expect(normalize(await run('prereq_ordering_6'))).toEqual({
      'cmd_|-A_|-echo A fourth_|-run': cmd(3, 'echo A fourth'),
      'cmd_|-B_|-echo B first_|-run': cmd(1, 'echo B first'),
      'cmd_|-C_|-echo C second_|-run': cmd(2, 'echo C second'),
      'cmd_|-D_|-echo D third_|-run': cmd(0, 'echo D third'),
    })
  })

  it('test_requisites_prereq_simple_ordering_and_errors_7/8: the state is named by its name', async () => {
    expect(await errors('prereq_ordering_7')).toEqual([
      'Referenced state does not exist for requisite [prereq: (cmd: Z)] in state [echo I] in SLS [requisite]',
    ])
    expect(await errors('prereq_ordering_8')).toEqual([
      'Referenced state does not exist for requisite [prereq: (foobar: A)] in state [echo B] in SLS [requisite]',
    ])
  })

  it('test_requisites_prereq_simple_ordering_and_errors_10 and test_requisites_prereq_in_simple_ordering_and_errors', async () => {
    const message =
      "Recursive requisites were found: ({'SLS': 'requisite', 'ID': 'B', 'NAME': 'echo B'}, " +
      "'prereq', {'SLS': 'requisite', 'ID': 'A', 'NAME': 'echo A'}), " +
      "({'SLS': 'requisite', 'ID': 'A', 'NAME': 'echo A'}, " +
      "'prereq', {'SLS': 'requisite', 'ID': 'B', 'NAME': 'echo B'})"
    expect(await errors('prereq_ordering_10')).toEqual([message])
    expect(await errors('prereq_in_recursion')).toEqual([message])
  })

  it('test_infinite_recursion_sls_prereq and test_infinite_recursion_prereq2', async () => {
    for (const fixture of ['prereq_sls_recursion', 'prereq_recursion_2']) {
      const raw = await run(fixture)
      expect(Object.keys(raw).length).toBeGreaterThan(0)
      for (const ret of Object.values(raw)) expect(ret.result).toBe(true)
    }
    // The prereq'd B is tried in test mode after D (its own requisite): it would not change.
    const raw = await run('prereq_recursion_2')
    expect(raw['test_|-A_|-A_|-nop']).toMatchObject({ comment: 'No changes detected' })
    expect(Object.values(raw).map((ret) => ret.__id__)).toEqual(['D', 'A', 'B', 'C'])
  })

  it('test_requisites_prereq_fail_in_prereq: the target keeps its test run, without changes', async () => {
    const raw = await run('prereq_fail_in_prereq')
    expect(raw['test_|-State A_|-fail_|-configurable_test_state']).toMatchObject({
      result: null,
      changes: {},
    })
    expect(raw['test_|-State B_|-State B_|-configurable_test_state']?.result).toBe(false)
    expect(raw['test_|-State C_|-State C_|-nop']).toMatchObject({
      result: true,
      __state_ran__: false,
      comment: 'State was not run because none of the onchanges reqs changed',
    })
  })
})

describe('mixed (test_mixed.py)', () => {
  it('test_requisites_mixed_require_prereq_use_1', async () => {
    expect(normalize(await run('mixed_1'))).toEqual({
      'cmd_|-A_|-echo A_|-run': cmd(2, 'echo A'),
      'cmd_|-B_|-echo B_|-run': cmd(1, 'echo B'),
      'cmd_|-C_|-echo C_|-run': cmd(0, 'echo C'),
    })
  })

  it('test_issue_46762_prereqs_on_a_state_with_unfulfilled_requirements', async () => {
    const raw = await run('mixed_46762')
    expect(raw['test_|-a_|-a_|-fail_without_changes']).toMatchObject({
      result: false,
      comment: 'Failure!',
    })
    expect(raw['test_|-b_|-b_|-nop']).toMatchObject({
      result: false,
      comment: 'One or more requisite failed: requisite.c',
    })
    expect(raw['test_|-c_|-c_|-nop']).toMatchObject({
      result: false,
      comment: 'One or more requisite failed: requisite.a',
    })
  })

  it('test_issue_30161_unless_and_onlyif_together (test states instead of file.managed)', async () => {
    const raw = await run('mixed_30161')
    const comment = (id: string) => Object.values(raw).find((ret) => ret.__id__ === id)?.comment
    for (const ret of Object.values(raw)) expect(ret.result).toBe(true)
    expect(comment('unless_false_onlyif_false')).toBe(
      'onlyif condition is false\nunless condition is false',
    )
    // Salt's file.managed says "Empty file" here: the state ran.
    expect(comment('unless_false_onlyif_true')).toBe('Success!')
    expect(comment('unless_true_onlyif_false')).toBe(
      'onlyif condition is false\nunless condition is true',
    )
    expect(comment('unless_true_onlyif_true')).toBe(
      'onlyif condition is true\nunless condition is true',
    )
    const skipped = Object.values(raw).find((ret) => ret.__id__ === 'unless_true_onlyif_true')
    expect(skipped).toMatchObject({ skip_watch: true, changes: {} })
  })
})

describe('require (test_require.py)', () => {
  it('test_requisites_full_sls_require', async () => {
    expect(normalize(await run('require_full_sls'))).toEqual({
      'cmd_|-A_|-echo A_|-run': cmd(2, 'echo A'),
      'cmd_|-B_|-echo B_|-run': cmd(0, 'echo B'),
      'cmd_|-C_|-echo C_|-run': cmd(1, 'echo C'),
    })
  })

  it('test_requisites_require_no_state_module and _ordering_and_errors_1: every missing reference', async () => {
    expect(await errors('require_no_state_module')).toEqual([
      'Referenced state does not exist for requisite [require: (id: Z)] in state [echo G] in SLS [requisite]',
      'Referenced state does not exist for requisite [require: (id: Z)] in state [echo H] in SLS [requisite]',
    ])
    expect(await errors('require_errors_1')).toEqual([
      'Referenced state does not exist for requisite [require: (foobar: A)] in state [echo F] in SLS [requisite]',
      'Referenced state does not exist for requisite [require: (cmd: Z)] in state [echo G] in SLS [requisite]',
      'Referenced state does not exist for requisite [require: (cmd: Z)] in state [echo H] in SLS [requisite]',
    ])
  })

  it('test_requisites_require_ordering_and_errors_2/3: the whole "Cannot extend ID" hint', async () => {
    const hint = (id: string) =>
      `Cannot extend ID '${id}' in 'base:requisite'. It is not part of the high state.\n` +
      'This is likely due to a missing include statement or an incorrectly typed ID.\n' +
      `Ensure that a state with an ID of '${id}' is available\nin environment 'base' and to SLS 'requisite'`
    expect(await errors('require_errors_2')).toEqual([hint('W')])
    expect(await errors('require_errors_3')).toEqual([hint('A')])
  })

  it('test_requisites_require_ordering_and_errors_4/5', async () => {
    expect(await errors('require_errors_4')).toEqual([
      "The require statement in state 'B' in SLS 'requisite' needs to be formed as a list",
    ])
    expect(await errors('require_errors_5')).toEqual([
      "Recursive requisites were found: ({'SLS': 'requisite', 'ID': 'B', 'NAME': 'echo B'}, " +
        "'require', {'SLS': 'requisite', 'ID': 'A', 'NAME': 'echo A'}), " +
        "({'SLS': 'requisite', 'ID': 'A', 'NAME': 'echo A'}, 'require', " +
        "{'SLS': 'requisite', 'ID': 'B', 'NAME': 'echo B'})",
    ])
  })

  it('dotted _in references and multi-key declarations, in Salt’s words (salt/state.py requisite_in, _verify_high)', async () => {
    expect(await errors('dotted_in')).toEqual([
      "Invalid requisite in require: test.nop for B, in SLS 'requisite'. Requisites must not contain dots, did you mean 'test'?",
    ])
    expect(await errors('multi_key')).toEqual([
      "Requisite declaration {'test': 'A', 'cmd': 'A'} in state B in SLS requisite is not formed as a single key dictionary",
    ])
  })

  it('a state requiring itself is a recursion; an sls: reference leaves the state itself out (brine)', async () => {
    expect(await errors('self_require')).toEqual([
      "Recursive requisites were found: ({'SLS': 'requisite', 'ID': 'A'}, 'require', {'SLS': 'requisite', 'ID': 'A'})",
    ])
  })

  it('test_requisites_require_with_order_first_last', async () => {
    const success = (num: number) => ran(num, 'Success!')
    expect(normalize(await run('require_first_last'))).toEqual({
      'test_|-B_|-B_|-succeed_with_changes': success(0),
      'test_|-A_|-A_|-succeed_with_changes': success(1),
      'test_|-D_|-D_|-succeed_with_changes': success(2),
      'test_|-E_|-E_|-succeed_with_changes': success(3),
      'test_|-C_|-C_|-succeed_with_changes': success(4),
    })
  })

  it('test_requisites_require_any and test_requisites_require_any_fail', async () => {
    expect(normalize(await run('require_any'))).toEqual({
      'cmd_|-A_|-echo A_|-run': cmd(3, 'echo A'),
      'cmd_|-B_|-echo B_|-run': cmd(0, 'echo B'),
      'cmd_|-C_|-$(which false)_|-run': cmd(1, '$(which false)', false),
      'cmd_|-D_|-echo D_|-run': cmd(2, 'echo D'),
    })
    const raw = await run('require_any_fail')
    expect(raw['cmd_|-D_|-echo D_|-run']?.comment).toContain('One or more requisite failed')
  })

  it('test_issue_38683_require_order_failhard_combination', async () => {
    const raw = await run('require_38683')
    expect(raw['test_|-b_|-b_|-fail_with_changes']).toMatchObject({
      result: false,
      comment: 'Failure!',
    })
  })

  it('test_issue_59922_conflict_in_name_and_id_for_require_in', async () => {
    expect(normalize(await run('require_59922'))).toEqual({
      'cmd_|-A_|-echo A_|-run': cmd(2, 'echo A'),
      'test_|-X_|-A_|-succeed_without_changes': ran(1, 'Success!', true, false),
      'cmd_|-B_|-echo B_|-run': cmd(0, 'echo B'),
    })
  })

  it('test_issue_61121_extend_is_to_strict', async () => {
    expect(normalize(await run('extend_61121'))).toEqual({
      'test_|-A_|-a_|-succeed_without_changes': ran(0, 'Success!', true, false),
      'cmd_|-A_|-echo A_|-run': cmd(1, 'echo A'),
    })
  })

  it('a require_in glob or bare ID that matches nothing is not an error', async () => {
    const raw = await run('require_in_glob')
    expect(Object.values(raw).map((ret) => [ret.__id__, ret.result])).toEqual([
      ['A', true],
      ['B', true],
      ['target_1', true],
      ['target_2', true],
    ])
  })
})

describe('onchanges (test_onchanges.py)', () => {
  it('test_requisites_onchanges_any (test.succeed_without_changes honours comment:)', async () => {
    expect(normalize(await run('onchanges_any'))).toEqual({
      'cmd_|-another_changing_state_|-echo "Changed!"_|-run': cmd(1, 'echo "Changed!"'),
      'cmd_|-changing_state_|-echo "Changed!"_|-run': cmd(0, 'echo "Changed!"'),
      'cmd_|-test_one_changing_states_|-echo "Success!"_|-run': cmd(4, 'echo "Success!"'),
      'cmd_|-test_two_non_changing_states_|-echo "Should not run"_|-run': ran(
        5,
        'State was not run because none of the onchanges reqs changed',
        true,
        false,
      ),
      'test_|-another_non_changing_state_|-another_non_changing_state_|-succeed_without_changes':
        ran(3, 'another_non_changing_state not changed', true, false),
      'test_|-non_changing_state_|-non_changing_state_|-succeed_without_changes': ran(
        2,
        'non_changing_state not changed',
        true,
        false,
      ),
    })
  })

  it('test_onchanges_requisite_multiple', async () => {
    const raw = await run('onchanges_multiple')
    expect(raw['cmd_|-test_two_changing_states_|-echo "Success!"_|-run']?.comment).toBe(
      'Command "echo "Success!"" run',
    )
    expect(raw['cmd_|-test_two_non_changing_states_|-echo "Should not run"_|-run']?.comment).toBe(
      'State was not run because none of the onchanges reqs changed',
    )
    expect(raw['cmd_|-test_one_changing_state_|-echo "Success!"_|-run']?.comment).toBe(
      'Command "echo "Success!"" run',
    )
  })
})

describe('onfail (test_onfail.py)', () => {
  it('test_requisites_onfail_any', async () => {
    const skip = 'State was not run because onfail req did not change'
    expect(normalize(await run('onfail_any'))).toEqual({
      'cmd_|-a_|-exit 0_|-run': cmd(0, 'exit 0'),
      'cmd_|-b_|-exit 1_|-run': cmd(1, 'exit 1', false),
      'cmd_|-c_|-exit 0_|-run': cmd(2, 'exit 0'),
      'cmd_|-d_|-echo itworked_|-run': cmd(3, 'echo itworked'),
      'cmd_|-e_|-exit 0_|-run': cmd(4, 'exit 0'),
      'cmd_|-f_|-exit 0_|-run': cmd(5, 'exit 0'),
      'cmd_|-g_|-exit 0_|-run': cmd(6, 'exit 0'),
      'cmd_|-h_|-echo itworked_|-run': ran(7, skip, true, false),
    })
  })

  it('test_requisites_onfail_all', async () => {
    const skip = 'State was not run because onfail req did not change'
    expect(normalize(await run('onfail_all'))).toEqual({
      'cmd_|-a_|-exit 0_|-run': cmd(0, 'exit 0'),
      'cmd_|-b_|-exit 0_|-run': cmd(1, 'exit 0'),
      'cmd_|-c_|-exit 0_|-run': cmd(2, 'exit 0'),
      'cmd_|-d_|-exit 1_|-run': cmd(3, 'exit 1', false),
      'cmd_|-e_|-exit 1_|-run': cmd(4, 'exit 1', false),
      'cmd_|-f_|-exit 1_|-run': cmd(5, 'exit 1', false),
      'cmd_|-reqs also met_|-echo itonfailed_|-run': cmd(9, 'echo itonfailed'),
      'cmd_|-reqs also not met_|-echo italsodidnonfail_|-run': ran(7, skip, true, false),
      'cmd_|-reqs met_|-echo itonfailed_|-run': cmd(8, 'echo itonfailed'),
      'cmd_|-reqs not met_|-echo itdidntonfail_|-run': ran(6, skip, true, false),
    })
  })

  it('test_onfail_in_requisite and test_onfail_requisite_no_state_module', async () => {
    for (const fixture of ['onfail_in', 'onfail_no_state_module']) {
      const raw = await run(fixture)
      expect(raw['cmd_|-test_failing_state_|-echo "Success!"_|-run']?.comment).toBe(
        'Command "echo "Success!"" run',
      )
      const skipped = raw['cmd_|-test_non_failing_state_|-echo "Should not run"_|-run']
      expect(skipped?.comment).toBe('State was not run because onfail req did not change')
      // test_onfail_requisite_with_duration
      expect(skipped?.duration).toBeTypeOf('number')
    }
  })

  it('test_multiple_onfail_requisite_with_required: an unmet onfail beats a met onchanges', async () => {
    const raw = await run('onfail_with_required')
    for (const id of ['b', 'c', 'd'])
      expect(raw[`cmd_|-${id}_|-echo ${id}_|-run`]?.changes).toMatchObject({
        retcode: 0,
        stdout: id,
      })
    expect(raw['cmd_|-e_|-echo e_|-run']?.comment).toBe(
      'State was not run because onfail req did not change',
    )
    expect(raw['cmd_|-f_|-echo f_|-run']?.comment).toBe(
      'State was not run because onfail req did not change',
    )
  })

  it('test_multiple_onfail_requisite_with_required_no_run', async () => {
    const raw = await run('onfail_with_required_no_run')
    for (const id of ['b', 'c', 'd'])
      expect(raw[`cmd_|-${id}_|-echo ${id}_|-run`]?.comment).toBe(
        'State was not run because onfail req did not change',
      )
  })
})

describe('watch (test_watch.py) and cmd.wait', () => {
  it('test_watch_in and test_watch_in_failure', async () => {
    const raw = await run('watch_in')
    const changes = 'test_|-return_changes_|-return_changes_|-succeed_with_changes'
    const watch = 'test_|-watch_states_|-watch_states_|-succeed_without_changes'
    expect(raw[changes]?.__run_num__).toBe(0)
    expect(raw[changes]?.changes).toMatchObject({
      testing: { new: 'Something pretended to change' },
    })
    // mod_watch takes a run number of its own.
    expect(raw[watch]).toMatchObject({ __run_num__: 2, comment: 'Watch statement fired.' })
    const failed = await run('watch_in_failure')
    expect(failed['test_|-return_changes_|-return_changes_|-fail_with_changes']?.result).toBe(false)
    expect(failed[watch]?.comment).toBe('One or more requisite failed: requisite.return_changes')
  })

  it('test_requisites_watch_any: cmd.wait runs through mod_watch', async () => {
    expect(normalize(await run('watch_any'))).toEqual({
      'cmd_|-A_|-true_|-wait': cmd(4, 'true'),
      'cmd_|-B_|-true_|-run': cmd(0, 'true'),
      'cmd_|-C_|-false_|-run': cmd(1, 'false', false),
      'cmd_|-D_|-true_|-run': cmd(2, 'true'),
      'cmd_|-E_|-true_|-wait': cmd(9, 'true'),
      'cmd_|-F_|-true_|-run': cmd(5, 'true'),
      'cmd_|-G_|-false_|-run': cmd(6, 'false', false),
      'cmd_|-H_|-false_|-run': cmd(7, 'false', false),
    })
  })

  it('watch on a module without mod_watch acts as require', async () => {
    const raw = await run('watch_no_mod_watch')
    expect(raw['module_|-call_|-call_|-run']).toMatchObject({
      result: true,
      changes: { 'test.echo': { ret: 'called once' } },
      __run_num__: 1,
    })
  })

  it('test_requisites_watch_any_fail and test_issue_30820_requisite_in_match_by_name', async () => {
    const raw = await run('watch_any_fail')
    expect(raw['cmd_|-A_|-true_|-wait']?.comment).toContain('One or more requisite failed')
    const byName = await run('watch_30820')
    expect(byName['cmd_|-bar state_|-echo bar_|-wait']?.comment).toBe('Command "echo bar" run')
  })
})
