// Virtual hardware of VMs: reading disks and NICs, and the device specs that add or remove them.
import { type CallContext, ModuleError } from 'brine/loader'
import {
  ENTITY_TYPES,
  EntityNotFoundError,
  getEntity,
  type ManagedObjectReference,
  propertiesOf,
  retrieveObjectProperties,
  retrieveProperties,
} from 'brine/vsphere'
import { controllerType, type Device } from './_controllers.ts'

const CONTROLLERS = /SCSIController$|^ParaVirtualSCSIController$|^VirtualLsiLogic/
const NICS = /^Virtual(Vmxnet\d?|E1000e?|PCNet32|Sriov)/

export interface DiskInfo {
  label: string
  key: number
  size_gb: number
  file: string
  thin: boolean
  /** The type of its controller ("paravirtual", "lsilogic", "nvme", "sata", …). */
  controller: string | null
  unit_number: number
}
export interface NicInfo {
  label: string
  key: number
  type: string
  mac: string
  network: string
}

/**
 * Disks in device-key order, labelled "Hard disk N" as vCenter does (vcsim's own labels, such
 * as "disk-202-0", are not stable enough to address a disk by).
 */
export function disksOf(devices: Device[]): DiskInfo[] {
  return devices
    .filter((d) => d._type === 'VirtualDisk')
    .sort((a, b) => Number(a.key) - Number(b.key))
    .map((d, index) => {
      const backing = (d.backing ?? {}) as { fileName?: string; thinProvisioned?: unknown }
      const controller = devices.find((c) => Number(c.key) === Number(d.controllerKey))
      return {
        label: `Hard disk ${index + 1}`,
        key: Number(d.key),
        size_gb: Math.round((Number(d.capacityInKB ?? 0) / 1024 / 1024) * 100) / 100,
        file: String(backing.fileName ?? ''),
        thin: backing.thinProvisioned === true || backing.thinProvisioned === 'true',
        controller: controllerType(controller) ?? null,
        unit_number: Number(d.unitNumber),
      }
    })
}

/**
 * Network adapters in slot order (controller, unit number, then device key), labelled "Network
 * adapter N" as vCenter does. Slot order, not key order: an adapter whose type was changed is a
 * new device (a new key) in the old one's slot, and keeps its place.
 */
export function nicsOf(devices: Device[], networkNames: Map<string, string>): NicInfo[] {
  const slot = (d: Device) => [
    Number(d.controllerKey ?? 0),
    d.unitNumber === undefined ? Number.MAX_SAFE_INTEGER : Number(d.unitNumber),
    Number(d.key),
  ]
  return devices
    .filter((d) => NICS.test(String(d._type ?? '')))
    .sort((a, b) => {
      const [sa, sb] = [slot(a), slot(b)]
      return sa[0]! - sb[0]! || sa[1]! - sb[1]! || sa[2]! - sb[2]!
    })
    .map((d, index) => {
      const backing = (d.backing ?? {}) as {
        deviceName?: string
        network?: ManagedObjectReference
        port?: { portgroupKey?: string }
      }
      const network = backing.port?.portgroupKey
        ? (networkNames.get(backing.port.portgroupKey) ?? backing.port.portgroupKey)
        : String(
            backing.deviceName ??
              (backing.network
                ? (networkNames.get(backing.network.value) ?? backing.network.value)
                : ''),
          )
      return {
        label: `Network adapter ${index + 1}`,
        key: Number(d.key),
        type: String(d._type)
          .replace(/^Virtual/, '')
          .toLowerCase(),
        mac: String(d.macAddress ?? ''),
        network,
      }
    })
}

/** The NICs of a VM as they are now, with their networks' names. */
export async function currentNics(
  ctx: CallContext,
  vm: ManagedObjectReference,
): Promise<NicInfo[]> {
  const devices = await devicesOf(ctx, vm)
  return nicsOf(devices, await networkNames(ctx, devices))
}

export async function devicesOf(ctx: CallContext, vm: ManagedObjectReference): Promise<Device[]> {
  const { 'config.hardware.device': devices } = await retrieveObjectProperties(
    ctx.serviceInstance,
    vm,
    ['config.hardware.device'],
    { signal: ctx.signal },
  )
  return (devices as Device[] | undefined) ?? []
}

/**
 * Names of the networks and DV port groups the NICs among `devices` are on, by id (and
 * portgroup key, which is the port group's id): one read of those objects only.
 */
export async function networkNames(
  ctx: CallContext,
  devices: Device[],
): Promise<Map<string, string>> {
  const refs = new Map<string, ManagedObjectReference>()
  for (const device of devices) {
    if (!NICS.test(String(device._type ?? ''))) continue
    const backing = (device.backing ?? {}) as {
      network?: ManagedObjectReference
      port?: { portgroupKey?: string }
    }
    if (backing.network) refs.set(backing.network.value, backing.network)
    const key = backing.port?.portgroupKey
    if (key) refs.set(key, { type: 'DistributedVirtualPortgroup', value: key })
  }
  if (!refs.size) return new Map()
  const objects = await retrieveProperties(
    ctx.serviceInstance,
    [
      {
        propSet: [{ type: 'Network', pathSet: ['name'] }],
        objectSet: [...refs.values()].map((obj) => ({ obj })),
        reportMissingObjectsInResults: true,
      },
    ],
    { signal: ctx.signal },
  )
  return new Map(
    objects.flatMap((object) => {
      const name = propertiesOf(object).name
      return name === undefined ? [] : [[object.obj.value, String(name)] as const]
    }),
  )
}

