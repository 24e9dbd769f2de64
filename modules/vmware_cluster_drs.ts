import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import { ENTITY_TYPES, getEntity, type ManagedObjectReference, runTask, typed } from 'brine/vsphere'
import { advancedOptions, drsSettingsOf, drsSpec } from './_cluster.ts'
import { aliased, findCluster, names, requiredAliased } from './_vmware.ts'

interface RuleInfo {
  _type: string
  key: number
  name: string
  enabled: boolean
  mandatory?: boolean
  inCompliance?: boolean
  ruleUuid?: string
  vm?: ManagedObjectReference[]
  vmGroupName?: string
  affineHostGroupName?: string
  antiAffineHostGroupName?: string
  vmGroup?: string
  dependsOnVmGroup?: string
}

const VM_RULES = new Set(['ClusterAffinityRuleSpec', 'ClusterAntiAffinityRuleSpec'])

async function rulesOf(ctx: CallContext, cluster: string, datacenter?: string) {
  const found = await findCluster(ctx, cluster, datacenter, ['configurationEx'])
  const rules = (found.props.configurationEx as { rule?: RuleInfo | RuleInfo[] } | undefined)?.rule
  return { cluster: found, rules: rules === undefined ? [] : [rules].flat() }
}

/** Rules as saltext-vmware's rule_info shows them (utils/cluster.py drs_rule_info), plus brine's `affinity` on VM rules. */
async function describeRules(ctx: CallContext, rules: RuleInfo[]) {
  const si = ctx.serviceInstance
  const vmNames = new Map<string, string>()
  for (const vm of rules.flatMap((r) => r.vm ?? [])) {
    if (!vmNames.has(vm.value))
      vmNames.set(
        vm.value,
        (await getEntity(si, ENTITY_TYPES.vm, vm.value, { signal: ctx.signal })).name,
      )
  }
  return rules.map((r) => {
    const info: Record<string, unknown> = {
      name: r.name,
      uuid: r.ruleUuid ?? null,
      enabled: r.enabled === true || String(r.enabled) === 'true',
      mandatory: r.mandatory === true || String(r.mandatory) === 'true',
      key: Number(r.key),
      in_compliance: r.inCompliance ?? null,
    }
    if (VM_RULES.has(r._type)) {
      info.type = 'vm_affinity_rule'
      info.vms = (r.vm ?? []).map((vm) => vmNames.get(vm.value) ?? vm.value).sort()
      info.affinity = r._type === 'ClusterAffinityRuleSpec'
    } else if (r._type === 'ClusterVmHostRuleInfo') {
      info.type = 'vm_host_rule'
      info.vm_group_name = r.vmGroupName ?? null
      info.affine_host_group_name = r.affineHostGroupName ?? null
      info.anti_affine_host_group_name = r.antiAffineHostGroupName ?? null
    } else if (r._type === 'ClusterDependencyRuleInfo') {
      info.type = 'dependency_rule'
      info.vm_group = r.vmGroup ?? null
      info.depends_on_vm_group = r.dependsOnVmGroup ?? null
    } else info.type = r._type
    return info
  })
}

// saltext-vmware's argument names come first (its positional order); brine's earlier names
// follow as aliases (`cluster`, `datacenter`, `rule`, `vms`, `enabled`, `automation_level`,
// `migration_threshold`), checked to agree when both are given.
const clusterArgs = {
  cluster_name: names.cluster.optional(),
  datacenter_name: names.datacenter.optional(),
}
const clusterAliases = {
  cluster: names.cluster.optional().describe('alias of cluster_name'),
  datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
}

