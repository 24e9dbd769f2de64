// Issue 13, item 12: clear errors (naming what is wrong and the fix), the documented exit
// code, and no partial change.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Secret } from '../core/secret.ts'
import { bindArguments, escapeControlCharacters } from '../loader/arguments.ts'
import { defaultOpts } from '../loader/opts.ts'
import { checkResult, Runtime } from '../loader/runtime.ts'
import { isolatedCliEnv, runNode } from './helpers/cli.ts'

const tmp = mkdtempSync(join(tmpdir(), 'brine-errors-'))
const cleanEnv = isolatedCliEnv(tmp, {
  BRINE_MODULE_DIRS: undefined,
  BRINE_PILLAR_ROOTS: join(tmp, 'no-pillar'),
})

/** The CLI from the sources (a dist/ bundle in the checkout may predate them). */
const brine = (args: string[], env: Record<string, string | undefined> = {}) =>
  runNode(
    [
      '--import',
      pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
      join(import.meta.dirname, 'helpers', 'cli-source.ts'),
      ...args,
    ],
    { cwd: tmp, env: { ...cleanEnv, ...env } },
  )

describe('cmd: a line without a shell reaches the command literally', () => {
  it('keeps $-braces (a variable in braces) with its braces, as Salt’s shlex.split does', async () => {
    const run = await brine([
      '--out',
      'json',
      'cmd.run',
      `echo \${HOME} $HOME "\${HOME}" '\${HOME}' \${A:-b} \\$x "a\\$b" $'c\\'d'`,
    ])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).local).toBe(
      `\${HOME} $HOME \${HOME} \${HOME} \${A:-b} $x a$b c'd`,
    )
  })

  it('refuses an unclosed quote, naming it', async () => {
    const run = await brine(['cmd.run', 'echo "a'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/double quote that is not closed/)
  })
})

describe('module directories', () => {
  it('-m with a directory that does not exist is a command-line error naming it (exit 2)', async () => {
    const missing = join(tmp, 'no-such-modules')
    const run = await brine(['-m', missing, 'test.ping'])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      `Error: module directory ${missing} (from -m/--module-dirs) does not exist. Give an existing directory of execution modules, or leave it out; nothing was run.\n`,
    )
  })

  it('names the source: BRINE_MODULE_DIRS, the config file; a file is not a directory', async () => {
    const env = await brine(['test.ping'], { BRINE_MODULE_DIRS: `${tmp}:${join(tmp, 'gone')}` })
    expect(env.code).toBe(2)
    expect(env.stderr).toMatch(/gone \(from BRINE_MODULE_DIRS\) does not exist/)
    const config = join(tmp, 'modules.yaml')
    writeFileSync(config, 'module_dirs: [./typo]\n')
    const fromConfig = await brine(['-c', config, 'test.ping'])
    expect(fromConfig.code).toBe(2)
    expect(fromConfig.stderr).toContain(
      `module directory ${join(tmp, 'typo')} (from module_dirs in the config file ${config}) does not exist`,
    )
    const file = await brine(['-m', config, 'test.ping'])
    expect(file.code).toBe(2)
    expect(file.stderr).toMatch(/modules\.yaml \(from -m\/--module-dirs\) is not a directory/)
  })
})

describe('a state requiring itself is a compile error, in Salt’s words', () => {
  const states = join(tmp, 'states')
  mkdirSync(states, { recursive: true })
  writeFileSync(
    join(states, 'self.sls'),
    [
      'marker:',
      '  test.succeed_with_changes: []',
      'a:',
      '  test.nop:',
      '    - require:',
      '      - test: a',
      'b:',
      '  test.nop:',
      '    - name: bee',
      '    - watch:',
      '      - bee',
      'c:',
      '  test.nop:',
      '    - onchanges_in:',
      '      - id: c',
      '',
    ].join('\n'),
  )
  // A glob or sls: reference that also matches the state itself is not an error.
  writeFileSync(
    join(states, 'self_ok.sls'),
    ['d:', '  test.nop:', '    - require:', '      - sls: self_ok', '      - test: "*"', ''].join(
      '\n',
    ),
  )
  const runtime = () =>
    new Runtime({
      opts: defaultOpts({ id: 'web01', file_roots: [states], pillar_roots: [] }),
      pillar: {},
      moduleDirs: [join(import.meta.dirname, '..', 'modules')],
      stateDirs: [join(import.meta.dirname, '..', 'states')],
      signal: new AbortController().signal,
    })

  // Salt's main branch reports the first cycle found, in its dependency graph's words (3006
  // listed every self-requisite, one line each): README, differences between Salt releases.
  it('reports a self-requisite as Salt main does; nothing runs; retcode 1', async () => {
    const rt = runtime()
    try {
      expect(await rt.call('state.sls', { kwargs: { mods: 'self' } })).toEqual([
        "Recursive requisites were found: ({'SLS': 'self', 'ID': 'a'}, 'require', {'SLS': 'self', 'ID': 'a'})",
      ])
      expect(rt.context.retcode).toBe(1)
    } finally {
      await rt.close()
    }
  })

  it('a glob or sls: reference matching the state itself is left out of its targets', async () => {
    const rt = runtime()
    try {
      const result = (await rt.call('state.sls', { kwargs: { mods: 'self_ok' } })) as Record<
        string,
        { result: boolean }
      >
      expect(Object.values(result).map((ret) => ret.result)).toEqual([true])
    } finally {
      await rt.close()
    }
  })

  it('through the CLI: Data failed to compile, exit 1, the marker state did not run', async () => {
    const run = await brine(['--file-root', states, '--out', 'json', 'state.sls', 'self'])
    expect(run.code).toBe(1)
    expect(JSON.parse(run.stdout).local).toContain(
      "Recursive requisites were found: ({'SLS': 'self', 'ID': 'a'}, 'require', {'SLS': 'self', 'ID': 'a'})",
    )
    expect(run.stdout).not.toContain('marker')
  })
})

