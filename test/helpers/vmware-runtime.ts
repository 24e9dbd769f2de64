import { join } from 'node:path'
import { Runtime } from '../../loader/runtime.ts'
import type { Vcsim } from './vcsim.ts'

const root = join(import.meta.dirname, '..', '..')

/** A runtime whose vSphere functions reach `vcsim` through the ReconnectProxy (saltext.vmware in opts). */
export function vmwareRuntime(vcsim: Vcsim, user = 'modules', fileRoots: string[] = []): Runtime {
  return new Runtime({
    opts: {
      id: 'vmware-test',
      file_roots: fileRoots,
      pillar_roots: [],
      module_dirs: [],
      log_level: 'warning',
      test: false,
      session_store: false,
      'saltext.vmware': { host: vcsim.url, user, password: 'pw', ca_file: vcsim.caFile },
    },
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
    env: {},
  })
}
