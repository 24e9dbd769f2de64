// Adversarial secrets test for what issues 15 and 16 added: guest operation credentials,
// Windows customization (admin and domain passwords, product key; stored specs read back),
// content library subscriptions (BASIC password), the vAPI REST session token, ESXi users
// (add_user, check_password, password_present), configuration bundles (backup_config and
// restore_config, uploaded with the host's credentials) and esxi_host credentials.
//
// Each runs through the real CLI (dist/: `npm run build` first) in every outputter, with
// trace logs, BRINE_DEBUG=soap and BRINE_INSPECT=* (SOAP bodies and every vSphere call), a
// session store and a transpile cache of its own, on its success and failure paths. The rule
// checked (CONTRIBUTING.md): passwords, keys, tickets and tokens appear in none of stdout,
// stderr, --out-file, the session store or caches. Each secret is also shown to be used (the
// call works with it, or vCenter holds it), so that a test passing means it went out.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redact } from '../core/redact.ts'
import { callVim, runTask } from '../vsphere/call.ts'
import { typed } from '../vsphere/codec.ts'
import { createContentLibraryClient } from '../vsphere/content-library.ts'
import { ENTITY_TYPES, getEntity } from '../vsphere/entities.ts'
import { withSession } from '../vsphere/one-shot.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { type CliResult, isolatedCliEnv, runCli } from './helpers/cli.ts'
import { startDaemon } from './helpers/daemon.ts'
import { secretForms } from './helpers/secret-forms.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const tmp = mkdtempSync(join(tmpdir(), 'brine-secrets-new-'))
/** Everything brine may write on its own: scanned at the end. */
const written = {
  sessions: join(tmp, 'sessions'),
  runtime: join(tmp, 'runtime'),
  cache: join(tmp, 'cache'),
  xdg: join(tmp, 'xdg'),
  cachedir: join(tmp, 'cachedir'),
  outFiles: join(tmp, 'out'),
}
mkdirSync(written.outFiles, { recursive: true })
/** What the test itself knows (config files, captured tokens): never scanned. */
const own = join(tmp, 'own')
mkdirSync(own)

const S = {
  vcenter: 'S3cr3t-vc-3JD',
  hostCred: 'S3cr3t-hostcred-5YB',
  guest: 'S3cr3t-guest-9QX',
  wrongGuest: 'Wr0ng-guest-7ZK',
  admin: 'S3cr3t-admin-4HV',
  domain: 'S3cr3t-domain-2MW',
  productKey: 'PK7QX-48KDW-9TRHB-2MVCX-QJ4WP',
  numericKey: '734519028461',
  subscription: 'S3cr3t-sub-6LN',
  user1: 'S3cr3t-user-1AF',
  user2: 'S3cr3t-user-2BG',
  urlPassword: 'S3cr3t-url-8CP',
  urlNoUser: 'S3cr3t-nouser-4DT',
  numeric: '80553317',
  /** A guest password that JSON, YAML, XML, Python and URLs all escape. */
  escaped: `Gü<&>"'\\-9QX`,
  /** A wrong esxi_host password in the config. */
  wrongHostCred: 'Wr0ng-hostcred-6TA',
  /** The value of a guest environment variable named like a password. */
  guestEnv: 'S3cr3t-env-5WU',
  /** In a sysprep answer file (unattend.xml) stored in vCenter by someone else. */
  unattendAdmin: 'S3cr3t-unattend-6PE',
  unattendDomain: 'S3cr3t-unattend-dom-3KS',
  unattendKey: 'UNTKY-55555-66666-77777-88888',
}

// The vAPI REST session token, as sent: a preload script records the vmware-api-session-id
// header of every request undici makes (its diagnostics channel), outside the scanned dirs.
const tokenLog = join(own, 'rest-tokens.txt')
const preload = join(own, 'record-rest-tokens.mjs')
writeFileSync(
  preload,
  `import { subscribe } from 'node:diagnostics_channel'
import { appendFileSync } from 'node:fs'
subscribe('undici:request:create', ({ request }) => {
  const h = request.headers
  const text = Array.isArray(h) ? h.map(String).join('\\n') : String(h)
  const m = /vmware-api-session-id(?::[ \\t]*|\\n)([^\\r\\n]+)/i.exec(text)
  if (m) appendFileSync(${JSON.stringify(tokenLog)}, m[1].trim() + '\\n')
})
`,
)
const restTokens = () =>
  existsSync(tokenLog)
    ? [...new Set(readFileSync(tokenLog, 'utf8').split('\n').filter(Boolean))]
    : []

