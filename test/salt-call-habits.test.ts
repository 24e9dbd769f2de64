// salt-call habits, through the real CLI in a child process: --local, -c DIR (a Salt config
// directory) beside -c FILE, saltenv=/pillarenv=, --out txt, the _id state outputs, -g, and
// saltutil.sync_* reloading custom modules.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isolatedCliEnv, runCli } from './helpers/cli.ts'

const fixtures = join(import.meta.dirname, 'fixtures', 'salt-call-habits')
const confdir = join(fixtures, 'confdir')
const tmp = mkdtempSync(join(tmpdir(), 'brine-habits-'))
const env = isolatedCliEnv(tmp, { BRINE_DATA_DIR: join(tmp, 'data') })
const brine = (args: string[], extra: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: tmp, env: { ...env, ...extra } })

describe('--local', () => {
  it('is accepted: brine always runs locally (salt-call --local test.ping)', async () => {
    const result = await brine(['--local', 'test.ping'])
    expect(result).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    expect((await brine(['call', '--local', 'test.ping'])).code).toBe(0)
  })
})

describe('-c: a config file, or a Salt config directory', () => {
  // salt/config/__init__.py minion_config: DIR/minion, then include_config(default_include
  // 'minion.d/*.conf') whose result updates the minion file's options key by key.
  it('-c DIR reads DIR/minion and DIR/minion.d/*.conf (in name order, over it)', async () => {
    const result = await brine([
      '--out',
      'json',
      '-c',
      confdir,
      'grains.item',
      'id',
      'site',
      'rack',
      'roles',
    ])
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toEqual({
      // minion.d's grains: replaced the minion file's whole, as Salt's dict.update does
      // (10-grains.conf and 20-more.conf merge with each other first).
      local: { id: 'from-minion-file', site: 'dc1', rack: 'r7', roles: '' },
    })
    const habit = await brine(['--out', 'json', '-c', confdir, 'config.get', 'habit'])
    expect(JSON.parse(habit.stdout)).toEqual({ local: 'from-minion.d' })
  })

  it('--config-dir is the same; conf_file is DIR/minion, and DIR/grains is read', async () => {
    const result = await brine([
      '--out',
      'json',
      '--config-dir',
      confdir,
      'grains.item',
      'from_grains_file',
    ])
    expect(JSON.parse(result.stdout)).toEqual({ local: { from_grains_file: true } })
    const conf = await brine(['--out', 'json', '--config-dir', confdir, 'config.get', 'conf_file'])
    expect(JSON.parse(conf.stdout)).toEqual({ local: join(confdir, 'minion') })
  })

  it("file_roots in Salt's {base: [...]} form, relative to the directory", async () => {
    const result = await brine(['--out', 'json', '-c', confdir, 'state.show_top'])
    expect(result.code).toBe(0)
    const sls = await brine(['--out', 'json', '-c', confdir, 'state.show_sls', 'ids'])
    expect(Object.keys(JSON.parse(sls.stdout).local)).toEqual(['web_config', 'quiet', 'broken'])
  })

  it('-c FILE stays brine’s config file', async () => {
    const result = await brine([
      '--out',
      'json',
      '-c',
      join(fixtures, 'file', 'brine.yaml'),
      'grains.item',
      'id',
    ])
    expect(JSON.parse(result.stdout)).toEqual({ local: { id: 'from-config-file' } })
  })

  it('-c and --config-dir together, and a file_roots environment other than base, are refused', async () => {
    const both = await brine(['-c', confdir, '--config-dir', confdir, 'test.ping'])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('give -c/--config or --config-dir, not both')
    const dir = mkdtempSync(join(tmp, 'envs-'))
    writeFileSync(join(dir, 'minion'), 'file_roots:\n  base: [a]\n  dev: [b]\n')
    const envs = await brine(['-c', dir, 'test.ping'])
    expect(envs.code).toBe(2)
    expect(envs.stderr).toContain(
      'file_roots has the environment dev; brine has one environment, base',
    )
  })
})

