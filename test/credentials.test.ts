import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import {
  CredentialsError,
  resolveVsphereConnection,
  VsphereConfigError,
} from '../vsphere/credentials.ts'

const full = { host: 'vc-opts', user: 'u-opts', password: 'p-opts' }
const dir = mkdtempSync(join(tmpdir(), 'brine-credentials-'))
const caFile = join(dir, 'ca.pem')
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')

describe('resolveVsphereConnection (saltext-vmware compatible)', () => {
  afterEach(() => setLogLevel('warning'))

  it('looks in the config file, then pillar; env overrides each field', () => {
    expect(
      resolveVsphereConnection({
        env: {},
        opts: { 'saltext.vmware': full },
        pillar: { 'saltext.vmware': { host: 'vc-pillar', user: 'x', password: 'y' } },
      }),
    ).toMatchObject({
      server: 'vc-opts',
      user: 'u-opts',
      password: 'p-opts',
      label: 'default',
    })
    expect(
      resolveVsphereConnection({
        env: {},
        opts: {},
        pillar: { saltext: { vmware: { host: 'vc-pillar', user: 'x', password: 'y' } } },
      }).server,
    ).toBe('vc-pillar')
    const env = { SALTEXT_VMWARE_PASSWORD: 'p-env' }
    expect(
      resolveVsphereConnection({ env, opts: { 'saltext.vmware': full }, pillar: {} }),
    ).toMatchObject({ server: 'vc-opts', password: 'p-env' })
  })

  it('selects profiles and esxi_host credentials, and reads TLS options', () => {
    const config = {
      'saltext.vmware': {
        ...full,
        ssl_thumbprint: 'AB'.repeat(32),
        lab: {
          host: 'vc-lab',
          user: 'lab-user',
          password: 'lab-pw',
          port: 8443,
          ca_file: caFile,
        },
        esxi_host: { 'esx1.lab': { user: 'root', password: 'esx-pw' } },
      },
    }
    const sources = { env: { SALTEXT_VMWARE_USER: 'env-user' }, opts: config, pillar: {} }
    expect(resolveVsphereConnection(sources)).toMatchObject({
      thumbprint: 'AB'.repeat(32),
      user: 'env-user',
    })
    expect(resolveVsphereConnection(sources, { profile: 'lab' })).toMatchObject({
      server: 'vc-lab',
      user: 'env-user',
      port: 8443,
      caFile,
      label: 'lab',
    })
    expect(resolveVsphereConnection(sources, { esxiHost: 'esx1.lab' })).toMatchObject({
      server: 'esx1.lab',
      user: 'root',
      password: 'esx-pw',
    })
    expect(() => resolveVsphereConnection(sources, { profile: 'prod' })).toThrow(
      /profile 'prod' is not configured .*profiles: lab/,
    )
  })

  // saltext-vmware tests/unit/utils/test_connect.py (test_get_config…): esxi_host values come
  // from the selected profile's esxi_host, never from the top level's, nor from the environment.
  it('esxi_host: from the profile, environment ignored; an entry may give its own address', () => {
    const sources = {
      env: {
        SALTEXT_VMWARE_HOST: 'bad-environ-host',
        SALTEXT_VMWARE_USER: 'bad environ user',
        SALTEXT_VMWARE_PASSWORD: 'bad environ password',
      },
      opts: {
        'saltext.vmware': {
          host: 'blerp',
          user: 'whatever',
          password: 'coolguy',
          esxi_host: { 'esxi.lab': { user: 'bad user', password: 'bad password' } },
          cool: {
            esxi_host: {
              'esxi.lab': { user: 'esxi user', password: 'esxi password' },
              short: { host: '192.0.2.7', user: 'root', password: 'pw' },
            },
          },
        },
      },
      pillar: {},
    }
    expect(
      resolveVsphereConnection(sources, { profile: 'cool', esxiHost: 'esxi.lab' }),
    ).toMatchObject({
      server: 'esxi.lab',
      user: 'esxi user',
      password: 'esxi password',
      label: 'esxi:esxi.lab',
    })
    expect(resolveVsphereConnection(sources, { esxiHost: 'esxi.lab' })).toMatchObject({
      server: 'esxi.lab',
      user: 'bad user',
    })
    expect(resolveVsphereConnection(sources, { profile: 'cool', esxiHost: 'short' })).toMatchObject(
      { server: '192.0.2.7', user: 'root' },
    )
    const missing = (() => {
      try {
        resolveVsphereConnection(sources, { profile: 'cool', esxiHost: 'esx9' })
      } catch (e) {
        return e as CredentialsError
      }
    })()
    expect(missing).toBeInstanceOf(CredentialsError)
    expect(missing?.message).toBe(
      "Cannot create service instance, VMware credentials incomplete. ESXi host 'esx9' has no credentials under saltext.vmware:cool:esxi_host (in the config file); hosts there: esxi.lab, short. Add saltext.vmware:cool:esxi_host:esx9: {user, password} to the config file or pillar.",
    )
  })

  it('names the missing keys before any network I/O', () => {
    const error = (() => {
      try {
        resolveVsphereConnection({
          env: {},
          opts: { 'saltext.vmware': { host: 'vc' } },
          pillar: {},
        })
      } catch (e) {
        return e
      }
    })() as CredentialsError
    expect(error).toBeInstanceOf(CredentialsError)
    expect(error.code).toBe('BRINE_VIM_CREDENTIALS')
    expect(error.missing).toEqual(['user', 'password'])
    // saltext-vmware's sentence first (utils/connect.py, PR #305), brine's detail after it.
    expect(error.message).toMatch(
      /^Cannot create service instance, VMware credentials incomplete\. vSphere credentials incomplete for the default profile: missing user, password.*saltext.vmware:user.*SALTEXT_VMWARE_PASSWORD/,
    )
  })

  it('accepts the legacy vmware_config key with a deprecation warning', () => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    try {
      expect(
        resolveVsphereConnection({ env: {}, opts: {}, pillar: { vmware_config: full } }).server,
      ).toBe('vc-opts')
    } finally {
      restore()
    }
    expect(lines.join('\n')).toMatch(/vmware_config .*deprecated/)
  })
})

