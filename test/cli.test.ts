import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bin, isolatedCliEnv, runCli } from './helpers/cli.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const fixtures = join(import.meta.dirname, 'fixtures')
const tmp = mkdtempSync(join(tmpdir(), 'brine-cli-'))
const cleanEnv = isolatedCliEnv(tmp)
const brine = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: tmp, env: { ...cleanEnv, ...env } })

describe('brine CLI: arguments and output', () => {
  it('types values as Salt does and keeps positional order', async () => {
    const { code, stdout } = await brine([
      'call',
      '--out',
      'json',
      'test.arg',
      '1',
      '2.5',
      'yes',
      'None',
      'text',
      '{a: 1}',
      'foo: bar',
      '[1, two]',
      'k=v',
      'n=010',
      'flag=False',
      'empty=',
    ])
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toEqual({
      local: {
        args: [1, 2.5, true, null, 'text', { a: 1 }, 'foo: bar', [1, 'two']],
        kwargs: { k: 'v', n: 8, flag: false, empty: '' },
      },
    })
  })

  it('prints each outputter as Salt does', async () => {
    const nested = await brine(['test.arg', 'a', 'k=1'])
    expect(nested.stdout).toBe(
      'local:\n    ----------\n    args:\n        - a\n    kwargs:\n        ----------\n        k:\n            1\n',
    )
    expect((await brine(['--out', 'yaml', 'test.echo', 'hi'])).stdout).toBe('local: hi\n')
    expect((await brine(['--out', 'raw', 'test.arg', 'a', 'b=True'])).stdout).toBe(
      "{'local': {'args': ['a'], 'kwargs': {'b': True}}}\n",
    )
    expect((await brine(['--out', 'json', 'test.ping'])).stdout).toBe('{\n    "local": true\n}\n')
    const quiet = await brine(['--out', 'quiet', 'test.ping'])
    expect(quiet).toMatchObject({ code: 0, stdout: '' })
    const file = join(tmp, 'out.json')
    expect(
      (await brine(['--out', 'json', '--out-file', file, 'test.echo', 'to-file'])).stdout,
    ).toBe('')
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ local: 'to-file' })
  })

  it('colors nested output only when asked or on a TTY', async () => {
    const colored = await brine(['test.ping'], { NO_COLOR: undefined, FORCE_COLOR: '1' })
    expect(colored.stdout).toContain('\x1b[93mTrue\x1b[0m')
    expect(
      (await brine(['--no-color', 'test.ping'], { NO_COLOR: undefined, FORCE_COLOR: '1' })).stdout,
    ).toBe('local:\n    True\n')
  })

  it('documents itself: --help, --version, sys.doc', async () => {
    const help = await brine(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/Usage: brine \[options\] call <module.function>/)
    expect(help.stdout).toMatch(/Exit codes: 0 success, 1 the call failed, 2 bad command line/)
    expect((await brine(['-V'])).stdout).toMatch(/^brine \d+\.\d+\.\d+\n$/)
    const doc = await brine(['--out', 'json', 'sys.doc', 'vmware_datacenter'])
    const docs = JSON.parse(doc.stdout).local as Record<string, string>
    expect(Object.keys(docs).sort()).toEqual([
      'vmware_datacenter.create',
      'vmware_datacenter.delete',
      'vmware_datacenter.get',
      'vmware_datacenter.list',
      'vmware_datacenter.rename',
    ])
    expect(docs['vmware_datacenter.create']).toMatch(
      /Usage: vmware_datacenter.create <name> \[folder=…\] \[profile=…\]/,
    )
  })
})