const env = isolatedCliEnv(tmp, {
  BRINE_SESSION_DIR: written.sessions,
  BRINE_RUNTIME_DIR: written.runtime,
  BRINE_CACHE_DIR: written.cache,
  XDG_CACHE_HOME: written.xdg,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(preload).href}`,
})

/** Every form of every secret that could show: escaped, and inside HTTP Basic credentials. */
function forms(): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [name, secret] of Object.entries(S)) {
    for (const form of new Set(secretForms(secret))) out.push([name, form])
    for (const user of ['root', 'reader', 'svc', 'secrets'])
      out.push([`${name} (Basic ${user})`, Buffer.from(`${user}:${secret}`).toString('base64')])
  }
  for (const token of restTokens()) out.push(['REST session token', token])
  return out
}

/** The secrets (and secret-shaped values brine could not know) found in `text`. */
function leaksIn(text: string): string[] {
  const found = forms()
    .filter(([, form]) => text.includes(form))
    .map(([name]) => name)
  // A guest file transfer URL's one-time token, a REST session header: whatever their value.
  for (const shape of [/token=(?!\*\*\*)[\w-]{6,}/i, /vmware-api-session-id\W{0,3}(?!\*\*\*)\w/i])
    if (shape.test(text)) found.push(`${shape}: ${shape.exec(text)?.[0]}`)
  return found
}

function expectClean(what: string, result: CliResult, outFile?: string) {
  expect(leaksIn(result.stdout), `${what}: stdout`).toEqual([])
  expect(leaksIn(result.stderr), `${what}: stderr`).toEqual([])
  if (outFile && existsSync(outFile))
    expect(leaksIn(readFileSync(outFile, 'utf8')), `${what}: out-file`).toEqual([])
}

interface Variant {
  label: string
  args: string[]
  env?: Record<string, string>
  outFile?: boolean
  /** false: without --session-store (a daemon serves only calls with its own options). */
  sessionStore?: false
}
/** Outputters and debug switches for a function call. */
const CALL_VARIANTS: Variant[] = [
  { label: 'json trace out-file', args: ['--out', 'json', '-l', 'trace'], outFile: true },
  { label: 'nested trace', args: ['--out', 'nested', '-l', 'trace'] },
  { label: 'yaml soap', args: ['--out', 'yaml'], env: { BRINE_DEBUG: 'soap' } },
  { label: 'txt inspect', args: ['--out', 'txt'], env: { BRINE_DEBUG: '*', BRINE_INSPECT: '*' } },
  { label: 'raw debug', args: ['--out', 'raw', '-l', 'debug'] },
]
/** Highstate modes and the same switches for a state run. */
const STATE_VARIANTS: Variant[] = [
  { label: 'json trace out-file', args: ['--out', 'json', '-l', 'trace'], outFile: true },
  ...['full', 'terse', 'mixed', 'changes'].map((mode) => ({
    label: `highstate ${mode}`,
    args: ['--state-output', mode, '-l', 'trace'],
  })),
  { label: 'yaml inspect', args: ['--out', 'yaml'], env: { BRINE_DEBUG: '*', BRINE_INSPECT: '*' } },
  { label: 'nested soap', args: ['--out', 'nested'], env: { BRINE_DEBUG: 'soap' } },
]

let vc: Vcsim
let esx: Vcsim
/** An ESXi host with local accounts (any user logs in until UpdateUser gives a password). */
let esxUsers: Vcsim
const vcDir = join(own, 'vc')
const esxDir = join(own, 'esx')
const usersDir = join(own, 'esx-users')

/**
 * Run `args` in `dir` once per variant (the first variant's JSON is returned), each with the
 * session store on; every run must exit with `code` (null: any) and show no secret.
 */
async function sweep(
  dir: string,
  args: string[],
  {
    code = 0,
    state = false,
    variants,
  }: { code?: number | null; state?: boolean; variants?: Variant[] } = {},
): Promise<{ json: unknown; results: CliResult[] }> {
  const results: CliResult[] = []
  let json: unknown
  for (const [i, variant] of (variants ?? (state ? STATE_VARIANTS : CALL_VARIANTS)).entries()) {
    const outFile = variant.outFile
      ? join(written.outFiles, `${args[0]}-${results.length}-${Date.now()}.out`)
      : undefined
    const result = await runCli(
      [
        ...(variant.sessionStore === false ? [] : ['--session-store']),
        ...variant.args,
        ...(outFile ? ['--out-file', outFile] : []),
        ...args,
      ],
      { cwd: dir, env: { ...env, ...variant.env } },
    )
    const what = `${args.join(' ')} [${variant.label}]`
    if (code !== null) expect(result.code, `${what}: ${result.stderr.slice(-2000)}`).toBe(code)
    expectClean(what, result, outFile)
    if (i === 0) {
      const text = outFile && existsSync(outFile) ? readFileSync(outFile, 'utf8') : result.stdout
      try {
        json = JSON.parse(text)
      } catch {
        json = text
      }
    }
    // With --out-file, what the reader gets is the file.
    results.push(
      outFile && existsSync(outFile)
        ? { ...result, stdout: readFileSync(outFile, 'utf8') }
        : result,
    )
  }
  return { json, results }
}

const local = (json: unknown) => (json as { local: unknown }).local
/** The one state return of a state.single run's JSON. */
const stateRet = (json: unknown) =>
  Object.values(local(json) as Record<string, Record<string, unknown>>)[0]!

function readBack<T>(server: Vcsim, fn: (si: ServiceInstance) => Promise<T>, password = 'pw') {
  return withSession({ server: server.url, user: 'reader', password, caFile: server.caFile }, fn)
}

beforeAll(async () => {
  // A vCenter, and an ESXi host that takes only root with hostCred (the esxi_host entry).
  ;[vc, esx, esxUsers] = await Promise.all([
    startVcsim(),
    startVcsim({ esx: true, username: 'root', password: S.hostCred }),
    startVcsim({ esx: true }),
  ])
  mkdirSync(vcDir)
  mkdirSync(esxDir)
  mkdirSync(usersDir)
  const common = { cachedir: written.cachedir, file_roots: [join(own, 'salt')] }
  writeFileSync(
    join(usersDir, 'brine.yaml'),
    JSON.stringify({
      id: 'secrets-esx-users',
      ...common,
      'saltext.vmware': {
        host: esxUsers.url,
        user: 'root',
        password: S.vcenter,
        ca_file: esxUsers.caFile,
      },
    }),
  )
  writeFileSync(
    join(vcDir, 'brine.yaml'),
    JSON.stringify({
      id: 'secrets-vc',
      ...common,
      'saltext.vmware': {
        host: vc.url,
        user: 'secrets',
        password: S.vcenter,
        ca_file: vc.caFile,
        esxi_host: {
          DC0_C0_H0: { host: esx.url, user: 'root', password: S.hostCred, ca_file: esx.caFile },
        },
      },
    }),
  )
  writeFileSync(
    join(esxDir, 'brine.yaml'),
    JSON.stringify({
      id: 'secrets-esx',
      ...common,
      'saltext.vmware': { host: esx.url, user: 'root', password: S.hostCred, ca_file: esx.caFile },
    }),
  )
  // The guest account of DC0_C0_RP0_VM1 (test/vcsim/guest-ops.go reads it from extraConfig).
  await readBack(vc, async (si) => {
    for (const [name, password] of [
      ['DC0_C0_RP0_VM1', S.guest],
      ['DC0_C0_RP0_VM0', S.escaped],
    ] as const) {
      const vm = await getEntity(si, ENTITY_TYPES.vm, name)
      await runTask(si, 'guest password', 'ReconfigVM_Task', {
        _this: vm.obj,
        spec: {
          extraConfig: [
            { key: 'guestinfo.vcsim.guest-password', value: typed(password, 'xsd:string') },
          ],
        },
      })
    }
  })
}, 120_000)
afterAll(async () => {
  await Promise.all([vc?.stop(), esx?.stop(), esxUsers?.stop()])
})

describe('vmware_guest: the guest password', () => {
  const guestRun = (password: string) => [
    'vmware_guest.run',
    'DC0_C0_RP0_VM1',
    'username=root',
    `password=${password}`,
    'program_path=/bin/echo',
    'arguments=secret-sweep',
    'capture_output=True',
  ]

  it('a run with the right password works; a wrong one is InvalidGuestLogin; neither shows', async () => {
    const ok = await sweep(vcDir, guestRun(S.guest))
    expect(local(ok.json)).toMatchObject({ exit_code: 0, stdout: 'secret-sweep\n' })
    expect(ok.results[1]!.stderr).toContain('StartProgramInGuest')
    const bad = await sweep(vcDir, guestRun(S.wrongGuest), { code: 1 })
    expect(bad.results[0]!.stderr).toContain('BRINE_VIM_INVALID_GUEST_LOGIN')
  }, 120_000)

  it('a password that every format escapes: used, and shown in no escaping', async () => {
    const run = (password: string) => [
      'vmware_guest.run',
      'DC0_C0_RP0_VM0',
      'username=root',
      `password=${password}`,
      'program_path=/bin/echo',
      'arguments=escaped',
      'capture_output=True',
    ]
    const ok = await sweep(vcDir, run(S.escaped))
    expect(local(ok.json)).toMatchObject({ exit_code: 0, stdout: 'escaped\n' })
    const bad = await sweep(vcDir, run(`${S.escaped}x`), {
      code: 1,
      variants: CALL_VARIANTS.slice(0, 3),
    })
    expect(bad.results[0]!.stderr).toContain('BRINE_VIM_INVALID_GUEST_LOGIN')
  }, 120_000)

  it('environment variables named like secrets (env={DB_PASSWORD: …, API_TOKEN: …}) are passed, never shown', async () => {
    const ok = await sweep(vcDir, [
      'vmware_guest.run',
      'DC0_C0_RP0_VM1',
      'username=root',
      `password=${S.guest}`,
      'program_path=/bin/sh',
      'arguments=-c \'printf %s "$DB_PASSWORD" | sha256sum\'',
      `env={DB_PASSWORD: ${S.guestEnv}, app_db_pass: ${S.guestEnv}, DB_SECRET: ${S.guestEnv}, API_TOKEN: ${S.guestEnv}, GITHUB_API_KEY: ${S.guestEnv}}`,
      'capture_output=True',
    ])
    // The guest saw the value (its digest), and only the digest is shown.
    const digest = createHash('sha256').update(S.guestEnv).digest('hex')
    expect(local(ok.json)).toMatchObject({ exit_code: 0, stdout: `${digest}  -\n` })
  }, 120_000)

  it('a file transfer: the one-time token of the transfer URL never shows', async () => {
    const file = join(own, 'upload.txt')
    writeFileSync(file, 'payload')
    const up = await sweep(vcDir, [
      'vmware_guest.upload',
      'DC0_C0_RP0_VM1',
      'username=root',
      `password=${S.guest}`,
      `source=${file}`,
      'destination=/tmp/secret-sweep.txt',
      'overwrite=True',
    ])
    expect(JSON.stringify(local(up.json))).toContain('secret-sweep.txt')
    // The SOAP answer carrying the URL was traced (masked).
    expect(up.results[1]!.stderr).toContain('InitiateFileTransferToGuest')
  }, 120_000)

  it('an argument error on the password echoes no value', async () => {
    const wrongType = await sweep(
      vcDir,
      [
        'vmware_guest.run',
        'DC0_C0_RP0_VM1',
        'username=root',
        `password=${S.numeric}`,
        'program_path=/bin/true',
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 2) },
    )
    expect(wrongType.results[0]!.stderr).toContain("argument 'password'")
  }, 60_000)
})

describe('Windows customization: admin and domain passwords, product key', () => {
  const windows = (extra = '') =>
    `{computer_name: SWEEP, admin_password: ${S.admin}, product_key: ${S.productKey}, join_domain: corp.example, domain_user: joiner, domain_password: ${S.domain}${extra}}`

  it('create, get and list show none of them; vCenter holds them all', async () => {
    const created = await sweep(vcDir, [
      'vmware_customization.create',
      'name=sweep-win',
      `windows=${windows()}`,
      'overwrite=True',
    ])
    expect(local(created.json)).toMatchObject({
      name: 'sweep-win',
      windows: { admin_password_set: true, product_key_set: true, domain_password_set: true },
    })
    const stored = await readBack(vc, (si) =>
      callVim(si, 'reading the spec', 'GetCustomizationSpec', {
        _this: si.content.customizationSpecManager,
        name: 'sweep-win',
      }),
    )
    for (const secret of [S.admin, S.domain, S.productKey])
      expect(JSON.stringify(stored)).toContain(secret)
    await sweep(vcDir, ['vmware_customization.get', 'sweep-win'])
    await sweep(vcDir, ['vmware_customization.list'])
  }, 180_000)

  it('a clone whose Windows customization vCenter refuses (Sysprep on a Linux guest)', async () => {
    const failed = await sweep(
      vcDir,
      [
        'vmware_vm.clone',
        'name=sweep-fail',
        'source=DC0_H0_VM0',
        'datacenter=DC0',
        'power_on=True',
        `customization={windows: ${windows()}}`,
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 3) },
    )
    expect(failed.results[0]!.stderr + failed.results[0]!.stdout).toContain(
      'CustomizationSysprepFailed',
    )
  }, 180_000)

  it('a stored spec with a sysprep answer file (CustomizationSysprepText): get, list and a clone with it', async () => {
    // vSphere API reference, CustomizationSysprepText: "the complete text of a Sysprep answer
    // file" (sysprep.inf or unattend.xml), which holds the administrator and domain passwords
    // and the product key in plain text when PlainText is true.
    const unattend = [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<unattend xmlns="urn:schemas-microsoft-com:unattend">',
      '<settings pass="specialize"><component name="Microsoft-Windows-Shell-Setup">',
      `<ProductKey>${S.unattendKey}</ProductKey></component>`,
      '<component name="Microsoft-Windows-UnattendedJoin"><Identification><Credentials>',
      `<Domain>corp</Domain><Password>${S.unattendDomain}</Password><Username>joiner</Username>`,
      '</Credentials></Identification></component></settings>',
      '<settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup"><UserAccounts>',
      `<AdministratorPassword><Value>${S.unattendAdmin}</Value><PlainText>true</PlainText>`,
      '</AdministratorPassword></UserAccounts></component></settings></unattend>',
    ].join('\n')
    await readBack(vc, (si) =>
      callVim(si, 'storing a sysprep text spec', 'CreateCustomizationSpec', {
        _this: si.content.customizationSpecManager,
        item: {
          info: { name: 'sweep-text', description: 'unattend.xml', type: 'Windows' },
          spec: {
            identity: { _type: 'CustomizationSysprepText', value: unattend },
            globalIPSettings: {},
            nicSettingMap: [{ adapter: { ip: { _type: 'CustomizationDhcpIpGenerator' } } }],
          },
        },
      }),
    )
    const got = await sweep(vcDir, ['vmware_customization.get', 'sweep-text'])
    expect(local(got.json)).toMatchObject({ identity_type: 'CustomizationSysprepText' })
    await sweep(vcDir, ['vmware_customization.list'], { variants: CALL_VARIANTS.slice(0, 3) })
    // The answer file read back goes out whole with the clone: vcsim's Sysprep on the Linux
    // guest of DC0_H0_VM0 fails, as vCenter's does (test/vcsim/customize.go).
    const clone = await sweep(
      vcDir,
      [
        'vmware_vm.clone',
        'name=sweep-text-vm',
        'source=DC0_H0_VM0',
        'datacenter=DC0',
        'power_on=True',
        'customization_spec=sweep-text',
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 4) },
    )
    expect(clone.results[0]!.stderr + clone.results[0]!.stdout).toContain(
      'CustomizationSysprepFailed',
    )
  }, 180_000)

  it('argument errors on a secret field echo no value (a number, an unknown field beside it)', async () => {
    const numericKey = await sweep(
      vcDir,
      [
        'vmware_customization.create',
        'name=bad',
        `windows={computer_name: X, admin_password: ${S.admin}, product_key: ${S.numericKey}}`,
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 2) },
    )
    expect(numericKey.results[0]!.stderr).toContain('product_key')
    const numericPassword = await sweep(
      vcDir,
      [
        'vmware_customization.create',
        'name=bad',
        `windows={computer_name: X, admin_password: ${S.numeric}}`,
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 2) },
    )
    expect(numericPassword.results[0]!.stderr).toContain('admin_password')
  }, 60_000)

  it('spec_present and vmware_vm.present in test mode predict without showing them', async () => {
    const dry = await sweep(
      vcDir,
      [
        'state.single',
        'vmware_customization.spec_present',
        'name=sweep-state',
        `windows=${windows()}`,
        'test=True',
      ],
      { state: true },
    )
    expect(stateRet(dry.json)).toMatchObject({ result: null })
    const applied = await sweep(
      vcDir,
      [
        'state.single',
        'vmware_customization.spec_present',
        'name=sweep-state',
        `windows=${windows()}`,
      ],
      { state: true, variants: STATE_VARIANTS.slice(0, 1) },
    )
    expect(stateRet(applied.json)).toMatchObject({ result: true })
    const present = await sweep(
      vcDir,
      [
        'state.single',
        'vmware_vm.present',
        'name=sweep-vm',
        'datacenter=DC0',
        'template=DC0_H0_VM0',
        `customization={windows: ${windows()}}`,
        'test=True',
      ],
      { state: true },
    )
    expect(stateRet(present.json)).toMatchObject({ result: null })
  }, 240_000)
})

describe('content library subscription: the BASIC password and the REST session token', () => {
  it('subscribes (vCenter holds the password), reads it back, refuses a bad URL; none shows', async () => {
    const pub = await sweep(
      vcDir,
      ['vmware_content_library.create_library', 'sweep-pub', 'LocalDS_0', 'published=True'],
      { variants: CALL_VARIANTS.slice(0, 1) },
    )
    expect(local(pub.json)).toMatchObject({ created: true })
    const got = await sweep(vcDir, ['vmware_content_library.get_library', 'sweep-pub'], {
      variants: CALL_VARIANTS.slice(0, 1),
    })
    const url = (local(got.json) as { publish_url: string }).publish_url
    const sub = await sweep(
      vcDir,
      [
        'vmware_content_library.create_library',
        'sweep-sub',
        'LocalDS_0',
        `subscription_url=${url}`,
        'user_name=reader',
        `password=${S.subscription}`,
        'on_demand=False',
      ],
      { variants: CALL_VARIANTS.slice(0, 1) },
    )
    expect(local(sub.json)).toMatchObject({ type: 'SUBSCRIBED' })
    // vcsim echoes the stored password (vCenter never does): the Secret went out.
    const held = await readBack(vc, async (si) => {
      const client = await createContentLibraryClient(si)
      try {
        return (await client.listLibraries()).find((l) => l.name === 'sweep-sub')
      } finally {
        await client.close()
      }
    })
    expect(held?.subscription_info).toMatchObject({ user_name: 'reader', password: S.subscription })
    // Read back through brine in every outputter: the echoed password is masked.
    await sweep(vcDir, ['vmware_content_library.get_library', 'sweep-sub'])
    await sweep(vcDir, ['vmware_content_library.list_libraries'])
    // A subscription URL with credentials in it (an empty user name and a password, as URLs
    // allow), on a port nothing listens on: whether
    // vCenter takes it at once or only fails the sync, its password must not show, even in
    // the URL get_library reads back.
    const badUrl = `https://:${S.urlNoUser}@127.0.0.1:9/lib.json`
    await sweep(
      vcDir,
      [
        'vmware_content_library.create_library',
        'sweep-bad',
        'LocalDS_0',
        `subscription_url=${badUrl}`,
        'user_name=reader',
        `password=${S.subscription}`,
      ],
      { code: null, variants: CALL_VARIANTS.slice(0, 3) },
    )
    const badSync = await sweep(vcDir, ['vmware_content_library.sync_library', 'sweep-bad'], {
      code: null,
      variants: CALL_VARIANTS.slice(0, 3),
    })
    const readBad = await sweep(vcDir, ['vmware_content_library.get_library', 'sweep-bad'], {
      code: null,
    })
    expect(`${badSync.results[0]!.stdout}${readBad.results[0]!.stdout}`).toContain('127.0.0.1:9')
    await sweep(vcDir, ['vmware_content_library.delete_library', 'sweep-bad'], {
      code: null,
      variants: CALL_VARIANTS.slice(0, 1),
    })
    const wrongType = await sweep(
      vcDir,
      [
        'vmware_content_library.create_library',
        'sweep-bad',
        'LocalDS_0',
        `subscription_url=${url}`,
        'user_name=reader',
        `password=${S.numeric}`,
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 1) },
    )
    expect(wrongType.results[0]!.stderr).toContain("argument 'password'")
    // The REST calls were made, and their tokens recorded (and checked in every output).
    expect(restTokens().length).toBeGreaterThan(0)
  }, 300_000)

  it('library_present in test mode and applied shows neither password nor token', async () => {
    const got = await sweep(vcDir, ['vmware_content_library.get_library', 'sweep-pub'], {
      variants: CALL_VARIANTS.slice(0, 1),
    })
    const url = (local(got.json) as { publish_url: string }).publish_url
    const args = [
      'state.single',
      'vmware_content_library.library_present',
      'name=sweep-st',
      'datastore=LocalDS_0',
      `subscription_url=${url}`,
      'user_name=reader',
      `password=${S.subscription}`,
    ]
    const dry = await sweep(vcDir, [...args, 'test=True'], { state: true })
    expect(stateRet(dry.json)).toMatchObject({ result: null })
    const applied = await sweep(vcDir, args, { state: true, variants: STATE_VARIANTS.slice(0, 1) })
    expect(stateRet(applied.json)).toMatchObject({ result: true })
  }, 240_000)
})

