import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseInput } from '../cli/argv.ts'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime, readTestValue } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { isolatedCliEnv, runCli } from './helpers/cli.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

/**
 * A dry run never becomes a real run: every spelling of true that Salt takes for `test=`
 * predicts and changes nothing, false runs for real, and anything else is refused before
 * anything runs.
 */

const root = join(import.meta.dirname, '..')
const tmp = mkdtempSync(join(tmpdir(), 'brine-dry-run-'))
const cleanEnv = isolatedCliEnv(tmp)
const brine = (args: string[], cwd = tmp) => runCli(args, { cwd, env: cleanEnv })

/** `test=` as typed on the command line (Salt's argument typing), and as given by callers. */
const TRUTHY: [string, unknown][] = [
  ...['test=1', 'test=True', 'test=true', 'test=TRUE', 'test=yes', 'test=Yes', 'test=on']
    .concat(['test=ON', 'test=y', 'test=2', 'test=0.5', 'test="1"', "test='true'"])
    .concat(['test="True"', 'test="yes"', 'test="on"', 'test=" 1 "', 'test="1.0"'])
    .map((token): [string, unknown] => [token, parseInput([token]).kwargs.test]),
  ['true (boolean)', true],
  ['1 (number)', 1],
  ["'tRuE' (string)", 'tRuE'],
]
const FALSY: [string, unknown][] = [
  ...['test=0', 'test=False', 'test=false', 'test=no', 'test=off'].map(
    (token): [string, unknown] => [token, parseInput([token]).kwargs.test],
  ),
  ['false (boolean)', false],
  ['0 (number)', 0],
]
const JUNK: [string, unknown][] = [
  ...['test=maybe', 'test=', 'test=-1', 'test=[1]', 'test={a: 1}', 'test=tru', 'test="1x"']
    .concat(['test="None"', 'test=0x1y'])
    // Strings meaning false: a dry run in Salt's state functions, false in its test_mode.
    .concat(['test=n', 'test=N', 'test="0"', 'test="false"', 'test="no"', 'test="off"'])
    .map((token): [string, unknown] => [token, parseInput([token]).kwargs.test]),
  ['NaN', Number.NaN],
  ['an object', { value: true }],
]

function localRuntime(opts: Record<string, unknown> = {}): Runtime {
  return new Runtime({
    opts: defaultOpts({ id: 'dry-run', file_roots: [], pillar_roots: [], ...opts }),
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
    env: {},
  })
}

/** The one return of a state.single call. */
function only(result: unknown): StateReturn {
  const rets = Object.values(result as Record<string, StateReturn>)
  expect(rets).toHaveLength(1)
  return rets[0]!
}

let counter = 0
/** `state.single cmd.run 'touch <new file>'`: returns the file and the state's return. */
async function touch(rt: Runtime, kwargs: Record<string, unknown>, test?: boolean) {
  const file = join(tmp, `touched-${++counter}`)
  const result = await rt.call('state.single', {
    args: ['cmd.run'],
    kwargs: { name: `touch ${file}`, ...kwargs },
    test,
  })
  return { file, ret: only(result) }
}

describe('reading test=', () => {
  it('reads every spelling Salt takes as true or false, and nothing else', () => {
    for (const [label, value] of TRUTHY) expect(readTestValue(value), label).toBe(true)
    for (const [label, value] of FALSY) expect(readTestValue(value), label).toBe(false)
    for (const [label, value] of JUNK) expect(readTestValue(value), label).toBeUndefined()
    expect(readTestValue(null)).toBeNull()
    expect(readTestValue(undefined)).toBeNull()
  })
})

