// A throwaway PostgreSQL cluster from Debian's packages: initdb into a temporary folder, then
// pg_ctl on a free loopback port, password authentication (scram-sha-256) for user `brine`.
// PostgreSQL refuses to run as root, so as root the cluster belongs to `nobody` (runuser).
// Without PostgreSQL installed this fails with the install command: the tests that need it
// are never skipped silently.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

export interface PostgresCluster {
  port: number
  user: string
  password: string
  /** `postgresql://brine@127.0.0.1:<port>/<database>` (no password: pass it apart). */
  url(database?: string): string
  /** A new, empty database; answers its URL. */
  createDatabase(name?: string): Promise<string>
  stop(): Promise<void>
}

/** Where initdb and pg_ctl are: $PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
export function postgresBin(
  env: Record<string, string | undefined> = process.env,
  root = '/usr/lib/postgresql',
): string {
  if (env.PG_BIN) return env.PG_BIN
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (!versions[0]) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb): install it with `sudo apt-get install -y postgresql` (scripts/setup.sh does), or set PG_BIN to the folder holding initdb and pg_ctl.',
    )
  }
  return join(root, versions[0], 'bin')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

let databases = 0

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBin()
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'brine-pg-'))
  const password = randomBytes(12).toString('base64url')
  const user = 'brine'
  writeFileSync(join(dir, 'pwfile'), `${password}\n`)
  if (asRoot) {
    // nobody: uid/gid from the system, so that initdb and postgres can write the folder.
    const { stdout } = await run('id', ['-u', 'nobody'])
    const { stdout: gid } = await run('id', ['-g', 'nobody'])
    chownSync(dir, Number(stdout), Number(gid))
    chownSync(join(dir, 'pwfile'), Number(stdout), Number(gid))
  }
  chmodSync(dir, 0o700)
  const as = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'nobody', '--', join(bin, command), ...args], { cwd: dir })
      : run(join(bin, command), args, { cwd: dir })
  const data = join(dir, 'data')
  await as('initdb', [
    '-D',
    data,
    '-U',
    user,
    '--auth=scram-sha-256',
    `--pwfile=${join(dir, 'pwfile')}`,
    '-E',
    'UTF8',
    '--no-sync',
  ])
  const port = await freePort()
  const serverOptions = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c max_connections=200',
  ].join(' ')
  await as('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '60',
    '-o',
    serverOptions,
    'start',
  ])
  const url = (database = 'postgres') => `postgresql://${user}@127.0.0.1:${port}/${database}`
  const pgCtlStop = ['-D', data, '-m', 'immediate', '-w', 'stop']
  // A worker that ends without stop() (a failed beforeAll, an exit) leaves no server behind.
  const atExit = () => {
    try {
      execFileSync(
        asRoot ? 'runuser' : join(bin, 'pg_ctl'),
        asRoot ? ['-u', 'nobody', '--', join(bin, 'pg_ctl'), ...pgCtlStop] : pgCtlStop,
        { stdio: 'ignore' },
      )
    } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', atExit)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    process.off('exit', atExit)
    await as('pg_ctl', pgCtlStop).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  return {
    port,
    user,
    password,
    url,
    createDatabase: async (name = `brine_test_${process.pid}_${++databases}`) => {
      const client = new pg.Client({
        connectionString: url().replace(`${user}@`, `${user}:${password}@`),
      })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return url(name)
    },
    stop,
  }
}
