import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { moref } from '../vsphere/codec.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { InvalidLoginError } from '../vsphere/errors.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'
import { ServiceInstanceProvider } from '../vsphere/provider.ts'
import {
  createReconnectProxy,
  NotConnectedError,
  OutcomeUnknownError,
  proxyTarget,
} from '../vsphere/reconnect-proxy.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { SessionCache } from '../vsphere/session-cache.ts'
import { reply, startFakeVcenter } from './helpers/fake-vcenter.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { soapCalls } from './helpers/soap-calls.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

let vcsim: Vcsim
beforeAll(async () => {
  vcsim = await startVcsim()
})
afterAll(async () => {
  await vcsim?.stop()
})

/** A provider configured the saltext-vmware way, from opts. */
const provider = (user: string, extra: Record<string, unknown> = {}) =>
  new ServiceInstanceProvider({
    sources: {
      env: {},
      opts: {
        'saltext.vmware': {
          host: vcsim.url,
          user,
          password: 'pw',
          ca_file: vcsim.caFile,
          ...extra,
        },
      },
      pillar: {},
    },
  })

const datacenters = async (si: ServiceInstance) =>
  (await retrieveAll(si, 'Datacenter', ['name'])).map((dc) => dc.props.name)

describe('ReconnectProxy against vcsim', () => {
  it('connects on first use only, then serves 1,000 sequential and 100 concurrent calls with one Login', async () => {
    const p = provider('lazy')
    const si = p.get()
    expect(si).toBeInstanceOf(ServiceInstance)
    expect(p.get()).toBe(si)
    expect(() => si.content).toThrow(NotConnectedError)
    expect(await sessionsOf(vcsim, 'lazy')).toHaveLength(0)

    for (let i = 0; i < 1000; i++) await si.currentTime()
    const results = await Promise.all(Array.from({ length: 100 }, () => datacenters(si)))
    expect(results.every((names) => names.includes('DC0'))).toBe(true)
    expect(p.cache.logins).toBe(1)
    expect(await sessionsOf(vcsim, 'lazy')).toHaveLength(1)
    await p.close()
    expect(await sessionsOf(vcsim, 'lazy')).toHaveLength(0)
  })

  it('shares one login among 100 concurrent first calls', async () => {
    const p = provider('concurrent-first')
    const si = p.get()
    await Promise.all(Array.from({ length: 100 }, () => si.currentTime()))
    expect(p.cache.logins).toBe(1)
    await p.close()
  })

  it('recovers from a session terminated server-side with exactly one new Login', async () => {
    const p = provider('terminated-proxy')
    const si = p.get()
    await si.currentTime()
    const key = proxyTarget(si)!.userSession!.key
    await withSession(
      resolveConnectionParams({
        server: vcsim.url,
        user: 'admin',
        password: 'pw',
        caFile: vcsim.caFile,
      }),
      (admin) =>
        admin.invoke('TerminateSession', { _this: admin.sessionManager, sessionId: [key] }),
    )
    expect(await datacenters(si)).toContain('DC0')
    expect(p.cache.logins).toBe(2)
    expect(proxyTarget(si)!.userSession!.key).not.toBe(key)
    await p.close()
    expect(await sessionsOf(vcsim, 'terminated-proxy')).toHaveLength(0)
  })

  it('recovers from a vcsim restart on the same port with exactly one new Login', async () => {
    const restartable = await startVcsim()
    try {
      const p = new ServiceInstanceProvider({
        sources: {
          env: {},
          opts: {
            'saltext.vmware': {
              host: restartable.url,
              user: 'restart',
              password: 'pw',
              ca_file: restartable.caFile,
            },
          },
          pillar: {},
        },
      })
      const si = p.get()
      expect(await datacenters(si)).toContain('DC0')
      await restartable.restart()
      expect(await datacenters(si)).toContain('DC0')
      expect(p.cache.logins).toBe(2)

      // Down for good: rebuilds back off and give up with a clear error.
      await restartable.down()
      const error = await si.currentTime().catch((e: unknown) => e)
      expect((error as { code?: string }).code).toBe('BRINE_VIM_RECONNECT_FAILED')
      expect((error as Error).message).toMatch(
        /cannot reconnect to 127\.0\.0\.1:\d+ after 3 attempts: .*ECONNREFUSED/,
      )
      await restartable.up()
      expect(await datacenters(si)).toContain('DC0')
      expect(p.cache.logins).toBe(3)
      await p.close()
      expect(await sessionsOf(restartable, 'restart')).toHaveLength(0)
    } finally {
      await restartable.stop()
    }
  })

  it('tries a wrong password once and says so clearly', async () => {
    const guarded = await startVcsim({ username: 'admin', password: 'right' })
    try {
      const p = new ServiceInstanceProvider({
        sources: {
          env: {},
          opts: {
            'saltext.vmware': {
              host: guarded.url,
              user: 'admin',
              password: 'wrong',
              ca_file: guarded.caFile,
            },
          },
          pillar: {},
        },
      })
      const { result: error, calls } = await soapCalls(() =>
        p
          .get()
          .currentTime()
          .catch((e: unknown) => e),
      )
      expect(error).toBeInstanceOf(InvalidLoginError)
      expect((error as Error).message).toMatch(/InvalidLogin.*Check the user name and password/)
      expect(calls.filter((call) => call === 'Login')).toHaveLength(1)
      await p.close()
    } finally {
      await guarded.stop()
    }
  })
})

