// Changes to a VM's virtual hardware in place: disk growth, NIC network and type, CD-ROM
// backing, CPU and memory with the hot-add rules vSphere enforces.
import { type CallContext, ModuleError } from 'brine/loader'
import {
  ENTITY_TYPES,
  type Entity,
  EntityNotFoundError,
  getEntity,
  retrieveObjectProperties,
  runTask,
  VimFaultError,
} from 'brine/vsphere'
import {
  type ControllerType,
  controllersOf,
  type Device,
  placeOnControllers,
} from './_controllers.ts'
import {
  diskChanges,
  disksOf,
  networkNames,
  newDiskChange,
  nicBacking,
  nicsOf,
} from './_devices.ts'

const KB_PER_GB = 1024 * 1024

/** Device changes adding disks on a controller of `controller` (a new one when none has room). */
export function diskChangesOn(
  devices: Device[],
  sizesGb: number[],
  thin: boolean,
  controller: ControllerType | undefined,
): Record<string, unknown>[] {
  if (!controller) return diskChanges(devices, sizesGb, thin)
  const { slots, changes } = placeOnControllers(devices, [controller], sizesGb.length)
  return [
    ...changes,
    ...sizesGb.map((size, index) => newDiskChange(index, size, thin, slots[index]!)),
  ]
}

/**
 * The change growing `disk` to `sizeGb`, or undefined when it already has that size. vSphere
 * cannot shrink a virtual disk, nor grow one of a VM with snapshots (the disk is then a chain
 * of delta files): both are refused here, before vCenter refuses them.
 */
export function growDiskChange(
  disk: Device,
  label: string,
  sizeGb: number,
  hasSnapshots = false,
): Record<string, unknown> | undefined {
  const currentKb = Number(disk.capacityInKB ?? 0)
  const wantedKb = Math.round(sizeGb * KB_PER_GB)
  if (wantedKb === currentKb) return undefined
  if (wantedKb < currentKb)
    throw new ModuleError(
      `${label} is ${currentKb / KB_PER_GB} GB and cannot shrink to ${sizeGb} GB: vSphere does not support disk shrinking; give a size of at least ${currentKb / KB_PER_GB} GB`,
      { code: 'BRINE_ARGUMENT' },
    )
  if (hasSnapshots)
    throw new ModuleError(
      `${label} cannot grow while the VM has snapshots (vSphere extends no disk of a VM with snapshots): remove them first (vmware_vm.remove_all_snapshots)`,
      { code: 'BRINE_INVALID_STATE' },
    )
  return {
    operation: 'edit',
    device: { ...disk, capacityInKB: wantedKb, capacityInBytes: wantedKb * 1024 },
  }
}

export const NIC_TYPES = {
  vmxnet3: 'VirtualVmxnet3',
  e1000: 'VirtualE1000',
  e1000e: 'VirtualE1000e',
} as const
export type NicType = keyof typeof NIC_TYPES
export const NIC_NAMES = Object.keys(NIC_TYPES) as [NicType, ...NicType[]]

export interface NicUpdate {
  network?: string | undefined
  type?: NicType | undefined
  connected?: boolean | undefined
  start_connected?: boolean | undefined
}

/**
 * The changes bringing a NIC to `update`, none when it is already so. A new network is an edit
 * of its backing; a new type replaces the device (vSphere cannot change a device's type) by one
 * with the same MAC address in the same slot, so the guest sees the same adapter address.
 */
