import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
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
 * better-sqlite3, loaded when a store is first opened: a process that never opens one (every
 * `vmware_vm.*` call loads this module through `brine/console`) does not load the binding.
 */
let binding: typeof Database | undefined
const sqlite = (): typeof Database =>
  (binding ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database)

/**
 * Schema versions, applied in order; `PRAGMA user_version` records how many ran. Never edit a
 * shipped migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE console_connections (
     id TEXT NOT NULL UNIQUE,
     instance_uuid TEXT NOT NULL,
     host TEXT NOT NULL,
     port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
     token_hash TEXT NOT NULL CHECK (length(token_hash) = 64),
     access_url TEXT NOT NULL,
     options TEXT NOT NULL,
     connected INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (instance_uuid, host, port)
   ) STRICT;
   CREATE UNIQUE INDEX console_connections_token_hash ON console_connections (token_hash);
   CREATE INDEX console_connections_expires_at ON console_connections (expires_at);
   CREATE INDEX console_connections_free ON console_connections (instance_uuid, connected, expires_at);`,
  // 2: connected ports carry a heartbeat from the proxy holding them, so that a port whose
  // proxy died is free again and cleanup never deletes a live session's record. Free ports
  // are now searched through the primary key's instance prefix: the third index goes.
  `ALTER TABLE console_connections ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;
   DROP INDEX console_connections_free;`,
]

/** The statements, named so that tests can ask SQLite how it runs them. */
export const SQL = {
  upsert: `INSERT INTO console_connections
             (id, instance_uuid, host, port, token_hash, access_url, options, connected, created_at, expires_at)
           VALUES (@id, @instance_uuid, @host, @port, @token_hash, @access_url, @options, 0, @created_at, @expires_at)
           ON CONFLICT (instance_uuid, host, port) DO UPDATE SET
             id = excluded.id, token_hash = excluded.token_hash, access_url = excluded.access_url,
             options = excluded.options, connected = 0, created_at = excluded.created_at,
             expires_at = excluded.expires_at
           WHERE connected = 0 OR heartbeat_at < @stale_before`,
  byTokenHash: 'SELECT * FROM console_connections WHERE token_hash = ?',
  byId: 'SELECT * FROM console_connections WHERE id = ?',
  all: 'SELECT * FROM console_connections ORDER BY instance_uuid, host, port',
  byInstance:
    'SELECT * FROM console_connections WHERE instance_uuid = ? ORDER BY instance_uuid, host, port',
  freePorts: `SELECT host, port FROM console_connections
              WHERE instance_uuid = ? AND expires_at > ? AND (connected = 0 OR heartbeat_at < ?)
              ORDER BY host, port`,
  connect: `UPDATE console_connections SET connected = 1, heartbeat_at = ?
            WHERE id = ? AND expires_at > ? AND (connected = 0 OR heartbeat_at < ?)`,
  heartbeat:
    'UPDATE console_connections SET heartbeat_at = ? WHERE id = ? AND connected = 1 AND heartbeat_at = ?',
  disconnect: 'UPDATE console_connections SET connected = 0 WHERE id = ?',
  delete: 'DELETE FROM console_connections WHERE id = ?',
  deleteExpired: `DELETE FROM console_connections WHERE rowid IN (
                    SELECT rowid FROM console_connections
                    WHERE expires_at <= ? AND (connected = 0 OR heartbeat_at < ?)
                    ORDER BY expires_at LIMIT ?)`,
} as const

type RowIn = Omit<StoredRow, 'connected' | 'heartbeat_at'>

/** How long a writer waits for another process's lock before giving up. */
const BUSY_TIMEOUT_MS = 5000

/**
 * Console records in an SQLite file (WAL: readers never wait for the writer, and several
 * brine processes share one file). The file and its -wal/-shm companions are mode 0600.
 * Any SQLite failure surfaces as a ConsoleStoreError naming the file and the way out; the
 * file is never deleted or rewritten to "repair" it.
 */
export class SqliteConsoleStore implements ConsoleStore {
  readonly backend = 'sqlite'
  readonly location: string
  private readonly db: Database.Database
  private readonly statements: { [K in keyof typeof SQL]: Database.Statement }

  constructor(file: string) {
    this.location = file
    this.db = this.guard('open', () => {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
      // A -wal without its database holds records not yet in any file: starting a new
      // database here would truncate it.
      if (!existsSync(file) && existsSync(`${file}-wal`)) {
        throw new ConsoleStoreError(
          `console token database ${file} is missing but its ${file}-wal is there: put the database back beside it, or move the -wal (and -shm) aside too.`,
        )
      }
      // Create it 0600 before SQLite does (SQLite would follow the umask).
      closeSync(openSync(file, 'a', 0o600))
      const db = new (sqlite())(file, { timeout: BUSY_TIMEOUT_MS })
      try {
        db.pragma('journal_mode = WAL')
        db.pragma('synchronous = NORMAL')
        db.pragma('foreign_keys = ON')
        migrate(db, file)
      } catch (error) {
        db.close()
        throw error
      }
      return db
    })
    this.statements = this.guard(
      'prepare',
      () =>
        Object.fromEntries(
          Object.entries(SQL).map(([name, sql]) => [name, this.db.prepare(sql)]),
        ) as { [K in keyof typeof SQL]: Database.Statement },
    )
  }

