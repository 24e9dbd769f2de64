import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { NotAuthenticatedError } from '../vsphere/errors.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'
import { SessionCache } from '../vsphere/session-cache.ts'
import { SessionStore } from '../vsphere/session-store.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

let vcsim: Vcsim

beforeAll(async () => {
  vcsim = await startVcsim()
})
afterAll(async () => {
  await vcsim?.stop()
})

/** Each test logs in as its own user, so sessions can be counted on the server per test. */
const params = (user: string, overrides: Record<string, unknown> = {}) =>
  resolveConnectionParams({
    server: vcsim.url,
    user,
    password: 'pw-1',
    caFile: vcsim.caFile,
    ...overrides,
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('session cache', () => {
  it('shares one login among 100 concurrent checkouts of the same key', async () => {
    const cache = new SessionCache()
    const sessions = await Promise.all(
      Array.from({ length: 100 }, () => cache.checkout(params('concurrent'))),
    )
    expect(new Set(sessions).size).toBe(1)
    expect(cache.logins).toBe(1)
    // Counted on the server, from another session.
    expect(await sessionsOf(vcsim, 'concurrent')).toHaveLength(1)
    await cache.closeAll()
    expect(await sessionsOf(vcsim, 'concurrent')).toHaveLength(0)
  })

  it('keys sessions by server, user, label and password', async () => {
    const cache = new SessionCache()
    const a = await cache.checkout(params('keys'))
    expect(await cache.checkout(params('keys'))).toBe(a)
    const labelled = await cache.checkout(params('keys', { label: 'batch' }))
    const newPassword = await cache.checkout(params('keys', { password: 'pw-2' }))
    expect(labelled).not.toBe(a)
    expect(newPassword).not.toBe(a)
    expect(cache.logins).toBe(3)
    expect(await sessionsOf(vcsim, 'keys')).toHaveLength(3)
    await cache.closeAll()
    expect(await sessionsOf(vcsim, 'keys')).toHaveLength(0)
  })

  it('replaces a session terminated from another session on the next checkout', async () => {
    const cache = new SessionCache()
    const first = await cache.checkout(params('terminated'))
    const key = first.userSession!.key
    await withSession(params('admin'), (admin) =>
      admin.invoke('TerminateSession', { _this: admin.sessionManager, sessionId: [key] }),
    )
    const error = await retrieveAll(first, 'Datacenter', ['name']).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotAuthenticatedError)
    expect(first.valid).toBe(false)

    const second = await cache.checkout(params('terminated'))
    expect(second).not.toBe(first)
    expect(second.userSession!.key).not.toBe(key)
    expect(first.closed).toBe(true)
    expect(
      (await retrieveAll(second, 'Datacenter', ['name'])).map((dc) => dc.props.name),
    ).toContain('DC0')
    expect(cache.logins).toBe(2)
    await cache.closeAll()
    expect(await sessionsOf(vcsim, 'terminated')).toHaveLength(0)
  })

  it('validates an idle session on checkout and replaces it once the server expired it', async () => {
    const idle = await startVcsim({ idleTimeout: '1s' })
    try {
      const p = resolveConnectionParams({
        server: idle.url,
        user: 'idler',
        password: 'pw',
        caFile: idle.caFile,
      })
      const cache = new SessionCache({ validateAfterMs: 100 })
      const first = await cache.checkout(p)
      await sleep(2_600)
      // The server expired it: a direct call says NotAuthenticated…
      expect(await first.currentTime().catch((e: unknown) => e)).toBeInstanceOf(
        NotAuthenticatedError,
      )
      // …and the cache validates, logs out what is left, and logs in again.
      const second = await cache.checkout(p)
      expect(second).not.toBe(first)
      expect(await second.currentTime()).toBeInstanceOf(Date)
      expect(cache.logins).toBe(2)

      // With keepalive, the same idle time does not expire the session.
      const kept = await cache.checkout(
        resolveConnectionParams({
          server: idle.url,
          user: 'kept',
          password: 'pw',
          caFile: idle.caFile,
          keepaliveIntervalMs: 300,
        }),
      )
      await sleep(2_600)
      expect(await kept.currentTime()).toBeInstanceOf(Date)
      expect(kept.valid).toBe(true)
      await cache.closeAll()
      expect(await sessionsOf(idle, 'kept')).toHaveLength(0)
    } finally {
      await idle.stop()
    }
  })

  it('does not reuse a cached session after vcsim restarts, and logs in again', async () => {
    const restartable = await startVcsim()
    try {
      const p = resolveConnectionParams({
        server: restartable.url,
        user: 'restart',
        password: 'pw',
        caFile: restartable.caFile,
      })
      const cache = new SessionCache({ validateAfterMs: 0 })
      const first = await cache.checkout(p)
      await restartable.restart()
      const second = await cache.checkout(p)
      expect(second).not.toBe(first)
      expect(await second.currentTime()).toBeInstanceOf(Date)
      expect(cache.logins).toBe(2)
      await cache.closeAll()
      expect(await sessionsOf(restartable, 'restart')).toHaveLength(0)
    } finally {
      await restartable.stop()
    }
  })
})

describe('one-shot sessions', () => {
  it('log out on success, on a throw and on abort', async () => {
    expect(
      await withSession(params('oneshot'), async (si) => (await si.currentSession())?.userName),
    ).toBe('oneshot')
    await expect(
      withSession(params('oneshot'), async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const controller = new AbortController()
    const aborted = withSession(
      params('oneshot'),
      async (si, signal) => {
        controller.abort(new Error('stopped by the user'))
        return si.currentTime({ signal })
      },
      { signal: controller.signal },
    )
    await expect(aborted).rejects.toThrow(/aborted|stopped/)
    expect(await sessionsOf(vcsim, 'oneshot')).toHaveLength(0)
  })
})

describe('persistent session store', () => {
  it('lets separate caches and processes reuse one session, keeps no password, and is private', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-sessions-'))
    const store = new SessionStore({ dir })
    const p = params('stored', { password: 'st0red-Secret' })

    const first = new SessionCache({ store })
    const si = await first.checkout(p)
    await first.closeAll() // keeps the stored session, on purpose
    expect(await sessionsOf(vcsim, 'stored')).toHaveLength(1)

    const [file] = readdirSync(dir)
    expect(file).toMatch(/^[0-9a-f]{64}\.json$/)
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const text = readFileSync(join(dir, file!), 'utf8')
    expect(text).not.toContain('st0red-Secret')
    expect(JSON.parse(text).cookie).toBeTruthy()

    // Another process reuses it: no new Login on the server.
    const reuseInChild = (...what: string[]) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'helpers', 'reuse-session.ts'),
          vcsim.url,
          'stored',
          'st0red-Secret',
          vcsim.caFile,
          dir,
          ...what,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      )
    const child = reuseInChild()
    expect(child.stderr).toBe('')
    // One round trip: the validation (SessionManager.currentSession). The ServiceContent
    // comes from the file, as stored with the session (issue 21: a stored-session call).
    expect(JSON.parse(child.stdout)).toEqual({
      logins: 0,
      key: si.userSession!.key,
      calls: ['RetrievePropertiesEx'],
    })
    expect(JSON.parse(text).content.about.apiVersion).toBe(si.content.about.apiVersion)
    expect(await sessionsOf(vcsim, 'stored')).toHaveLength(1)

    // The view of all VMs a process made is kept with the session: the next process lists
    // them with its one RetrievePropertiesEx after the validation, no view made or destroyed.
    const lister = new SessionCache({ store })
    const listed = await retrieveAll(await lister.checkout(p), 'VirtualMachine', ['name'])
    await lister.closeAll()
    const views = JSON.parse(readFileSync(join(dir, file!), 'utf8')).views
    expect(Object.keys(views)).toEqual(['VirtualMachine'])
    const again = reuseInChild('vms')
    expect(again.stderr).toBe('')
    expect(JSON.parse(again.stdout)).toEqual({
      logins: 0,
      key: si.userSession!.key,
      calls: ['RetrievePropertiesEx', 'RetrievePropertiesEx'],
      vms: listed.length,
    })
    expect(listed.length).toBeGreaterThan(0)
    expect(JSON.parse(readFileSync(join(dir, file!), 'utf8')).views).toEqual(views)

    // A cache that logs out what it stored leaves nothing behind.
    const last = new SessionCache({ store })
    expect(await last.checkout(p)).toBeTruthy()
    expect(last.logins).toBe(0)
    await last.closeAll({ logoutPersisted: true })
    expect(readdirSync(dir)).toEqual([])
    expect(await sessionsOf(vcsim, 'stored')).toHaveLength(0)
  })
})