export async function nicUpdateChanges(
  ctx: CallContext,
  nic: Device,
  update: NicUpdate,
): Promise<Record<string, unknown>[]> {
  const [current] = nicsOf([nic], await networkNames(ctx, [nic]))
  const connectable = (nic.connectable ?? {}) as Record<string, unknown>
  const wantConnectable = {
    ...connectable,
    ...(update.connected === undefined ? {} : { connected: update.connected }),
    ...(update.start_connected === undefined ? {} : { startConnected: update.start_connected }),
  }
  const networkChanged = update.network !== undefined && update.network !== current?.network
  const typeChanged = update.type !== undefined && NIC_TYPES[update.type] !== nic._type
  const connectChanged =
    (update.connected !== undefined && update.connected !== isTrue(connectable.connected)) ||
    (update.start_connected !== undefined &&
      update.start_connected !== isTrue(connectable.startConnected))
  if (!networkChanged && !typeChanged && !connectChanged) return []
  const backing = networkChanged ? await nicBacking(ctx, update.network as string) : nic.backing
  if (!typeChanged)
    return [{ operation: 'edit', device: { ...nic, backing, connectable: wantConnectable } }]
  // A MAC vCenter generated is given back as 'assigned' (a 'manual' one must be in VMware's
  // static range, which generated ones are not).
  const addressType = nic.addressType === 'manual' ? 'manual' : 'assigned'
  return [
    { operation: 'remove', device: nic },
    {
      operation: 'add',
      device: {
        _type: NIC_TYPES[update.type as NicType],
        // A temporary key: vSphere does not let a client reuse a device key.
        key: -1,
        controllerKey: nic.controllerKey,
        unitNumber: nic.unitNumber,
        ...(nic.slotInfo ? { slotInfo: nic.slotInfo } : {}),
        backing,
        connectable: wantConnectable,
        addressType,
        macAddress: nic.macAddress,
        wakeOnLanEnabled: nic.wakeOnLanEnabled,
      },
    },
  ]
}

const isTrue = (v: unknown) => v === true || v === 'true'

export interface CdromInfo {
  label: string
  key: number
  /** iso (a datastore file), client (the client device), host (a host device) or none. */
  backing: 'iso' | 'client' | 'host' | 'none'
  iso: string | null
  connected: boolean
  start_connected: boolean
  controller: string | null
}

/** CD/DVD drives in key order, labelled "CD/DVD drive N" as vCenter does. */
export function cdromsOf(devices: Device[]): CdromInfo[] {
  return devices
    .filter((d) => d._type === 'VirtualCdrom')
    .sort((a, b) => Number(a.key) - Number(b.key))
    .map((d, index) => {
      const backing = (d.backing ?? {}) as { _type?: string; fileName?: string }
      const connectable = (d.connectable ?? {}) as Record<string, unknown>
      const kind = /Iso/.test(backing._type ?? '')
        ? 'iso'
        : /Remote/.test(backing._type ?? '')
          ? 'client'
          : /Atapi|Passthrough/.test(backing._type ?? '')
            ? 'host'
            : 'none'
      const controller = controllersOf(devices).find((c) => c.key === Number(d.controllerKey))
      return {
        label: `CD/DVD drive ${index + 1}`,
        key: Number(d.key),
        backing: kind,
        iso: kind === 'iso' ? String(backing.fileName ?? '') : null,
        connected: isTrue(connectable.connected),
        start_connected: isTrue(connectable.startConnected),
        controller: controller?.type ?? null,
      }
    })
}

export interface CdromWanted {
  /** "[datastore] path/file.iso", or undefined for the client device. */
  iso?: string | undefined
  connected?: boolean | undefined
  start_connected?: boolean | undefined
}

const DATASTORE_PATH = /^\[([^\]]+)\]\s*(.+)$/

/** Refuse an ISO path that is malformed or names no file on its datastore (datastore browser). */
export async function checkIso(ctx: CallContext, iso: string): Promise<void> {
  const match = DATASTORE_PATH.exec(iso)
  if (!match)
    throw new ModuleError(
      `iso '${iso}' is not a datastore path: write it as '[datastore] folder/file.iso'`,
      { code: 'BRINE_ARGUMENT' },
    )
  const [, datastore, path] = match as unknown as [string, string, string]
  const si = ctx.serviceInstance
  const ds = await getEntity(si, ENTITY_TYPES.datastore, datastore, {
    props: ['browser'],
    signal: ctx.signal,
  }).catch((error: unknown) => {
    if (error instanceof EntityNotFoundError)
      throw new ModuleError(`iso '${iso}': datastore '${datastore}' not found`, {
        code: 'BRINE_NOT_FOUND',
      })
    throw error
  })
  const slash = path.lastIndexOf('/')
  const folder = slash < 0 ? '' : path.slice(0, slash)
  const file = path.slice(slash + 1)
  const result = (await runTask(
    si,
    `looking for ${iso}`,
    'SearchDatastore_Task',
    {
      _this: ds.props.browser,
      datastorePath: `[${ds.name}] ${folder}`.trimEnd(),
      searchSpec: { matchPattern: [file] },
    },
    { signal: ctx.signal },
  ).catch((error: unknown) => {
    if (error instanceof VimFaultError && error.faultType === 'FileNotFound') return undefined
    throw error
  })) as { file?: unknown } | undefined
  const files = [result?.file ?? []].flat() as Array<{ path?: string }>
  if (!files.some((f) => f.path === file))
    throw new ModuleError(
      `iso '${iso}' not found: datastore '${ds.name}' has no file '${path}' (upload it first)`,
      { code: 'BRINE_NOT_FOUND' },
    )
}

