import { defineFunction, defineModule, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  getEntityByName,
  listEntities,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import { findDatacenter, names } from './_vmware.ts'

const name = z.string().min(1).describe('the datacenter name')

export default defineModule({
  doc: 'vSphere datacenters (saltext-vmware compatible names).',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List the names of all datacenters.',
      args: () => ({}),
      run: async (ctx) =>
        (await listEntities(ctx.serviceInstance, ENTITY_TYPES.datacenter, { signal: ctx.signal }))
          .map((dc) => dc.name)
          .sort(),
    }),
    get: defineFunction({
      doc: 'Return a datacenter’s name, id, inventory path and overall status.',
      args: () => ({ name: names.datacenter }),
      run: async (ctx, { name }) => {
        const dc = await findDatacenter(ctx, name, ['overallStatus'], true)
        return {
          name: dc.name,
          id: dc.obj.value,
          path: dc.path,
          status: dc.props.overallStatus,
        }
      },
    }),
    create: defineFunction({
      doc:
        'Create a datacenter (in the root folder, or in a folder given by name); DuplicateName when ' +
        'it exists. Returns saltext-vmware’s {<name>: True}, plus name and id.',
      args: () => ({
        name,
        folder: z
          .string()
          .optional()
          .describe('parent folder name or id (default: the root folder)'),
      }),
      run: async (ctx, { name, folder }) => {
        const si = ctx.serviceInstance
        const parent = folder
          ? (await getEntityByName(si, ENTITY_TYPES.folder, folder)).obj
          : si.content.rootFolder
        const dc = await callVim<ManagedObjectReference>(
          si,
          `creating datacenter '${name}'`,
          'CreateDatacenter',
          { _this: parent, name },
          { signal: ctx.signal },
        )
        return { name, id: dc.value, [name]: true }
      },
    }),
    rename: defineFunction({
      doc: 'Rename a datacenter.',
      args: () => ({ name: names.datacenter, new_name: name }),
      run: async (ctx, { name, new_name }) => {
        const dc = await findDatacenter(ctx, name)
        await runTask(
          ctx.serviceInstance,
          `renaming datacenter '${dc.name}' to '${new_name}'`,
          'Rename_Task',
          { _this: dc.obj, newName: new_name },
          { signal: ctx.signal },
        )
        return { name: new_name, id: dc.obj.value }
      },
    }),
    delete: defineFunction({
      doc:
        'Delete a datacenter and what it holds (vCenter refuses when VMs are powered on): ' +
        '{<name>: True}, plus name, id, deleted.',
      args: () => ({ name: names.datacenter }),
      run: async (ctx, { name }) => {
        const dc = await findDatacenter(ctx, name)
        await runTask(
          ctx.serviceInstance,
          `deleting datacenter '${dc.name}'`,
          'Destroy_Task',
          { _this: dc.obj },
          {
            signal: ctx.signal,
            onProgress: (p) => ctx.progress(p, `deleting ${dc.name}`),
          },
        )
        return { name: dc.name, id: dc.obj.value, deleted: true, [name]: true }
      },
    }),
  },
})
