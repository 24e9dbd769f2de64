// DRS and HA settings: the user-facing shape (snake_case, as saltext-vmware) and the vSphere specs.
import { z } from 'brine/loader'

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

/** ClusterDrsConfigInfo, fields in WSDL order. */
export function drsSpec(drs: DrsSettings): Record<string, unknown> {
  return {
    enabled: drs.enabled,
    enableVmBehaviorOverrides: drs.enable_vm_behavior_overrides,
    defaultVmBehavior: drs.automation_level,
    vmotionRate: drs.migration_threshold === undefined ? undefined : 6 - drs.migration_threshold,
  }
}

/** ClusterDasConfigInfo, fields in WSDL order. */
export function haSpec(ha: HaSettings): Record<string, unknown> {
  return {
    enabled: ha.enabled,
    hostMonitoring: ha.host_monitoring,
    failoverLevel: ha.failover_level,
    admissionControlEnabled: ha.admission_control,
  }
}

/** The user-facing DRS and HA settings from ClusterConfigInfoEx. */
export function clusterSettings(config: unknown): {
  drs: Required<DrsSettings>
  ha: Required<HaSettings>
} {
  const c = (config ?? {}) as {
    drsConfig?: Record<string, unknown>
    dasConfig?: Record<string, unknown>
  }
  const drs = c.drsConfig ?? {}
  const das = c.dasConfig ?? {}
  return {
    drs: {
      enabled: drs.enabled === true,
      automation_level:
        (drs.defaultVmBehavior as DrsSettings['automation_level']) ?? 'fullyAutomated',
      migration_threshold: typeof drs.vmotionRate === 'number' ? 6 - drs.vmotionRate : 3,
      enable_vm_behavior_overrides: drs.enableVmBehaviorOverrides !== false,
    },
    ha: {
      enabled: das.enabled === true,
      host_monitoring: (das.hostMonitoring as HaSettings['host_monitoring']) ?? 'enabled',
      admission_control: das.admissionControlEnabled === true,
      failover_level: typeof das.failoverLevel === 'number' ? das.failoverLevel : 1,
    },
  }
}
