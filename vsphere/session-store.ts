import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir, hostname, userInfo } from 'node:os'
import { join } from 'node:path'
import { nodeCrypto } from '../core/builtins.ts'
import { BrineError } from '../core/errors.ts'
import { log } from '../core/log.ts'
import { Secret } from '../core/secret.ts'
import type { ResolvedConnectionParams } from './connection-params.ts'
import type { ServiceContent } from './types.ts'

/**
 * Sessions kept on disk so that separate brine processes reuse one vCenter session, like
 * govc's session cache. One file per server + user + label, mode 0600 in a directory private
 * to this user, holding the session cookie, the API version, the server's ServiceContent
 * (so that reuse costs one round trip, the validation), the ContainerViews kept on the
 * session (retrieveAll) and a keyed hash of the credentials
 * that created it (HMAC-SHA256 under a random key kept in the file), never the
 * password. A stored session is reused only by the same credentials, and validated
 * (SessionManager.currentSession) before reuse.
 *
 * The directory: the given one when it is already private to this user (or is created now,
 * 0700); otherwise (a shared 1777 directory, say) brine's own 0700 subdirectory in it,
 * `brine-<uid>`. An existing directory's mode is never changed.
 *
 * A file that is not this user's, not 0600, or unreadable is reported (SessionStoreError)
 * and never overwritten. First logins of parallel processes are serialized by a lock file
 * (O_EXCL; a lock whose process is gone, or older than `lockStaleMs`, is broken), so they
 * share one session instead of each leaving one on vCenter.
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
  /**
   * The server's ServiceContent when the session was made (no secret in it): a process
   * reusing the session skips RetrieveServiceContent. Undefined in files of older brines.
   */
  content: ServiceContent | undefined
  /** The session's ContainerViews of the whole inventory, by type: their ids (retrieveAll). */
  views: Record<string, string>
  savedAt: string
  /** The password given now is the one that created this session. */
  credentialsMatch: boolean
}

export interface SessionStoreOptions {
  /** Directory of the session files. Default `$BRINE_SESSION_DIR`, else `~/.cache/brine/sessions`. */
  dir?: string | undefined
  /** A lock file older than this (ms) is stale. Default 180,000 (a login is bounded by the timeouts). */
  lockStaleMs?: number | undefined
  /** How long to wait for another process's login (ms) before giving up. Default 180,000. */
  lockWaitMs?: number | undefined
}

/** The store cannot be used safely for this session: reported, and nothing is overwritten. */
export class SessionStoreError extends BrineError {
  static override readonly kind: string = 'SessionStoreError'
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'BRINE_SESSION_STORE', cause })
  }
}

interface LockOwner {
  pid: number
  host: string
  token: string
}

export class SessionStore {
  /** The directory given (or the default); the files may live in a subdirectory of it. */
  readonly base: string
  readonly #lockStaleMs: number
  readonly #lockWaitMs: number
  #dir: string | undefined

  constructor(options: SessionStoreOptions = {}) {
    this.base =
      options.dir ??
      process.env.BRINE_SESSION_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brine', 'sessions')
    this.#lockStaleMs = options.lockStaleMs ?? 180_000
    this.#lockWaitMs = options.lockWaitMs ?? 180_000
  }

  /** The directory of the session files, made private on first use (never chmodded). */
  get dir(): string {
    this.#dir ??= privateDir(this.base)
    return this.#dir
  }

  fileFor(params: ResolvedConnectionParams): string {
    const key = `${params.url.href}#${params.user}#${params.label}`
    return join(this.dir, `${nodeCrypto().createHash('sha256').update(key).digest('hex')}.json`)
  }

  /**
   * The stored session for `params`' server, user and label; undefined when there is none.
   * Throws SessionStoreError for a file that cannot be trusted or read.
   */
  load(params: ResolvedConnectionParams): StoredSession | undefined {
    const file = this.fileFor(params)
    const data = readSessionFile(file)
    if (!data) return undefined
    if (data.url !== params.url.href || data.user !== params.user) return undefined
    return {
      url: data.url,
      user: data.user,
      label: typeof data.label === 'string' ? data.label : 'default',
      cookie: new Secret(data.cookie as string),
      version: typeof data.version === 'string' ? data.version : '',
      content: isServiceContent(data.content) ? data.content : undefined,
      views: isViewIds(data.views) ? data.views : {},
      savedAt: typeof data.savedAt === 'string' ? data.savedAt : '',
      credentialsMatch: credentialsMatch(data, params),
    }
  }

