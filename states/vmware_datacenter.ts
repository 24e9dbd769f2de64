import { defineFunction, defineModule, z } from 'brine/loader'
import { ENTITY_TYPES, findEntityByName } from 'brine/vsphere'
import { predicted } from './_predicted.ts'

const name = z.string().min(1).describe('the datacenter name')

async function exists(
  ctx: Parameters<Parameters<typeof defineFunction>[0]['run']>[0],
  dcName: string,
): Promise<boolean> {
  const found = await findEntityByName(ctx.serviceInstance, ENTITY_TYPES.datacenter, dcName, {
    signal: ctx.signal,
  })
  return found !== undefined
}

export default defineModule({
  doc:
    'Datacenters, idempotently, with saltext-vmware’s comments. Test mode predicts {old, new} ' +
    'changes with result None.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the datacenter exists.',
      args: () => ({ name }),
      run: async (ctx, { name }) => {
        if (await exists(ctx, name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Datacenter ${name} is already present. No changes made.`,
          }
        const changes = { datacenter: { old: null, new: name } }
        if (ctx.test) {
          predicted(ctx, 'datacenter').push(name)
          return { name, result: null, changes, comment: `Datacenter ${name} will be created.` }
        }
        await ctx.salt('vmware_datacenter.create', { name })
        return { name, result: true, changes, comment: `Datacenter - ${name} created.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the datacenter does not exist (deleting it and what it holds).',
      args: () => ({ name }),
      run: async (ctx, { name }) => {
        if (!(await exists(ctx, name)))
          return {
            name,
            result: true,
            changes: {},
            comment: `Datacenter ${name} does not exist. No changes made.`,
          }
        const changes = { datacenter: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Datacenter ${name} will be deleted.` }
        await ctx.salt('vmware_datacenter.delete', { name })
        return { name, result: true, changes, comment: `Datacenter - ${name} deleted.` }
      },
    }),
  },
})