describe('test= on a call (no vCenter)', () => {
  let rt: Runtime
  beforeAll(() => {
    rt = localRuntime()
  })
  afterAll(async () => {
    await rt?.close()
  })

  it('every truthy spelling predicts (result None) and touches nothing', async () => {
    for (const [label, value] of TRUTHY) {
      const { file, ret } = await touch(rt, { test: value })
      expect(ret.result, label).toBeNull()
      expect(existsSync(file), label).toBe(false)
      const pretend = only(
        await rt.call('state.single', {
          args: ['test.succeed_with_changes'],
          kwargs: { name: 'x', test: value },
        }),
      )
      expect(pretend.result, label).toBeNull()
      expect(pretend.comment, label).toBe(
        "If we weren't testing, this would be successful with changes",
      )
    }
  })

  it('any spelling of the argument name counts, as in salt.utils.args.test_mode', async () => {
    for (const key of ['TEST', 'Test', 'tEsT']) {
      const { file, ret } = await touch(rt, { [key]: 1 })
      expect(ret.result, key).toBeNull()
      expect(existsSync(file), key).toBe(false)
    }
    // Several spellings: any true one makes a dry run.
    const { file, ret } = await touch(rt, { test: false, TEST: 'yes' })
    expect(ret.result).toBeNull()
    expect(existsSync(file)).toBe(false)
  })

  it('every falsy spelling runs for real', async () => {
    for (const [label, value] of FALSY) {
      const { file, ret } = await touch(rt, { test: value })
      expect(ret.result, label).toBe(true)
      expect(existsSync(file), label).toBe(true)
    }
  })

  it('junk is refused, naming the argument and the accepted values, and runs nothing', async () => {
    for (const [label, value] of JUNK) {
      const file = join(tmp, `junk-${++counter}`)
      const error = await rt
        .call('state.single', { args: ['cmd.run'], kwargs: { name: `touch ${file}`, test: value } })
        .then(
          () => undefined,
          (e: unknown) => e as Error & { code?: string },
        )
      expect(error?.code, label).toBe('BRINE_ARGUMENT')
      expect(error?.message, label).toMatch(
        /^state\.single: argument 'test' must be True or False, not .*accepted are True\/False/,
      )
      expect(existsSync(file), label).toBe(false)
    }
    const error = (await rt
      .call('test.ping', { kwargs: { TEST: 'maybe' } })
      .catch((e: unknown) => e)) as Error
    expect(error.message).toContain("argument 'TEST' must be True or False, not 'maybe'")
  })

  it('a call made in test mode stays in test mode whatever its arguments say', async () => {
    for (const value of [false, 0]) {
      const { file, ret } = await touch(rt, { test: value }, true)
      expect(ret.result, String(value)).toBeNull()
      expect(existsSync(file), String(value)).toBe(false)
    }
  })

  it('None leaves the default; the test option is the default and test=False overrides it', async () => {
    const none = await touch(rt, { test: null })
    expect(none.ret.result).toBe(true)
    expect(existsSync(none.file)).toBe(true)

    const dry = localRuntime({ test: 'yes' })
    try {
      expect(dry.opts.test).toBe(true)
      const byDefault = await touch(dry, {})
      expect(byDefault.ret.result).toBeNull()
      expect(existsSync(byDefault.file)).toBe(false)
      const stillNone = await touch(dry, { test: null })
      expect(stillNone.ret.result).toBeNull()
      expect(existsSync(stillNone.file)).toBe(false)
      const overridden = await touch(dry, { test: false })
      expect(overridden.ret.result).toBe(true)
      expect(existsSync(overridden.file)).toBe(true)
    } finally {
      await dry.close()
    }
    expect(() => localRuntime({ test: 'maybe' })).toThrow(
      expect.objectContaining({
        code: 'BRINE_CONFIG',
        message: expect.stringContaining("option 'test' must be True or False, not 'maybe'"),
      }),
    )
  })
})

