// saltext-vmware compatibility of the network, tag and ESXi modules: each function and state
// called the way saltext's docstrings and tests call it (positional and keyword), against
// vcsim, checking saltext's return shape. Sources are saltstack/salt-ext-modules-vmware at
// cb32a1f: src/saltext/vmware/{modules,states}/*.py and tests/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { observeSoapCalls, type SoapCallRecord } from '../vsphere/soap-observers.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'compat')
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, state, failure } = callersOf(() => rt)
const ID = /^urn:vmomi:InventoryService(Tag|Category):/

describe('vmware_tag module (modules/tag.py)', () => {
  it('create_category, list_category, get_category, create, list, get, delete, delete_category', async () => {
    // tests/integration/modules/test_tag.py test_cat_create: positional
    // create_category(name, ["string"], "SINGLE", "test category") returns the id.
    const catId = (await call('vmware_tag.create_category', [
      'compat-cat',
      ['VirtualMachine'],
      'SINGLE',
      'test category',
    ])) as string
    expect(catId).toMatch(ID)
    // test_category_list: list_category() returns category ids.
    expect(await call('vmware_tag.list_category')).toEqual([catId])
    // test_category_get: get_category(id)["id"].
    expect(await call('vmware_tag.get_category', [catId])).toMatchObject({
      id: catId,
      name: 'compat-cat',
      description: 'test category',
      cardinality: 'SINGLE',
      associable_types: ['VirtualMachine'],
    })
    // test_tag_create: create(tag_name, cat_id, description="…") returns the id.
    const tagId = (await call('vmware_tag.create', ['compat-tag', catId], {
      description: 'testy test tester',
    })) as string
    expect(tagId).toMatch(ID)
    // test_tag_list: list() returns tag ids.
    expect(await call('vmware_tag.list')).toEqual([tagId])
    // test_tag_get: get(tag_id)["id"]; saltext returns the REST value (id, name, …).
    expect(await call('vmware_tag.get', [tagId])).toMatchObject({
      id: tagId,
      name: 'compat-tag',
      description: 'testy test tester',
      category_id: catId,
    })
    // test_tag_delete: delete(id) answers "deleted".
    expect(await call('vmware_tag.delete', [tagId])).toBe('deleted')
    expect(await call('vmware_tag.list')).toEqual([])
    // test_cat_delete: delete_category(id) answers "deleted".
    expect(await call('vmware_tag.delete_category', [catId])).toBe('deleted')
    expect(await call('vmware_tag.list_category')).toEqual([])
  })

  it('brine aliases are extra names: they agree with saltext names or fail before anything changes', async () => {
    const catId = (await call('vmware_tag.create_category', [], {
      name: 'alias-cat',
    })) as string
    expect(
      (
        await failure('vmware_tag.create', [], {
          tag_name: 'a',
          name: 'b',
          category_id: catId,
        })
      )?.message,
    ).toMatch(/'tag_name' \("a"\) and its alias 'name' \("b"\) disagree/)
    expect(await call('vmware_tag.list')).toEqual([])
    expect((await failure('vmware_tag.create', [], { category_id: catId }))?.code).toBe(
      'BRINE_ARGUMENT',
    )
    // brine: the category by name, the tag by name within it.
    const id = await call('vmware_tag.create', [], { name: 'x', category: 'alias-cat' })
    expect(await call('vmware_tag.delete', [], { name: 'x', category: 'alias-cat' })).toBe(
      'deleted',
    )
    expect(await call('vmware_tag.list')).not.toContain(id)
    expect(await call('vmware_tag.delete_category', [], { name: 'alias-cat' })).toBe('deleted')
  })

  it('update and update_category answer "updated" (test_tag_update, test_cat_update)', async () => {
    const catId = (await call('vmware_tag.create_category', [
      'upd-cat',
      ['VirtualMachine'],
      'SINGLE',
      'old',
    ])) as string
    const tagId = (await call('vmware_tag.create', ['upd-tag', catId])) as string
    // test_tag_update: update(tag_id, description="new discription").
    expect(await call('vmware_tag.update', [tagId], { description: 'new discription' })).toBe(
      'updated',
    )
    expect(await call('vmware_tag.get', [tagId])).toMatchObject({
      description: 'new discription',
    })
    // test_cat_update: update_category(id, name, associable_types, cardinality, "new description").
    const cat = (await call('vmware_tag.get_category', [catId])) as Record<string, unknown>
    expect(
      await call('vmware_tag.update_category', [
        cat.id,
        cat.name,
        cat.associable_types,
        cat.cardinality,
        'new description',
      ]),
    ).toBe('updated')
    expect(await call('vmware_tag.get_category', [catId])).toMatchObject({
      description: 'new description',
    })
    await call('vmware_tag.delete_category', [catId])
  })
})

