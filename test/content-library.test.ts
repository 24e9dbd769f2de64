// Content libraries (vmware_content_library module and state) against vcsim's vAPI simulator
// and the gap fill in test/vcsim/content-library.go. saltext-vmware has no content library
// functions; the behaviour checked is the vSphere Automation API reference's
// (content/library, content/local-library, content/subscribed-library, content/library/item,
// item/updatesession/file, vcenter/ovf/library-item, vcenter/vm-template/library-items).
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import type { Runtime } from '../loader/runtime.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { createContentLibraryClient } from '../vsphere/content-library.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { cliDirFor, runCli } from './helpers/cli.ts'
import { writeOva } from './helpers/ova.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

const fixtures = join(import.meta.dirname, 'fixtures', 'ovf')
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex')
const descriptor = readFileSync(join(fixtures, 'tiny.ovf'))
const disk = readFileSync(join(fixtures, 'tiny-disk1.vmdk'))
const tmp = mkdtempSync(join(tmpdir(), 'brine-content-library-'))

let vcsim: Vcsim
let rt: Runtime
let si: ServiceInstance
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'librarian')
  si = await ServiceInstance.connect(
    resolveConnectionParams({
      server: vcsim.url,
      user: 'direct',
      password: 'pw',
      caFile: vcsim.caFile,
    }),
  )
  await si.login()
})
afterAll(async () => {
  await si?.logout()
  await rt?.close()
  await vcsim?.stop()
})

const { call, state, failure } = callersOf(() => rt)

