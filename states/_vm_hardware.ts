// vmware_vm.present's virtual hardware as desired state: disks (size, controller type), NICs
// (network, type), the CD/DVD drive, CPU/memory hot add. Compared with what the VM has, the
// difference is the state's changes; applying it calls vmware_vm's hardware functions.
import { type CallContext, ModuleError, z } from 'brine/loader'
import { CONTROLLER_NAMES, type ControllerType } from '../modules/_controllers.ts'
import {
  checkIso,
  type hardwareOf,
  hotChangeRefusal,
  NIC_NAMES,
  type NicType,
} from '../modules/_hardware.ts'

const diskSchema = z.union([
  z
    .object({
      size_gb: z.coerce.number().positive().describe('size in GB'),
      controller: z.enum(CONTROLLER_NAMES).optional().describe('controller type (when added)'),
      thin: z.boolean().default(true).describe('thin provisioning (when added)'),
    })
    .strict(),
  z
    .number()
    .positive()
    .transform((size_gb): { size_gb: number; thin: boolean; controller?: ControllerType } => ({
      size_gb,
      thin: true,
    })),
])
const nicSchema = z.union([
  z
    .object({
      network: z.string().min(1).describe('network or port group name'),
      type: z.enum(NIC_NAMES).optional().describe('adapter type (default vmxnet3 when added)'),
    })
    .strict(),
  z
    .string()
    .min(1)
    .transform((network): { network: string; type?: NicType } => ({ network })),
])

/** present's hardware arguments. */
export const hardwareArgs = {
  disks: z
    .array(diskSchema)
    .optional()
    .describe(
      'disks in order ("Hard disk 1" first): a size in GB or {size_gb, controller, thin}; missing ones are added, smaller ones grown (never shrunk), others left alone',
    ),
  nics: z
    .array(nicSchema)
    .optional()
    .describe(
      'network adapters in order: a network name or {network, type}; missing ones are added, others moved or retyped (same MAC), further ones left alone',
    ),
  cdrom: z
    .object({
      iso: z.string().min(1).optional().describe('[datastore] path of an ISO; none: client device'),
      connected: z.boolean().optional(),
      start_connected: z.boolean().optional(),
    })
    .strict()
    .optional()
    .describe('the first CD/DVD drive (added when the VM has none)'),
  cpu_hot_add: z.boolean().optional().describe('CPUs can be added while powered on'),
  memory_hot_add: z.boolean().optional().describe('memory can be added while powered on'),
}

type Hardware = Awaited<ReturnType<typeof hardwareOf>>
type Wanted = {
  [K in keyof typeof hardwareArgs]?: z.output<(typeof hardwareArgs)[K]>
} & { num_cpu?: number | undefined; memory_mb?: number | undefined }

/** The hardware arguments a state was given (for a new VM's reported changes). */
export function hardwareGiven(wanted: Wanted): Record<string, unknown> {
  const { num_cpu: _c, memory_mb: _m, ...rest } = wanted
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined))
}

export interface HardwarePlan {
  changes: Record<string, { old: unknown; new: unknown }>
  /** Why the change cannot be made at all (result False), when it cannot. */
  refusal?: string
  /**
   * Why the change cannot be made while the VM is powered on, when it is on and cannot take it:
   * the state fails, and test mode says so with its prediction (another state may power the VM
   * off first).
   */
  powered_on?: string
  apply: () => Promise<void>
}

