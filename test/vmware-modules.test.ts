import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { runtimeCalls } from './helpers/runtime-calls.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'modules', [join(import.meta.dirname, 'fixtures', 'vmware')])
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, failure } = runtimeCalls(() => rt)

/** Apply an SLS; returns the returns by ID and the retcode. */
async function apply(mods: string, pillar: Record<string, unknown> = {}, test = false) {
  rt.pillar = pillar
  rt.context = {}
  const result = (await rt.call('state.sls', { kwargs: { mods, test } })) as
    | Record<string, StateReturn>
    | string[]
  if (Array.isArray(result)) throw new Error(result.join('\n'))
  const byId: Record<string, StateReturn> = {}
  for (const ret of Object.values(result)) byId[String(ret.__id__)] = ret
  return { byId, retcode: rt.context.retcode ?? 0 }
}
const changed = (byId: Record<string, StateReturn>) =>
  Object.entries(byId)
    .filter(([, r]) => Object.keys(r.changes).length)
    .map(([id]) => id)
    .sort()

describe('vmware_datacenter', () => {
  it('lists, gets, creates, renames and deletes; typed errors name what was being done', async () => {
    expect(await call('vmware_datacenter.list')).toEqual(['DC0'])
    expect(await call('vmware_datacenter.get', { name: 'DC0' })).toEqual({
      name: 'DC0',
      id: 'datacenter-2',
      path: '/DC0',
      status: 'green',
    })
    const created = (await call('vmware_datacenter.create', { name: 'DC-mod' })) as { id: string }
    const dup = await failure('vmware_datacenter.create', { name: 'DC-mod' })
    expect(dup?.code).toBe('BRINE_VIM_DUPLICATE_NAME')
    expect(dup?.message).toMatch(
      /^creating datacenter 'DC-mod': CreateDatacenter on Folder:group-d1 failed: DuplicateName/,
    )
    expect(
      await call('vmware_datacenter.rename', { name: created.id, new_name: 'DC-mod2' }),
    ).toEqual({ name: 'DC-mod2', id: created.id })
    expect(await call('vmware_datacenter.get', { name: created.id })).toMatchObject({
      name: 'DC-mod2',
    })
    expect(await call('vmware_datacenter.delete', { name: 'DC-mod2' })).toMatchObject({
      deleted: true,
    })
    const missing = await failure('vmware_datacenter.get', { name: 'DC-mod2' })
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
    expect(missing?.message).toBe("datacenter 'DC-mod2' not found (have: DC0)")
  })
})

describe('vmware_folder', () => {
  it('creates nested paths, lists, renames, moves and destroys', async () => {
    expect(await call('vmware_folder.create', { path: 'f1/f2', datacenter: 'DC0' })).toMatchObject({
      path: 'f1/f2',
      created: ['f1', 'f2'],
    })
    expect(
      await call('vmware_folder.create', { path: 'f1/f2/f3', datacenter: 'DC0' }),
    ).toMatchObject({ created: ['f3'] })
    expect(
      await call('vmware_folder.create', { path: 'netf', datacenter: 'DC0', type: 'network' }),
    ).toMatchObject({ created: ['netf'] })
    // saltext-vmware's list is names (modules/folder.py list_); details=True gives brine's rows.
    expect(await call('vmware_folder.list', { datacenter: 'DC0', type: 'vm' })).toEqual(
      expect.arrayContaining(['vm', 'f1', 'f2', 'f3']),
    )
    const vmFolders = (await call('vmware_folder.list', {
      datacenter: 'DC0',
      type: 'vm',
      details: true,
    })) as Array<{ path: string }>
    expect(vmFolders.map((f) => f.path)).toEqual(
      expect.arrayContaining(['/DC0/vm', '/DC0/vm/f1', '/DC0/vm/f1/f2', '/DC0/vm/f1/f2/f3']),
    )
    const netFolders = (await call('vmware_folder.list', {
      datacenter: 'DC0',
      type: 'network',
      details: true,
    })) as Array<{ path: string }>
    expect(netFolders.map((f) => f.path)).toContain('/DC0/network/netf')
    expect(
      await call('vmware_folder.rename', { path: 'f1/f2/f3', new_name: 'g3', datacenter: 'DC0' }),
    ).toMatchObject({ path: 'f1/f2/g3' })
    expect(
      await call('vmware_folder.move', { path: 'f1/f2/g3', destination: '/', datacenter: 'DC0' }),
    ).toMatchObject({ path: 'g3' })
    expect(await call('vmware_folder.destroy', { path: 'g3', datacenter: 'DC0' })).toMatchObject({
      destroyed: true,
    })
    const missing = await failure('vmware_folder.destroy', { path: 'f1/nope', datacenter: 'DC0' })
    expect(missing?.message).toBe(
      "folder 'f1/nope' not found in the vm tree of datacenter 'DC0' (exists up to: f1)",
    )
    const badType = await failure('vmware_folder.create', {
      path: 'x',
      datacenter: 'DC0',
      type: 'vms',
    })
    expect(badType?.code).toBe('BRINE_ARGUMENT')
  })
})

describe('vmware_cluster, DRS and HA', () => {
  it('creates with settings, reads, reconfigures and deletes', async () => {
    expect(await call('vmware_cluster.list')).toEqual({ DC0: ['DC0_C0'] })
    await call('vmware_cluster.create', {
      name: 'C-mod',
      datacenter: 'DC0',
      drs: { enabled: true, automation_level: 'manual', migration_threshold: 2 },
      ha: { enabled: true },
    })
    expect(await call('vmware_cluster.get', { name: 'C-mod', datacenter: 'DC0' })).toMatchObject({
      name: 'C-mod',
      hosts: 0,
      drs: { enabled: true, automation_level: 'manual', migration_threshold: 2 },
      ha: { enabled: true, admission_control: false },
    })
    expect(
      await call('vmware_cluster_drs.configure', {
        cluster: 'C-mod',
        datacenter: 'DC0',
        migration_threshold: 5,
        automation_level: 'fullyAutomated',
      }),
    ).toMatchObject({
      migration_threshold: 5,
      automation_level: 'fullyAutomated',
    })
    expect(
      await call('vmware_cluster_drs.get', { cluster: 'C-mod', datacenter: 'DC0' }),
    ).toMatchObject({ migration_threshold: 5 })
    // saltext-vmware's {<cluster>: True} (modules/cluster_ha.py configure), with the settings after.
    expect(
      await call('vmware_cluster_ha.configure', {
        cluster: 'C-mod',
        datacenter: 'DC0',
        admission_control: true,
        failover_level: 2,
      }),
    ).toMatchObject({
      'C-mod': true,
      enabled: true,
      host_monitoring: 'enabled',
      admission_control: true,
      failover_level: 2,
    })
    expect(await call('vmware_cluster_ha.get', { cluster: 'C-mod' })).toMatchObject({
      failover_level: 2,
    })
    expect(await call('vmware_cluster.delete', { name: 'C-mod', datacenter: 'DC0' })).toMatchObject(
      { deleted: true },
    )
    expect(await call('vmware_cluster.list', { datacenter: 'DC0' })).toEqual({ DC0: ['DC0_C0'] })
    expect(
      (await failure('vmware_cluster.get', { name: 'C-mod', datacenter: 'DC0' }))?.message,
    ).toBe("cluster 'C-mod' not found in datacenter 'DC0' (have: DC0_C0)")
  })
})

describe('vmware_vm', () => {
  it('lists, describes, powers, creates, clones, reconfigures, snapshots, renames and destroys', async () => {
    expect(await call('vmware_vm.list')).toEqual([
      'DC0_C0_RP0_VM0',
      'DC0_C0_RP0_VM1',
      'DC0_H0_VM0',
      'DC0_H0_VM1',
    ])
    expect(await call('vmware_vm.list', { datacenter: 'DC0', cluster: 'DC0_C0' })).toEqual([
      'DC0_C0_RP0_VM0',
      'DC0_C0_RP0_VM1',
    ])
    expect(await call('vmware_vm.info', { name: 'DC0_H0_VM1' })).toMatchObject({
      name: 'DC0_H0_VM1',
      power_state: 'poweredOn',
      template: false,
      path: '/DC0/vm/DC0_H0_VM1',
    })
    expect(await call('vmware_vm.path', { name: 'DC0_H0_VM1' })).toBe('/DC0/vm/DC0_H0_VM1')
    expect(await call('vmware_vm.power_state', { name: 'DC0_H0_VM1', state: 'on' })).toMatchObject({
      changed: false,
    })
    expect(
      await call('vmware_vm.power_state', { name: 'DC0_H0_VM1', state: 'suspend' }),
    ).toMatchObject({ changed: true, power_state: 'suspended' })
    expect(await call('vmware_vm.power_state', { name: 'DC0_H0_VM1', state: 'on' })).toMatchObject({
      changed: true,
      power_state: 'poweredOn',
    })

    await call('vmware_folder.create', { path: 'tpl', datacenter: 'DC0' })
    const base = (await call('vmware_vm.create', {
      name: 'base',
      datacenter: 'DC0',
      folder: 'tpl',
      cluster: 'DC0_C0',
      num_cpu: 2,
      memory_mb: 2048,
    })) as { id: string }
    expect(await call('vmware_vm.info', { name: base.id })).toMatchObject({
      num_cpu: 2,
      memory_mb: 2048,
      path: '/DC0/vm/tpl/base',
      power_state: 'poweredOff',
    })
    expect(await call('vmware_vm.list', { datacenter: 'DC0', folder: 'tpl' })).toEqual(['base'])
    expect(
      await call('vmware_vm.reconfigure', { name: 'base', num_cpu: 4, annotation: 'golden' }),
    ).toMatchObject({ num_cpu: 4, annotation: 'golden' })
    await call('vmware_vm.mark_as_template', { name: 'base' })
    expect(await call('vmware_vm.list_templates')).toEqual(['base'])
    expect(await call('vmware_vm.list', { datacenter: 'DC0', folder: 'tpl' })).toEqual([])
    const clone = (await call('vmware_vm.clone', {
      name: 'app1',
      source: 'base',
      datacenter: 'DC0',
      cluster: 'DC0_C0',
    })) as { id: string }
    expect(await call('vmware_vm.info', { name: clone.id })).toMatchObject({
      name: 'app1',
      num_cpu: 4,
      template: false,
    })

    await call('vmware_vm.create_snapshot', { name: 'app1', snapshot: 's1', description: 'first' })
    await call('vmware_vm.create_snapshot', { name: 'app1', snapshot: 's2' })
    const tree = (await call('vmware_vm.list_snapshots', { name: 'app1' })) as Array<{
      name: string
      description: string
      children: Array<{ name: string }>
    }>
    expect(tree).toMatchObject([
      { name: 's1', description: 'first', children: [{ name: 's2', children: [] }] },
    ])
    expect(await call('vmware_vm.revert_snapshot', { name: 'app1', snapshot: 's1' })).toMatchObject(
      { reverted: true },
    )
    expect(await call('vmware_vm.remove_snapshot', { name: 'app1', snapshot: 's2' })).toMatchObject(
      { removed: true },
    )
    expect(
      (await failure('vmware_vm.remove_snapshot', { name: 'app1', snapshot: 's2' }))?.message,
    ).toBe("snapshot 's2' of VM 'app1' not found")
    await call('vmware_vm.remove_all_snapshots', { name: 'app1' })
    expect(await call('vmware_vm.list_snapshots', { name: 'app1' })).toEqual([])

    expect(await call('vmware_vm.rename', { name: 'app1', new_name: 'app2' })).toEqual({
      name: 'app2',
      id: clone.id,
    })
    await call('vmware_vm.power_state', { name: 'app2', state: 'on' })
    const refused = await failure('vmware_vm.destroy', { name: 'app2' })
    expect(refused?.message).toBe("VM 'app2' is poweredOn: power it off, or pass force=True")
    expect(await call('vmware_vm.destroy', { name: 'app2', force: true })).toMatchObject({
      destroyed: true,
    })
    expect(await call('vmware_vm.mark_as_vm', { name: 'base', cluster: 'DC0_C0' })).toMatchObject({
      template: false,
    })
    await call('vmware_vm.destroy', { name: 'base' })
    expect((await failure('vmware_vm.info', { name: 'app2' }))?.code).toBe('BRINE_NOT_FOUND')
  })
})

