// bin/brine.js's fast path: a call through a running daemon with nothing loaded but Node's own
// modules, this file, daemon-paths.ts and, when a socket is there, daemon-wire.ts (no options
// read, no bundle parsed).
// The daemon resolves the options from the client's argv, cwd and environment and refuses a
// call that is not its own; then the full CLI decides, as it always did (daemon-client.ts:
// `daemon: always`, warnings about a stale or unsafe socket, in-process).
import { existsSync } from 'node:fs'
import { checkDaemonDir, checkDaemonSocket, daemonPaths } from './daemon-paths.ts'
import type { connectSocket } from './daemon-wire.ts'

/** Words that make a command line the CLI's own business (subcommands, help). */
const NOT_A_CALL = new Set(['daemon', 'console', '-h', '--help', '-V', '--version'])

/** The call's exit code when a daemon ran it; undefined: run the full CLI. */
export async function fastCall(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number | undefined> {
  if (env.BRINE_DAEMON === 'never' || argv.some((word) => NOT_A_CALL.has(word))) return undefined
  const paths = daemonPaths(env)
  if (!existsSync(paths.socket)) return undefined
  // Loaded only when a daemon may be there: it brings node:net and node:crypto, which a call
  // without a daemon would otherwise load for nothing (the bundle makes this a lazy require).
  const { callEnv, connectSocket, credentialDigest, exchange } = await import('./daemon-wire.ts')
  let socket: Awaited<ReturnType<typeof connectSocket>>
  try {
    checkDaemonDir(paths.dir)
    checkDaemonSocket(paths.socket)
    socket = await connectSocket(paths.socket)
  } catch {
    return undefined // the full CLI says why
  }
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals) =>
    controller.abort({ code: signal === 'SIGTERM' ? 'BRINE_SIGTERM' : 'BRINE_SIGINT' })
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await exchange(
      socket,
      {
        type: 'call',
        argv,
        cwd: process.cwd(),
        env: callEnv(env),
        credentials: credentialDigest(env),
        stdoutIsTTY: Boolean(process.stdout.isTTY),
        stderrIsTTY: Boolean(process.stderr.isTTY),
        pid: process.pid,
      },
      process,
      controller.signal,
    )
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
