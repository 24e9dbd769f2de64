// brine's public API: named re-exports only.
export { BrineError, hasErrorCode } from './core/errors.ts'
export { type LogLevel, log, setLogLevel, setLogSink } from './core/log.ts'
export { redact, registerSecret } from './core/redact.ts'
export { Secret } from './core/secret.ts'
export {
  defineFunction,
  defineModule,
  isModuleDefinition,
  z,
} from './loader/api.ts'
export { type CreateRuntimeOptions, createRuntime } from './loader/caller.ts'
export {
  ArgumentError,
  CommandError,
  FunctionUnavailableError,
  ModuleError,
  ModuleLoadError,
} from './loader/errors.ts'
export { type LoaderOptions, ModuleLoader } from './loader/loader.ts'
export type { CallOptions, Runtime } from './loader/runtime.ts'
export type * from './loader/types.ts'
export * from './vsphere/api.ts'
