// Where the daemon's socket lives, and the checks that make it the user's own: a directory
// of mode 0700 owned by the user, a socket of mode 0600 in it.
import { lstatSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BrineError } from '../core/errors.ts'

export class DaemonError extends BrineError {
  static override readonly kind: string = 'DaemonError'
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, { code: options.code ?? 'BRINE_DAEMON', cause: options.cause })
  }
}

export interface DaemonPaths {
  dir: string
  socket: string
  pidFile: string
  logFile: string
}

/**
 * The daemon's directory: BRINE_RUNTIME_DIR, else $XDG_RUNTIME_DIR/brine, else
 * <tmpdir>/brine-<uid>. One daemon per directory.
 */
export function daemonPaths(env: Record<string, string | undefined> = process.env): DaemonPaths {
  const dir =
    env.BRINE_RUNTIME_DIR ||
    (env.XDG_RUNTIME_DIR
      ? join(env.XDG_RUNTIME_DIR, 'brine')
      : join(tmpdir(), `brine-${process.getuid?.() ?? 'user'}`))
  return {
    dir,
    socket: join(dir, 'daemon.sock'),
    pidFile: join(dir, 'daemon.pid'),
    logFile: join(dir, 'daemon.log'),
  }
}

/** Create the directory (0700) when missing, then check it as checkDaemonDir does. */
export function ensureDaemonDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  checkDaemonDir(dir)
}

/**
 * The directory must be a real directory (not a link), owned by this user, with no access
 * for group or others: anyone who can reach the socket can run calls with our credentials.
 */
export function checkDaemonDir(dir: string): void {
  const stat = lstatSync(dir)
  const uid = process.getuid?.()
  let problem: string | undefined
  if (!stat.isDirectory()) problem = 'is not a directory'
  else if (uid !== undefined && stat.uid !== uid)
    problem = `is owned by uid ${stat.uid}, not by this user (uid ${uid})`
  else if (stat.mode & 0o077)
    problem = `has mode ${(stat.mode & 0o777).toString(8)}, open to other users`
  if (problem) {
    throw new DaemonError(
      `the daemon directory ${dir} ${problem}; it must be this user's own with mode 0700 (chmod 700 it, or set BRINE_RUNTIME_DIR).`,
      { code: 'BRINE_DAEMON_UNSAFE' },
    )
  }
}

/** The socket must be a socket owned by this user, mode 0600 or stricter. */
export function checkDaemonSocket(socket: string): void {
  const stat = lstatSync(socket)
  const uid = process.getuid?.()
  let problem: string | undefined
  if (!stat.isSocket()) problem = 'is not a socket'
  else if (uid !== undefined && stat.uid !== uid)
    problem = `is owned by uid ${stat.uid}, not by this user (uid ${uid})`
  else if (stat.mode & 0o077)
    problem = `has mode ${(stat.mode & 0o777).toString(8)}, open to other users`
  if (problem) {
    throw new DaemonError(`the daemon socket ${socket} ${problem}; it is not used.`, {
      code: 'BRINE_DAEMON_UNSAFE',
    })
  }
}
