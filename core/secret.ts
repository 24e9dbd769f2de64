import { inspect } from 'node:util'
import { ISSUED_BRAND, registerSecret, SECRET_BRAND } from './redact.ts'

const kValue = Symbol('secret.value')

/**
 * A string that must never be printed: passwords, session cookies, tickets, tokens.
 * `String()`, `JSON.stringify()` and `util.inspect()` all show `[redacted]`; `reveal()`
 * gives the value to the one place that sends it; the outputters show `***`. Creating one
 * also registers the value with the redactor, so it is masked even where it slips into free
 * text (as a whole token, see core/redact.ts), whatever its length.
 */
export class Secret {
  private readonly [kValue]: string
  /** Lets `redactValue()` recognise a Secret (shown as `***`). */
  readonly [SECRET_BRAND] = true

  constructor(value: string) {
    this[kValue] = value
    registerSecret(value)
  }

  reveal(): string {
    return this[kValue]
  }

  get length(): number {
    return this[kValue].length
  }

  toString(): string {
    return '[redacted]'
  }

  toJSON(): string {
    return '[redacted]'
  }

  [inspect.custom](): string {
    return 'Secret([redacted])'
  }
}

const kIssued = Symbol('issued.value')

/**
 * A secret brine hands to the user once, as the output of the call that created it (a
 * console token, a vCenter ticket asked for by name). The call's outputter shows it in clear;
 * everywhere else (logs, errors, JSON, `util.inspect`, state output) it reads `[issued]`.
 * It is not registered with the redactor, or the outputter could not show it.
 */
export class Issued {
  private readonly [kIssued]: string
  readonly [ISSUED_BRAND] = true

  constructor(value: string) {
    this[kIssued] = value
  }

  reveal(): string {
    return this[kIssued]
  }

  toString(): string {
    return '[issued]'
  }

  toJSON(): string {
    return '[issued]'
  }

  [inspect.custom](): string {
    return 'Issued([issued])'
  }
}
