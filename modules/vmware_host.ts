import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  getEntity,
  inventoryPaths,
  listEntities,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import { connected, findCluster, findDatacenter, names } from './_vmware.ts'

const HOST_PROPS = [
  'runtime.connectionState',
  'runtime.powerState',
  'runtime.inMaintenanceMode',
  'summary.hardware.numCpuCores',
  'summary.hardware.memorySize',
  'config.product.fullName',
  'parent',
]

async function findHost(
  ctx: CallContext,
  name: string,
  props: string[] = HOST_PROPS,
): Promise<Entity> {
  return getEntity(await connected(ctx), ENTITY_TYPES.host, name, { props, signal: ctx.signal })
}

function describeHost(host: Entity, path?: string) {
  const p = host.props
  return {
    name: host.name,
    id: host.obj.value,
    connection_state: p['runtime.connectionState'],
    power_state: p['runtime.powerState'],
    maintenance_mode: p['runtime.inMaintenanceMode'] === true,
    cpu_cores: p['summary.hardware.numCpuCores'],
    memory_mb:
      typeof p['summary.hardware.memorySize'] === 'number'
        ? Math.round((p['summary.hardware.memorySize'] as number) / 1024 / 1024)
        : undefined,
    product: p['config.product.fullName'],
    parent: (p.parent as ManagedObjectReference | undefined)?.value,
    ...(path ? { path } : {}),
  }
}

const host = z.string().min(1).describe('host name or id')
const maintenanceArgs = {
  name: host,
  timeout: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('seconds vCenter may take (0: no limit)'),
}

/** Enter or exit maintenance mode; a host already there is left alone (changed: false). */
async function setMaintenance(ctx: CallContext, name: string, timeout: number, enter: boolean) {
  const found = await findHost(ctx, name)
  if ((found.props['runtime.inMaintenanceMode'] === true) === enter)
    return { name: found.name, maintenance_mode: enter, changed: false }
  const what = enter
    ? `putting host '${found.name}' in maintenance mode`
    : `taking host '${found.name}' out of maintenance mode`
  await runTask(
    await connected(ctx),
    what,
    enter ? 'EnterMaintenanceMode_Task' : 'ExitMaintenanceMode_Task',
    { _this: found.obj, timeout },
    { signal: ctx.signal },
  )
  return { name: found.name, maintenance_mode: enter, changed: true }
}

export default defineModule({
  doc: 'ESXi hosts as vCenter sees them: inventory and maintenance mode.',
  functions: {
    list: defineFunction({
      doc: 'List hosts (in a datacenter or cluster when given): name, id, states, CPU cores, memory.',
      args: { datacenter: names.datacenter.optional(), cluster: names.cluster.optional() },
      vsphere: true,
      run: async (ctx, { datacenter, cluster }) => {
        const within = cluster
          ? (await findCluster(ctx, cluster, datacenter)).obj
          : datacenter
            ? (await findDatacenter(ctx, datacenter)).obj
            : undefined
        const hosts = await listEntities(await connected(ctx), ENTITY_TYPES.host, {
          within,
          props: HOST_PROPS,
          signal: ctx.signal,
        })
        return hosts.map((h) => describeHost(h)).sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
    get: defineFunction({
      doc: 'Describe one host, with its inventory path.',
      args: { name: host },
      vsphere: true,
      run: async (ctx, { name }) => {
        const found = await findHost(ctx, name)
        return describeHost(
          found,
          (await inventoryPaths(await connected(ctx), [found.obj])).get(found.obj.value),
        )
      },
    }),
    enter_maintenance_mode: defineFunction({
      doc: 'Put a host in maintenance mode (VMs must be moved or powered off first on a real vCenter).',
      args: maintenanceArgs,
      vsphere: true,
      run: (ctx, { name, timeout }) => setMaintenance(ctx, name, timeout, true),
    }),
    exit_maintenance_mode: defineFunction({
      doc: 'Take a host out of maintenance mode.',
      args: maintenanceArgs,
      vsphere: true,
      run: (ctx, { name, timeout }) => setMaintenance(ctx, name, timeout, false),
    }),
  },
})
