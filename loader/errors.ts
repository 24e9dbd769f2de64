import { BrineError } from '../core/errors.ts'

/**
 * Loader and call errors. Codes: BRINE_FUNCTION_UNAVAILABLE (unknown or refused),
 * BRINE_ARGUMENT (bad arguments), BRINE_MODULE_LOAD (a module failed to compile or evaluate),
 * BRINE_MODULE (raised by a module), BRINE_COMMAND (cmd module).
 */
export class LoaderError extends BrineError {
  static override readonly kind: string = 'LoaderError'
}

/** `'x.y' is not available.` — with the __virtual__ reason or close matches. */
export class FunctionUnavailableError extends LoaderError {
  static override readonly kind: string = 'FunctionUnavailableError'
  readonly fun: string
  constructor(fun: string, detail?: string) {
    super(`'${fun}' is not available.${detail ? ` ${detail}` : ''}`, {
      code: 'BRINE_FUNCTION_UNAVAILABLE',
    })
    this.fun = fun
  }
}

export class ArgumentError extends LoaderError {
  static override readonly kind: string = 'ArgumentError'
  readonly fun: string
  readonly argument: string | undefined
  constructor(fun: string, message: string, argument?: string) {
    super(`${fun}: ${message}`, { code: 'BRINE_ARGUMENT' })
    this.fun = fun
    this.argument = argument
  }
}

export class ModuleLoadError extends LoaderError {
  static override readonly kind: string = 'ModuleLoadError'
  readonly file: string
  constructor(file: string, message: string, cause?: unknown) {
    super(`loading ${file} failed: ${message}`, { code: 'BRINE_MODULE_LOAD', cause })
    this.file = file
  }
}

/** An error a module raises on purpose, with a message for the user. */
export class ModuleError extends BrineError {
  static override readonly kind: string = 'ModuleError'
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, { code: options.code ?? 'BRINE_MODULE', cause: options.cause })
  }
}

export class CommandError extends BrineError {
  static override readonly kind: string = 'CommandError'
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'BRINE_COMMAND', cause })
  }
}