describe('brine CLI: errors and exit codes', () => {
  it('names an unknown function, with close matches, in one paragraph and exit 1', async () => {
    const result = await brine(['test.pnig'])
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toBe("Error: 'test.pnig' is not available. Did you mean: test.ping?\n")
  })

  it('rejects bad arguments with the argument name and usage', async () => {
    const bad = await brine(['test.sleep', 'abc'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(
      /test\.sleep: argument 'length' must be a number \(got string "abc"\)\. Usage: test\.sleep <length>/,
    )
    const unknown = await brine(['test.echo', 'x', 'colour=red'])
    expect(unknown.stderr).toMatch(/unknown argument 'colour'\. Arguments: text/)
  })

  it('exits 2 for a bad command line or config file, and 1 when the function fails', async () => {
    expect((await brine(['--bogus', 'test.ping'])).code).toBe(2)
    expect((await brine(['--out', 'xml', 'test.ping'])).stderr).toMatch(
      /--out xml is not one of nested, highstate, json, yaml, raw, txt, quiet/,
    )
    expect((await brine([])).code).toBe(2)
    const config = join(tmp, 'bad.yaml')
    writeFileSync(config, 'id: minion\nfile_roots: [unclosed\n')
    const badConfig = await brine(['--config', config, 'test.ping'])
    expect(badConfig.code).toBe(2)
    expect(badConfig.stderr).toMatch(/config file .*bad\.yaml, line \d: /)
    const missing = await brine(['--config', join(tmp, 'nope.yaml'), 'test.ping'])
    expect(missing).toMatchObject({ code: 2 })
    expect(missing.stderr).toMatch(/cannot read the config file .*nope\.yaml: ENOENT/)

    const failed = await brine(['test.exception', 'it broke'])
    expect(failed).toMatchObject({ code: 1, stderr: 'Error: it broke\n' })
    const debug = await brine(['-l', 'debug', 'test.exception', 'it broke'])
    expect(debug.stderr).toMatch(/code: BRINE_TEST_EXCEPTION\nModuleError: it broke\n\s+at /)
  })

  it('passes the function’s retcode through when asked', async () => {
    expect((await brine(['test.retcode', '7'])).code).toBe(1)
    expect((await brine(['--retcode-passthrough', 'test.retcode', '7'])).code).toBe(7)
    expect((await brine(['--retcode-passthrough', 'test.retcode', '0'])).code).toBe(0)
  })

  it('explains missing vSphere credentials before any connection', async () => {
    const result = await brine(['vmware_datacenter.list'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /vSphere credentials incomplete for the default profile: missing host, user, password/,
    )
  })

  it('stops on SIGINT with exit 130', async () => {
    // SIGINT once the function runs (the debug log says so), not after a fixed wait: a slow
    // start would otherwise get the signal before brine handles it.
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries({ ...process.env, ...cleanEnv, NO_COLOR: '1' }))
      if (value !== undefined) env[key] = value
    const child = spawn(process.execPath, [bin, '-l', 'debug', 'test.sleep', '30'], {
      cwd: tmp,
      env,
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      const before = stderr
      stderr += chunk
      if (!before.includes('calling test.sleep') && stderr.includes('calling test.sleep'))
        child.kill('SIGINT')
    })
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.on('error', reject)
        child.on('close', (c, s) => resolve([c, s]))
      },
    )
    expect({ code, signal }).toEqual({ code: 130, signal: null })
    expect(stderr).toMatch(/interrupted by SIGINT/)
  })
})

describe('brine CLI: pillar and secrets', () => {
  it('reads pillar with a:b paths and defaults, merges pillar= last, and never prints secrets', async () => {
    const args = ['--pillar-root', join(fixtures, 'pillar-basic'), '--id', 'web01', '--out', 'json']
    const host = await brine([...args, 'pillar.get', 'saltext.vmware:host'])
    expect(JSON.parse(host.stdout).local).toBe('vc.lab.example.com')
    expect(
      JSON.parse((await brine([...args, 'pillar.get', 'nope:missing', 'fallback'])).stdout).local,
    ).toBe('fallback')
    expect(
      JSON.parse((await brine([...args, 'pillar.get', 'site', 'pillar={site: cli}'])).stdout).local,
    ).toBe('cli')
    const password = await brine([...args, 'pillar.get', 'saltext.vmware:password'])
    expect(password.stdout).not.toContain('common-Passw0rd')
    expect(JSON.parse(password.stdout).local).toBe('***')
    const items = await brine([...args.slice(0, -2), 'pillar.items'])
    expect(items.stdout).not.toContain('common-Passw0rd')
    expect(items.stdout).toContain('vc.lab.example.com')
  })

  it('reports pillar errors with file and line on stderr', async () => {
    const result = await brine([
      '--pillar-root',
      join(fixtures, 'pillar-bad'),
      'pillar.get',
      'good',
    ])
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/broken\.sls' failed \(jinja, line 3\)/)
  })

  it('gives config values env > opts > pillar precedence in config.get', async () => {
    const config = join(tmp, 'config-get.yaml')
    writeFileSync(config, 'id: cfg\nmy_key: from-opts\n')
    const args = ['--config', config, '--out', 'json', 'config.get', 'my_key']
    expect(JSON.parse((await brine(args)).stdout).local).toBe('from-opts')
    expect(JSON.parse((await brine(args, { BRINE_MY_KEY: 'from-env' })).stdout).local).toBe(
      'from-env',
    )
  })
})

