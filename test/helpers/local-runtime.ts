import { join } from 'node:path'
import { defaultOpts } from '../../loader/opts.ts'
import { Runtime } from '../../loader/runtime.ts'
import type { Opts } from '../../loader/types.ts'

const root = join(import.meta.dirname, '..', '..')

/**
 * A runtime with the built-in modules and states and no vCenter, over the state tree
 * `test/fixtures/requisites/<fixture>` (Salt's restated requisite cases).
 */
export function requisiteRuntime(fixture: string, overrides: Partial<Opts> = {}): Runtime {
  return new Runtime({
    opts: defaultOpts({
      id: 'minion',
      file_roots: [join(root, 'test', 'fixtures', 'requisites', fixture)],
      pillar_roots: [],
      ...overrides,
    }),
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
  })
}