describe('vmware_tag states (states/tag.py)', () => {
  it('present_category, present, absent, absent_category: create, no-op, test mode, delete', async () => {
    // tests/integration/states/test_tag.py test_manage_create_cat_test: in test mode
    // present_category(name, ["string"], "SINGLE", "test category") says it will be created.
    const dry = await state(
      'vmware_tag.present_category',
      ['state-cat', ['VirtualMachine'], 'SINGLE', 'test category'],
      {},
      true,
    )
    expect(dry).toMatchObject({ result: null, comment: 'state-cat category will be created' })
    expect(await call('vmware_tag.list_category')).toEqual([])
    // test_manage_create_cat: "created".
    const created = await state('vmware_tag.present_category', [
      'state-cat',
      ['VirtualMachine'],
      'SINGLE',
      'test category',
    ])
    expect(created).toMatchObject({ result: true, comment: 'created' })
    const catId = (await call('vmware_tag.list_category')) as string[]
    expect(created.changes).toMatchObject({ category_id: catId[0] })
    // A second run: saltext's "category exists", no changes.
    expect(
      await state('vmware_tag.present_category', [
        'state-cat',
        ['VirtualMachine'],
        'SINGLE',
        'test category',
      ]),
    ).toMatchObject({ result: true, comment: 'category exists', changes: {} })
    // Only what the SLS gives is compared: leaving description out keeps it.
    expect(await state('vmware_tag.present_category', ['state-cat'])).toMatchObject({
      result: true,
      changes: {},
    })
    // test_manage_update_cat_test: a new description in test mode "will be updated".
    expect(
      await state(
        'vmware_tag.present_category',
        ['state-cat', ['VirtualMachine'], 'SINGLE', 'new description'],
        {},
        true,
      ),
    ).toMatchObject({
      result: null,
      comment: 'state-cat category will be updated',
      changes: { old: { description: 'test category' }, new: { description: 'new description' } },
    })
    expect(await call('vmware_tag.get_category', [catId[0]])).toMatchObject({
      description: 'test category',
    })

    // test_manage_create: present(name, description=…, category_id=…) → "created".
    const tag = await state('vmware_tag.present', ['state-tag'], {
      description: 'testing state tag create',
      category_id: catId[0],
    })
    expect(tag).toMatchObject({ result: true, comment: 'created' })
    const tagIds = (await call('vmware_tag.list')) as string[]
    expect(tag.changes).toMatchObject({ tag_id: tagIds[0] })
    expect(
      await state('vmware_tag.present', ['state-tag'], { description: 'testing state tag create' }),
    ).toMatchObject({ result: true, comment: 'tag exists', changes: {} })
    // Without description: found by name, nothing compared (saltext would "update" to None).
    expect(await state('vmware_tag.present', ['state-tag'])).toMatchObject({
      result: true,
      comment: 'tag exists',
      changes: {},
    })
    // saltext's test mode of an update: "will be updated", nothing changed.
    expect(
      await state('vmware_tag.present', ['state-tag'], { description: 'new discription' }, true),
    ).toMatchObject({ result: null, comment: 'state-tag tag will be updated' })
    expect(await call('vmware_tag.get', [tagIds[0]])).toMatchObject({
      description: 'testing state tag create',
    })
    // A missing tag without category_id: saltext's failure.
    expect(await state('vmware_tag.present', ['other-tag'])).toMatchObject({
      result: false,
      comment: 'category_id required to create a tag',
    })

    // test_manage_delete_cat_test and absent in test mode: nothing deleted.
    expect(await state('vmware_tag.absent', ['state-tag'], {}, true)).toMatchObject({
      result: null,
      comment: 'state-tag tag will be deleted',
    })
    expect(await state('vmware_tag.absent_category', ['state-cat'], {}, true)).toMatchObject({
      result: null,
      comment: 'state-cat category will be deleted',
    })
    expect(await call('vmware_tag.list')).toEqual(tagIds)
    // test_manage_delete: absent(name) → "deleted".
    expect(await state('vmware_tag.absent', ['state-tag'])).toMatchObject({
      result: true,
      comment: 'deleted',
      changes: { old: { name: 'state-tag', category: 'state-cat' }, new: null },
    })
    expect(await state('vmware_tag.absent', ['state-tag'])).toMatchObject({
      result: true,
      comment: 'Tag does not exist',
      changes: {},
    })
    // test_manage_delete_cat: absent_category(name) → "deleted".
    expect(await state('vmware_tag.absent_category', ['state-cat'])).toMatchObject({
      result: true,
      comment: 'deleted',
    })
    expect(await state('vmware_tag.absent_category', ['state-cat'])).toMatchObject({
      result: true,
      comment: 'Category does not exist',
    })
    expect(await call('vmware_tag.list_category')).toEqual([])
  })

  it('test mode predicts the failure of a tag in a category that does not exist', async () => {
    // issue 14: tag_present test=True predicted success there.
    for (const fun of ['vmware_tag.present', 'vmware_tag.tag_present']) {
      const ret = await state(fun, ['t1'], { category: 'no-such-category' }, true)
      expect(ret.result).toBe(false)
      expect(ret.comment).toMatch(/^Category 'no-such-category' does not exist/)
      expect(ret.changes).toEqual({})
    }
    // …unless an earlier state of the same dry run creates the category.
    rt.context = {}
    await state('vmware_tag.present_category', ['later-cat'], {}, true)
    expect(
      await state('vmware_tag.present', ['t1'], { category: 'later-cat' }, true),
    ).toMatchObject({ result: null, changes: { new: { name: 't1', category: 'later-cat' } } })
    // Another run (another run signal) does not see that run's predictions.
    const other = (await rt.call('vmware_tag.present', {
      args: ['t1'],
      kwargs: { category: 'later-cat' },
      state: true,
      test: true,
      signal: new AbortController().signal,
    })) as StateReturn
    expect(other.result).toBe(false)
    rt.context = {}
    expect(await call('vmware_tag.list_category')).toEqual([])
  })

  it('updates a tag description and a category through the state (PATCH)', async () => {
    await state('vmware_tag.present_category', ['p-cat'])
    await state('vmware_tag.present', ['p-tag'], { category_id: 'p-cat', description: 'a' })
    // test_manage_update: present("test-tag", description="new discription") → "updated".
    expect(await state('vmware_tag.present', ['p-tag'], { description: 'b' })).toMatchObject({
      result: true,
      comment: 'updated',
      changes: { old: { description: 'a' }, new: { description: 'b' } },
    })
    // test_manage_update_cat: "updated".
    expect(
      await state('vmware_tag.present_category', ['p-cat', ['VirtualMachine'], 'SINGLE', 'z']),
    ).toMatchObject({ result: true, comment: 'updated' })
    expect(await state('vmware_tag.absent_category', ['p-cat'])).toMatchObject({ result: true })
  })

  it('refuses an unknown argument before anything changes', async () => {
    for (const [fun, kwargs] of [
      ['vmware_tag.present', { name: 'u', category_id: 'c', colour: 'red' }],
      ['vmware_tag.absent', { name: 'u', description: 'x' }],
      ['vmware_tag.present_category', { name: 'u-cat', cardinalty: 'SINGLE' }],
      ['vmware_tag.absent_category', { name: 'u-cat', force: true }],
    ] as const) {
      const error = await rt.call(fun, { kwargs, state: true }).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(error?.message).toMatch(/unknown argument/)
    }
    expect(await call('vmware_tag.list_category')).toEqual([])
  })
})