describe('brine CLI: cmd module', () => {
  it('runs without a shell, so arguments cannot inject commands', async () => {
    const marker = join(tmp, 'injected')
    const quoted = await brine([
      '--out',
      'json',
      'cmd.run',
      `echo "safe; touch ${marker}" '$(id)' $HOME`,
    ])
    expect(JSON.parse(quoted.stdout).local).toBe(`safe; touch ${marker} $(id) $HOME`)
    const bare = await brine(['cmd.run', `echo safe; touch ${marker}`])
    expect(bare.code).toBe(1)
    expect(bare.stderr).toMatch(/contains shell syntax/)
    expect(() => readFileSync(marker)).toThrow()
    const piped = await brine(['cmd.run', 'echo a | cat'])
    expect(piped.code).toBe(1)
    expect(piped.stderr).toMatch(/contains shell syntax .*python_shell=True/)
    const all = await brine(['--out', 'json', 'cmd.run_all', 'cat', 'stdin=hello', `cwd=${tmp}`])
    expect(JSON.parse(all.stdout).local).toMatchObject({ retcode: 0, stdout: 'hello', stderr: '' })
    const shell = await brine([
      '--out',
      'json',
      'cmd.run',
      'echo $((6*7)) | tr 4 X',
      'python_shell=True',
    ])
    expect(JSON.parse(shell.stdout).local).toBe('X2')
    expect(JSON.parse((await brine(['--out', 'json', 'cmd.retcode', 'false'])).stdout).local).toBe(
      1,
    )
    const timedOut = await brine(['--out', 'json', 'cmd.run_all', 'sleep 5', 'timeout=0.3'])
    expect(JSON.parse(timedOut.stdout).local.retcode).not.toBe(0)
  })
})

