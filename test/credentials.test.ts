import { afterEach, describe, expect, it } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import { CredentialsError, resolveVsphereConnection } from '../vsphere/credentials.ts'

const full = { host: 'vc-opts', user: 'u-opts', password: 'p-opts' }

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
          ca_file: '/etc/ca.pem',
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
      caFile: '/etc/ca.pem',
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
    expect(error.message).toMatch(
      /missing user, password.*saltext.vmware:user.*SALTEXT_VMWARE_PASSWORD/,
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
