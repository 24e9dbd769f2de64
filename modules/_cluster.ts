// DRS and HA settings: the user-facing shape (snake_case, saltext-vmware's names plus brine's)
// and the vSphere specs. Only the settings given are sent (ReconfigureComputeResource with
// modify: true leaves the others as they are).
import { type CallContext, z } from 'brine/loader'
import { ENTITY_TYPES, getEntity, type ManagedObjectReference, typedPrimitive } from 'brine/vsphere'
import { asList, isTrue } from './_vmware.ts'

export const drsSettings = z.object({
  enabled: z.boolean().optional(),
  automation_level: z.enum(['manual', 'partiallyAutomated', 'fullyAutomated']).optional(),
  /** 1 (conservative) to 5 (aggressive), as in the vSphere client; vSphere's vmotionRate is 6 - this. */
  migration_threshold: z.number().int().min(1).max(5).optional(),
  enable_vm_behavior_overrides: z.boolean().optional(),
})
export type DrsSettings = z.infer<typeof drsSettings>

export const haSettings = z.object({
  enabled: z.boolean().optional(),
  host_monitoring: z.enum(['enabled', 'disabled']).optional(),
  admission_control: z.boolean().optional(),
  /** Host failures the cluster tolerates (failover level). */
  failover_level: z.number().int().min(1).optional(),
})
export type HaSettings = z.infer<typeof haSettings>

type Scalar = string | number | boolean
/** saltext's `advanced_settings` / `advanced_options`: `{key: value}`. */
export const advancedOptions = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))

/** ClusterDrsConfigInfo, fields in WSDL order. */
export function drsSpec(
  drs: DrsSettings & { advanced_settings?: Record<string, Scalar> | undefined },
): Record<string, unknown> {
  return {
    enabled: drs.enabled,
    enableVmBehaviorOverrides: drs.enable_vm_behavior_overrides,
    defaultVmBehavior: drs.automation_level,
    vmotionRate: drs.migration_threshold === undefined ? undefined : 6 - drs.migration_threshold,
    option: drs.advanced_settings ? optionValues(drs.advanced_settings) : undefined,
  }
}

function optionValues(options: Record<string, Scalar>) {
  return Object.entries(options).map(([key, value]) => ({
    _type: 'OptionValue',
    key,
    value: typedPrimitive(value),
  }))
}

/** saltext-vmware's HA arguments (vmware_cluster_ha.configure), all optional here. */
export interface HaOptions extends HaSettings {
  vm_monitoring?: string | undefined
  vm_component_protecting?: string | undefined
  vm_min_up_time?: number | undefined
  vm_max_failure_window?: number | undefined
  vm_max_failures?: number | undefined
  vm_failure_interval?: number | undefined
  isolation_response?: string | undefined
  restart_priority?: string | undefined
  restart_priority_timeout?: number | undefined
  enable_apd_timeout_for_hosts?: boolean | undefined
  vm_reaction_on_apd_cleared?: string | undefined
  vm_storage_protection_for_apd?: string | undefined
  vm_storage_protection_for_pdl?: string | undefined
  vm_terminate_delay_for_apd_sec?: number | undefined
  /** Resolved by the caller: the policy's vSphere form (failover hosts as references). */
  admission_control_policy?: Record<string, unknown> | undefined
  advanced_options?: Record<string, Scalar> | undefined
}

const defined = (o: Record<string, unknown>) =>
  Object.values(o).some((v) => v !== undefined) ? o : undefined

/** ClusterDasConfigInfo, fields in WSDL order; nested settings only when one of them is given. */
export function haSpec(ha: HaOptions): Record<string, unknown> {
  const tools = defined({
    vmMonitoring: ha.vm_monitoring,
    failureInterval: ha.vm_failure_interval,
    minUpTime: ha.vm_min_up_time,
    maxFailures: ha.vm_max_failures,
    maxFailureWindow: ha.vm_max_failure_window,
  })
  const protection = defined({
    vmStorageProtectionForAPD: ha.vm_storage_protection_for_apd,
    enableAPDTimeoutForHosts: ha.enable_apd_timeout_for_hosts,
    vmTerminateDelayForAPDSec: ha.vm_terminate_delay_for_apd_sec,
    vmReactionOnAPDCleared: ha.vm_reaction_on_apd_cleared,
    vmStorageProtectionForPDL: ha.vm_storage_protection_for_pdl,
  })
  const vmSettings = defined({
    restartPriority: ha.restart_priority,
    restartPriorityTimeout: ha.restart_priority_timeout,
    isolationResponse: ha.isolation_response,
    vmToolsMonitoringSettings: tools,
    vmComponentProtectionSettings: protection,
  })
  return {
    enabled: ha.enabled,
    vmMonitoring: ha.vm_monitoring,
    hostMonitoring: ha.host_monitoring,
    vmComponentProtecting: ha.vm_component_protecting,
    failoverLevel: ha.failover_level,
    admissionControlPolicy: ha.admission_control_policy,
    admissionControlEnabled:
      ha.admission_control ?? (ha.admission_control_policy ? true : undefined),
    defaultVmSettings: vmSettings,
    option: ha.advanced_options ? optionValues(ha.advanced_options) : undefined,
  }
}

