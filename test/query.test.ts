import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

// vmware_query against vcsim: templates with custom attributes and tags.
let vcsim: Vcsim
let rt: Runtime
const call = (fun: string, kwargs: Record<string, unknown> = {}) => rt.call(fun, { kwargs })
const failure = (fun: string, kwargs: Record<string, unknown> = {}) =>
  call(fun, kwargs).then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  )
interface Found {
  items: Array<{ name: string; id: string; type: string; props: Record<string, unknown> }>
  count: number
  explanation: {
    criteria: string[]
    server: string[]
    client: string[]
    phases: Array<{
      phase: number
      read: string[]
      server: string[]
      client: string[]
      candidates: number
      left: number
    }>
    candidates: Array<{
      name: string
      matched: boolean
      checks: Array<{ criterion: string; ok: boolean; why: string }>
    }>
    picked?: string
  }
}
const names = (r: unknown) => (r as Found).items.map((i) => i.name)

const TEMPLATES: Array<[string, string, string]> = [
  ['Centos-7-base', 'ST-ops', 'linux'],
  ['Centos-8-base', 'ST-web', 'linux'],
  ['Centos-9-base', 'QA', 'linux'],
  ['Ubuntu-22-base', 'ST-web', 'debian'],
]

beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'query', [join(import.meta.dirname, 'fixtures', 'vmware')])
  await call('vmware_custom_attribute.add', { name: 'dept', object_type: 'VirtualMachine' })
  await call('vmware_custom_attribute.add', { name: 'owner' })
  await call('vmware_tag.create_category', { name: 'os', associable_types: ['VirtualMachine'] })
  for (const tag of ['linux', 'debian'])
    await call('vmware_tag.create', { name: tag, category: 'os' })
  for (const [name, dept, tag] of TEMPLATES) {
    await call('vmware_vm.create', { name, datacenter: 'DC0', cluster: 'DC0_C0' })
    await call('vmware_custom_attribute.set', {
      name: 'dept',
      value: dept,
      object_type: 'vm',
      object: name,
    })
    await call('vmware_tag.attach', { name: tag, category: 'os', object_type: 'vm', object: name })
    await call('vmware_vm.mark_as_template', { name })
    // Distinct creation/change times, so latest/earliest are well defined.
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await call('vmware_custom_attribute.set', {
    name: 'owner',
    value: 'ann',
    object_type: 'vm',
    object: 'Centos-7-base',
  })
}, 60_000)
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

