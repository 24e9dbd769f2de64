// npm run bench: brine against the wire floor and pyVmomi on one vcsim with 5,000 VMs.
// Prints times and ratios measured in this run; asserts nothing (see the README).

import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool } from 'undici'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import { startVcsim } from '../test/helpers/vcsim.ts'
import { encodeRequest } from '../vsphere/codec.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { createResponseDecoder } from '../vsphere/decoder.ts'
import { withSession } from '../vsphere/one-shot.ts'
import {
  createContainerView,
  destroyView,
  retrieveAll,
  retrieveObjectProperties,
  retrieveProperties,
} from '../vsphere/property-collector.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { SessionCache } from '../vsphere/session-cache.ts'
import type { PropertyFilterSpec } from '../vsphere/types.ts'
import { benchConsole } from './console.ts'
import { benchDaemon } from './daemon.ts'
import { benchParallel } from './parallel.ts'
import { runPyvmomi } from './pyvmomi.ts'
import { benchScale } from './scale.ts'
import { benchStartup } from './startup.ts'
import { benchStates } from './states.ts'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const VMS_PER_POOL = Number(process.env.BENCH_VMS_PER_POOL ?? 2500)
const PATHS = ['name', 'runtime.powerState', 'config.uuid']
const BIN = join(import.meta.dirname, '..', 'bin', 'brine.js')

async function best(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  let min = Number.POSITIVE_INFINITY
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    await fn()
    min = Math.min(min, performance.now() - started)
  }
  return min
}

const rows: Array<[string, number, string]> = []
const row = (label: string, ms: number, note = '') => {
  rows.push([label, ms, note])
  console.log(`  ${label.padEnd(58)} ${ms.toFixed(1).padStart(9)} ms  ${note}`)
}

