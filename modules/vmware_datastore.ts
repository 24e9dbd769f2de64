import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  callVim,
  cancelTask,
  ENTITY_TYPES,
  type Entity,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
  waitForHandle,
} from 'brine/vsphere'
import { asList, connected, findCluster, findDatacenter, names } from './_vmware.ts'

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

/** A datastore with its maintenance state, and the connection. */
async function withMaintenanceState(ctx: CallContext, name: string) {
  const si = await connected(ctx)
  const ds = await getEntity(si, ENTITY_TYPES.datastore, name, {
    props: ['summary.maintenanceMode'],
    signal: ctx.signal,
  })
  return { si, ds }
}

/** StoragePlacementResult, as far as maintenance mode needs it. */
interface PlacementResult {
  recommendations?: { key: string } | Array<{ key: string }>
  drsFault?: {
    reason?: string
    faultsByVm?: { vm?: ManagedObjectReference } | Array<{ vm?: ManagedObjectReference }>
  }
  task?: ManagedObjectReference
}

export default defineModule({
  doc: 'Datastores: inventory, maintenance mode and browsing.',
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
    create_nfs: defineFunction({
      doc: 'Mount an NFS export as a datastore on one or more hosts (same name everywhere).',
      args: {
        name: z.string().min(1).describe('datastore name'),
        hosts: z
          .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
          .describe('host name or id, or a list of them'),
        remote_host: z.string().min(1).describe('NFS server'),
        remote_path: z.string().min(1).describe('exported path, e.g. /exports/iso'),
        version: z.enum(['3', '4.1']).default('3').describe('NFS version'),
        read_only: z.boolean().default(false).describe('mount read-only'),
      },
      vsphere: true,
      run: async (ctx, args) => {
        const si = await connected(ctx)
        const hostNames = asList(args.hosts)
        let id: string | undefined
        for (const hostName of hostNames) {
          const host = await getEntity(si, ENTITY_TYPES.host, hostName, {
            props: ['configManager.datastoreSystem'],
            signal: ctx.signal,
          })
          const ds = await callVim<ManagedObjectReference>(
            si,
            `mounting ${args.remote_host}:${args.remote_path} as datastore '${args.name}' on host '${host.name}'`,
            'CreateNasDatastore',
            {
              _this: host.props['configManager.datastoreSystem'],
              // HostNasVolumeSpec, WSDL order.
              spec: {
                remoteHost: args.remote_host,
                remotePath: args.remote_path,
                localPath: args.name,
                accessMode: args.read_only ? 'readOnly' : 'readWrite',
                type: args.version === '3' ? 'NFS' : 'NFS41',
                remoteHostNames: args.version === '3' ? undefined : [args.remote_host],
              },
            },
          )
          id ??= ds.value
        }
        return { name: args.name, id, hosts: hostNames }
      },
    }),
    remove: defineFunction({
      doc: 'Remove a datastore (NFS: unmounted from every host). Refused while VMs use it.',
      args: { name: datastore },
      vsphere: true,
      run: async (ctx, { name }) => {
        const si = await connected(ctx)
        const ds = await getEntity(si, ENTITY_TYPES.datastore, name, { signal: ctx.signal })
        await runTask(
          si,
          `removing datastore '${ds.name}'`,
          'Destroy_Task',
          { _this: ds.obj },
          {
            signal: ctx.signal,
          },
        )
        return { name: ds.name, id: ds.obj.value, removed: true }
      },
    }),
    enter_maintenance_mode: defineFunction({
      doc:
        'Put a datastore in maintenance mode. VMs on it must be moved first; in a datastore ' +
        'cluster vCenter’s Storage DRS recommendations are applied (storage vMotion), otherwise ' +
        'the VMs that block it are named.',
      args: { name: datastore },
      vsphere: true,
      run: async (ctx, { name }) => {
        const { si, ds } = await withMaintenanceState(ctx, name)
        if (ds.props['summary.maintenanceMode'] === 'inMaintenance')
          return { name: ds.name, maintenance_mode: 'inMaintenance', changed: false }
        const what = `putting datastore '${ds.name}' in maintenance mode`
        if (ds.props['summary.maintenanceMode'] === 'enteringMaintenance')
          throw new ModuleError(
            `${what}: it is already entering maintenance mode (VMs still to be moved); wait, or take it out with exit_maintenance_mode`,
            { code: 'BRINE_INVALID_STATE' },
          )
        const result = await callVim<PlacementResult | undefined>(
          si,
          what,
          'DatastoreEnterMaintenanceMode',
          { _this: ds.obj },
        )
        if (result?.drsFault) {
          // Nothing can move the VMs: do not leave a started request behind.
          if (result.task) await cancelTask(si, result.task).catch(() => undefined)
          const blocked = await Promise.all(
            asList(result.drsFault.faultsByVm).map(async (f) =>
              f.vm ? String((await retrieveObjectProperties(si, f.vm, ['name'])).name) : '?',
            ),
          )
          throw new ModuleError(
            `${what}: ${result.drsFault.reason ?? 'Storage DRS cannot move the VMs'}` +
              (blocked.length ? ` (VMs: ${blocked.join(', ')}); move or power them off first` : ''),
            { code: 'BRINE_INVALID_STATE' },
          )
        }
        const keys = asList(result?.recommendations).map((r) => r.key)
        if (keys.length)
          await runTask(
            si,
            `${what}: applying Storage DRS recommendations`,
            'ApplyStorageDrsRecommendation_Task',
            {
              _this: si.content.storageResourceManager,
              key: keys,
            },
            { signal: ctx.signal },
          )
        if (result?.task)
          await waitForHandle(si, { task: result.task, description: what }, { signal: ctx.signal })
        return { name: ds.name, maintenance_mode: 'inMaintenance', changed: true }
      },
    }),
    maintenance_mode: defineFunction({
      doc: 'saltext name and shape: {maintenanceMode: "inMaintenance"}.',
      args: { datastore_name: datastore },
      vsphere: true,
      run: async (ctx, { datastore_name }) => {
        await ctx.salt('vmware_datastore.enter_maintenance_mode', { name: datastore_name })
        return { maintenanceMode: 'inMaintenance' }
      },
    }),
    exit_maintenance_mode: defineFunction({
      doc: 'Take a datastore out of maintenance mode.',
      args: { name: datastore },
      vsphere: true,
      run: async (ctx, { name }) => {
        const { si, ds } = await withMaintenanceState(ctx, name)
        if ((ds.props['summary.maintenanceMode'] ?? 'normal') === 'normal')
          return { name: ds.name, maintenance_mode: 'normal', changed: false }
        await runTask(
          si,
          `taking datastore '${ds.name}' out of maintenance mode`,
          'DatastoreExitMaintenanceMode_Task',
          { _this: ds.obj },
          { signal: ctx.signal },
        )
        return { name: ds.name, maintenance_mode: 'normal', changed: true }
      },
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
