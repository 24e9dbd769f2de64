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
import { pack } from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { createContentLibraryClient } from '../vsphere/content-library.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
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

async function ova(name: string, members: Array<[string, Buffer]>): Promise<string> {
  const archive = pack()
  for (const [entry, data] of members) archive.entry({ name: entry, size: data.length }, data)
  archive.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of archive) chunks.push(chunk as Buffer)
  const path = join(tmp, name)
  writeFileSync(path, Buffer.concat(chunks))
  return path
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
})
