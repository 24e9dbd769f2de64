// Issue 17: a console end to end, on both stores. `vmware_vm.console` asks vcsim for a
// ticket and issues a token; a WebSocket client connects to the console proxy with the token;
// the proxy opens the host's WebMKS endpoint (a stand-in, test/helpers/webmks.ts, with the
// certificate whose thumbprint the ticket names) with the ticket vcsim issued, and frames pass
// both ways. A ticket opens one console: the same token again reaches the host with a spent
// ticket and is refused there.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RawData, WebSocket } from 'ws'
import { type ConsoleProxy, startConsoleProxy } from '../console/proxy.ts'
import { closeConsoleStores, consoleConfig, openConsoleStore } from '../console/service.ts'
import type { Issued } from '../core/secret.ts'
import type { Runtime } from '../loader/runtime.ts'
import { type PostgresCluster, startPostgres } from './helpers/postgres.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'
import { startWebmksHost, type WebmksHost } from './helpers/webmks.ts'

let vcsim: Vcsim
let host: WebmksHost
let cluster: PostgresCluster
beforeAll(async () => {
  ;[vcsim, cluster] = await Promise.all([startVcsim(), startPostgres()])
  host = await startWebmksHost(vcsim)
}, 180_000)
afterAll(async () => {
  await closeConsoleStores()
  await host?.close()
  await cluster?.stop()
  await vcsim?.stop()
})

/** Messages a client receives, in order; `next()` waits for the next one. */
function inbox(ws: WebSocket) {
  const queue: Array<{ data: Buffer; binary: boolean }> = []
  const waiting: Array<(m: { data: Buffer; binary: boolean }) => void> = []
  ws.on('message', (data: RawData, binary) => {
    const message = { data: data as Buffer, binary }
    const take = waiting.shift()
    if (take) take(message)
    else queue.push(message)
  })
  return {
    next: () =>
      new Promise<{ data: Buffer; binary: boolean }>((resolve) => {
        const message = queue.shift()
        if (message) resolve(message)
        else waiting.push(resolve)
      }),
  }
}

type Inbox = ReturnType<typeof inbox>
/** Connect; answers the open socket (with its inbox, filled from the first frame), or the HTTP status. */
const connect = (url: string) =>
  new Promise<(WebSocket & { messages: Inbox }) | number>((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'])
    // The host greets at once: its frame may come in the same read as the 101.
    const messages = inbox(ws)
    ws.once('open', () => resolve(Object.assign(ws, { messages })))
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('error', reject)
  })

describe.each(['sqlite', 'postgresql'] as const)('a console end to end (%s store)', (backend) => {
  let rt: Runtime
  let proxy: ConsoleProxy
  let opts: Record<string, unknown>
  beforeAll(async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'brine-console-e2e-')), 'data')
    opts = {
      console_tokens_backend: backend,
      data_dir: dataDir,
      ...(backend === 'postgresql'
        ? {
            console_tokens_url: await cluster.createDatabase(),
            console_tokens_password: cluster.password,
          }
        : {}),
    }
    const store = await openConsoleStore(consoleConfig(opts))
    proxy = await startConsoleProxy({ store, port: 0 })
    // brine reaches vcsim through the ticket-noting pass-through (same certificate).
    rt = vmwareRuntime({ ...vcsim, url: host.sdkUrl }, 'console', [], {
      ...opts,
      console_proxy_url: proxy.url,
    })
  }, 60_000)
  afterAll(async () => {
    await proxy?.close()
    await rt?.close()
  })
  const issue = async () =>
    (await rt.call('vmware_vm.console', { kwargs: { name: 'DC0_H0_VM0' } })) as Record<
      string,
      unknown
    >

  it('issues a console with vmware_vm.console and exchanges frames with the host through the proxy, with the ticket vcsim issued, once', async () => {
    const issuedBefore = host.issued.length
    const out = await issue()
    expect(out).toMatchObject({ name: 'DC0_H0_VM0', host: '127.0.0.1', port: host.port })
    expect(host.issued).toHaveLength(issuedBefore + 1)
    const ticket = host.issued.at(-1) as string
    const accessUrl = (out.access_url as Issued).reveal()
    expect(accessUrl.startsWith(`${proxy.url}?token=brc_`)).toBe(true)

    const client = (await connect(accessUrl)) as WebSocket & { messages: Inbox }
    expect(client).toBeInstanceOf(WebSocket)
    expect(client.protocol).toBe('binary')
    const { messages } = client
    expect(String((await messages.next()).data)).toBe('webmks ready')
    client.send('key a')
    expect(String((await messages.next()).data)).toBe('mks:key a')
    const frame = Buffer.from([0x01, 0x02, 0xfe, 0xff])
    client.send(frame)
    const back = await messages.next()
    expect(back.binary).toBe(true)
    expect(Buffer.compare(back.data, frame)).toBe(0)
    // The host was opened with exactly the ticket vcsim issued for this console.
    expect(host.used.at(-1)).toBe(ticket)
    expect(
      await rt.call('console.free_ports', { kwargs: { instance: out.instance_uuid } }),
    ).toEqual([])
    const closed = new Promise((resolve) => client.once('close', resolve))
    client.close()
    await closed
    await expect
      .poll(() => rt.call('console.free_ports', { kwargs: { instance: out.instance_uuid } }))
      .toEqual([{ host: '127.0.0.1', port: host.port }])

    // The token is still valid, but its ticket is spent: the host refuses it, the client
    // gets 502, and the port is free again.
    const refusedBefore = host.refused.length
    expect(await connect(accessUrl)).toBe(502)
    expect(host.refused.slice(refusedBefore)).toEqual([ticket])
    await expect
      .poll(() => rt.call('console.free_ports', { kwargs: { instance: out.instance_uuid } }))
      .toEqual([{ host: '127.0.0.1', port: host.port }])

    // A new console (a new ticket, a new token) opens again; the old token is gone with the
    // record it replaced.
    const again = await issue()
    const reopened = (await connect((again.access_url as Issued).reveal())) as WebSocket & {
      messages: Inbox
    }
    expect(String((await reopened.messages.next()).data)).toBe('webmks ready')
    expect(host.used.at(-1)).toBe(host.issued.at(-1))
    reopened.close()
    expect(await connect(accessUrl)).toBe(401)
  }, 60_000)
})
