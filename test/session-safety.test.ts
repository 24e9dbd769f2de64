import { spawn, spawnSync } from 'node:child_process'
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setLogSink } from '../core/log.ts'
import { type ConnectionOptions, resolveConnectionParams } from '../vsphere/connection-params.ts'
import { InvalidLoginError } from '../vsphere/errors.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll, retrieveObjectProperties } from '../vsphere/property-collector.ts'
import { createReconnectProxy, proxyTarget } from '../vsphere/reconnect-proxy.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { SessionCache } from '../vsphere/session-cache.ts'
import { SessionStore } from '../vsphere/session-store.ts'
import { waitForTask } from '../vsphere/tasks.ts'
import type { ManagedObjectReference, UserSession } from '../vsphere/types.ts'
import { isolatedCliEnv, type RunOptions, runNode } from './helpers/cli.ts'
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

// Issue 13, items 3–7: lost answers, aborts, sessions replaced mid-operation, and the
// persistent session store. Fault cases run through a fault-injecting HTTP proxy in front of
// a plain-HTTP vcsim; sessions are counted on vcsim itself.

let vcsim: Vcsim
beforeAll(async () => {
  vcsim = await startVcsim({ tls: false, vm: 2 })
})
afterAll(async () => {
  await vcsim?.stop()
})

const direct = (user: string, extra: Partial<ConnectionOptions> = {}) =>
  resolveConnectionParams({ server: vcsim.url, user, password: 'pw', insecure: true, ...extra })

/** vcsim's live sessions of `user`, read from SessionManager.sessionList in another session. */
async function sessionsOf(user: string): Promise<UserSession[]> {
  return withSession(direct('observer'), async (si) => {
    const props = await retrieveObjectProperties(si, si.sessionManager, ['sessionList'])
    return ((props.sessionList as UserSession[] | undefined) ?? []).filter(
      (session) => session.userName === user,
    )
  })
}

async function terminate(key: string): Promise<void> {
  await withSession(direct('admin'), (admin) =>
    admin.invoke('TerminateSession', { _this: admin.sessionManager, sessionId: [key] }),
  )
}

/** A ReconnectProxy whose calls pass through `fault`. */
function proxied(fault: FaultProxy, user: string) {
  const cache = new SessionCache()
  const si = createReconnectProxy({
    cache,
    resolveParams: () =>
      resolveConnectionParams({ server: fault.url, user, password: 'pw', insecure: true }),
    backoffMs: 10,
  })
  return { cache, si }
}

const key = (si: ServiceInstance) => proxyTarget(si)!.userSession!.key
const count = (fault: FaultProxy, method: string) =>
  fault.calls.filter((call) => call === method).length

/** A task vcsim finishes at once: renaming the first VM. */
async function renameTask(si: ServiceInstance, newName: string): Promise<ManagedObjectReference> {
  const [vm] = await retrieveAll(si, 'VirtualMachine', ['name'])
  return si.invoke<ManagedObjectReference>('Rename_Task', { _this: vm!.obj, newName })
}

/** vcsim finished the task before answering; show it running, so its success update is lost. */
const stillRunning = (answer: string) =>
  answer.replace(/<state>success<\/state>/, '<state>running</state>')

describe('waitForTask and lost or stale answers (issue 13 items 3, 5)', () => {
  it('re-reads Task.info when the answer of a WaitForUpdatesEx is lost, and returns', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'task-lost')
    try {
      const task = await renameTask(si, 'renamed-lost')
      fault.rewriteAnswer('WaitForUpdatesEx', stillRunning)
      fault.dropAnswer('WaitForUpdatesEx')
      const progress: number[] = []
      await waitForTask(si, task, { maxWaitSeconds: 1, onProgress: (p) => progress.push(p) })
      expect(progress.at(-1)).toBe(100)
      // The lost wait was not sent again on the old collector: Task.info was read instead.
      expect(count(fault, 'WaitForUpdatesEx')).toBe(2)
      expect(fault.calls.slice(fault.calls.lastIndexOf('WaitForUpdatesEx') + 1)).toContain(
        'RetrievePropertiesEx',
      )
      expect(cache.logins).toBe(1)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
    expect(await sessionsOf('task-lost')).toHaveLength(0)
  })

  it('re-reads Task.info when a wait ends with no update (every wait is bounded)', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'task-quiet')
    try {
      const task = await renameTask(si, 'renamed-quiet')
      fault.rewriteAnswer('WaitForUpdatesEx', stillRunning)
      await waitForTask(si, task, { maxWaitSeconds: 1 })
      expect(count(fault, 'WaitForUpdatesEx')).toBe(2)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
  })

  it('a session lost while waiting: one new login, Task.info read on the new session, the task succeeds', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'task-terminated')
    try {
      const task = await renameTask(si, 'renamed-terminated')
      const first = key(si)
      fault.rewriteAnswer('WaitForUpdatesEx', stillRunning)
      fault.before('WaitForUpdatesEx', () => terminate(first))
      await expect(waitForTask(si, task, { maxWaitSeconds: 1 })).resolves.toBeUndefined()
      expect(cache.logins).toBe(2)
      expect(key(si)).not.toBe(first)
      // Nothing was asked of the dead session's collector on the new session.
      expect(count(fault, 'WaitForUpdatesEx')).toBe(2)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
    expect(await sessionsOf('task-terminated')).toHaveLength(0)
  })
})

