import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from './helpers/cli.ts'

const fixtures = join(import.meta.dirname, 'fixtures')
const states = join(fixtures, 'states')
const env = { BRINE_CONFIG: undefined, BRINE_DEBUG: undefined }
const brine = (args: string[]) => runCli(['--file-root', states, ...args], { env })

/**
 * Times differ on every run: the golden file holds placeholders. The total run time is
 * right-aligned, so its padding shrinks as the time grows ("  9.876 ms", " 12.345 ms",
 * "   1.234 s"): the padding is normalised too, and the alignment checked on its own.
 */
const TOTAL_RUN_TIME = /^Total run time: +\d+\.\d{3} m?s$/m
const normalize = (text: string) =>
  text
    .replace(/(Started: ).*/g, '$1<time>')
    .replace(/(Duration: ).*/g, '$1<ms> ms')
    .replace(new RegExp(TOTAL_RUN_TIME, 'gm'), 'Total run time:   <ms> ms')

describe('brine state runs', () => {
  it('prints the highstate outputter as Salt does (golden file)', async () => {
    const result = await brine(['--no-color', 'state.sls', 'highstate_golden'])
    expect(result.code).toBe(1)
    expect(normalize(result.stdout)).toBe(
      readFileSync(join(fixtures, 'highstate-golden.txt'), 'utf8'),
    )
    // Right-aligned as Salt does: the time ends in the same column whatever its width.
    const total = TOTAL_RUN_TIME.exec(result.stdout)?.[0]
    expect(total).toHaveLength('Total run time: '.length + 10)
  })

  it('normalises the total run time whatever its width (the golden comparison is timing-free)', () => {
    const widths = ['  9.876 ms', ' 12.345 ms', '999.999 ms', '   1.234 s', ' 123.456 s']
    for (const time of widths)
      expect(normalize(`Total run time: ${time}\n`)).toBe('Total run time:   <ms> ms\n')
  })

  it('colors by result and supports terse, mixed and changes output', async () => {
    const colored = await runCli(['--file-root', states, 'state.sls', 'highstate_golden'], {
      env: { ...env, NO_COLOR: undefined, FORCE_COLOR: '1' },
    })
    expect(colored.stdout).toContain('\x1b[31m      Result: False')
    expect(colored.stdout).toContain('\x1b[36m          ID: changed')
    expect(colored.stdout).toContain('\x1b[32m          ID: first')
    const terse = await brine([
      '--no-color',
      '--state-output',
      'terse',
      'state.sls',
      'highstate_golden',
    ])
    expect(terse.stdout).toMatch(
      /^ {2}Name: first - Function: test\.succeed_without_changes - Result: Clean Started: - \S+ Duration: [\d.]+ ms$/m,
    )
    expect(terse.stdout).toMatch(
      /Name: a changed thing - Function: test\.succeed_with_changes - Result: Changed/,
    )
    const mixed = await brine([
      '--no-color',
      '--state-output',
      'mixed',
      'state.sls',
      'highstate_golden',
    ])
    expect(mixed.stdout).toMatch(/Name: first - Function/)
    expect(mixed.stdout).toMatch(/ {10}ID: broken/)
    const quiet = await brine([
      '--no-color',
      '--state-verbose',
      'false',
      'state.sls',
      'highstate_golden',
    ])
    expect(quiet.stdout).not.toContain('ID: first')
    expect(quiet.stdout).toContain('Total states run:     4')
  })

  it('shows predictions in test mode, with unchanged= in the summary', async () => {
    const result = await brine(['--no-color', 'state.apply', 'highstate_golden', 'test=True'])
    expect(result.stdout).toContain(
      "Comment: If we weren't testing, this would be successful with changes",
    )
    expect(result.stdout).toContain('Succeeded: 2 (unchanged=1, changed=1)')
  })

  it('distinguishes compile errors, state failures and pillar failures with --retcode-passthrough', async () => {
    const compile = await brine([
      '--no-color',
      '--retcode-passthrough',
      'state.sls',
      'errors.missing',
    ])
    expect(compile.code).toBe(1)
    expect(compile.stdout).toBe(
      'local:\n    Data failed to compile:\n----------\n    Referenced state does not exist for requisite [require: (test: z)] in state [g] in SLS [errors.missing]\n',
    )
    expect((await brine(['--retcode-passthrough', 'state.sls', 'failhard'])).code).toBe(2)
    expect((await brine(['state.sls', 'failhard'])).code).toBe(1)
    expect((await brine(['--retcode-passthrough', 'state.sls', 'order'])).code).toBe(0)
    // names.sls gives one state an argument it does not take: that state fails (README).
    expect((await brine(['--retcode-passthrough', 'state.sls', 'names'])).code).toBe(2)
    const pillar = await brine([
      '--no-color',
      '--retcode-passthrough',
      '--pillar-root',
      join(fixtures, 'pillar-bad'),
      'state.sls',
      'names',
    ])
    expect(pillar.code).toBe(5)
    expect(pillar.stdout).toContain('Pillar failed to render with the following messages:')
    expect(pillar.stdout).toMatch(/broken\.sls' failed \(jinja, line 3\)/)
  })

  it('gives the raw result with --out json, and state.single from the command line', async () => {
    const json = await brine([
      '--out',
      'json',
      'state.single',
      'test.succeed_with_changes',
      'name=foo',
    ])
    const ret = JSON.parse(json.stdout).local['test_|-foo_|-foo_|-succeed_with_changes']
    expect(ret).toMatchObject({
      result: true,
      comment: 'Success!',
      __run_num__: 0,
      __sls__: null,
      __id__: 'foo',
    })
    expect(ret.duration).toBeTypeOf('number')
    const positional = await brine(['--out', 'json', 'state.single', 'test.nop', 'bar'])
    expect(Object.keys(JSON.parse(positional.stdout).local)).toEqual(['test_|-bar_|-bar_|-nop'])
  })

  it('runs the highstate from top.sls by minion id, and show_top says which', async () => {
    const top = await brine(['--id', 'web01', '--out', 'json', 'state.show_top'])
    expect(JSON.parse(top.stdout).local).toEqual({ base: ['order', 'names'] })
    const highstate = await brine(['--id', 'db01', '--no-color', 'state.highstate'])
    expect(highstate.code).toBe(0)
    expect(highstate.stdout).toContain('Total states run:     9')
  })
})
