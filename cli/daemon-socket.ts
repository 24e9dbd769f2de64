// The daemon's socket and the calls it serves: each call runs main() with the client's
// argv, environment and directory, on a signal of its own derived from the daemon's.
import { AsyncLocalStorage } from 'node:async_hooks'
import { chmodSync, existsSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { isAbsolute } from 'node:path'
import { Writable } from 'node:stream'
import { writeHeapSnapshot } from 'node:v8'
import { BrineError } from '../core/errors.ts'
import { log } from '../core/log.ts'
import { DaemonError, ensureDaemonDir } from './daemon-paths.ts'
import {
  CALL_LOG_LEVELS,
  type CallHost,
  type ClientMessage,
  configFingerprint,
  onMessages,
  send,
} from './daemon-protocol.ts'
import type { CallRecord, DaemonContext, DaemonStatus, Part } from './daemon-types.ts'
import { connectSocket } from './daemon-wire.ts'
import { optsFlagsOfArgv } from './main.ts'
import { resolveOpts } from './opts.ts'

export function socketPart(ctx: DaemonContext, status: () => DaemonStatus): Part {
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
export const callLog = new AsyncLocalStorage<{ stderr: Writable; level: 'warning' | 'error' }>()

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
  const checked = checkCall(ctx, message)
  if (typeof checked === 'string') {
    send(socket, { type: 'refused', reason: checked })
    return undefined
  }
  send(socket, { type: 'accepted' })
  // Aborted by the client (cancel, disconnect) or, through ctx.calls, by the daemon's own
  // signal (runDaemon). Not AbortSignal.any: each call would stay registered on the daemon's.
  const controller = new AbortController()
  const host: CallHost = {
    signal: controller.signal,
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
      const code = await callLog.run({ stderr: io.stderr, level: checked.logLevel }, () =>
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

/**
 * Whether the daemon serves `message`: its log level, or why not. A client that read its
 * options sends their fingerprint; a fast-path client (bin/brine.js, which reads none) sends
 * argv, cwd and env, and the daemon resolves the options as that client would, then applies
 * the client's rules too (daemon: never, and logging beyond what a call passes on, run
 * in-process).
 */
function checkCall(
  ctx: DaemonContext,
  message: Extract<ClientMessage, { type: 'call' }>,
): { logLevel: 'warning' | 'error' } | string {
  const other =
    'the call runs with other options or credentials than the daemon (config file, directories, id, SALTEXT_VMWARE_* variables)'
  if (message.fingerprint !== undefined)
    return message.fingerprint === ctx.fingerprint
      ? { logLevel: message.logLevel ?? 'error' }
      : other
  let opts: ReturnType<typeof resolveOpts>
  try {
    opts = resolveOpts(optsFlagsOfArgv(message.argv), message.env, message.cwd)
  } catch (error) {
    return `the call's options do not resolve here: ${(error as Error).message}`
  }
  const mode = String(message.env.BRINE_DAEMON ?? opts.daemon ?? 'auto')
  if (mode !== 'auto' && mode !== 'always') return `daemon: ${mode}`
  if (message.env.BRINE_DEBUG || !CALL_LOG_LEVELS.includes(opts.log_level))
    return 'the call asks for more logging than a call in the daemon passes on'
  if (configFingerprint(opts, message.credentials) !== ctx.fingerprint) return other
  return { logLevel: opts.log_level === 'warning' ? 'warning' : 'error' }
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
