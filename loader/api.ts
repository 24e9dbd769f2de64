// What reloadable modules import as `brine/loader`. Evaluated once by the host; every module
// generation gets this same instance (see loader/host-modules.ts).
import { z } from 'zod'
import type { ArgShape, FunctionDefinition, ModuleDefinition, TypedFunction } from './types.ts'

export { BrineError, hasErrorCode } from '../core/errors.ts'
export { log } from '../core/log.ts'
export { lookupValue } from '../core/lookup.ts'
export { Issued, Secret } from '../core/secret.ts'
export { CommandError, ModuleError } from './errors.ts'
export type * from './types.ts'
export { z }

const kModule = Symbol.for('brine.module')

/**
 * Declare a module: `export default defineModule({ functions: { ping: defineFunction({...}) } })`.
 * With `vsphere: true`, every function that does not say `vsphere: false` is a vSphere
 * function. The functions keep their types, for typed cross-calls (`ctx.module`).
 */
export function defineModule<Functions extends ModuleDefinition['functions']>(
  definition: ModuleDefinition & { functions: Functions },
): ModuleDefinition & { functions: Functions } {
  if (definition.vsphere !== undefined)
    for (const fn of Object.values(definition.functions)) fn.vsphere ??= definition.vsphere
  return Object.assign(definition, { [kModule]: true })
}

/**
 * Declare one function; `run` gets its arguments typed from `args`. `args` may be a function
 * that returns them: its schemas are then built when the function is first called or
 * described, not when its module loads (a short `brine call` of one function of a large
 * module builds only that function's schemas; issue 21).
 */
export function defineFunction<Shape extends ArgShape, Result>(
  definition: Omit<FunctionDefinition<Shape, Result>, 'args'> & { args: Shape | (() => Shape) },
): TypedFunction<Result> {
  const { args } = definition
  if (typeof args === 'function') {
    let shape: Shape | undefined
    Object.defineProperty(definition, 'args', {
      get: () => {
        shape ??= args()
        return shape
      },
      enumerable: true,
    })
  }
  return definition as unknown as TypedFunction<Result>
}

/** `make`, run once on first use: for schemas a module shares among lazy `args`. */
export function lazy<T>(make: () => T): () => T {
  let made = false
  let value: T
  return () => {
    if (!made) {
      value = make()
      made = true
    }
    return value
  }
}

/** True for what `defineModule` returned, from any generation. */
export function isModuleDefinition(value: unknown): value is ModuleDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[kModule] === true
  )
}