describe('ESXi users, configuration bundles and esxi_host credentials', () => {
  it('add_user, check_password and password_present (test mode, then applied)', async () => {
    const added = await sweep(
      usersDir,
      ['vmware_esxi.add_user', 'user_name=svc', `password=${S.user1}`],
      { variants: CALL_VARIANTS.slice(0, 1) },
    )
    expect(JSON.stringify(local(added.json))).toContain('true')
    const check = async (password: string) =>
      Object.values(
        local(
          (
            await sweep(
              usersDir,
              ['vmware_esxi.check_password', 'user_name=svc', `password=${password}`],
              {
                variants: CALL_VARIANTS.slice(0, 1),
              },
            )
          ).json,
        ) as Record<string, boolean>,
      )
    expect(await check(S.user1)).toEqual([true])
    await sweep(usersDir, ['vmware_esxi.check_password', 'user_name=svc', `password=${S.user2}`])
    expect(await check(S.user2)).toEqual([false])

    const args = ['state.single', 'vmware_esxi.password_present', 'name=svc', `password=${S.user2}`]
    const dry = await sweep(usersDir, [...args, 'test=True'], { state: true })
    expect(stateRet(dry.json)).toMatchObject({
      result: null,
      comment: 'Host password will change.',
    })
    expect(await check(S.user2)).toEqual([false])
    const applied = await sweep(usersDir, args, {
      state: true,
      variants: STATE_VARIANTS.slice(0, 2),
    })
    expect(stateRet(applied.json)).toMatchObject({ result: true })
    expect(await check(S.user2)).toEqual([true])
    const wrongType = await sweep(
      usersDir,
      ['state.single', 'vmware_esxi.password_present', 'name=svc', `password=${S.numeric}`],
      { code: 1, variants: STATE_VARIANTS.slice(0, 2) },
    )
    expect(wrongType.results[0]!.stdout + wrongType.results[0]!.stderr).toContain('password')
  }, 300_000)

  it('backup_config and restore_config through vCenter on the esxi_host credentials', async () => {
    const backup = await sweep(vcDir, ['vmware_esxi.backup_config', 'host_name=DC0_C0_H0'])
    const file = (local(backup.json) as Record<string, { file_name: string }>).DC0_C0_H0!.file_name
    expect(statSync(file).mode & 0o777).toBe(0o600)
    // ESXi takes only root with hostCred: the restore's upload (HTTP Basic) used it.
    const restored = await sweep(
      vcDir,
      ['vmware_esxi.restore_config', file, 'host_name=DC0_C0_H0'],
      {
        variants: CALL_VARIANTS.slice(0, 3),
      },
    )
    expect(local(restored.json)).toEqual({ DC0_C0_H0: true })
    // A bundle URL with credentials in it, which cannot be fetched.
    const fromUrl = await sweep(
      vcDir,
      [
        'vmware_esxi.restore_config',
        `http://root:${S.urlPassword}@127.0.0.1:9/bundle.tgz`,
        'host_name=DC0_C0_H0',
      ],
      { code: 1, variants: CALL_VARIANTS.slice(0, 3) },
    )
    expect(fromUrl.results[0]!.stderr).toContain('bundle.tgz')
    await sweep(esxDir, ['vmware_esxi.exit_maintenance_mode', 'localhost.localdomain'], {
      variants: CALL_VARIANTS.slice(0, 1),
    })
  }, 300_000)
})