describe('VMware states', () => {
  it('datacenter, folder and cluster: create, no-op second run, change, test mode, absent', async () => {
    // Test mode first: predicts, changes nothing on the server.
    const predicted = await apply('infra', {}, true)
    expect(predicted.byId.datacenter).toMatchObject({
      result: null,
      changes: { datacenter: { old: null, new: 'DC-test' } },
    })
    expect(await call('vmware_datacenter.list')).not.toContain('DC-test')

    const first = await apply('infra')
    expect(first.retcode).toBe(0)
    expect(changed(first.byId)).toEqual(['app_folder', 'cluster', 'datacenter'])
    expect(
      await call('vmware_cluster.get', { name: 'C-test', datacenter: 'DC-test' }),
    ).toMatchObject({ drs: { enabled: true }, ha: { enabled: true } })

    const second = await apply('infra')
    expect(changed(second.byId)).toEqual([])
    expect(Object.values(second.byId).every((r) => r.result === true)).toBe(true)

    // A change: DRS level and HA; test mode predicts it and leaves the server alone.
    const wouldChange = await apply('infra', { drs_level: 'manual', ha: false }, true)
    expect(wouldChange.byId.cluster).toMatchObject({
      result: null,
      changes: {
        drs: { automation_level: { old: 'fullyAutomated', new: 'manual' } },
        ha: { enabled: { old: true, new: false } },
      },
    })
    expect(
      await call('vmware_cluster.get', { name: 'C-test', datacenter: 'DC-test' }),
    ).toMatchObject({ drs: { automation_level: 'fullyAutomated' }, ha: { enabled: true } })
    const change = await apply('infra', { drs_level: 'manual', ha: false })
    expect(changed(change.byId)).toEqual(['cluster'])
    expect(
      await call('vmware_cluster.get', { name: 'C-test', datacenter: 'DC-test' }),
    ).toMatchObject({ drs: { automation_level: 'manual' }, ha: { enabled: false } })
  })

  it('VMs: present, power state and snapshot; then everything absent', async () => {
    const first = await apply('vms')
    expect(first.retcode).toBe(0)
    expect(changed(first.byId)).toEqual(['web01_on', 'web01_snap', 'web01_vm'])
    expect(await call('vmware_vm.info', { name: 'web01' })).toMatchObject({
      num_cpu: 2,
      power_state: 'poweredOn',
    })
    expect(changed((await apply('vms')).byId)).toEqual([])

    const predicted = await apply('vms', { cpu: 4, power: 'off' }, true)
    expect(predicted.byId.web01_vm).toMatchObject({
      result: null,
      changes: { num_cpu: { old: 2, new: 4 } },
    })
    expect(predicted.byId.web01_on).toMatchObject({
      result: null,
      changes: { power_state: { old: 'poweredOn', new: 'poweredOff' } },
    })
    expect(await call('vmware_vm.info', { name: 'web01' })).toMatchObject({
      num_cpu: 2,
      power_state: 'poweredOn',
    })
    // vCenter without CPU hot add changes CPUs of a powered-off VM only (vSphere API reference,
    // VirtualMachineConfigSpec.cpuHotAddEnabled): refused while web01 is on; power off first.
    const refused = await apply('vms', { cpu: 4, power: 'off' })
    expect(refused.byId.web01_vm).toMatchObject({ result: false, changes: {} })
    expect(refused.byId.web01_vm?.comment).toMatch(
      /must be powered off for this change: adding CPUs/,
    )
    await call('vmware_vm.power_state', { name: 'web01', state: 'off' })
    const change = await apply('vms', { cpu: 4, power: 'off' })
    expect(change.byId.web01_vm).toMatchObject({
      result: true,
      changes: { num_cpu: { old: 2, new: 4 } },
    })

    const absentTest = await apply('absent', {}, true)
    expect(Object.values(absentTest.byId).every((r) => r.result === null)).toBe(true)
    expect(await call('vmware_datacenter.list')).toContain('DC-test')
    const absent = await apply('absent')
    expect(absent.retcode).toBe(0)
    expect(changed(absent.byId)).toEqual([
      'cluster_gone',
      'datacenter_gone',
      'folder_gone',
      'web01_gone',
    ])
    expect(await call('vmware_datacenter.list')).toEqual(['DC0'])
    expect(changed((await apply('absent')).byId)).toEqual([])
  })

  it('used one vCenter session for everything', async () => {
    expect(rt.vsphereLogins).toBe(1)
    expect(await sessionsOf(vcsim, 'modules')).toHaveLength(1)
  })
})

