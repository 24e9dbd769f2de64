import { defineFunction, defineModule, z } from 'brine/loader'
import { diff } from '../modules/_vmware.ts'
import type vmware_resourcepool from '../modules/vmware_resourcepool.ts'
import { allocation } from '../modules/vmware_resourcepool.ts'

const args = {
  name: z.string().min(1).describe('the pool name'),
  cluster: z.string().min(1).describe('cluster name or id'),
  datacenter: z.string().optional().describe('datacenter name or id'),
}

type Pool = {
  name: string
  id: string
  cpu: Record<string, unknown>
  memory: Record<string, unknown>
}

async function current(
  ctx: Parameters<Parameters<typeof defineFunction>[0]['run']>[0],
  name: string,
  cluster: string,
  datacenter?: string,
): Promise<Pool | undefined> {
  const pools = await ctx
    .module<typeof vmware_resourcepool>('vmware_resourcepool')
    .list({ cluster, datacenter })
  const found = pools.find((p) => p.name === name)
  return found
    ? await ctx.module<typeof vmware_resourcepool>('vmware_resourcepool').get({ name: found.id })
    : undefined
}

export default defineModule({
  doc: 'Resource pools, idempotently.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the pool exists with the given CPU and memory allocation (fields not given are left alone).',
      args: () => ({
        ...args,
        cpu: allocation.optional().describe('CPU allocation'),
        memory: allocation.optional().describe('memory allocation'),
      }),
      run: async (ctx, { name, cluster, datacenter, cpu, memory }) => {
        const pool = await current(ctx, name, cluster, datacenter)
        if (!pool) {
          const changes = {
            pool: { old: null, new: { name, cpu: cpu ?? {}, memory: memory ?? {} } },
          }
          if (ctx.test)
            return {
              name,
              result: null,
              changes,
              comment: `Resource pool '${name}' would be created.`,
            }
          await ctx.salt('vmware_resourcepool.create', { name, cluster, datacenter, cpu, memory })
          return { name, result: true, changes, comment: `Resource pool '${name}' created.` }
        }
        const changes: Record<string, unknown> = {}
        const cpuChanges = cpu ? diff(pool.cpu, cpu) : {}
        const memoryChanges = memory ? diff(pool.memory, memory) : {}
        if (Object.keys(cpuChanges).length) changes.cpu = cpuChanges
        if (Object.keys(memoryChanges).length) changes.memory = memoryChanges
        if (!Object.keys(changes).length)
          return {
            name,
            result: true,
            changes: {},
            comment: `Resource pool '${name}' is already as wanted.`,
          }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Resource pool '${name}' would be updated.`,
          }
        await ctx.salt('vmware_resourcepool.update', { name: pool.id, cpu, memory })
        return { name, result: true, changes, comment: `Resource pool '${name}' updated.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the pool does not exist.',
      args,
      run: async (ctx, { name, cluster, datacenter }) => {
        const pool = await current(ctx, name, cluster, datacenter)
        if (!pool)
          return {
            name,
            result: true,
            changes: {},
            comment: `Resource pool '${name}' does not exist.`,
          }
        const changes = { pool: { old: name, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Resource pool '${name}' would be deleted.`,
          }
        await ctx.salt('vmware_resourcepool.delete', { name: pool.id })
        return { name, result: true, changes, comment: `Resource pool '${name}' deleted.` }
      },
    }),
  },
})