describe('retrieveAll and a session replaced between its calls (issue 13 item 5)', () => {
  it('creates the view again on the new session and answers', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'view-terminated')
    try {
      await si.currentTime()
      const first = key(si)
      fault.before(
        'RetrievePropertiesEx',
        () => terminate(first),
        (body) => body.includes('ContainerView'),
      )
      const vms = await retrieveAll(si, 'VirtualMachine', ['name'])
      expect(vms.length).toBeGreaterThan(0)
      expect(cache.logins).toBe(2)
      expect(count(fault, 'CreateContainerView')).toBe(2)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
    expect(await sessionsOf('view-terminated')).toHaveLength(0)
  })

  it('as on vCenter (NotAuthenticated, the proxy logs in and retries with the old view): starts over once', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'view-vcenter')
    // vcsim answers ManagedObjectNotFound for a view of a terminated session; vCenter says
    // NotAuthenticated first, so the proxy logs in and sends the old view id again.
    const notAuthenticated = (answer: string) =>
      answer.replace(
        /<soapenv:Fault>.*<\/soapenv:Fault>/s,
        '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The session is not authenticated.</faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail></soapenv:Fault>',
      )
    try {
      await si.currentTime()
      const first = key(si)
      fault.before(
        'RetrievePropertiesEx',
        () => terminate(first),
        (body) => body.includes('ContainerView'),
        notAuthenticated,
      )
      const vms = await retrieveAll(si, 'VirtualMachine', ['name'])
      expect(vms.length).toBeGreaterThan(0)
      expect(cache.logins).toBe(2)
      // Reads: over the first view, the cache's check of the old session, the proxy's retry
      // naming the first view on the new session, then over the new view.
      expect(count(fault, 'CreateContainerView')).toBe(2)
      expect(count(fault, 'RetrievePropertiesEx')).toBe(4)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
    expect(await sessionsOf('view-vcenter')).toHaveLength(0)
  })
})

describe('aborts (issue 13 item 4)', () => {
  it('SIGINT during a read-only call: no retry, no login after the sessions were logged out', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'aborted')
    try {
      await si.currentTime()
      // Datacenters are read by a traversal of folders (Folder.childEntity).
      const held = fault.hold('RetrievePropertiesEx', (body) => body.includes('childEntity'))
      const controller = new AbortController()
      const reading = retrieveAll(si, 'Datacenter', ['name'], { signal: controller.signal })
      await held.seen
      // As the CLI does on SIGINT: abort with its own reason, then log the sessions out.
      controller.abort(Object.assign(new Error('interrupted by SIGINT'), { code: 'BRINE_SIGINT' }))
      const closing = cache.closeAll()
      await expect(reading).rejects.toThrow('interrupted by SIGINT')
      await closing
      held.release()
      expect(cache.logins).toBe(1)
      expect(count(fault, 'Login')).toBe(1)
      expect(count(fault, 'RetrievePropertiesEx')).toBe(1)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
    expect(await sessionsOf('aborted')).toHaveLength(0)
  })

  it('an aborted signal before the first call: no login at all', async () => {
    const fault = await startFaultProxy(vcsim.url)
    const { cache, si } = proxied(fault, 'aborted-early')
    try {
      const controller = new AbortController()
      controller.abort(new Error('interrupted by SIGTERM'))
      await expect(si.currentTime({ signal: controller.signal })).rejects.toThrow('SIGTERM')
      expect(count(fault, 'Login')).toBe(0)
    } finally {
      await cache.closeAll()
      await fault.close()
    }
  })
})

