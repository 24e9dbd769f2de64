// vmware_esxi's lockdown, vSAN, disks and LUNs (saltext-vmware's modules/esxi.py), spread into
// vmware_esxi.ts's functions. Names, positional order and return shapes are saltext's; where
// saltext misbehaves the difference is in the README ("Differences from saltext").
import { type CallContext, defineFunction, lazy, ModuleError, z } from 'brine/loader'
import {
  callVim,
  type Entity,
  type ManagedObjectReference,
  retrieveProperties,
  runTask,
} from 'brine/vsphere'
import { bool, type Selection, selectHosts } from './_esxi.ts'
import { asList } from './_vmware.ts'

/** saltext's order for these functions: host_name first, then datacenter_name, cluster_name. */
const hostFirst = lazy(() => ({
  host_name: z.string().min(1).optional().describe('one host (default: all hosts)'),
  datacenter_name: z.string().min(1).optional().describe('datacenter'),
  cluster_name: z.string().min(1).optional().describe('cluster (needs datacenter_name)'),
}))

const hostArg = lazy(() => z.string().min(1).describe('host name'))
const catchTaskError = z
  .boolean()
  .default(true)
  .describe('report the mode the host is left in instead of raising a fault')

interface ScsiLun {
  _type?: string
  canonicalName: string
  key: string
  ssd?: unknown
}
interface DiskMapping {
  ssd: { canonicalName: string }
  nonSsd?: Array<{ canonicalName: string }> | { canonicalName: string }
}
interface VsanConfig {
  enabled?: unknown
  storageInfo?: { diskMapping?: DiskMapping[] | DiskMapping }
}
interface MultipathLun {
  lun: string
  path?: Array<{ name: string }> | { name: string }
}
interface DiskResult {
  disk: ScsiLun & Record<string, unknown>
  state: string
}

/** The one host named `host` (saltext's utils/esxi.get_host), with `props`. */
async function findHost(ctx: CallContext, host: string, props: string[]): Promise<Entity> {
  const [found] = await selectHosts(ctx, { host_name: host }, props)
  if (!found)
    throw new ModuleError(`host '${host}' not found; vmware_esxi.list_hosts lists the hosts`, {
      code: 'BRINE_NOT_FOUND',
    })
  return found
}

// ---- lockdown ----

const lockdownOf = (host: Entity) => ({
  lockdownMode: bool(host.props['config.adminDisabled']) ? 'inLockdown' : 'normal',
})

/**
 * saltext's lockdown_mode / exit_lockdown_mode: {lockdownMode, changes}. A host already in the
 * mode is left alone (changes False). With catch_task_error a fault is reported as the mode the
 * host is in (saltext catches only Salt's own exceptions, so a vSphere fault always escaped).
 */
async function setLockdown(ctx: CallContext, name: string, enter: boolean, catchErrors: boolean) {
  const host = await findHost(ctx, name, ['config.adminDisabled'])
  const wanted = enter ? 'inLockdown' : 'normal'
  if (lockdownOf(host).lockdownMode === wanted) return { lockdownMode: wanted, changes: false }
  let done = true
  try {
    await callVim(
      ctx.serviceInstance,
      `${enter ? 'putting' : 'taking'} host '${host.name}' ${enter ? 'in' : 'out of'} lockdown mode`,
      enter ? 'EnterLockdownMode' : 'ExitLockdownMode',
      { _this: host.obj },
      { signal: ctx.signal },
    )
  } catch (error) {
    // Only a fault vSphere reported is caught; a lost connection is no answer about the mode.
    if (!catchErrors || (error as { faultType?: string }).faultType === undefined) throw error
    done = false
  }
  const now = lockdownOf(await findHost(ctx, host.name, ['config.adminDisabled']))
  return { ...now, changes: done && now.lockdownMode === wanted }
}

// ---- disks ----

const DISK_PROPS = ['config.storageDevice.scsiLun', 'config.storageDevice.multipathInfo.lun']

/** The host's disks (HostScsiDisk), in the order the host reports them. */
const disksOf = (host: Entity) =>
  asList(host.props['config.storageDevice.scsiLun'] as ScsiLun[] | undefined).filter(
    (lun) => lun._type === 'HostScsiDisk',
  )

/**
 * Every SCSI address of each LUN (the first comma-separated part of each path's name), by LUN
 * key, in path order. saltext's get_scsi_address_to_lun_map keys LUNs by each path's address
 * (utils/common.py _get_scsi_address_to_lun_key_map), so list_disks picks a disk by any of its
 * paths and, turning that map around, reports the last path's address (modules/esxi.py
 * list_disks, canonical_name_to_scsi_address).
 */
function scsiAddressesByLun(luns: MultipathLun[] | undefined): Map<string, string[]> {
  const byKey = new Map<string, string[]>()
  for (const lun of asList(luns))
    for (const path of asList(lun.path))
      byKey.set(lun.lun, [...(byKey.get(lun.lun) ?? []), path.name.split(',')[0]!])
  return byKey
}

