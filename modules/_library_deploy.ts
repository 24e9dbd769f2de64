import { type CallContext, ModuleError } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  EntityNotFoundError,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
} from 'brine/vsphere'
import { findCluster, findDatacenter, findInDatacenter, folderAt } from './_vmware.ts'

/*
 * Where a VM deployed from a library item goes, its network mappings, and the guest
 * customization applied after the deploy.
 */

export interface PlacementArgs {
  datacenter?: string | undefined
  folder?: string | undefined
  cluster?: string | undefined
  host?: string | undefined
  pool?: string | undefined
  datastore?: string | undefined
}

/** A compute resource (cluster or standalone host's) by reference, with its root pool. */
async function computeOf(ctx: CallContext, obj: ManagedObjectReference): Promise<Entity> {
  const props = await retrieveObjectProperties(ctx.serviceInstance, obj, ['name', 'resourcePool'], {
    signal: ctx.signal,
  })
  return { obj, name: String(props.name), props }
}

/**
 * Where a deployed VM goes: the datacenter (given, or the host's), its vm folder (or `folder`,
 * a path in it), a resource pool (`pool` in the cluster or host's compute resource, else that
 * compute resource's root pool; with neither cluster nor host, the datacenter's first), the
 * host when given, and the datastore when given.
 */
export async function deployPlacement(ctx: CallContext, args: PlacementArgs) {
  const si = ctx.serviceInstance
  const onHost = args.host
    ? await findInDatacenter(ctx, ENTITY_TYPES.host, args.host, args.datacenter, ['parent'], {
        path: true,
      })
    : undefined
  const datacenter = args.datacenter ?? onHost?.path?.split('/')[1]
  if (!datacenter)
    throw new ModuleError('a datacenter (or a host) is needed to place the VM: give datacenter=', {
      code: 'BRINE_ARGUMENT',
    })
  const dc = await findDatacenter(ctx, datacenter, ['vmFolder'])
  const folder = args.folder
    ? await folderAt(ctx, dc, 'vm', args.folder)
    : (dc.props.vmFolder as ManagedObjectReference)
  const compute = onHost
    ? await computeOf(ctx, onHost.props.parent as ManagedObjectReference)
    : args.cluster
      ? await findCluster(ctx, args.cluster, dc.obj.value, ['resourcePool'])
      : (
          await listEntities(si, 'ComputeResource', {
            within: dc.obj,
            props: ['resourcePool'],
            signal: ctx.signal,
          })
        )[0]
  if (!compute)
    throw new ModuleError(`datacenter '${dc.name}' has no cluster or host to run VMs`, {
      code: 'BRINE_NOT_FOUND',
    })
  const pool = args.pool
    ? (
        await getEntity(si, ENTITY_TYPES.resourcepool, args.pool, {
          within: compute.obj,
          withinLabel: `'${compute.name}'`,
          signal: ctx.signal,
        })
      ).obj
    : (compute.props.resourcePool as ManagedObjectReference)
  const datastore = args.datastore
    ? (
        await findInDatacenter(ctx, ENTITY_TYPES.datastore, args.datastore, dc.obj.value).catch(
          (error: unknown) => {
            if (error instanceof EntityNotFoundError)
              throw new ModuleError(
                `datastore '${args.datastore}' not found in datacenter '${dc.name}'`,
                { code: 'BRINE_NOT_FOUND' },
              )
            throw error
          },
        )
      ).obj
    : undefined
  return {
    dc,
    folder,
    pool,
    host: onHost?.obj,
    cluster: compute.obj.type === 'ClusterComputeResource' ? compute.obj : undefined,
    datastore,
  }
}

/** `{OVF network name: vSphere network name or id}` as vCenter's network mappings (ids). */
export async function networkMappings(
  ctx: CallContext,
  dc: { obj: ManagedObjectReference; name: string },
  networks: Record<string, string> | undefined,
): Promise<Array<{ key: string; value: string }>> {
  return Promise.all(
    Object.entries(networks ?? {}).map(async ([key, target]) => {
      const found = await getEntity(ctx.serviceInstance, 'Network', target, {
        within: dc.obj,
        signal: ctx.signal,
      }).catch((error: unknown) => {
        if (error instanceof EntityNotFoundError)
          throw new ModuleError(
            `network '${target}' (for OVF network '${key}') not found in datacenter '${dc.name}'`,
            { code: 'BRINE_NOT_FOUND' },
          )
        throw error
      })
      return { key, value: found.obj.value }
    }),
  )
}

// Guest customization after a deploy

/** CustomizeVM_Task with an already-built spec (the VM must be powered off). */
export async function customizeVm(
  ctx: CallContext,
  vm: ManagedObjectReference,
  spec: Record<string, unknown>,
  label: string,
): Promise<void> {
  const what = `customizing VM '${label}'`
  await runTask(
    ctx.serviceInstance,
    what,
    'CustomizeVM_Task',
    { _this: vm, spec },
    {
      signal: ctx.signal,
      onProgress: (p) => ctx.progress(p, what),
    },
  )
}