const ADMISSION_POLICIES = {
  slot_based_admission_control: 'ClusterFailoverLevelAdmissionControlPolicy',
  failover_host_admission_control: 'ClusterFailoverHostAdmissionControlPolicy',
  reservation_based_admission_control: 'ClusterFailoverResourcesAdmissionControlPolicy',
} as const
export type AdmissionPolicyName = keyof typeof ADMISSION_POLICIES

/** saltext's admission_control_policy argument: one key naming the policy, its settings. */
export const admissionControlPolicy = z
  .object({
    slot_based_admission_control: z
      .object({
        failover_level: z.number().int().optional(),
        resource_reduction_to_tolerate_percent: z.number().int().optional(),
      })
      .strict(),
    failover_host_admission_control: z
      .object({
        failover_level: z.number().int().optional(),
        resource_reduction_to_tolerate_percent: z.number().int().optional(),
        failover_hosts: z.array(z.string().min(1)),
      })
      .strict(),
    reservation_based_admission_control: z
      .object({
        failover_level: z.number().int().optional(),
        resource_reduction_to_tolerate_percent: z.number().int().optional(),
        autocompute_percentages: z.boolean().optional(),
        cpu_failover_resources_percent: z.number().int().optional(),
        memory_failover_resources_percent: z.number().int().optional(),
      })
      .strict(),
  })
  .partial()
  .strict()
  .refine((policy) => Object.keys(policy).length === 1, {
    message:
      'give exactly one of slot_based_admission_control, failover_host_admission_control, reservation_based_admission_control',
  })
export type AdmissionControlPolicy = z.infer<typeof admissionControlPolicy>

/** The vSphere admission control policy for saltext's dict (failover hosts already resolved). */
export function admissionPolicySpec(
  policy: AdmissionControlPolicy,
  failoverHosts: ManagedObjectReference[],
): Record<string, unknown> {
  const [name, settings] = Object.entries(policy)[0] as [
    AdmissionPolicyName,
    Record<string, unknown>,
  ]
  const base = {
    resourceReductionToToleratePercent: settings.resource_reduction_to_tolerate_percent,
  }
  switch (name) {
    case 'slot_based_admission_control':
      return { _type: ADMISSION_POLICIES[name], ...base, failoverLevel: settings.failover_level }
    case 'failover_host_admission_control':
      return {
        _type: ADMISSION_POLICIES[name],
        ...base,
        failoverHosts,
        failoverLevel: settings.failover_level,
      }
    case 'reservation_based_admission_control':
      return {
        _type: ADMISSION_POLICIES[name],
        ...base,
        cpuFailoverResourcesPercent: settings.cpu_failover_resources_percent,
        memoryFailoverResourcesPercent: settings.memory_failover_resources_percent,
        failoverLevel: settings.failover_level,
        autoComputePercentages: settings.autocompute_percentages,
      }
  }
}

type Raw = Record<string, unknown>
const num = (value: unknown): number | null =>
  value === undefined || value === null || value === '' ? null : Number(value)
const text = (value: unknown): string | null =>
  value === undefined || value === null ? null : String(value)

function options(list: unknown): Record<string, unknown> {
  return Object.fromEntries(
    asList(list as Array<{ key: string; value?: unknown }> | undefined).map((o) => [
      o.key,
      o.value ?? null,
    ]),
  )
}

/** DRS as vmware_cluster_drs.get shows it: saltext's keys, then brine's names for the same. */
export function drsSettingsOf(drs: Raw) {
  const defaultVmBehavior =
    (drs.defaultVmBehavior as DrsSettings['automation_level'] | undefined) ?? 'fullyAutomated'
  const threshold = drs.vmotionRate === undefined ? 3 : 6 - Number(drs.vmotionRate)
  return {
    enabled: isTrue(drs.enabled),
    enable_vm_behavior_overrides: drs.enableVmBehaviorOverrides !== false,
    default_vm_behavior: defaultVmBehavior,
    vmotion_rate: threshold,
    advanced_settings: options(drs.option),
    automation_level: defaultVmBehavior,
    migration_threshold: threshold,
  }
}

