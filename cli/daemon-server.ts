// `brine daemon`: one long-running process that serves `brine call` over a Unix socket. It
// holds the parts a call would otherwise build again: options, pillar (recompiled when its
// files change and on SIGHUP), the module loaders (watched, reloaded in place), the
// ReconnectProxy of each profile with its session and inventory index, the console cleanup,
// and the socket. The parts start in that order and stop in reverse; each reports its status.
import { BrineError } from '../core/errors.ts'
import { log, setLogSink } from '../core/log.ts'
import { configPart, loaderPart, pillarPart } from './daemon-parts.ts'
import { consoleCleanupPart, sessionsPart } from './daemon-sessions.ts'
import { callLog, socketPart } from './daemon-socket.ts'
import type { DaemonContext, DaemonOptions, DaemonStatus, Part } from './daemon-types.ts'

export type { DaemonOptions, DaemonStatus } from './daemon-types.ts'

/** Run the daemon until SIGTERM/SIGINT or `brine daemon stop`; resolves with the exit code. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const ctx: DaemonContext = {
    options,
    controller: new AbortController(),
    pillar: { value: {}, warnings: [], compiledAt: 0, compiles: 0 },
    profiles: new Map(),
    calls: new Map(),
    served: 0,
    stopping: false,
  }
  const parts = [
    configPart(ctx),
    pillarPart(ctx),
    loaderPart(ctx),
    sessionsPart(ctx),
    consoleCleanupPart(ctx),
    socketPart(ctx, () => status()),
  ]
  const started = new Date()
  const status = (): DaemonStatus => ({
    pid: process.pid,
    started: started.toISOString(),
    socket: options.paths.socket,
    stopping: ctx.stopping,
    memory: { heap_used: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss() },
    parts: Object.fromEntries(parts.map((part) => [part.name, part.status()])),
    calls: {
      in_flight: [...ctx.calls.values()].map((call) => ({
        id: call.id,
        fun: call.fun,
        client_pid: call.clientPid,
        age_s: Math.round((Date.now() - call.started) / 1000),
      })),
      served: ctx.served,
    },
  })

  // Signals: the first SIGTERM/SIGINT drains, a second stops at once; SIGHUP recompiles pillar.
  let requestStop!: (now: boolean) => void
  const stopRequested = new Promise<boolean>((resolve) => {
    requestStop = resolve
  })
  let signals = 0
  const onStopSignal = (signal: NodeJS.Signals) => {
    signals++
    log.warn(
      'daemon',
      signals === 1 ? '%s: draining the calls in flight' : '%s again: stopping now',
      signal,
    )
    if (signals === 1) requestStop(false)
    else ctx.controller.abort(new BrineError(`interrupted by ${signal}`, { code: 'BRINE_SIGTERM' }))
  }
  const onHangup = () => void ctx.recompilePillar?.()
  process.on('SIGTERM', onStopSignal)
  process.on('SIGINT', onStopSignal)
  process.on('SIGHUP', onHangup)
  // A call's warnings and errors go to its client, as they would in-process; the rest here.
  const restoreSink = setLogSink((line) => {
    const call = callLog.getStore()
    if (
      call &&
      (/^\[error\]/.test(line) || (call.level === 'warning' && /^\[warning\]/.test(line)))
    )
      call.stderr.write(`${line}\n`)
    else process.stderr.write(`${line}\n`)
  })
  // The daemon-wide signal reaches every call in flight; each call's own signal is derived from it.
  ctx.controller.signal.addEventListener(
    'abort',
    () => {
      for (const call of ctx.calls.values()) call.controller.abort(ctx.controller.signal.reason)
      requestStop(true)
    },
    { once: true },
  )
  ctx.requestStop = requestStop

  const running: Part[] = []
  let code = 0
  try {
    for (const part of parts) {
      log.info('daemon', 'starting %s', part.name)
      await part.start()
      running.push(part)
    }
    options.onReady?.(status())
    await stopRequested
    ctx.stopping = true
    // Stop: the socket first (no new calls), then the drain, then the rest in reverse.
    const socket = running.pop()
    log.info('daemon', 'stopping socket')
    await socket?.stop()
    await drainCalls(ctx)
    ctx.closeConnections?.()
  } catch (error) {
    log.error('daemon', '%s', (error as Error).message)
    code = 1
  } finally {
    ctx.stopping = true
    if (!ctx.controller.signal.aborted)
      ctx.controller.abort(new BrineError('the daemon stopped', { code: 'BRINE_SIGTERM' }))
    for (const part of running.reverse()) {
      log.info('daemon', 'stopping %s', part.name)
      await part
        .stop()
        .catch((error: unknown) =>
          log.warn('daemon', 'stopping %s: %s', part.name, (error as Error).message),
        )
    }
    process.off('SIGTERM', onStopSignal)
    process.off('SIGINT', onStopSignal)
    process.off('SIGHUP', onHangup)
    restoreSink()
  }
  log.info('daemon', 'stopped')
  return code
}

/** Let the calls in flight finish within the drain bound, then abort what is left. */
async function drainCalls(ctx: DaemonContext): Promise<void> {
  const pending = () => Promise.all([...ctx.calls.values()].map((call) => call.done))
  if (ctx.calls.size === 0) return
  const given = Number(
    ctx.options.env.BRINE_DAEMON_DRAIN_TIMEOUT ?? ctx.opts?.daemon_drain_timeout ?? 30,
  )
  const seconds = Number.isFinite(given) && given >= 0 ? given : 30
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, seconds) * 1000)
  })
  const aborted = new Promise<void>((resolve) =>
    ctx.controller.signal.addEventListener('abort', () => resolve(), { once: true }),
  )
  log.info('daemon', 'waiting up to %ds for %d call(s) in flight', seconds, ctx.calls.size)
  await Promise.race([pending(), bound, aborted])
  clearTimeout(timer)
  if (ctx.calls.size === 0) return
  if (!ctx.controller.signal.aborted) {
    log.warn('daemon', 'drain bound reached: aborting %d call(s)', ctx.calls.size)
    ctx.controller.abort(
      new BrineError('interrupted by SIGTERM (daemon stopping)', { code: 'BRINE_SIGTERM' }),
    )
  }
  // Aborted calls end promptly (tasks cancelled); a second signal does not wait for them.
  await Promise.race([pending(), new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())])
}
