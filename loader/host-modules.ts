import { log } from '../core/log.ts'

/**
 * The core modules reloadable code may import. Each specifier resolves to the host's single
 * loaded instance (loaded on first need, never again), so `ServiceInstance`, the error
 * classes and zod have one identity whatever the number of reloads. Importing
 * `brine/vsphere` is what loads the vSphere client: `test.ping` never pays for it.
 */
export const HOST_MODULES: Record<string, () => Promise<unknown>> = {
  brine: () => import('../index.ts'),
  'brine/loader': () => import('./api.ts'),
  'brine/vsphere': () => import('../vsphere/api.ts'),
  'brine/runner': () => import('../runner/api.ts'),
  'brine/console': () => import('../console/api.ts'),
}

const loaded = new Map<string, unknown>()

/** Load the host modules a module needs (once per process). */
export async function preloadHostModules(specifiers: Iterable<string>): Promise<void> {
  for (const specifier of specifiers) {
    const load = HOST_MODULES[specifier]
    if (load && !loaded.has(specifier)) {
      loaded.set(specifier, await load())
      log.debug('loader', 'host module %s loaded', specifier)
    }
  }
}

/** A preloaded host module, or undefined when `specifier` is not one. */
export function hostModule(specifier: string): unknown {
  return loaded.get(specifier)
}
