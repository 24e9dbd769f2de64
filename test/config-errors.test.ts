// Configuration errors in saltext.vmware, through the real CLI (run from the sources): a wrong
// value is exit 2 with one message naming the key and where it came from, before any network
// I/O; missing credentials stay exit 1. And request_timeout, end to end, against a fake vCenter
// that never answers.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { EXIT } from '../cli/exit-codes.ts'
import { type CliResult, runNode } from './helpers/cli.ts'
import { type FakeVcenter, startFakeVcenter } from './helpers/fake-vcenter.ts'

const tmp = mkdtempSync(join(tmpdir(), 'brine-config-errors-'))
const emptyPillar = join(tmp, 'no-pillar')
mkdirSync(emptyPillar)

/** Run `brine` from the sources with a config file holding `vmware` as saltext.vmware. */
async function brine(
  name: string,
  vmware: Record<string, unknown>,
  args: string[] = ['vmware_datacenter.list'],
  options: { env?: Record<string, string>; pillarRoot?: string } = {},
): Promise<CliResult & { config: string }> {
  const config = join(tmp, `${name}.yaml`)
  writeFileSync(
    config,
    stringify({
      pillar_roots: [options.pillarRoot ?? emptyPillar],
      'saltext.vmware': vmware,
    }),
  )
  const result = await runNode(
    [
      '--import',
      pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
      join(import.meta.dirname, 'helpers', 'cli-source.ts'),
      '--config',
      config,
      ...args,
    ],
    {
      env: {
        BRINE_CONFIG: undefined,
        BRINE_SESSION_STORE: undefined,
        SALTEXT_VMWARE_HOST: undefined,
        SALTEXT_VMWARE_USER: undefined,
        SALTEXT_VMWARE_PASSWORD: undefined,
        ...options.env,
      },
      cwd: tmp,
    },
  )
  return { ...result, config }
}

// Nothing listens here: a value error must be reported before any connection is tried.
const base = { host: '127.0.0.1:9', user: 'admin', password: 'Pa55-word-x' }

describe('saltext.vmware value errors through the CLI: exit 2, the key and the file named', () => {
  it('a numeric password says quote it (not "missing password") and does not show it', async () => {
    const run = await brine('numeric-password', { ...base, password: 80551234 })
    expect(run.code).toBe(EXIT.USAGE)
    expect(run.stderr).toBe(
      `Error: saltext.vmware:password (in the config file ${run.config}) must be a string, not a number: quote it.\n`,
    )
    expect(run.stdout).toBe('')
  })

  it('a list host or a numeric user says quote it', async () => {
    const host = await brine('list-host', { ...base, host: ['vc1', 'vc2'] })
    expect(host.code).toBe(EXIT.USAGE)
    expect(host.stderr).toMatch(
      /^Error: saltext\.vmware:host \(in the config file .*list-host\.yaml\) must be a string, not a list: quote it/,
    )
    const user = await brine('numeric-user', { ...base, user: 1234 })
    expect(user.code).toBe(EXIT.USAGE)
    expect(user.stderr).toMatch(/saltext\.vmware:user .* must be a string, not a number: quote it/)
  })

  it('port: abc says it must be a number from 1 to 65535', async () => {
    const run = await brine('port-abc', { ...base, port: 'abc' })
    expect(run.code).toBe(EXIT.USAGE)
    expect(run.stderr).toBe(
      `Error: saltext.vmware:port (in the config file ${run.config}) must be a number from 1 to 65535, not "abc".\n`,
    )
    expect(run.stderr).not.toMatch(/NaN/)
  })

  it('a malformed thumbprint, insecure with a thumbprint, a ca_file that does not exist', async () => {
    const thumbprint = await brine('bad-thumbprint', { ...base, ssl_thumbprint: 'AB:CD:EF' })
    expect(thumbprint.code).toBe(EXIT.USAGE)
    expect(thumbprint.stderr).toContain(
      `Error: saltext.vmware:ssl_thumbprint (in the config file ${thumbprint.config}) is wrong: thumbprint must be a SHA-256 (64 hex digits) or SHA-1 (40 hex digits) fingerprint`,
    )
    const both = await brine('insecure-pinned', {
      ...base,
      insecure: true,
      ssl_thumbprint: 'AB'.repeat(32),
    })
    expect(both.code).toBe(EXIT.USAGE)
    expect(both.stderr).toMatch(
      /^Error: saltext\.vmware:insecure \(in the config file .*insecure-pinned\.yaml\) is wrong: insecure and thumbprint exclude each other/,
    )
    const missing = join(tmp, 'no-such-ca.pem')
    const ca = await brine('missing-ca', { lab: { ...base, ca_file: missing } }, [
      'vmware_datacenter.list',
      'profile=lab',
    ])
    expect(ca.code).toBe(EXIT.USAGE)
    expect(ca.stderr).toContain(
      `Error: saltext.vmware:lab:ca_file (in the config file ${ca.config}) is wrong: ca_file ${missing} is not a readable PEM certificate file (ENOENT`,
    )
  })

  it('a bad timeout or size cap names its key', async () => {
    const timeout = await brine('bad-timeout', { ...base, request_timeout: 'soon' })
    expect(timeout.code).toBe(EXIT.USAGE)
    expect(timeout.stderr).toContain(
      `Error: saltext.vmware:request_timeout (in the config file ${timeout.config}) must be a number of seconds above 0`,
    )
    const cap = await brine('bad-cap', { ...base, max_response_size: -1 })
    expect(cap.code).toBe(EXIT.USAGE)
    expect(cap.stderr).toMatch(/saltext\.vmware:max_response_size .* must be a number of bytes/)
  })

  it('a value from pillar says pillar; one from the environment names the variable', async () => {
    const pillarRoot = join(tmp, 'pillar')
    mkdirSync(pillarRoot, { recursive: true })
    writeFileSync(join(pillarRoot, 'top.sls'), "base:\n  '*':\n    - vmware\n")
    writeFileSync(
      join(pillarRoot, 'vmware.sls'),
      stringify({ 'saltext.vmware': { ...base, port: 'https' } }),
    )
    const fromPillar = await brine('pillar', {}, undefined, { pillarRoot })
    expect(fromPillar.code).toBe(EXIT.USAGE)
    expect(fromPillar.stderr).toBe(
      'Error: saltext.vmware:port (in pillar) must be a number from 1 to 65535, not "https".\n',
    )
    const fromEnv = await brine('env', base, undefined, {
      env: { SALTEXT_VMWARE_HOST: 'ftp://vc.example.com' },
    })
    expect(fromEnv.code).toBe(EXIT.USAGE)
    expect(fromEnv.stderr).toMatch(
      /^Error: SALTEXT_VMWARE_HOST \(saltext\.vmware:host\) is wrong: server URL must use https/,
    )
  })

  it('missing credentials stay exit 1', async () => {
    const run = await brine('missing-password', { host: base.host, user: base.user })
    expect(run.code).toBe(EXIT.ERROR)
    expect(run.stderr).toMatch(/credentials incomplete for the default profile: missing password/)
  })
})