  async open(): Promise<void> {}

  async put(record: ConsoleConnection, staleBefore: number): Promise<boolean> {
    return this.guard(
      'write',
      () =>
        this.statements.upsert.run({ ...toRow(record), stale_before: staleBefore }).changes === 1,
    )
  }

  async findByTokenHash(hash: string): Promise<ConsoleConnection | DamagedRecord | undefined> {
    return this.guard('read', () => {
      const row = this.statements.byTokenHash.get(hash) as StoredRow | undefined
      return row && recordFromRow(row)
    })
  }

  async get(id: string): Promise<ConsoleConnection | DamagedRecord | undefined> {
    return this.guard('read', () => {
      const row = this.statements.byId.get(id) as StoredRow | undefined
      return row && recordFromRow(row)
    })
  }

  async list(instanceUuid?: string): Promise<Array<ConsoleConnection | DamagedRecord>> {
    return this.guard('read', () => {
      const rows = (
        instanceUuid === undefined
          ? this.statements.all.all()
          : this.statements.byInstance.all(instanceUuid)
      ) as StoredRow[]
      return rows.map(recordFromRow)
    })
  }

  async freePorts(instanceUuid: string, now: number, staleBefore: number): Promise<FreePort[]> {
    return this.guard(
      'read',
      () => this.statements.freePorts.all(instanceUuid, now, staleBefore) as FreePort[],
    )
  }

  async markConnected(id: string, now: number, staleBefore: number): Promise<boolean> {
    return this.guard(
      'write',
      () => this.statements.connect.run(now, id, now, staleBefore).changes === 1,
    )
  }

  async heartbeat(id: string, now: number, previous: number): Promise<boolean> {
    return this.guard('write', () => this.statements.heartbeat.run(now, id, previous).changes === 1)
  }

  async markDisconnected(id: string): Promise<void> {
    this.guard('write', () => this.statements.disconnect.run(id))
  }

  async delete(id: string): Promise<boolean> {
    return this.guard('write', () => this.statements.delete.run(id).changes === 1)
  }

  async deleteExpired(now: number, limit: number, staleBefore: number): Promise<number> {
    return this.guard(
      'write',
      () => this.statements.deleteExpired.run(now, staleBefore, limit).changes,
    )
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }

  private guard<T>(action: string, run: () => T): T {
    try {
      return run()
    } catch (error) {
      if (error instanceof ConsoleStoreError) throw error
      throw storeError(this.location, action, error)
    }
  }
}

function migrate(db: Database.Database, file: string): void {
  const version = () => db.pragma('user_version', { simple: true }) as number
  if (version() > MIGRATIONS.length) {
    throw new ConsoleStoreError(
      `console token database ${file} has schema version ${version()}, newer than this brine knows (${MIGRATIONS.length}). Upgrade brine, or point data_dir elsewhere.`,
      { code: 'BRINE_CONSOLE_SCHEMA' },
    )
  }
  if (version() === MIGRATIONS.length) return
  // IMMEDIATE: two processes opening a new file migrate one after the other.
  db.transaction(() => {
    for (let v = version(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v] as string)
      db.pragma(`user_version = ${v + 1}`)
    }
  }).immediate()
}

function toRow(record: ConsoleConnection): RowIn {
  return {
    id: record.id,
    instance_uuid: record.instanceUuid,
    host: record.host,
    port: record.port,
    token_hash: record.tokenHash,
    access_url: record.accessUrl,
    options: JSON.stringify(record.options),
    created_at: record.createdAt.getTime(),
    expires_at: record.expiresAt.getTime(),
  }
}

/** SQLite's failure, said with the file and what to do about it. */
function storeError(file: string, action: string, error: unknown): ConsoleStoreError {
  const code = (error as { code?: string }).code ?? ''
  const reason = (error as Error).message ?? String(error)
  let fix: string
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    fix = `The file is damaged or not an SQLite database. brine leaves it as it is: move it aside together with its -wal and -shm files (a new one is started on the next call), and try \`sqlite3 <moved file> .recover\` on the moved copy to save its records.`
  } else if (code.startsWith('SQLITE_CANTOPEN') || /^E[A-Z]+$/.test(code)) {
    fix = `Check that ${dirname(file)} is a writable directory and ${file} a readable file of this user, or set data_dir / BRINE_DATA_DIR.`
  } else if (code.startsWith('SQLITE_READONLY')) {
    fix = 'brine needs write access to it (and to its -wal and -shm files).'
  } else if (code.startsWith('SQLITE_BUSY')) {
    fix = `Another process held a lock for more than ${BUSY_TIMEOUT_MS / 1000} s; try again.`
  } else if (code.startsWith('SQLITE_FULL')) {
    fix = 'The disk is full.'
  } else {
    fix = 'The database may be damaged; brine leaves it as it is.'
  }
  return new ConsoleStoreError(
    `console token database ${file}: cannot ${action} (${code ? `${code}: ` : ''}${reason}). ${fix}`,
    { cause: error },
  )
}
