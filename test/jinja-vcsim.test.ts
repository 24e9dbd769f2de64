// Any module function callable from a template, vSphere ones included (issue 19): an SLS
// calls salt['vmware_vm.list']() against vcsim through the runtime, and a probe module that
// records its calls shows each call made once, in order, and only when the template reaches it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const root = join(import.meta.dirname, '..')
const fixtures = join(import.meta.dirname, 'fixtures', 'jinja')
let vcsim: Vcsim

beforeAll(async () => {
  vcsim = await startVcsim({ vm: 2 })
})

afterAll(async () => {
  await vcsim?.stop()
})

function runtime(log: string): Runtime {
  return new Runtime({
    opts: defaultOpts({
      id: 'jinja-test',
      file_roots: [join(fixtures, 'vcsim-states')],
      pillar_roots: [],
      'saltext.vmware': { host: vcsim.url, user: 'jinja', password: 'pw', ca_file: vcsim.caFile },
    }),
    pillar: { log },
    moduleDirs: [join(root, 'modules'), join(fixtures, 'modules')],
    stateDirs: [join(root, 'states')],
    signal: new AbortController().signal,
    env: {},
  })
}

describe('module functions from templates', () => {
  it('calls vmware_vm.list on vcsim and a probe once each, in order, only where reached', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'brine-jinja-')), 'calls.log')
    writeFileSync(log, '')
    const rt = runtime(log)
    const result = (await rt.call('state.sls', { kwargs: { mods: 'vms' } })) as Record<
      string,
      StateReturn
    >
    expect(rt.context.retcode ?? 0, JSON.stringify(result)).toBe(0)
    const names = Object.values(result).map((ret) => ret.name)
    // vcsim's inventory with vm: 2 has these VMs ending in VM0 (the for-if filter keeps them).
    const expected = (await rt.call('vmware_vm.list', { kwargs: {} })) as string[]
    const vm0 = expected.filter((vm) => vm.endsWith('VM0')).sort()
    expect(vm0.length).toBeGreaterThan(0)
    expect(names).toEqual([...vm0, 'LAST'])
    expect(readFileSync(log, 'utf8')).toBe('first\nlast\n')
  })

  it('show_sls, which renders synchronously, names the function it cannot call', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'brine-jinja-')), 'calls.log')
    const rt = runtime(log)
    const result = await rt.call('state.show_sls', { kwargs: { mods: 'vms' } })
    expect(JSON.stringify(result)).toMatch(/salt\['probe\.hit'\] cannot be called from a template/)
  })
})