describe('request_timeout through the CLI', () => {
  let fake: FakeVcenter
  beforeAll(async () => {
    fake = await startFakeVcenter()
  })
  afterAll(async () => {
    await fake.close()
  })

  it('a vCenter that takes the request and never answers fails with the timeout named', async () => {
    fake.handle('RetrieveServiceContent', () => {
      // accepted, never answered
    })
    const run = await brine('never-answers', {
      host: fake.url,
      user: 'fake',
      password: 'fake-Pa55word',
      insecure: true,
      request_timeout: 0.3,
    })
    expect(run.code).toBe(EXIT.ERROR)
    expect(run.stderr).toMatch(
      /^Error: .*RetrieveServiceContent on http:\/\/127\.0\.0\.1:\d+: no complete answer within the request timeout of 0\.3 s; .*Raise request_timeout \(seconds\)/,
    )
  })

  it('an answer larger than max_response_size fails naming the limit and the option', async () => {
    fake.handle('RetrieveServiceContent', (_body, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' })
      res.end(`<?xml version="1.0"?>${' '.repeat(64 * 1024)}`)
    })
    const run = await brine('too-large', {
      host: fake.url,
      user: 'fake',
      password: 'fake-Pa55word',
      insecure: true,
      max_response_size: '16 KiB',
    })
    expect(run.code).toBe(EXIT.ERROR)
    expect(run.stderr).toMatch(
      /^Error: .*RetrieveServiceContent on http:\/\/127\.0\.0\.1:\d+: the answer is larger than the response size limit .*limit 16 KiB \(16384 bytes\).*Raise max_response_size/,
    )
  })
})

describe('connect_timeout through the CLI', () => {
  it('a server that accepts and never speaks TLS fails with the connect timeout named', async () => {
    const { createServer } = await import('node:net')
    const sockets = new Set<import('node:net').Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    try {
      const run = await brine('silent', {
        host: `127.0.0.1:${port}`,
        user: 'fake',
        password: 'fake-Pa55word',
        insecure: true,
        connect_timeout: 0.3,
      })
      expect(run.code).toBe(EXIT.ERROR)
      expect(run.stderr).toMatch(/connect timeout of 0\.3 s .*raise connect_timeout \(seconds\)/)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })
})
