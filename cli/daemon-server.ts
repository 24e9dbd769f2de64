// `brine daemon`: one long-running process that serves `brine call` over a Unix socket. It
// holds the parts a call would otherwise build again: options, pillar (recompiled when its
// files change and on SIGHUP), the module loaders (watched, reloaded in place), the
// ReconnectProxy of each profile with its session and inventory index, and the socket. The
// parts start in that order and stop in reverse; each reports its status.
import { AsyncLocalStorage } from 'node:async_hooks'
import {
  chmodSync,
  existsSync,
  type FSWatcher,
  rmSync,
  unlinkSync,
  watch,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { isAbsolute } from 'node:path'
import { Writable } from 'node:stream'
import { writeHeapSnapshot } from 'node:v8'
import { BrineError } from '../core/errors.ts'
import { log, setLogSink } from '../core/log.ts'
import { compileOptsPillar, registerSecretsIn, runtimeDirs } from '../loader/caller.ts'
import type { ModuleLoader } from '../loader/loader.ts'
import type { Runtime, ServiceInstanceSource } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { connectSocket } from './daemon-client.ts'
import { DaemonError, type DaemonPaths, ensureDaemonDir } from './daemon-paths.ts'
import {
  type CallHost,
  type ClientMessage,
  configFingerprint,
  onMessages,
  send,
} from './daemon-protocol.ts'
import { type OptsFlags, resolveOpts } from './opts.ts'

/**
 * | option | type | default | env |
 * |---|---|---|---|
 * | daemon_drain_timeout | seconds to let calls in flight finish on SIGTERM | 30 | BRINE_DAEMON_DRAIN_TIMEOUT |
 * | daemon_keepalive | seconds between keepalives of idle sessions (0: none) | 300 | — |
 */
export interface DaemonOptions {
  flags: OptsFlags
  env: Record<string, string | undefined>
  cwd: string
  paths: DaemonPaths
  /** Told once the socket listens. */
  onReady?: (status: DaemonStatus) => void
}

export interface DaemonStatus {
  pid: number
  started: string
  socket: string
  stopping: boolean
  /** Bytes; after a collection when the status was asked for with `gc` (and --expose-gc). */
  memory: { heap_used: number; rss: number }
  parts: Record<string, unknown>
  calls: { in_flight: CallStatus[]; served: number }
}

interface CallStatus {
  id: number
  fun: string
  client_pid: number
  age_s: number
}

/** One part of the daemon: started in order, stopped in reverse, each with its status. */
interface Part {
  name: string
  start(): Promise<void>
  stop(): Promise<void>
  status(): unknown
}

interface CallRecord {
  id: number
  fun: string
  clientPid: number
  started: number
  controller: AbortController
  done: Promise<void>
}

/** What the parts share, passed down rather than held in module state. */
interface DaemonContext {
  options: DaemonOptions
  /** Daemon-wide: every call's signal follows it. Aborted when the drain ends or on a second SIGTERM. */
  controller: AbortController
  opts?: Opts
  fingerprint?: string
  pillar: {
    value: Record<string, unknown>
    warnings: string[]
    compiledAt: number
    compiles: number
  }
  runtime?: Runtime
  provider?: ServiceInstanceSource & { get(profile?: string): ServiceInstance }
  profiles: Map<string, number>
  calls: Map<number, CallRecord>
  served: number
  stopping: boolean
  recompilePillar?: () => Promise<void>
  /** Entries of the inventory index of a profile's session (none: not built). */
  indexSizeOf?: (proxy: ServiceInstance) => number | undefined
  requestStop?: (now: boolean) => void
  /** Ends the clients' connections (after the drain). */
  closeConnections?: () => void
}

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
  ctx.controller.signal.addEventListener('abort', () => requestStop(true), { once: true })
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

// --- parts ---

function configPart(ctx: DaemonContext): Part {
  return {
    name: 'config',
    async start() {
      const { flags, env, cwd } = ctx.options
      ctx.opts = resolveOpts(flags, env, cwd)
      registerSecretsIn(ctx.opts)
      ctx.fingerprint = configFingerprint(ctx.opts, env)
    },
    async stop() {},
    status: () => ({
      conf_file: ctx.opts?.conf_file ?? null,
      id: ctx.opts?.id,
      module_dirs: ctx.opts?.module_dirs,
      pillar_roots: ctx.opts?.pillar_roots,
      file_roots: ctx.opts?.file_roots,
    }),
  }
}

function pillarPart(ctx: DaemonContext): Part {
  const watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | undefined
  let lastError: string | undefined
  const recompile = async () => {
    const opts = ctx.opts!
    const warnings: string[] = []
    try {
      const value = await compileOptsPillar(opts, undefined, (message) => warnings.push(message))
      registerSecretsIn(value)
      ctx.pillar = { value, warnings, compiledAt: Date.now(), compiles: ctx.pillar.compiles + 1 }
      if (ctx.runtime) ctx.runtime.pillar = value
      lastError = undefined
      log.info('daemon', 'pillar compiled (%d warning(s))', warnings.length)
    } catch (error) {
      lastError = (error as Error).message
      log.warn('daemon', 'pillar did not compile, the last one stays: %s', lastError)
    }
  }
  return {
    name: 'pillar',
    async start() {
      ctx.recompilePillar = recompile
      await recompile()
      for (const root of ctx.opts!.pillar_roots) {
        if (!existsSync(root)) continue
        watchers.push(
          watch(root, { recursive: true }, () => {
            clearTimeout(timer)
            timer = setTimeout(() => void recompile(), 100)
          }),
        )
      }
    },
    async stop() {
      clearTimeout(timer)
      for (const watcher of watchers) watcher.close()
      ctx.recompilePillar = undefined
    },
    status: () => ({
      compiled_at: ctx.pillar.compiledAt ? new Date(ctx.pillar.compiledAt).toISOString() : null,
      compiles: ctx.pillar.compiles,
      warnings: ctx.pillar.warnings.length,
      ...(lastError !== undefined && { last_error: lastError }),
    }),
  }
}

function loaderPart(ctx: DaemonContext): Part {
  const stops: (() => void)[] = []
  const generations = trackGenerations()
  let reloads = 0
  const failures: Record<string, string> = {}
  return {
    name: 'loader',
    async start() {
      const { Runtime } = await import('../loader/runtime.ts')
      const { defaultTranspileCacheDir } = await import('../loader/evaluate.ts')
      const { watchModules } = await import('../loader/watch.ts')
      const opts = ctx.opts!
      ctx.runtime = new Runtime({
        opts,
        pillar: ctx.pillar.value,
        ...runtimeDirs(opts),
        signal: ctx.controller.signal,
        env: ctx.options.env,
        cacheDir: defaultTranspileCacheDir(),
        compilePillar: async () => {
          await ctx.recompilePillar?.()
          return ctx.pillar.value
        },
        createServiceInstances: () => {
          if (!ctx.provider) throw new DaemonError('the sessions part is not started')
          return ctx.provider
        },
      })
      for (const loader of [ctx.runtime.modules, ctx.runtime.states]) {
        stops.push(
          watchModules(loader, {
            onReload: (file, error) => {
              reloads++
              if (error) failures[file] = error.message
              else delete failures[file]
              generations.track(loader)
            },
          }),
        )
      }
    },
    async stop() {
      for (const stop of stops) stop()
      await ctx.runtime?.close()
    },
    status: () => {
      const runtime = ctx.runtime
      if (!runtime) return { state: 'stopped' }
      generations.track(runtime.modules)
      generations.track(runtime.states)
      return {
        modules: loadedGenerations(runtime.modules),
        states: loadedGenerations(runtime.states),
        reloads,
        retired_alive: generations.retired([runtime.modules, runtime.states]),
        ...(Object.keys(failures).length > 0 && { failed_reloads: failures }),
      }
    },
  }
}

function sessionsPart(ctx: DaemonContext): Part {
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
function consoleCleanupPart(ctx: DaemonContext): Part {
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
      timer = setInterval(() => {
        if (config.backend === 'sqlite' && !existsSync(config.file)) return
        try {
          const result = consoles.cleanupExpired(consoles.openConsoleStore(config), {
            batch: config.cleanupBatch,
          })
          runs++
          deleted += result.deleted
          lastError = undefined
        } catch (error) {
          lastError = (error as Error).message
          log.warn('daemon', 'console cleanup failed: %s', lastError)
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

function socketPart(ctx: DaemonContext, status: () => DaemonStatus): Part {
  const { paths } = ctx.options
  let server: Server | undefined
  const connections = new Set<Socket>()
  return {
    name: 'socket',
    async start() {
      ensureDaemonDir(paths.dir)
      if (existsSync(paths.socket)) {
        const live = await connectSocket(paths.socket).then(
          (socket) => {
            socket.destroy()
            return true
          },
          () => false,
        )
        if (live)
          throw new DaemonError(
            `a brine daemon already listens on ${paths.socket}: stop it first (brine daemon stop).`,
          )
        log.warn('daemon', 'removing the stale socket %s (its daemon is gone)', paths.socket)
        unlinkSync(paths.socket)
      }
      server = createServer((socket) => {
        connections.add(socket)
        socket.on('close', () => connections.delete(socket))
        socket.on('error', () => {})
        serveConnection(ctx, socket, status)
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        // The directory (0700) already keeps others out; the mode is the second lock.
        const umask = process.umask(0o177)
        server!.listen(paths.socket, () => {
          process.umask(umask)
          server!.off('error', reject)
          resolve()
        })
      })
      chmodSync(paths.socket, 0o600)
      writeFileSync(paths.pidFile, `${process.pid}\n`, { mode: 0o600 })
      log.info('daemon', 'listening on %s (pid %d)', paths.socket, process.pid)
    },
    async stop() {
      // No new connections; those open finish their calls (drained next).
      const closed = new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve())
      rmSync(paths.socket, { force: true })
      rmSync(paths.pidFile, { force: true })
      void closed
      ctx.closeConnections = () => {
        for (const socket of connections) socket.destroy()
      }
    },
    status: () => ({ listening: server?.listening ?? false, connections: connections.size }),
  }
}

// --- calls ---

let nextCallId = 1

/** The client of the call running in this async context: where its log lines go. */
const callLog = new AsyncLocalStorage<{ stderr: Writable; level: 'warning' | 'error' }>()

function serveConnection(ctx: DaemonContext, socket: Socket, status: () => DaemonStatus): void {
  let call: CallRecord | undefined
  onMessages<ClientMessage>(socket, (message) => {
    switch (message.type) {
      case 'call':
        if (call) return
        call = startCall(ctx, socket, message)
        return
      case 'cancel':
        call?.controller.abort(
          new BrineError(`interrupted by ${message.signal}`, {
            code: message.signal === 'SIGTERM' ? 'BRINE_SIGTERM' : 'BRINE_SIGINT',
          }),
        )
        return
      case 'status':
        void answerStatus(socket, status, message.gc === true, message.heapSnapshot)
        return
      case 'stop':
        send(socket, { type: 'stopping' })
        ctx.requestStop?.(false)
        return
    }
  })
  // A client that goes away (killed, its terminal closed) aborts its call, and only its call.
  socket.on('close', () =>
    call?.controller.abort(
      new BrineError('interrupted: the client went away', { code: 'BRINE_SIGINT' }),
    ),
  )
}

async function answerStatus(
  socket: Socket,
  status: () => DaemonStatus,
  gc: boolean,
  heapSnapshot: string | undefined,
): Promise<void> {
  if (gc && typeof globalThis.gc === 'function') {
    // WeakRefs read in this job stay alive until it ends: collect in a later one.
    await new Promise((resolve) => setImmediate(resolve))
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  if (heapSnapshot && isAbsolute(heapSnapshot)) writeHeapSnapshot(heapSnapshot)
  send(socket, { type: 'status', status: status() })
}

function startCall(
  ctx: DaemonContext,
  socket: Socket,
  message: Extract<ClientMessage, { type: 'call' }>,
): CallRecord | undefined {
  if (ctx.stopping) {
    send(socket, { type: 'refused', reason: 'the daemon is stopping' })
    return undefined
  }
  if (message.fingerprint !== ctx.fingerprint) {
    send(socket, {
      type: 'refused',
      reason:
        'the call runs with other options or credentials than the daemon (config file, directories, id, SALTEXT_VMWARE_* variables)',
    })
    return undefined
  }
  send(socket, { type: 'accepted' })
  const controller = new AbortController()
  const signal = AbortSignal.any([ctx.controller.signal, controller.signal])
  const host: CallHost = {
    signal,
    env: message.env,
    cwd: message.cwd,
    runtime: ctx.runtime!,
    pillar: (stderr) => {
      for (const warning of ctx.pillar.warnings) stderr.write(`[warning] [pillar] ${warning}\n`)
      return ctx.pillar.value
    },
  }
  const io = {
    stdout: clientStream(socket, 'stdout', message.stdoutIsTTY),
    stderr: clientStream(socket, 'stderr', message.stderrIsTTY),
  }
  const id = nextCallId++
  const fun = message.argv.find((token) => /^[\w-]+\.[\w-]+$/.test(token)) ?? '?'
  const record: CallRecord = {
    id,
    fun,
    clientPid: message.pid,
    started: Date.now(),
    controller,
    done: Promise.resolve(),
  }
  ctx.calls.set(id, record)
  record.done = (async () => {
    try {
      const { main } = await import('./main.ts')
      const code = await callLog.run({ stderr: io.stderr, level: message.logLevel }, () =>
        main(message.argv, io as never, host),
      )
      send(socket, { type: 'exit', code })
    } catch (error) {
      send(socket, { type: 'stderr', data: `Error: ${(error as Error).message}\n` })
      send(socket, { type: 'exit', code: 1 })
    } finally {
      ctx.calls.delete(id)
      ctx.served++
      socket.end()
    }
  })()
  return record
}

/** A writable that sends what main() writes to the client, as its stdout or stderr. */
function clientStream(socket: Socket, type: 'stdout' | 'stderr', isTTY: boolean): Writable {
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      if (socket.destroyed) {
        callback(Object.assign(new Error('the client went away'), { code: 'EPIPE' }))
        return
      }
      send(socket, { type, data: String(chunk) })
      callback()
    },
  })
  return Object.assign(stream, { isTTY })
}

// --- module generations ---

function loadedGenerations(loader: ModuleLoader): Record<string, number> {
  const out: Record<string, number> = {}
  for (const name of loader.moduleNames()) {
    const generation = loader.module(name)
    if (generation) out[name] = generation.id
  }
  return out
}

/**
 * Weak references to every generation the loaders have held: a replaced generation that is
 * still reachable after a collection is a leak, and `status` names it.
 */
function trackGenerations() {
  const refs = new Map<number, WeakRef<object>>()
  const registry = new FinalizationRegistry<number>((id) => refs.delete(id))
  return {
    track(loader: ModuleLoader): void {
      for (const name of loader.moduleNames()) {
        const generation = loader.module(name)
        if (!generation || refs.has(generation.id)) continue
        refs.set(generation.id, new WeakRef(generation))
        registry.register(generation, generation.id)
      }
    },
    /** Ids of replaced generations not collected yet. */
    retired(loaders: ModuleLoader[]): number[] {
      const current = new Set(loaders.flatMap((loader) => Object.values(loadedGenerations(loader))))
      return [...refs]
        .filter(([id, ref]) => !current.has(id) && ref.deref() !== undefined)
        .map(([id]) => id)
    },
  }
}
