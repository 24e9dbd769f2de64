import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  MAX_RESPONSE_BYTES,
  resolveConnectionParams,
} from '../vsphere/connection-params.ts'
import { ConnectionParamsError } from '../vsphere/errors.ts'

const base = { server: 'vc.example.com', user: 'admin', password: 'pw-123' }

function paramError(options: Parameters<typeof resolveConnectionParams>[0]): ConnectionParamsError {
  try {
    resolveConnectionParams(options)
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectionParamsError)
    return error as ConnectionParamsError
  }
  throw new Error('expected a ConnectionParamsError')
}

describe('resolveConnectionParams', () => {
  it('normalizes host names, ports and URLs to the /sdk endpoint', () => {
    expect(resolveConnectionParams(base).url.href).toBe('https://vc.example.com/sdk')
    expect(resolveConnectionParams({ ...base, port: 8443 }).url.href).toBe(
      'https://vc.example.com:8443/sdk',
    )
    expect(resolveConnectionParams({ ...base, server: 'https://vc:9443/sdk?x=1' }).url.href).toBe(
      'https://vc:9443/sdk',
    )
    const params = resolveConnectionParams(base)
    expect(params).toMatchObject({
      label: 'default',
      insecure: false,
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 0,
    })
  })

  it('keeps the password out of inspect and JSON', () => {
    const params = resolveConnectionParams(base)
    expect(params.password.reveal()).toBe('pw-123')
    expect(inspect(params)).not.toContain('pw-123')
    expect(JSON.stringify(params)).not.toContain('pw-123')
  })

  it('names the option and the fix for bad input', () => {
    expect(paramError({ ...base, server: '' }).param).toBe('server')
    expect(paramError({ ...base, server: 'https://exa mple' }).message).toMatch(
      /not a host name or URL/,
    )
    expect(paramError({ ...base, server: 'ftp://vc' }).message).toMatch(/https/)
    expect(paramError({ ...base, server: 'http://vc' }).message).toMatch(/in clear/)
    expect(paramError({ ...base, server: 'https://u:p@vc' }).message).toMatch(
      /must not hold credentials/,
    )
    expect(paramError({ ...base, user: ' ' }).param).toBe('user')
    expect(paramError({ ...base, password: '' }).param).toBe('password')
    expect(paramError({ ...base, port: 70000 }).param).toBe('port')
    expect(paramError({ ...base, thumbprint: 'AB:CD' }).param).toBe('thumbprint')
    expect(paramError({ ...base, insecure: true, thumbprint: 'a'.repeat(64) }).message).toMatch(
      /exclude each other/,
    )
    expect(paramError({ ...base, caFile: '/nonexistent/ca.pem' }).message).toMatch(
      /ca_file \/nonexistent\/ca.pem/,
    )
    expect(paramError({ ...base, connectTimeoutMs: -1 }).param).toBe('connectTimeoutMs')
  })

  it('normalizes SHA-1 and SHA-256 thumbprints and reads the CA file early', () => {
    const sha1 = resolveConnectionParams({ ...base, thumbprint: 'ab'.repeat(20) }).thumbprint
    expect(sha1).toBe(Array(20).fill('AB').join(':'))
    const sha256 = resolveConnectionParams({
      ...base,
      thumbprint: Array(32).fill('0f').join(':'),
    }).thumbprint
    expect(sha256).toHaveLength(95)
    const dir = mkdtempSync(join(tmpdir(), 'brine-ca-'))
    writeFileSync(join(dir, 'bad.pem'), 'not a certificate')
    expect(paramError({ ...base, caFile: join(dir, 'bad.pem') }).message).toMatch(
      /no PEM certificate/,
    )
    expect(
      resolveConnectionParams({ ...base, insecure: true, server: 'http://vc' }).url.protocol,
    ).toBe('http:')
  })

  it('says a value of the wrong type must be a string, never echoing a password', () => {
    const wrong = (options: Record<string, unknown>) =>
      paramError({ ...base, ...options } as Parameters<typeof resolveConnectionParams>[0])
    expect(wrong({ password: 80551234 }).message).toBe('password must be a string, not a number.')
    expect(wrong({ password: ['secret-1'] }).message).not.toContain('secret-1')
    expect(wrong({ user: 42 }).message).toBe('user must be a string, not a number.')
    expect(wrong({ server: ['a', 'b'] }).message).toMatch(/server must be a string .*not a list/)
    expect(wrong({ port: 'abc' }).message).toBe(
      'port must be a whole number from 1 to 65535, not "abc".',
    )
    expect(wrong({ insecure: 'yes' }).param).toBe('insecure')
    expect(wrong({ thumbprint: 12 }).param).toBe('thumbprint')
    expect(wrong({ caFile: true }).param).toBe('caFile')
  })

  it('bounds timeouts and the response size cap', () => {
    const params = resolveConnectionParams(base)
    expect(params.requestTimeoutMs).toBe(120_000)
    expect(params.maxResponseBytes).toBe(DEFAULT_MAX_RESPONSE_BYTES)
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(256 * 1024 * 1024)
    expect(resolveConnectionParams({ ...base, maxResponseBytes: 1024 }).maxResponseBytes).toBe(1024)
    expect(paramError({ ...base, maxResponseBytes: 0 }).param).toBe('maxResponseBytes')
    expect(paramError({ ...base, maxResponseBytes: MAX_RESPONSE_BYTES + 1 }).message).toMatch(
      /longest string Node can decode/,
    )
    expect(paramError({ ...base, requestTimeoutMs: 2 ** 31 }).message).toMatch(
      /requestTimeoutMs must be a number of milliseconds above 0 and at most 86400000/,
    )
  })
})