/** Compare the VM's hardware with `wanted`: the changes, and the calls that make them. */
export async function planHardware(
  ctx: CallContext,
  vm: string,
  wanted: Wanted,
): Promise<HardwarePlan> {
  const given = hardwareGiven(wanted)
  if (!Object.keys(given).length && wanted.num_cpu === undefined && wanted.memory_mb === undefined)
    return { changes: {}, apply: async () => {} }
  const hw = (await ctx.salt('vmware_vm.hardware', { vm_name: vm })) as Hardware
  const changes: HardwarePlan['changes'] = {}
  const steps: Array<() => Promise<unknown>> = []
  const refuse = (refusal: string): HardwarePlan => ({
    changes: {},
    refusal,
    apply: async () => {},
  })

  const hotRefusal = hotChangeRefusal(hw, wanted)
  const flags: Record<string, boolean> = {}
  for (const key of ['cpu_hot_add', 'memory_hot_add'] as const) {
    const want = wanted[key]
    if (want !== undefined && want !== hw[key]) {
      changes[key] = { old: hw[key], new: want }
      flags[key] = want
    }
  }
  if (Object.keys(flags).length)
    steps.push(() => ctx.salt('vmware_vm.reconfigure', { vm_name: vm, ...flags }))

  if (wanted.disks) {
    const old = hw.disks.map((d) => ({ size_gb: d.size_gb, controller: d.controller }))
    const next = [...old]
    for (const [index, disk] of wanted.disks.entries()) {
      const current = hw.disks[index]
      if (!current) {
        next.push({ size_gb: disk.size_gb, controller: disk.controller ?? 'paravirtual' })
        steps.push(() =>
          ctx.salt('vmware_vm.add_disk', {
            vm_name: vm,
            size_gb: disk.size_gb,
            thin: disk.thin,
            controller: disk.controller,
          }),
        )
        continue
      }
      if (disk.controller && disk.controller !== current.controller)
        return refuse(
          `${current.label} of VM '${hw.name}' is on a ${current.controller} controller, not ${disk.controller}: brine does not move disks between controllers (the controller type applies to disks it adds).`,
        )
      if (disk.size_gb < current.size_gb)
        return refuse(
          `${current.label} of VM '${hw.name}' is ${current.size_gb} GB and cannot shrink to ${disk.size_gb} GB: vSphere does not support disk shrinking.`,
        )
      if (disk.size_gb > current.size_gb && hw.has_snapshots)
        return refuse(
          `${current.label} of VM '${hw.name}' cannot grow while the VM has snapshots (vSphere extends no disk of a VM with snapshots): remove them first.`,
        )
      if (disk.size_gb > current.size_gb) {
        next[index] = { size_gb: disk.size_gb, controller: current.controller }
        steps.push(() =>
          ctx.salt('vmware_vm.resize_disk', {
            vm_name: vm,
            disk: String(current.key),
            size_gb: disk.size_gb,
          }),
        )
      }
    }
    if (JSON.stringify(next) !== JSON.stringify(old)) changes.disks = { old, new: next }
  }

  if (wanted.nics) {
    const old = hw.nics.map((n) => ({ network: n.network, type: n.type }))
    const next = [...old]
    for (const [index, nic] of wanted.nics.entries()) {
      const current = hw.nics[index]
      const type = nic.type ?? current?.type ?? 'vmxnet3'
      if (!current) {
        next.push({ network: nic.network, type })
        steps.push(() => ctx.salt('vmware_vm.add_nic', { vm_name: vm, network: nic.network, type }))
      } else if (current.network !== nic.network || current.type !== type) {
        next[index] = { network: nic.network, type }
        steps.push(() =>
          ctx.salt('vmware_vm.update_nic', {
            vm_name: vm,
            nic: String(current.key),
            network: nic.network,
            type,
          }),
        )
      }
    }
    if (JSON.stringify(next) !== JSON.stringify(old)) changes.nics = { old, new: next }
  }

  if (wanted.cdrom) {
    const want = wanted.cdrom
    const drive = hw.cdroms[0]
    const current = drive
      ? {
          backing: drive.backing,
          iso: drive.iso,
          connected: drive.connected,
          start_connected: drive.start_connected,
        }
      : null
    const next = {
      backing: want.iso === undefined ? 'client' : 'iso',
      iso: want.iso ?? null,
      connected: want.connected ?? current?.connected ?? false,
      start_connected: want.start_connected ?? current?.start_connected ?? true,
    }
    if (JSON.stringify(next) !== JSON.stringify(current)) {
      if (want.iso !== undefined && want.iso !== current?.iso) {
        const missing = await checkIso(ctx, want.iso).then(
          () => undefined,
          (error: unknown) => {
            if (error instanceof ModuleError) return error.message
            throw error
          },
        )
        if (missing) return refuse(`${missing}.`)
      }
      changes.cdrom = { old: current, new: next }
      steps.push(() =>
        ctx.salt('vmware_vm.set_cdrom', {
          vm_name: vm,
          iso: want.iso,
          connected: want.connected,
          start_connected: want.start_connected,
        }),
      )
    }
  }

  return {
    changes,
    ...(hotRefusal
      ? { powered_on: `VM '${hw.name}' must be powered off for this change: ${hotRefusal}.` }
      : {}),
    apply: async () => {
      for (const step of steps) await step()
    },
  }
}
