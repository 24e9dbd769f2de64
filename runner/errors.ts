import { BrineError } from '../core/errors.ts'

/** SLS could not be compiled: nothing runs. `errors` holds every problem found. */
export class StateCompileError extends BrineError {
  static override readonly kind: string = 'StateCompileError'
  readonly errors: string[]
  constructor(errors: string[]) {
    super(`Data failed to compile:\n${errors.map((error) => `    ${error}`).join('\n')}`, {
      code: 'BRINE_STATE_COMPILE',
    })
    this.errors = errors
  }
}