/** HA as vmware_cluster_ha.get shows it: saltext's keys (null when vSphere leaves one unset), then brine's. */
export function haSettingsOf(das: Raw, hostNames: (ref: ManagedObjectReference) => string) {
  const vm = (das.defaultVmSettings ?? {}) as Raw
  const tools = (vm.vmToolsMonitoringSettings ?? {}) as Raw
  const protection = (vm.vmComponentProtectionSettings ?? {}) as Raw
  const policy = (das.admissionControlPolicy ?? undefined) as Raw | undefined
  const policyName =
    (Object.entries(ADMISSION_POLICIES).find(([, type]) => type === policy?._type)?.[0] as
      | AdmissionPolicyName
      | undefined) ?? null
  const failoverLevel = num(policy?.failoverLevel) ?? num(das.failoverLevel) ?? 1
  const admissionControl = isTrue(das.admissionControlEnabled)
  const out: Record<string, unknown> = {
    enabled: isTrue(das.enabled),
    host_monitoring: text(das.hostMonitoring) ?? 'enabled',
    vm_monitoring: text(tools.vmMonitoring) ?? text(das.vmMonitoring) ?? 'vmMonitoringDisabled',
    vm_component_protecting: text(das.vmComponentProtecting) ?? 'disabled',
    vm_min_up_time: num(tools.minUpTime),
    vm_max_failure_window: num(tools.maxFailureWindow),
    vm_max_failures: num(tools.maxFailures),
    vm_failure_interval: num(tools.failureInterval),
    isolation_response: text(vm.isolationResponse),
    restart_priority: text(vm.restartPriority),
    restart_priority_timeout: num(vm.restartPriorityTimeout),
    enable_apd_timeout_for_hosts:
      protection.enableAPDTimeoutForHosts === undefined
        ? null
        : isTrue(protection.enableAPDTimeoutForHosts),
    vm_reaction_on_apd_cleared: text(protection.vmReactionOnAPDCleared),
    vm_storage_protection_for_apd: text(protection.vmStorageProtectionForAPD),
    vm_storage_protection_for_pdl: text(protection.vmStorageProtectionForPDL),
    vm_terminate_delay_for_apd_sec: num(protection.vmTerminateDelayForAPDSec),
    admission_control_enabled: admissionControl,
    admission_control_policy: policyName,
    failover_level: failoverLevel,
    resource_reduction_to_tolerate_percent: num(policy?.resourceReductionToToleratePercent),
  }
  if (policyName === 'failover_host_admission_control')
    out.failover_hosts = asList(policy?.failoverHosts as ManagedObjectReference[]).map(hostNames)
  if (policyName === 'reservation_based_admission_control') {
    out.autocompute_percentages =
      policy?.autoComputePercentages === undefined ? null : isTrue(policy.autoComputePercentages)
    out.cpu_failover_resources_percent = num(policy?.cpuFailoverResourcesPercent)
    out.memory_failover_resources_percent = num(policy?.memoryFailoverResourcesPercent)
  }
  out.advanced_settings = options(das.option)
  out.admission_control = admissionControl
  return out
}

/** haSettingsOf with the failover hosts' names looked up (only when the policy names hosts). */
export async function haSettingsFor(ctx: CallContext, das: Raw) {
  const policy = das.admissionControlPolicy as { failoverHosts?: unknown } | undefined
  const refs = asList(policy?.failoverHosts as ManagedObjectReference[] | undefined)
  const hostNames = new Map<string, string>()
  if (refs.length) {
    const si = ctx.serviceInstance
    for (const ref of refs)
      hostNames.set(
        ref.value,
        (await getEntity(si, ENTITY_TYPES.host, ref.value, { signal: ctx.signal })).name,
      )
  }
  return haSettingsOf(das, (ref) => hostNames.get(ref.value) ?? ref.value)
}

/** The brine settings the cluster state compares (its drs/ha arguments), from ClusterConfigInfoEx. */
export function clusterSettings(config: unknown): {
  drs: Required<DrsSettings>
  ha: Required<HaSettings>
} {
  const c = (config ?? {}) as { drsConfig?: Raw; dasConfig?: Raw }
  const drs = drsSettingsOf(c.drsConfig ?? {})
  const ha = haSettingsOf(c.dasConfig ?? {}, (ref) => ref.value)
  return {
    drs: {
      enabled: drs.enabled,
      automation_level: drs.automation_level,
      migration_threshold: drs.migration_threshold,
      enable_vm_behavior_overrides: drs.enable_vm_behavior_overrides,
    },
    ha: {
      enabled: ha.enabled as boolean,
      host_monitoring: ha.host_monitoring as 'enabled' | 'disabled',
      admission_control: ha.admission_control as boolean,
      failover_level: ha.failover_level as number,
    },
  }
}
