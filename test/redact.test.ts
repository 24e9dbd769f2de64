import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { BrineError } from '../core/errors.ts'
import { log, setLogLevel, setLogSink } from '../core/log.ts'
import { isSecretKey, redact, redactValue, registerSecret } from '../core/redact.ts'
import { Secret } from '../core/secret.ts'
import { NotAuthenticatedError, VimFaultError } from '../vsphere/errors.ts'

describe('redact', () => {
  it('masks registered secrets and secret-shaped text', () => {
    const secret = new Secret('hunter2-very-secret')
    expect(String(secret)).toBe('[redacted]')
    expect(inspect({ secret })).not.toContain('hunter2')
    expect(redact('password was hunter2-very-secret')).toBe('password was ***')
    expect(redact('<password>x&amp;y</password>')).toBe('<password>***</password>')
    expect(redact('Cookie: vmware_soap_session="52ab"; Path=/')).not.toContain('52ab')
    expect(redact('set-cookie: vmware_soap_session=abcd-1234; Path=/')).not.toContain('abcd-1234')
    expect(redact('{"vmware-api-session-id":"a1b2c3"}')).not.toContain('a1b2c3')
    expect(redact('<soapenv:Header><vcSessionCookie>52ab9f</vcSessionCookie>')).toBe(
      '<soapenv:Header><vcSessionCookie>***</vcSessionCookie>',
    )
    expect(redact('https://root:Pa55@vc.example.com/sdk')).toBe(
      'https://root:***@vc.example.com/sdk',
    )
    expect(redact('password=abc&user=x')).toBe('password=***&user=x')
  })
})

