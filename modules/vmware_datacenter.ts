import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import type { ManagedObjectReference, ServiceInstance } from 'brine/vsphere'
import { retrieveAll, waitForTask } from 'brine/vsphere'

async function findDatacenter(si: ServiceInstance, name: string): Promise<ManagedObjectReference> {
  const all = await retrieveAll(si, 'Datacenter', ['name'])
  const found = all.filter((dc) => dc.props.name === name)
  if (found.length === 0) {
    throw new ModuleError(
      `datacenter '${name}' not found (have: ${all.map((dc) => dc.props.name).join(', ') || 'none'})`,
      {
        code: 'BRINE_NOT_FOUND',
      },
    )
  }
  if (found.length > 1) {
    throw new ModuleError(
      `datacenter name '${name}' is ambiguous: ${found.map((dc) => dc.obj.value).join(', ')}`,
      { code: 'BRINE_AMBIGUOUS' },
    )
  }
  return found[0]!.obj
}

const name = z.string().min(1).describe('the datacenter name')

export default defineModule({
  doc: 'vSphere datacenters (saltext-vmware compatible names).',
  functions: {
    list: defineFunction({
      doc: 'List the names of all datacenters.',
      args: {},
      vsphere: true,
      run: async (ctx) =>
        (await retrieveAll(ctx.serviceInstance, 'Datacenter', ['name']))
          .map((dc) => String(dc.props.name))
          .sort(),
    }),
    get: defineFunction({
      doc: 'Return a datacenter’s name, id and overall status.',
      args: { name },
      vsphere: true,
      run: async (ctx, { name }) => {
        const all = await retrieveAll(ctx.serviceInstance, 'Datacenter', ['name', 'overallStatus'])
        const dc = all.find((item) => item.props.name === name)
        if (!dc)
          throw new ModuleError(`datacenter '${name}' not found`, { code: 'BRINE_NOT_FOUND' })
        return { name, id: dc.obj.value, status: dc.props.overallStatus }
      },
    }),
    create: defineFunction({
      doc: 'Create a datacenter in the root folder; fails with DuplicateName when it exists.',
      args: { name },
      vsphere: true,
      run: async (ctx, { name }) => {
        const si = await ctx.serviceInstance.ready()
        const dc = await ctx.serviceInstance.invoke<ManagedObjectReference>(
          'CreateDatacenter',
          { _this: si.content.rootFolder, name },
          { signal: ctx.signal },
        )
        return { name, id: dc.value }
      },
    }),
    delete: defineFunction({
      doc: 'Delete a datacenter (it must be empty on a real vCenter).',
      args: { name },
      vsphere: true,
      run: async (ctx, { name }) => {
        const si = ctx.serviceInstance
        const dc = await findDatacenter(si, name)
        const task = await si.invoke<ManagedObjectReference>(
          'Destroy_Task',
          { _this: dc },
          { signal: ctx.signal },
        )
        await waitForTask(si, task, {
          signal: ctx.signal,
          onProgress: (p) => ctx.progress(p, `deleting ${name}`),
        })
        return { name, deleted: true }
      },
    }),
  },
})
