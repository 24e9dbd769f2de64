import { defineFunction, defineModule, z } from 'brine/loader'
import { callVim, ENTITY_TYPES, listEntities, type ManagedObjectReference } from 'brine/vsphere'
import { clusterSettings, drsSettings, drsSpec, haSettings, haSpec } from './_cluster.ts'
import { connected, deleteEntity, findCluster, findDatacenter, names } from './_vmware.ts'

export default defineModule({
  doc: 'Clusters (ClusterComputeResource), with their DRS and HA settings.',
  functions: {
    list: defineFunction({
      doc: 'List clusters: {datacenter: [cluster, …]} (only one datacenter when given).',
      args: { datacenter: names.datacenter.optional() },
      vsphere: true,
      run: async (ctx, { datacenter }) => {
        const si = await connected(ctx)
        const dcs = datacenter
          ? [await findDatacenter(ctx, datacenter)]
          : await listEntities(si, ENTITY_TYPES.datacenter, { signal: ctx.signal })
        const out: Record<string, string[]> = {}
        for (const dc of dcs) {
          out[dc.name] = (
            await listEntities(si, ENTITY_TYPES.cluster, { within: dc.obj, signal: ctx.signal })
          )
            .map((c) => c.name)
            .sort()
        }
        return out
      },
    }),
    get: defineFunction({
      doc: 'Return a cluster’s id, hosts, DRS and HA settings.',
      args: { name: names.cluster, datacenter: names.datacenter.optional() },
      vsphere: true,
      run: async (ctx, { name, datacenter }) => {
        const cluster = await findCluster(ctx, name, datacenter, ['configurationEx', 'host'])
        return {
          name: cluster.name,
          id: cluster.obj.value,
          hosts: ((cluster.props.host as ManagedObjectReference[] | undefined) ?? []).length,
          ...clusterSettings(cluster.props.configurationEx),
        }
      },
    }),
    create: defineFunction({
      doc: 'Create a cluster in a datacenter’s host folder, optionally with DRS and HA settings.',
      args: {
        name: z.string().min(1).describe('the cluster name'),
        datacenter: names.datacenter,
        drs: drsSettings
          .optional()
          .describe('DRS settings: enabled, automation_level, migration_threshold'),
        ha: haSettings
          .optional()
          .describe('HA settings: enabled, host_monitoring, admission_control'),
      },
      vsphere: true,
      run: async (ctx, { name, datacenter, drs, ha }) => {
        const si = await connected(ctx)
        const dc = await findDatacenter(ctx, datacenter, ['hostFolder'])
        const spec: Record<string, unknown> = {}
        if (ha) spec.dasConfig = haSpec(ha)
        if (drs) spec.drsConfig = drsSpec(drs)
        const cluster = await callVim<ManagedObjectReference>(
          si,
          `creating cluster '${name}' in datacenter '${dc.name}'`,
          'CreateClusterEx',
          {
            _this: dc.props.hostFolder,
            name,
            spec,
          },
        )
        return { name, id: cluster.value }
      },
    }),
    delete: defineFunction({
      doc: 'Delete a cluster.',
      args: { name: names.cluster, datacenter: names.datacenter.optional() },
      vsphere: true,
      run: async (ctx, { name, datacenter }) => {
        return deleteEntity(ctx, await findCluster(ctx, name, datacenter), 'cluster')
      },
    }),
  },
})