describe('test= against vcsim', () => {
  let vcsim: Vcsim
  let rt: Runtime
  let observer: Runtime
  let config: string
  const states = join(tmp, 'salt')
  const datacenters = async () =>
    ((await observer.call('vmware_datacenter.list')) as string[]).slice().sort()

  beforeAll(async () => {
    vcsim = await startVcsim()
    mkdirSync(states)
    writeFileSync(
      join(states, 'dry.sls'),
      [
        'dry-dc:',
        '  vmware_datacenter.present:',
        '    - name: DC-dry-sls',
        'dry-pretend:',
        '  test.succeed_with_changes: []',
        '',
      ].join('\n'),
    )
    rt = vmwareRuntime(vcsim, 'dry-run', [states])
    observer = vmwareRuntime(vcsim, 'observer')
    config = join(tmp, 'vcsim.yaml')
    writeFileSync(
      config,
      [
        'id: dry-run',
        `file_roots: [${states}]`,
        'pillar_roots: []',
        'saltext.vmware:',
        `  host: ${vcsim.url}`,
        '  user: dry-cli',
        '  password: pw',
        `  ca_file: ${vcsim.caFile}`,
        '',
      ].join('\n'),
    )
  })
  afterAll(async () => {
    await rt?.close()
    await observer?.close()
    await vcsim?.stop()
  })

  it('every truthy spelling predicts the datacenter and creates nothing', async () => {
    const before = await datacenters()
    for (const [index, [label, value]] of TRUTHY.entries()) {
      const ret = only(
        await rt.call('state.single', {
          args: ['vmware_datacenter.present'],
          kwargs: { name: `DC-dry-${index}`, test: value },
        }),
      )
      expect(ret.result, label).toBeNull()
      expect(ret.changes, label).toEqual({ datacenter: { old: null, new: `DC-dry-${index}` } })
      rt.context = {}
      const applied = Object.values(
        (await rt.call('state.apply', { args: ['dry'], kwargs: { test: value } })) as Record<
          string,
          StateReturn
        >,
      )
      expect(
        applied.map((r) => r.result),
        label,
      ).toEqual([null, null])
    }
    expect(await datacenters()).toEqual(before)
  }, 120_000)

  it('falsy spellings create; junk is refused and creates nothing', async () => {
    const before = await datacenters()
    for (const [index, value] of [0, false].entries()) {
      const ret = only(
        await rt.call('state.single', {
          args: ['vmware_datacenter.present'],
          kwargs: { name: `DC-real-${index}`, test: value },
        }),
      )
      expect(ret.result, String(value)).toBe(true)
    }
    for (const [label, value] of JUNK) {
      const error = await rt
        .call('state.single', {
          args: ['vmware_datacenter.present'],
          kwargs: { name: 'DC-junk', test: value },
        })
        .catch((e: Error & { code?: string }) => e)
      expect((error as { code?: string }).code, label).toBe('BRINE_ARGUMENT')
    }
    expect(await datacenters()).toEqual([...before, 'DC-real-0', 'DC-real-1'].sort())
  }, 120_000)

  it('brine state.apply … test=1 (and other spellings) from the CLI creates nothing', async () => {
    const before = await datacenters()
    for (const token of ['test=1', 'test=yes', 'test=on', 'test=True', 'TEST=1', 'test="true"']) {
      const result = await brine(['--config', config, '--out', 'json', 'state.apply', 'dry', token])
      expect(result.stderr, token).toBe('')
      expect(result.code, token).toBe(0)
      const rets = Object.values(JSON.parse(result.stdout).local as Record<string, StateReturn>)
      expect(
        rets.map((r) => [r.__id__, r.result]),
        token,
      ).toEqual([
        ['dry-dc', null],
        ['dry-pretend', null],
      ])
      // saltext-vmware's comment, word for word (src/saltext/vmware/states/datacenter.py present)
      expect(rets[0]!.comment).toBe('Datacenter DC-dry-sls will be created.')
    }
    expect(await datacenters()).toEqual(before)
  }, 180_000)

  it('the highstate summary shows a dry run for any true spelling', async () => {
    for (const token of ['test=True', 'test=1', 'TEST=yes']) {
      const result = await brine(['--config', config, '--no-color', 'state.apply', 'dry', token])
      expect(result.code, token).toBe(0)
      expect(result.stdout, token).toMatch(/Succeeded: \d+ \(unchanged=\d+, changed=\d+\)/)
    }
  })

  it('the CLI refuses test=maybe (exit 1, nothing created) and runs test=0 for real', async () => {
    const before = await datacenters()
    const junk = await brine(['--config', config, 'state.apply', 'dry', 'test=maybe'])
    expect(junk.code).toBe(1)
    expect(junk.stdout).toBe('')
    expect(junk.stderr).toContain(
      "state.apply: argument 'test' must be True or False, not 'maybe': accepted are True/False",
    )
    expect(await datacenters()).toEqual(before)

    const real = await brine(['--config', config, '--out', 'json', 'state.apply', 'dry', 'test=0'])
    expect(real.code).toBe(0)
    const rets = Object.values(JSON.parse(real.stdout).local as Record<string, StateReturn>)
    expect(rets.map((r) => r.result)).toEqual([true, true])
    expect(await datacenters()).toEqual([...before, 'DC-dry-sls'].sort())
  }, 120_000)

  it('a config file with test: yes makes dry runs; test: maybe is a config error (exit 2)', async () => {
    const dir = join(tmp, 'config-test')
    mkdirSync(dir)
    writeFileSync(join(dir, 'brine.yaml'), 'test: yes\n')
    const file = join(dir, 'touched')
    const dry = await brine(['--out', 'json', 'state.single', 'cmd.run', `name=touch ${file}`], dir)
    expect(dry.code).toBe(0)
    const rets = Object.values(JSON.parse(dry.stdout).local as Record<string, StateReturn>)
    expect(rets.map((r) => r.result)).toEqual([null])
    expect(existsSync(file)).toBe(false)
    writeFileSync(join(dir, 'brine.yaml'), 'test: maybe\n')
    const bad = await brine(['state.single', 'cmd.run', `name=touch ${file}`], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("option 'test' must be True or False, not 'maybe'")
    expect(existsSync(file)).toBe(false)
  }, 60_000)

  it('vmware_vm.power_state takes state=off and state=on from the CLI (booleans there)', async () => {
    const off = await brine([
      '--config',
      config,
      '--out',
      'json',
      'vmware_vm.power_state',
      'DC0_H0_VM0',
      'state=off',
    ])
    expect(off.stderr).toBe('')
    expect(JSON.parse(off.stdout).local).toMatchObject({
      power_state: 'poweredOff',
      changed: true,
    })
    const on = await brine([
      '--config',
      config,
      '--out',
      'json',
      'vmware_vm.power_state',
      'DC0_H0_VM0',
      'state=on',
    ])
    expect(JSON.parse(on.stdout).local).toMatchObject({ power_state: 'poweredOn', changed: true })
    const info = (await observer.call('vmware_vm.info', { kwargs: { name: 'DC0_H0_VM0' } })) as {
      power_state: string
    }
    expect(info.power_state).toBe('poweredOn')
  }, 60_000)

  it('a missing required argument says "is required", naming the argument and the function', async () => {
    const missing = await brine(['--config', config, 'vmware_vm.power_state', 'DC0_H0_VM0'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      "vmware_vm.power_state: argument 'state' is required. Usage: vmware_vm.power_state",
    )
    const noMods = await brine(['--config', config, 'state.sls'])
    expect(noMods.code).toBe(1)
    expect(noMods.stderr).toContain("state.sls: argument 'mods' is required.")
    const noName = await rt.call('vmware_datacenter.create').catch((e: Error) => e)
    expect((noName as Error).message).toMatch(
      /^vmware_datacenter\.create: argument 'name' is required\. Usage: /,
    )
  }, 60_000)
})
