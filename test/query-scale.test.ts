// The query engine's two phases at two inventory sizes: phase 1 reads cheap properties of every
// VM over a container view; phase 2 reads the heavy ones (custom values, dates) of the
// candidates left only, listed by reference, and asks the tagging API about those only.
// Counted (calls, objects named in requests, bytes), never timed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { type Explanation, type SearchOptions, search } from '../vsphere/query.ts'
import { observeSoapCalls, type SoapCallRecord } from '../vsphere/soap-observers.ts'
import { createTaggingClient, type TaggingClient } from '../vsphere/tagging.ts'
import type { ManagedObjectReference } from '../vsphere/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

interface Site {
  vcsim: Vcsim
  rt: Runtime
  vms: number
}
const sites: Record<'small' | 'large', Site> = {} as never

// Three VMs match the name filter at both sizes; the attribute and the tag are also set on a
// VM outside it, which must never be read.
const NAME = '^DC0_C0_RP0_VM[0-2]$'
const DEPT: Array<[string, string]> = [
  ['DC0_C0_RP0_VM0', 'ST-ops'],
  ['DC0_C0_RP0_VM1', 'QA'],
  ['DC0_C0_RP0_VM2', 'ST-web'],
  ['DC0_H0_VM3', 'ST-far'],
]
const LINUX = ['DC0_C0_RP0_VM0', 'DC0_H0_VM3']

beforeAll(async () => {
  // 25 and 500 VMs in each of the default model's two resource pools: 50 and 1,000 VMs.
  const [small, large] = await Promise.all([startVcsim({ vm: 25 }), startVcsim({ vm: 500 })])
  sites.small = { vcsim: small, rt: vmwareRuntime(small, 'query-scale'), vms: 50 }
  sites.large = { vcsim: large, rt: vmwareRuntime(large, 'query-scale'), vms: 1000 }
  await Promise.all(
    Object.values(sites).map(async ({ rt }) => {
      const call = (fun: string, kwargs: Record<string, unknown>) => rt.call(fun, { kwargs })
      await call('vmware_custom_attribute.add', { name: 'dept', object_type: 'VirtualMachine' })
      await call('vmware_custom_attribute.add', { name: 'owner' })
      for (const [object, value] of DEPT)
        await call('vmware_custom_attribute.set', {
          name: 'dept',
          value,
          object_type: 'vm',
          object,
        })
      await call('vmware_custom_attribute.set', {
        name: 'owner',
        value: 'ann',
        object_type: 'host',
        object: 'DC0_C0_H0',
      })
      await call('vmware_tag.create_category', {
        name: 'os',
        associable_types: ['VirtualMachine'],
      })
      await call('vmware_tag.create', { name: 'linux', category: 'os' })
      for (const object of LINUX)
        await call('vmware_tag.attach', {
          name: 'linux',
          category: 'os',
          object_type: 'vm',
          object,
        })
    }),
  )
}, 120_000)
afterAll(async () => {
  for (const site of Object.values(sites ?? {})) {
    await site?.rt.close()
    await site?.vcsim.stop()
  }
})

interface Found {
  items: Array<{ name: string; id: string; props: Record<string, unknown> }>
  explanation: Explanation
}

/** The SOAP calls of one vmware_query.search on `site`. */
async function traced(site: Site, kwargs: Record<string, unknown>) {
  const calls: SoapCallRecord[] = []
  const stop = observeSoapCalls((call) => calls.push(call))
  try {
    const result = (await site.rt.call('vmware_query.search', { kwargs })) as Found
    return { result, calls }
  } finally {
    stop()
  }
}

/** The object ids a RetrievePropertiesEx request names in its objectSet. */
const objectsOf = (request: string) =>
  [...request.matchAll(/<obj\b[^>]*>([^<]+)<\/obj>/g)].map((m) => m[1]!)
const pathsOf = (request: string) =>
  [...request.matchAll(/<pathSet>([^<]+)<\/pathSet>/g)].map((m) => m[1]!)
const retrievals = (calls: SoapCallRecord[]) =>
  calls.filter((c) => c.method === 'RetrievePropertiesEx')
const HEAVY = /customValue|availableField|guest|config\.createDate|config\.modified/

