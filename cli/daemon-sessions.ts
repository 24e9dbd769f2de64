// The daemon's vSphere side: one ReconnectProxy per profile (kept alive, reported with its
// session's age and inventory index), and the console records' cleanup.
import { existsSync } from 'node:fs'
import { log } from '../core/log.ts'
import type { DaemonContext, Part } from './daemon-types.ts'

export function sessionsPart(ctx: DaemonContext): Part {
  let keepalive: NodeJS.Timeout | undefined
  return {
    name: 'sessions',
    async start() {
      const { preloadHostModules, hostModule } = await import('../loader/host-modules.ts')
      await preloadHostModules(['brine/vsphere'])
      const vsphere = hostModule('brine/vsphere') as typeof import('../vsphere/api.ts')
      const provider = new vsphere.ServiceInstanceProvider({
        sources: {
          env: ctx.options.env,
          opts: ctx.opts!,
          get pillar() {
            return ctx.pillar.value
          },
        },
        persistSessions: ctx.opts!.session_store,
      })
      ctx.indexSizeOf = (proxy) => {
        const session = vsphere.proxyTarget(proxy)
        return session ? vsphere.existingIndex(session)?.size : undefined
      }
      ctx.provider = {
        get: (profile?: string) => {
          if (!ctx.profiles.has(profile ?? '')) ctx.profiles.set(profile ?? '', Date.now())
          return provider.get(profile)
        },
        close: () => provider.close(),
        get logins() {
          return provider.logins
        },
      }
      // Keep idle sessions alive (a call that finds its session expired logs in again anyway).
      const seconds = Number(ctx.opts!.daemon_keepalive ?? 300)
      if (seconds > 0) {
        keepalive = setInterval(() => {
          for (const profile of ctx.profiles.keys()) {
            const proxy = provider.get(profile || undefined)
            if (vsphere.proxyTarget(proxy))
              void proxy
                .currentTime()
                .catch((error: unknown) =>
                  log.debug(
                    'daemon',
                    'keepalive of %s: %s',
                    profile || 'default',
                    (error as Error).message,
                  ),
                )
          }
        }, seconds * 1000)
        keepalive.unref()
      }
    },
    async stop() {
      clearInterval(keepalive)
      const failures = (await ctx.provider?.close()) ?? []
      for (const failure of failures) log.warn('daemon', 'logout failed: %s', failure.message)
      log.info('daemon', 'sessions logged out')
    },
    status: () => {
      const profiles: Record<string, unknown> = {}
      const vsphere = ctx.provider ? sessionsStatusOf(ctx) : {}
      Object.assign(profiles, vsphere)
      return { logins: ctx.provider?.logins ?? 0, profiles }
    },
  }
}

function sessionsStatusOf(ctx: DaemonContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [profile, since] of ctx.profiles) {
    const proxy = ctx.provider!.get(profile || undefined)
    const info = proxy.toJSON() as Record<string, unknown>
    let loginTime: Date | undefined
    let indexSize: number | undefined
    if (info.connected) {
      loginTime = proxy.userSession?.loginTime
      indexSize = ctx.indexSizeOf?.(proxy)
    }
    out[profile || 'default'] = {
      connected: info.connected,
      ...(info.server !== undefined && { server: info.server, user: info.user }),
      used_since: new Date(since).toISOString(),
      ...(loginTime && {
        session_age_s: Math.round((Date.now() - new Date(loginTime).getTime()) / 1000),
      }),
      ...(indexSize !== undefined && { index_size: indexSize }),
    }
  }
  return out
}

/**
 * Expired console records deleted every `console_cleanup_interval` seconds, as `brine console
 * serve` does. A SQLite store is opened only once its file exists, so that the daemon of a user
 * who never asks for a console creates no database; a memory store lives as long as the daemon.
 */
export function consoleCleanupPart(ctx: DaemonContext): Part {
  let timer: NodeJS.Timeout | undefined
  let runs = 0
  let deleted = 0
  let backend: string | undefined
  let lastError: string | undefined
  return {
    name: 'console cleanup',
    async start() {
      const { preloadHostModules, hostModule } = await import('../loader/host-modules.ts')
      await preloadHostModules(['brine/console'])
      const consoles = hostModule('brine/console') as typeof import('../console/api.ts')
      const config = consoles.consoleConfig(ctx.opts!, ctx.options.env)
      backend = config.backend
      let running = false
      timer = setInterval(async () => {
        if (running || (config.backend === 'sqlite' && !existsSync(config.file))) return
        running = true
        try {
          const result = await consoles.cleanupExpired(await consoles.openConsoleStore(config), {
            batch: config.cleanupBatch,
          })
          runs++
          deleted += result.deleted
          lastError = undefined
        } catch (error) {
          lastError = (error as Error).message
          log.warn('daemon', 'console cleanup failed: %s', lastError)
        } finally {
          running = false
        }
      }, config.cleanupIntervalSeconds * 1000)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
    },
    status: () => ({
      backend,
      runs,
      deleted,
      ...(lastError !== undefined && { last_error: lastError }),
    }),
  }
}