/** The VsphereConfigError `config` (the saltext.vmware section) gives, from the config file. */
function configError(
  config: Record<string, unknown>,
  options: { env?: Record<string, string>; profile?: string; pillar?: boolean } = {},
): VsphereConfigError {
  const sources = options.pillar
    ? { env: options.env ?? {}, opts: {}, pillar: { 'saltext.vmware': config } }
    : {
        env: options.env ?? {},
        opts: { conf_file: '/etc/brine/brine.yaml', 'saltext.vmware': config },
        pillar: {},
      }
  try {
    resolveVsphereConnection(sources, { profile: options.profile })
  } catch (error) {
    expect(error).toBeInstanceOf(VsphereConfigError)
    expect((error as VsphereConfigError).code).toBe('BRINE_CONFIG')
    return error as VsphereConfigError
  }
  throw new Error('expected a VsphereConfigError')
}

describe('saltext.vmware values are checked before any network I/O', () => {
  it('says a numeric or list host, user or password must be quoted, never echoing a password', () => {
    const password = configError({ ...full, password: 80551234 })
    expect(password.message).toBe(
      'saltext.vmware:password (in the config file /etc/brine/brine.yaml) must be a string, not a number: quote it.',
    )
    expect(password.key).toBe('saltext.vmware:password')
    expect(configError({ ...full, password: ['a', 'b'] }).message).not.toMatch(/\ba\b.*\bb\b/)
    expect(configError({ ...full, host: ['vc1', 'vc2'] }).message).toMatch(
      /^saltext\.vmware:host \(in the config file \/etc\/brine\/brine\.yaml\) must be a string, not a list: quote it/,
    )
    expect(configError({ lab: { ...full, user: 1234 } }, { profile: 'lab' }).message).toMatch(
      /^saltext\.vmware:lab:user \(in the config file .*\) must be a string, not a number: quote it/,
    )
    // A mapping (an unrendered `{{ … }}` reads as one) is no "missing password" either.
    expect(configError({ ...full, password: { x: null } }).message).toMatch(/not a mapping/)
  })

  it('a bad port says the range, not NaN', () => {
    const error = configError({ ...full, port: 'abc' })
    expect(error.message).toBe(
      'saltext.vmware:port (in the config file /etc/brine/brine.yaml) must be a number from 1 to 65535, not "abc".',
    )
    expect(error.message).not.toMatch(/NaN/)
    expect(configError({ ...full, port: 70000 }).message).toMatch(/from 1 to 65535, not 70000/)
    expect(configError({ ...full, port: 0 }).key).toBe('saltext.vmware:port')
    expect(
      resolveVsphereConnection({
        env: {},
        opts: { 'saltext.vmware': { ...full, port: '8443' } },
        pillar: {},
      }).port,
    ).toBe(8443)
  })

  it('names the key and the file for a malformed thumbprint, insecure with a pin, a missing ca_file', () => {
    expect(configError({ ...full, ssl_thumbprint: 'AB:CD' }).message).toMatch(
      /^saltext\.vmware:ssl_thumbprint \(in the config file \/etc\/brine\/brine\.yaml\) is wrong: thumbprint must be a SHA-256/,
    )
    const both = configError({ ...full, insecure: true, ssl_thumbprint: 'AB'.repeat(32) })
    expect(both.key).toBe('saltext.vmware:insecure')
    expect(both.message).toMatch(/exclude each other/)
    const ca = configError(
      { lab: { ...full, ca_file: join(dir, 'missing.pem') } },
      { profile: 'lab' },
    )
    expect(ca.key).toBe('saltext.vmware:lab:ca_file')
    expect(ca.message).toMatch(
      /^saltext\.vmware:lab:ca_file \(in the config file \/etc\/brine\/brine\.yaml\) is wrong: ca_file .*missing\.pem is not a readable PEM/,
    )
    expect(configError({ ...full, insecure: 'yes' }).message).toMatch(
      /saltext\.vmware:insecure .* must be true or false, not "yes"/,
    )
    expect(configError({ ...full, ssl_thumbprint: 1234 }).message).toMatch(/must be a string/)
  })

  it('says where a value came from: pillar, or the environment variable', () => {
    expect(configError({ ...full, port: 'abc' }, { pillar: true }).message).toMatch(
      /^saltext\.vmware:port \(in pillar\) must be a number/,
    )
    const env = configError(full, { env: { SALTEXT_VMWARE_HOST: 'ftp://vc' } })
    expect(env.origin).toBe('SALTEXT_VMWARE_HOST')
    expect(env.message).toMatch(/^SALTEXT_VMWARE_HOST \(saltext\.vmware:host\) is wrong: .*https/)
  })

  it('reads connect_timeout and request_timeout (seconds) and max_response_size', () => {
    const options = resolveVsphereConnection(
      {
        env: {},
        opts: {
          'saltext.vmware': {
            ...full,
            connect_timeout: 5,
            request_timeout: '0.5',
            max_response_size: '64 MiB',
            lab: { ...full, request_timeout: 600, max_response_size: 1_000_000 },
          },
        },
        pillar: {},
      },
      {},
    )
    expect(options).toMatchObject({
      connectTimeoutMs: 5000,
      requestTimeoutMs: 500,
      maxResponseBytes: 64 * 1024 * 1024,
    })
    // A profile reads its own section, like host and user.
    const lab = resolveVsphereConnection(
      {
        env: {},
        opts: {
          'saltext.vmware': {
            connect_timeout: 5,
            lab: { ...full, request_timeout: 600, max_response_size: 1_000_000 },
          },
        },
        pillar: {},
      },
      { profile: 'lab' },
    )
    expect(lab).toMatchObject({ requestTimeoutMs: 600_000, maxResponseBytes: 1_000_000 })
    expect(lab.connectTimeoutMs).toBeUndefined()

    expect(configError({ ...full, connect_timeout: 0 }).message).toBe(
      'saltext.vmware:connect_timeout (in the config file /etc/brine/brine.yaml) must be a number of seconds above 0 and at most 86400 (a day), not 0.',
    )
    expect(configError({ ...full, request_timeout: 'soon' }).key).toBe(
      'saltext.vmware:request_timeout',
    )
    expect(configError({ ...full, request_timeout: 90_000 }).message).toMatch(/at most 86400/)
    expect(configError({ ...full, max_response_size: '1 TB' }).message).toMatch(
      /saltext\.vmware:max_response_size .* must be a number of bytes .*not "1 TB"/,
    )
    expect(configError({ ...full, max_response_size: 2 ** 40 }).key).toBe(
      'saltext.vmware:max_response_size',
    )
  })

  it('keeps missing credentials a credentials error (exit 1), not a config error', () => {
    let error: unknown
    try {
      resolveVsphereConnection({ env: {}, opts: { 'saltext.vmware': { host: 'vc' } }, pillar: {} })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CredentialsError)
    expect(error).not.toBeInstanceOf(VsphereConfigError)
    expect((error as CredentialsError).code).toBe('BRINE_VIM_CREDENTIALS')
  })
})