  /** Store a session; refuses (SessionStoreError) to replace a file it cannot trust. */
  save(
    params: ResolvedConnectionParams,
    cookie: Secret,
    version: string,
    content?: ServiceContent,
  ): void {
    const file = this.fileFor(params)
    readSessionFile(file) // throws for a foreign, loose or corrupt file: it stays as it is
    const credentialKey = nodeCrypto().randomBytes(32)
    const data = {
      url: params.url.href,
      user: params.user,
      label: params.label,
      cookie: cookie.reveal(),
      version,
      content,
      savedAt: new Date().toISOString(),
      credentialKey: credentialKey.toString('base64url'),
      credentialTag: credentialTag(credentialKey, params),
    }
    writeSessionFile(file, data)
  }

  /**
   * Keep `views` (the session's ContainerViews, by type) with the stored session, while the
   * file still holds the session of `cookie` (another process may have stored its own).
   */
  saveViews(params: ResolvedConnectionParams, cookie: Secret, views: Record<string, string>): void {
    const file = this.fileFor(params)
    const data = readSessionFile(file)
    if (!data || data.cookie !== cookie.reveal()) return
    writeSessionFile(file, { ...data, views })
  }

  /** Remove the stored session; with `cookie`, only while the file still holds that session. */
  remove(params: ResolvedConnectionParams, cookie?: Secret | undefined): void {
    const file = this.fileFor(params)
    if (cookie) {
      try {
        const data = readSessionFile(file)
        if (!data || data.cookie !== cookie.reveal()) return
      } catch {
        return
      }
    }
    rmSync(file, { force: true })
  }

  /**
   * Take the lock of `params`' session file (for a login that will be stored); resolves with
   * its release. Waits while another live process holds it; breaks a stale lock.
   */
  async lock(params: ResolvedConnectionParams, signal?: AbortSignal): Promise<() => void> {
    const file = `${this.fileFor(params)}.lock`
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      token: nodeCrypto().randomBytes(8).toString('hex'),
    }
    const deadline = Date.now() + this.#lockWaitMs
    let delay = 10
    for (;;) {
      signal?.throwIfAborted()
      try {
        const fd = openSync(file, 'wx', 0o600)
        try {
          writeFileSync(fd, JSON.stringify(owner))
        } finally {
          closeSync(fd)
        }
        return () => releaseLock(file, owner.token)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new SessionStoreError(
            `cannot create the lock file ${file}: ${(error as Error).message}`,
            error,
          )
      }
      if (this.#breakIfStale(file)) continue
      if (Date.now() > deadline)
        throw new SessionStoreError(
          `another brine process holds ${file} for longer than ${this.#lockWaitMs} ms; remove it if no brine process is logging in`,
        )
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 200)
    }
  }

  /** True when the lock was stale and is gone now. */
  #breakIfStale(file: string): boolean {
    let text: string
    let mtimeMs: number
    try {
      mtimeMs = statSync(file).mtimeMs
      text = readFileSync(file, 'utf8')
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT'
    }
    let owner: Partial<LockOwner> = {}
    try {
      owner = JSON.parse(text) as Partial<LockOwner>
    } catch {
      // Being written right now, or left half-written by a crash: the age decides.
    }
    const dead =
      owner.host === hostname() && typeof owner.pid === 'number' && !processAlive(owner.pid)
    if (!dead && Date.now() - mtimeMs < this.#lockStaleMs) return false
    // Remove it only if it is still the lock we judged (a new owner may have taken it).
    try {
      if (readFileSync(file, 'utf8') !== text) return false
      rmSync(file, { force: true })
    } catch {
      // gone already
    }
    log.info(
      'session',
      'removed the stale lock %s (%s)',
      file,
      dead ? 'its process is gone' : 'too old',
    )
    return true
  }
}

// --- internal ---

