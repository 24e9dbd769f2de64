/**
 * The root of brine's error classes.
 *
 * Every error carries a stable, prefixed `code` (`BRINE_VIM_NOT_AUTHENTICATED`, …): match on
 * `code`, not on the message. `instanceof` works across reloaded module generations and
 * duplicated copies because it checks a brand keyed by `Symbol.for`, not the prototype chain
 * (the trick undici uses in lib/core/errors.js).
 */
export class BrineError extends Error {
  /** Brand name of the class; subclasses override it. */
  static readonly kind: string = 'BrineError'
  readonly code: string

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? 'BRINE_ERROR'
    // Brand the instance with every class of its chain.
    for (
      let ctor: unknown = new.target;
      typeof ctor === 'function' && ctor !== Error;
      ctor = Object.getPrototypeOf(ctor)
    ) {
      if (Object.hasOwn(ctor, 'kind')) {
        Object.defineProperty(this, Symbol.for(`brine.error.${(ctor as typeof BrineError).kind}`), {
          value: true,
        })
      }
    }
    this.name = (new.target as typeof BrineError).kind
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class `instanceof` asks about, which is the point of the brand check.
    // biome-ignore lint/complexity/noThisInStatic: the subclass asked about, not BrineError
    const brand = Symbol.for(`brine.error.${this.kind}`)
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true
    )
  }
}

/** True when `error` is a brine error with the given code. */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof BrineError && error.code === code
}
