// The daemon protocol's wire (one JSON object per line over the Unix socket) and the client's
// side of one call, with nothing but Node's own modules: bin/brine.js's fast path loads this
// and daemon-paths.ts only. The messages are typed in daemon-protocol.ts.
import { connect, type Socket } from 'node:net'
import { nodeCrypto } from '../core/builtins.ts'
import type { ClientMessage, DaemonMessage } from './daemon-protocol.ts'
import { EXIT } from './exit-codes.ts'

/** Send one message. */
export function send(socket: Socket, message: ClientMessage | DaemonMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`)
}

/** Call `onMessage` for each line-delimited JSON message read from `socket`. */
export function onMessages<T>(socket: Socket, onMessage: (message: T) => void): void {
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      if (line) onMessage(JSON.parse(line) as T)
    }
  })
}

/**
 * The client environment a call needs in the daemon: brine's variables (options) and the
 * outputters' (colors). Credentials stay out: the fingerprint proves the daemon has the same.
 */
export function callEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env))
    if (
      value !== undefined &&
      (key.startsWith('BRINE_') || key === 'NO_COLOR' || key === 'FORCE_COLOR')
    )
      out[key] = value
  return out
}

/** Environment variables that change what a call does besides the options (credentials). */
const CALL_ENV = /^(SALTEXT_VMWARE_|BRINE_SESSION_DIR$|BRINE_CONSOLE_)/

/**
 * A digest of the credential variables of `env` (SALTEXT_VMWARE_*, the session and console
 * stores): it goes over the socket in their place, and the daemon serves a client only when
 * its own digest is the same.
 */
export function credentialDigest(env: Record<string, string | undefined>): string {
  const vars = Object.keys(env)
    .filter((key) => CALL_ENV.test(key) && env[key] !== undefined)
    .sort()
    .map((key) => [key, env[key]])
  return nodeCrypto().createHash('sha256').update(JSON.stringify(vars)).digest('hex')
}

/** Connect to the daemon's socket (rejects with the connect error's code). */
export function connectSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

export interface CallIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/**
 * Send `call` and relay the daemon's answer: its output to `io`, then its exit code. Resolves
 * undefined when the daemon refused the call or went away before taking it (nothing ran
 * there: the caller runs it in-process). `signal` aborting (reason `{ code: 'BRINE_SIGTERM' }`
 * for SIGTERM) cancels the call in the daemon.
 */
export function exchange(
  socket: Socket,
  call: ClientMessage,
  io: CallIo,
  signal: AbortSignal,
  onRefused: (reason: string) => number | undefined = () => undefined,
): Promise<number | undefined> {
  const terminated = () =>
    (signal.reason as { code?: string } | undefined)?.code === 'BRINE_SIGTERM'
  return new Promise((resolve) => {
    let accepted = false
    let settled = false
    const finish = (code: number | undefined) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      socket.end()
      resolve(code)
    }
    const onAbort = () =>
      send(socket, { type: 'cancel', signal: terminated() ? 'SIGTERM' : 'SIGINT' })
    signal.addEventListener('abort', onAbort, { once: true })
    onMessages<DaemonMessage>(socket, (message) => {
      if (message.type === 'accepted') accepted = true
      else if (message.type === 'refused') finish(onRefused(message.reason))
      else if (message.type === 'stdout') io.stdout.write(message.data)
      else if (message.type === 'stderr') io.stderr.write(message.data)
      else if (message.type === 'exit') finish(message.code)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      if (settled) return
      // The daemon went away before taking the call: nothing ran there.
      if (!accepted) return finish(undefined)
      if (signal.aborted) return finish(terminated() ? EXIT.SIGTERM : EXIT.SIGINT)
      io.stderr.write(
        'Error: the brine daemon went away during the call (stopped or killed): its outcome is unknown, and it is not run again.\n',
      )
      finish(EXIT.ERROR)
    })
    if (signal.aborted) onAbort()
    send(socket, call)
  })
}
