import { createRequire } from 'node:module'
import type pg from 'pg'
import { log } from '../core/log.ts'
import { Secret } from '../core/secret.ts'
import {
  type ConsoleConnection,
  type ConsoleStore,
  ConsoleStoreError,
  type DamagedRecord,
  type FreePort,
  recordFromRow,
  type StoredRow,
} from './store.ts'

/**
 * node-postgres, loaded when a PostgreSQL store is first opened: only sites that choose the
 * postgresql backend load it.
 */
let driver: typeof pg | undefined
function postgres(): typeof pg {
  try {
    driver ??= createRequire(import.meta.url)('pg') as typeof pg
  } catch (error) {
    throw new ConsoleStoreError(
      'console_tokens_backend postgresql needs the pg package (node-postgres): npm install pg',
      { cause: error },
    )
  }
  return driver
}

/**
 * Schema versions, applied in order in one transaction under an advisory lock;
 * brine_console_schema records how many ran. Never edit a shipped migration: add the next one.
 * Times are milliseconds since the epoch, as in the SQLite store.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE brine_console_connections (
     id TEXT NOT NULL UNIQUE,
     instance_uuid TEXT NOT NULL,
     host TEXT NOT NULL,
     port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
     token_hash TEXT NOT NULL CHECK (length(token_hash) = 64),
     access_url TEXT NOT NULL,
     options TEXT NOT NULL,
     connected BOOLEAN NOT NULL DEFAULT false,
     heartbeat_at BIGINT NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     PRIMARY KEY (instance_uuid, host, port)
   );
   CREATE UNIQUE INDEX brine_console_connections_token_hash ON brine_console_connections (token_hash);
   CREATE INDEX brine_console_connections_expires_at ON brine_console_connections (expires_at);`,
]

/** Which advisory lock serialises migrations: any 64-bit number no one else uses. */
const MIGRATION_LOCK = 0x62726e63 // "brnc"

const TABLE = 'brine_console_connections'
const COLUMNS =
  'id, instance_uuid, host, port, token_hash, access_url, options, connected, heartbeat_at, created_at, expires_at'

/** The statements, prepared once per pooled connection (by name). */
export const PG_SQL = {
  upsert: `INSERT INTO ${TABLE} AS c
             (id, instance_uuid, host, port, token_hash, access_url, options, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (instance_uuid, host, port) DO UPDATE SET
             id = excluded.id, token_hash = excluded.token_hash, access_url = excluded.access_url,
             options = excluded.options, connected = false, heartbeat_at = 0,
             created_at = excluded.created_at, expires_at = excluded.expires_at
           WHERE NOT c.connected OR c.heartbeat_at < $10`,
  byTokenHash: `SELECT ${COLUMNS} FROM ${TABLE} WHERE token_hash = $1`,
  byId: `SELECT ${COLUMNS} FROM ${TABLE} WHERE id = $1`,
  all: `SELECT ${COLUMNS} FROM ${TABLE} ORDER BY instance_uuid, host, port`,
  byInstance: `SELECT ${COLUMNS} FROM ${TABLE} WHERE instance_uuid = $1 ORDER BY instance_uuid, host, port`,
  freePorts: `SELECT host, port FROM ${TABLE}
              WHERE instance_uuid = $1 AND expires_at > $2 AND (NOT connected OR heartbeat_at < $3)
              ORDER BY host, port`,
  // READ COMMITTED: a second UPDATE of the row waits for the first and re-checks the WHERE
  // on the row it committed, so of any number of proxies exactly one connects.
  connect: `UPDATE ${TABLE} SET connected = true, heartbeat_at = $1
            WHERE id = $2 AND expires_at > $3 AND (NOT connected OR heartbeat_at < $4)`,
  // Only the holder's own last heartbeat is renewed: a proxy that took the port over (after
  // this one went silent for a window) wrote its own, and this one's session ends.
  heartbeat: `UPDATE ${TABLE} SET heartbeat_at = $1 WHERE id = $2 AND connected AND heartbeat_at = $3`,
  disconnect: `UPDATE ${TABLE} SET connected = false WHERE id = $1`,
  delete: `DELETE FROM ${TABLE} WHERE id = $1`,
  // Rows another cleanup holds are skipped, not waited for; the condition is checked again
  // on the locked row, so a heartbeat that landed meanwhile keeps its record.
  deleteExpired: `DELETE FROM ${TABLE} WHERE id IN (
                    SELECT id FROM ${TABLE}
                    WHERE expires_at <= $1 AND (NOT connected OR heartbeat_at < $2)
                    ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                  AND expires_at <= $1 AND (NOT connected OR heartbeat_at < $2)`,
} as const

