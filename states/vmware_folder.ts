import { defineFunction, defineModule, z } from 'brine/loader'
import { walkFolders } from '../modules/_vmware.ts'

const args = {
  name: z.string().min(1).describe('folder path below the tree root, e.g. web/prod'),
  datacenter: z.string().min(1).describe('datacenter name or id'),
  type: z.enum(['vm', 'host', 'datastore', 'network']).default('vm').describe('folder tree'),
}

export default defineModule({
  doc: 'Folders, idempotently (unlike saltext-vmware’s folder.manage).',
  functions: {
    present: defineFunction({
      doc: 'Make sure the folder path exists (creating missing parents).',
      args,
      vsphere: true,
      run: async (ctx, { name, datacenter, type }) => {
        const walk = await walkFolders(ctx, datacenter, type, name)
        if (walk.missing.length === 0)
          return {
            name,
            result: true,
            changes: {},
            comment: `Folder '${name}' is already present.`,
          }
        const changes = { created: { old: null, new: walk.missing } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Folder '${name}' would be created (${walk.missing.join('/')}).`,
          }
        await ctx.salt('vmware_folder.create', { path: name, datacenter, type })
        return { name, result: true, changes, comment: `Folder '${name}' created.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the folder (and what it holds) does not exist.',
      args,
      vsphere: true,
      run: async (ctx, { name, datacenter, type }) => {
        const walk = await walkFolders(ctx, datacenter, type, name)
        if (walk.missing.length)
          return { name, result: true, changes: {}, comment: `Folder '${name}' does not exist.` }
        const changes = { folder: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Folder '${name}' would be destroyed.` }
        await ctx.salt('vmware_folder.destroy', { path: name, datacenter, type })
        return { name, result: true, changes, comment: `Folder '${name}' destroyed.` }
      },
    }),
  },
})
