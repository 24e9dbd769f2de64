import { join } from 'node:path'
import { defaultOpts } from '../../loader/opts.ts'
import { Runtime } from '../../loader/runtime.ts'
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