export interface PostgresStoreOptions {
  /** `postgresql://user@host:port/database` (a password in it is accepted and masked). */
  url: string
  /** The password; else the URL's, else $PGPASSWORD, else none. */
  password?: Secret | undefined
  /** Connections in the pool. Default 10. */
  poolSize?: number | undefined
  /** How long to wait for a connection to the server. Default 10 s. */
  connectTimeoutMs?: number | undefined
}

/**
 * Console records in a PostgreSQL database that several proxies, on several hosts, share.
 * Same rules as the SQLite store; each method is one statement (atomic on its own), run on a
 * pooled connection as a named prepared statement. Failures surface as ConsoleStoreError
 * naming the server (never the password) and the fix.
 */
export class PostgresConsoleStore implements ConsoleStore {
  readonly backend = 'postgresql'
  readonly location: string
  private readonly pool: pg.Pool
  private opening: Promise<void> | undefined

  constructor(options: PostgresStoreOptions) {
    const url = parseUrl(options.url)
    // The password is a secret wherever it came from: masked in any text that holds it.
    const password =
      options.password ??
      new Secret(url.password ? decodeURIComponent(url.password) : (process.env.PGPASSWORD ?? ''))
    url.password = ''
    this.location = url.href
    const { Pool } = postgres()
    // The password in the connection string (node-postgres lets the string's fields override
    // the config's), and always a string: node-postgres throws from a socket handler, out of
    // reach of any catch, when a server asks for a password it does not have.
    const withPassword = new URL(url.href)
    withPassword.password = encodeURIComponent(password.reveal())
    this.pool = new Pool({
      connectionString: withPassword.href,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'brine console',
    })
    // An idle connection the server dropped: the pool replaces it; nothing to throw.
    this.pool.on('error', (error) =>
      log.warn('console', '%s: idle connection lost: %s', this.location, error.message),
    )
  }

  /** Connect and migrate, once; a failure is retried by the next call. */
  open(): Promise<void> {
    this.opening ??= this.guard('open', () => this.migrate()).catch((error) => {
      this.opening = undefined
      throw error
    })
    return this.opening
  }

  async put(record: ConsoleConnection, staleBefore: number): Promise<boolean> {
    const result = await this.run('write', 'upsert', [
      record.id,
      record.instanceUuid,
      record.host,
      record.port,
      record.tokenHash,
      record.accessUrl,
      JSON.stringify(record.options),
      record.createdAt.getTime(),
      record.expiresAt.getTime(),
      staleBefore,
    ])
    return result.rowCount === 1
  }

  async findByTokenHash(hash: string): Promise<ConsoleConnection | DamagedRecord | undefined> {
    const row = (await this.run('read', 'byTokenHash', [hash])).rows[0] as StoredRow | undefined
    return row && recordFromRow(row)
  }

  async get(id: string): Promise<ConsoleConnection | DamagedRecord | undefined> {
    const row = (await this.run('read', 'byId', [id])).rows[0] as StoredRow | undefined
    return row && recordFromRow(row)
  }

  async list(instanceUuid?: string): Promise<Array<ConsoleConnection | DamagedRecord>> {
    const result =
      instanceUuid === undefined
        ? await this.run('read', 'all', [])
        : await this.run('read', 'byInstance', [instanceUuid])
    return (result.rows as StoredRow[]).map(recordFromRow)
  }

  async freePorts(instanceUuid: string, now: number, staleBefore: number): Promise<FreePort[]> {
    return (await this.run('read', 'freePorts', [instanceUuid, now, staleBefore]))
      .rows as FreePort[]
  }

  async markConnected(id: string, now: number, staleBefore: number): Promise<boolean> {
    return (await this.run('write', 'connect', [now, id, now, staleBefore])).rowCount === 1
  }

  async heartbeat(id: string, now: number, previous: number): Promise<boolean> {
    return (await this.run('write', 'heartbeat', [now, id, previous])).rowCount === 1
  }

  async markDisconnected(id: string): Promise<void> {
    await this.run('write', 'disconnect', [id])
  }

  async delete(id: string): Promise<boolean> {
    return (await this.run('write', 'delete', [id])).rowCount === 1
  }

  async deleteExpired(now: number, limit: number, staleBefore: number): Promise<number> {
    return (await this.run('write', 'deleteExpired', [now, staleBefore, limit])).rowCount ?? 0
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end()
  }

