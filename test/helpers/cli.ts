import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Vcsim } from './vcsim.ts'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export const bin = join(import.meta.dirname, '..', '..', 'bin', 'brine.js')

/**
 * A new directory (`prefix` + random) holding a brine.yaml whose saltext.vmware reaches
 * `vcsim` as its own user: a CLI run there (`cwd`) finds it.
 */
export function cliDirFor(vcsim: Vcsim, prefix: string): string {
  const cwd = mkdtempSync(prefix)
  writeFileSync(
    join(cwd, 'brine.yaml'),
    [
      'saltext.vmware:',
      `  host: ${vcsim.url}`,
      `  user: ${vcsim.user}`,
      `  password: ${vcsim.password}`,
      `  ca_file: ${vcsim.caFile}`,
    ].join('\n'),
  )
  return cwd
}

/**
 * The environment of a CLI test: no stray config, credentials or session store from the
 * machine running the tests (the session store goes under `tmp`), plus `extra`.
 */
export function isolatedCliEnv(
  tmp: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    BRINE_CONFIG: undefined,
    SALTEXT_VMWARE_HOST: undefined,
    SALTEXT_VMWARE_USER: undefined,
    SALTEXT_VMWARE_PASSWORD: undefined,
    BRINE_SESSION_DIR: join(tmp, 'sessions'),
    // No daemon of the machine's user is ever used by a test (daemon: auto looks here).
    BRINE_RUNTIME_DIR: join(tmp, 'runtime'),
    BRINE_DEBUG: undefined,
    ...extra,
  }
}

/** Run `brine` in a child process (the real CLI, as users run it). */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runNode([bin, ...args], options)
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  /** Written to the child's stdin, which is then closed. */
  stdin?: string
  onSpawn?: (pid: number) => void
}

/** Run this Node with `args` in a child process; NO_COLOR set. */
export function runNode(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return startNode(args, options).done
}

/** Start this Node with `args` in a child process (NO_COLOR set); `done` when it has ended. */
export function startNode(
  args: string[],
  options: RunOptions = {},
): { child: ChildProcessWithoutNullStreams; done: Promise<CliResult> } {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: '1',
    ...options.env,
  }
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: env as NodeJS.ProcessEnv,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  if (options.stdin !== undefined) child.stdin.end(options.stdin)
  child.on('spawn', () => options.onSpawn?.(child.pid!))
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, done }
}
