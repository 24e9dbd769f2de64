import { join } from 'node:path'
import { defaultOpts } from '../../loader/opts.ts'
import { Runtime } from '../../loader/runtime.ts'
import type { StateReturn } from '../../runner/types.ts'
import type { Vcsim } from './vcsim.ts'

const root = join(import.meta.dirname, '..', '..')

/** A runtime whose vSphere functions reach `vcsim` through the ReconnectProxy (saltext.vmware in opts). */
export function vmwareRuntime(
  vcsim: Vcsim,
  user = 'modules',
  fileRoots: string[] = [],
  extraOpts: Record<string, unknown> = {},
): Runtime {
  return new Runtime({
    opts: defaultOpts({
      id: 'vmware-test',
      file_roots: fileRoots,
      pillar_roots: [],
      'saltext.vmware': { host: vcsim.url, user, password: 'pw', ca_file: vcsim.caFile },
      ...extraOpts,
    }),
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
    env: {},
  })
}

/**
 * Calls made the way `salt-call fun a b k=v` makes them (positional, then keyword arguments),
 * on the runtime `runtime()` gives when called: execution functions, state functions, and a
 * call expected to fail (its error, or undefined when it did not fail).
 */
export function callersOf(runtime: () => Runtime) {
  const call = (fun: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
    runtime().call(fun, { args, kwargs })
  const state = (
    fun: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    test = false,
  ) => runtime().call(fun, { args, kwargs, state: true, test }) as Promise<StateReturn>
  const failure = (fun: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
    call(fun, args, kwargs).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
  return { call, state, failure }
}
