import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type Entity,
  getEntity,
  inventoryPaths,
  listEntities,
  type ManagedObjectReference,
} from 'brine/vsphere'
import { deleteEntity, findCluster, findDatacenter, names } from './_vmware.ts'

/** One allocation (CPU in MHz, memory in MB), as users write it. */
export const allocation = z.object({
  reservation: z.number().int().min(0).optional(),
  limit: z.number().int().min(-1).optional(),
  expandable: z.boolean().optional(),
  shares: z.enum(['low', 'normal', 'high']).optional(),
})
export type Allocation = z.infer<typeof allocation>

const SHARES = {
  cpu: { low: 2000, normal: 4000, high: 8000 },
  memory: { low: 81920, normal: 163840, high: 327680 },
}

function allocationSpec(
  kind: 'cpu' | 'memory',
  a: Allocation | undefined,
  current?: Required<Allocation>,
) {
  const merged = {
    reservation: 0,
    limit: -1,
    expandable: true,
    shares: 'normal' as const,
    ...current,
    ...a,
  }
  return {
    reservation: merged.reservation,
    expandableReservation: merged.expandable,
    limit: merged.limit,
    shares: { shares: SHARES[kind][merged.shares], level: merged.shares },
  }
}

export function readAllocation(info: unknown): Required<Allocation> {
  const a = (info ?? {}) as {
    reservation?: number
    limit?: number
    expandableReservation?: boolean
    shares?: { level?: string }
  }
  const level = a.shares?.level
  return {
    reservation: a.reservation ?? 0,
    limit: a.limit ?? -1,
    expandable: a.expandableReservation !== false,
    shares: level === 'low' || level === 'high' ? level : 'normal',
  }
}

/** A pool's name, id and allocations, as the functions return them. */
function describePool(pool: Entity) {
  const config = pool.props.config as
    | { cpuAllocation?: unknown; memoryAllocation?: unknown }
    | undefined
  return {
    name: pool.name,
    id: pool.obj.value,
    cpu: readAllocation(config?.cpuAllocation),
    memory: readAllocation(config?.memoryAllocation),
  }
}

/** A resource pool by name (within a cluster when given) or id. */
export async function findPool(
  ctx: CallContext,
  name: string,
  cluster?: string,
  datacenter?: string,
  props: string[] = [],
): Promise<Entity> {
  const si = ctx.serviceInstance
  const within = cluster
    ? (await findCluster(ctx, cluster, datacenter)).obj
    : datacenter
      ? (await findDatacenter(ctx, datacenter)).obj
      : undefined
  return getEntity(si, ENTITY_TYPES.resourcepool, name, {
    within,
    props,
    withinLabel: cluster ? `cluster '${cluster}'` : undefined,
    signal: ctx.signal,
  })
}

const where = { cluster: names.cluster.optional(), datacenter: names.datacenter.optional() }

export default defineModule({
  doc: 'Resource pools (CPU in MHz, memory in MB; limit -1 = unlimited; shares low/normal/high).',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List resource pools: name, id, inventory path (the hidden root pools "Resources" included).',
      args: () => where,
      run: async (ctx, { cluster, datacenter }) => {
        const si = ctx.serviceInstance
        const within = cluster
          ? (await findCluster(ctx, cluster, datacenter)).obj
          : datacenter
            ? (await findDatacenter(ctx, datacenter)).obj
            : undefined
        const pools = await listEntities(si, ENTITY_TYPES.resourcepool, {
          within,
          signal: ctx.signal,
        })
        const paths = await inventoryPaths(
          si,
          pools.map((p) => p.obj),
        )
        return pools
          .map((p) => ({ name: p.name, id: p.obj.value, path: paths.get(p.obj.value) }))
          .sort((a, b) => String(a.path).localeCompare(String(b.path)))
      },
    }),
    get: defineFunction({
      doc: 'Return a pool’s CPU and memory allocation.',
      args: () => ({ name: z.string().min(1).describe('pool name or id'), ...where }),
      run: async (ctx, { name, cluster, datacenter }) => {
        return describePool(await findPool(ctx, name, cluster, datacenter, ['config']))
      },
    }),
    create: defineFunction({
      doc: 'Create a pool in a cluster (under its root pool, or under `parent`).',
      args: () => ({
        name: z.string().min(1).describe('the pool name'),
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        parent: z
          .string()
          .optional()
          .describe('parent pool name or id (default: the cluster’s root pool)'),
        cpu: allocation.optional().describe('CPU allocation'),
        memory: allocation.optional().describe('memory allocation'),
      }),
      run: async (ctx, { name, cluster, datacenter, parent, cpu, memory }) => {
        const si = ctx.serviceInstance
        const owner = await findCluster(ctx, cluster, datacenter, ['resourcePool'])
        const parentPool = parent
          ? (await findPool(ctx, parent, owner.obj.value)).obj
          : (owner.props.resourcePool as ManagedObjectReference)
        const pool = await callVim<ManagedObjectReference>(
          si,
          `creating resource pool '${name}' in cluster '${owner.name}'`,
          'CreateResourcePool',
          {
            _this: parentPool,
            name,
            spec: {
              cpuAllocation: allocationSpec('cpu', cpu),
              memoryAllocation: allocationSpec('memory', memory),
            },
          },
        )
        return { name, id: pool.value }
      },
    }),
    update: defineFunction({
      doc: 'Change a pool’s allocation (only what is given) or name.',
      args: () => ({
        name: z.string().min(1).describe('pool name or id'),
        ...where,
        new_name: z.string().optional().describe('rename to'),
        cpu: allocation.optional().describe('CPU allocation'),
        memory: allocation.optional().describe('memory allocation'),
      }),
      run: async (ctx, { name, cluster, datacenter, new_name, cpu, memory }) => {
        const pool = await findPool(ctx, name, cluster, datacenter, ['config'])
        const current = describePool(pool)
        await callVim(
          ctx.serviceInstance,
          `updating resource pool '${pool.name}'`,
          'UpdateConfig',
          {
            _this: pool.obj,
            name: new_name,
            config: {
              cpuAllocation: allocationSpec('cpu', cpu, current.cpu),
              memoryAllocation: allocationSpec('memory', memory, current.memory),
            },
          },
        )
        return describePool(await findPool(ctx, pool.obj.value, undefined, undefined, ['config']))
      },
    }),
    delete: defineFunction({
      doc: 'Delete a pool (its VMs and child pools move to the parent).',
      args: () => ({ name: z.string().min(1).describe('pool name or id'), ...where }),
      run: async (ctx, { name, cluster, datacenter }) => {
        const pool = await findPool(ctx, name, cluster, datacenter)
        if (pool.name === 'Resources')
          throw new ModuleError(
            `'${pool.name}' (${pool.obj.value}) is a cluster’s root pool and cannot be deleted`,
            { code: 'BRINE_INVALID_STATE' },
          )
        return deleteEntity(ctx, pool, 'resource pool')
      },
    }),
  },
})
