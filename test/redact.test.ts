import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { BrineError } from '../core/errors.ts'
import { log, setLogLevel, setLogSink } from '../core/log.ts'
import { redact } from '../core/redact.ts'
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
