import { defineFunction, defineModule, z } from 'brine/loader'
import { runTask } from 'brine/vsphere'
import { clusterSettings, drsSpec } from './_cluster.ts'
import { connected, findCluster, names } from './_vmware.ts'

export default defineModule({
  doc: 'DRS settings of clusters.',
  functions: {
    get: defineFunction({
      doc: 'Return the DRS settings: enabled, automation_level, migration_threshold (1–5), enable_vm_behavior_overrides.',
      args: { cluster: names.cluster, datacenter: names.datacenter.optional() },
      vsphere: true,
      run: async (ctx, { cluster, datacenter }) =>
        clusterSettings(
          (await findCluster(ctx, cluster, datacenter, ['configurationEx'])).props.configurationEx,
        ).drs,
    }),
    configure: defineFunction({
      doc: 'Change DRS settings (only those given).',
      args: {
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        enabled: z.boolean().optional().describe('DRS on or off'),
        automation_level: z
          .enum(['manual', 'partiallyAutomated', 'fullyAutomated'])
          .optional()
          .describe('default VM behavior'),
        migration_threshold: z.coerce
          .number()
          .int()
          .min(1)
          .max(5)
          .optional()
          .describe('1 (conservative) … 5 (aggressive)'),
        enable_vm_behavior_overrides: z.boolean().optional().describe('allow per-VM overrides'),
      },
      vsphere: true,
      run: async (ctx, { cluster: name, datacenter, ...drs }) => {
        const cluster = await findCluster(ctx, name, datacenter)
        await runTask(
          await connected(ctx),
          `configuring DRS of cluster '${cluster.name}'`,
          'ReconfigureComputeResource_Task',
          {
            _this: cluster.obj,
            spec: { _type: 'ClusterConfigSpecEx', drsConfig: drsSpec(drs) },
            modify: true,
          },
          { signal: ctx.signal },
        )
        const after = await findCluster(ctx, cluster.obj.value, undefined, ['configurationEx'])
        return clusterSettings(after.props.configurationEx).drs
      },
    }),
  },
})
