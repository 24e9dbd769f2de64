import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  callVim,
  cancelTask,
  ENTITY_TYPES,
  type Entity,
  EntityNotFoundError,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
  waitForHandle,
} from 'brine/vsphere'
import {
  aliased,
  asList,
  findCluster,
  findDatacenter,
  findInDatacenter,
  names,
  requiredAliased,
} from './_vmware.ts'

const DS_PROPS = [
  'summary.type',
  'summary.capacity',
  'summary.freeSpace',
  'summary.accessible',
  'summary.url',
  'summary.maintenanceMode',
  'summary.multipleHostAccess',
  'summary.uncommitted',
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

/**
 * saltext-vmware's get() row (`utils/datastore`'s summary fields, names as pyVmomi's), with
 * brine's describe fields added.
 */
function saltextDatastore(ds: Entity) {
  const p = ds.props
  return {
    ...describeDatastore(ds),
    accessible: p['summary.accessible'] === true,
    capacity: p['summary.capacity'],
    freeSpace: p['summary.freeSpace'],
    maintenanceMode: p['summary.maintenanceMode'] ?? 'normal',
    multipleHostAccess: p['summary.multipleHostAccess'] === true,
    name: ds.name,
    type: p['summary.type'],
    url: p['summary.url'],
    uncommitted: p['summary.uncommitted'] ?? 0,
  }
}

const datastore = z.string().min(1).describe('datastore name or id')

/** A datastore (in a datacenter when given) with its maintenance state, and the connection. */
async function withMaintenanceState(ctx: CallContext, name: string, datacenter?: string) {
  const si = ctx.serviceInstance
  const ds = await findInDatacenter(ctx, ENTITY_TYPES.datastore, name, datacenter, [
    'summary.maintenanceMode',
  ])
  return { si, ds }
}

/**
 * The hosts saltext-vmware's `utils.esxi.get_hosts` picks: the named host, else every host of
 * the cluster, of the datacenter, or of the inventory. `props` are read with them.
 */
async function selectHosts(
  ctx: CallContext,
  where: {
    host_name?: string | undefined
    cluster_name?: string | undefined
    datacenter_name?: string | undefined
  },
  props: string[],
): Promise<Entity[]> {
  const si = ctx.serviceInstance
  if (where.host_name)
    return [
      await findInDatacenter(ctx, ENTITY_TYPES.host, where.host_name, where.datacenter_name, props),
    ]
  const within = where.cluster_name
    ? (await findCluster(ctx, where.cluster_name, where.datacenter_name)).obj
    : where.datacenter_name
      ? (await findDatacenter(ctx, where.datacenter_name)).obj
      : undefined
  return (await listEntities(si, ENTITY_TYPES.host, { within, props, signal: ctx.signal })).sort(
    (a, b) => a.name.localeCompare(b.name),
  )
}

/** A host's SCSI addresses (multipath path names, first of a comma list) to LUN canonical names. */
function scsiAddressesOf(host: Entity): Map<string, string> {
  const luns = new Map(
    asList(
      host.props['config.storageDevice.scsiLun'] as
        | Array<{ key: string; canonicalName?: string }>
        | undefined,
    ).map((l) => [l.key, l.canonicalName ?? '']),
  )
  const byAddress = new Map<string, string>()
  for (const lun of asList(
    host.props['config.storageDevice.multipathInfo.lun'] as
      | Array<{ lun: string; path?: unknown }>
      | undefined,
  ))
    for (const path of asList(lun.path as Array<{ name: string }> | undefined))
      byAddress.set(path.name.split(',')[0]!, luns.get(lun.lun) ?? '')
  return byAddress
}

/** The backing disks (canonical names) of a host's VMFS volumes, by volume name. */
function vmfsExtentsOf(host: Entity): Map<string, string[]> {
  const extents = new Map<string, string[]>()
  for (const info of asList(
    host.props['config.fileSystemVolume.mountInfo'] as
      | Array<{ volume?: { _type?: string; name?: string; extent?: unknown } }>
      | undefined,
  )) {
    const volume = info.volume
    if (volume?._type !== 'HostVmfsVolume' || !volume.name) continue
    extents.set(
      volume.name,
      asList(volume.extent as Array<{ diskName: string }> | undefined).map((e) => e.diskName),
    )
  }
  return extents
}

/** Put a datastore in maintenance mode (see enter_maintenance_mode's doc). */
async function enterMaintenance(ctx: CallContext, name: string, datacenter?: string) {
  const { si, ds } = await withMaintenanceState(ctx, name, datacenter)
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
}

/** Take a datastore out of maintenance mode. */
async function exitMaintenance(ctx: CallContext, name: string, datacenter?: string) {
  const { si, ds } = await withMaintenanceState(ctx, name, datacenter)
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
}

/** HostDiskPartitionInfo, as far as list_disk_partitions needs it. */
interface PartitionInfo {
  spec?: {
    partitionFormat?: string
    partition?:
      | { partition: number; type: string; startSector: number; endSector: number }
      | Array<{ partition: number; type: string; startSector: number; endSector: number }>
  }
  layout?: {
    partition?: BlockRange | BlockRange[]
  }
}

interface BlockRange {
  partition?: number
  type: string
  start: { blockSize: number; block: number }
  end: { blockSize: number; block: number }
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
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List datastores (of a datacenter or cluster when given): name, id, type, capacity, free space, URL, hosts.',
      args: () => ({ datacenter: names.datacenter.optional(), cluster: names.cluster.optional() }),
      run: async (ctx, { datacenter, cluster }) => {
        const si = ctx.serviceInstance
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
      doc:
        'saltext-vmware’s get: the datastores (one by name, else those of a host, cluster or ' +
        'datacenter, else all) as [{accessible, capacity, freeSpace, maintenanceMode, ' +
        'multipleHostAccess, name, type, url, uncommitted}], each with brine’s id, free_space, ' +
        'maintenance_mode and hosts too. A name that matches nothing gives [].',
      args: () => ({
        datastore_name: datastore.optional(),
        datacenter_name: names.datacenter.optional(),
        cluster_name: names.cluster.optional(),
        host_name: z.string().min(1).optional().describe('ESXi host name or id'),
        name: datastore.optional().describe('alias of datastore_name'),
      }),
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
        const name = aliased({ datastore_name: args.datastore_name, name: args.name })
        let found: Entity[]
        if (name) {
          // One name or id: through the inventory index, never a whole listing.
          const one = await findInDatacenter(
            ctx,
            ENTITY_TYPES.datastore,
            name,
            args.datacenter_name,
            DS_PROPS,
          ).catch((error: unknown) => {
            // Only the datastore may be missing (saltext answers []); a missing datacenter is an error.
            if (error instanceof EntityNotFoundError && error.entityType === ENTITY_TYPES.datastore)
              return undefined
            throw error
          })
          found = one ? [one] : []
        } else {
          const within = args.datacenter_name
            ? (await findDatacenter(ctx, args.datacenter_name)).obj
            : undefined
          found = await listEntities(si, ENTITY_TYPES.datastore, {
            within,
            props: DS_PROPS,
            signal: ctx.signal,
          })
        }
        if (args.cluster_name || args.host_name) {
          const hosts = await selectHosts(
            ctx,
            {
              host_name: args.host_name,
              cluster_name: args.cluster_name,
              datacenter_name: args.datacenter_name,
            },
            ['datastore'],
          )
          const ids = new Set(
            hosts.flatMap((h) =>
              asList(h.props.datastore as ManagedObjectReference[] | undefined).map((d) => d.value),
            ),
          )
          found = found.filter((d) => ids.has(d.obj.value))
        }
        return found.map(saltextDatastore).sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
    list_datastores: defineFunction({
      doc:
        'saltext-vmware’s list_datastores: per host, its datastores {name, type, free_space, ' +
        'capacity} (VMFS ones with backing_disk_ids), filtered by names, backing disk canonical ' +
        'names or backing disk SCSI addresses when given.',
      args: () => ({
        datastore_names: z.array(z.string().min(1)).optional().describe('datastore names'),
        backing_disk_ids: z
          .array(z.string().min(1))
          .optional()
          .describe('canonical names of backing disks'),
        backing_disk_scsi_addresses: z
          .array(z.string().min(1))
          .optional()
          .describe('SCSI addresses of backing disks, e.g. vmhba0:C0:T0:L0'),
        datacenter_name: names.datacenter.optional(),
        cluster_name: names.cluster.optional(),
        host_name: z.string().min(1).optional().describe('ESXi host name or id'),
      }),
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
        const scsi = args.backing_disk_scsi_addresses ?? []
        const hosts = await selectHosts(ctx, args, [
          'datastore',
          'config.fileSystemVolume.mountInfo',
          ...(scsi.length
            ? ['config.storageDevice.scsiLun', 'config.storageDevice.multipathInfo.lun']
            : []),
        ])
        const summaries = new Map(
          (
            await listEntities(si, ENTITY_TYPES.datastore, {
              props: ['summary.type', 'summary.freeSpace', 'summary.capacity'],
              signal: ctx.signal,
            })
          ).map((d) => [d.obj.value, d]),
        )
        const filtered = Boolean(
          args.datastore_names?.length || args.backing_disk_ids?.length || scsi.length,
        )
        const out: Record<string, Array<Record<string, unknown>>> = {}
        for (const host of hosts) {
          const extents = vmfsExtentsOf(host)
          const addresses = scsiAddressesOf(host)
          const diskIds = new Set([
            ...(args.backing_disk_ids ?? []),
            ...scsi.map((a) => addresses.get(a)).filter((id): id is string => Boolean(id)),
          ])
          out[host.name] = asList(host.props.datastore as ManagedObjectReference[] | undefined)
            .map((ref) => summaries.get(ref.value))
            .filter((d): d is Entity => d !== undefined)
            .filter(
              (d) =>
                !filtered ||
                args.datastore_names?.includes(d.name) ||
                (extents.get(d.name) ?? []).some((id) => diskIds.has(id)),
            )
            .map((d) => {
              const backing = extents.get(d.name) ?? []
              return {
                name: d.name,
                type: d.props['summary.type'],
                free_space: d.props['summary.freeSpace'],
                capacity: d.props['summary.capacity'],
                ...(backing.length ? { backing_disk_ids: backing } : {}),
              }
            })
        }
        return out
      },
    }),
    list_disk_partitions: defineFunction({
      doc:
        'saltext-vmware’s list_disk_partitions(disk_id, scsi_address, datacenter_name, ' +
        'cluster_name, host_name): per host, the partitions of a disk given by canonical name ' +
        '(disk_id wins) or SCSI address: [{hostname, device, format, partition, type, sectors, ' +
        'size_KB}].',
      args: () => ({
        disk_id: z.string().min(1).optional().describe('canonical name of the disk'),
        scsi_address: z
          .string()
          .min(1)
          .optional()
          .describe('SCSI address of the disk, e.g. vmhba0:C0:T0:L0'),
        datacenter_name: names.datacenter.optional(),
        cluster_name: names.cluster.optional(),
        host_name: z.string().min(1).optional().describe('ESXi host name or id'),
      }),
      run: async (ctx, args) => {
        // saltext-vmware's words (modules/datastore.py list_disk_partitions).
        if (!args.disk_id && !args.scsi_address)
          throw new ModuleError("Either 'disk_id' or 'scsi_address' needs to be specified", {
            code: 'BRINE_ARGUMENT',
          })
        const si = ctx.serviceInstance
        const hosts = await selectHosts(ctx, args, [
          'configManager.storageSystem',
          'config.storageDevice.scsiLun',
          'config.storageDevice.multipathInfo.lun',
        ])
        const out: Record<string, Array<Record<string, unknown>>> = {}
        for (const host of hosts) {
          const diskId = args.disk_id ?? scsiAddressesOf(host).get(args.scsi_address!)
          if (!diskId)
            throw new ModuleError(
              `Scsi lun with address '${args.scsi_address}' was not found on host '${host.name}'`,
              { code: 'BRINE_NOT_FOUND' },
            )
          const disk = asList(
            host.props['config.storageDevice.scsiLun'] as
              | Array<{ canonicalName?: string; devicePath?: string }>
              | undefined,
          ).find((lun) => lun.canonicalName === diskId && lun.devicePath)
          if (!disk)
            throw new ModuleError(`disk '${diskId}' not found on host '${host.name}'`, {
              code: 'BRINE_NOT_FOUND',
            })
          const [info] = asList(
            await callVim<PartitionInfo | PartitionInfo[] | undefined>(
              si,
              `reading the partitions of disk '${diskId}' on host '${host.name}'`,
              'RetrieveDiskPartitionInfo',
              { _this: host.props['configManager.storageSystem'], devicePath: [disk.devicePath] },
            ),
          )
          const layout = asList(info?.layout?.partition)
          // The layout lists free space as partition "none" and in its own order: match by number.
          out[host.name] = asList(info?.spec?.partition).map((part) => {
            const range = layout.find((r) => Number(r.partition ?? 0) === Number(part.partition))
            return {
              hostname: host.name,
              device: diskId,
              format: info?.spec?.partitionFormat,
              partition: Number(part.partition),
              type: part.type,
              sectors: Number(part.endSector) - Number(part.startSector) + 1,
              size_KB: range
                ? ((Number(range.end.block) - Number(range.start.block) + 1) *
                    Number(range.start.blockSize)) /
                  1024
                : null,
            }
          })
        }
        return out
      },
    }),
    list_datastore_clusters: defineFunction({
      doc:
        'saltext-vmware’s list_datastore_clusters: the names of the datastore clusters ' +
        '(StoragePod), of a datacenter when given. saltext reads the host arguments and then ' +
        'lists every datastore cluster; brine checks the host or cluster exists, as saltext does.',
      args: () => ({
        host_name: z.string().min(1).optional().describe('ESXi host name or id'),
        datacenter_name: names.datacenter.optional(),
        cluster_name: names.cluster.optional(),
      }),
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
        if (args.host_name || args.cluster_name) await selectHosts(ctx, args, [])
        const within = args.datacenter_name
          ? (await findDatacenter(ctx, args.datacenter_name)).obj
          : undefined
        return (await listEntities(si, 'StoragePod', { within, signal: ctx.signal }))
          .map((p) => p.name)
          .sort()
      },
    }),
    create_nfs: defineFunction({
      doc: 'Mount an NFS export as a datastore on one or more hosts (same name everywhere).',
      args: () => ({
        name: z.string().min(1).describe('datastore name'),
        hosts: z
          .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
          .describe('host name or id, or a list of them'),
        remote_host: z.string().min(1).describe('NFS server'),
        remote_path: z.string().min(1).describe('exported path, e.g. /exports/iso'),
        version: z.enum(['3', '4.1']).default('3').describe('NFS version'),
        read_only: z.boolean().default(false).describe('mount read-only'),
      }),
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
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
      args: () => ({ name: datastore }),
      run: async (ctx, { name }) => {
        const si = ctx.serviceInstance
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
      args: () => ({ name: datastore, datacenter: names.datacenter.optional() }),
      run: (ctx, { name, datacenter }) => enterMaintenance(ctx, name, datacenter),
    }),
    maintenance_mode: defineFunction({
      doc:
        'saltext-vmware’s maintenance_mode: put a datastore in maintenance mode, ' +
        '{maintenanceMode: "inMaintenance"} (plus brine’s name, maintenance_mode, changed).',
      args: () => ({
        datastore_name: datastore.optional(),
        datacenter_name: names.datacenter.optional(),
        name: datastore.optional().describe('alias of datastore_name'),
      }),
      run: async (ctx, args) => ({
        maintenanceMode: 'inMaintenance',
        ...(await enterMaintenance(
          ctx,
          requiredAliased({ datastore_name: args.datastore_name, name: args.name }),
          args.datacenter_name,
        )),
      }),
    }),
    exit_maintenance_mode: defineFunction({
      doc:
        'Take a datastore out of maintenance mode: saltext-vmware’s {maintenanceMode: "normal"}, ' +
        'plus name, maintenance_mode, changed.',
      args: () => ({
        datastore_name: datastore.optional(),
        datacenter_name: names.datacenter.optional(),
        name: datastore.optional().describe('alias of datastore_name'),
      }),
      run: async (ctx, args) => ({
        maintenanceMode: 'normal',
        ...(await exitMaintenance(
          ctx,
          requiredAliased({ datastore_name: args.datastore_name, name: args.name }),
          args.datacenter_name,
        )),
      }),
    }),
    browse: defineFunction({
      doc: 'List the files of a datastore folder (path relative to the datastore root; "" for the root).',
      args: () => ({
        name: datastore,
        path: z.string().default('').describe('folder inside the datastore'),
        pattern: z.string().default('*').describe('file name pattern'),
      }),
      run: async (ctx, { name, path, pattern }) => {
        const si = ctx.serviceInstance
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
