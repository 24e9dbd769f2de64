import { defineFunction, defineModule, z } from 'brine/loader'
import { runTask } from 'brine/vsphere'
import { clusterSettings, haSpec } from './_cluster.ts'
import { connected, findCluster, names } from './_vmware.ts'

export default defineModule({
  doc: 'HA (vSphere HA, formerly DAS) settings of clusters.',
  functions: {
    get: defineFunction({
      doc: 'Return the HA settings: enabled, host_monitoring, admission_control, failover_level.',
      args: { cluster: names.cluster, datacenter: names.datacenter.optional() },
      vsphere: true,
      run: async (ctx, { cluster, datacenter }) =>
        clusterSettings(
          (await findCluster(ctx, cluster, datacenter, ['configurationEx'])).props.configurationEx,
        ).ha,
    }),
    configure: defineFunction({
      doc: 'Change HA settings (only those given).',
      args: {
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        enabled: z.boolean().optional().describe('HA on or off'),
        host_monitoring: z.enum(['enabled', 'disabled']).optional().describe('host monitoring'),
        admission_control: z.boolean().optional().describe('admission control'),
        failover_level: z.coerce
          .number()
          .int()
          .min(1)
          .optional()
          .describe('host failures to tolerate'),
      },
      vsphere: true,
      run: async (ctx, { cluster: name, datacenter, ...ha }) => {
        const cluster = await findCluster(ctx, name, datacenter)
        await runTask(
          await connected(ctx),
          `configuring HA of cluster '${cluster.name}'`,
          'ReconfigureComputeResource_Task',
          {
            _this: cluster.obj,
            spec: { _type: 'ClusterConfigSpecEx', dasConfig: haSpec(ha) },
            modify: true,
          },
          { signal: ctx.signal },
        )
        const after = await findCluster(ctx, cluster.obj.value, undefined, ['configurationEx'])
        return clusterSettings(after.props.configurationEx).ha
      },
    }),
  },
})
