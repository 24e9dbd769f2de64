import { defineFunction, defineModule, z } from 'brine/loader'
import { callVim, ENTITY_TYPES, listEntities, type ManagedObjectReference } from 'brine/vsphere'
import {
  drsSettings,
  drsSettingsOf,
  drsSpec,
  haSettings,
  haSettingsFor,
  haSpec,
} from './_cluster.ts'
import {
  aliased,
  deleteEntity,
  findCluster,
  findDatacenter,
  isTrue,
  names,
  requiredAliased,
} from './_vmware.ts'

export default defineModule({
  doc: 'Clusters (ClusterComputeResource), with their DRS and HA settings.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List clusters: {datacenter: [cluster, …]} (only one datacenter when given).',
      args: () => ({ datacenter: names.datacenter.optional() }),
      run: async (ctx, { datacenter }) => {
        const si = ctx.serviceInstance
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
      doc:
        'A cluster: saltext-vmware’s {drs_enabled, drs, ha_enabled, ha, vsan_enabled} (drs and ha ' +
        'as vmware_cluster_drs.get and vmware_cluster_ha.get show them, always present), plus name, id, hosts.',
      args: () => ({
        cluster_name: names.cluster.optional(),
        datacenter_name: names.datacenter.optional(),
        name: names.cluster.optional().describe('alias of cluster_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
      }),
      run: async (ctx, args) => {
        const cluster = await findCluster(
          ctx,
          requiredAliased({ cluster_name: args.cluster_name, name: args.name }),
          aliased({ datacenter_name: args.datacenter_name, datacenter: args.datacenter }),
          ['configurationEx', 'host'],
        )
        const config = (cluster.props.configurationEx ?? {}) as {
          drsConfig?: Record<string, unknown>
          dasConfig?: Record<string, unknown>
          vsanConfigInfo?: { enabled?: unknown }
        }
        const drs = drsSettingsOf(config.drsConfig ?? {})
        const ha = await haSettingsFor(ctx, config.dasConfig ?? {})
        return {
          drs_enabled: drs.enabled,
          drs,
          ha_enabled: ha.enabled,
          ha,
          vsan_enabled: isTrue(config.vsanConfigInfo?.enabled),
          name: cluster.name,
          id: cluster.obj.value,
          hosts: ((cluster.props.host as ManagedObjectReference[] | undefined) ?? []).length,
        }
      },
    }),
    create: defineFunction({
      doc: 'Create a cluster in a datacenter’s host folder, optionally with DRS and HA settings: {<name>: True}, plus name and id.',
      args: () => ({
        name: z.string().min(1).describe('the cluster name'),
        datacenter: names.datacenter,
        drs: drsSettings
          .optional()
          .describe('DRS settings: enabled, automation_level, migration_threshold'),
        ha: haSettings
          .optional()
          .describe('HA settings: enabled, host_monitoring, admission_control'),
      }),
      run: async (ctx, { name, datacenter, drs, ha }) => {
        const si = ctx.serviceInstance
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
        return { name, id: cluster.value, [name]: true }
      },
    }),
    delete: defineFunction({
      doc: 'Delete a cluster: {<name>: True}, plus name, id, deleted.',
      args: () => ({ name: names.cluster, datacenter: names.datacenter.optional() }),
      run: async (ctx, { name, datacenter }) => ({
        ...(await deleteEntity(ctx, await findCluster(ctx, name, datacenter), 'cluster')),
        [name]: true,
      }),
    }),
  },
})
