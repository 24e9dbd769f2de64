import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, isolatedCliEnv, runCli } from './helpers/cli.ts'
import { secretForms } from './helpers/secret-forms.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

/**
 * Secrets through the real CLI, for every outputter: passwords that JSON, YAML and Python
 * escape, that are short, that are common words of the output (`vmware`, `local`,
 * `present`), or unicode. None may appear in stdout, stderr or an out-file in any escaping,
 * and the words they share with the output must not be garbled.
 */
const PASSWORDS = [`p"a\\s's`, 'ab', 'vmware', 'local', 'pässwörd✓€', 'present']
const OUTPUTS = ['nested', 'json', 'yaml', 'raw', 'quiet'] as const

const tmp = mkdtempSync(join(tmpdir(), 'brine-secrets-'))
const cleanEnv = isolatedCliEnv(tmp)

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Where `form` stands as a whole token in `text` (a word that is part of a longer identifier,
 * such as `vmware` in `vmware_datacenter.present`, is not the secret). The `local` that
 * Salt's outputters print as the minion's name is taken out first.
 */
function leaks(text: string, secret: string): string[] {
  const shown = text
    .replace(/^local:/gm, '')
    .replace(/^\{?\s*"local":/gm, '')
    .replace(/^\{'local':/gm, '')
    .replace(/^Summary for local$/gm, '')
  const found: string[] = []
  for (const form of new Set(secretForms(secret))) {
    const left = /^[\p{L}\p{N}_]/u.test(form) ? '(?<![\\p{L}\\p{N}_]|[\\p{L}\\p{N}_][.-])' : ''
    const right = /[\p{L}\p{N}_]$/u.test(form) ? '(?![\\p{L}\\p{N}_]|[.-][\\p{L}\\p{N}_])' : ''
    const match = new RegExp(`${left}${escapeRegExp(form)}${right}`, 'u').exec(shown)
    if (match)
      found.push(`${form} in …${shown.slice(Math.max(0, match.index - 60), match.index + 60)}…`)
  }
  return found
}

function expectNoLeak(result: CliResult, secret: string, outFile?: string): void {
  expect(leaks(result.stdout, secret), 'stdout').toEqual([])
  expect(leaks(result.stderr, secret), 'stderr').toEqual([])
  if (outFile) expect(leaks(readFileSync(outFile, 'utf8'), secret), 'out-file').toEqual([])
}

describe('secrets never shown, whatever the outputter', () => {
  let vcsim: Vcsim
  const dirs = new Map<string, string>()

  beforeAll(async () => {
    vcsim = await startVcsim()
    PASSWORDS.forEach((password, i) => {
      const dir = join(tmp, `p${i}`)
      mkdirSync(join(dir, 'pillar'), { recursive: true })
      mkdirSync(join(dir, 'salt'), { recursive: true })
      // JSON is YAML: any password is written exactly.
      const config = {
        id: 'secrets-test',
        pillar_roots: [join(dir, 'pillar')],
        file_roots: [join(dir, 'salt')],
        'saltext.vmware': {
          host: vcsim.url,
          user: 'root',
          password,
          ca_file: vcsim.caFile,
        },
      }
      writeFileSync(join(dir, 'brine.yaml'), JSON.stringify(config, null, 2))
      writeFileSync(join(dir, 'pillar', 'top.sls'), "base:\n  '*':\n    - app\n")
      writeFileSync(
        join(dir, 'pillar', 'app.sls'),
        JSON.stringify({ app: { db_password: password, comment: `logs in with ${password}` } }),
      )
      dirs.set(password, dir)
    })
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  const brine = (password: string, args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd: dirs.get(password), env: { ...cleanEnv, ...env } })

  for (const password of PASSWORDS) {
    const label = JSON.stringify(password)

    it(`${label}: config.get, pillar.items and test.echo in every outputter`, async () => {
      for (const out of OUTPUTS) {
        for (const call of [
          ['config.get', 'saltext.vmware:password'],
          ['config.get', 'saltext.vmware'],
          ['pillar.items'],
          ['test.echo', `the password is ${password}, really`],
        ]) {
          const result = await brine(password, ['--out', out, ...call])
          expect(result.code, `${out} ${call.join(' ')}: ${result.stderr}`).toBe(0)
          expectNoLeak(result, password)
        }
      }
      const json = await brine(password, ['--out', 'json', 'config.get', 'saltext.vmware'])
      expect(JSON.parse(json.stdout).local).toMatchObject({ user: 'root', password: '***' })
      const nested = await brine(password, ['config.get', 'saltext.vmware:password'])
      expect(nested.stdout).toBe('local:\n    ***\n')
      const echo = await brine(password, ['--out', 'yaml', 'test.echo', `is ${password}.`])
      expect(echo.stdout).toBe('local: is ***.\n')
    })

    it(`${label}: --out-file holds no secret`, async () => {
      for (const out of ['json', 'yaml', 'raw', 'nested']) {
        const file = join(dirs.get(password)!, `out.${out}`)
        const result = await brine(password, [
          '--out',
          out,
          '--out-file',
          file,
          'config.get',
          'saltext.vmware',
        ])
        expect(result.code).toBe(0)
        expect(readFileSync(file, 'utf8')).toContain('root')
        expectNoLeak(result, password, file)
      }
    })

    it(`${label}: highstate (state.single) keeps names readable and masks the secret`, async () => {
      const present = await brine(password, [
        'state.single',
        'vmware_datacenter.present',
        'name=DC0',
      ])
      expect(present.code, present.stderr).toBe(0)
      expect(present.stdout).toContain('    Function: vmware_datacenter.present\n')
      expectNoLeak(present, password)

      const configurable = await brine(password, [
        'state.single',
        'test.configurable_test_state',
        'name=vmware_datacenter.present',
        `comment=login with ${password} failed`,
        `changes=${JSON.stringify({ password: { old: password, new: 'x' }, note: password })}`,
      ])
      expect(configurable.code, configurable.stderr).toBe(0)
      expect(configurable.stdout).toContain('          ID: vmware_datacenter.present\n')
      expect(configurable.stdout).toContain('    Function: test.configurable_test_state\n')
      expect(configurable.stdout).toContain('     Comment: login with *** failed\n')
      expect(configurable.stdout).toContain('Summary for local\n')
      expectNoLeak(configurable, password)

      // The same run as JSON: structure kept, secrets masked.
      const json = await brine(password, [
        '--out',
        'json',
        'state.single',
        'test.configurable_test_state',
        'name=vmware_datacenter.present',
        `changes=${JSON.stringify({ password: { old: password, new: 'x' } })}`,
      ])
      expectNoLeak(json, password)
      const [ret] = Object.values(JSON.parse(json.stdout).local) as Array<Record<string, unknown>>
      expect(ret?.changes).toEqual({ password: { old: '***', new: '***' } })
      expect(ret?.name).toBe('vmware_datacenter.present')
    })

    it(`${label}: SOAP trace and debug logs of a real login mask it`, async () => {
      const result = await brine(password, ['-l', 'trace', 'vmware_datacenter.list'], {
        BRINE_DEBUG: '1',
      })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toBe('local:\n    - DC0\n')
      expect(result.stderr).toContain('<password>***</password>')
      expectNoLeak(result, password)
    })
  }

  it('an argument error does not echo the value of a password argument', async () => {
    const password = PASSWORDS[0]!
    const result = await brine(password, [
      'vmware_host.add',
      'esx.example.com',
      'DC0',
      'user=root',
      'password=80551234',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("argument 'password' must be a string (got a number)")
    expect(result.stderr).not.toContain('80551234')
    // Other arguments still echo what they were given.
    const other = await brine(password, ['test.sleep', 'abc'])
    expect(other.stderr).toContain('abc')
  })

  it('a numeric password in the config file (a number once YAML read it) never shows', async () => {
    const dir = join(tmp, 'numeric')
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, 'brine.yaml'),
      `saltext.vmware:\n  host: ${vcsim.url}\n  user: root\n  password: 80551234\n  api_key: 4242424242\n`,
    )
    for (const out of OUTPUTS) {
      for (const key of ['saltext.vmware', 'saltext.vmware:password', 'saltext.vmware:api_key']) {
        const result = await runCli(['--out', out, 'config.get', key], { cwd: dir, env: cleanEnv })
        expect(result.code, `${out} ${key}: ${result.stderr}`).toBe(0)
        expect(result.stdout, `${out} ${key}`).not.toContain('80551234')
        expect(result.stdout, `${out} ${key}`).not.toContain('4242424242')
      }
    }
  })

  it('the Jinja error "unexpected token: %}" stays readable', async () => {
    const password = PASSWORDS[0]!
    const dir = dirs.get(password)!
    writeFileSync(join(dir, 'salt', 'bad.sls'), 'x:\n  test.nop:\n    - name: {% if %}\n')
    const state = await brine(password, ['state.sls', 'bad'])
    expect(state.stdout).toContain('unexpected token: %}')
    expect(state.stdout).not.toContain('***')

    const pillarDir = join(dir, 'badpillar')
    mkdirSync(pillarDir, { recursive: true })
    writeFileSync(join(pillarDir, 'top.sls'), "base:\n  '*':\n    - bad\n")
    writeFileSync(join(pillarDir, 'bad.sls'), 'a: {% if %}\n')
    const pillar = await brine(password, ['--pillar-root', pillarDir, 'pillar.items'])
    expect(pillar.stderr).toContain('unexpected token: %}')
    expect(pillar.stdout).toContain('unexpected token: %}')
    expect(`${pillar.stdout}${pillar.stderr}`).not.toContain('***')
  })
})