/** list_disks for one host (read with DISK_PROPS): [{id, scsi_address}] of the disks picked. */
export function listDisksOf(host: Entity, disk_ids?: string[], scsi_addresses?: string[]) {
  const all = !disk_ids?.length && !scsi_addresses?.length
  const addresses = scsiAddressesByLun(
    host.props['config.storageDevice.multipathInfo.lun'] as MultipathLun[] | undefined,
  )
  return disksOf(host)
    .filter(
      (d) =>
        all ||
        disk_ids?.includes(d.canonicalName) ||
        (addresses.get(d.key) ?? []).some((a) => scsi_addresses?.includes(a)),
    )
    .flatMap((d) => {
      const address = addresses.get(d.key)?.at(-1)
      return address ? [{ id: d.canonicalName, scsi_address: address }] : []
    })
}

// ---- vSAN ----

const VSAN_PROPS = ['config.vsanHostConfig', 'configManager.vsanSystem']

const vsanConfigOf = (host: Entity) => (host.props['config.vsanHostConfig'] ?? {}) as VsanConfig

const noVsanSystem = (host: string) =>
  `VSAN System Config Manager is unset for host '${host}'. VSAN configuration cannot be changed without a configured VSAN System.`

/**
 * saltext's _get_vsan_eligible_disks for one host: {Error} without a vSAN system, {Eligible:
 * message} when none is eligible, else {Eligible: the eligible disks, SSDs first}.
 */
async function eligibleDisks(
  ctx: CallContext,
  host: Entity,
): Promise<{ Error: string } | { Eligible: string } | { Eligible: ScsiLun[] }> {
  const system = host.props['configManager.vsanSystem'] as ManagedObjectReference | undefined
  if (!system) return { Error: noVsanSystem(host.name) }
  const results = asList(
    await callVim<DiskResult[] | DiskResult | undefined>(
      ctx.serviceInstance,
      `querying the vSAN eligibility of the disks of host '${host.name}'`,
      'QueryDisksForVsan',
      { _this: system },
      { signal: ctx.signal },
    ),
  )
  const eligible = new Map(
    results.filter((r) => r.state === 'eligible').map((r) => [r.disk.canonicalName, r.disk]),
  )
  if (!eligible.size)
    return { Eligible: `The host '${host.name}' does not have any VSAN eligible disks.` }
  const disks = disksOf(host)
  const ordered = [...disks.filter((d) => bool(d.ssd)), ...disks.filter((d) => !bool(d.ssd))]
  return {
    Eligible: ordered.flatMap((d) => {
      const disk = eligible.get(d.canonicalName)
      return disk ? [disk] : []
    }),
  }
}

const names = (disks: ScsiLun[]) => disks.map((d) => d.canonicalName)

async function perSelected<T>(
  ctx: CallContext,
  sel: Selection,
  props: string[],
  fn: (host: Entity) => Promise<T> | T,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {}
  for (const host of await selectHosts(ctx, sel, props)) out[host.name] = await fn(host)
  return out
}

async function vsanEnabled(ctx: CallContext, host: string) {
  return bool(vsanConfigOf(await findHost(ctx, host, VSAN_PROPS)).enabled) ?? false
}