/** Device changes adding disks (and a PVSCSI controller when the VM has none). */
export function diskChanges(
  devices: Device[],
  sizesGb: number[],
  thin = true,
): Record<string, unknown>[] {
  const changes: Record<string, unknown>[] = []
  let controller = devices.find((d) => CONTROLLERS.test(String(d._type ?? '')))
  let controllerKey = controller ? Number(controller.key) : -100
  if (!controller) {
    changes.push({
      operation: 'add',
      device: {
        _type: 'ParaVirtualSCSIController',
        key: controllerKey,
        busNumber: 0,
        sharedBus: 'noSharing',
      },
    })
    controller = { key: controllerKey }
    controllerKey = -100
  }
  const used = new Set(
    devices
      .filter((d) => Number(d.controllerKey) === controllerKey)
      .map((d) => Number(d.unitNumber)),
  )
  let unit = 0
  sizesGb.forEach((size, index) => {
    while (used.has(unit) || unit === 7) unit++
    used.add(unit)
    changes.push(newDiskChange(index, size, thin, { controllerKey, unitNumber: unit }))
  })
  return changes
}

/** The change adding the `index`th new disk of `sizeGb` at `slot` (its controller and unit). */
export function newDiskChange(
  index: number,
  sizeGb: number,
  thin: boolean,
  slot: { controllerKey: number; unitNumber: number },
): Record<string, unknown> {
  return {
    operation: 'add',
    fileOperation: 'create',
    device: {
      _type: 'VirtualDisk',
      key: -200 - index,
      backing: {
        _type: 'VirtualDiskFlatVer2BackingInfo',
        fileName: '',
        diskMode: 'persistent',
        thinProvisioned: thin,
      },
      ...slot,
      capacityInKB: Math.round(sizeGb * 1024 * 1024),
    },
  }
}

/** Device changes adding NICs on standard networks or distributed port groups (by name or id). */
export async function nicChanges(
  ctx: CallContext,
  networks: string[],
  type = 'vmxnet3',
): Promise<Record<string, unknown>[]> {
  const changes: Record<string, unknown>[] = []
  for (const [index, name] of networks.entries()) {
    const deviceType =
      { vmxnet3: 'VirtualVmxnet3', e1000: 'VirtualE1000', e1000e: 'VirtualE1000e' }[type] ??
      'VirtualVmxnet3'
    changes.push({
      operation: 'add',
      device: {
        _type: deviceType,
        key: -300 - index,
        backing: await nicBacking(ctx, name),
        connectable: { startConnected: true, allowGuestControl: true, connected: false },
        addressType: 'generated',
      },
    })
  }
  return changes
}

/** The backing of a NIC on a standard network or a distributed port group (by name or id). */
export async function nicBacking(ctx: CallContext, name: string): Promise<Record<string, unknown>> {
  const si = ctx.serviceInstance
  const pg = await getEntity(si, ENTITY_TYPES.portgroup, name, {
    props: ['config.key', 'config.distributedVirtualSwitch'],
    signal: ctx.signal,
  }).catch((error: unknown) => {
    if (error instanceof EntityNotFoundError) return undefined
    throw error
  })
  let backing: Record<string, unknown>
  if (pg) {
    const dvs = pg.props['config.distributedVirtualSwitch'] as ManagedObjectReference
    const { uuid } = await retrieveObjectProperties(si, dvs, ['uuid'], { signal: ctx.signal })
    backing = {
      _type: 'VirtualEthernetCardDistributedVirtualPortBackingInfo',
      port: { switchUuid: uuid, portgroupKey: pg.props['config.key'] ?? pg.obj.value },
    }
  } else {
    const network = await getEntity(si, 'Network', name, { signal: ctx.signal }).catch(() => {
      throw new ModuleError(
        `network '${name}' not found (neither a standard network nor a distributed port group)`,
        { code: 'BRINE_NOT_FOUND' },
      )
    })
    backing = {
      _type: 'VirtualEthernetCardNetworkBackingInfo',
      deviceName: network.name,
      network: network.obj,
    }
  }
  return backing
}

/** The disk or NIC with this label ("Hard disk 2", "Network adapter 1") or device key. */
export function deviceNamed(
  devices: Device[],
  label: string,
  what: 'disk' | 'network adapter',
): Device {
  const listed = what === 'disk' ? disksOf(devices) : nicsOf(devices, new Map())
  const match = listed.find((d) => d.label === label || String(d.key) === label)
  const found = match && devices.find((d) => Number(d.key) === match.key)
  if (!found) {
    throw new ModuleError(
      `${what} '${label}' not found (have: ${listed.map((d) => `${d.label} (key ${d.key})`).join(', ') || 'none'})`,
      { code: 'BRINE_NOT_FOUND' },
    )
  }
  return found
}