describe('redact: known values as whole tokens', () => {
  it('masks secrets of any length, but only where they stand as a whole token', () => {
    registerSecret('ab')
    registerSecret('vmware')
    new Secret('local')
    expect(redact('password ab, table ab_c xab')).toBe('password ***, table ab_c xab')
    expect(redact('vmware_datacenter.present failed: vmware')).toBe(
      'vmware_datacenter.present failed: ***',
    )
    expect(redact('local: localhost (local)')).toBe('***: localhost (***)')
  })

  it('masks the escaped forms of a secret: JSON, Python repr, XML, URL-encoded', () => {
    const value = `q"u\\o't&<é>`
    registerSecret(value)
    for (const form of [
      value,
      JSON.stringify(value).slice(1, -1),
      inspect(value).slice(1, -1),
      encodeURIComponent(value),
      encodeURIComponent(value).replace(/'/g, '%27'),
      value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'),
    ]) {
      expect(redact(`[${form}]`)).toBe('[***]')
    }
  })

  it('masks a unicode secret as a whole token', () => {
    registerSecret('pässwörd✓')
    expect(redact('got pässwörd✓ here')).toBe('got *** here')
    expect(redact('pässwörd✓x')).toBe('***x') // ends in a symbol: masked before a letter too
    expect(redact('xpässwörd✓')).toBe('xpässwörd✓') // inside an identifier: not a token
  })

  it('keeps the parser error "unexpected token: %}" readable, masks actual token values', () => {
    expect(redact("unexpected token: %} in 'top.sls'")).toBe("unexpected token: %} in 'top.sls'")
    expect(redact('Unexpected token: endfilter')).toBe('Unexpected token: endfilter')
    expect(redact('token: 3f9a1c2b7d')).toBe('token: ***')
    expect(redact('?ticket=cst-52AB-99&x=1')).toBe('?ticket=***&x=1')
    expect(redact('Token: 3f9a1c2b7d, TICKET=abcdef12')).toBe('Token: ***, TICKET=***')
    expect(redact('Expected token: endblock')).toBe('Expected token: endblock')
  })
})

describe('redactValue', () => {
  it('masks Secrets, everything under secret keys, and known values in strings and keys', () => {
    registerSecret('tango42')
    const value = redactValue({
      user: 'root',
      password: 80551234,
      nested: { client_secret: 'x', vcSessionCookie: 'y', api_token: ['a', true], pass: 'z' },
      creds: { passwd: { inner: 'deep', n: 1, none: null } },
      secret: new Secret('shh'),
      note: 'the password is tango42',
      tango42: 'as a key',
      when: new Date(0),
      nothing: undefined,
    })
    expect(value).toEqual({
      user: 'root',
      password: '***',
      nested: {
        client_secret: '***',
        vcSessionCookie: '***',
        api_token: ['***', '***'],
        pass: '***',
      },
      creds: { passwd: { inner: '***', n: '***', none: null } },
      secret: '***',
      note: 'the password is ***',
      '***': 'as a key',
      when: '1970-01-01T00:00:00.000Z',
      nothing: null,
    })
  })

  it('masks a key only when it is a secret as a whole; state tags by id and name', () => {
    registerSecret('present')
    expect(
      redactValue({
        present: 1,
        'vmware_datacenter_|-present_|-present_|-present': 2,
        'vmware_datacenter.present': 3,
      }),
    ).toEqual({
      '***': 1,
      'vmware_datacenter_|-***_|-***_|-present': 2,
      'vmware_datacenter.present': 3,
    })
  })

  it('looks at a list of text as one text first, and still masks each item that holds a secret', () => {
    registerSecret('tango42')
    const names = Array.from({ length: 1000 }, (_, i) => `DC0_H0_VM${i}`)
    const plain = redactValue(names)
    expect(plain).toEqual(names)
    expect(plain).not.toBe(names)
    expect(redactValue([...names, 'the password is tango42', 'token=abcdef123456'])).toEqual([
      ...names,
      'the password is ***',
      'token=***',
    ])
    // A known value across two items is in neither; under a secret key, every item is masked.
    expect(redactValue(['tan', 'go42'])).toEqual(['tan', 'go42'])
    expect(redactValue({ api_token: ['a', 'b'] })).toEqual({ api_token: ['***', '***'] })
  })

  it('masks a number that is a known secret (a password YAML typed as a number)', () => {
    registerSecret(80551234)
    expect(redactValue({ pin: 80551234, count: 3 })).toEqual({ pin: '***', count: 3 })
    expect(redact('got 80551234')).toBe('got ***')
  })

  it('does not take ordinary keys for secret ones', () => {
    for (const key of ['bypass', 'compass', 'tokens', 'ticketType', 'passive', 'secretary'])
      expect(isSecretKey(key), key).toBe(false)
    for (const key of ['password', 'Password', 'adminPassword', 'ssh_pass', 'pwd', 'token'])
      expect(isSecretKey(key), key).toBe(true)
  })
})

describe('log', () => {
  afterEach(() => setLogLevel('warning'))

  it('writes only enabled tags, and redacts inside the logger', () => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    try {
      setLogLevel('trace', ['soap'])
      log.trace('soap', 'body %s', '<password>topsecret</password>')
      log.debug('session', 'not shown')
      log.warn('session', 'shown with %s', 'vmware_soap_session=deadbeef')
    } finally {
      restore()
    }
    expect(lines).toEqual([
      '[trace] [soap] body <password>***</password>',
      '[warning] [session] shown with vmware_soap_session=***',
    ])
  })

  it('masks objects by key before formatting them', () => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    try {
      setLogLevel('debug')
      log.debug('session', 'login %o', { user: 'root', password: `o"n\\e'` })
    } finally {
      restore()
    }
    expect(lines).toEqual([`[debug] [session] login { user: 'root', password: '***' }`])
  })
})

describe('error brands', () => {
  it('instanceof works across copies of a class with the same brand', () => {
    const error = new NotAuthenticatedError('x', {
      faultType: 'NotAuthenticated',
      method: 'CurrentTime',
    })
    // A second copy of the class, as a reloaded module would define it.
    class NotAuthenticatedCopy extends BrineError {
      static override readonly kind = 'NotAuthenticatedError'
    }
    expect(error).toBeInstanceOf(NotAuthenticatedCopy)
    expect(error).toBeInstanceOf(VimFaultError)
    expect(error).toBeInstanceOf(BrineError)
    expect(new Error('plain')).not.toBeInstanceOf(BrineError)
    expect(error.code).toBe('BRINE_VIM_NOT_AUTHENTICATED')
    expect(error.name).toBe('NotAuthenticatedError')
  })
})