console.log(`\nstarting vcsim with ${VMS_PER_POOL * 2} VMs…`)
const vcsim = await startVcsim({ vm: VMS_PER_POOL })
try {
  const params = resolveConnectionParams({
    server: vcsim.url,
    user: 'bench',
    password: 'bench-pw',
    caFile: vcsim.caFile,
  })

  console.log(
    '\nInventory fetch: name, runtime.powerState, config.uuid of every VM (best of %d)',
    ROUNDS,
  )
  const fetch = await withSession(params, async (si) => {
    const view = await createContainerView(si, si.content.rootFolder, ['VirtualMachine'], true)
    const spec: PropertyFilterSpec[] = [
      {
        propSet: [{ type: 'VirtualMachine', pathSet: PATHS }],
        objectSet: [
          {
            obj: view,
            skip: true,
            selectSet: [
              {
                _type: 'TraversalSpec',
                name: 'view',
                type: 'ContainerView',
                path: 'view',
                skip: false,
              },
            ],
          },
        ],
      },
    ]
    // Wire floor: the same request posted raw on a keep-alive undici pool, body read as bytes.
    const body = encodeRequest('RetrievePropertiesEx', {
      _this: si.content.propertyCollector,
      specSet: spec,
      options: {},
    })
    const pool = new Pool(params.url.origin, { connect: { ca: params.ca } })
    const headers = {
      'content-type': 'text/xml; charset="utf-8"',
      soapaction: `urn:vim25/${si.version}`,
      cookie: `vmware_soap_session=${si.cookie?.reveal()}`,
    }
    let bytes = 0
    let answer = Buffer.alloc(0)
    // Each measured after as many unmeasured rounds: the decoder's first runs are V8's
    // interpreter and baseline code (a cold process pays that: see the whole-process rows).
    await best(ROUNDS, () => retrieveProperties(si, spec))
    const floor = await best(ROUNDS, async () => {
      const response = await pool.request({
        path: params.url.pathname,
        method: 'POST',
        headers,
        body,
      })
      answer = Buffer.from(await response.body.arrayBuffer())
      bytes = answer.byteLength
    })
    await pool.close()
    let count = 0
    const onView = await best(ROUNDS, async () => {
      count = (await retrieveProperties(si, spec)).length
    })
    const whole = await best(ROUNDS, async () => {
      count = (await retrieveAll(si, 'VirtualMachine', PATHS)).length
    })
    // The decoder alone, warm: the answer fed in 64 KiB pieces as the transport does.
    const decodeWarm = await best(ROUNDS * 3, async () => {
      const decoder = createResponseDecoder('RetrievePropertiesEx')
      for (let at = 0; at < answer.length; at += 65536)
        decoder.write(answer.subarray(at, at + 65536))
      decoder.end()
    })
    await destroyView(si, view)
    return { floor, onView, whole, count, bytes, answer, decodeWarm }
  })
  row(
    'raw HTTP (undici, same request, body read)',
    fetch.floor,
    `${(fetch.bytes / 1e6).toFixed(2)} MB, wire floor`,
  )
  row(
    'brine retrieveProperties over an existing view',
    fetch.onView,
    `${fetch.count} VMs, ${(fetch.onView / fetch.floor).toFixed(2)}× floor`,
  )
  row(
    'brine retrieveAll (its kept view + retrieve)',
    fetch.whole,
    `${(fetch.whole / fetch.floor).toFixed(2)}× floor`,
  )

  row('its decoding alone, warm', fetch.decodeWarm, `fed in 64 KiB pieces, best of ${ROUNDS * 3}`)
  // The same decoding in a fresh process (bench/cold-decode.ts), as a short brine process
  // meets it: V8 has not compiled the decoder yet.
  const answerFile = join(mkdtempSync(join(tmpdir(), 'brine-bench-answer-')), 'answer.xml')
  writeFileSync(answerFile, fetch.answer)
  const coldDecode = (mode: string[]) => {
    const times: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'cold-decode.ts'), answerFile, ...mode],
        { encoding: 'utf8' },
      )
      if (child.status !== 0) throw new Error(`cold-decode.ts failed: ${child.stderr}`)
      times.push(Number(child.stdout.trim()))
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!
  }
  const cold = coldDecode([])
  const coldEvents = coldDecode(['events'])
  row(
    'its decoding alone in a fresh process',
    cold,
    `median of ${ROUNDS}; ${(cold / fetch.decodeWarm).toFixed(1)}× warm`,
  )
  row(
    'the same, every element through the scanner events',
    coldEvents,
    `median of ${ROUNDS}; objects read whole save ${(coldEvents - cold).toFixed(0)} ms`,
  )

  const py = runPyvmomi<{ login_ms: number; fetch_ms: number; count: number }>('pyvmomi-fetch.py', [
    '127.0.0.1',
    String(vcsim.port),
    'bench',
    'bench-pw',
    vcsim.caFile,
    String(ROUNDS),
  ])
  if (py) {
    row(
      'pyVmomi RetrievePropertiesEx over a view',
      py.fetch_ms,
      `${py.count} VMs, ${(py.fetch_ms / fetch.floor).toFixed(2)}× floor; brine is ${(py.fetch_ms / fetch.onView).toFixed(2)}× faster`,
    )
  }

  console.log(
    '\nvmware_vm.list through the loader and the ReconnectProxy (one process, one session)',
  )
  const runtime = new Runtime({
    opts: defaultOpts({
      id: 'bench',
      file_roots: [],
      pillar_roots: [],
      'saltext.vmware': {
        host: vcsim.url,
        user: 'bench-modules',
        password: 'pw',
        ca_file: vcsim.caFile,
      },
      data_dir: mkdtempSync(join(tmpdir(), 'brine-bench-data-')),
    }),
    pillar: {},
    moduleDirs: [join(import.meta.dirname, '..', 'modules')],
    stateDirs: [join(import.meta.dirname, '..', 'states')],
    signal: new AbortController().signal,
    env: {},
  })
  let listed = 0
  await runtime.call('vmware_vm.list') // load the module, log in
  const vmList = await best(ROUNDS, async () => {
    listed = ((await runtime.call('vmware_vm.list')) as string[]).length
  })
  row(
    'vmware_vm.list (names of all non-template VMs)',
    vmList,
    `${listed} VMs, ${(vmList / fetch.floor).toFixed(2)}× the raw fetch floor, ${runtime.vsphereLogins} login`,
  )

  // The query engine over the same 5,000 VMs: a name regex and one custom-attribute filter;
  // every 10th VM carries dept=ST-<n>, the others dept=QA.
  await runtime.call('vmware_custom_attribute.add', {
    kwargs: { name: 'dept', object_type: 'VirtualMachine' },
  })
  const vmNames = (await runtime.call('vmware_vm.list')) as string[]
  for (const [i, name] of vmNames.entries())
    if (i % 10 === 0)
      await runtime.call('vmware_custom_attribute.set', {
        kwargs: { name: 'dept', value: `ST-${i}`, object_type: 'vm', object: name },
      })
  const query = {
    type: 'vm',
    filters: { name: 'VM\\d*0$' },
    metadata: [{ key: 'dept', value: '^ST-' }],
    explain: false,
  }
  let found = 0
  const searched = await best(ROUNDS, async () => {
    found = ((await runtime.call('vmware_query.search', { kwargs: query })) as { count: number })
      .count
  })
  row(
    'vmware_query.search vm (name regex + 1 attribute filter)',
    searched,
    `${found} of ${vmNames.length} match, ${(searched / fetch.floor).toFixed(2)}× the raw fetch floor, ${(searched / vmList).toFixed(2)}× vmware_vm.list`,
  )

  // A console: the VM by id, AcquireTicket, a record in the SQLite file; against the same two
  // calls made bare on a session of its own (the wire floor of this function).
  const vmId = (
    (await runtime.call('vmware_vm.info', { kwargs: { name: vmNames[0] } })) as { id: string }
  ).id
  await runtime.call('vmware_vm.console', { kwargs: { name: vmId } })
  const consoleCall = await best(ROUNDS * 3, () =>
    runtime.call('vmware_vm.console', { kwargs: { name: vmId } }),
  )
  const vmRef = { type: 'VirtualMachine', value: vmId }
  const bareCalls = await withSession(params, (si) =>
    best(ROUNDS * 3, async () => {
      await retrieveObjectProperties(si, vmRef, [
        'name',
        'config.instanceUuid',
        'config.uuid',
        'runtime.powerState',
      ])
      await si.invoke('AcquireTicket', { _this: vmRef, ticketType: 'webmks' })
    }),
  )
  row(
    'vmware_vm.console by VM id (lookup, ticket, SQLite record)',
    consoleCall,
    `${(consoleCall / bareCalls).toFixed(2)}× its two SOAP calls made bare (${bareCalls.toFixed(2)} ms)`,
  )
  await runtime.close()

  await benchScale(row, vcsim, params, ROUNDS)

  console.log('\nLogin (best of %d)', ROUNDS)
  let connectLogin = Number.POSITIVE_INFINITY
  let loginOnly = Number.POSITIVE_INFINITY
  let logoutOnly = Number.POSITIVE_INFINITY
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now()
    const si = await ServiceInstance.connect(params)
    const connected = performance.now()
    await si.login()
    const loggedIn = performance.now()
    await si.logout()
    connectLogin = Math.min(connectLogin, loggedIn - started)
    loginOnly = Math.min(loginOnly, loggedIn - connected)
    logoutOnly = Math.min(logoutOnly, performance.now() - loggedIn)
  }
  row('brine connect + Login (new TLS connection, ServiceContent)', connectLogin)
  row('brine Login call alone', loginOnly)
  row('brine Logout (and connection close)', logoutOnly)
  if (py) {
    row(
      'pyVmomi SmartConnect (connect + login)',
      py.login_ms,
      `brine takes ${(connectLogin / py.login_ms).toFixed(2)}× pyVmomi's time`,
    )
  }

  console.log('\nPer-call cost: 50 reads of the root folder name')
  const CALLS = 50
  const cache = new SessionCache()
  await cache.checkout(params)
  const cachedStarted = performance.now()
  for (let i = 0; i < CALLS; i++) {
    const si = await cache.checkout(params)
    await retrieveProperties(si, [
      {
        propSet: [{ type: 'Folder', pathSet: ['name'] }],
        objectSet: [{ obj: si.content.rootFolder }],
      },
    ])
  }
  const cached = (performance.now() - cachedStarted) / CALLS
  await cache.closeAll()
  const freshStarted = performance.now()
  for (let i = 0; i < CALLS; i++) {
    await withSession(params, (si) =>
      retrieveProperties(si, [
        {
          propSet: [{ type: 'Folder', pathSet: ['name'] }],
          objectSet: [{ obj: si.content.rootFolder }],
        },
      ]),
    )
  }
  const fresh = (performance.now() - freshStarted) / CALLS
  row('cached session (SessionCache.checkout + call)', cached, 'per call')
  row(
    'fresh session per call (connect + login + call + logout)',
    fresh,
    `per call, ${(fresh / cached).toFixed(1)}× the cached cost`,
  )

  console.log('\nCLI (child processes)')
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const timeProcess = (args: string[], env: Record<string, string> = {}) => {
    const started = performance.now()
    const result = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', ...env },
    })
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`)
    return performance.now() - started
  }
  const RUNS = 11
  const nodeBare = median(Array.from({ length: RUNS }, () => timeProcess(['-e', '0'])))
  const ping = median(Array.from({ length: RUNS }, () => timeProcess([BIN, 'call', 'test.ping'])))
  row('node -e 0', nodeBare, `median of ${RUNS}`)
  row(
    'brine call test.ping (cold process)',
    ping,
    `median of ${RUNS}, ${(ping / nodeBare).toFixed(2)}× node -e 0`,
  )

  const dir = mkdtempSync(join(tmpdir(), 'brine-bench-'))
  const config = join(dir, 'brine.yaml')
  writeFileSync(
    config,
    `saltext.vmware:\n  host: ${vcsim.url}\n  user: cli-bench\n  password: pw\n  ca_file: ${vcsim.caFile}\n`,
  )
  const storeEnv = { BRINE_SESSION_DIR: join(dir, 'sessions') }
  const PROCESSES = 20
  const withStore = Array.from({ length: PROCESSES }, () =>
    timeProcess(
      [BIN, '--config', config, '--session-store', 'call', 'vmware_datacenter.list'],
      storeEnv,
    ),
  )
  const sessionsWithStore = await countSessions(params, 'cli-bench')
  const withoutStore = Array.from({ length: PROCESSES }, () =>
    timeProcess([BIN, '--config', config, 'call', 'vmware_datacenter.list']),
  )
  row(
    `${PROCESSES} × brine call vmware_datacenter.list, session store`,
    median(withStore),
    `median per process; ${sessionsWithStore} session(s) on the server = ${sessionsWithStore} login(s)`,
  )
  row(
    `${PROCESSES} × the same without the store`,
    median(withoutStore),
    `median per process; ${PROCESSES} logins and logouts`,
  )

  await benchStartup(row, vcsim)

  console.log('\nbrine daemon (child processes)')
  await benchDaemon(row, vcsim, 'DC0_H0_VM0')
} finally {
  await vcsim.stop()
}

// Last: the state engine, parallel clones and the console's 100,000 records leave a heap
// and a JIT state that made the in-process rows above slower (the inventory fetch read
// 1.62–1.70× its floor after them, 1.07–1.44× in a process of its own).
console.log('\nState engine (in-process, best of 5)')
await benchStates(row)

console.log('\nparallel: True, 20 VM clones (vcsim, 50 ms per call)')
await benchParallel(row)

console.log('\nConsole records and proxy (in-process)')
await benchConsole(row)

/** Sessions of `user` on the server, seen from another session. */
async function countSessions(
  params: ReturnType<typeof resolveConnectionParams>,
  user: string,
): Promise<number> {
  return withSession(params, async (si) => {
    const props = await retrieveObjectProperties(si, si.sessionManager, ['sessionList'])
    return ((props.sessionList as Array<{ userName: string }> | undefined) ?? []).filter(
      (s) => s.userName === user,
    ).length
  })
}