describe('saltenv= and pillarenv=', () => {
  it('base is accepted on any call, state runs included', async () => {
    const ping = await brine(['test.ping', 'saltenv=base', 'pillarenv=base'])
    expect(ping).toMatchObject({ code: 0, stdout: 'local:\n    True\n' })
    const marker = join(tmp, 'marker-base')
    const run = await brine([
      '-c',
      confdir,
      'state.sls',
      'marker',
      'saltenv=base',
      'pillarenv=base',
      `pillar={"marker": "${marker}"}`,
    ])
    expect(run.code).toBe(0)
    expect(existsSync(marker)).toBe(true)
  })

  it('another environment is refused, naming it, and nothing runs', async () => {
    const marker = join(tmp, 'marker-dev')
    for (const arg of ['saltenv=dev', 'pillarenv=prod']) {
      const run = await brine([
        '-c',
        confdir,
        'state.sls',
        'marker',
        arg,
        `pillar={"marker": "${marker}"}`,
      ])
      expect(run.code).toBe(1)
      const [key, value] = arg.split('=')
      expect(run.stderr).toContain(`${key}='${value}' is not an environment brine has`)
      expect(run.stdout).toBe('')
    }
    expect(existsSync(marker)).toBe(false)
  })
})

describe('--out txt', () => {
  // salt/output/txt.py: "key: value" per top-level key, a string one line per line.
  it('prints local: value lines, as Salt’s txt outputter', async () => {
    expect((await brine(['--out', 'txt', 'test.ping'])).stdout).toBe('local: True\n')
    expect((await brine(['--out', 'txt', 'test.echo', 'one\ntwo'])).stdout).toBe(
      'local: one\nlocal: two\n',
    )
    expect((await brine(['--out', 'txt', 'test.arg', 'a', 'k=None'])).stdout).toBe(
      "local: {'args': ['a'], 'kwargs': {'k': None}}\n",
    )
  })
})

describe('--state-output with _id', () => {
  // salt/output/highstate.py: `if state_output.endswith("_id"): comps[2] = comps[1]` ("Swap
  // in the ID for the name. Refs #35137"): terse lines name the ID, full blocks drop Name:.
  const run = (mode: string) => brine(['-c', confdir, '--state-output', mode, 'state.sls', 'ids'])

  it('terse_id names each state by its ID; terse by its name', async () => {
    const byId = await run('terse_id')
    expect(byId.code).toBe(1)
    expect(byId.stdout).toMatch(
      /^ {2}Name: web_config - Function: test\.succeed_with_changes - Result: Changed Started: /m,
    )
    expect(byId.stdout).toMatch(
      /^ {2}Name: broken - Function: test\.fail_without_changes - Result: Failed/m,
    )
    expect(byId.stdout).not.toContain('/etc/web.conf')
    const byName = await run('terse')
    expect(byName.stdout).toMatch(
      /^ {2}Name: \/etc\/web\.conf - Function: test\.succeed_with_changes/m,
    )
  })

  it('full_id drops the Name: line; full shows it', async () => {
    const byId = await run('full_id')
    expect(byId.stdout).toContain(
      '          ID: web_config\n    Function: test.succeed_with_changes\n      Result: True',
    )
    expect(byId.stdout).not.toContain('Name:')
    expect((await run('full')).stdout).toContain(
      '          ID: web_config\n    Function: test.succeed_with_changes\n        Name: /etc/web.conf\n',
    )
  })

  it('mixed_id: the failure in full, the rest terse by ID; changes_id: unchanged states terse', async () => {
    const mixed = await run('mixed_id')
    expect(mixed.stdout).toContain(
      '          ID: broken\n    Function: test.fail_without_changes\n      Result: False',
    )
    expect(mixed.stdout).toMatch(
      /^ {2}Name: quiet - Function: test\.succeed_without_changes - Result: Clean/m,
    )
    expect(mixed.stdout).toMatch(/^ {2}Name: web_config - Function/m)
    const changes = await run('changes_id')
    expect(changes.stdout).toMatch(
      /^ {2}Name: quiet - Function: test\.succeed_without_changes - Result: Clean/m,
    )
    expect(changes.stdout).toContain('          ID: web_config\n')
    expect(changes.stdout).toContain('          ID: broken\n')
  })

  it('an unknown mode lists the _id ones', async () => {
    const result = await run('short_id')
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('full_id, terse_id, mixed_id, changes_id')
  })
})