describe('vmware_esxi (modules/esxi.py)', () => {
  it('get: saltext’s facts for every selected host, key= with delimiter=, few round trips', async () => {
    // tests/integration/modules/test_esxi.py test_esxi_get: get(datacenter_name, cluster_name)
    // and each host's cpu_model, capabilities, nics, vsan, datastores, num_cpu_cores.
    const calls: SoapCallRecord[] = []
    const stop = observeSoapCalls((call) => calls.push(call))
    let all: Record<string, Record<string, unknown>>
    try {
      all = (await call('vmware_esxi.get', ['DC0', 'DC0_C0'])) as typeof all
    } finally {
      stop()
    }
    expect(Object.keys(all)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    // One read of the hosts' facts, one of their datastores (plus the cluster's lookup).
    const reads = calls.filter((c) => c.method === 'RetrievePropertiesEx')
    expect(reads.filter((c) => c.request.includes('summary.hardware'))).toHaveLength(1)
    expect(reads.filter((c) => c.request.includes('summary.freeSpace'))).toHaveLength(1)
    const host = all.DC0_C0_H0!
    expect(host).toMatchObject({
      vsan: expect.any(Object),
      cpu_model: expect.stringMatching(/\w/),
      num_cpu_cores: expect.any(Number),
      num_cpu_pkgs: expect.any(Number),
      num_cpu_threads: expect.any(Number),
      memory_size: expect.any(Number),
      overall_memory_usage: expect.any(Number),
      product_name: 'VMware ESXi',
      product_version: expect.stringMatching(/^\d+\.\d+/),
      product_build: expect.stringMatching(/^\d+$/),
      product_os_type: expect.any(String),
      host_name: 'DC0_C0_H0',
      system_vendor: expect.any(String),
      system_model: expect.any(String),
      bios_release_date: expect.any(String),
      bios_release_version: expect.any(String),
      uptime: expect.any(Number),
      in_maintenance_mode: false,
      system_uuid: expect.any(String),
      service_tag: expect.any(String),
      capabilities: expect.any(Object),
    })
    expect(host.vsan).toEqual({ health: 'unknown' })
    const nics = host.nics as Record<string, Record<string, unknown>>
    expect(nics.vmk0).toEqual({
      ip_address: expect.any(String),
      subnet_mask: expect.any(String),
      mac: expect.stringMatching(/^[0-9a-f:]+$/),
      mtu: expect.any(Number),
    })
    const stores = host.datastores as Record<string, { capacity: number; free_space: number }>
    expect(Object.keys(stores).length).toBeGreaterThan(0)
    for (const ds of Object.values(stores))
      expect(ds).toEqual({ capacity: expect.any(Number), free_space: expect.any(Number) })
    // key= traverses (saltext: vsan:health); the default when missing; another delimiter.
    expect(await call('vmware_esxi.get', [], { host_name: 'DC0_H0', key: 'cpu_model' })).toEqual({
      DC0_H0: expect.stringMatching(/\w/),
    })
    expect(
      await call('vmware_esxi.get', [], {
        host_name: 'DC0_H0',
        key: 'nics/vmk0/mtu',
        delimiter: '/',
      }),
    ).toEqual({ DC0_H0: 1500 })
    // test_esxi_get: key="vsan:health" is "unknown" for a host outside a vSAN cluster.
    expect(await call('vmware_esxi.get', [], { host_name: 'DC0_H0', key: 'vsan:health' })).toEqual({
      DC0_H0: 'unknown',
    })
    expect(
      await call('vmware_esxi.get', [], { host_name: 'DC0_H0', key: 'vsan:nope', default: 'n/a' }),
    ).toEqual({ DC0_H0: 'n/a' })
    // Capabilities in saltext's snake_case (utils/common.camel_to_snake_case).
    expect(host.capabilities).toMatchObject({
      vmotion_supported: true,
      maintenance_mode_supported: true,
      nfs41_supported: true,
      v_storage_capable: true,
      v_pmc_supported: true,
      max_num_disks_sv_motion: 248,
      supported_vmfs_major_version: [5, 6],
    })
    expect(await call('vmware_esxi.get_capabilities')).toMatchObject({
      DC0_H0: { vmotion_supported: true },
    })
    // host_name="no_host": nothing (saltext's test asserts `not ret`).
    expect(await call('vmware_esxi.get', ['DC0', 'DC0_C0', 'no_host'])).toEqual({})
    expect(await call('vmware_esxi.list_hosts', ['DC0', 'DC0_C0', 'no_host'])).toEqual([])
  })

  it('firewall, advanced options and maintenance mode, called as saltext’s tests call them', async () => {
    // test_firewall_config: get_all_firewall_configs(datacenter_name=, cluster_name=) and each
    // host's first ruleset has allowed_hosts, key, service?, rule.
    const all = (await call('vmware_esxi.get_all_firewall_configs', [], {
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })) as Record<string, Array<Record<string, unknown>>>
    for (const rulesets of Object.values(all)) {
      expect(rulesets[0]).toMatchObject({
        allowed_hosts: { ip_address: expect.any(Array), all_ip: expect.any(Boolean) },
        key: expect.any(String),
        enabled: expect.any(Boolean),
        rule: expect.arrayContaining([expect.objectContaining({ port: expect.any(Number) })]),
      })
    }
    expect(
      await call('vmware_esxi.get_all_firewall_configs', [], {
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
        host_name: 'no_host',
      }),
    ).toEqual({})
    // get_firewall_config(ruleset_name, …) positional.
    expect(
      Object.values(
        (await call('vmware_esxi.get_firewall_config', ['sshServer', 'DC0', 'DC0_C0'])) as Record<
          string,
          Array<{ key: string }>
        >,
      ).map((r) => r.map((x) => x.key)),
    ).toEqual([['sshServer'], ['sshServer'], ['sshServer']])
    // test_advanced_config: set_advanced_config(config_name=, config_value=, datacenter_name=,
    // cluster_name=) then get_advanced_config; set_advanced_config positional order.
    const set = (await call('vmware_esxi.set_advanced_config', [
      'Mem.ShareScanGHz',
      6,
      'DC0',
      'DC0_C0',
    ])) as Record<string, Record<string, unknown>>
    expect(Object.keys(set)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    const got = (await call('vmware_esxi.get_advanced_config', ['DC0', 'DC0_C0'], {
      config_name: 'Mem.ShareScanGHz',
    })) as Record<string, Record<string, unknown>>
    for (const h of Object.values(got)) expect(h['Mem.ShareScanGHz']).toBe(6)
    // test_maintenance_mode: maintenance_mode(host, 120) three times, changes only the first.
    const host = 'DC0_C0_H2'
    expect(await call('vmware_esxi.in_maintenance_mode', [host])).toEqual({
      maintenanceMode: 'normal',
    })
    for (const i of [0, 1, 2])
      expect(await call('vmware_esxi.maintenance_mode', [host, 120])).toEqual({
        maintenanceMode: 'inMaintenance',
        changes: !i,
      })
    for (const i of [0, 1, 2])
      expect(await call('vmware_esxi.exit_maintenance_mode', [host, 120])).toEqual({
        maintenanceMode: 'normal',
        changes: !i,
      })
  })
})

describe('maintenance mode state (states/esxi.py maintenance_mode: vmware_esxi, also vmware_host)', () => {
  it('enter_maintenance_mode decides, both ways; the alias enabled must agree', async () => {
    const host = 'DC0_C0_H1'
    const mode = async () =>
      ((await call('vmware_esxi.in_maintenance_mode', [host])) as { maintenanceMode: string })
        .maintenanceMode
    // states/esxi.py: "Already in Normal mode." when nothing is to be done.
    expect(
      await state('vmware_host.maintenance_mode', [host], { enter_maintenance_mode: false }),
    ).toMatchObject({ result: true, changes: {}, comment: 'Already in Normal mode.' })
    // Test mode: nothing changes (brine: result None, {old, new}).
    expect(await state('vmware_esxi.maintenance_mode', [host, true], {}, true)).toMatchObject({
      result: null,
      changes: { maintenance_mode: { old: false, new: true } },
    })
    expect(await mode()).toBe('normal')
    expect(await state('vmware_esxi.maintenance_mode', [host, true, 120])).toMatchObject({
      result: true,
      comment: 'Host entered Maintenance mode.',
    })
    expect(await mode()).toBe('inMaintenance')
    // The dangerous case of issue 14: False leaves maintenance mode, never enters it.
    expect(
      await state('vmware_esxi.maintenance_mode', [host], { enter_maintenance_mode: false }),
    ).toMatchObject({ result: true, comment: 'Host entered Normal mode.' })
    expect(await mode()).toBe('normal')
    const disagree = await state('vmware_esxi.maintenance_mode', [host], {
      enter_maintenance_mode: true,
      enabled: false,
    })
    expect(disagree).toMatchObject({ result: false, changes: {} })
    expect(disagree.comment).toMatch(/disagree/)
    expect(await state('vmware_esxi.maintenance_mode', [host])).toMatchObject({ result: false })
    expect(await mode()).toBe('normal')
  })
})

describe('advanced_configs state (states/esxi.py advanced_configs: vmware_esxi, also vmware_host)', () => {
  it('sets what differs on the selected hosts, reports no change after, fails an unknown option', async () => {
    const sel = { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
    const configs = { 'Config.HostAgent.log.level': 'verbose' }
    const apply = (test = false, wanted: Record<string, unknown> = configs) =>
      state('vmware_esxi.advanced_configs', ['esxi-advanced', wanted], sel, test)
    const dry = await apply(true)
    expect(dry).toMatchObject({ result: null, comment: 'Changes would be made' })
    expect(Object.keys(dry.changes).sort()).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    expect(dry.changes.DC0_C0_H0).toEqual({
      old: { 'Config.HostAgent.log.level': 'info' },
      new: { 'Config.HostAgent.log.level': 'verbose' },
    })
    const read = () =>
      call('vmware_esxi.get_advanced_config', [], {
        ...sel,
        config_name: 'Config.HostAgent.log.level',
      })
    expect(
      Object.values((await read()) as Record<string, Record<string, unknown>>),
    ).not.toContainEqual({ 'Config.HostAgent.log.level': 'verbose' })
    expect(await apply()).toMatchObject({ result: true, comment: 'Changes were made' })
    for (const options of Object.values((await read()) as Record<string, Record<string, unknown>>))
      expect(options['Config.HostAgent.log.level']).toBe('verbose')
    expect(await apply()).toMatchObject({
      result: true,
      changes: {},
      comment: 'Config already in correct state',
    })
    const unknown = await apply(false, { 'No.Such.Option': 1 })
    expect(unknown.result).toBe(false)
    expect(unknown.changes).toEqual({})
  })
})

describe('esxi_host credentials (utils/connect.py get_service_instance(esxi_host=))', () => {
  let esx: Vcsim
  let both: Runtime
  let direct: Runtime
  beforeAll(async () => {
    esx = await startVcsim({ esx: true })
    // vCenter's host DC0_H0 is reached directly at the ESX simulator's address.
    both = vmwareRuntime(vcsim, 'compat', [], {
      'saltext.vmware': {
        host: vcsim.url,
        user: 'compat',
        password: 'pw',
        ca_file: vcsim.caFile,
        esxi_host: {
          DC0_H0: { host: esx.url, user: 'root', password: 'pw', ca_file: esx.caFile },
        },
      },
    })
    direct = vmwareRuntime(esx, 'root')
  })
  afterAll(async () => {
    await both?.close()
    await direct?.close()
    await esx?.stop()
  })

  it('role functions with esxi_host_name work on that host, not on vCenter', async () => {
    // test_add_update_remove_role (modules/esxi.py add_role/update_role/remove_role/get_role),
    // with saltext's esxi_host_name.
    const on = { esxi_host_name: 'DC0_H0' }
    const added = (await both.call('vmware_esxi.add_role', {
      args: ['esx-role', ['Folder.Create']],
      kwargs: on,
    })) as { role_id: number }
    expect(added.role_id).toEqual(expect.any(Number))
    expect(await direct.call('vmware_esxi.get_role', { args: ['esx-role'] })).toMatchObject({
      role_id: added.role_id,
      role_name: 'esx-role',
    })
    expect(await both.call('vmware_esxi.get_role', { args: ['esx-role'] })).toEqual({})
    expect(
      await both.call('vmware_esxi.update_role', {
        args: ['esx-role', ['Folder.Create', 'Folder.Delete']],
        kwargs: on,
      }),
    ).toBe(true)
    const updated = (await both.call('vmware_esxi.get_role', {
      args: ['esx-role', 'DC0_H0'],
    })) as { privilege_ids: string[] }
    expect(updated.privilege_ids).toEqual(
      expect.arrayContaining(['Folder.Create', 'Folder.Delete']),
    )
    expect(
      await both.call('vmware_esxi.remove_role', { args: ['esx-role', false, 'DC0_H0'] }),
    ).toBe(true)
    expect(await direct.call('vmware_esxi.get_role', { args: ['esx-role'] })).toEqual({})
    // A host without esxi_host credentials: saltext's sentence, then which entry to add.
    const error = await both
      .call('vmware_esxi.get_role', { args: ['x'], kwargs: { esxi_host_name: 'DC0_C0_H0' } })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      )
    expect(error?.message).toMatch(
      /^Cannot create service instance, VMware credentials incomplete\. ESXi host 'DC0_C0_H0' has no credentials under saltext\.vmware:esxi_host/,
    )
  })

  it('local users of the selected hosts through their esxi_host credentials', async () => {
    // test_add_update_remove_user: add_user/get_user/update_user/remove_user by selection.
    const sel = { datacenter_name: 'DC0', host_name: 'DC0_H0' }
    expect(
      await both.call('vmware_esxi.add_user', {
        kwargs: { ...sel, user_name: 'salt1', password: 'Secret@123' },
      }),
    ).toEqual({ DC0_H0: true })
    expect(await direct.call('vmware_host.list_users')).toContainEqual({
      name: 'salt1',
      description: expect.any(String),
    })
    expect(
      await both.call('vmware_esxi.get_user', { kwargs: { ...sel, user_name: 'salt1' } }),
    ).toEqual({
      DC0_H0: {
        salt1: {
          description: expect.any(String),
          group: false,
          user_id: 'salt1',
          shell_access: null,
        },
      },
    })
    expect(
      await both.call('vmware_esxi.update_user', {
        kwargs: { ...sel, user_name: 'salt1', password: 'Secret@456', description: 'admin' },
      }),
    ).toEqual({ DC0_H0: true })
    expect(
      await both.call('vmware_esxi.remove_user', { kwargs: { ...sel, user_name: 'salt1' } }),
    ).toEqual({ DC0_H0: true })
    expect(
      ((await direct.call('vmware_host.list_users')) as Array<{ name: string }>).map((u) => u.name),
    ).not.toContain('salt1')
    // states/esxi.py user_present/user_absent with saltext's selection (brine: vmware_host).
    const present = (test = false) =>
      both.call('vmware_host.user_present', {
        args: ['salt2', 'Secret@123', 'ops'],
        kwargs: sel,
        state: true,
        test,
      }) as Promise<StateReturn>
    expect(await present(true)).toMatchObject({
      result: null,
      changes: { DC0_H0: { user: { old: null, new: { name: 'salt2', description: 'ops' } } } },
    })
    expect(
      ((await direct.call('vmware_host.list_users')) as Array<{ name: string }>).map((u) => u.name),
    ).not.toContain('salt2')
    expect(await present()).toMatchObject({
      result: true,
      comment: "Local user 'salt2' created on DC0_H0.",
    })
    expect(await present()).toMatchObject({ result: true, changes: {} })
    expect(
      await both.call('vmware_host.user_absent', { args: ['salt2'], kwargs: sel, state: true }),
    ).toMatchObject({ result: true, changes: { DC0_H0: { user: { old: 'salt2', new: null } } } })
    expect(
      ((await direct.call('vmware_host.list_users')) as Array<{ name: string }>).map((u) => u.name),
    ).not.toContain('salt2')
    // host_name="no_host": nothing to do, {} (saltext's test asserts `not ret`).
    expect(
      await both.call('vmware_esxi.add_user', {
        kwargs: { datacenter_name: 'DC0', host_name: 'no_host', user_name: 'x', password: 'y' },
      }),
    ).toEqual({})
  })
})

describe('vmware_vswitch, vmware_dvswitch, vmware_dvportgroup', () => {
  it('vswitch get/add/remove (modules/vswitch.py; tests/integration/modules/test_vswitch.py)', async () => {
    // test_get: get(host.name, "vSwitch0") is one switch with int num_ports and mtu, its nics
    // and port groups by name.
    const [sw0] = (await call('vmware_vswitch.get', ['DC0_H0', 'vSwitch0'])) as Array<
      Record<string, unknown>
    >
    // vcsim 0.24.2's vSwitch0 has no spec (num_ports 0, mtu None), no physical NIC, and only
    // "VM Network" among its port groups' keys.
    expect(sw0).toEqual({
      num_ports: expect.any(Number),
      mtu: null,
      name: 'vSwitch0',
      nics: [],
      portgroups: ['VM Network'],
    })
    // test_add_get_remove: add(switch_name=, hostname=) → {added}; get lists it; remove → {removed}.
    expect(
      await call('vmware_vswitch.add', [], { switch_name: 'vswitch-compat', hostname: 'DC0_H0' }),
    ).toEqual({ added: 'vswitch-compat' })
    expect(((await call('vmware_vswitch.get', ['DC0_H0'])) as unknown[]).length).toBeGreaterThan(1)
    expect(await call('vmware_vswitch.get', ['DC0_H0', 'vswitch-compat'])).toEqual([
      // (vcsim 0.24.2's AddVirtualSwitch keeps no spec: num_ports 0, mtu None.)
      expect.objectContaining({ name: 'vswitch-compat', num_ports: expect.any(Number) }),
    ])
    expect(
      await call('vmware_vswitch.remove', [], {
        switch_name: 'vswitch-compat',
        hostname: 'DC0_H0',
      }),
    ).toEqual({ removed: 'vswitch-compat' })
    expect(await call('vmware_vswitch.get', ['DC0_H0', 'vswitch-compat'])).toEqual([])
  })

  it('dvswitch configure creates, then changes what is given; list gives names (test_dvswitch.py)', async () => {
    // tests/integration/modules/test_dvswitch.py test_manage, first call (all settings).
    expect(
      await call('vmware_dvswitch.configure', [], {
        switch_name: 'dvs-compat',
        datacenter_name: 'DC0',
        uplink_count: 5,
        uplink_prefix: 'Test ',
        switch_version: '6.5.0',
        switch_description: 'New switch',
        mtu: 2000,
        discovery_protocol: 'cdp',
        discovery_operation: 'listen',
        multicast_filtering_mode: 'basic',
        contact_name: 'Fred',
        contact_description: 'Hello Fred',
        network_forged_transmits: false,
        network_mac_changes: false,
        network_promiscuous: false,
      }),
    ).toBe(true)
    expect(await call('vmware_dvswitch.list')).toEqual(['DVS0', 'dvs-compat'])
    // (vcsim 0.24.2 keeps the description of a new switch but not its MTU: CreateDVS_Task
    // runs as a task, after brine's main.go looked for the switch to apply the MTU.)
    expect(await call('vmware_dvswitch.get', [], { name: 'dvs-compat' })).toMatchObject({
      description: 'New switch',
    })
    // An update of what vcsim 0.24.2 keeps (description, MTU), positionally.
    expect(
      await call('vmware_dvswitch.configure', [
        'DC0',
        'dvs-compat',
        undefined,
        'Uplink ',
        undefined,
        'Updated switch',
        1600,
      ]),
    ).toBe(true)
    expect(await call('vmware_dvswitch.get', [], { name: 'dvs-compat' })).toMatchObject({
      description: 'Updated switch',
      max_mtu: 1600,
    })
    // test_manage's third call: a bad discovery protocol fails (here before anything is sent).
    expect(
      (
        await failure('vmware_dvswitch.configure', [], {
          switch_name: 'dvs-compat',
          datacenter_name: 'DC0',
          discovery_protocol: 'sdnp',
        })
      )?.message,
    ).toMatch(/discovery_protocol/)
    // Never dropped: what brine does not implement is refused, nothing changed.
    expect(
      (
        await failure('vmware_dvswitch.configure', [], {
          switch_name: 'dvs-compat',
          datacenter_name: 'DC0',
          switch_version: '7.0.0',
          mtu: 9000,
        })
      )?.code,
    ).toBe('BRINE_UNSUPPORTED')
    expect(
      (
        await failure('vmware_dvswitch.configure', [], {
          switch_name: 'dvs-compat',
          datacenter_name: 'DC0',
          health_vlan_mtu: true,
        })
      )?.code,
    ).toBe('BRINE_UNSUPPORTED')
    expect(await call('vmware_dvswitch.get', [], { name: 'dvs-compat' })).toMatchObject({
      max_mtu: 1600,
    })
    // A brine alias that disagrees with saltext's name fails before anything is sent.
    expect(
      (
        await failure('vmware_dvswitch.configure', [], {
          switch_name: 'dvs-compat',
          name: 'other',
        })
      )?.code,
    ).toBe('BRINE_ARGUMENT')
    await call('vmware_dvswitch.delete', [], { name: 'dvs-compat' })
  })

  it('dvportgroup get(switch_name, portgroup_key, host_name) → {name, vlan, pnic} or {}', async () => {
    // modules/dvportgroup.py get; tests/unit/modules/test_dvportgroup.py expects
    // {name, vlan, pnic}, and {} for a key the switch does not have.
    const pg = (await call('vmware_dvportgroup.get', [], { name: 'DC0_DVPG0' })) as { id: string }
    expect(await call('vmware_dvportgroup.get', ['DVS0', pg.id])).toMatchObject({
      name: 'DC0_DVPG0',
      vlan: expect.anything(),
      pnic: [],
    })
    expect(await call('vmware_dvportgroup.get', ['DVS0', pg.id, 'DC0_C0_H0'])).toMatchObject({
      name: 'DC0_DVPG0',
      pnic: expect.any(Array),
    })
    expect(await call('vmware_dvportgroup.get', ['DVS0', 'dvportgroup-none'])).toEqual({})
    expect(await call('vmware_dvportgroup.get', ['no-such-switch', pg.id])).toEqual({})
  })
})

describe('every network, host and tag state refuses an unknown argument before anything changes', () => {
  it('nothing is created, changed or deleted (read back from vcsim)', async () => {
    const before = {
      dvswitches: await call('vmware_dvswitch.list'),
      portgroups: await call('vmware_dvportgroup.list'),
      vswitches: await call('vmware_vswitch.get', ['DC0_H0']),
      host: await call('vmware_esxi.get', [], { host_name: 'DC0_H0', key: 'in_maintenance_mode' }),
      categories: await call('vmware_tag.list_category'),
    }
    const cases: Array<[string, Record<string, unknown>]> = [
      ['vmware_dvswitch.present', { name: 'dvs-x', datacenter: 'DC0', mtu_size: 9000 }],
      ['vmware_dvswitch.absent', { name: 'DVS0', datacenter: 'DC0', force: true }],
      ['vmware_dvportgroup.present', { name: 'pg-x', dvswitch: 'DVS0', vlan_id: 5 }],
      ['vmware_dvportgroup.absent', { name: 'DC0_DVPG0', dvswitch_name: 'DVS0' }],
      ['vmware_vswitch.present', { name: 'vSwitch9', host: 'DC0_H0', mtu_size: 9000 }],
      ['vmware_vswitch.absent', { name: 'vSwitch0', host: 'DC0_H0', forced: true }],
      [
        'vmware_vswitch.portgroup_present',
        { name: 'pg-y', host: 'DC0_H0', vswitch: 'vSwitch0', vlan_id: 3 },
      ],
      ['vmware_host.maintenance_mode', { name: 'DC0_H0', enter_maintenace_mode: true }],
      ['vmware_host.firewall_ruleset', { name: 'DC0_H0', ruleset: 'sshServer', enable: false }],
      ['vmware_host.advanced_option', { name: 'DC0_H0', key: 'Mem.ShareScanGHz', val: 1 }],
      ['vmware_host.user_present', { name: 'u', password: 'p', hostname: 'DC0_H0' }],
      ['vmware_host.user_absent', { name: 'u', hostname: 'DC0_H0' }],
      ['vmware_tag.category_present', { name: 'c-x', cardinality: 'SINGLE', colour: 'red' }],
      ['vmware_tag.attached', { name: 'DC0_H0_VM0', object_type: 'vm', tag: 't', categ: 'c' }],
    ]
    for (const [fun, kwargs] of cases) {
      const error = await rt.call(fun, { kwargs, state: true }).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(error?.message, fun).toMatch(/unknown argument/)
    }
    expect({
      dvswitches: await call('vmware_dvswitch.list'),
      portgroups: await call('vmware_dvportgroup.list'),
      vswitches: await call('vmware_vswitch.get', ['DC0_H0']),
      host: await call('vmware_esxi.get', [], { host_name: 'DC0_H0', key: 'in_maintenance_mode' }),
      categories: await call('vmware_tag.list_category'),
    }).toEqual(before)
  })
})