describe('ReconnectProxy and dropped connections (fake vCenter)', () => {
  it('retries a read-only call once, but never a create whose answer was lost', async () => {
    const fake = await startFakeVcenter()
    let reads = 0
    fake.handle('RetrievePropertiesEx', (body, _req, res) => {
      // The session check (SessionManager.currentSession) finds no session: a new login follows.
      if (body.includes('currentSession')) return reply(res, 'RetrievePropertiesEx', '')
      reads++
      if (reads === 1) return res.socket?.destroy()
      reply(
        res,
        'RetrievePropertiesEx',
        '<returnval><objects><obj type="Folder">group-d1</obj><propSet><name>name</name><val xsi:type="xsd:string">Datacenters</val></propSet></objects></returnval>',
      )
    })
    fake.handle('CreateFolder', (_body, _req, res) => res.socket?.destroy())
    const cache = new SessionCache()
    const si = createReconnectProxy({
      cache,
      resolveParams: () =>
        resolveConnectionParams({ server: fake.url, user: 'fake', password: 'pw', insecure: true }),
      backoffMs: 10,
    })
    try {
      const props = await si.invoke('RetrievePropertiesEx', {
        _this: moref('PropertyCollector', 'propertyCollector'),
        specSet: [
          {
            propSet: [{ type: 'Folder', pathSet: ['name'] }],
            objectSet: [{ obj: moref('Folder', 'group-d1') }],
          },
        ],
        options: {},
      })
      expect(props).toMatchObject({ objects: [{ obj: { value: 'group-d1' } }] })
      expect(reads).toBe(2)

      const error = await si
        .invoke('CreateFolder', { _this: moref('Folder', 'group-v1'), name: 'new' })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OutcomeUnknownError)
      expect((error as OutcomeUnknownError).code).toBe('BRINE_VIM_OUTCOME_UNKNOWN')
      expect((error as Error).message).toMatch(
        /CreateFolder: the connection dropped .* may or may not have done it/,
      )
      expect(fake.calls.filter((call) => call.method === 'CreateFolder')).toHaveLength(1)
    } finally {
      await cache.closeAll()
      await fake.close()
    }
  })

  it('does not send a read again when the server took it and never answered (request_timeout)', async () => {
    const fake = await startFakeVcenter()
    fake.handle('RetrievePropertiesEx', () => {
      // accepted, never answered
    })
    const cache = new SessionCache()
    const si = createReconnectProxy({
      cache,
      resolveParams: () =>
        resolveConnectionParams({
          server: fake.url,
          user: 'fake',
          password: 'pw',
          insecure: true,
          requestTimeoutMs: 300,
        }),
      backoffMs: 10,
    })
    try {
      const error = await si
        .invoke('RetrievePropertiesEx', {
          _this: moref('PropertyCollector', 'propertyCollector'),
          specSet: [
            {
              propSet: [{ type: 'Folder', pathSet: ['name'] }],
              objectSet: [{ obj: moref('Folder', 'group-d1') }],
            },
          ],
          options: {},
        })
        .catch((e: unknown) => e)
      expect((error as { code?: string }).code).toBe('BRINE_VIM_TRANSPORT_REQUEST_TIMEOUT')
      expect(fake.calls.filter((call) => call.method === 'RetrievePropertiesEx')).toHaveLength(1)
      expect(fake.calls.filter((call) => call.method === 'Login')).toHaveLength(1)
    } finally {
      await cache.closeAll()
      await fake.close()
    }
  })
})