describe('the persistent session store (issue 13 items 6, 7)', () => {
  const storeDir = () => mkdtempSync(join(tmpdir(), 'brine-store-'))
  const warnings = async <T>(fn: () => Promise<T>) => {
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    try {
      return { result: await fn(), lines }
    } finally {
      restore()
    }
  }

  it('a wrong password never reuses the stored session; the right one does', async () => {
    const guarded = await startVcsim({ tls: false, username: 'guarded', password: 'right-Pw' })
    const params = (password: string) =>
      resolveConnectionParams({ server: guarded.url, user: 'guarded', password, insecure: true })
    try {
      const dir = storeDir()
      const store = new SessionStore({ dir })
      const first = new SessionCache({ store })
      const key = (await first.checkout(params('right-Pw'))).userSession!.key
      await first.closeAll() // kept in the store
      const file = store.fileFor(params('right-Pw'))
      const stored = readFileSync(file, 'utf8')
      expect(stored).not.toContain('right-Pw')
      expect(JSON.parse(stored).credentialTag).toMatch(/^[\w-]{43}$/)

      const wrong = new SessionCache({ store })
      await expect(wrong.checkout(params('wrong-Pw'))).rejects.toBeInstanceOf(InvalidLoginError)
      await wrong.closeAll()
      expect(readFileSync(file, 'utf8')).toBe(stored)

      const right = new SessionCache({ store })
      expect((await right.checkout(params('right-Pw'))).userSession!.key).toBe(key)
      expect(right.logins).toBe(0)
      await right.closeAll({ logoutPersisted: true })
    } finally {
      await guarded.stop()
    }
  })

  it('a changed password logs in anew, stores that session and logs the old one out', async () => {
    const dir = storeDir()
    const store = new SessionStore({ dir })
    const first = new SessionCache({ store })
    await first.checkout(direct('changed', { password: 'old-Pw' }))
    await first.closeAll()
    const second = new SessionCache({ store })
    await second.checkout(direct('changed', { password: 'new-Pw' }))
    expect(second.logins).toBe(1)
    expect(await sessionsOf('changed')).toHaveLength(1)
    await second.closeAll({ logoutPersisted: true })
    expect(await sessionsOf('changed')).toHaveLength(0)
  })

  it('never chmods a shared directory: its own 0700 subdirectory instead', async () => {
    const shared = storeDir()
    chmodSync(shared, 0o1777)
    const store = new SessionStore({ dir: shared })
    const cache = new SessionCache({ store })
    await cache.checkout(direct('shared-dir'))
    expect(statSync(shared).mode & 0o7777).toBe(0o1777)
    expect(store.dir).toBe(join(shared, `brine-${process.getuid!()}`))
    expect(statSync(store.dir).mode & 0o777).toBe(0o700)
    expect(readdirSync(store.dir)).toHaveLength(1)
    await cache.closeAll({ logoutPersisted: true })
    expect(await sessionsOf('shared-dir')).toHaveLength(0)
  })

  it.each([
    ['a 0644 session file', (file: string) => writeFileSync(file, '{}', { mode: 0o644 })],
    ['a corrupt session file', (file: string) => writeFileSync(file, '{"url":', { mode: 0o600 })],
  ])('%s is reported, left as it is, and the session is not kept', async (_name, spoil) => {
    const dir = storeDir()
    const store = new SessionStore({ dir })
    const params = direct('spoiled')
    const file = store.fileFor(params)
    spoil(file)
    chmodSync(file, statSync(file).mode & 0o777) // as written, whatever the umask
    const before = readFileSync(file, 'utf8')
    const cache = new SessionCache({ store })
    const { lines } = await warnings(() => cache.checkout(params))
    expect(lines.join('\n')).toMatch(/\[warning\] \[session\] .*(mode 0600|corrupt)/)
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(cache.logins).toBe(1)
    // Not kept, so logged out at the end: nothing is left on vCenter.
    await cache.closeAll()
    expect(await sessionsOf('spoiled')).toHaveLength(0)
  })

  it('parallel first runs in separate processes log in once and share the session', async () => {
    const dir = storeDir()
    const run = () =>
      new Promise<{ logins: number; key: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(import.meta.dirname, 'helpers', 'store-checkout.ts'),
            vcsim.url,
            'parallel',
            'pw',
            dir,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        )
        let out = ''
        let err = ''
        child.stdout.on('data', (chunk) => {
          out += chunk
        })
        child.stderr.on('data', (chunk) => {
          err += chunk
        })
        child.on('close', (code) =>
          code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}: ${err}`)),
        )
      })
    const results = await Promise.all([run(), run(), run(), run()])
    expect(results.reduce((sum, r) => sum + r.logins, 0)).toBe(1)
    expect(new Set(results.map((r) => r.key)).size).toBe(1)
    expect(await sessionsOf('parallel')).toHaveLength(1)
    expect(readdirSync(dir).filter((name) => name.endsWith('.lock'))).toEqual([])
    const last = new SessionCache({ store: new SessionStore({ dir }) })
    await last.checkout(direct('parallel'))
    expect(last.logins).toBe(0)
    await last.closeAll({ logoutPersisted: true })
    expect(await sessionsOf('parallel')).toHaveLength(0)
  })

  it('a checkout waiting for a live lock stops waiting when the cache is closed, without a login', async () => {
    const dir = storeDir()
    const store = new SessionStore({ dir })
    const params = direct('lock-wait')
    const lock = `${store.fileFor(params)}.lock`
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'held' }), {
      mode: 0o600,
    })
    const cache = new SessionCache({ store })
    const waiting = cache.checkout(params)
    await cache.closeAll()
    await expect(waiting).rejects.toThrow('the session cache was closed')
    expect(cache.logins).toBe(0)
    expect(readFileSync(lock, 'utf8')).toContain('held')
    expect(await sessionsOf('lock-wait')).toHaveLength(0)
  })

  it('breaks a stale lock: its process is gone, or it is too old', async () => {
    const dir = storeDir()
    const store = new SessionStore({ dir, lockStaleMs: 60_000 })
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    for (const [user, owner, old] of [
      ['stale-dead', { pid: gone, host: hostname(), token: 'x' }, false],
      ['stale-old', { pid: process.pid, host: 'elsewhere', token: 'y' }, true],
    ] as const) {
      const params = direct(user)
      const lock = `${store.fileFor(params)}.lock`
      writeFileSync(lock, JSON.stringify(owner), { mode: 0o600 })
      if (old) utimesSync(lock, new Date(0), new Date(0))
      const cache = new SessionCache({ store })
      await cache.checkout(params)
      expect(cache.logins).toBe(1)
      expect(readdirSync(dir).filter((name) => name.endsWith('.lock'))).toEqual([])
      await cache.closeAll({ logoutPersisted: true })
      expect(await sessionsOf(user)).toHaveLength(0)
    }
  })
})

describe('through the CLI (issue 13 items 4, 6)', () => {
  // From the sources: a dist/ bundle in the checkout may predate them.
  const runCli = (args: string[], options: RunOptions) =>
    runNode(
      [
        '--import',
        pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
        join(import.meta.dirname, 'helpers', 'cli-source.ts'),
        ...args,
      ],
      options,
    )
  const tmp = mkdtempSync(join(tmpdir(), 'brine-safety-cli-'))
  const env = isolatedCliEnv(tmp)
  const config = (name: string, url: string, user: string, password: string) => {
    const file = join(tmp, `${name}.yaml`)
    writeFileSync(
      file,
      `id: safety\nsaltext.vmware:\n  host: ${url}\n  user: ${user}\n  password: ${password}\n  insecure: true\n`,
    )
    return file
  }

  it('SIGINT during vmware_datacenter.list: exit 130, one login, no session left', async () => {
    const fault = await startFaultProxy(vcsim.url)
    try {
      const held = fault.hold('RetrievePropertiesEx', (body) => body.includes('childEntity'))
      let pid = 0
      const running = runCli(
        ['--config', config('sigint', fault.url, 'cli-sigint', 'pw'), 'vmware_datacenter.list'],
        { cwd: tmp, env, onSpawn: (p) => (pid = p) },
      )
      await held.seen
      process.kill(pid, 'SIGINT')
      const result = await running
      held.release()
      expect(result.code).toBe(130)
      expect(count(fault, 'Login')).toBe(1)
      expect(count(fault, 'Logout')).toBe(1)
    } finally {
      await fault.close()
    }
    expect(await sessionsOf('cli-sigint')).toHaveLength(0)
  })

  it('--session-store: a wrong password fails although a session is stored', async () => {
    const guarded = await startVcsim({ tls: false, username: 'cli-guarded', password: 'right-Pw' })
    try {
      const file = config('guarded', guarded.url, 'cli-guarded', 'right-Pw')
      const args = ['--config', file, '--session-store', '--out', 'json', 'vmware_datacenter.list']
      const first = await runCli(args, { cwd: tmp, env })
      expect(first.code).toBe(0)
      const wrong = await runCli(args, {
        cwd: tmp,
        env: { ...env, SALTEXT_VMWARE_PASSWORD: 'wrong-Pw' },
      })
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toMatch(/InvalidLogin/)
      expect(wrong.stdout).toBe('')
      const again = await runCli(args, { cwd: tmp, env })
      expect(again.code).toBe(0)
      expect(JSON.parse(again.stdout).local).toContain('DC0')
    } finally {
      await guarded.stop()
    }
  })
})