describe('vmware_query.search in two phases', () => {
  it('reads custom values of the name matches only, whatever the size of the inventory', async () => {
    const kwargs = {
      type: 'vm',
      filters: { name: NAME },
      metadata: [{ key: 'dept', value: '^ST' }],
    }
    const runs = {
      small: await traced(sites.small, kwargs),
      large: await traced(sites.large, kwargs),
    }
    const phase2 = { small: 0, large: 0 }
    for (const [size, { result, calls }] of Object.entries(runs) as Array<
      ['small' | 'large', (typeof runs)['small']]
    >) {
      const site = sites[size]
      expect(result.items.map((i) => i.name)).toEqual(['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM2'])
      const matchedByName = result.explanation.candidates
        .filter((c) => new RegExp(NAME).test(c.name))
        .map((c) => c.id)
        .sort()
      expect(matchedByName).toHaveLength(3)

      // Phase 1: names and the template flag of every VM, over one view; nothing heavy.
      const [view] = calls.filter((c) => c.method === 'CreateContainerView')
      expect(calls.filter((c) => c.method === 'CreateContainerView')).toHaveLength(1)
      expect(view?.request).toContain('VirtualMachine')
      const overView = retrievals(calls).filter((c) => c.request.includes('ContainerView'))
      expect(overView).toHaveLength(1)
      expect(pathsOf(overView[0]!.request).sort()).toEqual(['config.template', 'name'])

      // Phase 2: one read, of exactly the three candidates left, listed by reference.
      const heavy = retrievals(calls).filter((c) => HEAVY.test(c.request))
      expect(heavy, `${size}: heavy reads`).toHaveLength(1)
      const read = heavy[0]!
      expect(read.request).not.toContain('ContainerView')
      expect(read.request).not.toContain('TraversalSpec')
      expect(pathsOf(read.request)).toEqual(['customValue'])
      expect(objectsOf(read.request).sort()).toEqual(matchedByName)
      phase2[size] = read.responseBytes

      // The explanation says the same.
      const [p1, p2] = result.explanation.phases
      expect(p1).toMatchObject({
        phase: 1,
        candidates: site.vms,
        left: 3,
        client: [`vms only (config.template): ${site.vms} of them`, 'name'],
      })
      expect(p1?.read[0]).toMatch(
        /^name, config\.template of every VirtualMachine in a container view/,
      )
      expect(p2).toMatchObject({
        phase: 2,
        candidates: 3,
        left: 2,
        client: ["attribute 'dept'"],
        read: ['customValue of the 3 candidates left, listed by reference (no view)'],
      })
      // Candidates dropped in phase 1 were not checked in phase 2.
      const vm1 = result.explanation.candidates.find((c) => c.name === 'DC0_C0_RP0_VM1')
      expect(vm1?.checks.map((k) => k.criterion)).toEqual(['name', "attribute 'dept'"])
      const far = result.explanation.candidates.find((c) => c.name === 'DC0_H0_VM3')
      expect(far?.checks.map((k) => k.criterion)).toEqual(['name'])
    }

    // The same round trips at both sizes; phase 2's answer does not grow with the inventory
    // (ids are a digit longer on the large one), while phase 1's does.
    expect(runs.large.calls.map((c) => c.method)).toEqual(runs.small.calls.map((c) => c.method))
    expect(phase2.large).toBeLessThanOrEqual(phase2.small * 1.1 + 64)
    const phase1Bytes = (calls: SoapCallRecord[]) =>
      retrievals(calls).find((c) => c.request.includes('ContainerView'))!.responseBytes
    expect(phase1Bytes(runs.large.calls)).toBeGreaterThan(phase1Bytes(runs.small.calls) * 10)
  })

  it('reads dates for latest/earliest of the candidates left only', async () => {
    for (const site of Object.values(sites)) {
      const { result, calls } = await traced(site, {
        type: 'vm',
        filters: { name: NAME, power_state: 'poweredOn', latest: true },
      })
      expect(result.items).toHaveLength(1)
      expect(result.items[0]?.props).toMatchObject({ date: expect.any(String) })
      const overView = retrievals(calls).filter((c) => c.request.includes('ContainerView'))
      expect(pathsOf(overView[0]!.request).sort()).toEqual([
        'config.template',
        'name',
        'runtime.powerState',
      ])
      const heavy = retrievals(calls).filter((c) => HEAVY.test(c.request))
      expect(heavy).toHaveLength(1)
      expect(pathsOf(heavy[0]!.request)).toEqual(['config.createDate', 'config.modified'])
      expect(objectsOf(heavy[0]!.request)).toHaveLength(3)
      expect(result.explanation.phases.map((p) => [p.phase, p.candidates, p.left])).toEqual([
        [1, site.vms, 3],
        [2, 3, 3],
      ])
      expect(result.explanation.phases[1]?.client).toEqual(['latest'])
    }
  })

  it('reads everything in phase 1 when nothing cheap can narrow the candidates', async () => {
    const { result, calls } = await traced(sites.small, {
      type: 'host',
      metadata: [{ key: 'owner', value: 'ann' }],
    })
    expect(result.items.map((i) => i.name)).toEqual(['DC0_C0_H0'])
    expect(retrievals(calls).filter((c) => HEAVY.test(c.request))).toHaveLength(1)
    const [read] = retrievals(calls).filter((c) => HEAVY.test(c.request))
    expect(read?.request).toContain('ContainerView')
    expect(result.explanation.phases).toHaveLength(1)
    expect(result.explanation.phases[0]?.read[0]).toContain('with the heavy properties')
  })
})