/** A direct REST read, not through the module: what vCenter holds. */
async function direct<T>(
  fn: (c: Awaited<ReturnType<typeof createContentLibraryClient>>) => Promise<T>,
) {
  const client = await createContentLibraryClient(si)
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

function ova(name: string, members: Array<[string, Buffer]>): Promise<string> {
  return writeOva(tmp, name, members)
}

async function vmNamed(name: string): Promise<boolean> {
  const { findEntityByName } = await import('../vsphere/entities.ts')
  return (await findEntityByName(si, 'VirtualMachine', name)) !== undefined
}

async function vmProps(id: string, props: string[]) {
  return retrieveObjectProperties(si, { type: 'VirtualMachine', value: id }, props)
}

describe('vmware_content_library module', () => {
  it('creates, reads, lists and deletes a local library, read back through the REST API', async () => {
    const created = (await call(
      'vmware_content_library.create_library',
      ['lib-local', 'LocalDS_0'],
      {
        description: 'images',
      },
    )) as { id: string; type: string; created: boolean }
    expect(created).toMatchObject({ name: 'lib-local', type: 'LOCAL', created: true })
    const stored = await direct((c) => c.getLibrary(created.id))
    expect(stored).toMatchObject({ name: 'lib-local', type: 'LOCAL', description: 'images' })
    const ds = await retrieveObjectProperties(
      si,
      { type: 'Datastore', value: stored.storage_backings[0]!.datastore_id! },
      ['name'],
    )
    expect(ds.name).toBe('LocalDS_0')
    expect(await call('vmware_content_library.get_library', ['lib-local'])).toMatchObject({
      id: created.id,
      name: 'lib-local',
      type: 'LOCAL',
      description: 'images',
      items: 0,
    })
    expect(await call('vmware_content_library.get_library', [created.id])).toMatchObject({
      name: 'lib-local',
    })
    expect(await call('vmware_content_library.list_libraries', [], { type: 'LOCAL' })).toEqual([
      expect.objectContaining({ id: created.id, name: 'lib-local' }),
    ])
    // vCenter refuses a second library of one name.
    expect(
      (await failure('vmware_content_library.create_library', ['lib-local', 'LocalDS_0']))?.code,
    ).toBe('BRINE_VAPI_EXISTS')
    expect(await call('vmware_content_library.delete_library', ['lib-local'])).toEqual({
      name: 'lib-local',
      id: created.id,
      deleted: true,
    })
    await expect(direct((c) => c.getLibrary(created.id))).rejects.toMatchObject({
      code: 'BRINE_NOT_FOUND',
    })
    expect((await failure('vmware_content_library.get_library', ['lib-local']))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
  })

  it('uploads an OVF with its disk, an OVA and an ISO; sizes and checksums read back', async () => {
    await call('vmware_content_library.create_library', ['lib-up', 'LocalDS_0'])
    const ovfItem = (await call('vmware_content_library.upload_item', [
      'lib-up',
      'tiny-ovf',
      join(fixtures, 'tiny.ovf'),
    ])) as { id: string; type: string; size: number; files: unknown[] }
    const expected = [
      { name: 'tiny.ovf', size: descriptor.length, checksum: sha1(descriptor), algorithm: 'SHA1' },
      { name: 'tiny-disk1.vmdk', size: disk.length, checksum: sha1(disk), algorithm: 'SHA1' },
    ]
    expect(ovfItem).toMatchObject({ name: 'tiny-ovf', type: 'ovf', library: 'lib-up' })
    expect(ovfItem.files).toEqual(expect.arrayContaining(expected))
    expect(ovfItem.files).toHaveLength(2)
    // Read back directly: the files vCenter holds, with its checksums.
    const files = await direct((c) => c.listFiles(ovfItem.id))
    expect(files.map((f) => [f.name, f.size, f.checksum_info?.checksum]).sort()).toEqual(
      [
        ['tiny-disk1.vmdk', disk.length, sha1(disk)],
        ['tiny.ovf', descriptor.length, sha1(descriptor)],
      ].sort(),
    )
    expect((await direct((c) => c.getItem(ovfItem.id))).size).toBe(descriptor.length + disk.length)

    const ovaPath = await ova('tiny.ova', [
      ['tiny.ovf', descriptor],
      ['tiny-disk1.vmdk', disk],
    ])
    const ovaItem = (await call(
      'vmware_content_library.upload_item',
      ['lib-up', 'tiny-ova', ovaPath],
      {
        description: 'from an OVA',
      },
    )) as { files: unknown[] }
    expect(ovaItem).toMatchObject({ type: 'ovf', description: 'from an OVA' })
    expect(ovaItem.files).toEqual(expect.arrayContaining(expected))

    const iso = Buffer.from('CD001 not really an ISO, but bytes all the same\n'.repeat(100))
    writeFileSync(join(tmp, 'tools.iso'), iso)
    expect(
      await call('vmware_content_library.upload_item', ['lib-up', 'tools', join(tmp, 'tools.iso')]),
    ).toMatchObject({
      type: 'iso',
      size: iso.length,
      files: [{ name: 'tools.iso', size: iso.length, checksum: sha1(iso), algorithm: 'SHA1' }],
    })

    expect(
      (
        (await call('vmware_content_library.list_items', ['lib-up'])) as Array<{ name: string }>
      ).map((i) => i.name),
    ).toEqual(['tiny-ova', 'tiny-ovf', 'tools'])
    expect(
      (
        (await call('vmware_content_library.list_items', ['lib-up'], { type: 'iso' })) as Array<{
          name: string
        }>
      ).map((i) => i.name),
    ).toEqual(['tools'])
    expect(await call('vmware_content_library.get_item', ['lib-up', 'tools'])).toMatchObject({
      name: 'tools',
      files: [{ name: 'tools.iso', checksum: sha1(iso) }],
    })

    // An item name is taken once per library.
    expect(
      (
        await failure('vmware_content_library.upload_item', [
          'lib-up',
          'tools',
          join(tmp, 'tools.iso'),
        ])
      )?.code,
    ).toBe('BRINE_VAPI_EXISTS')
    const deleted = (await call('vmware_content_library.delete_item', ['lib-up', 'tools'])) as {
      id: string
    }
    expect(deleted).toMatchObject({ name: 'tools', library: 'lib-up', deleted: true })
    await expect(direct((c) => c.getItem(deleted.id))).rejects.toMatchObject({
      code: 'BRINE_NOT_FOUND',
    })
  })

  it('an upload whose bytes do not match the announced checksum fails validation and completes nothing', async () => {
    // content/library/item/updatesession/file validate: a file whose checksum differs from
    // AddSpec.checksum_info is invalid, and complete is refused.
    const lib = (await call('vmware_content_library.get_library', ['lib-up'])) as { id: string }
    const data = Buffer.from('some bytes')
    await direct(async (c) => {
      const item = await c.createItem({ library_id: lib.id, name: 'bad-sum', type: 'iso' })
      await expect(
        c.uploadFiles(item, [
          {
            name: 'bad.iso',
            size: data.length,
            checksum: { algorithm: 'SHA1', checksum: sha1(Buffer.from('other bytes')) },
            open: () => Readable.from([data]),
          },
        ]),
      ).rejects.toMatchObject({
        code: 'BRINE_VAPI_REST',
        message: expect.stringContaining('checksum does not match'),
      })
      expect((await c.listFiles(item)).find((f) => f.checksum_info)).toBeUndefined()
      await c.deleteItem(item)
    })
  })

  it('refuses bad input with the argument named', async () => {
    expect(
      await failure('vmware_content_library.upload_item', [
        'lib-up',
        'x',
        join(tmp, 'missing.iso'),
      ]),
    ).toMatchObject({ code: 'BRINE_ARGUMENT', message: expect.stringContaining('missing.iso') })
    writeFileSync(join(tmp, 'notes.txt'), 'hello')
    expect(
      await failure('vmware_content_library.upload_item', ['lib-up', 'x', join(tmp, 'notes.txt')]),
    ).toMatchObject({ code: 'BRINE_ARGUMENT', message: expect.stringContaining('type=') })
    expect(await failure('vmware_content_library.sync_library', ['lib-up'])).toMatchObject({
      code: 'BRINE_ARGUMENT',
      message: expect.stringContaining('subscribed'),
    })
    expect(
      await failure('vmware_content_library.create_library', ['lib-x', 'LocalDS_0'], {
        user_name: 'u',
      }),
    ).toMatchObject({
      code: 'BRINE_ARGUMENT',
      message: expect.stringContaining('subscription_url'),
    })
    expect((await failure('vmware_content_library.list_items', ['no-such-library']))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
  })

  it('deploys an OVF item with placement, network mapping, a stored customization spec and power-on', async () => {
    const deployed = (await call(
      'vmware_content_library.deploy',
      ['lib-up', 'tiny-ovf', 'cl-ovf-vm'],
      {
        datacenter: 'DC0',
        cluster: 'DC0_C0',
        datastore: 'LocalDS_0',
        networks: { 'VM Network': 'DC0_DVPG0' },
        customization_spec: 'vcsim-linux-static',
        power_on: true,
      },
    )) as { id: string }
    expect(deployed).toMatchObject({
      deployed: true,
      name: 'cl-ovf-vm',
      item: 'tiny-ovf',
      library: 'lib-up',
      power_state: 'poweredOn',
      customized: true,
    })
    // Read back: where the VM is, its network, and the customization applied at power-on.
    const props = await vmProps(deployed.id, [
      'name',
      'resourcePool',
      'datastore',
      'network',
      'parent',
      'runtime.powerState',
      'guest.hostName',
      'guest.ipAddress',
      'config.tools.pendingCustomization',
    ])
    expect(props.name).toBe('cl-ovf-vm')
    expect(props['runtime.powerState']).toBe('poweredOn')
    const pool = await retrieveObjectProperties(si, props.resourcePool as never, ['owner'])
    expect((await retrieveObjectProperties(si, pool.owner as never, ['name'])).name).toBe('DC0_C0')
    const ds = [props.datastore].flat() as never[]
    expect((await retrieveObjectProperties(si, ds[0]!, ['name'])).name).toBe('LocalDS_0')
    // vcsim-linux-static names the guest by the prefix 'vcsim' (CustomizationPrefixName).
    expect(props['guest.hostName']).toMatch(/^vcsim-\d+$/)
    expect(props['config.tools.pendingCustomization'] ?? '').toBe('')
    const networks = [props.network].flat() as Array<{ value: string }>
    const netNames = await Promise.all(
      networks.map(async (n) => (await retrieveObjectProperties(si, n as never, ['name'])).name),
    )
    expect(netNames).toEqual(['DC0_DVPG0'])
    // A VM of that name exists now: a second deploy is refused before anything is made.
    expect(
      (
        await failure('vmware_content_library.deploy', ['lib-up', 'tiny-ovf', 'cl-ovf-vm'], {
          datacenter: 'DC0',
        })
      )?.code,
    ).toBe('BRINE_VIM_DUPLICATE_NAME')
  })

  it('captures a VM as a VM-template item and deploys it onto a host, customized and powered on', async () => {
    const captured = (await call('vmware_content_library.create_template_item', [], {
      library: 'lib-up',
      name: 'tmpl',
      vm_name: 'DC0_H0_VM0',
      datacenter: 'DC0',
      host: 'DC0_H0',
    })) as { id: string }
    expect(captured).toMatchObject({ name: 'tmpl', library: 'lib-up', type: 'vm-template' })
    expect(await direct((c) => c.getItem(captured.id))).toMatchObject({
      name: 'tmpl',
      type: 'vm-template',
    })
    const deployed = (await call(
      'vmware_content_library.deploy',
      ['lib-up', 'tmpl', 'cl-tmpl-vm'],
      {
        host: 'DC0_H0',
        customization_spec: 'vcsim-linux',
        power_on: true,
      },
    )) as { id: string }
    expect(deployed).toMatchObject({ deployed: true, power_state: 'poweredOn', customized: true })
    const props = await vmProps(deployed.id, [
      'name',
      'runtime.host',
      'guest.hostName',
      'config.template',
    ])
    expect(props.name).toBe('cl-tmpl-vm')
    expect(props['config.template']).toBe(false)
    expect(
      (await retrieveObjectProperties(si, props['runtime.host'] as never, ['name'])).name,
    ).toBe('DC0_H0')
    // vcsim-linux names the guest after the VM (CustomizationVirtualMachineName: the VM's
    // name, a number appended only where needed to make it unique; customize.go).
    expect(props['guest.hostName']).toBe('cl-tmpl-vm')
    // Not powered on, not customized: the VM stays off.
    const plain = (await call('vmware_content_library.deploy', ['lib-up', 'tmpl', 'cl-tmpl-off'], {
      datacenter: 'DC0',
      cluster: 'DC0_C0',
    })) as { id: string }
    expect(plain).toMatchObject({ power_state: 'poweredOff', customized: false })
    expect((await vmProps(plain.id, ['runtime.powerState']))['runtime.powerState']).toBe(
      'poweredOff',
    )
    // A VM template keeps its NICs: networks= is refused, and an ISO item does not deploy.
    expect(
      await failure('vmware_content_library.deploy', ['lib-up', 'tmpl', 'cl-x'], {
        datacenter: 'DC0',
        networks: { a: 'VM Network' },
      }),
    ).toMatchObject({ code: 'BRINE_ARGUMENT', message: expect.stringContaining('networks=') })
    // customization= from arguments (vm-customize's builder, modules/_customization.ts): the
    // guest reports the hostname after the power-on, and the answer says how it went.
    const custom = (await call('vmware_content_library.deploy', ['lib-up', 'tmpl', 'cl-custom'], {
      datacenter: 'DC0',
      host: 'DC0_H0',
      power_on: true,
      customization: { linux: { hostname: 'cl-guest', domain: 'lab.example' } },
    })) as { id: string; customized: boolean; customization: { status: string } }
    expect(custom).toMatchObject({ customized: true, customization: { status: 'succeeded' } })
    expect((await vmProps(custom.id, ['guest.hostName']))['guest.hostName']).toBe('cl-guest')
    // A customization model without an identity is refused before any VM is made.
    expect(
      await failure('vmware_content_library.deploy', ['lib-up', 'tmpl', 'cl-x'], {
        datacenter: 'DC0',
        customization: { nics: [{ dhcp: true }] },
      }),
    ).toMatchObject({ code: 'BRINE_ARGUMENT' })
    expect(
      (
        await failure('vmware_content_library.deploy', ['lib-up', 'tmpl', 'cl-x'], {
          datacenter: 'DC0',
          customization_spec: 'no-such-spec',
        })
      )?.code,
    ).toMatch(/NOT_FOUND/)
    expect(await vmNamed('cl-x')).toBe(false)
  })

  it('a customization vCenter refuses is reported with the deployed VM left off', async () => {
    // CustomizeVM_Task: NicSettingMismatch when the spec's NIC count differs from the VM's
    // (vcsim-linux maps one NIC; this template has two).
    await call('vmware_vm.add_nic', ['DC0_H0_VM1'], { network: 'VM Network' })
    await call('vmware_content_library.create_template_item', [], {
      library: 'lib-up',
      name: 'two-nics',
      vm_name: 'DC0_H0_VM1',
      host: 'DC0_H0',
    })
    const error = await failure('vmware_content_library.deploy', ['lib-up', 'two-nics', 'cl-bad'], {
      host: 'DC0_H0',
      customization_spec: 'vcsim-linux',
      power_on: true,
    })
    expect(error).toMatchObject({
      code: 'BRINE_VIM_TASK_FAILED',
      message: expect.stringContaining('NicSettingMismatch'),
    })
    expect(error?.message).toContain("VM 'cl-bad' (vm-")
    expect(error?.message).toContain('left powered off')
    const info = (await call('vmware_vm.info', ['cl-bad'])) as Record<
      string,
      { power_state: string }
    >
    expect(info['cl-bad']?.power_state).toBe('poweredOff')
  })

  it('subscribes to a published library (BASIC password never shown), syncs it and lists its items', async () => {
    const published = (await call(
      'vmware_content_library.create_library',
      ['lib-pub', 'LocalDS_0'],
      {
        published: true,
      },
    )) as { id: string }
    await call('vmware_content_library.upload_item', [
      'lib-pub',
      'tiny',
      join(fixtures, 'tiny.ovf'),
    ])
    const pub = (await call('vmware_content_library.get_library', ['lib-pub'])) as {
      published: boolean
      publish_url: string
    }
    expect(pub.published).toBe(true)
    expect(pub.publish_url).toContain(published.id)
    const password = 'sub-Secret-4711'
    const created = await call('vmware_content_library.create_library', ['lib-sub', 'LocalDS_0'], {
      subscription_url: pub.publish_url,
      user_name: 'reader',
      password,
      on_demand: false,
    })
    expect(created).toMatchObject({ name: 'lib-sub', type: 'SUBSCRIBED', created: true })
    const sub = await call('vmware_content_library.get_library', ['lib-sub'])
    expect(sub).toMatchObject({
      type: 'SUBSCRIBED',
      subscription_url: pub.publish_url,
      on_demand: false,
      automatic_sync: false,
    })
    // What vCenter was sent: BASIC authentication with the user (read back directly).
    const stored = await direct(async (c) =>
      (await c.listLibraries()).find((l) => l.name === 'lib-sub'),
    )
    // vcsim echoes the password it stored (vCenter never answers it): proof that the Secret
    // went out as its value in the request body, and only there.
    expect(stored?.subscription_info).toMatchObject({
      authentication_method: 'BASIC',
      user_name: 'reader',
      password,
    })
    expect(JSON.stringify([created, sub])).not.toContain(password)
    const synced = (await call('vmware_content_library.sync_library', ['lib-sub'])) as {
      last_sync_time: string | null
    }
    expect(synced).toMatchObject({ name: 'lib-sub', synced: true })
    expect(synced.last_sync_time).toBeTruthy()
    expect(
      (
        (await call('vmware_content_library.list_items', ['lib-sub'])) as Array<{ name: string }>
      ).map((i) => i.name),
    ).toEqual(['tiny'])
    // A subscribed library takes no uploads.
    expect(
      await failure('vmware_content_library.upload_item', [
        'lib-sub',
        'x',
        join(fixtures, 'tiny.ovf'),
      ]),
    ).toMatchObject({ code: 'BRINE_ARGUMENT' })
    expect(await call('vmware_content_library.delete_library', ['lib-sub'])).toMatchObject({
      deleted: true,
    })
    expect(await call('vmware_content_library.list_libraries', [], { type: 'SUBSCRIBED' })).toEqual(
      [],
    )
  })
})

describe('vmware_content_library states', () => {
  const libraryNames = async () =>
    ((await call('vmware_content_library.list_libraries')) as Array<{ name: string }>).map(
      (l) => l.name,
    )

  it('library_present and library_absent: create, no change, update, test mode, absent', async () => {
    const sls = { datastore: 'LocalDS_0', description: 'golden images' }
    // Test mode on a missing library predicts the creation and creates nothing.
    const predicted = await state('vmware_content_library.library_present', ['st-lib'], sls, true)
    expect(predicted).toMatchObject({
      result: null,
      changes: { old: null, new: { name: 'st-lib', type: 'LOCAL', description: 'golden images' } },
    })
    expect(await libraryNames()).not.toContain('st-lib')
    const created = await state('vmware_content_library.library_present', ['st-lib'], sls)
    expect(created).toMatchObject({ result: true, comment: "Content library 'st-lib' created" })
    expect(await call('vmware_content_library.get_library', ['st-lib'])).toMatchObject({
      description: 'golden images',
    })
    // Second run: nothing to do.
    expect(await state('vmware_content_library.library_present', ['st-lib'], sls)).toMatchObject({
      result: true,
      changes: {},
    })
    // A new description: predicted in test mode (unchanged on the server), then applied.
    const wanted = { ...sls, description: 'all images' }
    expect(
      await state('vmware_content_library.library_present', ['st-lib'], wanted, true),
    ).toMatchObject({
      result: null,
      changes: { old: { description: 'golden images' }, new: { description: 'all images' } },
    })
    expect(await call('vmware_content_library.get_library', ['st-lib'])).toMatchObject({
      description: 'golden images',
    })
    expect(await state('vmware_content_library.library_present', ['st-lib'], wanted)).toMatchObject(
      {
        result: true,
        changes: { new: { description: 'all images' } },
      },
    )
    expect(await call('vmware_content_library.get_library', ['st-lib'])).toMatchObject({
      description: 'all images',
    })
    // A local library asked to be subscribed: reported, not deleted.
    expect(
      await state('vmware_content_library.library_present', ['st-lib'], {
        ...sls,
        subscription_url: 'https://elsewhere.example.com/cls/vcsp/lib/x/lib.json',
      }),
    ).toMatchObject({ result: false, comment: expect.stringContaining('LOCAL') })
    expect(await libraryNames()).toContain('st-lib')

    // Absent: test mode first (still there), then deleted, then nothing to do.
    expect(
      await state('vmware_content_library.library_absent', ['st-lib'], {}, true),
    ).toMatchObject({ result: null, changes: { new: null } })
    expect(await libraryNames()).toContain('st-lib')
    expect(await state('vmware_content_library.library_absent', ['st-lib'])).toMatchObject({
      result: true,
      comment: "Content library 'st-lib' deleted",
    })
    expect(await libraryNames()).not.toContain('st-lib')
    expect(await state('vmware_content_library.library_absent', ['st-lib'])).toMatchObject({
      result: true,
      changes: {},
    })
  })

  it('library_present subscribes with a password that no output shows', async () => {
    const pub = (await call('vmware_content_library.get_library', ['lib-pub'])) as {
      publish_url: string
    }
    const password = 'state-Secret-0815'
    const sls = {
      datastore: 'LocalDS_0',
      subscription_url: pub.publish_url,
      user_name: 'reader',
      password,
    }
    const lines: string[] = []
    const restore = setLogSink((line) => lines.push(line))
    setLogLevel('trace')
    let created: Awaited<ReturnType<typeof state>>
    try {
      created = await state('vmware_content_library.library_present', ['st-sub'], sls)
    } finally {
      setLogLevel('warning')
      restore()
    }
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.join('\n')).not.toContain(password)
    expect(created).toMatchObject({ result: true, changes: { new: { type: 'SUBSCRIBED' } } })
    const again = await state('vmware_content_library.library_present', ['st-sub'], sls)
    expect(again).toMatchObject({ result: true, changes: {} })
    expect(JSON.stringify([created, again])).not.toContain(password)
    // Subscription settings are brought in line (content/subscribed-library update).
    expect(await call('vmware_content_library.get_library', ['st-sub'])).toMatchObject({
      on_demand: true,
      automatic_sync: false,
    })
    const eager = { ...sls, on_demand: false, automatic_sync: true }
    expect(
      await state('vmware_content_library.library_present', ['st-sub'], eager, true),
    ).toMatchObject({
      result: null,
      changes: {
        old: { on_demand: true, automatic_sync: false },
        new: { on_demand: false, automatic_sync: true },
      },
    })
    expect(await call('vmware_content_library.get_library', ['st-sub'])).toMatchObject({
      on_demand: true,
    })
    expect(await state('vmware_content_library.library_present', ['st-sub'], eager)).toMatchObject({
      result: true,
      comment: "Content library 'st-sub' updated",
    })
    expect(await call('vmware_content_library.get_library', ['st-sub'])).toMatchObject({
      on_demand: false,
      automatic_sync: true,
    })
    expect(await state('vmware_content_library.library_present', ['st-sub'], eager)).toMatchObject({
      result: true,
      changes: {},
    })
    await state('vmware_content_library.library_absent', ['st-sub'])
  })

  it('item_present and item_absent: upload, no change, replace on new content, test mode, absent', async () => {
    await state('vmware_content_library.library_present', ['st-items'], { datastore: 'LocalDS_0' })
    const iso = join(tmp, 'state.iso')
    writeFileSync(iso, Buffer.from('first content\n'.repeat(50)))
    const itemOf = async () =>
      (await direct(async (c) => {
        const lib = (await c.listLibraries()).find((l) => l.name === 'st-items')!
        const item = (await c.listItems(lib.id)).find((i) => i.name === 'media')
        return item ? { id: item.id, files: await c.listFiles(item.id) } : undefined
      })) ?? null

    const args = { library: 'st-items', path: iso }
    expect(await state('vmware_content_library.item_present', ['media'], args, true)).toMatchObject(
      {
        result: null,
        changes: { old: null, new: { type: 'iso', files: [{ name: 'state.iso' }] } },
      },
    )
    expect(await itemOf()).toBeNull()
    const first = await state('vmware_content_library.item_present', ['media'], args)
    expect(first).toMatchObject({ result: true, changes: { old: null } })
    const uploaded = await itemOf()
    expect(uploaded?.files).toEqual([
      expect.objectContaining({
        name: 'state.iso',
        size: 700,
        checksum_info: { algorithm: 'SHA1', checksum: sha1(readFileSync(iso)) },
      }),
    ])
    // Same file: nothing to do.
    expect(await state('vmware_content_library.item_present', ['media'], args)).toMatchObject({
      result: true,
      changes: {},
    })
    // Same size, other bytes: the checksum tells; test mode predicts and keeps the old item.
    writeFileSync(iso, Buffer.from('other content\n'.repeat(50)))
    const predicted = await state('vmware_content_library.item_present', ['media'], args, true)
    expect(predicted).toMatchObject({
      result: null,
      changes: {
        old: { files: [{ checksum: uploaded?.files[0]?.checksum_info?.checksum }] },
        new: { files: [{ checksum: sha1(readFileSync(iso)) }] },
      },
    })
    expect((await itemOf())?.id).toBe(uploaded?.id)
    const replaced = await state('vmware_content_library.item_present', ['media'], args)
    expect(replaced).toMatchObject({ result: true, comment: expect.stringContaining('replaced') })
    const after = await itemOf()
    expect(after?.id).not.toBe(uploaded?.id)
    expect(after?.files[0]?.checksum_info?.checksum).toBe(sha1(readFileSync(iso)))
    expect(await state('vmware_content_library.item_present', ['media'], args)).toMatchObject({
      result: true,
      changes: {},
    })
    // A description is brought in line.
    expect(
      await state('vmware_content_library.item_present', ['media'], { ...args, description: 'd' }),
    ).toMatchObject({ result: true, changes: { new: { description: 'd' } } })
    expect(await call('vmware_content_library.get_item', ['st-items', 'media'])).toMatchObject({
      description: 'd',
    })
    // A missing library: a failure, with what to do.
    expect(
      await state('vmware_content_library.item_present', ['media'], { ...args, library: 'nope' }),
    ).toMatchObject({ result: false, comment: expect.stringContaining('library_present') })

    expect(
      await state('vmware_content_library.item_absent', ['media'], { library: 'st-items' }, true),
    ).toMatchObject({ result: null })
    expect(await itemOf()).not.toBeNull()
    expect(
      await state('vmware_content_library.item_absent', ['media'], { library: 'st-items' }),
    ).toMatchObject({ result: true, changes: { new: null } })
    expect(await itemOf()).toBeNull()
    expect(
      await state('vmware_content_library.item_absent', ['media'], { library: 'st-items' }),
    ).toMatchObject({ result: true, changes: {} })
  })

  it('item_present with an OVF package is idempotent across its files', async () => {
    const args = { library: 'st-items', path: join(fixtures, 'tiny.ovf') }
    expect(await state('vmware_content_library.item_present', ['tiny'], args)).toMatchObject({
      result: true,
      changes: { new: { type: 'ovf' } },
    })
    expect(await state('vmware_content_library.item_present', ['tiny'], args)).toMatchObject({
      result: true,
      changes: {},
    })
    // The same files as an OVA make the same item.
    const ovaPath = await ova('same.ova', [
      ['tiny.ovf', descriptor],
      ['tiny-disk1.vmdk', disk],
    ])
    expect(
      await state('vmware_content_library.item_present', ['tiny'], { ...args, path: ovaPath }),
    ).toMatchObject({ result: true, changes: {} })
  })

  it('vmware_vm.present creates a VM from a content library item, once', async () => {
    const sls = {
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      content_library_item: { library: 'st-items', item: 'tiny' },
      num_cpu: 2,
    }
    const predicted = await state('vmware_vm.present', ['cl-present'], sls, true)
    expect(predicted).toMatchObject({
      result: null,
      changes: { vm: { old: null, new: { content_library_item: sls.content_library_item } } },
    })
    expect(await vmNamed('cl-present')).toBe(false)
    expect(await state('vmware_vm.present', ['cl-present'], sls)).toMatchObject({
      result: true,
      comment: "VM 'cl-present' created.",
    })
    const info = (await call('vmware_vm.info', ['cl-present'])) as Record<
      string,
      { moid: string; cluster: string }
    >
    expect(info['cl-present']?.cluster).toBe('DC0_C0')
    expect(
      (await vmProps(info['cl-present']!.moid, ['config.hardware.numCPU']))[
        'config.hardware.numCPU'
      ],
    ).toBe(2)
    expect(await state('vmware_vm.present', ['cl-present'], sls)).toMatchObject({
      result: true,
      changes: {},
    })
    expect(
      await state('vmware_vm.present', ['cl-other'], { ...sls, template: 'DC0_H0_VM0' }),
    ).toMatchObject({ result: false, comment: expect.stringContaining('not both') })
  })
})

describe('an SLS with a library, an item and a VM from it', () => {
  it('predicts in test mode, applies, then changes nothing', async () => {
    const slsRt = vmwareRuntime(vcsim, 'librarian-sls', [join(import.meta.dirname, 'fixtures')])
    try {
      slsRt.pillar = { ovf: join(fixtures, 'tiny.ovf') }
      const apply = async (test: boolean) => {
        slsRt.context = {}
        const result = (await slsRt.call('state.sls', {
          kwargs: { mods: 'content-library.library', test },
        })) as Record<string, { __id__: string; result: boolean | null; changes: object }>
        if (Array.isArray(result)) throw new Error(result.join('\n'))
        return Object.fromEntries(Object.values(result).map((r) => [r.__id__, r]))
      }
      const predicted = await apply(true)
      expect(Object.values(predicted).map((r) => r.result)).toEqual([null, null, null])
      expect(await libraryNamed('golden-images')).toBe(false)
      const applied = await apply(false)
      expect(Object.values(applied).every((r) => r.result === true)).toBe(true)
      expect(Object.values(applied).every((r) => Object.keys(r.changes).length > 0)).toBe(true)
      expect(await vmNamed('web-from-library')).toBe(true)
      const again = await apply(false)
      expect(Object.values(again).map((r) => [r.result, r.changes])).toEqual([
        [true, {}],
        [true, {}],
        [true, {}],
      ])
    } finally {
      await slsRt.close()
    }
  })
})

async function libraryNamed(name: string): Promise<boolean> {
  return direct(async (c) => (await c.listLibraries()).some((l) => l.name === name))
}

describe('local packages', () => {
  // The runtime loads modules (their 'brine/*' imports resolve there), so these go through it.
  const upload = (path: string) =>
    failure('vmware_content_library.upload_item', ['lib-up', 'never', path])

  it('an OVF brings only files next to it; an OVA needs its descriptor', async () => {
    const dir = mkdtempSync(join(tmp, 'escape-'))
    writeFileSync(
      join(dir, 'evil.ovf'),
      descriptor
        .toString('utf8')
        .replace('ovf:href="tiny-disk1.vmdk"', 'ovf:href="../../etc/passwd"'),
    )
    expect(await upload(join(dir, 'evil.ovf'))).toMatchObject({
      code: 'BRINE_OVF',
      message: expect.stringContaining('outside its folder'),
    })
    writeFileSync(join(dir, 'lonely.ovf'), descriptor)
    expect(await upload(join(dir, 'lonely.ovf'))).toMatchObject({
      code: 'BRINE_OVF',
      message: expect.stringContaining('not next to it'),
    })
    expect(await upload(await ova('disk-only.ova', [['tiny-disk1.vmdk', disk]]))).toMatchObject({
      code: 'BRINE_OVF',
      message: expect.stringContaining('no .ovf descriptor'),
    })
    // Nothing was made for any of them.
    expect(
      ((await call('vmware_content_library.list_items', ['lib-up'])) as Array<{ name: string }>)
        .map((i) => i.name)
        .includes('never'),
    ).toBe(false)
  })
})

describe('the brine CLI (dist/: npm run build first)', () => {
  it('creates a library, uploads an OVA and deploys it customized and powered on, as the demo does', async () => {
    const cwd = cliDirFor(vcsim, join(tmp, 'cli-'))
    const json = async (args: string[]) => {
      const out = await runCli([...args, '--out', 'json'], { cwd })
      expect(out.stderr, args.join(' ')).toBe('')
      return JSON.parse(out.stdout).local as Record<string, unknown>
    }
    const ovaPath = await ova('cli.ova', [
      ['tiny.ovf', descriptor],
      ['tiny-disk1.vmdk', disk],
    ])
    expect(
      await json([
        'vmware_content_library.create_library',
        'cli-lib',
        'LocalDS_0',
        'datacenter=DC0',
      ]),
    ).toMatchObject({ created: true })
    expect(
      await json(['vmware_content_library.upload_item', 'cli-lib', 'tiny', ovaPath]),
    ).toMatchObject({ type: 'ovf', size: descriptor.length + disk.length })
    const vm = await json([
      'vmware_content_library.deploy',
      'cli-lib',
      'tiny',
      'cli-vm',
      'datacenter=DC0',
      'cluster=DC0_C0',
      'datastore=LocalDS_0',
      'networks={"VM Network": "DC0_DVPG0"}',
      'customization_spec=vcsim-linux-static',
      'power_on=True',
    ])
    expect(vm).toMatchObject({ deployed: true, power_state: 'poweredOn', customized: true })
    expect((await vmProps(String(vm.id), ['guest.hostName']))['guest.hostName']).toMatch(
      /^vcsim-\d+$/,
    )
  })
})