describe('brine CLI against vcsim', () => {
  let vcsim: Vcsim
  let config: string
  beforeAll(async () => {
    vcsim = await startVcsim()
    config = join(tmp, 'vcsim.yaml')
    writeFileSync(
      config,
      `id: cli-test\nsaltext.vmware:\n  host: ${vcsim.url}\n  user: cli-user\n  password: cli-Passw0rd\n  ca_file: ${vcsim.caFile}\n`,
    )
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  it('lists, creates and reports DuplicateName, logging out after each process', async () => {
    const list = await brine(['--config', config, '--out', 'json', 'vmware_datacenter.list'])
    expect(list.stderr).toBe('')
    expect(JSON.parse(list.stdout).local).toEqual(['DC0'])
    const created = await brine([
      '--config',
      config,
      '--out',
      'json',
      'vmware_datacenter.create',
      'DC-cli',
    ])
    expect(JSON.parse(created.stdout).local).toMatchObject({
      name: 'DC-cli',
      id: expect.stringMatching(/^datacenter-/),
    })
    const dup = await brine(['--config', config, 'vmware_datacenter.create', 'DC-cli'])
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/CreateDatacenter on Folder:group-d1 failed: DuplicateName/)
    expect(dup.stderr).not.toContain('cli-Passw0rd')
    expect(await sessionsOf(vcsim, 'cli-user')).toHaveLength(0)
  })

  it('loads the vSphere client only for vSphere functions', async () => {
    const ping = await brine(['--config', config, '-l', 'debug', 'test.ping'])
    expect(ping.stderr).not.toContain('brine/vsphere')
    const list = await brine(['--config', config, '-l', 'debug', 'vmware_datacenter.list'])
    expect(list.stderr).toContain('host module brine/vsphere loaded')
    expect(list.stderr).not.toContain('cli-Passw0rd')
  })

  it('reuses one vCenter session across processes with the session store', async () => {
    const store = join(tmp, 'store')
    const env = { BRINE_SESSION_DIR: store }
    for (let i = 0; i < 3; i++) {
      const result = await brine(
        ['--config', config, '--session-store', '--out', 'json', 'vmware_datacenter.list'],
        env,
      )
      expect(JSON.parse(result.stdout).local).toContain('DC0')
    }
    const sessions = await sessionsOf(vcsim, 'cli-user')
    expect(sessions).toHaveLength(1)
    expect(sessions[0]!.callCount ?? 0).toBeGreaterThan(3)
  })

  it('dumps named inspection points, redacted', async () => {
    const result = await brine(['--config', config, 'vmware_datacenter.get', 'DC0'], {
      BRINE_INSPECT: 'ENT1,SOAP1',
    })
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/\[inspect:ENT1\] Datacenter 'DC0'\n\{\n {2}"candidates": \[/)
    expect(result.stderr).toContain('[inspect:SOAP1] → Login')
    expect(result.stderr).toContain('<password>***</password>')
    expect(result.stderr).not.toContain('cli-Passw0rd')
  })

  it('reaches the storage-policy endpoint on the same session, the cookie header redacted', async () => {
    const result = await brine(
      ['--config', config, '--out', 'json', 'vmware_storage_policies.find'],
      {
        BRINE_INSPECT: 'SOAP1',
      },
    )
    expect(result.code).toBe(0)
    expect(
      JSON.parse(result.stdout).local.map((p: { policyName: string }) => p.policyName),
    ).toContain('vSAN Default Storage Policy')
    expect(result.stderr.match(/\[inspect:SOAP1\] → Login/g)).toHaveLength(1)
    expect(result.stderr).toContain('<vcSessionCookie>***</vcSessionCookie>')
    expect(result.stderr).not.toMatch(/<vcSessionCookie>[^*]/)
  })

  it('uses profiles and reports an unknown one', async () => {
    const profiles = join(tmp, 'profiles.yaml')
    writeFileSync(
      profiles,
      `saltext.vmware:\n  lab:\n    host: ${vcsim.url}\n    user: profile-user\n    password: pw\n    ca_file: ${vcsim.caFile}\n`,
    )
    const ok = await brine([
      '--config',
      profiles,
      '--out',
      'json',
      'vmware_datacenter.list',
      'profile=lab',
    ])
    expect(JSON.parse(ok.stdout).local).toContain('DC0')
    const unknown = await brine(['--config', profiles, 'vmware_datacenter.list', 'profile=prod'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/profile 'prod' is not configured .*profiles: lab/)
  })

  it('fails TLS verification clearly without a CA or thumbprint', async () => {
    const noCa = join(tmp, 'noca.yaml')
    writeFileSync(noCa, `saltext.vmware:\n  host: ${vcsim.url}\n  user: u\n  password: p\n`)
    const result = await brine(['--config', noCa, 'vmware_datacenter.list'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /TLS verification of 127\.0\.0\.1:\d+ failed .*ca_file or ssl_thumbprint/,
    )
  })
})

describe('--timeout', () => {
  it('aborts the call after that long (exit 1, BRINE_TIMEOUT named); a bad value runs nothing (exit 2)', async () => {
    expect(await brine(['--timeout', '1', 'test.sleep', '600'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'Error: the call ran past --timeout 1 s and was aborted (vCenter tasks it started are cancelled)\n',
    })
    expect(await brine(['-t', '0', 'test.ping'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'Error: --timeout 0 is not a number of seconds above 0 (at most 86400).\n',
    })
    // A deadline the call meets changes nothing.
    expect(await brine(['--timeout', '600', 'test.ping'])).toMatchObject({
      code: 0,
      stdout: 'local:\n    True\n',
    })
  })
})
