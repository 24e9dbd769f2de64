// What `brine call` and `brine daemon` say to each other over the daemon's Unix socket: one
// JSON object per line. The client sends `call` (then `cancel` on ^C) or `status`/`stop`; the
// daemon answers a call with `accepted` or `refused`, then `stdout`/`stderr` text as the call
// writes it, and `exit` with the exit code.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { nodeCrypto } from '../core/builtins.ts'
import { PACKAGE_ROOT } from '../loader/caller.ts'
import type { Runtime } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'

/** What `main()` needs to run a client's call inside the daemon. */
export interface CallHost {
  /** Aborted when the client is interrupted or goes away, or when the daemon stops. */
  signal: AbortSignal
  /** The client's environment and working directory (options and paths resolve against them). */
  env: Record<string, string | undefined>
  cwd: string
  /** The daemon's runtime: its loaders and sessions serve the call. */
  runtime: Runtime
  /** The daemon's compiled pillar; its rendering warnings are written to `stderr`, as in-process. */
  pillar(stderr: NodeJS.WritableStream): Record<string, unknown>
}

export type ClientMessage =
  | {
      type: 'call'
      argv: string[]
      cwd: string
      env: Record<string, string | undefined>
      /**
       * configFingerprint of the client's options: the daemon serves only its own. A client
       * that read no options (bin/brine.js's fast path) leaves it out: the daemon resolves the
       * options from argv, cwd and env, with `credentials`, and refuses what it would not serve.
       */
      fingerprint?: string
      /** credentialDigest of the client's environment. */
      credentials: string
      /** The call's log lines of this level and above are sent to the client's stderr. */
      logLevel?: 'warning' | 'error'
      stdoutIsTTY: boolean
      stderrIsTTY: boolean
      pid: number
    }
  | { type: 'cancel'; signal: 'SIGINT' | 'SIGTERM' }
  | {
      type: 'status'
      /** Collect garbage first (the daemon runs with --expose-gc). */
      gc?: boolean
      /** Write a heap snapshot of the daemon to this absolute path first (the stress suite). */
      heapSnapshot?: string
    }
  | { type: 'stop' }

export type DaemonMessage =
  | { type: 'accepted' }
  | { type: 'refused'; reason: string }
  | { type: 'stdout' | 'stderr'; data: string }
  | { type: 'exit'; code: number }
  | { type: 'status'; status: unknown }
  | { type: 'stopping' }

/**
 * A digest of what a call runs with: brine's version, the resolved options (but the log level,
 * which is per call) and the credential variables of the environment. A daemon serves a client
 * only when both digests agree: the call then runs with the daemon's credentials, which are
 * the client's.
 */
export function configFingerprint(opts: Opts, credentials: string): string {
  const { log_level: _logLevel, ...rest } = opts
  // The version too: a daemon left running across an upgrade serves no client of the new one.
  const brine = `${brineVersion()}/${PROTOCOL_VERSION}`
  return nodeCrypto()
    .createHash('sha256')
    .update(JSON.stringify(sortKeys({ brine, opts: rest, credentials })))
    .digest('hex')
}

/** Log levels a call can have in the daemon (what it writes at these levels reaches the client). */
export const CALL_LOG_LEVELS: readonly string[] = ['warning', 'error', 'quiet', 'critical']

/** Bumped when the messages change. */
const PROTOCOL_VERSION = 2

let version: string | undefined

function brineVersion(): string {
  version ??= String(
    (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown })
      .version,
  )
  return version
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  )
}

export { callEnv, credentialDigest, onMessages, send } from './daemon-wire.ts'
