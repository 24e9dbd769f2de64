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

/** Declare one function; `run` gets its arguments typed from `args`. */
export function defineFunction<Shape extends ArgShape, Result>(
  definition: FunctionDefinition<Shape, Result>,
): TypedFunction<Result> {
  return definition as unknown as TypedFunction<Result>
}

/** True for what `defineModule` returned, from any generation. */
export function isModuleDefinition(value: unknown): value is ModuleDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[kModule] === true
  )
}