describe('control characters in names given to vSphere functions', () => {
  const definition = {
    doc: 'test',
    vsphere: true,
    args: {
      name: z.string(),
      vms: z.array(z.string()).default([]),
      annotation: z.string().optional(),
    },
    run: () => null,
  }
  const bind = (kwargs: Record<string, unknown>) => () =>
    bindArguments('vmware_x.create', definition, [], kwargs)

  it('refuses C0, DEL and C1 in a name, escaped in the message', () => {
    for (const [char, shown] of [
      ['\u0007', '\\u0007'],
      ['\u001b', '\\u001b'],
      ['\n', '\\n'],
      ['\u007f', '\\u007f'],
      ['\u009b', '\\u009b'],
    ] as const) {
      expect(bind({ name: `a${char}b` })).toThrow(
        `vmware_x.create: argument 'name' holds a control character, ${shown} at character 2 of "a${shown}b": names in vSphere cannot contain control characters (C0, DEL, C1). Remove it; nothing was sent to vCenter.`,
      )
    }
    expect(bind({ name: 'ok', vms: ['vm1', 'vm\u00072'] })).toThrow(
      /argument 'vms' \(item 2\) holds a control character, \\u0007 at character 3/,
    )
  })

  it('leaves names without them, and arguments that are not names, alone', () => {
    expect(bind({ name: 'dc-1 é ü 東京', annotation: 'line 1\nline 2\tx' })().values).toEqual({
      name: 'dc-1 é ü 東京',
      vms: [],
      annotation: 'line 1\nline 2\tx',
    })
    // Functions that do not talk to vSphere are not checked.
    expect(
      bindArguments('x.y', { ...definition, vsphere: false }, [], { name: 'a\u0007' }).values.name,
    ).toBe('a\u0007')
  })

  it('escapeControlCharacters', () => {
    expect(escapeControlCharacters('a\u0000\u001f\u007f\u0080\u009f\r\té')).toBe(
      'a\\u0000\\u001f\\u007f\\u0080\\u009f\\r\\té',
    )
    expect(escapeControlCharacters('a\nb', '\n')).toBe('a\nb')
  })

  it('through the CLI: exit 1 before any credentials are looked up; no raw control character', async () => {
    const run = await brine(['vmware_datacenter.create', 'lab\u0007\u001b[2J'], {
      SALTEXT_VMWARE_HOST: '127.0.0.1:9',
      SALTEXT_VMWARE_USER: 'u',
      SALTEXT_VMWARE_PASSWORD: 'p',
    })
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      `Error: vmware_datacenter.create: argument 'name' holds a control character, \\u0007 at character 4 of "lab\\u0007\\u001b[2J": names in vSphere cannot contain control characters (C0, DEL, C1). Remove it; nothing was sent to vCenter. Usage: vmware_datacenter.create <name> [folder=…] [profile=…]\n`,
    )
  })

  it('every error printed by the CLI shows control characters escaped', async () => {
    const run = await brine(['test.exception', 'bell\u0007 esc\u001b[31m del\u007f csi\u009b cr\r'])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe('Error: bell\\u0007 esc\\u001b[31m del\\u007f csi\\u009b cr\\r\n')
  })
})