function uidTag(): string {
  return String(process.getuid?.() ?? userInfo().username)
}

function ours(stat: { uid: number }): boolean {
  return !process.getuid || stat.uid === process.getuid()
}

/**
 * `base` itself when it is a directory private to this user (created 0700 when missing),
 * else `base/brine-<uid>`, created 0700. Nothing existing is chmodded.
 */
function privateDir(base: string): string {
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 })
    const stat = lstatSync(base)
    if (stat.isDirectory() && ours(stat) && (stat.mode & 0o077) === 0) return base
    const sub = join(base, `brine-${uidTag()}`)
    try {
      mkdirSync(sub, { mode: 0o700 })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const subStat = lstatSync(sub)
    if (!subStat.isDirectory() || !ours(subStat) || (subStat.mode & 0o077) !== 0)
      throw new SessionStoreError(
        `${sub} must be a directory owned by this user with mode 0700; brine does not change it. Remove it or choose another BRINE_SESSION_DIR.`,
      )
    return sub
  } catch (error) {
    if (error instanceof SessionStoreError) throw error
    throw new SessionStoreError(
      `cannot use the session directory ${base}: ${(error as Error).message}`,
      error,
    )
  }
}

/** The parsed file; undefined when missing. Throws SessionStoreError when it cannot be trusted. */
/** What a ServiceContent stored as JSON must have for a reused session to work from it. */
function isServiceContent(value: unknown): value is ServiceContent {
  const content = value as ServiceContent | undefined
  return (
    typeof content?.about?.apiVersion === 'string' &&
    typeof content.propertyCollector?.value === 'string' &&
    typeof content.rootFolder?.value === 'string'
  )
}

/** Write a session file whole (a new file renamed over the old one), mode 0600. */
function writeSessionFile(file: string, data: Record<string, unknown>): void {
  const tmp = `${file}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, JSON.stringify(data), { mode: 0o600, flag: 'wx' })
    renameSync(tmp, file)
  } catch (error) {
    rmSync(tmp, { force: true })
    throw new SessionStoreError(
      `cannot write the session file ${file}: ${(error as Error).message}`,
      error,
    )
  }
}

function isViewIds(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((id) => typeof id === 'string')
  )
}

function readSessionFile(file: string): Record<string, unknown> | undefined {
  let text: string
  try {
    const stat = lstatSync(file)
    if (!stat.isFile() || !ours(stat) || (stat.mode & 0o077) !== 0)
      throw new SessionStoreError(
        `${file} must be a file owned by this user with mode 0600; it is left as it is and not used. Remove it to store sessions again.`,
      )
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    if (error instanceof SessionStoreError) throw error
    throw new SessionStoreError(`cannot read ${file}: ${(error as Error).message}`, error)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    data = undefined
  }
  if (
    !data ||
    typeof data !== 'object' ||
    typeof (data as Record<string, unknown>).cookie !== 'string' ||
    typeof (data as Record<string, unknown>).url !== 'string' ||
    typeof (data as Record<string, unknown>).user !== 'string'
  )
    throw new SessionStoreError(
      `${file} is not a brine session file (corrupt?); it is left as it is and not used. Remove it to store sessions again.`,
    )
  return data as Record<string, unknown>
}

function credentialTag(key: Buffer, params: ResolvedConnectionParams): string {
  return nodeCrypto()
    .createHmac('sha256', key)
    .update(`${params.url.href}\0${params.user}\0${params.password.reveal()}`)
    .digest('base64url')
}

function credentialsMatch(
  data: Record<string, unknown>,
  params: ResolvedConnectionParams,
): boolean {
  if (typeof data.credentialKey !== 'string' || typeof data.credentialTag !== 'string') return false
  const expected = Buffer.from(credentialTag(Buffer.from(data.credentialKey, 'base64url'), params))
  const stored = Buffer.from(data.credentialTag)
  return stored.length === expected.length && nodeCrypto().timingSafeEqual(stored, expected)
}

function releaseLock(file: string, token: string): void {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>
    if (owner.token === token) rmSync(file, { force: true })
  } catch {
    // gone (broken as stale by another process) or unreadable: not ours to remove
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
