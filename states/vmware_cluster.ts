import { defineFunction, defineModule, z } from 'brine/loader'
import { ENTITY_TYPES, findEntityByName, getEntity } from 'brine/vsphere'
import { clusterSettings, drsSettings, haSettings } from '../modules/_cluster.ts'
import { diff } from '../modules/_vmware.ts'
import { predicted } from './_predicted.ts'

const args = {
  name: z.string().min(1).describe('the cluster name'),
  datacenter: z.string().min(1).describe('datacenter name or id'),
}

export default defineModule({
  doc: 'Clusters with their DRS and HA settings, idempotently.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the cluster exists with the given DRS and HA settings (settings not given are left alone).',
      args: () => ({
        ...args,
        drs: drsSettings.optional().describe('DRS settings'),
        ha: haSettings.optional().describe('HA settings'),
      }),
      run: async (ctx, { name, datacenter, drs, ha }) => {
        const si = await ctx.serviceInstance.ready()
        if (ctx.test && predicted(ctx, 'datacenter').includes(datacenter)) {
          const missing = !(await findEntityByName(si, ENTITY_TYPES.datacenter, datacenter, {
            signal: ctx.signal,
          }))
          if (missing)
            return {
              name,
              result: null,
              changes: { cluster: { old: null, new: { name, drs: drs ?? {}, ha: ha ?? {} } } },
              comment: `Cluster '${name}' would be created (datacenter '${datacenter}' is created by an earlier state of this dry run).`,
            }
        }
        const dc = await getEntity(si, ENTITY_TYPES.datacenter, datacenter, { signal: ctx.signal })
        const existing = await findEntityByName(si, ENTITY_TYPES.cluster, name, {
          within: dc.obj,
          props: ['configurationEx'],
          signal: ctx.signal,
        })
        if (!existing) {
          const changes = { cluster: { old: null, new: { name, drs: drs ?? {}, ha: ha ?? {} } } }
          if (ctx.test)
            return { name, result: null, changes, comment: `Cluster '${name}' would be created.` }
          await ctx.salt('vmware_cluster.create', { name, datacenter, drs, ha })
          return { name, result: true, changes, comment: `Cluster '${name}' created.` }
        }
        const current = clusterSettings(existing.props.configurationEx)
        const drsChanges = drs ? diff(current.drs, drs) : {}
        const haChanges = ha ? diff(current.ha, ha) : {}
        const changes: Record<string, unknown> = {}
        if (Object.keys(drsChanges).length) changes.drs = drsChanges
        if (Object.keys(haChanges).length) changes.ha = haChanges
        if (!Object.keys(changes).length)
          return {
            name,
            result: true,
            changes: {},
            comment: `Cluster '${name}' is already as wanted.`,
          }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Cluster '${name}' would be reconfigured.`,
          }
        const newValues = (c: Record<string, { new: unknown }>) =>
          Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.new]))
        if (changes.drs)
          await ctx.salt('vmware_cluster_drs.configure', {
            cluster: existing.obj.value,
            ...newValues(drsChanges),
          })
        if (changes.ha)
          await ctx.salt('vmware_cluster_ha.configure', {
            cluster: existing.obj.value,
            ...newValues(haChanges),
          })
        return { name, result: true, changes, comment: `Cluster '${name}' reconfigured.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the cluster does not exist.',
      args,
      run: async (ctx, { name, datacenter }) => {
        const si = await ctx.serviceInstance.ready()
        const dc = await getEntity(si, ENTITY_TYPES.datacenter, datacenter, { signal: ctx.signal })
        const existing = await findEntityByName(si, ENTITY_TYPES.cluster, name, {
          within: dc.obj,
          signal: ctx.signal,
        })
        if (!existing)
          return { name, result: true, changes: {}, comment: `Cluster '${name}' does not exist.` }
        const changes = { cluster: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Cluster '${name}' would be deleted.` }
        await ctx.salt('vmware_cluster.delete', { name: existing.obj.value })
        return { name, result: true, changes, comment: `Cluster '${name}' deleted.` }
      },
    }),
  },
})