describe('vmware_resourcepool and vmware_tag', () => {
  it('resource pools: list, create, get, update, delete; the root pool is protected', async () => {
    expect(await call('vmware_resourcepool.list', { cluster: 'DC0_C0' })).toEqual([
      { name: 'Resources', id: 'resgroup-26', path: '/DC0/host/DC0_C0/Resources' },
    ])
    await call('vmware_resourcepool.create', {
      name: 'gold',
      cluster: 'DC0_C0',
      cpu: { reservation: 500, shares: 'high' },
      memory: { limit: 4096 },
    })
    expect(
      await call('vmware_resourcepool.get', { name: 'gold', cluster: 'DC0_C0' }),
    ).toMatchObject({
      cpu: { reservation: 500, limit: -1, expandable: true, shares: 'high' },
      memory: { reservation: 0, limit: 4096, shares: 'normal' },
    })
    expect(
      await call('vmware_resourcepool.update', { name: 'gold', cpu: { limit: 2000 } }),
    ).toMatchObject({ cpu: { reservation: 500, limit: 2000, shares: 'high' } })
    expect(
      (await failure('vmware_resourcepool.delete', { name: 'Resources', cluster: 'DC0_C0' }))
        ?.message,
    ).toMatch(/root pool and cannot be deleted/)
    expect(await call('vmware_resourcepool.delete', { name: 'gold' })).toMatchObject({
      deleted: true,
    })
    expect((await failure('vmware_resourcepool.get', { name: 'gold' }))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
  })

  it('tags: categories, tags, attach, list attached, detach, delete', async () => {
    // create_category returns the new id, as saltext-vmware's does (modules/tag.py).
    const categoryId = (await call('vmware_tag.create_category', {
      name: 'tier',
      cardinality: 'MULTIPLE',
    })) as string
    expect(categoryId).toEqual(expect.any(String))
    expect((await failure('vmware_tag.create_category', { name: 'tier' }))?.code).toBe(
      'BRINE_TAG_EXISTS',
    )
    expect(await call('vmware_tag.list_categories')).toEqual([
      expect.objectContaining({ id: categoryId, name: 'tier', cardinality: 'MULTIPLE' }),
    ])
    await call('vmware_tag.create', { name: 'gold', category: 'tier' })
    await call('vmware_tag.create', { name: 'silver', category: 'tier' })
    // vmware_tag.list returns ids (saltext's shape); the rows with names are list_tags.
    expect(await call('vmware_tag.list_tags', { category: 'tier' })).toMatchObject([
      { name: 'gold', category: 'tier' },
      { name: 'silver', category: 'tier' },
    ])
    await call('vmware_tag.attach', {
      name: 'gold',
      category: 'tier',
      object_type: 'vm',
      object: 'DC0_H0_VM0',
    })
    await call('vmware_tag.attach', {
      name: 'silver',
      category: 'tier',
      object_type: 'host',
      object: 'DC0_H0',
    })
    expect(
      await call('vmware_tag.list_attached', { object_type: 'vm', object: 'DC0_H0_VM0' }),
    ).toEqual([{ category: 'tier', tag: 'gold' }])
    await call('vmware_tag.detach', {
      name: 'gold',
      category: 'tier',
      object_type: 'vm',
      object: 'DC0_H0_VM0',
    })
    expect(
      await call('vmware_tag.list_attached', { object_type: 'vm', object: 'DC0_H0_VM0' }),
    ).toEqual([])
    expect(
      (
        await failure('vmware_tag.attach', {
          name: 'bronze',
          category: 'tier',
          object_type: 'vm',
          object: 'DC0_H0_VM0',
        })
      )?.message,
    ).toBe("tag 'bronze' not found in category 'tier'")
    await call('vmware_tag.delete', { name: 'silver', category: 'tier' })
    await call('vmware_tag.delete', { name: 'gold', category: 'tier' })
    expect(await call('vmware_tag.delete_category', { name: 'tier' })).toBe('deleted')
    expect(await call('vmware_tag.list_categories')).toEqual([])
  })
})

describe('the examples/ lab (what npm run demo applies)', () => {
  it('builds the lab, then a second apply changes nothing; test mode first changes nothing', async () => {
    const { compilePillar } = await import('../pillar/compile.ts')
    const examples = join(import.meta.dirname, '..', 'examples')
    const lab = await startVcsim()
    const labRuntime = vmwareRuntime(lab, 'lab', [join(examples, 'salt')])
    try {
      labRuntime.pillar = compilePillar({
        roots: [join(examples, 'pillar')],
        minionId: 'lab01',
      }).pillar
      const highstate = async (test: boolean) => {
        labRuntime.context = {}
        const result = (await labRuntime.call('state.apply', { kwargs: { test } })) as
          | Record<string, StateReturn>
          | string[]
        if (Array.isArray(result)) throw new Error(result.join('\n'))
        return { returns: Object.values(result), retcode: labRuntime.context.retcode ?? 0 }
      }
      const predicted = await highstate(true)
      expect(predicted.returns).toHaveLength(23)
      // Every state predicts, on top of what earlier states of the dry run would create (the
      // cluster in the new datacenter, the tags and power of the VMs to be cloned).
      expect(predicted.returns.filter((r) => r.result !== null).map((r) => r.comment)).toEqual([])
      expect(await labRuntime.call('vmware_datacenter.list')).toEqual(['DC0'])
      expect(await labRuntime.call('vmware_content_library.list_libraries')).toEqual([])
      expect(await labRuntime.call('vmware_esxi.in_lockdown_mode', { args: ['DC0_H0'] })).toEqual({
        lockdownMode: 'normal',
      })

      const first = await highstate(false)
      expect(first.retcode).toBe(0)
      expect(
        first.returns.every((r) => r.result === true && Object.keys(r.changes).length > 0),
      ).toBe(true)
      const second = await highstate(false)
      expect(second.retcode).toBe(0)
      expect(second.returns.filter((r) => Object.keys(r.changes).length)).toEqual([])
      expect(
        await labRuntime.call('vmware_vm.list', {
          kwargs: { datacenter: 'DC0', folder: 'apps/web' },
        }),
      ).toEqual(['web01', 'web02'])
      expect(await labRuntime.call('vmware_vm.list_templates')).toEqual(['golden-linux'])
      expect(
        await labRuntime.call('vmware_tag.list_attached', {
          kwargs: { object_type: 'vm', object: 'web02' },
        }),
      ).toEqual([{ category: 'environment', tag: 'lab' }])
      expect(
        await labRuntime.call('vmware_cluster.get', {
          kwargs: { name: 'LabCluster', datacenter: 'LabDC' },
        }),
      ).toMatchObject({
        drs: { enabled: true, automation_level: 'partiallyAutomated', migration_threshold: 2 },
        ha: { enabled: true, admission_control: true },
      })
      // lab/hosts.sls: the cluster's hosts' NTP and vMotion adapter, the standalone host locked.
      const cluster = { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
      const ntp = (await labRuntime.call('vmware_esxi.get_ntp_config', {
        kwargs: cluster,
      })) as Record<string, { ntp_servers: string[] }>
      expect(Object.keys(ntp)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
      for (const host of Object.values(ntp))
        expect(host.ntp_servers).toEqual(['0.pool.ntp.org', '1.pool.ntp.org'])
      const ssh = (await labRuntime.call('vmware_esxi.list_services', {
        kwargs: { service_name: 'TSM-SSH', ...cluster },
      })) as Record<string, Record<string, unknown>>
      for (const services of Object.values(ssh))
        expect(services['TSM-SSH']).toEqual({ state: 'running', startup_policy: 'on' })
      expect(await labRuntime.call('vmware_esxi.get_vmotion_enabled', { kwargs: cluster })).toEqual(
        {
          DC0_C0_H0: { 'VMotion Enabled': true },
          DC0_C0_H1: { 'VMotion Enabled': true },
          DC0_C0_H2: { 'VMotion Enabled': true },
        },
      )
      expect(
        await labRuntime.call('vmware_esxi.get_vmkernel_adapters', { kwargs: cluster }),
      ).toMatchObject({ DC0_C0_H0: expect.arrayContaining(['vmk1']) })
      expect(await labRuntime.call('vmware_esxi.in_lockdown_mode', { args: ['DC0_H0'] })).toEqual({
        lockdownMode: 'inLockdown',
      })
      // lab/provision.sls: app01 from the library item, with the address it was customized with.
      expect(
        await labRuntime.call('vmware_vm.wait_for_ip', {
          args: ['app01'],
          kwargs: { timeout: 60 },
        }),
      ).toMatchObject({ ip_address: '10.0.0.31', power_state: 'poweredOn' })
    } finally {
      await labRuntime.close()
      await lab.stop()
    }
  })
})

describe('vmware_host, vmware_datastore, vmware_custom_attribute, vmware_license_mgr', () => {
  it('hosts: list, get, maintenance mode (module and state)', async () => {
    const hosts = (await call('vmware_host.list', { cluster: 'DC0_C0' })) as Array<{
      name: string
      maintenance_mode: boolean
      connection_state: string
    }>
    expect(hosts.map((h) => h.name)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    expect(hosts.every((h) => h.connection_state === 'connected' && !h.maintenance_mode)).toBe(true)
    expect(await call('vmware_host.get', { name: 'DC0_H0' })).toMatchObject({
      name: 'DC0_H0',
      path: '/DC0/host/DC0_H0/DC0_H0',
      cpu_cores: 2,
    })
    expect(await call('vmware_host.enter_maintenance_mode', { name: 'DC0_C0_H2' })).toEqual({
      name: 'DC0_C0_H2',
      maintenance_mode: true,
      changed: true,
    })
    expect(await call('vmware_host.enter_maintenance_mode', { name: 'DC0_C0_H2' })).toMatchObject({
      changed: false,
    })
    const state = (kwargs: Record<string, unknown>, test = false) =>
      rt.call('vmware_host.maintenance_mode', { kwargs, state: true, test }) as Promise<StateReturn>
    expect(await state({ name: 'DC0_C0_H2', enabled: false }, true)).toMatchObject({
      result: null,
      changes: { maintenance_mode: { old: true, new: false } },
    })
    expect(await call('vmware_host.get', { name: 'DC0_C0_H2' })).toMatchObject({
      maintenance_mode: true,
    })
    expect(await state({ name: 'DC0_C0_H2', enabled: false })).toMatchObject({
      result: true,
      changes: { maintenance_mode: { new: false } },
    })
    expect(await state({ name: 'DC0_C0_H2', enabled: false })).toMatchObject({
      result: true,
      changes: {},
    })
    await call('vmware_host.enter_maintenance_mode', { name: 'DC0_C0_H2' })
    expect(await call('vmware_host.exit_maintenance_mode', { name: 'DC0_C0_H2' })).toEqual({
      name: 'DC0_C0_H2',
      maintenance_mode: false,
      changed: true,
    })
    expect(await call('vmware_host.exit_maintenance_mode', { name: 'DC0_C0_H2' })).toMatchObject({
      changed: false,
    })
  })

  it('datastores: list, get, browse, NFS mount, maintenance mode (module and state), remove', async () => {
    const all = (await call('vmware_datastore.list')) as Array<{
      name: string
      type: string
      capacity: number
      free_space: number
      accessible: boolean
    }>
    expect(all).toHaveLength(1)
    expect(all[0]).toMatchObject({ name: 'LocalDS_0', accessible: true })
    expect(all[0]!.capacity).toBeGreaterThan(all[0]!.free_space)
    expect(await call('vmware_datastore.list', { cluster: 'DC0_C0' })).toEqual(all)
    // get is saltext-vmware's: a list (modules/datastore.py get), brine's fields in each row.
    expect(await call('vmware_datastore.get', { name: 'LocalDS_0' })).toMatchObject([all[0]])
    const root = (await call('vmware_datastore.browse', { name: 'LocalDS_0' })) as Array<{
      name: string
      type: string
    }>
    expect(root).toEqual(
      expect.arrayContaining([{ name: 'DC0_H0_VM0', type: 'Folder', size: 4096 }]),
    )
    const vmFiles = (await call('vmware_datastore.browse', {
      name: 'LocalDS_0',
      path: 'DC0_H0_VM0',
      pattern: '*.vmx',
    })) as Array<{ name: string; type: string }>
    expect(vmFiles).toEqual([{ name: 'DC0_H0_VM0.vmx', type: 'VmConfig', size: null }])

    // NFS mount, maintenance mode (module and state), removal.
    expect(
      await call('vmware_datastore.create_nfs', {
        name: 'iso',
        hosts: ['DC0_C0_H0', 'DC0_C0_H1'],
        remote_host: 'nfs.example.com',
        remote_path: '/exports/iso',
      }),
    ).toMatchObject({ name: 'iso', hosts: ['DC0_C0_H0', 'DC0_C0_H1'] })
    expect(await call('vmware_datastore.get', { name: 'iso' })).toMatchObject([
      { type: 'NFS', maintenance_mode: 'normal' },
    ])
    const dsState = (enter: boolean, test = false) =>
      rt.call('vmware_datastore.maintenance_mode', {
        kwargs: { name: 'iso', enter },
        state: true,
        test,
      }) as Promise<StateReturn>
    expect(await dsState(true, true)).toMatchObject({
      result: null,
      changes: { maintenance_mode: { old: 'normal', new: 'inMaintenance' } },
    })
    expect(await call('vmware_datastore.get', { name: 'iso' })).toMatchObject([
      { maintenance_mode: 'normal' },
    ])
    // saltext-vmware's comment (states/datastore.py maintenance_mode).
    expect(await dsState(true)).toMatchObject({
      result: true,
      comment: 'These options changed.',
    })
    expect(await call('vmware_datastore.get', { name: 'iso' })).toMatchObject([
      { maintenance_mode: 'inMaintenance' },
    ])
    expect(await dsState(true)).toMatchObject({ result: true, changes: {} })
    expect(await call('vmware_datastore.enter_maintenance_mode', { name: 'iso' })).toMatchObject({
      changed: false,
    })
    expect(await dsState(false)).toMatchObject({
      changes: { maintenance_mode: { old: 'inMaintenance', new: 'normal' } },
    })
    expect(await call('vmware_datastore.maintenance_mode', { datastore_name: 'iso' })).toEqual({
      maintenanceMode: 'inMaintenance',
      name: 'iso',
      maintenance_mode: 'inMaintenance',
      changed: true,
    })
    expect(await call('vmware_datastore.exit_maintenance_mode', { name: 'iso' })).toMatchObject({
      maintenance_mode: 'normal',
      changed: true,
    })
    const busy = await failure('vmware_datastore.enter_maintenance_mode', { name: 'LocalDS_0' })
    expect(busy?.code).toBe('BRINE_INVALID_STATE')
    expect(busy?.message).toMatch(
      /^putting datastore 'LocalDS_0' in maintenance mode: .*\(VMs: .*DC0_H0_VM0/,
    )
    expect(await call('vmware_datastore.get', { name: 'LocalDS_0' })).toMatchObject([
      { maintenance_mode: 'normal' },
    ])
    expect(await call('vmware_datastore.remove', { name: 'iso' })).toMatchObject({ removed: true })
    expect((await failure('vmware_datastore.remove', { name: 'LocalDS_0' }))?.code).toBe(
      'BRINE_VIM_TASK_FAILED',
    )
    expect(
      ((await call('vmware_datastore.list')) as Array<{ name: string }>).map((d) => d.name),
    ).toEqual(['LocalDS_0'])
  })

  it('custom attributes: add, set, get, rename, remove', async () => {
    expect(
      await call('vmware_custom_attribute.add', { name: 'owner', object_type: 'VirtualMachine' }),
    ).toMatchObject({ name: 'owner' })
    expect(
      (
        await failure('vmware_custom_attribute.add', {
          name: 'owner',
          object_type: 'VirtualMachine',
        })
      )?.code,
    ).toBe('BRINE_VIM_DUPLICATE_NAME')
    await call('vmware_custom_attribute.set', {
      name: 'owner',
      value: 'team-a',
      object_type: 'vm',
      object: 'DC0_H0_VM0',
    })
    expect(
      await call('vmware_custom_attribute.get', { object_type: 'vm', object: 'DC0_H0_VM0' }),
    ).toEqual({ owner: 'team-a' })
    await call('vmware_custom_attribute.rename', { name: 'owner', new_name: 'team' })
    expect(await call('vmware_custom_attribute.list')).toEqual([
      { name: 'team', key: expect.any(Number), object_type: 'VirtualMachine' },
    ])
    expect(
      await call('vmware_custom_attribute.get', { object_type: 'vm', object: 'DC0_H0_VM0' }),
    ).toEqual({ team: 'team-a' })
    await call('vmware_custom_attribute.remove', { name: 'team' })
    expect(await call('vmware_custom_attribute.list')).toEqual([])
    expect((await failure('vmware_custom_attribute.remove', { name: 'team' }))?.message).toBe(
      "custom attribute 'team' is not defined",
    )
  })

  it('licenses: list (masked), add, has, remove; the state never shows the key', async () => {
    const key = 'ABCDE-12345-FGHIJ-67890-KLMNO'
    const before = ((await call('vmware_license_mgr.list')) as { licenses: string[] }).licenses
    expect(await call('vmware_license_mgr.has', { key })).toBe(false)
    const state = (test = false) =>
      rt.call('vmware_license_mgr.present', {
        kwargs: { name: key },
        state: true,
        test,
      }) as Promise<StateReturn>
    expect(await state(true)).toMatchObject({ result: null, name: '*****-*****-*****-*****-KLMNO' })
    expect(await call('vmware_license_mgr.has', { key })).toBe(false)
    expect(await state()).toMatchObject({
      result: true,
      changes: { license: { old: null, new: '*****-*****-*****-*****-KLMNO' } },
    })
    expect(await state()).toMatchObject({ result: true, changes: {} })
    // saltext-vmware's {licenses: [key]} (modules/license_mgr.py list_), keys masked.
    const after = ((await call('vmware_license_mgr.list')) as { licenses: string[] }).licenses
    expect(after).toHaveLength(before.length + 1)
    expect(JSON.stringify(after)).not.toContain('ABCDE-12345')
    expect(await call('vmware_license_mgr.remove', { key })).toEqual({
      key: '*****-*****-*****-*****-KLMNO',
      removed: true,
    })
    expect(await call('vmware_license_mgr.has', { key })).toBe(false)
  })
})

describe('vmware_dvswitch and vmware_dvportgroup', () => {
  it('switches: list, create, get, configure, add and remove a host, delete; port groups: create, list, configure, delete; states', async () => {
    // vmware_dvswitch.list returns names, as saltext-vmware's does (modules/dvswitch.py).
    expect(await call('vmware_dvswitch.list')).toEqual(['DVS0'])
    const dvs = (await call('vmware_dvswitch.create', {
      name: 'dvs-lab',
      datacenter: 'DC0',
      description: 'lab switch',
    })) as { id: string }
    expect(await call('vmware_dvswitch.get', { name: 'dvs-lab' })).toMatchObject({
      id: dvs.id,
      description: 'lab switch',
      portgroups: 1,
      hosts: [],
    })
    expect(
      await call('vmware_dvswitch.add_host', { name: 'dvs-lab', host: 'DC0_C0_H0' }),
    ).toMatchObject({ hosts: ['host-34'] })

    expect(
      await call('vmware_dvportgroup.create', {
        name: 'pg-web',
        dvswitch: 'dvs-lab',
        vlan: 100,
        ports: 16,
      }),
    ).toMatchObject({ dvswitch: dvs.id, vlan: 100, ports: 16 })
    const groups = (await call('vmware_dvportgroup.list', { dvswitch: 'dvs-lab' })) as Array<{
      name: string
      vlan: unknown
    }>
    expect(groups).toEqual([
      expect.objectContaining({
        name: `dvs-lab-DVUplinks-${dvs.id.split('-')[1]}`,
        vlan: { trunk: [[0, 4094]] },
      }),
      expect.objectContaining({ name: 'pg-web', vlan: 100 }),
    ])
    expect(await call('vmware_dvportgroup.configure', { name: 'pg-web', vlan: 200 })).toMatchObject(
      { vlan: 200, ports: 16 },
    )

    const state = (fun: string, kwargs: Record<string, unknown>, test = false) =>
      rt.call(fun, { kwargs, state: true, test }) as Promise<StateReturn>
    expect(
      await state('vmware_dvportgroup.present', { name: 'pg-web', dvswitch: 'dvs-lab', vlan: 200 }),
    ).toMatchObject({ result: true, changes: {} })
    expect(
      await state(
        'vmware_dvportgroup.present',
        { name: 'pg-web', dvswitch: 'dvs-lab', vlan: 300 },
        true,
      ),
    ).toMatchObject({ result: null, changes: { vlan: { old: 200, new: 300 } } })
    expect(await call('vmware_dvportgroup.get', { name: 'pg-web' })).toMatchObject({ vlan: 200 })
    expect(
      await state('vmware_dvportgroup.present', { name: 'pg-db', dvswitch: 'dvs-lab', vlan: 300 }),
    ).toMatchObject({ result: true, changes: { portgroup: { new: { vlan: 300 } } } })
    expect(
      await state('vmware_dvportgroup.absent', { name: 'pg-db', dvswitch: 'dvs-lab' }),
    ).toMatchObject({ result: true, changes: { portgroup: { old: 'pg-db' } } })
    expect(await call('vmware_dvportgroup.delete', { name: 'pg-web' })).toMatchObject({
      deleted: true,
    })

    expect(
      await state('vmware_dvswitch.present', { name: 'dvs-lab', datacenter: 'DC0' }),
    ).toMatchObject({ result: true, changes: {} })
    // Settings in place: test mode predicts (nothing changes), then the change, then a no-op.
    const settings = { name: 'dvs-lab', datacenter: 'DC0', description: 'web tier', max_mtu: 9000 }
    expect(await state('vmware_dvswitch.present', settings, true)).toMatchObject({
      result: null,
      changes: {
        description: { old: 'lab switch', new: 'web tier' },
        max_mtu: { old: null, new: 9000 },
      },
    })
    expect(await call('vmware_dvswitch.get', { name: 'dvs-lab' })).toMatchObject({
      description: 'lab switch',
      max_mtu: null,
    })
    expect(await state('vmware_dvswitch.present', settings)).toMatchObject({
      result: true,
      comment: "Distributed switch 'dvs-lab' reconfigured.",
    })
    expect(await call('vmware_dvswitch.get', { name: 'dvs-lab' })).toMatchObject({
      description: 'web tier',
      max_mtu: 9000,
    })
    expect(await state('vmware_dvswitch.present', settings)).toMatchObject({ changes: {} })
    // configure answers True, as saltext-vmware's does; name= and max_mtu= are brine's aliases.
    expect(await call('vmware_dvswitch.configure', { name: 'dvs-lab', max_mtu: 1500 })).toBe(true)
    expect(await call('vmware_dvswitch.get', { name: 'dvs-lab' })).toMatchObject({ max_mtu: 1500 })
    expect(
      await call('vmware_dvswitch.remove_host', { name: 'dvs-lab', host: 'DC0_C0_H0' }),
    ).toMatchObject({ hosts: [] })
    expect(
      await state('vmware_dvswitch.absent', { name: 'dvs-lab', datacenter: 'DC0' }, true),
    ).toMatchObject({ result: null })
    expect(
      await state('vmware_dvswitch.absent', { name: 'dvs-lab', datacenter: 'DC0' }),
    ).toMatchObject({ result: true, changes: { dvswitch: { old: 'dvs-lab', new: null } } })
    // vmware_dvswitch.list returns names, as saltext-vmware's does (modules/dvswitch.py).
    expect(await call('vmware_dvswitch.list')).toEqual(['DVS0'])
    expect(
      await state('vmware_dvswitch.present', { name: 'dvs-new', datacenter: 'DC0' }),
    ).toMatchObject({ changes: { dvswitch: { new: 'dvs-new' } } })
    await call('vmware_dvswitch.delete', { name: 'dvs-new' })
  })
})

describe('more VMware states (pool, tags, snapshots, licenses)', () => {
  it('create, no-op second run, change, test mode, absent', async () => {
    const predicted = await apply('extras', {}, true)
    expect(Object.values(predicted.byId).every((r) => r.result === null)).toBe(true)
    expect(
      (
        (await call('vmware_resourcepool.list', { cluster: 'DC0_C0' })) as Array<{ name: string }>
      ).map((p) => p.name),
    ).toEqual(['Resources'])
    expect(await call('vmware_tag.list_categories')).toEqual([])

    const first = await apply('extras')
    expect(first.retcode).toBe(0)
    expect(changed(first.byId)).toEqual(['category', 'pool', 'snap', 'tag', 'tagged'])
    expect(changed((await apply('extras')).byId)).toEqual([])

    const change = await apply('extras', { variant: 'b' })
    expect(changed(change.byId)).toEqual(['pool'])
    expect(change.byId.pool?.changes).toEqual({ cpu: { limit: { old: 1000, new: 2000 } } })
    expect(await call('vmware_resourcepool.get', { name: 'extras-pool' })).toMatchObject({
      cpu: { limit: 2000 },
    })

    await call('vmware_license_mgr.add', { key: 'ZZZZZ-11111-YYYYY-22222-XXXXX' })
    const absentTest = await apply('extras_absent', {}, true)
    expect(Object.values(absentTest.byId).every((r) => r.result === null)).toBe(true)
    expect(await call('vmware_license_mgr.has', { key: 'ZZZZZ-11111-YYYYY-22222-XXXXX' })).toBe(
      true,
    )
    const absent = await apply('extras_absent')
    expect(changed(absent.byId)).toEqual(['license_gone', 'pool_gone', 'snap_gone', 'tag_gone'])
    expect(JSON.stringify(absent.byId)).not.toContain('ZZZZZ-11111')
    expect(await call('vmware_license_mgr.has', { key: 'ZZZZZ-11111-YYYYY-22222-XXXXX' })).toBe(
      false,
    )
    expect(await call('vmware_vm.list_snapshots', { name: 'DC0_H0_VM1' })).toEqual([])
    expect(changed((await apply('extras_absent')).byId)).toEqual([])
    await call('vmware_tag.delete_category', { name: 'extras' })
  })
})

describe('VM virtual hardware', () => {
  it('creates with disks and NICs (standard network and distributed port group), adds and removes both', async () => {
    await call('vmware_vm.create', {
      name: 'hw1',
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      disks: [10, 20],
      nics: ['VM Network', 'DC0_DVPG0'],
    })
    const info = (await call('vmware_vm.info', { name: 'hw1' })) as {
      disks: Array<{ label: string; size_gb: number; thin: boolean }>
      nics: Array<{ label: string; network: string; type: string }>
    }
    expect(info.disks).toMatchObject([
      { label: 'Hard disk 1', size_gb: 10, thin: true },
      { label: 'Hard disk 2', size_gb: 20, thin: true },
    ])
    expect(info.nics).toMatchObject([
      { label: 'Network adapter 1', network: 'VM Network', type: 'vmxnet3' },
      { label: 'Network adapter 2', network: 'DC0_DVPG0', type: 'vmxnet3' },
    ])
    const added = (await call('vmware_vm.add_disk', { name: 'hw1', size_gb: 5 })) as {
      disks: Array<{ size_gb: number }>
    }
    expect(added.disks.map((d) => d.size_gb)).toEqual([10, 20, 5])
    const removed = (await call('vmware_vm.remove_disk', { name: 'hw1', disk: 'Hard disk 1' })) as {
      disks: Array<{ size_gb: number }>
    }
    expect(removed.disks.map((d) => d.size_gb)).toEqual([20, 5])
    const nics = (await call('vmware_vm.add_nic', {
      name: 'hw1',
      network: 'VM Network',
      type: 'e1000',
    })) as { nics: Array<{ type: string }> }
    expect(nics.nics.map((n) => n.type).sort()).toEqual(['e1000', 'vmxnet3', 'vmxnet3'])
    const fewer = (await call('vmware_vm.remove_nic', {
      name: 'hw1',
      nic: 'Network adapter 1',
    })) as { nics: unknown[] }
    expect(fewer.nics).toHaveLength(2)
    expect(
      (await failure('vmware_vm.remove_nic', { name: 'hw1', nic: 'Network adapter 9' }))?.message,
    ).toMatch(
      /^network adapter 'Network adapter 9' not found \(have: Network adapter 1 \(key \d+\), Network adapter 2 \(key \d+\)\)$/,
    )
    expect(
      (await failure('vmware_vm.add_nic', { name: 'hw1', network: 'no-such-net' }))?.message,
    ).toMatch(/network 'no-such-net' not found/)
    await call('vmware_vm.destroy', { name: 'hw1' })
  })
})

describe('vmware_vswitch', () => {
  it('lists, creates switches and port groups, removes them; states are idempotent', async () => {
    expect(await call('vmware_vswitch.list', { host: 'DC0_H0' })).toEqual([
      { name: 'vSwitch0', ports: 0, mtu: null, portgroups: ['VM Network', 'Management Network'] },
    ])
    const state = (fun: string, kwargs: Record<string, unknown>, test = false) =>
      rt.call(fun, { kwargs, state: true, test }) as Promise<StateReturn>
    expect(
      await state('vmware_vswitch.present', { name: 'vSwitch1', host: 'DC0_H0' }, true),
    ).toMatchObject({ result: null })
    expect(((await call('vmware_vswitch.list', { host: 'DC0_H0' })) as unknown[]).length).toBe(1)
    expect(
      await state('vmware_vswitch.present', { name: 'vSwitch1', host: 'DC0_H0' }),
    ).toMatchObject({ result: true, changes: { vswitch: { new: 'vSwitch1' } } })
    expect(
      await state('vmware_vswitch.present', { name: 'vSwitch1', host: 'DC0_H0' }),
    ).toMatchObject({ result: true, changes: {} })
    expect(
      await state('vmware_vswitch.portgroup_present', {
        name: 'pg-lab',
        host: 'DC0_H0',
        vswitch: 'vSwitch1',
        vlan: 42,
      }),
    ).toMatchObject({ changes: { portgroup: { new: { vlan: 42 } } } })
    expect(await call('vmware_vswitch.list_portgroups', { host: 'DC0_H0' })).toContainEqual({
      name: 'pg-lab',
      vswitch: 'vSwitch1',
      vlan: 42,
    })
    expect(
      await state('vmware_vswitch.portgroup_present', {
        name: 'pg-lab',
        host: 'DC0_H0',
        vswitch: 'vSwitch1',
        vlan: 42,
      }),
    ).toMatchObject({ result: true, changes: {} })
    expect(
      await state('vmware_vswitch.portgroup_present', {
        name: 'pg-lab',
        host: 'DC0_H0',
        vswitch: 'vSwitch1',
        vlan: 43,
      }),
    ).toMatchObject({ result: false })
    expect(
      (
        await failure('vmware_vswitch.add_portgroup', {
          host: 'DC0_H0',
          vswitch: 'nope',
          name: 'x',
        })
      )?.message,
    ).toBe("switch 'nope' not found on host 'DC0_H0'")
    await call('vmware_vswitch.remove_portgroup', { host: 'DC0_H0', name: 'pg-lab' })
    expect(
      await state('vmware_vswitch.absent', { name: 'vSwitch1', host: 'DC0_H0' }),
    ).toMatchObject({ result: true, changes: { vswitch: { old: 'vSwitch1' } } })
    expect(
      (await failure('vmware_vswitch.delete', { host: 'DC0_H0', name: 'vSwitch1' }))?.code,
    ).toBe('BRINE_VIM_NOT_FOUND')
    expect(
      await call('vmware_vswitch.create', { host: 'DC0_H0', name: 'vSwitch9', mtu: 9000 }),
    ).toMatchObject({ name: 'vSwitch9', portgroups: [] }) // vcsim 0.24.2 drops the spec (ports, MTU)
    expect(
      (await failure('vmware_vswitch.create', { host: 'DC0_H0', name: 'vSwitch9' }))?.message,
    ).toMatch(/^creating switch 'vSwitch9' on host 'DC0_H0': AddVirtualSwitch .*AlreadyExists/)
    await call('vmware_vswitch.delete', { host: 'DC0_H0', name: 'vSwitch9' })
  })
})

describe('DRS VM affinity rules', () => {
  it('creates, updates, lists and deletes rules; refuses flipping affinity and VMs outside the cluster', async () => {
    expect(await call('vmware_cluster_drs.rule_info', { cluster: 'DC0_C0' })).toEqual([])
    const vms = ['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1']
    expect(
      await call('vmware_cluster_drs.vm_affinity_rule', {
        name: 'apart',
        affinity: false,
        vms,
        cluster: 'DC0_C0',
      }),
    ).toMatchObject({
      name: 'apart',
      affinity: false,
      enabled: true,
      vms,
    })
    expect(
      await call('vmware_cluster_drs.vm_affinity_rule', {
        name: 'apart',
        affinity: false,
        vms,
        cluster: 'DC0_C0',
        enabled: false,
        mandatory: true,
      }),
    ).toMatchObject({ enabled: false, mandatory: true })
    expect(
      (
        await failure('vmware_cluster_drs.vm_affinity_rule', {
          name: 'apart',
          affinity: true,
          vms,
          cluster: 'DC0_C0',
        })
      )?.message,
    ).toBe("rule 'apart' is an anti-affinity rule; delete it to change its kind")
    expect(
      (
        await failure('vmware_cluster_drs.vm_affinity_rule', {
          name: 'x',
          affinity: true,
          vms: ['DC0_C0_RP0_VM0', 'DC0_H0_VM0'],
          cluster: 'DC0_C0',
        })
      )?.code,
    ).toBe('BRINE_NOT_FOUND')
    // One rule by name is one dict, as saltext-vmware's rule_info returns it.
    expect(
      await call('vmware_cluster_drs.rule_info', { cluster: 'DC0_C0', rule: 'apart' }),
    ).toMatchObject({ name: 'apart', type: 'vm_affinity_rule', affinity: false })
    expect(
      await call('vmware_cluster_drs.delete_rule', { name: 'apart', cluster: 'DC0_C0' }),
    ).toEqual({ name: 'apart', deleted: true })
    expect(await call('vmware_cluster_drs.rule_info', { cluster: 'DC0_C0' })).toEqual([])
  })
})

describe('vmware_vm.present with custom attributes and tags', () => {
  it('sets them on creation, reports no change after, predicts and applies a change', async () => {
    await call('vmware_tag.create_category', { name: 'team' })
    await call('vmware_tag.create', { name: 'red', category: 'team' })
    await call('vmware_tag.create', { name: 'blue', category: 'team' })
    const present = (kwargs: Record<string, unknown>, test = false) =>
      rt.call('vmware_vm.present', {
        kwargs: { name: 'meta1', datacenter: 'DC0', cluster: 'DC0_C0', ...kwargs },
        state: true,
        test,
      }) as Promise<StateReturn>
    expect(await present({ attributes: { owner: 'a' }, tags: ['team/red'] })).toMatchObject({
      result: true,
      changes: { vm: { new: { attributes: { owner: 'a' }, tags: ['team/red'] } } },
    })
    expect(
      await call('vmware_custom_attribute.get', { object_type: 'vm', object: 'meta1' }),
    ).toEqual({ owner: 'a' })
    expect(await call('vmware_tag.list_attached', { object_type: 'vm', object: 'meta1' })).toEqual([
      { category: 'team', tag: 'red' },
    ])
    expect(await present({ attributes: { owner: 'a' }, tags: ['team/red'] })).toMatchObject({
      result: true,
      changes: {},
    })
    expect(
      await present({ attributes: { owner: 'b' }, tags: ['team/red', 'team/blue'] }, true),
    ).toMatchObject({
      result: null,
      changes: {
        attributes: { old: { owner: 'a' }, new: { owner: 'b' } },
        tags: { old: ['team/red'], new: ['team/red', 'team/blue'] },
      },
    })
    expect(
      await call('vmware_custom_attribute.get', { object_type: 'vm', object: 'meta1' }),
    ).toEqual({ owner: 'a' })
    expect(
      await present({ attributes: { owner: 'b' }, tags: ['team/red', 'team/blue'] }),
    ).toMatchObject({ result: true, changes: { attributes: { new: { owner: 'b' } } } })
    expect(
      await call('vmware_custom_attribute.get', { object_type: 'vm', object: 'meta1' }),
    ).toEqual({ owner: 'b' })
    expect(
      (
        (await call('vmware_tag.list_attached', {
          object_type: 'vm',
          object: 'meta1',
        })) as unknown[]
      ).length,
    ).toBe(2)
    await call('vmware_vm.destroy', { name: 'meta1' })
    await call('vmware_tag.delete_category', { name: 'team' })
    await call('vmware_custom_attribute.remove', { name: 'owner' })
  })
})

describe('host firewall and advanced options', () => {
  it('lists and toggles rulesets, reads and sets options; states are idempotent with test mode', async () => {
    const rulesets = (await call('vmware_host.firewall_rulesets', { name: 'DC0_H0' })) as Array<{
      key: string
      enabled: boolean
    }>
    expect(rulesets.find((r) => r.key === 'sshServer')).toMatchObject({ enabled: true })
    const state = (fun: string, kwargs: Record<string, unknown>, test = false) =>
      rt.call(fun, { kwargs, state: true, test }) as Promise<StateReturn>
    expect(
      await state(
        'vmware_host.firewall_ruleset',
        { name: 'DC0_H0', ruleset: 'sshServer', enabled: false },
        true,
      ),
    ).toMatchObject({ result: null, changes: { sshServer: { old: true, new: false } } })
    expect(
      await state('vmware_host.firewall_ruleset', {
        name: 'DC0_H0',
        ruleset: 'sshServer',
        enabled: false,
      }),
    ).toMatchObject({ result: true, changes: { sshServer: { new: false } } })
    expect(
      await state('vmware_host.firewall_ruleset', {
        name: 'DC0_H0',
        ruleset: 'sshServer',
        enabled: false,
      }),
    ).toMatchObject({ result: true, changes: {} })
    expect(
      await call('vmware_host.firewall_ruleset', {
        name: 'DC0_H0',
        ruleset: 'sshServer',
        enabled: true,
      }),
    ).toMatchObject({ enabled: true, changed: true })
    expect(
      (
        await failure('vmware_host.firewall_ruleset', {
          name: 'DC0_H0',
          ruleset: 'nope',
          enabled: true,
        })
      )?.message,
    ).toMatch(/^firewall ruleset 'nope' not found on host 'DC0_H0' \(have: CIMHttpServer, /)

    expect(
      await call('vmware_host.get_advanced', { name: 'DC0_H0', key: 'Config.HostAgent.log.level' }),
    ).toEqual({ 'Config.HostAgent.log.level': 'info' })
    expect(
      await state(
        'vmware_host.advanced_option',
        { name: 'DC0_H0', key: 'Config.HostAgent.log.level', value: 'verbose' },
        true,
      ),
    ).toMatchObject({
      result: null,
      changes: { 'Config.HostAgent.log.level': { old: 'info', new: 'verbose' } },
    })
    expect(
      await state('vmware_host.advanced_option', {
        name: 'DC0_H0',
        key: 'Config.HostAgent.log.level',
        value: 'verbose',
      }),
    ).toMatchObject({ result: true })
    expect(
      await call('vmware_host.get_advanced', { name: 'DC0_H0', key: 'Config.HostAgent.log.level' }),
    ).toEqual({ 'Config.HostAgent.log.level': 'verbose' })
    await call('vmware_host.set_advanced', { name: 'DC0_H0', key: 'Mem.ShareScanGHz', value: 6 })
    expect(
      await call('vmware_host.get_advanced', { name: 'DC0_H0', key: 'Mem.ShareScanGHz' }),
    ).toEqual({ 'Mem.ShareScanGHz': 6 })
    expect(
      await state('vmware_host.advanced_option', {
        name: 'DC0_H0',
        key: 'Mem.ShareScanGHz',
        value: 6,
      }),
    ).toMatchObject({ result: true, changes: {} })
  })
})

describe('vmware_esxi (saltext-vmware compatible subset)', () => {
  it('selects hosts as saltext does and returns its shapes', async () => {
    expect(
      await call('vmware_esxi.list_hosts', { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }),
    ).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    expect((await failure('vmware_esxi.list_hosts', { cluster_name: 'DC0_C0' }))?.message).toBe(
      'Must specify the datacenter when specifying the cluster',
    )
    expect(await call('vmware_esxi.get', { host_name: 'DC0_H0', key: 'cpu_cores' })).toEqual({
      DC0_H0: 2,
    })
    expect(await call('vmware_esxi.in_maintenance_mode', { host: 'DC0_C0_H1' })).toEqual({
      maintenanceMode: 'normal',
    })
    expect(await call('vmware_esxi.maintenance_mode', { host: 'DC0_C0_H1' })).toEqual({
      maintenanceMode: 'inMaintenance',
      changes: true,
    })
    expect(await call('vmware_esxi.maintenance_mode', { host: 'DC0_C0_H1' })).toEqual({
      maintenanceMode: 'inMaintenance',
      changes: false,
    })
    expect(await call('vmware_esxi.exit_maintenance_mode', { host: 'DC0_C0_H1' })).toEqual({
      maintenanceMode: 'normal',
      changes: true,
    })
    expect(
      await call('vmware_esxi.set_advanced_configs', {
        host_name: 'DC0_H0',
        config_dict: { 'Mem.ShareScanGHz': 4 },
      }),
    ).toEqual({ DC0_H0: { 'Mem.ShareScanGHz': 4 } })
    expect(
      await call('vmware_esxi.get_advanced_config', {
        host_name: 'DC0_H0',
        config_name: 'Mem.ShareScanGHz',
      }),
    ).toEqual({ DC0_H0: { 'Mem.ShareScanGHz': 4 } })
    const firewall = (await call('vmware_esxi.get_firewall_config', {
      host_name: 'DC0_H0',
      ruleset_name: 'sshServer',
    })) as Record<string, unknown[]>
    // saltext's shape (modules/esxi.py get_all_firewall_configs): service is the ruleset's
    // service (none for sshServer), its label and required are brine's additions.
    expect(firewall).toEqual({
      DC0_H0: [
        {
          allowed_hosts: { ip_address: [], all_ip: true, ip_network: [] },
          key: 'sshServer',
          service: null,
          enabled: true,
          rule: [
            { port: 22, end_port: null, direction: 'inbound', port_type: 'dst', protocol: 'tcp' },
          ],
          label: 'SSH Server',
          required: true,
        },
      ],
    })
    const all = (await call('vmware_esxi.get_all_firewall_configs', {
      datacenter_name: 'DC0',
    })) as Record<string, unknown[]>
    expect(Object.keys(all).sort()).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2', 'DC0_H0'])

    expect(await call('vmware_esxi.get_role', { role_name: 'esxi-role' })).toEqual({})
    const added = (await call('vmware_esxi.add_role', {
      role_name: 'esxi-role',
      privilege_ids: ['Datastore.Browse'],
    })) as { role_id: number }
    expect(typeof added.role_id).toBe('number')
    expect(
      await call('vmware_esxi.update_role', {
        role_name: 'esxi-role',
        privilege_ids: ['Datastore.Browse', 'Datastore.FileManagement'],
      }),
    ).toBe(true)
    expect(await call('vmware_esxi.get_role', { role_name: 'esxi-role' })).toEqual({
      role_id: added.role_id,
      role_name: 'esxi-role',
      privilege_ids: [
        'Datastore.Browse',
        'Datastore.FileManagement',
        'System.Anonymous',
        'System.Read',
        'System.View',
      ],
    })
    expect(await call('vmware_esxi.remove_role', { role_name: 'esxi-role' })).toBe(true)
    expect(await call('vmware_esxi.get_role', { role_name: 'esxi-role' })).toEqual({})
  })
})

describe('vmware_vsphere (saltext-vmware names)', () => {
  it('reports about info and lists pools, networks, vApps and disks by SSD-ness', async () => {
    expect(await call('vmware_vsphere.system_info')).toMatchObject({
      api_type: 'VirtualCenter',
      api_version: '6.5',
      vendor: 'VMware, Inc.',
    })
    // Earlier tests in this file leave objects of their own in this vcsim.
    expect(await call('vmware_vsphere.list_resourcepools')).toEqual(
      expect.arrayContaining(['Resources', 'Resources']),
    )
    expect(await call('vmware_vsphere.list_networks')).toEqual(
      expect.arrayContaining(['DC0_DVPG0', 'DVS0-DVUplinks-9', 'VM Network']),
    )
    expect(await call('vmware_vsphere.list_vapps')).toEqual([])
    // vcsim's disks (test/vcsim/esxi-storage.go): the boot disk and a free local SSD per host.
    expect(await call('vmware_vsphere.list_ssds', { host_name: 'DC0_H0' })).toEqual({
      DC0_H0: ['mpx.vmhba0:C0:T0:L0', expect.stringMatching(/^naa\.5/)],
    })
    expect(
      await call('vmware_vsphere.list_non_ssds', {
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
      }),
    ).toEqual(
      Object.fromEntries(
        ['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'].map((h) => [
          h,
          // two free local HDDs, then the LUN of the VMFS datastore LocalDS_0
          [
            expect.stringMatching(/^naa\.5/),
            expect.stringMatching(/^naa\.5/),
            expect.stringMatching(/^naa\.6/),
          ],
        ]),
      ),
    )
  })
})

describe('vmware_storage_policies (PBM endpoint, same session)', () => {
  it('finds, creates, updates in place, reports drift, deletes; the state is idempotent', async () => {
    const before = (await call('vmware_storage_policies.find')) as Array<Record<string, unknown>>
    expect(before.map((p) => p.policyName)).toContain('vSAN Default Storage Policy')
    expect(
      await call('vmware_storage_policies.find', { policy_name: 'vSAN Default Storage Policy' }),
    ).toEqual([
      expect.objectContaining({
        constraints: [
          {
            name: 'VSAN sub-profile',
            namespace: 'VSAN',
            hostFailuresToTolerate: 1,
            stripeWidth: 1,
            forceProvisioning: false,
            proportionalCapacity: 0,
            cacheReservation: 0,
          },
        ],
      }),
    ])

    const config = {
      policyName: 'mod-policy',
      description: 'module test',
      constraints: [{ name: 'rules', namespace: 'VSAN', hostFailuresToTolerate: 2 }],
    }
    const created = (await call('vmware_storage_policies.save', { policy_config: config })) as {
      status: string
      id: string
    }
    expect(created.status).toBe('created')
    expect(await call('vmware_storage_policies.save', { policy_config: config })).toEqual({
      status: 'unchanged',
      id: created.id,
    })
    const changedConfig = {
      ...config,
      constraints: [
        { name: 'rules', hostFailuresToTolerate: 1, tags: ['a', 'b'], size: { min: 1, max: 3 } },
      ],
    }
    expect(
      await call('vmware_storage_policies.drift_report', { policy_config: changedConfig }),
    ).toMatchObject({
      old: { constraints: [{ hostFailuresToTolerate: 2 }] },
      new: { constraints: [{ hostFailuresToTolerate: 1 }] },
    })
    expect(await call('vmware_storage_policies.save', { policy_config: changedConfig })).toEqual({
      status: 'updated',
      id: created.id,
    })
    expect(await call('vmware_storage_policies.find', { policy_name: created.id })).toEqual([
      {
        policyName: 'mod-policy',
        id: created.id,
        description: 'module test',
        constraints: [
          {
            name: 'rules',
            namespace: 'VSAN',
            hostFailuresToTolerate: 1,
            tags: ['a', 'b'],
            size: { min: 1, max: 3 },
          },
        ],
      },
    ])
    expect(await call('vmware_storage_policies.delete', { policy_name: 'mod-policy' })).toEqual({
      policyName: 'mod-policy',
      deleted: true,
    })
    // No such policy: [] as saltext-vmware's find returns (tests/unit/modules/test_storage_policies.py).
    expect(await call('vmware_storage_policies.find', { policy_name: 'mod-policy' })).toEqual([])
    const bad = await failure('vmware_storage_policies.save', {
      policy_config: { policyName: 'x', constraints: [{ name: 'r', ftt: { low: 1 } }] },
    })
    expect(bad?.code).toBe('BRINE_ARGUMENT')
    expect(bad?.message).toContain("'policy_config.constraints.0.ftt'")

    // The state: test mode predicts, the first run creates, the second changes nothing.
    const predicted = await apply('policies', {}, true)
    expect(predicted.byId.gold?.result).toBeNull()
    // Changes in saltext-vmware's shape: {<policyName>: {old, new}} (states/storage_policies.py).
    expect(predicted.byId.gold?.changes).toMatchObject({ gold: { old: {} } })
    expect(await call('vmware_storage_policies.find', { policy_name: 'gold' })).toEqual([])
    const first = await apply('policies')
    expect(first.byId.gold).toMatchObject({
      result: true,
      comment: "Storage policy 'gold' created.",
    })
    expect(changed((await apply('policies')).byId)).toEqual([])
    const update = await apply('policies', { ftt: 2 })
    expect(update.byId.gold?.comment).toBe("Storage policy 'gold' updated.")
    expect(update.byId.gold?.changes).toEqual({
      gold: {
        old: { constraints: { 'VSAN sub-profile': { hostFailuresToTolerate: 1 } } },
        new: { constraints: { 'VSAN sub-profile': { hostFailuresToTolerate: 2 } } },
      },
    })
    const wrong = await apply('policies', { ftt: 2, bad: true })
    expect(wrong.retcode).toBe(2)
    expect(wrong.byId.wrong_name?.result).toBe(false)
    expect(wrong.byId.wrong_name?.comment).toContain(
      "config.policyName 'bronze' differs from the state name 'silver'",
    )
    await call('vmware_storage_policies.delete', { policy_name: 'gold' })
  })
})

describe('vmware_vm.relocate and vmware_host add/remove', () => {
  it('moves a VM between hosts (the pool follows across compute resources) and back', async () => {
    const vm = 'DC0_C0_RP0_VM0'
    const start = (await call('vmware_vm.info', { name: vm })) as { host: string }
    const withinCluster = await call('vmware_vm.relocate', { name: vm, host: 'DC0_C0_H2' })
    expect(withinCluster).toMatchObject({ host_name: 'DC0_C0_H2', resource_pool: 'Resources' })
    const standalone = await call('vmware_vm.relocate', { name: vm, host: 'DC0_H0' })
    expect(standalone).toMatchObject({ host_name: 'DC0_H0', datastores: ['LocalDS_0'] })
    expect(await call('vmware_vm.list', { host: 'DC0_H0' })).toContain(vm)
    const back = (await call('vmware_vm.relocate', {
      name: vm,
      host: start.host,
      datastore: 'LocalDS_0',
    })) as { host: string }
    expect(back.host).toBe(start.host)
    expect(await call('vmware_vm.list', { host: 'DC0_H0' })).not.toContain(vm)
    expect(await call('vmware_vm.list', { host: start.host })).toContain(vm)
    const none = await failure('vmware_vm.relocate', { name: vm })
    expect(none?.code).toBe('BRINE_ARGUMENT')
    expect((await failure('vmware_vm.relocate', { name: vm, host: 'nope' }))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
  })

  it('adds standalone and clustered hosts, disconnects and reconnects, removes them; the password never shows', async () => {
    const password = 'Esx-Pa55word-xyz'
    const standalone = await call('vmware_host.add', {
      name: 'esx-new.example.com',
      datacenter: 'DC0',
      password,
    })
    expect(standalone).toMatchObject({
      name: 'esx-new.example.com',
      connection_state: 'connected',
      parent: expect.stringMatching(/^computeresource-/),
    })
    const clustered = await call('vmware_host.add', {
      name: 'esx-c.example.com',
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      password,
    })
    expect(clustered).toMatchObject({ parent: expect.stringMatching(/^clustercomputeresource-/) })
    expect(
      ((await call('vmware_host.list', { cluster: 'DC0_C0' })) as Array<{ name: string }>).map(
        (h) => h.name,
      ),
    ).toContain('esx-c.example.com')
    const both = await failure('vmware_host.add', {
      name: 'x',
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      folder: 'f',
      password,
    })
    expect(both?.code).toBe('BRINE_ARGUMENT')

    // Disconnect and reconnect (module and saltext's names).
    expect(await call('vmware_host.disconnect', { name: 'esx-new.example.com' })).toMatchObject({
      connection_state: 'disconnected',
      changed: true,
    })
    expect(await call('vmware_host.disconnect', { name: 'esx-new.example.com' })).toMatchObject({
      changed: false,
    })
    expect(await call('vmware_esxi.connect', { host: 'esx-new.example.com' })).toEqual({
      state: 'connected',
    })
    expect(await call('vmware_esxi.disconnect', { host: 'esx-c.example.com' })).toEqual({
      state: 'disconnected',
    })
    expect(
      await call('vmware_host.reconnect', { name: 'esx-c.example.com', password: 'N3w-Esx-Pa55' }),
    ).toMatchObject({ connection_state: 'connected', changed: true })

    const notInMaintenance = await failure('vmware_host.remove', { name: 'esx-c.example.com' })
    expect(notInMaintenance?.code).toBe('BRINE_INVALID_STATE')
    expect(
      await call('vmware_host.remove', { name: 'esx-c.example.com', maintenance: true }),
    ).toMatchObject({
      removed: true,
    })
    // saltext's utils/esxi.remove_host answers "removed host <name>".
    expect(await call('vmware_esxi.remove', { host: 'esx-new.example.com' })).toEqual({
      state: 'removed host esx-new.example.com',
    })
    const busy = await failure('vmware_host.remove', { name: 'DC0_H0' })
    expect(busy?.code).toBe('BRINE_VIM_TASK_FAILED')
    expect(busy?.message).toMatch(/^removing host 'DC0_H0': .*ResourceInUse/)
    const names = ((await call('vmware_host.list')) as Array<{ name: string }>).map((h) => h.name)
    expect(names).not.toContain('esx-new.example.com')
    expect(names).not.toContain('esx-c.example.com')
    expect(await call('vmware_cluster.get', { name: 'DC0_C0' })).toMatchObject({ hosts: 3 })
    expect(JSON.stringify([standalone, clustered, both?.message])).not.toContain(password)
  })
})

describe('vmware_role (roles and permissions)', () => {
  it('creates, updates, guards and deletes roles; sets and removes permissions; states', async () => {
    const roles = (await call('vmware_role.list')) as Array<{ name: string; system: boolean }>
    expect(roles.find((r) => r.name === 'Admin')).toMatchObject({ system: true })
    expect(
      await call('vmware_role.list_privileges', { group: 'VirtualMachine.Interact.Power' }),
    ).toEqual(['VirtualMachine.Interact.PowerOff', 'VirtualMachine.Interact.PowerOn'])
    const created = (await call('vmware_role.create', {
      name: 'mod-role',
      privileges: ['VirtualMachine.Interact.PowerOn', 'Datastore.Browse'],
    })) as { id: number; privileges: string[] }
    expect(created.privileges).toEqual([
      'Datastore.Browse',
      'System.Anonymous',
      'System.Read',
      'System.View',
      'VirtualMachine.Interact.PowerOn',
    ])
    const unknown = await failure('vmware_role.create', { name: 'x', privileges: ['Nope.Nope'] })
    expect(unknown?.code).toBe('BRINE_ARGUMENT')
    expect(unknown?.message).toContain("unknown privilege 'Nope.Nope'")
    expect(
      await call('vmware_role.update', {
        name: 'mod-role',
        privileges: ['VirtualMachine.Interact.PowerOff'],
        new_name: 'mod-role2',
      }),
    ).toMatchObject({
      id: created.id,
      name: 'mod-role2',
      privileges: expect.arrayContaining(['VirtualMachine.Interact.PowerOff']),
    })
    expect((await failure('vmware_role.delete', { name: 'Admin' }))?.code).toBe(
      'BRINE_INVALID_STATE',
    )
    expect((await failure('vmware_role.update', { name: 'ReadOnly', privileges: [] }))?.code).toBe(
      'BRINE_INVALID_STATE',
    )

    const where = { object_type: 'datacenter', object: 'DC0' }
    expect(
      await call('vmware_role.set_permission', {
        principal: 'VSPHERE.LOCAL\\dev',
        role: 'mod-role2',
        ...where,
      }),
    ).toMatchObject({ role: 'mod-role2', object: 'datacenter-2' })
    expect(await call('vmware_role.list_permissions', where)).toEqual([
      {
        principal: 'VSPHERE.LOCAL\\dev',
        group: false,
        role: 'mod-role2',
        propagate: true,
        object: 'datacenter-2',
      },
    ])
    const inherited = (await call('vmware_role.list_permissions', {
      ...where,
      inherited: true,
    })) as Array<{
      role: string
    }>
    expect(inherited.some((p) => p.role === 'Admin')).toBe(true)
    const inUse = await failure('vmware_role.delete', { name: 'mod-role2' })
    expect(inUse?.code).toBe('BRINE_INVALID_STATE')
    expect(inUse?.message).toContain('VSPHERE.LOCAL\\dev')
    expect(
      await call('vmware_role.remove_permission', { principal: 'VSPHERE.LOCAL\\dev', ...where }),
    ).toMatchObject({ removed: true })
    expect(await call('vmware_role.list_permissions', where)).toEqual([])
    expect(await call('vmware_role.delete', { name: 'mod-role2' })).toMatchObject({ deleted: true })
    expect((await failure('vmware_role.get', { name: 'mod-role2' }))?.code).toBe('BRINE_NOT_FOUND')

    // States: test mode, create, no-op, change, absent.
    const predicted = await apply('roles', {}, true)
    expect(predicted.byId.ops_role?.result).toBeNull()
    expect((await failure('vmware_role.get', { name: 'ops' }))?.code).toBe('BRINE_NOT_FOUND')
    const first = await apply('roles')
    expect(first.retcode).toBe(0)
    expect(changed(first.byId)).toEqual(['ops_permission', 'ops_role'])
    expect(changed((await apply('roles')).byId)).toEqual([])
    const opsRole = (await call('vmware_role.get', { name: 'ops' })) as { id: number }
    expect(
      await rt.call('vmware_role.permission_present', {
        kwargs: {
          name: 'vsphere.local\\OPS',
          role: String(opsRole.id),
          object_type: 'datacenter',
          object: 'DC0',
        },
        state: true,
      }),
    ).toMatchObject({ result: true, changes: {} })
    const more = await apply('roles', {
      privs: ['VirtualMachine.Interact.PowerOn', 'VirtualMachine.Interact.PowerOff'],
    })
    expect(changed(more.byId)).toEqual(['ops_role'])
    expect(more.byId.ops_role?.changes).toEqual({
      privileges: { added: ['VirtualMachine.Interact.PowerOff'], removed: [] },
    })
    const goneTest = await apply('roles', { gone: true }, true)
    expect(Object.values(goneTest.byId).every((r) => r.result === null)).toBe(true)
    expect(await call('vmware_role.list_permissions', where)).toHaveLength(1)
    const gone = await apply('roles', { gone: true })
    expect(changed(gone.byId)).toEqual(['ops_permission', 'ops_role'])
    expect(changed((await apply('roles', { gone: true })).byId)).toEqual([])
  })
})

describe('VM boot options', () => {
  it('reads and sets boot order and options; set_boot_manager state with test mode and no-op', async () => {
    const vm = 'DC0_H0_VM1'
    expect(await call('vmware_vm.boot_options', { name: vm })).toMatchObject({
      delay: 0,
      enter_bios_setup: false,
    })
    expect(
      await call('vmware_vm.boot_manager', { name: vm, order: ['disk', 'ethernet'], delay: 500 }),
    ).toMatchObject({
      order: ['disk', 'ethernet'],
      delay: 500,
      changes: { order: { new: ['disk', 'ethernet'] }, delay: { old: 0, new: 500 } },
    })
    expect(
      await call('vmware_vm.boot_manager', { name: vm, order: ['disk', 'ethernet'], delay: 500 }),
    ).toMatchObject({ changes: {} })
    const boot = (kwargs: Record<string, unknown>, test = false) =>
      rt.call('vmware_vm.set_boot_manager', {
        kwargs: { name: vm, ...kwargs },
        state: true,
        test,
      }) as Promise<StateReturn>
    // Only what the state gives is compared and changed: delay, left out, stays 500 (issue 14).
    const wanted = { order: ['cdrom', 'disk'], enter_bios_setup: true }
    expect(await boot(wanted, true)).toMatchObject({
      result: null,
      changes: {
        order: { old: ['disk', 'ethernet'], new: ['cdrom', 'disk'] },
        enter_bios_setup: { old: false, new: true },
      },
    })
    expect((await boot(wanted, true)).changes).not.toHaveProperty('delay')
    expect(await call('vmware_vm.boot_options', { name: vm })).toMatchObject({ delay: 500 })
    expect(await boot(wanted)).toMatchObject({
      result: true,
      comment: expect.stringContaining('changed'),
    })
    expect(await call('vmware_vm.boot_options', { name: vm })).toMatchObject({
      order: ['cdrom', 'disk'],
      delay: 500,
      enter_bios_setup: true,
    })
    expect(await boot(wanted)).toMatchObject({ result: true, changes: {} })
    const noNic = await failure('vmware_vm.boot_manager', { name: 'nope-vm', order: ['disk'] })
    expect(noNic?.code).toBe('BRINE_NOT_FOUND')
  })
})

describe('OVF and OVA deployment', () => {
  it('deploys an OVF and an OVA (disk uploaded over the lease), refuses duplicates, aborts cleanly on a broken package', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { pack } = await import('tar-stream')
    const fixtures = join(import.meta.dirname, 'fixtures', 'ovf')
    const descriptor = readFileSync(join(fixtures, 'tiny.ovf'))
    const disk = readFileSync(join(fixtures, 'tiny-disk1.vmdk'))
    const tmp = mkdtempSync(join(tmpdir(), 'brine-ova-'))
    const ova = async (file: string, entries: Array<[string, Buffer]>) => {
      const archive = pack()
      for (const [name, data] of entries) archive.entry({ name, size: data.length }, data)
      archive.finalize()
      const chunks: Buffer[] = []
      for await (const chunk of archive) chunks.push(chunk as Buffer)
      writeFileSync(join(tmp, file), Buffer.concat(chunks))
      return join(tmp, file)
    }

    const fromOvf = await call('vmware_vm.deploy_ovf', {
      name: 'ovf-vm',
      path: join(fixtures, 'tiny.ovf'),
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      networks: { 'VM Network': 'DC0_DVPG0' },
    })
    expect(fromOvf).toMatchObject({
      name: 'ovf-vm',
      num_cpu: 1,
      memory_mb: 64,
      power_state: 'poweredOff',
    })
    expect(await call('vmware_vm.info', { name: 'ovf-vm' })).toMatchObject({
      disks: [{ label: 'Hard disk 1', size_gb: 1 }],
      nics: [{ type: 'e1000', network: 'DC0_DVPG0' }],
    })
    expect(
      await call('vmware_datastore.browse', {
        name: 'LocalDS_0',
        path: 'ovf-vm',
        pattern: '*.vmdk',
      }),
    ).toContainEqual(expect.objectContaining({ name: 'disk-0.vmdk', type: 'VmDisk' })) // vcsim discards upload bytes

    const good = await ova('tiny.ova', [
      ['tiny.ovf', descriptor],
      ['tiny-disk1.vmdk', disk],
    ])
    expect(
      await call('vmware_vm.deploy_ovf', {
        name: 'ova-vm',
        path: good,
        datacenter: 'DC0',
        power_on: true,
      }),
    ).toMatchObject({ name: 'ova-vm', power_state: 'poweredOn' })

    const dup = await failure('vmware_vm.deploy_ovf', {
      name: 'ova-vm',
      path: good,
      datacenter: 'DC0',
    })
    expect(dup?.code).toBe('BRINE_VIM_DUPLICATE_NAME')

    // The descriptor names a disk the archive lacks: the lease is aborted, no VM is left.
    const broken = await ova('broken.ova', [['tiny.ovf', descriptor]])
    const lacking = await failure('vmware_vm.deploy_ovf', {
      name: 'broken-vm',
      path: broken,
      datacenter: 'DC0',
    })
    expect(lacking?.code).toBe('BRINE_OVF')
    expect(lacking?.message).toContain('lacks tiny-disk1.vmdk')
    expect(await call('vmware_vm.list', { datacenter: 'DC0' })).not.toContain('broken-vm')

    // A descriptor naming a file outside its folder is refused before anything is read.
    const escapeDir = join(tmp, 'escape')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(escapeDir)
    writeFileSync(join(tmp, 'secret.vmdk'), disk)
    writeFileSync(
      join(escapeDir, 'escape.ovf'),
      descriptor
        .toString('utf8')
        .replace('ovf:href="tiny-disk1.vmdk"', 'ovf:href="../secret.vmdk"'),
    )
    const outside = await failure('vmware_vm.deploy_ovf', {
      name: 'escape-vm',
      path: join(escapeDir, 'escape.ovf'),
      datacenter: 'DC0',
    })
    expect(outside?.message).toContain('../secret.vmdk, which is outside its folder: refused')
    expect(await call('vmware_vm.list', { datacenter: 'DC0' })).not.toContain('escape-vm')

    const notOva = join(tmp, 'text.ova')
    writeFileSync(notOva, 'not a tar file at all'.repeat(40))
    expect(
      (await failure('vmware_vm.deploy_ovf', { name: 'x', path: notOva, datacenter: 'DC0' }))?.code,
    ).toBe('BRINE_OVF')
    const missing = await failure('vmware_vm.deploy_ovf', {
      name: 'x',
      path: join(tmp, 'nope.ovf'),
      datacenter: 'DC0',
    })
    expect(missing?.message).toMatch(/cannot read OVF descriptor .*nope\.ovf: ENOENT/)

    for (const vm of ['ovf-vm', 'ova-vm'])
      await call('vmware_vm.destroy', { name: vm, force: true })
  })
})