describe('tag filters ask the tagging API about the candidates left', () => {
  /** search() with a tagging client that records what it is asked. */
  async function withTagging(site: Site, options: SearchOptions) {
    const asked = { tags: [] as string[], objects: [] as string[] }
    const params = resolveConnectionParams({
      server: site.vcsim.url,
      user: 'query-scale-tags',
      password: 'pw',
      caFile: site.vcsim.caFile,
    })
    let client: TaggingClient | undefined
    try {
      const result = await withSession(params, (si) =>
        search(si, 'vm', {
          ...options,
          tagging: async () => {
            const real = await createTaggingClient(si)
            client = real
            return {
              ...real,
              attachedTags: (obj: ManagedObjectReference) => {
                asked.tags.push(obj.value)
                return real.attachedTags(obj)
              },
              attachedObjects: (tagId: string) => {
                asked.objects.push(tagId)
                return real.attachedObjects(tagId)
              },
            }
          },
        }),
      )
      return { result, asked }
    } finally {
      await client?.close()
    }
  }

  it('asks for the tags of each candidate left after the name and attribute filters', async () => {
    for (const site of Object.values(sites)) {
      const { result, asked } = await withTagging(site, {
        filters: { name: NAME },
        metadata: [
          { key: 'dept', value: '^ST' },
          { key: 'os', type: 'tag', value: 'linux' },
        ],
      })
      expect(result.items.map((i) => i.name)).toEqual(['DC0_C0_RP0_VM0'])
      const ids = result.explanation.candidates
        .filter((c) => c.name === 'DC0_C0_RP0_VM0' || c.name === 'DC0_C0_RP0_VM2')
        .map((c) => c.id)
        .sort()
      expect(asked.tags.sort()).toEqual(ids)
      expect(asked.objects).toEqual([])
      const p2 = result.explanation.phases[1]
      expect(p2).toMatchObject({ candidates: 3, left: 1 })
      expect(p2?.server).toEqual([
        "tags of 'os': the attached tags of each of the 2 candidates left (REST, 2 calls)",
      ])
      const vm2 = result.explanation.candidates.find((c) => c.name === 'DC0_C0_RP0_VM2')
      expect(vm2?.checks.at(-1)).toEqual({
        criterion: "tag 'os'",
        ok: false,
        why: 'no tag of this category attached',
      })
    }
  })

  it('asks each tag for its objects when more candidates are left than that', async () => {
    const { result, asked } = await withTagging(sites.large, {
      metadata: [{ key: 'os', type: 'tag', value: 'linux' }],
    })
    expect(result.items.map((i) => i.name)).toEqual(LINUX)
    expect(asked.tags).toEqual([])
    expect(asked.objects).toHaveLength(1)
    expect(result.explanation.phases[1]?.server[0]).toMatch(
      /^tags of 'os': attached objects of each of their 1 tag, fewer calls than asking each of the 1000 candidates left/,
    )
  })
})