/**
 * The changes bringing the VM's CD/DVD drive (`cdrom`: its label or key, default the first)
 * to `wanted`; a drive is added (on an IDE controller with a free unit, else SATA, adding a SATA
 * controller when needed) when the VM has none. Empty when it is already so.
 */
export async function cdromChanges(
  ctx: CallContext,
  devices: Device[],
  wanted: CdromWanted,
  cdrom?: string,
): Promise<Record<string, unknown>[]> {
  const drives = cdromsOf(devices)
  const drive = cdrom ? drives.find((d) => d.label === cdrom || String(d.key) === cdrom) : drives[0]
  if (cdrom && !drive)
    throw new ModuleError(
      `CD/DVD drive '${cdrom}' not found (have: ${drives.map((d) => `${d.label} (key ${d.key})`).join(', ') || 'none'})`,
      { code: 'BRINE_NOT_FOUND' },
    )
  if (wanted.iso !== undefined && wanted.iso !== drive?.iso) await checkIso(ctx, wanted.iso)
  const backing =
    wanted.iso !== undefined
      ? { _type: 'VirtualCdromIsoBackingInfo', fileName: wanted.iso }
      : { _type: 'VirtualCdromRemotePassthroughBackingInfo', deviceName: '', exclusive: false }
  const kind = wanted.iso !== undefined ? 'iso' : 'client'
  if (drive) {
    const same =
      drive.backing === kind &&
      (kind === 'client' || drive.iso === wanted.iso) &&
      (wanted.connected === undefined || wanted.connected === drive.connected) &&
      (wanted.start_connected === undefined || wanted.start_connected === drive.start_connected)
    if (same) return []
    const device = devices.find((d) => Number(d.key) === drive.key) as Device
    return [
      {
        operation: 'edit',
        device: {
          ...device,
          backing,
          connectable: connectableOf(device, wanted),
        },
      },
    ]
  }
  const { slots, changes } = placeOnControllers(devices, ['ide', 'sata'], 1, 'sata')
  return [
    ...changes,
    {
      operation: 'add',
      device: {
        _type: 'VirtualCdrom',
        key: -400,
        ...slots[0],
        backing,
        connectable: connectableOf({}, wanted),
      },
    },
  ]
}

function connectableOf(device: Device, wanted: CdromWanted) {
  const current = (device.connectable ?? {}) as Record<string, unknown>
  return {
    allowGuestControl: current.allowGuestControl ?? true,
    connected: wanted.connected ?? isTrue(current.connected),
    startConnected: wanted.start_connected ?? (isTrue(current.startConnected) || !device.key),
  }
}

const CPU_MEMORY_PROPS = [
  'runtime.powerState',
  'config.hardware.numCPU',
  'config.hardware.memoryMB',
  'config.cpuHotAddEnabled',
  'config.cpuHotRemoveEnabled',
  'config.memoryHotAddEnabled',
]

function cpuMemoryOf(props: Record<string, unknown>) {
  return {
    power_state: String(props['runtime.powerState']),
    num_cpu: Number(props['config.hardware.numCPU']),
    memory_mb: Number(props['config.hardware.memoryMB']),
    cpu_hot_add: isTrue(props['config.cpuHotAddEnabled']),
    cpu_hot_remove: isTrue(props['config.cpuHotRemoveEnabled']),
    memory_hot_add: isTrue(props['config.memoryHotAddEnabled']),
  }
}

