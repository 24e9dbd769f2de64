import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { moref } from '../vsphere/codec.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { createTaggingClient } from '../vsphere/tagging.ts'
import { compareVersions, selectByVersion, UnsupportedVersionError } from '../vsphere/versions.ts'
import { type FakeVcenter, startFakeVcenter } from './helpers/fake-vcenter.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

describe('version table', () => {
  it('compares dotted versions and picks the row covering the API version', () => {
    expect(compareVersions('7.0.3.0', '7.0')).toBe(1)
    expect(compareVersions('6.7.3', '7.0')).toBe(-1)
    expect(compareVersions('7.0', '7.0.0')).toBe(0)
    const table = [
      { min: '6.0', max: '7.0', impl: 'rest' },
      { min: '7.0', impl: 'api' },
    ]
    expect(selectByVersion(table, '6.5', 'tagging')).toBe('rest')
    expect(selectByVersion(table, '7.0.3.0', 'tagging')).toBe('api')
    expect(selectByVersion(table, '8.0.2.0', 'tagging')).toBe('api')
    expect(() => selectByVersion(table, '5.5', 'tagging')).toThrow(UnsupportedVersionError)
    expect(() => selectByVersion(table, '5.5', 'tagging')).toThrow(
      'tagging is not supported on vSphere API 5.5 (supported: 6.0–7.0, 7.0–*).',
    )
  })
})

describe('tagging through /rest (vcsim 0.24.2, API 6.5)', () => {
  let vcsim: Vcsim
  beforeAll(async () => {
    vcsim = await startVcsim()
  })
  afterAll(async () => {
    await vcsim?.stop()
  })

  it('creates, lists, attaches, detaches and deletes', async () => {
    const si = await ServiceInstance.connect(
      resolveConnectionParams({
        server: vcsim.url,
        user: 'tagger',
        password: 'pw',
        caFile: vcsim.caFile,
      }),
    )
    await si.login()
    const client = await createTaggingClient(si)
    try {
      expect(client.flavor).toBe('rest')
      const category = await client.createCategory({
        name: 'env',
        description: 'where',
        cardinality: 'SINGLE',
        associable_types: [],
      })
      await expect(
        client.createCategory({
          name: 'env',
          description: '',
          cardinality: 'SINGLE',
          associable_types: [],
        }),
      ).rejects.toMatchObject({ code: 'BRINE_TAG_EXISTS' })
      expect(await client.listCategories()).toEqual([
        expect.objectContaining({ id: category, name: 'env', cardinality: 'SINGLE' }),
      ])
      const tag = await client.createTag({ name: 'prod', description: '', category_id: category })
      const vm = moref('VirtualMachine', 'vm-57')
      await client.attach(tag, vm)
      expect(await client.attachedTags(vm)).toEqual([tag])
      expect(await client.attachedObjects(tag)).toEqual([vm])
      await client.detach(tag, vm)
      expect(await client.attachedTags(vm)).toEqual([])
      await client.deleteTag(tag)
      await client.deleteCategory(category)
      expect(await client.listCategories()).toEqual([])
    } finally {
      await client.close()
      await si.logout()
    }
  })
})

describe('tagging through /api (vSphere 7.0+, node:http fake)', () => {
  let fake: FakeVcenter
  const requests: Array<{
    method: string
    url: string
    body: string
    session: string | undefined
    auth: string | undefined
  }> = []
  beforeAll(async () => {
    fake = await startFakeVcenter()
    const categories = new Map<string, Record<string, unknown>>()
    fake.handleRest((body, req, res) => {
      requests.push({
        method: req.method!,
        url: req.url!,
        body,
        session: req.headers['vmware-api-session-id'] as string | undefined,
        auth: req.headers.authorization,
      })
      const json = (status: number, value?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(value === undefined ? '' : JSON.stringify(value))
      }
      if (req.url === '/api/session' && req.method === 'POST') return json(201, 'api-token-123')
      if (req.url === '/api/session' && req.method === 'DELETE') return json(204)
      if (req.headers['vmware-api-session-id'] !== 'api-token-123')
        return json(401, { error_type: 'UNAUTHENTICATED' })
      if (req.url === '/api/cis/tagging/category' && req.method === 'POST') {
        const spec = JSON.parse(body)
        categories.set('cat-1', { ...spec, id: 'cat-1' })
        return json(201, 'cat-1')
      }
      if (req.url === '/api/cis/tagging/category' && req.method === 'GET')
        return json(200, [...categories.keys()])
      if (req.url === '/api/cis/tagging/category/cat-1' && req.method === 'GET')
        return json(200, categories.get('cat-1'))
      if (req.url === '/api/cis/tagging/tag-association?action=list-attached-tags')
        return json(200, ['tag-9'])
      if (req.url === '/api/cis/tagging/tag-association/tag-9?action=attach') return json(204)
      return json(404, { error_type: 'NOT_FOUND' })
    })
  })
  afterAll(async () => {
    await fake?.close()
  })

  it('uses /api paths, plain JSON bodies and action= on API 8.0', async () => {
    const si = await ServiceInstance.connect(
      resolveConnectionParams({
        server: fake.url,
        user: 'fake',
        password: 'Secr3t',
        insecure: true,
      }),
    )
    await si.login()
    expect(si.content.about.apiVersion).toBe('8.0.2.0')
    const client = await createTaggingClient(si)
    expect(client.flavor).toBe('api')
    const id = await client.createCategory({
      name: 'env',
      description: '',
      cardinality: 'MULTIPLE',
      associable_types: ['VirtualMachine'],
    })
    expect(id).toBe('cat-1')
    expect(await client.listCategories()).toEqual([
      {
        id: 'cat-1',
        name: 'env',
        description: '',
        cardinality: 'MULTIPLE',
        associable_types: ['VirtualMachine'],
      },
    ])
    await client.attach('tag-9', moref('VirtualMachine', 'vm-1'))
    expect(await client.attachedTags(moref('VirtualMachine', 'vm-1'))).toEqual(['tag-9'])
    await expect(client.deleteTag('nope')).rejects.toMatchObject({ code: 'BRINE_NOT_FOUND' })
    await client.close()
    await si.logout()

    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/api/session',
      auth: `Basic ${Buffer.from('fake:Secr3t').toString('base64')}`,
    })
    expect(JSON.parse(requests[1]!.body)).toEqual({
      name: 'env',
      description: '',
      cardinality: 'MULTIPLE',
      associable_types: ['VirtualMachine'],
    })
    expect(requests.find((r) => r.url.includes('action=attach'))?.body).toBe(
      '{"object_id":{"id":"vm-1","type":"VirtualMachine"}}',
    )
    expect(requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/session' })
    expect(requests.slice(1).every((r) => r.session === 'api-token-123')).toBe(true)
  })
})
