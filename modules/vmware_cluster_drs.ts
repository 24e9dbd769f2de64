import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import { ENTITY_TYPES, getEntity, type ManagedObjectReference, runTask, typed } from 'brine/vsphere'
import { clusterSettings, drsSpec } from './_cluster.ts'
import { connected, findCluster, names } from './_vmware.ts'

interface RuleInfo {
  _type: string
  key: number
  name: string
  enabled: boolean
  mandatory?: boolean
  inCompliance?: boolean
  vm?: ManagedObjectReference[]
}

async function rulesOf(ctx: CallContext, cluster: string, datacenter?: string) {
  const found = await findCluster(ctx, cluster, datacenter, ['configurationEx'])
  const rules = (
    (found.props.configurationEx as { rule?: RuleInfo[] } | undefined)?.rule ?? []
  ).filter(
    (r) => r._type === 'ClusterAffinityRuleSpec' || r._type === 'ClusterAntiAffinityRuleSpec',
  )
  return { cluster: found, rules }
}

async function describeRules(ctx: CallContext, rules: RuleInfo[]) {
  const si = await connected(ctx)
  const names = new Map<string, string>()
  for (const vm of rules.flatMap((r) => r.vm ?? [])) {
    if (!names.has(vm.value))
      names.set(
        vm.value,
        (await getEntity(si, ENTITY_TYPES.vm, vm.value, { signal: ctx.signal })).name,
      )
  }
  return rules.map((r) => ({
    name: r.name,
    key: r.key,
    affinity: r._type === 'ClusterAffinityRuleSpec',
    enabled: r.enabled,
    mandatory: r.mandatory === true,
    in_compliance: r.inCompliance ?? null,
    vms: (r.vm ?? []).map((vm) => names.get(vm.value) ?? vm.value).sort(),
  }))
}

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
    rule_info: defineFunction({
      doc: 'VM affinity and anti-affinity rules of a cluster: name, key, affinity, enabled, mandatory, VMs.',
      args: {
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        rule: z.string().optional().describe('only this rule'),
      },
      vsphere: true,
      run: async (ctx, { cluster, datacenter, rule }) => {
        const { rules } = await rulesOf(ctx, cluster, datacenter)
        return describeRules(
          ctx,
          rules.filter((r) => !rule || r.name === rule),
        )
      },
    }),
    vm_affinity_rule: defineFunction({
      doc: 'Create or update a VM affinity (keep together) or anti-affinity (keep apart) rule. Flipping affinity of an existing rule is refused.',
      args: {
        name: z.string().min(1).describe('rule name'),
        affinity: z.boolean().describe('True: keep the VMs together; False: keep them apart'),
        vms: z.array(z.string().min(1)).min(2).describe('VM names or ids'),
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        enabled: z.boolean().default(true).describe('rule enabled'),
        mandatory: z.boolean().default(false).describe('a must rule (HA respects it too)'),
      },
      vsphere: true,
      run: async (ctx, { name, affinity, vms, cluster, datacenter, enabled, mandatory }) => {
        const si = await connected(ctx)
        const { cluster: target, rules } = await rulesOf(ctx, cluster, datacenter)
        const vmRefs = []
        for (const vm of vms)
          vmRefs.push(
            (
              await getEntity(si, ENTITY_TYPES.vm, vm, {
                within: target.obj,
                withinLabel: `cluster '${target.name}'`,
                signal: ctx.signal,
              })
            ).obj,
          )
        const type = affinity ? 'ClusterAffinityRuleSpec' : 'ClusterAntiAffinityRuleSpec'
        const existing = rules.find((r) => r.name === name)
        if (existing && existing._type !== type) {
          throw new ModuleError(
            `rule '${name}' is an ${existing._type === 'ClusterAffinityRuleSpec' ? 'affinity' : 'anti-affinity'} rule; delete it to change its kind`,
            { code: 'BRINE_INVALID_STATE' },
          )
        }
        await runTask(
          si,
          `${existing ? 'updating' : 'creating'} rule '${name}' of cluster '${target.name}'`,
          'ReconfigureComputeResource_Task',
          {
            _this: target.obj,
            spec: {
              _type: 'ClusterConfigSpecEx',
              rulesSpec: [
                {
                  operation: existing ? 'edit' : 'add',
                  info: { _type: type, key: existing?.key, enabled, name, mandatory, vm: vmRefs },
                },
              ],
            },
            modify: true,
          },
          { signal: ctx.signal },
        )
        const after = await rulesOf(ctx, target.obj.value)
        return (
          await describeRules(
            ctx,
            after.rules.filter((r) => r.name === name),
          )
        )[0]
      },
    }),
    delete_rule: defineFunction({
      doc: 'Delete a VM affinity or anti-affinity rule.',
      args: {
        name: z.string().min(1).describe('rule name'),
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
      },
      vsphere: true,
      run: async (ctx, { name, cluster, datacenter }) => {
        const { cluster: target, rules } = await rulesOf(ctx, cluster, datacenter)
        const rule = rules.find((r) => r.name === name)
        if (!rule)
          throw new ModuleError(`rule '${name}' not found in cluster '${target.name}'`, {
            code: 'BRINE_NOT_FOUND',
          })
        await runTask(
          await connected(ctx),
          `deleting rule '${name}' of cluster '${target.name}'`,
          'ReconfigureComputeResource_Task',
          {
            _this: target.obj,
            spec: {
              _type: 'ClusterConfigSpecEx',
              rulesSpec: [{ operation: 'remove', removeKey: typed(rule.key, 'xsd:int') }],
            },
            modify: true,
          },
          { signal: ctx.signal },
        )
        return { name, deleted: true }
      },
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
