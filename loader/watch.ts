import { existsSync, type FSWatcher, watch } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { log } from '../core/log.ts'
import type { ModuleLoadError } from './errors.ts'
import type { ModuleLoader } from './loader.ts'

export interface WatchOptions {
  /** Quiet period after the last change before reloading, ms. Default 100. */
  debounceMs?: number
  /** Told about every reload: the module file and, when it failed, why (the old code stays). */
  onReload?: (file: string, error: ModuleLoadError | undefined) => void
}

/**
 * Watch the loader's directories and reload changed modules after a quiet period. A file
 * that no longer compiles keeps the last good generation running and reports why.
 * Returns the function that stops watching.
 */
export function watchModules(loader: ModuleLoader, options: WatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 100
  const timers = new Map<string, NodeJS.Timeout>()
  const watchers: FSWatcher[] = []

  const reload = async (file: string) => {
    timers.delete(file)
    if (!existsSync(file)) {
      await loader.reload(basename(file, extname(file)))
      options.onReload?.(file, undefined)
      return
    }
    const error = await loader.reloadFile(file)
    log.info(
      'loader',
      error ? 'reload of %s failed; the last good version stays' : 'reloaded %s',
      file,
    )
    options.onReload?.(file, error)
  }

  for (const dir of loader.dirs) {
    if (!existsSync(dir)) continue
    const watcher = watch(dir, (_event, name) => {
      if (!name || name.startsWith('.') || !/\.[cm]?[jt]s$/.test(name)) return
      const file = join(dir, name)
      clearTimeout(timers.get(file))
      timers.set(
        file,
        setTimeout(() => void reload(file), debounceMs),
      )
    })
    watchers.push(watcher)
  }
  return () => {
    for (const watcher of watchers) watcher.close()
    for (const timer of timers.values()) clearTimeout(timer)
    timers.clear()
  }
}
