import { defineFunction, defineModule, z } from 'brine/loader'
import type vmware_license_mgr from '../modules/vmware_license_mgr.ts'

const masked = (key: string) => key.replace(/^(?:[^-]+-){4}/, '*****-*****-*****-*****-')

// saltext-vmware's present/absent(license_key, **kwargs) take the key as license_key (the state
// ID is then only a label) and the entity to assign to; brine's took the key as name.
const args = {
  name: z.string().min(1).describe('the license key, or a label when license_key is given'),
  license_key: z.string().min(5).optional().describe('the license key'),
  datacenter_name: z.string().min(1).optional().describe('datacenter of the cluster or host'),
  cluster_name: z.string().min(1).optional().describe('assign to this cluster'),
  esxi_hostname: z.string().min(1).optional().describe('assign to this ESXi host'),
}

/** The key (saltext's license_key, or the state's name), as shown, and where it is assigned. */
function licenseOf(a: {
  name: string
  license_key?: string | undefined
  datacenter_name?: string | undefined
  cluster_name?: string | undefined
  esxi_hostname?: string | undefined
}) {
  const key = a.license_key ?? a.name
  const shown = masked(key)
  return {
    key,
    shown,
    name: a.license_key ? a.name : shown,
    target: {
      datacenter_name: a.datacenter_name,
      cluster_name: a.cluster_name,
      esxi_hostname: a.esxi_hostname,
    },
  }
}

export default defineModule({
  doc: 'Licenses, idempotently: installed, and assigned as saltext-vmware assigns them (vCenter only).',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc:
        'Make sure the license key is installed and assigned: to vCenter when nothing is named, ' +
        'else to the ESXi host (esxi_hostname) or cluster (cluster_name) in datacenter_name.',
      args,
      run: async (ctx, a) => {
        const { key, shown, name, target } = licenseOf(a)
        // Refused on an ESXi host, in test mode too (the failure is predicted).
        const assigned = await ctx.salt('vmware_license_mgr.is_assigned', { key, ...target })
        const installed = await ctx.salt('vmware_license_mgr.has', { key })
        const changes: Record<string, unknown> = {}
        if (!installed) changes.license = { old: null, new: shown }
        if (assigned === false) changes.assigned = { old: null, new: shown }
        if (!Object.keys(changes).length)
          return {
            name,
            result: true,
            changes: {},
            comment: `License ${shown} is already present.`,
          }
        if (ctx.test)
          return { name, result: null, changes, comment: `License ${shown} would be added.` }
        const added = await ctx
          .module<typeof vmware_license_mgr>('vmware_license_mgr')
          .add({ key, ...target })
        if (changes.assigned) changes.assigned = { old: null, new: added.assigned_to }
        return { name, result: true, changes, comment: `License ${shown} added.` }
      },
    }),
    absent: defineFunction({
      doc:
        'Make sure the license key is not installed (unassigned first from the entity named as ' +
        'for present, when it holds the key).',
      args,
      run: async (ctx, a) => {
        const { key, shown, name, target } = licenseOf(a)
        await ctx.salt('vmware_license_mgr.is_assigned', { key, ...target })
        if (!(await ctx.salt('vmware_license_mgr.has', { key })))
          return {
            name,
            result: true,
            changes: {},
            comment: `License ${shown} is not present.`,
          }
        const changes = { license: { old: shown, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `License ${shown} would be removed.`,
          }
        await ctx.salt('vmware_license_mgr.remove', { key, ...target })
        return { name, result: true, changes, comment: `License ${shown} removed.` }
      },
    }),
  },
})
