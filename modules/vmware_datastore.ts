import { defineFunction, defineModule, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
} from 'brine/vsphere'
import { connected, findCluster, findDatacenter, names } from './_vmware.ts'

const DS_PROPS = [
  'summary.type',
  'summary.capacity',
  'summary.freeSpace',
  'summary.accessible',
  'summary.url',
  'summary.maintenanceMode',
  'host',
]

function describeDatastore(ds: Entity) {
  const p = ds.props
  return {
    name: ds.name,
    id: ds.obj.value,
    type: p['summary.type'],
    capacity: p['summary.capacity'],
    free_space: p['summary.freeSpace'],
    accessible: p['summary.accessible'] === true,
    url: p['summary.url'],
    maintenance_mode: p['summary.maintenanceMode'] ?? 'normal',
    hosts: ((p.host as Array<{ key?: ManagedObjectReference }> | undefined) ?? []).length,
  }
}

const datastore = z.string().min(1).describe('datastore name or id')

export default defineModule({
  doc: 'Datastores: inventory and browsing.',
  functions: {
    list: defineFunction({
      doc: 'List datastores (of a datacenter or cluster when given): name, id, type, capacity, free space, URL, hosts.',
      args: { datacenter: names.datacenter.optional(), cluster: names.cluster.optional() },
      vsphere: true,
      run: async (ctx, { datacenter, cluster }) => {
        const si = await connected(ctx)
        if (cluster) {
          const c = await findCluster(ctx, cluster, datacenter, ['datastore'])
          const ids = new Set(
            ((c.props.datastore as ManagedObjectReference[] | undefined) ?? []).map((d) => d.value),
          )
          return (
            await listEntities(si, ENTITY_TYPES.datastore, { props: DS_PROPS, signal: ctx.signal })
          )
            .filter((d) => ids.has(d.obj.value))
            .map(describeDatastore)
        }
        const within = datacenter ? (await findDatacenter(ctx, datacenter)).obj : undefined
        return (
          await listEntities(si, ENTITY_TYPES.datastore, {
            within,
            props: DS_PROPS,
            signal: ctx.signal,
          })
        )
          .map(describeDatastore)
          .sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
    get: defineFunction({
      doc: 'Describe one datastore.',
      args: { name: datastore },
      vsphere: true,
      run: async (ctx, { name }) =>
        describeDatastore(
          await getEntity(await connected(ctx), ENTITY_TYPES.datastore, name, {
            props: DS_PROPS,
            signal: ctx.signal,
          }),
        ),
    }),
    browse: defineFunction({
      doc: 'List the files of a datastore folder (path relative to the datastore root; "" for the root).',
      args: {
        name: datastore,
        path: z.string().default('').describe('folder inside the datastore'),
        pattern: z.string().default('*').describe('file name pattern'),
      },
      vsphere: true,
      run: async (ctx, { name, path, pattern }) => {
        const si = await connected(ctx)
        const ds = await getEntity(si, ENTITY_TYPES.datastore, name, { signal: ctx.signal })
        const { browser } = await retrieveObjectProperties(si, ds.obj, ['browser'])
        const folder = `[${ds.name}] ${path}`.trimEnd()
        const result = (await runTask(
          si,
          `browsing ${folder}`,
          'SearchDatastore_Task',
          {
            _this: browser,
            datastorePath: folder,
            searchSpec: {
              details: { fileType: true, fileSize: true, modification: true, fileOwner: false },
              matchPattern: [pattern],
            },
          },
          { signal: ctx.signal },
        )) as { file?: Array<Record<string, unknown>> | Record<string, unknown> } | undefined
        const files =
          result?.file === undefined ? [] : Array.isArray(result.file) ? result.file : [result.file]
        return files
          .map((f) => ({
            name: String(f.path),
            type: String(f._type ?? 'FileInfo').replace(/FileInfo$/, '') || 'File',
            size: f.fileSize === undefined ? null : Number(f.fileSize),
          }))
          .sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
  },
})