describe('a wrong esxi_host password', () => {
  it('fails the login to the host, naming it, and shows the password nowhere', async () => {
    const dir = join(own, 'vc-wrong-host')
    mkdirSync(dir)
    const config = JSON.parse(readFileSync(join(vcDir, 'brine.yaml'), 'utf8'))
    config['saltext.vmware'].esxi_host.DC0_C0_H0.password = S.wrongHostCred
    writeFileSync(join(dir, 'brine.yaml'), JSON.stringify(config))
    const failed = await sweep(dir, ['vmware_esxi.backup_config', 'host_name=DC0_C0_H0'], {
      code: 1,
    })
    expect(failed.results[1]!.stdout + failed.results[1]!.stderr).toMatch(
      /InvalidLogin|INVALID_LOGIN/,
    )
  }, 120_000)
})

describe('through brine daemon', () => {
  it('calls the daemon serves show no secret, and its log (at trace) holds none', async () => {
    const daemon = await startDaemon({ ...env, BRINE_DEBUG: '*' }, { cwd: vcDir })
    try {
      const viaDaemon: Variant[] = ['json', 'nested', 'yaml', 'txt', 'raw'].map((out) => ({
        label: `${out} via the daemon`,
        args: ['--out', out],
        env: { BRINE_DAEMON: 'always' },
        sessionStore: false as const,
      }))
      const served = (await daemon.status()).calls.served
      const guest = (password: string) => [
        'vmware_guest.run',
        'DC0_C0_RP0_VM1',
        'username=root',
        `password=${password}`,
        'program_path=/bin/echo',
        'arguments=via-daemon',
        'capture_output=True',
      ]
      const ok = await sweep(vcDir, guest(S.guest), { variants: viaDaemon })
      expect(local(ok.json)).toMatchObject({ exit_code: 0, stdout: 'via-daemon\n' })
      await sweep(vcDir, guest(S.wrongGuest), { code: 1, variants: viaDaemon })
      await sweep(
        vcDir,
        [
          'vmware_customization.create',
          'name=bad',
          `windows={computer_name: X, admin_password: ${S.admin}, product_key: ${S.numericKey}}`,
        ],
        { code: 1, variants: viaDaemon },
      )
      await sweep(vcDir, ['config.get', 'saltext.vmware'], { variants: viaDaemon })
      // Every run went through the daemon (BRINE_DAEMON=always fails without one).
      expect((await daemon.status()).calls.served - served).toBe(4 * viaDaemon.length)
    } finally {
      await daemon.stop()
    }
    expect(daemon.log()).toContain('vmware_guest.run')
    expect(leaksIn(daemon.log())).toEqual([])
  }, 240_000)
})

