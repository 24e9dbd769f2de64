import { defineFunction, defineModule, z } from 'brine/loader'

const masked = (key: string) => key.replace(/^(?:[^-]+-){4}/, '*****-*****-*****-*****-')

export default defineModule({
  doc: 'Licenses, idempotently.',
  functions: {
    present: defineFunction({
      doc: 'Make sure the license key is installed.',
      args: { name: z.string().min(5).describe('the license key') },
      vsphere: true,
      run: async (ctx, { name }) => {
        const shown = masked(name)
        if (await ctx.salt('vmware_license_mgr.has', { key: name }))
          return {
            name: shown,
            result: true,
            changes: {},
            comment: `License ${shown} is already present.`,
          }
        const changes = { license: { old: null, new: shown } }
        if (ctx.test)
          return { name: shown, result: null, changes, comment: `License ${shown} would be added.` }
        await ctx.salt('vmware_license_mgr.add', { key: name })
        return { name: shown, result: true, changes, comment: `License ${shown} added.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the license key is not installed.',
      args: { name: z.string().min(5).describe('the license key') },
      vsphere: true,
      run: async (ctx, { name }) => {
        const shown = masked(name)
        if (!(await ctx.salt('vmware_license_mgr.has', { key: name })))
          return {
            name: shown,
            result: true,
            changes: {},
            comment: `License ${shown} is not present.`,
          }
        const changes = { license: { old: shown, new: null } }
        if (ctx.test)
          return {
            name: shown,
            result: null,
            changes,
            comment: `License ${shown} would be removed.`,
          }
        await ctx.salt('vmware_license_mgr.remove', { key: name })
        return { name: shown, result: true, changes, comment: `License ${shown} removed.` }
      },
    }),
  },
})