export const functions = {
  get_lun_ids: defineFunction({
    doc: 'The NAA ids of the LUNs backing the VMFS datastores of all hosts (sorted, each once).',
    args: () => ({}),
    run: async (ctx) => {
      const refs = new Map<string, ManagedObjectReference>()
      for (const host of await selectHosts(ctx, {}, ['datastore']))
        for (const ds of asList(host.props.datastore as ManagedObjectReference[] | undefined))
          refs.set(ds.value, ds)
      if (!refs.size) return []
      const stores = await retrieveProperties(
        ctx.serviceInstance,
        [
          {
            propSet: [{ type: 'Datastore', pathSet: ['info'] }],
            objectSet: [...refs.values()].map((obj) => ({ obj })),
          },
        ],
        { signal: ctx.signal },
      )
      const ids = new Set<string>()
      for (const ds of stores) {
        const info = ds.propSet.find((p) => p.name === 'info')?.val as
          | { vmfs?: { extent?: Array<{ diskName: string }> | { diskName: string } } }
          | undefined
        for (const extent of asList(info?.vmfs?.extent)) ids.add(extent.diskName)
      }
      return [...ids].sort()
    },
  }),
  in_lockdown_mode: defineFunction({
    doc: '{lockdownMode: normal|inLockdown} (the host’s config.adminDisabled).',
    args: () => ({ host: hostArg() }),
    run: async (ctx, { host }) => lockdownOf(await findHost(ctx, host, ['config.adminDisabled'])),
  }),
  lockdown_mode: defineFunction({
    doc:
      'Put the host in lockdown mode (direct logins refused; managed through vCenter only): ' +
      '{lockdownMode, changes}.',
    args: () => ({ host: hostArg(), catch_task_error: catchTaskError }),
    run: (ctx, { host, catch_task_error }) => setLockdown(ctx, host, true, catch_task_error),
  }),
  exit_lockdown_mode: defineFunction({
    doc: 'Take the host out of lockdown mode: {lockdownMode, changes}.',
    args: () => ({ host: hostArg(), catch_task_error: catchTaskError }),
    run: (ctx, { host, catch_task_error }) => setLockdown(ctx, host, false, catch_task_error),
  }),
  get_vsan_enabled: defineFunction({
    doc: '{host: True|False}: whether vSAN is enabled on each selected host.',
    args: hostFirst,
    run: (ctx, sel) =>
      perSelected(ctx, sel, VSAN_PROPS, (host) => bool(vsanConfigOf(host).enabled) ?? false),
  }),
  vsan_enable: defineFunction({
    doc: 'Enable (enable=False: disable) vSAN on the selected hosts: {host: enabled now}.',
    args: () => ({
      enable: z.boolean().default(true).describe('True: enable vSAN; False: disable it'),
      ...hostFirst(),
    }),
    run: (ctx, { enable, ...sel }) =>
      perSelected(ctx, sel, VSAN_PROPS, async (host) => {
        const system = host.props['configManager.vsanSystem'] as ManagedObjectReference | undefined
        if (!system) throw new ModuleError(noVsanSystem(host.name), { code: 'BRINE_UNSUPPORTED' })
        await runTask(
          ctx.serviceInstance,
          `${enable ? 'enabling' : 'disabling'} vSAN on host '${host.name}'`,
          'UpdateVsan_Task',
          { _this: system, config: { enabled: enable } },
          { signal: ctx.signal },
        )
        return vsanEnabled(ctx, host.name)
      }),
  }),
  get_vsan_eligible_disks: defineFunction({
    doc:
      "{host: {Eligible: [canonical names]}}; {host: {Eligible: 'The host … does not have any " +
      "VSAN eligible disks.'}} when none is; {host: {Error}} for a host without a vSAN system.",
    args: hostFirst,
    run: (ctx, sel) =>
      perSelected(ctx, sel, [...VSAN_PROPS, ...DISK_PROPS], async (host) => {
        const found = await eligibleDisks(ctx, host)
        return 'Eligible' in found && Array.isArray(found.Eligible)
          ? { Eligible: names(found.Eligible) }
          : found
      }),
  }),
  vsan_add_disks: defineFunction({
    doc:
      "Claim each selected host's vSAN-eligible disks into disk groups: {host: {'Disks Added': " +
      '[names] or a message}}, or {host: {Error}} (e.g. InsufficientDisks: no SSD for cache).',
    args: hostFirst,
    run: (ctx, sel) =>
      perSelected(ctx, sel, [...VSAN_PROPS, ...DISK_PROPS], async (host) => {
        const found = await eligibleDisks(ctx, host)
        if ('Error' in found) return found
        if (!Array.isArray(found.Eligible)) return { 'Disks Added': found.Eligible }
        if (!found.Eligible.length)
          return { 'Disks Added': 'No new VSAN-eligible disks were found to add.' }
        try {
          await runTask(
            ctx.serviceInstance,
            `adding disks to vSAN on host '${host.name}'`,
            'AddDisks_Task',
            {
              _this: host.props['configManager.vsanSystem'],
              disk: found.Eligible.map(({ _type, ...disk }) => disk),
            },
            { signal: ctx.signal },
          )
        } catch (error) {
          const fault = (error as { faultType?: string }).faultType
          if (fault === undefined) throw error
          const message = (error as Error).message
          return {
            Error:
              fault === 'InsufficientDisks'
                ? message
                : `'vmware_esxi.vsan_add_disks' failed for host ${host.name}: ${message}`,
          }
        }
        return { 'Disks Added': names(found.Eligible) }
      }),
  }),
  list_disks: defineFunction({
    doc:
      '{host: [{id, scsi_address}]} of the disks of each selected host; disk_ids (canonical ' +
      'names) or scsi_addresses pick some.',
    args: () => ({
      disk_ids: z.array(z.string().min(1)).optional().describe('canonical names, e.g. naa.…'),
      scsi_addresses: z
        .array(z.string().min(1))
        .optional()
        .describe('SCSI addresses, e.g. vmhba0:C0:T0:L0'),
      ...hostFirst(),
    }),
    run: (ctx, { disk_ids, scsi_addresses, ...sel }) =>
      perSelected(ctx, sel, DISK_PROPS, (host) => listDisksOf(host, disk_ids, scsi_addresses)),
  }),
  list_diskgroups: defineFunction({
    doc:
      '{host: [{cache_disk, capacity_disks}]}: the vSAN disk groups of each selected host; ' +
      'cache_disk_ids picks the groups of those cache disks.',
    args: () => ({
      cache_disk_ids: z
        .array(z.string().min(1))
        .optional()
        .describe('canonical names of cache disks'),
      ...hostFirst(),
    }),
    run: (ctx, { cache_disk_ids, ...sel }) =>
      perSelected(ctx, sel, VSAN_PROPS, (host) =>
        asList(vsanConfigOf(host).storageInfo?.diskMapping)
          .filter((m) => !cache_disk_ids?.length || cache_disk_ids.includes(m.ssd.canonicalName))
          .map((m) => ({
            cache_disk: m.ssd.canonicalName,
            capacity_disks: asList(m.nonSsd).map((d) => d.canonicalName),
          })),
      ),
  }),
}