describe('the patterns these leaks needed (core/redact.ts)', () => {
  it('mask values brine cannot know, and leave ordinary text alone', () => {
    const cases: Array<[string, string]> = [
      ['https://:pw-1@127.0.0.1:9/lib.json', 'https://:***@127.0.0.1:9/lib.json'],
      [
        '<envVariables>DB_PASSWORD=pw-2</envVariables>',
        '<envVariables>DB_PASSWORD=***</envVariables>',
      ],
      ['["app_db_pass=pw-3", "PATH=/bin"]', '["app_db_pass=***", "PATH=/bin"]'],
      ['<envVariables>DB_SECRET=pw-4</envVariables>', '<envVariables>DB_SECRET=***</envVariables>'],
      ['"API_TOKEN=pw-5", "GITHUB_API_KEY=pw-6"', '"API_TOKEN=***", "GITHUB_API_KEY=***"'],
      [
        '<identity xsi:type="CustomizationSysprepText"><value>&lt;Password&gt;pw-7</value></identity>',
        '<identity xsi:type="CustomizationSysprepText"><value>***</value></identity>',
      ],
      [
        'bypass=1 compass: n passive=2 my_token_count=3',
        'bypass=1 compass: n passive=2 my_token_count=3',
      ],
      ['unexpected token: %}', 'unexpected token: %}'],
    ]
    for (const [text, shown] of cases) expect(redact(text), text).toBe(shown)
  })
})

describe('what brine leaves on disk', () => {
  it('session store, transpile cache, runtime dir, cachedir (but the bundles) and out-files hold no secret', () => {
    const files: string[] = []
    const walk = (dir: string) => {
      if (!existsSync(dir)) return
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.isFile() && !path.endsWith('.tgz')) files.push(path)
      }
    }
    for (const dir of Object.values(written)) walk(dir)
    // The session store was used, and the out-files written.
    expect(files.some((f) => f.startsWith(written.sessions))).toBe(true)
    expect(files.some((f) => f.startsWith(written.outFiles))).toBe(true)
    for (const file of files)
      expect(leaksIn(readFileSync(file).toString('latin1')), file).toEqual([])
    // A bundle holds the host's configuration: the password of no account given here.
    for (const dir of [written.cachedir])
      if (existsSync(dir))
        for (const name of readdirSync(dir).filter((n) => n.endsWith('.tgz'))) {
          const tar = execFileSync('tar', ['-xzOf', join(dir, name)]).toString('latin1')
          expect(leaksIn(tar), name).toEqual([])
        }
  })
})
