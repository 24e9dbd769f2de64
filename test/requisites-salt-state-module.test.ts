// state.* hands the run's __context__ to the runner (modules/state.ts): Salt's retcode rules
// for onlyif/unless `fun:` through state.single, as Salt's own tests call them
// (tests/pytests/functional/modules/state/requisites/test_onlyif.py, test_unless.py); and
// `state.sls 12345` runs 12345.sls.
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { requisiteRuntime } from './helpers/local-runtime.ts'

const _root = join(import.meta.dirname, '..')
const runtimes: Runtime[] = []
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close()
})

function runtime(fixture: string) {
  const rt = requisiteRuntime(fixture)
  runtimes.push(rt)
  return rt
}

async function single(kwargs: Record<string, unknown>) {
  const rt = runtime('conditions')
  const result = (await rt.call('state.single', {
    args: ['test.succeed_with_changes'],
    kwargs,
  })) as Record<string, StateReturn>
  return { ret: Object.values(result)[0]!, retcode: rt.context.retcode }
}

it('test_onlyif_req_retcode and test_unless_req_retcode through state.single', async () => {
  const onlyif = await single({ name: 'onlyif test', onlyif: [{ fun: 'test.retcode' }] })
  expect(onlyif.ret).toMatchObject({
    result: true,
    changes: {},
    comment: 'onlyif condition is false',
  })
  // The condition's retcode (42) is not the run's.
  expect(onlyif.retcode).toBe(0)
  const ran = await single({ name: 'onlyif test', onlyif: [{ fun: 'test.retcode', code: 0 }] })
  expect(ran.ret).toMatchObject({ result: true, comment: 'Success!' })
  const unless = await single({ name: 'unless test', unless: [{ fun: 'test.retcode', code: 0 }] })
  expect(unless.ret).toMatchObject({
    result: true,
    changes: {},
    comment: 'unless condition is true',
  })
  const runs = await single({ name: 'unless test', unless: [{ fun: 'test.retcode' }] })
  expect(runs.ret).toMatchObject({ result: true, comment: 'Success!' })
})

it('a failing shell condition leaves the run’s retcode at 0', async () => {
  const skipped = await single({ name: 'x', onlyif: 'false' })
  expect(skipped.ret.comment).toBe('onlyif condition is false')
  expect(skipped.retcode).toBe(0)
})

it('state.sls 12345 runs 12345.sls (the CLI types the argument as a number)', async () => {
  const result = (await runtime('numeric').call('state.sls', { args: [12345] })) as Record<
    string,
    StateReturn
  >
  expect(Object.values(result)).toMatchObject([
    { __id__: 'numbered', result: true, comment: 'from 12345.sls' },
  ])
})

it('extend and declaration errors in Salt’s words (salt/state.py reconcile_extend, _handle_state_decls)', async () => {
  const errors = async (fixture: string) =>
    (await runtime(fixture).call('state.sls', { kwargs: { mods: 'requisite' } })) as string[]
  expect(await errors('extend_missing')).toEqual([
    "Cannot extend ID 'W' in 'base:requisite'. It is not part of the high state.\nThis is likely due to a missing include statement or an incorrectly typed ID.\nEnsure that a state with an ID of 'W' is available\nin environment 'base' and to SLS 'requisite'",
  ])
  expect(await errors('multi_decl')).toEqual([
    "ID 'A' in SLS 'requisite' contains multiple state declarations of the same type",
  ])
})
