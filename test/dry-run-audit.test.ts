// A dry run never changes anything, checked on the wire: every state of issues 15 and 16 (the
// examples lab with its ESXi host configuration and content library provisioning, the SLS
// fixtures of the ESXi and content library suites, and test/fixtures/dry-run-audit) is applied
// in test mode against vcsim while every HTTP request brine sends is recorded, SOAP and vAPI
// REST alike. Only reads may go out: a write method, or a REST call that is not a read, fails
// the test, whatever the state reported. A real run of one state afterwards shows the audit
// sees writes.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { compilePillar } from '../pillar/compile.ts'
import type { StateReturn } from '../runner/types.ts'
import { type SendOptions, Transport } from '../vsphere/transport.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

const root = join(import.meta.dirname, '..')
const fixtures = join(import.meta.dirname, 'fixtures')

/** SOAP methods that only read, log in or out, or follow changes (nothing in the inventory changes). */
const SOAP_READS =
  /^(Retrieve\w*|Find\w*|Query\w*|Browse\w*|Fetch\w*|Check\w*|Validate\w*|Current\w*|Has\w*|DoesCustomizationSpecExist|GetCustomizationSpec|SearchDatastore\w*|SessionIsActive|WaitForUpdates\w*|CancelWaitForUpdates|CreateContainerView|CreateListView|CreatePropertyCollector|DestroyPropertyCollector|DestroyView|CreateFilter|DestroyPropertyFilter|Login|Logout|AcquireCloneTicket|HostImageConfigGetAcceptance|HostImageConfigGetProfile)$/

/** vAPI REST calls that only read: GETs, session login/logout, and the read actions. */
function restRead(method: string, path: string): boolean {
  if (method === 'GET') return true
  if (/\/(cis\/session|api\/session)$/.test(path)) return method === 'POST' || method === 'DELETE'
  const action = /[?&]~?action=([\w-]+)/.exec(path)?.[1]
  return method === 'POST' && action !== undefined && /^(list|find|get)/.test(action)
}

interface Sent {
  what: string
  read: boolean
}

let vcsim: Vcsim
let rt: Runtime
const sent: Sent[] = []

beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'dry-run-audit', [
    join(root, 'examples', 'salt'),
    join(fixtures, 'esxi-services'),
    join(fixtures, 'esxi-network'),
    join(fixtures, 'content-library'),
    join(fixtures, 'dry-run-audit'),
  ])
  rt.pillar = {
    ...compilePillar({ roots: [join(root, 'examples', 'pillar')], minionId: 'lab01' }).pillar,
    ovf: join(fixtures, 'ovf', 'tiny.ovf'),
  }
  const send = Transport.prototype.send
  vi.spyOn(Transport.prototype, 'send').mockImplementation(function (
    this: Transport,
    request: SendOptions,
  ) {
    const soap = request.soapMethod
    const method = request.method ?? 'POST'
    sent.push(
      soap
        ? { what: `SOAP ${soap}`, read: SOAP_READS.test(soap) }
        : { what: `${method} ${request.path}`, read: restRead(method, request.path) },
    )
    return send.call(this, request)
  })
})
afterAll(async () => {
  vi.restoreAllMocks()
  await rt?.close()
  await vcsim?.stop()
})

async function dryRun(mods: string[]): Promise<StateReturn[]> {
  rt.context = {}
  const result = (await rt.call('state.sls', { args: [mods.join(',')], kwargs: { test: true } })) as
    | Record<string, StateReturn>
    | string[]
  if (Array.isArray(result)) throw new Error(result.join('\n'))
  return Object.values(result)
}

describe('test mode sends only reads, for every state of issues 15 and 16', () => {
  it('the lab, the ESXi and content library fixtures and the audit SLS predict changes and write nothing', async () => {
    const returns = await dryRun(['lab', 'host-services', 'host-network', 'library', 'changes'])
    // Each SLS asks for changes: a dry run that predicted none would prove nothing.
    expect(returns.length).toBeGreaterThan(40)
    expect(returns.filter((r) => r.result === null).length).toBeGreaterThan(30)
    // What a state may report in test mode: a prediction, or a failure it foresees; never a
    // change made (result True with changes).
    expect(returns.filter((r) => r.result === true && Object.keys(r.changes).length)).toEqual([])
    // Nor a failure: each state predicts on top of what earlier states would create.
    expect(returns.filter((r) => r.result === false).map((r) => r.comment)).toEqual([])
    expect(sent.length).toBeGreaterThan(50)
    expect(sent.filter((s) => !s.read).map((s) => s.what)).toEqual([])
  })

  it('the audit sees a write: the same lab applied for real sends them', async () => {
    sent.length = 0
    rt.context = {}
    await rt.call('state.sls', { args: ['lab.hosts'], kwargs: { test: false } })
    const writes = sent.filter((s) => !s.read).map((s) => s.what)
    expect(writes).toEqual(expect.arrayContaining(['SOAP UpdateDateTimeConfig']))
    expect(writes).toEqual(expect.arrayContaining(['SOAP EnterLockdownMode']))
  })
})
