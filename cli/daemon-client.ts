// The client side of `brine call` through a running daemon. Small on purpose: it reads the
// options (to compare them with the daemon's) and talks to the socket; the modules, the
// vSphere client and the state runner stay in the daemon.
import { existsSync } from 'node:fs'
import type { Socket } from 'node:net'
import { BrineError } from '../core/errors.ts'
import type { Opts } from '../loader/types.ts'
import { checkDaemonDir, checkDaemonSocket, daemonPaths } from './daemon-paths.ts'
import {
  CALL_LOG_LEVELS,
  type ClientMessage,
  callEnv,
  configFingerprint,
  credentialDigest,
  type DaemonMessage,
  onMessages,
  send,
} from './daemon-protocol.ts'
import { connectSocket, exchange } from './daemon-wire.ts'
import { EXIT } from './exit-codes.ts'
import { type OptsFlags, resolveOpts } from './opts.ts'

/** `daemon` option: use a running daemon (auto), never, or fail without one (always). */
export type DaemonMode = 'auto' | 'never' | 'always'
const MODES: readonly string[] = ['auto', 'never', 'always']

interface Io {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/**
 * Run the call in the daemon when one serves these options. Resolves with the exit code, or
 * undefined when the call is to run in-process (no daemon, a stale socket, other options,
 * debug logging). Once the daemon accepted the call it is never run again in-process: a
 * daemon that goes away mid-call is an error of unknown outcome.
 *
 * | option | values | default | env |
 * |---|---|---|---|
 * | daemon | auto, never, always | auto | BRINE_DAEMON |
 */
export async function callDaemon(
  argv: string[],
  flags: OptsFlags,
  io: Io,
  signal: AbortSignal,
  env: Record<string, string | undefined> = process.env,
  // The in-process call resolves the same options: main passes them read once.
  resolve: () => Opts = () => resolveOpts(flags, env),
): Promise<number | undefined> {
  let opts: Opts
  try {
    opts = resolve()
  } catch {
    return undefined // in-process reports it, as ever
  }
  const mode = String(env.BRINE_DAEMON ?? opts.daemon ?? 'auto')
  if (!MODES.includes(mode)) {
    const from = env.BRINE_DAEMON !== undefined ? 'BRINE_DAEMON' : `daemon in ${opts.conf_file}`
    io.stderr.write(
      `Error: ${from} must be auto, never or always, not '${mode}'; nothing was run.\n`,
    )
    return EXIT.USAGE
  }
  if (mode === 'never') return undefined
  // The logger is one per process: the daemon passes a call its warnings and errors; a call
  // that asks for more (info, debug, BRINE_DEBUG) runs where it can have it.
  if (mode === 'auto' && (env.BRINE_DEBUG || !CALL_LOG_LEVELS.includes(opts.log_level)))
    return undefined
  const paths = daemonPaths(env)
  const unusable = (reason: string): number | undefined => {
    if (mode === 'always') {
      io.stderr.write(`Error: ${reason}; daemon: always forbids running in-process.\n`)
      return EXIT.ERROR
    }
    io.stderr.write(`[warning] [daemon] ${reason}; running in-process.\n`)
    return undefined
  }
  if (!existsSync(paths.socket)) {
    if (mode === 'always')
      return unusable(
        `no brine daemon runs (no socket ${paths.socket}): start one with brine daemon start`,
      )
    return undefined
  }
  try {
    checkDaemonDir(paths.dir)
    checkDaemonSocket(paths.socket)
  } catch (error) {
    return unusable((error as Error).message.replace(/\.$/, ''))
  }
  let socket: Socket
  try {
    socket = await connectSocket(paths.socket)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED' || code === 'ENOENT')
      return unusable(
        `the daemon socket ${paths.socket} is stale (no daemon listens on it: killed, or crashed)`,
      )
    return unusable(`cannot connect to the daemon socket ${paths.socket}: ${code ?? error}`)
  }
  const credentials = credentialDigest(env)
  return exchange(
    socket,
    {
      type: 'call',
      argv,
      cwd: process.cwd(),
      env: callEnv(env),
      credentials,
      fingerprint: configFingerprint(opts, credentials),
      logLevel: opts.log_level === 'warning' ? 'warning' : 'error',
      stdoutIsTTY: Boolean((io.stdout as NodeJS.WriteStream).isTTY),
      stderrIsTTY: Boolean((io.stderr as NodeJS.WriteStream).isTTY),
      pid: process.pid,
    },
    io,
    signal,
    (reason) => {
      if (mode !== 'always') return undefined
      io.stderr.write(`Error: the brine daemon refused the call: ${reason}\n`)
      return EXIT.ERROR
    },
  )
}

/** One request to the daemon (status, stop) and its first answer. */
export async function requestDaemon(path: string, message: ClientMessage): Promise<DaemonMessage> {
  const socket = await connectSocket(path)
  return new Promise((resolve, reject) => {
    onMessages<DaemonMessage>(socket, (answer) => {
      resolve(answer)
      socket.end()
    })
    socket.once('error', reject)
    socket.once('close', () =>
      reject(
        new BrineError('the daemon closed the connection without answering', {
          code: 'BRINE_DAEMON',
        }),
      ),
    )
    send(socket, message)
  })
}