describe('vmware_query.search', () => {
  it('filters by name regex, alone', async () => {
    const r = (await call('vmware_query.search', {
      type: 'template',
      filters: { name: '^Centos' },
    })) as Found
    expect(names(r)).toEqual(['Centos-7-base', 'Centos-8-base', 'Centos-9-base'])
    expect(r.explanation.criteria).toEqual(['name matches /^Centos/'])
    expect(r.explanation.client).toEqual(['name'])
    const ubuntu = r.explanation.candidates.find((c) => c.name === 'Ubuntu-22-base')
    expect(ubuntu).toEqual({
      name: 'Ubuntu-22-base',
      id: expect.any(String),
      matched: false,
      checks: [{ criterion: 'name', ok: false, why: "'Ubuntu-22-base' does not match /^Centos/" }],
    })
    // Templates only: the model's VMs are not candidates.
    expect(r.explanation.candidates).toHaveLength(4)
  })

  it('picks the latest and the earliest by date, and compares dates', async () => {
    const latest = (await call('vmware_query.search', {
      type: 'template',
      filters: { name: '^Centos', latest: true },
    })) as Found
    expect(names(latest)).toEqual(['Centos-9-base'])
    expect(latest.explanation.picked).toMatch(/^latest of 3: 'Centos-9-base' \(/)
    expect(
      latest.explanation.candidates.find((c) => c.name === 'Centos-8-base')?.checks.at(-1),
    ).toEqual({ criterion: 'latest', ok: false, why: "'Centos-9-base' is newer" })
    expect(
      names(
        await call('vmware_query.search', {
          type: 'template',
          filters: { name: '^Centos', earliest: true },
        }),
      ),
    ).toEqual(['Centos-7-base'])
    expect(
      names(
        await call('vmware_query.search', { type: 'template', filters: { date: '> 2000-01-01' } }),
      ),
    ).toHaveLength(4)
    const future = (await call('vmware_query.search', {
      type: 'template',
      filters: { date: '>= 2999-01-01' },
    })) as Found
    expect(future.count).toBe(0)
    expect(future.explanation.candidates[0]?.checks[0]?.why).toMatch(
      /^config\.modified .* is not >= 2999-01-01T00:00:00\.000Z$/,
    )
  })

  it('filters on custom attributes (value regex, global or per type) and tags', async () => {
    const st = (await call('vmware_query.search', {
      type: 'template',
      metadata: [{ key: 'dept', value: '^ST.*' }],
    })) as Found
    expect(names(st)).toEqual(['Centos-7-base', 'Centos-8-base', 'Ubuntu-22-base'])
    expect(st.explanation.candidates.find((c) => c.name === 'Centos-9-base')?.checks).toEqual([
      { criterion: "attribute 'dept'", ok: false, why: "value 'QA' does not match /^ST.*/" },
    ])
    expect(
      names(
        await call('vmware_query.search', {
          type: 'template',
          metadata: [{ key: 'owner', global: true }],
        }),
      ),
    ).toEqual(['Centos-7-base'])
    expect(
      names(
        await call('vmware_query.search', {
          type: 'template',
          metadata: [{ key: 'dept', global: true }],
        }),
      ),
    ).toEqual([])
    const debian = (await call('vmware_query.search', {
      type: 'template',
      metadata: [{ key: 'os', type: 'tag', value: '^deb' }],
    })) as Found
    expect(names(debian)).toEqual(['Ubuntu-22-base'])
    // Tags are asked about the candidates left after phase 1 (the four templates), one by one.
    expect(debian.explanation.server.at(-1)).toBe(
      "tags of 'os': the attached tags of each of the 4 candidates left (REST, 4 calls)",
    )
  })

  it('combines filters: the newest Centos template whose dept matches ST.*', async () => {
    const r = (await call('vmware_query.search', {
      type: 'template',
      filters: { name: '^Centos', latest: true },
      metadata: [
        { key: 'dept', value: 'ST.*' },
        { key: 'os', type: 'tag', value: 'linux' },
      ],
    })) as Found
    expect(names(r)).toEqual(['Centos-8-base'])
    expect(r.explanation.criteria).toEqual([
      'name matches /^Centos/',
      "attribute 'dept' matches /ST.*/",
      "tag 'os' matches /linux/",
      'then the latest by date',
    ])
    expect(r.items[0]?.props).toMatchObject({ date: expect.any(String) })
    // Phase 1: the cheap filters on every VirtualMachine (the model's four VMs and the four
    // templates); phase 2: custom values and dates of the three Centos templates, then tags.
    const [p1, p2] = r.explanation.phases
    expect(p1).toMatchObject({
      phase: 1,
      candidates: 8,
      client: ['templates only (config.template): 4 of them', 'name'],
      left: 3,
    })
    expect(p1?.read).toEqual(['name, config.template of every VirtualMachine in a container view'])
    expect(p2).toMatchObject({
      phase: 2,
      candidates: 3,
      read: [
        'customValue, config.createDate, config.modified of the 3 candidates left, listed by reference (no view)',
      ],
      client: ["attribute 'dept'", "tag 'os'", 'latest'],
      server: ["tags of 'os': the attached tags of each of the 2 candidates left (REST, 2 calls)"],
      left: 2,
    })
  })

  it('searches VMs and hosts by power state and parent, server side where it can', async () => {
    const on = (await call('vmware_query.search', {
      type: 'vm',
      filters: { power_state: 'poweredOn', parent: 'DC0/host/DC0_C0' },
    })) as Found
    expect(names(on)).toEqual(['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1'])
    expect(on.explanation.server[0]).toMatch(
      /^parent: container view rooted at ClusterComputeResource:/,
    )
    const hosts = (await call('vmware_query.search', {
      type: 'host',
      filters: { name: '_H[01]$' },
    })) as Found
    expect(names(hosts)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_H0'])
    const serverOnly = await failure('vmware_query.search', {
      type: 'vm',
      filters: { name: 'x' },
      strategy: 'server',
    })
    expect(serverOnly?.code).toBe('BRINE_ARGUMENT')
    expect(serverOnly?.message).toContain('strategy=server cannot run name (regex)')
    const byParent = (await call('vmware_query.search', {
      type: 'vm',
      filters: { parent: 'DC0/host/DC0_C0' },
      strategy: 'server',
    })) as Found
    expect(byParent.count).toBe(2)
  })

  it('filters by IP on the server (SearchIndex) or here, and by power state alone', async () => {
    const server = (await call('vmware_query.search', {
      type: 'vm',
      filters: { ip: '10.9.9.9' },
    })) as Found
    expect(server.count).toBe(0)
    expect(server.explanation.server[0]).toBe('ip: SearchIndex.FindAllByIp → 0 object(s)')
    expect(server.explanation.candidates[0]?.checks).toEqual([
      { criterion: 'ip', ok: false, why: 'not found by IP 10.9.9.9' },
    ])
    const client = (await call('vmware_query.search', {
      type: 'vm',
      filters: { ip: '10.9.9.9' },
      strategy: 'client',
    })) as Found
    expect(client.explanation.client).toEqual(['ip'])
    expect(client.explanation.candidates[0]?.checks[0]).toMatchObject({
      criterion: 'ip',
      ok: false,
    })
    const off = (await call('vmware_query.search', {
      type: 'vm',
      filters: { power_state: 'poweredOff' },
    })) as Found
    expect(off.count).toBe(0)
    expect(
      off.explanation.candidates.every((c) => c.checks[0]?.why === 'power state is poweredOn'),
    ).toBe(true)
    expect(
      (await failure('vmware_query.search', { type: 'datastore', filters: { ip: '1.2.3.4' } }))
        ?.message,
    ).toBe("type 'datastore' has no IP address to filter on")
  })

  it('reports bad input and empty results clearly', async () => {
    const regex = await failure('vmware_query.search', {
      type: 'template',
      filters: { name: '([' },
    })
    expect(regex?.code).toBe('BRINE_ARGUMENT')
    expect(regex?.message).toMatch(/^name filter: '\(\[' is not a valid regular expression/)
    const meta = await failure('vmware_query.search', {
      type: 'template',
      metadata: [{ key: 'dept', value: '*x' }],
    })
    expect(meta?.message).toMatch(
      /^attribute 'dept' value: '\*x' is not a valid regular expression/,
    )
    expect(
      (await failure('vmware_query.search', { type: 'template', filters: { date: 'yesterday' } }))
        ?.message,
    ).toContain('is not understood')
    expect(
      (await failure('vmware_query.search', { type: 'datastore', filters: { latest: true } }))
        ?.message,
    ).toBe("type 'datastore' has no date to filter or order by")
    expect(
      (await failure('vmware_query.search', { type: 'template', metadata: [{ key: 'nope' }] }))
        ?.code,
    ).toBe('BRINE_NOT_FOUND')
    expect(
      (await failure('vmware_query.search', { type: 'vm', filters: { parent: 'DC9/vm' } }))?.code,
    ).toBe('BRINE_NOT_FOUND')
    const none = (await call('vmware_query.search', {
      type: 'template',
      filters: { name: '^Windows' },
    })) as Found
    expect(none).toMatchObject({ items: [], count: 0 })
  })
})

describe('a template query instead of a name', () => {
  it('clones from the query’s single match; no match and several matches explain themselves', async () => {
    const clone = (await call('vmware_vm.clone', {
      name: 'from-query',
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      source_query: {
        filters: { name: '^Centos', latest: true },
        metadata: [{ key: 'dept', value: '^ST' }],
      },
    })) as { source: string }
    expect(clone.source).toBe('Centos-8-base')
    const none = await failure('vmware_vm.clone', {
      name: 'x',
      datacenter: 'DC0',
      source_query: { filters: { name: '^Windows' } },
    })
    expect(none?.code).toBe('BRINE_NOT_FOUND')
    expect(none?.message).toMatch(/^no template found\nsearch template: name matches \/\^Windows\//)
    expect(none?.message).toContain('✗ Centos-7-base')
    expect(none?.message).toContain(
      '\n  phase 1 on 9 object(s): read name, config.template of every VirtualMachine in a container view; server: nothing; here: templates only (config.template): 4 of them, name → 0 left',
    )
    const several = await failure('vmware_vm.clone', {
      name: 'x',
      datacenter: 'DC0',
      source_query: { filters: { name: '^Centos' } },
    })
    expect(several?.code).toBe('BRINE_AMBIGUOUS')
    expect(several?.message).toMatch(
      /^3 templates match \(Centos-7-base, Centos-8-base, Centos-9-base\): narrow the filters or add latest\/earliest/,
    )
    expect(
      await call('vmware_vm.deploy_template', {
        vm_name: 'deployed-by-query',
        template_query: { filters: { name: '^Centos', earliest: true } },
        host_name: 'DC0_C0_H1',
      }),
    ).toEqual({ deployed: true, template: 'Centos-7-base' })
    expect(
      await call('vmware_vm.deploy_template', {
        vm_name: 'deployed-by-name',
        template_name: 'Ubuntu-22-base',
      }),
    ).toEqual({ deployed: true, template: 'Ubuntu-22-base' })
    expect(await call('vmware_vm.list', { datacenter: 'DC0' })).toEqual(
      expect.arrayContaining(['deployed-by-query', 'deployed-by-name']),
    )
    const notTemplate = await failure('vmware_vm.deploy_template', {
      vm_name: 'y',
      template_name: 'DC0_H0_VM0',
    })
    expect(notTemplate?.message).toBe("'DC0_H0_VM0' is a VM, not a template")
    const both = await failure('vmware_vm.clone', {
      name: 'x',
      datacenter: 'DC0',
      source: 'a',
      source_query: {},
    })
    expect(both?.code).toBe('BRINE_ARGUMENT')
  })
})

describe('vmware_vm.present with a template query', () => {
  it('predicts and creates from the single match; a query matching several fails the state', async () => {
    const present = (kwargs: Record<string, unknown>, test = false) =>
      rt.call('vmware_vm.present', { kwargs, state: true, test }) as Promise<{
        result: boolean | null
        changes: Record<string, unknown>
        comment: string
      }>
    const query = {
      filters: { name: '^Ubuntu' },
      metadata: [{ key: 'os', type: 'tag', value: 'debian' }],
    }
    const args = { name: 'web-from-query', datacenter: 'DC0', cluster: 'DC0_C0', template: query }
    expect(await present(args, true)).toMatchObject({
      result: null,
      comment: "VM 'web-from-query' would be created from 'Ubuntu-22-base'.",
    })
    expect(await present(args)).toMatchObject({
      result: true,
      comment: "VM 'web-from-query' created.",
    })
    expect(await present(args)).toMatchObject({ result: true, changes: {} })
    const several = await present({ ...args, name: 'x', template: { filters: { name: 'base$' } } })
    expect(several).toMatchObject({ result: false, changes: {} })
    expect(several.comment).toContain(
      'matches Centos-7-base, Centos-8-base, Centos-9-base, Ubuntu-22-base',
    )
  })
})