describe('state.sls_id', () => {
  // salt/modules/state.py sls_id(id_, mods, test=None, …): the chunks of that ID, each through
  // State.call_chunk, which first runs the requisites that have not run (require, watch, …);
  // no match raises "No matches for ID '…' found in SLS '…' within saltenv '…'".
  const sls = (args: string[]) => brine(['--out', 'json', '-c', confdir, 'state.sls_id', ...args])
  const ran = (stdout: string) =>
    Object.values(
      JSON.parse(stdout).local as Record<string, { __id__: string; __run_num__: number }>,
    )
      .sort((a, b) => a.__run_num__ - b.__run_num__)
      .map((ret) => ret.__id__)

  it('runs the ID and what it requires, nothing else', async () => {
    const config = await sls(['config', 'requisites'])
    expect(config.code).toBe(0)
    expect(ran(config.stdout)).toEqual(['base_pkg', 'config'])
    const service = await sls(['service', 'requisites'])
    expect(ran(service.stdout)).toEqual(['base_pkg', 'config', 'service'])
    // watch fired: config changed, so service's mod_watch ran (Salt's test.mod_watch comment).
    expect(
      JSON.parse(service.stdout).local['test_|-service_|-service_|-succeed_without_changes'],
    ).toMatchObject({
      comment: 'Watch statement fired.',
    })
  })

  it('test=True predicts; an unknown ID is an error in Salt’s words', async () => {
    const test = await sls(['config', 'requisites', 'test=True'])
    const results = Object.values(
      JSON.parse(test.stdout).local as Record<string, { result: unknown }>,
    )
    expect(results.map((ret) => ret.result)).toEqual([null, null])
    const missing = await sls(['nothere', 'requisites'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe(
      "Error: No matches for ID 'nothere' found in SLS 'requisites' within saltenv 'base'\n",
    )
  })
})

describe('-g', () => {
  it('shows the grains (salt-call -g)', async () => {
    const result = await brine(['--out', 'json', '-c', confdir, '-g'])
    expect(result.code).toBe(0)
    const grains = JSON.parse(result.stdout).local
    expect(grains).toMatchObject({
      id: 'from-minion-file',
      site: 'dc1',
      saltversion: expect.any(String),
    })
    expect(Object.keys(grains)).toEqual(Object.keys(grains).sort())
  })
})

describe('saltutil.sync_*', () => {
  const moduleText = (value: string) => `import { defineFunction, defineModule } from 'brine/loader'
export default defineModule({
  functions: { value: defineFunction({ doc: 'Return the value.', args: {}, run: () => '${value}' }) },
})
`
  function setup() {
    const dir = mkdtempSync(join(tmp, 'sync-'))
    mkdirSync(join(dir, 'modules'))
    mkdirSync(join(dir, '_states'))
    mkdirSync(join(dir, 'states'))
    writeFileSync(join(dir, 'modules', 'mymod.ts'), moduleText('v1'))
    const data = join(dir, 'data')
    return { dir, data }
  }

  it('report what changed since the last sync, in Salt’s shapes', async () => {
    const { dir, data } = setup()
    const sync = (fun: string) =>
      brine(['--out', 'json', '-m', join(dir, 'modules'), fun], { BRINE_DATA_DIR: data })
    expect(JSON.parse((await sync('saltutil.sync_modules')).stdout)).toEqual({
      local: ['modules.mymod'],
    })
    expect(JSON.parse((await sync('saltutil.sync_modules')).stdout)).toEqual({ local: [] })
    writeFileSync(join(dir, '_states', 'mystate.ts'), moduleText('s1'))
    const all = JSON.parse((await sync('saltutil.sync_all')).stdout).local
    expect(all).toMatchObject({ modules: [], states: ['states.mystate'], grains: [], utils: [] })
    writeFileSync(join(dir, 'modules', 'mymod.ts'), moduleText('v2'))
    expect(JSON.parse((await sync('saltutil.sync_states')).stdout)).toEqual({ local: [] })
    expect(JSON.parse((await sync('saltutil.sync_all')).stdout).local).toMatchObject({
      modules: ['modules.mymod'],
      states: [],
    })
  })

  it('reload the modules in the running process: the new code answers after the sync', async () => {
    const { dir, data } = setup()
    const file = join(dir, 'modules', 'mymod.ts')
    // The idiom of Salt's docs (#22744): module.run saltutil.sync_modules inside a state run.
    writeFileSync(
      join(dir, 'states', 'sync.sls'),
      `before:
  module.run:
    - mymod.value: []
edit:
  cmd.run:
    - name: sed -i s/v1/v2/ ${file}
    - require: [before]
sync:
  module.run:
    - saltutil.sync_modules: []
    - require: [edit]
after:
  module.run:
    - mymod.value: []
    - require: [sync]
`,
    )
    const result = await brine(
      [
        '--out',
        'json',
        '-m',
        join(dir, 'modules'),
        '--file-root',
        join(dir, 'states'),
        'state.sls',
        'sync',
      ],
      { BRINE_DATA_DIR: data },
    )
    expect(result.stderr).toBe('')
    const states = Object.values(JSON.parse(result.stdout).local) as Array<{
      __id__: string
      changes: Record<string, { ret: unknown }>
    }>
    const changes = Object.fromEntries(states.map((s) => [s.__id__, s.changes]))
    expect(changes.before).toEqual({ 'mymod.value': { ret: 'v1' } })
    expect(changes.sync).toEqual({ 'saltutil.sync_modules': { ret: ['modules.mymod'] } })
    expect(changes.after).toEqual({ 'mymod.value': { ret: 'v2' } })
  })

  it('refresh_pillar, refresh_grains and refresh_modules: later steps of the run see the new data', async () => {
    const dir = mkdtempSync(join(tmp, 'refresh-'))
    for (const sub of ['pillar', 'states', 'conf']) mkdirSync(join(dir, sub))
    writeFileSync(join(dir, 'pillar', 'top.sls'), "base:\n  '*':\n    - data\n")
    writeFileSync(join(dir, 'pillar', 'data.sls'), 'color: red\n')
    writeFileSync(join(dir, 'conf', 'brine.yaml'), 'id: refresher\n')
    writeFileSync(join(dir, 'conf', 'grains'), 'rack: r1\n')
    writeFileSync(
      join(dir, 'states', 'refresh.sls'),
      `before:
  module.run:
    - pillar.get: [color]
    - grains.get: [rack]
edit:
  cmd.run:
    - name: sed -i -e s/red/blue/ ${join(dir, 'pillar', 'data.sls')} -e s/r1/r2/ ${join(dir, 'conf', 'grains')}
    - require: [before]
refresh:
  module.run:
    - saltutil.refresh_pillar: []
    - saltutil.refresh_grains: []
    - saltutil.refresh_modules: []
    - require: [edit]
after:
  module.run:
    - pillar.get: [color]
    - grains.get: [rack]
    - require: [refresh]
`,
    )
    const result = await brine([
      '--out',
      'json',
      '-c',
      join(dir, 'conf', 'brine.yaml'),
      '--pillar-root',
      join(dir, 'pillar'),
      '--file-root',
      join(dir, 'states'),
      'state.sls',
      'refresh',
    ])
    expect(result.stderr).toBe('')
    const states = Object.values(JSON.parse(result.stdout).local) as Array<{
      __id__: string
      changes: Record<string, { ret: unknown }>
    }>
    const changes = Object.fromEntries(states.map((s) => [s.__id__, s.changes]))
    expect(changes.before).toEqual({ 'pillar.get': { ret: 'red' }, 'grains.get': { ret: 'r1' } })
    expect(changes.refresh).toEqual({
      'saltutil.refresh_pillar': { ret: true },
      'saltutil.refresh_grains': { ret: true },
      'saltutil.refresh_modules': { ret: true },
    })
    expect(changes.after).toEqual({ 'pillar.get': { ret: 'blue' }, 'grains.get': { ret: 'r2' } })
  })

  it('refuse an environment other than base', async () => {
    const result = await brine(['saltutil.sync_modules', 'saltenv=dev'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      "argument 'saltenv' must be base, the one environment brine has",
    )
  })
})
