import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import { ENTITY_TYPES, getEntity, type ManagedObjectReference, runTask } from 'brine/vsphere'
import {
  admissionControlPolicy,
  admissionPolicySpec,
  advancedOptions,
  haSettingsFor,
  haSpec,
} from './_cluster.ts'
import { aliased, findCluster, names, requiredAliased } from './_vmware.ts'

const int = () => z.coerce.number().int()
const storageProtection = z.enum([
  'disabled',
  'warning',
  'restartConservative',
  'restartAggressive',
  'clusterDefault',
])

async function haOf(ctx: CallContext, cluster: string, datacenter: string | undefined) {
  const found = await findCluster(ctx, cluster, datacenter, ['configurationEx'])
  const config = found.props.configurationEx as { dasConfig?: Record<string, unknown> } | undefined
  return haSettingsFor(ctx, config?.dasConfig ?? {})
}

export default defineModule({
  doc: 'HA (vSphere HA, formerly DAS) settings of clusters (saltext-vmware’s names and shapes).',
  vsphere: true,
  functions: {
    get: defineFunction({
      doc:
        'HA settings, as saltext-vmware shows them (enabled, host_monitoring, vm_monitoring, … ' +
        'admission_control_policy, failover_level, advanced_settings), plus admission_control.',
      args: () => ({
        cluster_name: names.cluster.optional(),
        datacenter_name: names.datacenter.optional(),
        cluster: names.cluster.optional().describe('alias of cluster_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
      }),
      run: (ctx, args) =>
        haOf(
          ctx,
          requiredAliased({ cluster_name: args.cluster_name, cluster: args.cluster }),
          aliased({ datacenter_name: args.datacenter_name, datacenter: args.datacenter }),
        ),
    }),
    configure: defineFunction({
      doc:
        'Change HA settings, only those given (saltext-vmware resets the ones left out to its ' +
        'defaults; brine leaves them alone): {<cluster>: True} and the settings after, as get shows them.',
      args: () => ({
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        enable: z.boolean().optional().describe('HA on or off'),
        host_monitoring: z.enum(['enabled', 'disabled']).optional().describe('host monitoring'),
        vm_monitoring: z
          .enum(['vmMonitoringDisabled', 'vmMonitoringOnly', 'vmAndAppMonitoring'])
          .optional()
          .describe('VM (and application) health monitoring'),
        vm_component_protecting: z
          .enum(['enabled', 'disabled'])
          .optional()
          .describe('VM Component Protection'),
        vm_min_up_time: int().optional().describe('seconds for heartbeats to stabilize'),
        vm_max_failure_window: int().optional().describe('seconds, -1: no window'),
        vm_max_failures: int().optional().describe('resets allowed in the window'),
        vm_failure_interval: int().optional().describe('seconds without heartbeat: failed'),
        isolation_response: z
          .enum(['none', 'powerOff', 'shutdown', 'clusterIsolationResponse'])
          .optional()
          .describe('what an isolated host does with its VMs'),
        restart_priority: z
          .enum([
            'disabled',
            'lowest',
            'low',
            'medium',
            'high',
            'highest',
            'clusterRestartPriority',
          ])
          .optional()
          .describe('VM restart priority'),
        restart_priority_timeout: int().optional().describe('seconds'),
        enable_apd_timeout_for_hosts: z.boolean().optional().describe('APD timeout on hosts'),
        vm_reaction_on_apd_cleared: z
          .enum(['none', 'reset', 'useClusterDefault'])
          .optional()
          .describe('reaction when APD clears'),
        vm_storage_protection_for_apd: storageProtection.optional().describe('APD response'),
        vm_storage_protection_for_pdl: storageProtection.optional().describe('PDL response'),
        vm_terminate_delay_for_apd_sec: int().optional().describe('seconds'),
        admission_control_policy: admissionControlPolicy
          .optional()
          .describe(
            '{slot_based_admission_control|failover_host_admission_control|reservation_based_admission_control: {…}}',
          ),
        advanced_options: advancedOptions.optional().describe('HA advanced options {key: value}'),
        enabled: z.boolean().optional().describe('alias of enable'),
        admission_control: z.boolean().optional().describe('admission control on or off'),
        failover_level: int().min(1).optional().describe('host failures to tolerate'),
      }),
      run: async (ctx, args) => {
        const {
          cluster: name,
          datacenter,
          enable,
          enabled,
          admission_control_policy: policy,
          ...ha
        } = args
        const cluster = await findCluster(ctx, name, datacenter)
        let admission: Record<string, unknown> | undefined
        if (policy) {
          const hosts: ManagedObjectReference[] = []
          const si = ctx.serviceInstance
          for (const host of policy.failover_host_admission_control?.failover_hosts ?? [])
            hosts.push(
              (
                await getEntity(si, ENTITY_TYPES.host, host, {
                  within: cluster.obj,
                  withinLabel: `cluster '${cluster.name}'`,
                  signal: ctx.signal,
                })
              ).obj,
            )
          admission = admissionPolicySpec(policy, hosts)
        }
        await runTask(
          ctx.serviceInstance,
          `configuring HA of cluster '${cluster.name}'`,
          'ReconfigureComputeResource_Task',
          {
            _this: cluster.obj,
            spec: {
              _type: 'ClusterConfigSpecEx',
              dasConfig: haSpec({
                ...ha,
                enabled: aliased({ enable, enabled }),
                admission_control_policy: admission,
              }),
            },
            modify: true,
          },
          { signal: ctx.signal },
        )
        return { ...(await haOf(ctx, cluster.obj.value, undefined)), [name]: true }
      },
    }),
  },
})