export default defineModule({
  doc: 'DRS settings and VM rules of clusters (saltext-vmware’s names and shapes).',
  vsphere: true,
  functions: {
    get: defineFunction({
      doc:
        'DRS settings: {enabled, enable_vm_behavior_overrides, default_vm_behavior, vmotion_rate (1–5), ' +
        'advanced_settings}, plus automation_level and migration_threshold (brine’s names).',
      args: () => ({ ...clusterArgs, ...clusterAliases }),
      run: async (ctx, args) => {
        const cluster = requiredAliased({ cluster_name: args.cluster_name, cluster: args.cluster })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const found = await findCluster(ctx, cluster, datacenter, ['configurationEx'])
        const config = found.props.configurationEx as { drsConfig?: Record<string, unknown> }
        return drsSettingsOf(config?.drsConfig ?? {})
      },
    }),
    rule_info: defineFunction({
      doc:
        'DRS rules of a cluster, as a list; with rule_name, that one rule (BRINE_NOT_FOUND when absent): ' +
        '{name, uuid, enabled, mandatory, key, in_compliance, type, …} (VM rules: vms, affinity).',
      args: () => ({
        ...clusterArgs,
        rule_name: z.string().min(1).optional().describe('only this rule'),
        ...clusterAliases,
        rule: z.string().min(1).optional().describe('alias of rule_name'),
      }),
      run: async (ctx, args) => {
        const cluster = requiredAliased({ cluster_name: args.cluster_name, cluster: args.cluster })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const ruleName = aliased({ rule_name: args.rule_name, rule: args.rule })
        const { cluster: found, rules } = await rulesOf(ctx, cluster, datacenter)
        if (ruleName === undefined) return describeRules(ctx, rules)
        const rule = rules.find((r) => r.name === ruleName)
        if (!rule)
          throw new ModuleError(`Rule name ${ruleName} not found in cluster '${found.name}'.`, {
            code: 'BRINE_NOT_FOUND',
          })
        return (await describeRules(ctx, [rule]))[0]
      },
    }),
    vm_affinity_rule: defineFunction({
      doc:
        'Create or update a VM affinity (keep together) or anti-affinity (keep apart) rule: ' +
        '{created: True} or {updated: True} (with message "Exact rule already exists." when nothing changed), ' +
        'plus the rule as rule_info shows it. Flipping the affinity of an existing rule is refused.',
      args: () => ({
        name: z.string().min(1).describe('rule name'),
        affinity: z.boolean().describe('True: keep the VMs together; False: keep them apart'),
        vm_names: z.array(z.string().min(1)).min(2).optional().describe('VM names or ids'),
        ...clusterArgs,
        enabled: z.boolean().default(true).describe('rule enabled'),
        mandatory: z.boolean().nullable().optional().describe('a must rule (default False)'),
        vms: z.array(z.string().min(1)).min(2).optional().describe('alias of vm_names'),
        ...clusterAliases,
      }),
      run: async (ctx, args) => {
        const { name, affinity, enabled } = args
        const mandatory = args.mandatory ?? false
        const vms = requiredAliased({ vm_names: args.vm_names, vms: args.vms })
        const cluster = requiredAliased({ cluster_name: args.cluster_name, cluster: args.cluster })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const si = ctx.serviceInstance
        const { cluster: target, rules } = await rulesOf(ctx, cluster, datacenter)
        const vmRefs: ManagedObjectReference[] = []
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
        const existing = rules.find((r) => r.name === name && VM_RULES.has(r._type))
        if (existing && existing._type !== type) {
          throw new ModuleError(
            `rule '${name}' is an ${existing._type === 'ClusterAffinityRuleSpec' ? 'affinity' : 'anti-affinity'} rule; delete it to change its kind`,
            { code: 'BRINE_INVALID_STATE' },
          )
        }
        if (existing) {
          const [current] = await describeRules(ctx, [existing])
          const sameVms =
            JSON.stringify([...vmRefs.map((r) => r.value)].sort()) ===
            JSON.stringify((existing.vm ?? []).map((r) => r.value).sort())
          if (sameVms && current!.enabled === enabled && current!.mandatory === mandatory)
            return { updated: true, message: 'Exact rule already exists.', ...current }
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
        const [rule] = await describeRules(
          ctx,
          after.rules.filter((r) => r.name === name),
        )
        return { ...(existing ? { updated: true } : { created: true }), ...rule }
      },
    }),
    delete_rule: defineFunction({
      doc: 'Delete a DRS rule (brine’s; saltext-vmware has none).',
      args: () => ({
        name: z.string().min(1).describe('rule name'),
        ...clusterArgs,
        ...clusterAliases,
      }),
      run: async (ctx, args) => {
        const { name } = args
        const cluster = requiredAliased({ cluster_name: args.cluster_name, cluster: args.cluster })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const { cluster: target, rules } = await rulesOf(ctx, cluster, datacenter)
        const rule = rules.find((r) => r.name === name)
        if (!rule)
          throw new ModuleError(`rule '${name}' not found in cluster '${target.name}'`, {
            code: 'BRINE_NOT_FOUND',
          })
        await runTask(
          ctx.serviceInstance,
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
      doc:
        'Change DRS settings, only those given (saltext-vmware resets the ones left out to its ' +
        'defaults; brine leaves them alone): {<cluster>: True} and the settings after, as get shows them.',
      args: () => ({
        cluster: names.cluster,
        datacenter: names.datacenter.optional(),
        enable: z.boolean().optional().describe('DRS on or off'),
        enable_vm_behavior_overrides: z.boolean().optional().describe('allow per-VM overrides'),
        default_vm_behavior: z
          .enum(['manual', 'partiallyAutomated', 'fullyAutomated'])
          .optional()
          .describe('default VM behavior'),
        vmotion_rate: z.coerce
          .number()
          .int()
          .min(1)
          .max(5)
          .optional()
          .describe('migration threshold, 1 (conservative) … 5 (aggressive)'),
        advanced_settings: advancedOptions.optional().describe('DRS advanced options {key: value}'),
        enabled: z.boolean().optional().describe('alias of enable'),
        automation_level: z
          .enum(['manual', 'partiallyAutomated', 'fullyAutomated'])
          .optional()
          .describe('alias of default_vm_behavior'),
        migration_threshold: z.coerce
          .number()
          .int()
          .min(1)
          .max(5)
          .optional()
          .describe('alias of vmotion_rate'),
      }),
      run: async (ctx, args) => {
        const drs = {
          enabled: aliased({ enable: args.enable, enabled: args.enabled }),
          enable_vm_behavior_overrides: args.enable_vm_behavior_overrides,
          automation_level: aliased({
            default_vm_behavior: args.default_vm_behavior,
            automation_level: args.automation_level,
          }),
          migration_threshold: aliased({
            vmotion_rate: args.vmotion_rate,
            migration_threshold: args.migration_threshold,
          }),
          advanced_settings: args.advanced_settings,
        }
        const cluster = await findCluster(ctx, args.cluster, args.datacenter)
        await runTask(
          ctx.serviceInstance,
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
        const config = after.props.configurationEx as { drsConfig?: Record<string, unknown> }
        return { ...drsSettingsOf(config?.drsConfig ?? {}), [args.cluster]: true }
      },
    }),
  },
})
