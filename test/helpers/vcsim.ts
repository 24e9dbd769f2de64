// Starts the real peer: vcsim (govmomi's simulator, built by scripts/build-vcsim.sh) on a
// free loopback port, over HTTPS with a certificate of its own. The process exits when our
// stdin pipe closes, so even a killed test worker leaves no simulator behind; `stop()` and an
// exit hook end it earlier.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface VcsimOptions {
  /** Accept only this user (with `password`); default: any non-empty user. */
  username?: string
  password?: string
  tls?: boolean
  dc?: number
  cluster?: number
  host?: number
  standaloneHost?: number
  /** Virtual machines per resource pool (the default model has 2 pools). */
  vm?: number
  pool?: number
  folder?: number
  ds?: number
  /** Simulate one ESXi host (HostAgent) instead of a vCenter. */
  esx?: boolean
  /** Go duration, e.g. `1s`. */
  idleTimeout?: string
  /** Milliseconds added to every SOAP call. */
  delay?: number
}

export interface Vcsim {
  /** Service URL, `https://127.0.0.1:<port>/sdk`. */
  url: string
  port: number
  /** Credentials that work (the configured ones, or a default pair). */
  user: string
  password: string
  /** PEM file of the simulator's self-signed certificate (use as ca_file). */
  caFile: string
  thumbprintSha256: string
  thumbprintSha1: string
  stop(): Promise<void>
  /** Stop and start again on the same port with the same certificate; all sessions are gone. */
  restart(): Promise<void>
  /** Stop the process but keep the port and certificate for `up()`. */
  down(): Promise<void>
  up(): Promise<void>
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

let binary: string | undefined

/** The vcsim binary, built on first use (cached by scripts/build-vcsim.sh). Throws when it cannot be built. */
export function vcsimBinary(): string {
  if (!binary) {
    try {
      binary = execFileSync('bash', [join(root, 'scripts', 'build-vcsim.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim()
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '')
      throw new Error(`vcsim is unavailable; integration tests need it.\n${stderr}`)
    }
  }
  return binary
}

export async function startVcsim(options: VcsimOptions = {}): Promise<Vcsim> {
  const dir = mkdtempSync(join(tmpdir(), 'brine-vcsim-'))
  const urlFile = join(dir, 'url')
  const useTls = options.tls ?? true
  let child: ChildProcess | undefined
  let port = 0

  const args = (listenPort: number) => {
    const list = [
      '-l',
      `127.0.0.1:${listenPort}`,
      `-tls=${useTls}`,
      '-cert-dir',
      dir,
      '-url-file',
      urlFile,
    ]
    const numeric: Array<[string, number | undefined]> = [
      ['-dc', options.dc],
      ['-cluster', options.cluster],
      ['-host', options.host],
      ['-standalone-host', options.standaloneHost],
      ['-vm', options.vm],
      ['-pool', options.pool],
      ['-folder', options.folder],
      ['-ds', options.ds],
      ['-delay', options.delay],
    ]
    for (const [flag, value] of numeric) if (value !== undefined) list.push(flag, String(value))
    if (options.username)
      list.push('-username', options.username, '-password', options.password ?? '')
    if (options.idleTimeout) list.push('-idle-timeout', options.idleTimeout)
    if (options.esx) list.push('-esx')
    return list
  }

  const launch = async (listenPort: number) => {
    rmSync(urlFile, { force: true })
    const proc = spawn(vcsimBinary(), args(listenPort), { stdio: ['pipe', 'ignore', 'pipe'] })
    live.add(proc)
    let stderr = ''
    proc.stderr?.on('data', (chunk) => {
      stderr += chunk
      // BRINE_VCSIM_LOG=1 shows the simulator's log (its panics, its WaitForUpdates traces).
      if (process.env.BRINE_VCSIM_LOG) process.stderr.write(chunk)
    })
    const exited = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => resolve(code)),
    )
    exited.then(() => live.delete(proc))
    const deadline = Date.now() + 60_000
    while (!existsSync(urlFile)) {
      if (proc.exitCode !== null)
        throw new Error(`vcsim exited with ${proc.exitCode}: ${stderr.trim()}`)
      if (Date.now() > deadline) {
        proc.kill('SIGKILL')
        throw new Error(`vcsim did not start within 60 s: ${stderr.trim()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    child = proc
    return new URL(readFileSync(urlFile, 'utf8').trim())
  }

  const stopChild = async () => {
    const proc = child
    child = undefined
    if (!proc || proc.exitCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  const url = await launch(0)
  port = Number(url.port)
  const certPem = useTls ? readFileSync(join(dir, 'cert.pem'), 'utf8') : ''
  const cert = useTls ? new X509Certificate(certPem) : undefined

  return {
    url: url.href,
    port,
    user: options.username ?? 'user',
    password: options.username ? (options.password ?? '') : 'pass',
    caFile: join(dir, 'cert.pem'),
    thumbprintSha256: cert?.fingerprint256 ?? '',
    thumbprintSha1: cert?.fingerprint ?? '',
    async stop() {
      await stopChild()
      rmSync(dir, { recursive: true, force: true })
    },
    async restart() {
      await stopChild()
      await launch(port)
    },
    down: stopChild,
    async up() {
      await launch(port)
    },
  }
}
