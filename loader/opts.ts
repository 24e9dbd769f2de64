import { hostname } from 'node:os'
import type { Opts } from './types.ts'

/** Options with brine's defaults (cli/opts.ts layers the config file, env and flags on top). */
export function defaultOpts(overrides: Partial<Opts> = {}): Opts {
  return {
    id: hostname(),
    file_roots: ['/srv/salt'],
    pillar_roots: ['/srv/pillar'],
    module_dirs: [],
    log_level: 'warning',
    test: false,
    session_store: false,
    ...overrides,
  }
}
