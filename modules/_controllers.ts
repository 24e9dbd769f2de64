// Disk and CD-ROM controllers of VMs: their types, free unit numbers, and the specs adding them.
import { ModuleError } from 'brine/loader'

/** A device of `config.hardware.device`, as read. */
export type Device = Record<string, unknown> & {
  _type?: string
  key?: unknown
  deviceInfo?: { label?: string }
  controllerKey?: unknown
  unitNumber?: unknown
  busNumber?: unknown
}

/** The controller types a disk (or CD-ROM) can be put on, by the name brine's arguments use. */
export const CONTROLLER_TYPES = {
  lsilogic: 'VirtualLsiLogicController',
  'lsilogic-sas': 'VirtualLsiLogicSASController',
  paravirtual: 'ParaVirtualSCSIController',
  buslogic: 'VirtualBusLogicController',
  nvme: 'VirtualNVMEController',
  sata: 'VirtualAHCIController',
} as const
export type ControllerType = keyof typeof CONTROLLER_TYPES
export const CONTROLLER_NAMES = Object.keys(CONTROLLER_TYPES) as [
  ControllerType,
  ...ControllerType[],
]

const TYPE_NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(CONTROLLER_TYPES).map(([name, type]) => [type, name])),
  VirtualSATAController: 'sata',
  VirtualIDEController: 'ide',
}

/** Unit numbers usable on each controller family (SCSI 7 is the controller's own). */
const UNITS: Record<string, number[]> = {
  scsi: [...Array(16).keys()].filter((u) => u !== 7),
  nvme: [...Array(15).keys()],
  sata: [...Array(30).keys()],
  ide: [0, 1],
}

/** A family shares bus numbers 0-3 and holds at most four controllers. */
function familyOf(type: string | undefined): string | undefined {
  if (!type) return undefined
  if (type === 'nvme' || type === 'sata' || type === 'ide') return type
  return 'scsi'
}

/** brine's name of a controller's type ("paravirtual", "nvme", "ide", …); undefined for other devices. */
export function controllerType(device: Device | undefined): string | undefined {
  return device ? TYPE_NAMES[String(device._type ?? '')] : undefined
}

/** vCenter's labels of controllers, before the bus number. */
const LABELS: Record<string, string> = {
  scsi: 'SCSI controller',
  nvme: 'NVME controller',
  sata: 'SATA controller',
  ide: 'IDE',
}

export interface ControllerInfo {
  label: string
  key: number
  type: string
  bus_number: number
  devices: number
}

/** Disk and CD-ROM controllers (SCSI, NVMe, SATA, IDE) in key order. */
export function controllersOf(devices: Device[]): ControllerInfo[] {
  return devices
    .filter((d) => controllerType(d))
    .sort((a, b) => Number(a.key) - Number(b.key))
    .map((d) => {
      const type = controllerType(d) as string
      const family = familyOf(type)
      return {
        label: `${LABELS[family ?? 'ide']} ${Number(d.busNumber ?? 0)}`,
        key: Number(d.key),
        type,
        bus_number: Number(d.busNumber ?? 0),
        devices: devices.filter((o) => Number(o.controllerKey) === Number(d.key)).length,
      }
    })
}

/** The first unit number free on a controller, or undefined when it is full. */
function freeUnit(devices: Device[], controller: Device, taken: Set<string>): number | undefined {
  const used = new Set(
    devices
      .filter((d) => Number(d.controllerKey) === Number(controller.key))
      .map((d) => Number(d.unitNumber)),
  )
  return UNITS[familyOf(controllerType(controller)) ?? '']?.find(
    (u) => !used.has(u) && !taken.has(`${Number(controller.key)}:${u}`),
  )
}

/**
 * Where new devices go on controllers of `types` (the first with a free unit, in key order),
 * adding a controller of `addType` when none has room: the slots, and the controller
 * additions to put before the devices in the same spec. Keys of new controllers are negative.
 */
export function placeOnControllers(
  devices: Device[],
  types: readonly string[],
  count: number,
  addType = types[0] as ControllerType,
): {
  slots: Array<{ controllerKey: number; unitNumber: number }>
  changes: Record<string, unknown>[]
} {
  const working = [...devices]
  const taken = new Set<string>()
  const slots: Array<{ controllerKey: number; unitNumber: number }> = []
  const changes: Record<string, unknown>[] = []
  for (let i = 0; i < count; i++) {
    let slot: { controllerKey: number; unitNumber: number } | undefined
    for (const controller of working.filter((d) => types.includes(controllerType(d) ?? ''))) {
      const unit = freeUnit(working, controller, taken)
      if (unit !== undefined) {
        slot = { controllerKey: Number(controller.key), unitNumber: unit }
        break
      }
    }
    if (!slot) {
      const change = controllerChange(working, addType, -100 - changes.length)
      changes.push(change)
      const added = change.device as Device
      working.push(added)
      slot = { controllerKey: Number(added.key), unitNumber: freeUnit(working, added, taken) ?? 0 }
    }
    taken.add(`${slot.controllerKey}:${slot.unitNumber}`)
    slots.push(slot)
  }
  return { slots, changes }
}

/** The device change adding a controller of `type` on the lowest free bus number of its family. */
export function controllerChange(
  devices: Device[],
  type: ControllerType,
  key = -100,
): Record<string, unknown> & { device: Device } {
  const family = familyOf(type)
  const buses = new Set(
    devices
      .filter((d) => controllerType(d) && familyOf(controllerType(d)) === family)
      .map((d) => Number(d.busNumber)),
  )
  const bus = [0, 1, 2, 3].find((b) => !buses.has(b))
  if (bus === undefined)
    throw new ModuleError(
      `the VM already has 4 ${family === 'scsi' ? 'SCSI' : String(family).toUpperCase()} controllers, the most vSphere allows, and none has a free unit: use another controller type (controller=)`,
      { code: 'BRINE_ARGUMENT' },
    )
  const device: Device = { _type: CONTROLLER_TYPES[type], key, busNumber: bus }
  if (family === 'scsi') device.sharedBus = 'noSharing'
  return { operation: 'add', device }
}