/** A VM's power state, CPUs, memory and hot-add settings (no devices: a light read). */
export async function cpuMemoryState(ctx: CallContext, vm: Entity) {
  return cpuMemoryOf(
    await retrieveObjectProperties(ctx.serviceInstance, vm.obj, CPU_MEMORY_PROPS, {
      signal: ctx.signal,
    }),
  )
}

/** Whether a VM's `snapshot` property (as read) holds any snapshot. */
export function hasSnapshots(snapshot: unknown): boolean {
  const roots = (snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList
  return [roots ?? []].flat().length > 0
}

/**
 * The hardware a VM has: CPU, memory, hot-add settings, whether it has snapshots (its disks
 * cannot grow then), controllers, disks, NICs, drives.
 */
export async function hardwareOf(ctx: CallContext, vm: Entity) {
  const props = await retrieveObjectProperties(
    ctx.serviceInstance,
    vm.obj,
    [...CPU_MEMORY_PROPS, 'snapshot', 'config.hardware.device'],
    { signal: ctx.signal },
  )
  const devices = (props['config.hardware.device'] as Device[] | undefined) ?? []
  return {
    name: vm.name,
    id: vm.obj.value,
    ...cpuMemoryOf(props),
    has_snapshots: hasSnapshots(props.snapshot),
    controllers: controllersOf(devices),
    disks: disksOf(devices),
    nics: nicsOf(devices, await networkNames(ctx, devices)),
    cdroms: cdromsOf(devices),
  }
}

export interface CpuMemoryChange {
  num_cpu?: number | undefined
  memory_mb?: number | undefined
  cpu_hot_add?: boolean | undefined
  memory_hot_add?: boolean | undefined
}

/**
 * Why vSphere would refuse this CPU/memory change now (undefined: it would not). A powered-on
 * VM takes more CPUs only with CPU hot add, more memory only with memory hot add, never fewer
 * CPUs (brine does not do CPU hot remove) or less memory; the hot-add settings themselves
 * change only while it is powered off.
 */
export function hotChangeRefusal(
  current: {
    power_state: string
    num_cpu: number
    memory_mb: number
    cpu_hot_add: boolean
    memory_hot_add: boolean
  },
  wanted: CpuMemoryChange,
): string | undefined {
  if (current.power_state !== 'poweredOn') return undefined
  const off = 'power the VM off first'
  if (wanted.cpu_hot_add !== undefined && wanted.cpu_hot_add !== current.cpu_hot_add)
    return `CPU hot add can only be ${wanted.cpu_hot_add ? 'enabled' : 'disabled'} while the VM is powered off: ${off}`
  if (wanted.memory_hot_add !== undefined && wanted.memory_hot_add !== current.memory_hot_add)
    return `memory hot add can only be ${wanted.memory_hot_add ? 'enabled' : 'disabled'} while the VM is powered off: ${off}`
  const cpu = wanted.num_cpu
  if (cpu !== undefined && cpu < current.num_cpu)
    return `removing CPUs (${current.num_cpu} → ${cpu}) from a powered-on VM is not supported (no CPU hot remove): ${off}`
  if (cpu !== undefined && cpu > current.num_cpu && !current.cpu_hot_add)
    return `adding CPUs (${current.num_cpu} → ${cpu}) to a powered-on VM needs CPU hot add, which is not enabled: ${off} (and set cpu_hot_add=True while it is off)`
  const memory = wanted.memory_mb
  if (memory !== undefined && memory < current.memory_mb)
    return `removing memory (${current.memory_mb} → ${memory} MB) from a powered-on VM is not supported by vSphere: ${off}`
  if (memory !== undefined && memory > current.memory_mb && !current.memory_hot_add)
    return `adding memory (${current.memory_mb} → ${memory} MB) to a powered-on VM needs memory hot add, which is not enabled: ${off} (and set memory_hot_add=True while it is off)`
  return undefined
}
