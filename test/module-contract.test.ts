// The lighter module contract: a module-level vSphere default, a connected service instance
// handed to vSphere functions, and typed cross-calls (`ctx.module<typeof mod>('mod')`).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { defineFunction, defineModule, z } from '../loader/api.ts'
import { describeFunction } from '../loader/arguments.ts'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime, type ServiceInstanceSource } from '../loader/runtime.ts'
import type { ModuleFunctions } from '../loader/types.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

function tempModules(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'brine-contract-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

function runtime(
  dirs: string[],
  options: {
    opts?: Record<string, unknown>
    createServiceInstances?: () => ServiceInstanceSource
  } = {},
): Runtime {
  return new Runtime({
    opts: defaultOpts({ id: 'contract', file_roots: [], pillar_roots: [], ...options.opts }),
    pillar: {},
    moduleDirs: dirs,
    stateDirs: [],
    signal: new AbortController().signal,
    env: {},
    createServiceInstances: options.createServiceInstances,
  })
}

/** A service-instance source whose instances count `ready()` calls and never reach vCenter. */
function countingSource(ready: () => Promise<void> = async () => {}) {
  const counts = { get: 0, ready: 0, profiles: [] as Array<string | undefined> }
  const si = {
    ready: async () => {
      counts.ready++
      await ready()
      return si
    },
  } as unknown as ServiceInstance
  const source: ServiceInstanceSource = {
    get: (profile) => {
      counts.get++
      counts.profiles.push(profile)
      return si
    },
    close: async () => [],
  }
  return { counts, si, create: () => source }
}

const vsphereModule = `import { defineFunction, defineModule } from 'brine/loader'
export default defineModule({
  vsphere: true,
  functions: {
    about: defineFunction({
      doc: 'What vCenter says it is, read synchronously from the connected instance.',
      args: {},
      run: (ctx) => ({ apiType: ctx.serviceInstance.content.about.apiType, profile: ctx.profile }),
    }),
    local: defineFunction({
      doc: 'Needs no vCenter.',
      args: {},
      vsphere: false,
      run: (ctx) => {
        try {
          return ctx.serviceInstance === undefined
        } catch (error) {
          return (error as Error).message
        }
      },
    }),
  },
})
`

describe('module-level vsphere default', () => {
  it('makes every function a vSphere one unless it says vsphere: false; a module without it changes nothing', async () => {
    const dir = tempModules({
      'vs.ts': vsphereModule,
      'plain.ts': `import { defineFunction, defineModule } from 'brine/loader'
export default defineModule({ functions: { one: defineFunction({ doc: 'One.', args: {}, run: () => 1 }) } })
`,
    })
    const source = countingSource()
    const rt = runtime([dir], { createServiceInstances: source.create })
    const about = await rt.modules.getFunction('vs.about')
    const local = await rt.modules.getFunction('vs.local')
    const plain = await rt.modules.getFunction('plain.one')
    expect(about.definition.vsphere).toBe(true)
    expect(local.definition.vsphere).toBe(false)
    expect(plain.definition.vsphere).toBeUndefined()
    // vsphere: false: no service instance, and profile= is not one of its arguments.
    expect(await rt.call('vs.local')).toBe(
      'vs.local: has no serviceInstance: declare the function with vsphere: true.',
    )
    expect(describeFunction('vs.local', local.definition)).not.toContain('profile=')
    expect(describeFunction('vs.about', about.definition)).toContain('profile=')
    expect(source.counts).toEqual({ get: 0, ready: 0, profiles: [] })
    await rt.close()
  })

  it('keeps what defineFunction and defineModule say about types: the run result of each function', () => {
    const fixture = defineModule({
      functions: {
        value: defineFunction({
          doc: 'A number in a dict.',
          args: { n: z.number() },
          run: async (_ctx, { n }) => ({ n, twice: n * 2 }),
        }),
        name: defineFunction({ doc: 'A string.', args: {}, run: () => 'x' }),
      },
    })
    type Fixture = ModuleFunctions<typeof fixture>
    expectTypeOf<Awaited<ReturnType<Fixture['value']>>>().toEqualTypeOf<{
      n: number
      twice: number
    }>()
    expectTypeOf<Awaited<ReturnType<Fixture['name']>>>().toEqualTypeOf<string>()
    expect(Object.keys(fixture.functions)).toEqual(['value', 'name'])
  })
})

describe('connected service instance', () => {
  let vcsim: Vcsim
  beforeAll(async () => {
    vcsim = await startVcsim()
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  const vcsimRuntime = (dir: string, user: string) =>
    runtime([dir], {
      opts: {
        'saltext.vmware': { host: vcsim.url, user, password: 'pw', ca_file: vcsim.caFile },
      },
    })

  it('hands a vSphere function a connected instance: ctx.serviceInstance.content works on the first call of a fresh runtime', async () => {
    const rt = vcsimRuntime(tempModules({ 'vs.ts': vsphereModule }), 'contract-first')
    expect(rt.vsphereLogins).toBe(0)
    expect(await rt.call('vs.about')).toEqual({ apiType: 'VirtualCenter', profile: undefined })
    expect(rt.vsphereLogins).toBe(1)
    // The next call reuses the session.
    expect(await rt.call('vs.about')).toEqual({ apiType: 'VirtualCenter', profile: undefined })
    expect(rt.vsphereLogins).toBe(1)
    await rt.close()
  })

  it('does not log in for a call aborted before it starts', async () => {
    const rt = vcsimRuntime(tempModules({ 'vs.ts': vsphereModule }), 'contract-aborted')
    const controller = new AbortController()
    const reason = new Error('stopped by the caller')
    controller.abort(reason)
    await expect(rt.call('vs.about', { signal: controller.signal })).rejects.toBe(reason)
    expect(rt.vsphereLogins).toBe(0)
    expect(await sessionsOf(vcsim, 'contract-aborted')).toEqual([])
    await rt.close()
  })
})

describe('connecting honours the signal', () => {
  it('an abort while the instance connects ends the call at once, with the abort reason', async () => {
    let started!: () => void
    const connecting = new Promise<void>((resolve) => {
      started = resolve
    })
    // ready() starts and never finishes: only the abort can end the call.
    const source = countingSource(() => {
      started()
      return new Promise<void>(() => {})
    })
    const dir = tempModules({ 'vs.ts': vsphereModule })
    const rt = runtime([dir], { createServiceInstances: source.create })
    const controller = new AbortController()
    const call = rt.call('vs.about', { signal: controller.signal })
    await connecting
    const reason = new Error('SIGINT')
    controller.abort(reason)
    await expect(call).rejects.toBe(reason)
    expect(source.counts.ready).toBe(1)
    await rt.close()
  })

  it('does not connect an instance given by the caller (no connection is made by brine)', async () => {
    // No source: a call that looked one up would fail on the missing credentials.
    const rt = runtime([tempModules({ 'vs.ts': vsphereModule })])
    const given = {
      ready: async () => {
        throw new Error('ready() was called on a given instance')
      },
      content: { about: { apiType: 'HostAgent' } },
    } as unknown as ServiceInstance
    expect(await rt.call('vs.about', { serviceInstance: given })).toEqual({
      apiType: 'HostAgent',
      profile: undefined,
    })
    expect(rt.vsphereLogins).toBe(0)
    await rt.close()
  })
})

describe('typed cross-calls', () => {
  // The callee counts its own evaluations: a type-only import must not evaluate it again
  // inside the caller's generation (one module graph, nothing held across reloads).
  const callee = (label: string) => `import { defineFunction, defineModule, z } from 'brine/loader'
const g = globalThis as { calleeEvaluations?: number }
g.calleeEvaluations = (g.calleeEvaluations ?? 0) + 1
export default defineModule({
  functions: {
    seen: defineFunction({
      doc: 'What the call saw.',
      args: { n: z.number() },
      run: (ctx, { n }) => ({ label: '${label}', n, test: ctx.test, profile: ctx.profile }),
    }),
  },
})
`
  const caller = `import { defineFunction, defineModule } from 'brine/loader'
import type callee from './callee.ts'
export default defineModule({
  vsphere: true,
  functions: {
    ask: defineFunction({
      doc: 'Call callee.seen, typed.',
      args: {},
      run: async (ctx) => {
        const seen = await ctx.module<typeof callee>('callee').seen({ n: 2 })
        return { ...seen, doubled: seen.n * 2 }
      },
    }),
  },
})
`

  it('calls through the loader: the result is the callee’s own, test mode and profile are inherited, and the type import evaluates nothing', async () => {
    const g = globalThis as { calleeEvaluations?: number }
    g.calleeEvaluations = 0
    const dir = tempModules({ 'callee.ts': callee('built-in'), 'caller.ts': caller })
    const source = countingSource()
    const rt = runtime([dir], { createServiceInstances: source.create })
    expect(await rt.call('caller.ask', { kwargs: { profile: 'lab', test: true } })).toEqual({
      label: 'built-in',
      n: 2,
      test: true,
      profile: 'lab',
      doubled: 4,
    })
    expect(g.calleeEvaluations).toBe(1)
    expect(rt.modules.moduleNames().sort()).toEqual(['callee', 'caller'])
    expect(source.counts.profiles).toEqual(['lab'])
    await rt.close()
  })

  it('a module of the same name in a user directory wins over the built-in callee', async () => {
    const builtins = tempModules({ 'callee.ts': callee('built-in'), 'caller.ts': caller })
    const user = tempModules({ 'callee.ts': callee('user') })
    const rt = runtime([user, builtins], { createServiceInstances: countingSource().create })
    expect(await rt.call('caller.ask')).toMatchObject({ label: 'user', test: false })
    await rt.close()
  })

  it('an unknown function of the module fails as a cross-call by name would', async () => {
    const dir = tempModules({
      'callee.ts': callee('built-in'),
      'wrong.ts': `import { defineFunction, defineModule } from 'brine/loader'
export default defineModule({
  functions: {
    ask: defineFunction({
      doc: 'Call a function callee does not have.',
      args: {},
      run: (ctx) => (ctx.module('callee') as Record<string, (kw?: object) => Promise<unknown>>).nope!({}),
    }),
  },
})
`,
    })
    const rt = runtime([dir])
    await expect(rt.call('wrong.ask')).rejects.toMatchObject({
      code: 'BRINE_FUNCTION_UNAVAILABLE',
    })
    await rt.close()
  })
})
