import { createHash } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { log } from '../core/log.ts'
import { Secret } from '../core/secret.ts'
import type { ResolvedConnectionParams } from './connection-params.ts'

/**
 * Sessions kept on disk so that separate brine processes reuse one vCenter session, like
 * govc's session cache. One file per server + user + label, mode 0600 in a 0700 directory,
 * holding the session cookie and the API version, never the password. A stored session is
 * validated (SessionManager.currentSession) before reuse.
 *
 * As with govc, the stored cookie is itself a credential: anyone who can read the file as
 * its owner can use the session until it expires or is logged out.
 */
export interface StoredSession {
  url: string
  user: string
  label: string
  cookie: Secret
  version: string
  savedAt: string
}

export interface SessionStoreOptions {
  /** Directory of the session files. Default `$BRINE_SESSION_DIR`, else `~/.cache/brine/sessions`. */
  dir?: string | undefined
}

export class SessionStore {
  readonly dir: string

  constructor(options: SessionStoreOptions = {}) {
    this.dir =
      options.dir ??
      process.env.BRINE_SESSION_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brine', 'sessions')
  }

  fileFor(params: ResolvedConnectionParams): string {
    const key = `${params.url.href}#${params.user}#${params.label}`
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`)
  }

  load(params: ResolvedConnectionParams): StoredSession | undefined {
    const file = this.fileFor(params)
    try {
      const stat = statSync(file)
      if ((stat.mode & 0o077) !== 0 || (process.getuid && stat.uid !== process.getuid())) {
        log.warn('session', 'ignoring %s: it must be owned by this user and mode 0600', file)
        return undefined
      }
      const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
      if (
        data.url !== params.url.href ||
        data.user !== params.user ||
        typeof data.cookie !== 'string'
      )
        return undefined
      return {
        url: data.url,
        user: data.user,
        label: data.label ?? 'default',
        cookie: new Secret(data.cookie),
        version: data.version ?? '',
        savedAt: data.savedAt ?? '',
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.warn(
          'session',
          'ignoring unreadable session file %s: %s',
          file,
          (error as Error).message,
        )
      }
      return undefined
    }
  }

  save(params: ResolvedConnectionParams, cookie: Secret, version: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    chmodSync(this.dir, 0o700)
    const file = this.fileFor(params)
    const tmp = `${file}.${process.pid}.tmp`
    const data = {
      url: params.url.href,
      user: params.user,
      label: params.label,
      cookie: cookie.reveal(),
      version,
      savedAt: new Date().toISOString(),
    }
    writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 })
    renameSync(tmp, file)
  }

  remove(params: ResolvedConnectionParams): void {
    rmSync(this.fileFor(params), { force: true })
  }
}