describe('pillar= on the command line', () => {
  it('shows the YAML problem and where it is, not the value (exit 2, nothing run)', async () => {
    const run = await brine([
      'state.single',
      'test.succeed_with_changes',
      'name=x',
      'pillar={a: [}',
    ])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      `Error: pillar= is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ], at line 1, column 6 ('}') of the value. Give a YAML dictionary, like pillar='{"key": "value"}'; nothing was run.\n`,
    )
    // Also with --retcode-passthrough: a command-line error, not a pillar failure (5).
    const passthrough = await brine([
      '--retcode-passthrough',
      'pillar.items',
      'pillar={a: 1, a: 2}',
    ])
    expect(passthrough.code).toBe(2)
    expect(passthrough.stderr).toMatch(/Map keys must be unique, at line 1, column 8 \('a'\)/)
  })

  it('never echoes the value, which may hold a password', async () => {
    const run = await brine(['pillar.items', 'pillar={password: hunter2, b: [}'])
    expect(run.code).toBe(2)
    expect(run.stderr).not.toContain('hunter2')
    expect(run.stderr).toMatch(/^Error: pillar= is not valid YAML: .*, at line 1, column 25/)
  })

  it('an unclosed dictionary is reported at its end; a list or text is not a dictionary', async () => {
    expect((await brine(['pillar.items', 'pillar={a: b'])).stderr).toMatch(
      /Flow map must end with a \}, at the end \(line 1, column 6\) of the value/,
    )
    const list = await brine(['pillar.items', 'pillar=[1, 2]'])
    expect(list.code).toBe(2)
    expect(list.stderr).toBe(
      `Error: pillar= must be a dictionary (got a list), like pillar='{"key": "value"}'; nothing was run.\n`,
    )
  })

  it('a dictionary over several lines is read', async () => {
    const run = await brine(['--out', 'json', 'pillar.items', 'pillar={a:\n  [1, 2]}'])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).local).toEqual({ a: [1, 2] })
  })
})

describe('a result that contains itself', () => {
  const modules = join(tmp, 'cyclic', '_modules')
  const states = join(tmp, 'cyclic', '_states')
  mkdirSync(modules, { recursive: true })
  mkdirSync(states, { recursive: true })
  writeFileSync(
    join(modules, 'cyclic.ts'),
    `import { defineFunction, defineModule } from 'brine/loader'
export default defineModule({
  functions: {
    loop: defineFunction({
      doc: 'A dict holding itself in a list.',
      args: {},
      run: () => {
        const vm: Record<string, unknown> = { name: 'vm1' }
        vm.disks = [{ parent: vm }]
        return { vms: [vm] }
      },
    }),
    shared: defineFunction({
      doc: 'One dict in two places: not a cycle.',
      args: {},
      run: () => {
        const tag = { name: 't' }
        return { a: tag, b: [tag] }
      },
    }),
    caller: defineFunction({
      doc: 'Uses a cyclic cross-call result internally and returns plain data.',
      args: {},
      run: async (ctx) => Object.keys((await ctx.salt('cyclic.loop')) as object),
    }),
  },
})
`,
  )
  writeFileSync(
    join(states, 'cyclic.ts'),
    `import { defineFunction, defineModule, z } from 'brine/loader'
export default defineModule({
  functions: {
    changes: defineFunction({
      doc: 'A state whose changes hold themselves.',
      args: { name: z.string() },
      run: (_ctx, { name }) => {
        const changes: Record<string, unknown> = {}
        changes.again = changes
        return { name, result: true, comment: '', changes }
      },
    }),
  },
})
`,
  )

  it('names the function and where the loop is (exit 1, every outputter)', async () => {
    for (const out of ['nested', 'json', 'yaml', 'raw']) {
      const run = await brine(['-m', modules, '--out', out, 'cyclic.loop'])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toBe(
        'Error: cyclic.loop returned a value that contains itself: result.vms[0].disks[0].parent refers back to result.vms[0]. A result must be data that can be printed (dicts, lists, strings, numbers); return a copy without the back reference.\n',
      )
    }
  })

  it('a state whose return contains itself: the state run names its tag', async () => {
    const run = await brine(['-m', modules, 'state.single', 'cyclic.changes', 'name=x'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /^Error: state\.single returned a value that contains itself: result\["cyclic_\|-x_\|-x_\|-changes"\]\.changes\.again refers back to/,
    )
  })

  it('a value in two places is not a loop; a cross-call result is the caller’s to use', async () => {
    const shared = await brine(['-m', modules, '--out', 'json', 'cyclic.shared'])
    expect(shared.code).toBe(0)
    expect(JSON.parse(shared.stdout).local).toEqual({ a: { name: 't' }, b: [{ name: 't' }] })
    const caller = await brine(['-m', modules, '--out', 'json', 'cyclic.caller'])
    expect(caller.code).toBe(0)
    expect(JSON.parse(caller.stdout).local).toEqual(['vms'])
  })

  it('checkResult: secrets and toJSON values are not walked; too deep is refused', () => {
    const secret = new Secret('pw')
    expect(() => checkResult('m.f', { secret, date: new Date(0), n: null, s: 'x' })).not.toThrow()
    let deep: unknown = 'leaf'
    for (let i = 0; i < 600; i++) deep = { a: deep }
    expect(() => checkResult('m.f', deep)).toThrow(
      /^m\.f returned a value nested more than 500 levels deep \(at result\.a\.a/,
    )
    const list: unknown[] = []
    list.push(list)
    expect(() => checkResult('m.f', list)).toThrow('result[0] refers back to result.')
  })
})
