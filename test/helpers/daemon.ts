// A `brine daemon` in a child process, in its own runtime directory, for the daemon tests.
import { type ChildProcess, spawn } from 'node:child_process'
import { requestDaemon } from '../../cli/daemon-client.ts'
import { daemonPaths } from '../../cli/daemon-paths.ts'
import type { DaemonStatus } from '../../cli/daemon-server.ts'
import { bin } from './cli.ts'

export interface DaemonProcess {
  child: ChildProcess
  pid: number
  socket: string
  /** What the daemon wrote to stderr so far (its log). */
  log(): string
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>
  status(options?: { gc?: boolean }): Promise<DaemonStatus>
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<number | null>
}

/** Start `brine daemon` (foreground) with `env`; resolves once it listens. */
export function startDaemon(
  env: Record<string, string | undefined>,
  options: { cwd?: string; nodeArgs?: string[] } = {},
): Promise<DaemonProcess> {
  const merged: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...env }
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bin, 'daemon'], {
    cwd: options.cwd,
    env: merged as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  const socket = daemonPaths(merged).socket
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const status = async (statusOptions: { gc?: boolean } = {}) => {
    const answer = await requestDaemon(socket, { type: 'status', gc: statusOptions.gc === true })
    if (answer.type !== 'status') throw new Error(`unexpected answer ${answer.type}`)
    return answer.status as DaemonStatus
  }
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      log += chunk
      if (log.includes('brine daemon ready'))
        resolve({
          child,
          pid: child.pid!,
          socket,
          log: () => log,
          exited,
          status,
          stop: async () => {
            child.kill('SIGTERM')
            return exited
          },
        })
    })
    void exited.then((code) =>
      reject(new Error(`brine daemon exited (${code}) before it was ready:\n${log}`)),
    )
  })
}

/** Poll `check` until it returns a value (a bounded number of tries; never a timing assertion). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  tries = 400,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}
