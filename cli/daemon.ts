// `brine daemon [run|start|stop|status]`: run the daemon in the foreground (systemd), start
// it detached, stop it (it drains, logs out, removes its socket), or show what it holds.
import { spawn } from 'node:child_process'
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs'
import { setLogLevel } from '../core/log.ts'
import { requestDaemon } from './daemon-client.ts'
import { type DaemonPaths, daemonPaths, ensureDaemonDir } from './daemon-paths.ts'
import { EXIT } from './exit-codes.ts'
import type { OptsFlags } from './opts.ts'
import { formatOutput, OUTPUTTERS, type Outputter } from './output.ts'

export interface DaemonCommand {
  /** The whole command line (a detached daemon is started with it, `start` left out). */
  argv: string[]
  /** The words after `daemon`. */
  command: string[]
  flags: OptsFlags
  out?: string | undefined
}

interface Io {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

const USAGE =
  'brine daemon takes one command: run (the default: in the foreground), start (detached), stop, status.'

/** Bound on waiting for a detached daemon to listen, or a stopped one to exit. */
const WAIT_MS = 60_000

export async function runDaemonCommand(command: DaemonCommand, io: Io): Promise<number> {
  const paths = daemonPaths()
  const [verb = 'run', ...rest] = command.command
  if (rest.length > 0) return usage(io)
  switch (verb) {
    case 'run':
      return runForeground(command, paths, io)
    case 'start':
      return startDetached(command, paths, io)
    case 'stop':
      return stopDaemon(paths, io)
    case 'status':
      return showStatus(paths, command.out, io)
    default:
      return usage(io)
  }
}

function usage(io: Io): number {
  io.stderr.write(`Error: ${USAGE} See brine --help.\n`)
  return EXIT.USAGE
}

async function runForeground(command: DaemonCommand, paths: DaemonPaths, io: Io): Promise<number> {
  if (!process.env.BRINE_DEBUG) setLogLevel(command.flags.logLevel === 'debug' ? 'debug' : 'info')
  const { runDaemon } = await import('./daemon-server.ts')
  return runDaemon({
    flags: command.flags,
    env: process.env,
    cwd: process.cwd(),
    paths,
    onReady: (status) =>
      io.stderr.write(`brine daemon ready: pid ${status.pid}, socket ${status.socket}\n`),
  })
}

async function startDetached(command: DaemonCommand, paths: DaemonPaths, io: Io): Promise<number> {
  ensureDaemonDir(paths.dir)
  if (await answers(paths)) {
    io.stderr.write(`Error: a brine daemon already runs (socket ${paths.socket}).\n`)
    return EXIT.ERROR
  }
  const args = [...command.argv]
  args.splice(args.indexOf('start'), 1)
  const logFd = openSync(paths.logFile, 'a', 0o600)
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: process.env,
  })
  let exited: number | null | undefined
  child.on('exit', (code) => {
    exited = code
  })
  const deadline = Date.now() + WAIT_MS
  while (exited === undefined && Date.now() < deadline) {
    if (await answers(paths)) {
      child.unref()
      io.stdout.write(
        `brine daemon started: pid ${child.pid}, socket ${paths.socket}, log ${paths.logFile}\n`,
      )
      return EXIT.OK
    }
    await sleep(50)
  }
  io.stderr.write(
    `Error: the brine daemon did not start${exited !== undefined ? ` (exit code ${exited})` : ''}; see ${paths.logFile}:\n${tail(paths.logFile)}`,
  )
  if (exited === undefined) child.kill('SIGTERM')
  return EXIT.ERROR
}

async function stopDaemon(paths: DaemonPaths, io: Io): Promise<number> {
  if (!existsSync(paths.socket)) {
    io.stderr.write(`No brine daemon runs (no socket ${paths.socket}).\n`)
    return EXIT.ERROR
  }
  const pid = readPid(paths)
  try {
    await requestDaemon(paths.socket, { type: 'stop' })
  } catch {
    io.stderr.write(`The daemon socket ${paths.socket} was stale (no daemon listened): removed.\n`)
    rmSync(paths.socket, { force: true })
    rmSync(paths.pidFile, { force: true })
    return EXIT.OK
  }
  // Wait for the process to end: it has drained its calls and logged its sessions out then.
  const deadline = Date.now() + WAIT_MS
  while (pid !== undefined && isAlive(pid) && Date.now() < deadline) await sleep(50)
  if (pid !== undefined && isAlive(pid)) {
    io.stderr.write(`Error: the brine daemon (pid ${pid}) is still draining its calls.\n`)
    return EXIT.ERROR
  }
  io.stdout.write(`brine daemon stopped${pid !== undefined ? ` (pid ${pid})` : ''}\n`)
  return EXIT.OK
}

async function showStatus(paths: DaemonPaths, out: string | undefined, io: Io): Promise<number> {
  if (!existsSync(paths.socket)) {
    io.stderr.write(`No brine daemon runs (no socket ${paths.socket}).\n`)
    return EXIT.ERROR
  }
  let answer: Awaited<ReturnType<typeof requestDaemon>>
  try {
    answer = await requestDaemon(paths.socket, { type: 'status', gc: true })
  } catch {
    io.stderr.write(
      `The daemon socket ${paths.socket} is stale (no daemon listens: killed, or crashed).\n`,
    )
    return EXIT.ERROR
  }
  if (answer.type !== 'status') return EXIT.ERROR
  const outputter = (out && OUTPUTTERS.includes(out as Outputter) ? out : 'nested') as Outputter
  io.stdout.write(formatOutput(answer.status, outputter, false))
  return EXIT.OK
}

async function answers(paths: DaemonPaths): Promise<boolean> {
  if (!existsSync(paths.socket)) return false
  return requestDaemon(paths.socket, { type: 'status' }).then(
    () => true,
    () => false,
  )
}

function readPid(paths: DaemonPaths): number | undefined {
  try {
    const pid = Number(readFileSync(paths.pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function tail(file: string): string {
  try {
    return `${readFileSync(file, 'utf8').split('\n').slice(-20).join('\n')}\n`
  } catch {
    return ''
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
