import type { Runtime } from '../../loader/runtime.ts'

/** `call` and `failure` (the error a call throws, or undefined) on the runtime `runtime()` gives. */
export function runtimeCalls(runtime: () => Runtime) {
  const call = (fun: string, kwargs: Record<string, unknown> = {}) =>
    runtime().call(fun, { kwargs })
  const failure = (fun: string, kwargs: Record<string, unknown> = {}) =>
    call(fun, kwargs).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; faultType?: string },
    )
  return { call, failure }
}