  private async run(
    action: string,
    name: keyof typeof PG_SQL,
    values: unknown[],
  ): Promise<pg.QueryResult> {
    await this.open()
    return this.guard(action, () =>
      this.pool.query({ name: `brine_console_${name}`, text: PG_SQL[name], values }),
    )
  }

  /**
   * Bring the schema to PG_MIGRATIONS.length, in one transaction holding an advisory lock:
   * proxies starting together migrate once, one after the other. A newer schema, or tables
   * of that name that brine did not make, are refused and left as they are.
   */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
      const found = await client.query<{ schema: string | null; data: string | null }>(
        "SELECT to_regclass('brine_console_schema')::text AS schema, to_regclass($1)::text AS data",
        [TABLE],
      )
      const { schema, data } = found.rows[0] ?? { schema: null, data: null }
      let version = 0
      if (schema) {
        const rows = await client.query('SELECT version FROM brine_console_schema').catch(() => {
          throw this.foreign('brine_console_schema has no version column')
        })
        if (rows.rows.length !== 1 || !Number.isInteger(rows.rows[0].version))
          throw this.foreign('brine_console_schema does not hold one version')
        version = rows.rows[0].version as number
      } else if (data) {
        throw this.foreign(`${TABLE} exists without brine_console_schema`)
      }
      if (version > PG_MIGRATIONS.length) {
        throw new ConsoleStoreError(
          `console token database ${this.location} has schema version ${version}, newer than this brine knows (${PG_MIGRATIONS.length}). Upgrade brine on this host (every proxy on one database runs the same version), or point console_tokens_url elsewhere.`,
          { code: 'BRINE_CONSOLE_SCHEMA' },
        )
      }
      if (!schema) {
        await client.query('CREATE TABLE brine_console_schema (version INTEGER NOT NULL)')
        await client.query('INSERT INTO brine_console_schema (version) VALUES (0)')
      }
      for (let v = version; v < PG_MIGRATIONS.length; v++) {
        await client.query(PG_MIGRATIONS[v] as string)
        await client.query('UPDATE brine_console_schema SET version = $1', [v + 1])
      }
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  private foreign(what: string): ConsoleStoreError {
    return new ConsoleStoreError(
      `console token database ${this.location} holds tables brine did not make (${what}). brine leaves them as they are: point console_tokens_url at a database of brine's own (createdb brine_console), or drop those tables if they are a broken brine schema.`,
      { code: 'BRINE_CONSOLE_SCHEMA' },
    )
  }

  private async guard<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      if (error instanceof ConsoleStoreError) throw error
      throw storeError(this.location, action, error)
    }
  }
}

function parseUrl(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined
  if (!url || (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:')) {
    throw new ConsoleStoreError(
      'option console_tokens_url must be a PostgreSQL URL: postgresql://user@host:5432/database (the password goes in console_tokens_password).',
      { code: 'BRINE_CONFIG' },
    )
  }
  return url
}

/** The server's failure, said with the server and what to do about it. */
function storeError(server: string, action: string, error: unknown): ConsoleStoreError {
  const code = (error as { code?: string }).code ?? ''
  const reason = (error as Error).message ?? String(error)
  const user = new URL(server).username || 'the user'
  let fix: string
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code)) {
    fix =
      'The server is not reachable: check that PostgreSQL runs there and listens on that address (listen_addresses, port), and that console_tokens_url names it.'
  } else if (/timeout|terminated/i.test(reason)) {
    fix =
      'The server did not answer in time: check that PostgreSQL runs there and that nothing between drops the connection.'
  } else if (code === '28P01' || code === '28000') {
    fix = `The server refused ${user}'s credentials: set console_tokens_password (config file or pillar) or BRINE_CONSOLE_TOKENS_PASSWORD, and check pg_hba.conf allows this host.`
  } else if (code === '3D000') {
    fix = `The database does not exist: create it (createdb -O ${user} <name>).`
  } else if (code === '42501') {
    fix = `${user} may not do this: grant it CREATE on the database (for the first migration) and SELECT, INSERT, UPDATE, DELETE on brine_console_connections.`
  } else if (code === '53300') {
    fix =
      'The server has no connection slot left: raise max_connections or lower console_tokens_pool.'
  } else {
    fix = 'brine leaves the database as it is.'
  }
  return new ConsoleStoreError(
    `console token database ${server}: cannot ${action} (${code ? `${code}: ` : ''}${reason}). ${fix}`,
    { cause: error },
  )
}
