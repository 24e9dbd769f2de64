// Hardware changes of VMs in place (issue 16, item 5): disk growth, controller types, NIC
// network and type, CD-ROM backing, CPU/memory hot add; each change read back on a session of
// its own, and the faults vCenter raises for what it refuses (test/vcsim/hw-devices.go).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { placeOnControllers } from '../modules/_controllers.ts'
import { runTask } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { ENTITY_TYPES, getEntity } from '../vsphere/entities.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
let datastoreDir: string
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim)
  // An ISO on the datastore: vcsim keeps a datastore's files in the directory its URL names.
  datastoreDir = await readBack(async (si) => {
    const ds = await getEntity(si, ENTITY_TYPES.datastore, 'LocalDS_0')
    return String((await retrieveObjectProperties(si, ds.obj, ['info.url']))['info.url'])
  })
  mkdirSync(join(datastoreDir, 'iso'), { recursive: true })
  writeFileSync(join(datastoreDir, 'iso', 'x.iso'), 'not really an ISO')
  writeFileSync(join(datastoreDir, 'iso', 'y.iso'), 'not really an ISO either')
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, state, failure } = callersOf(() => rt)

/** Read vSphere on a session of its own (not through the runtime under test). */
function readBack<T>(fn: (si: ServiceInstance) => Promise<T>): Promise<T> {
  return withSession(
    resolveConnectionParams({
      server: vcsim.url,
      user: 'reader',
      password: 'pw',
      caFile: vcsim.caFile,
    }),
    fn,
  )
}

type RawDevice = Record<string, unknown> & {
  _type: string
  key: number
  controllerKey?: number
  unitNumber?: number
  backing?: Record<string, unknown>
  connectable?: Record<string, unknown>
}

/** A VM's devices and CPU/memory settings, read directly. */
function rawVm(name: string) {
  return readBack(async (si) => {
    const vm = await getEntity(si, ENTITY_TYPES.vm, name)
    const props = await retrieveObjectProperties(si, vm.obj, [
      'config.hardware.device',
      'config.hardware.numCPU',
      'config.hardware.memoryMB',
      'config.cpuHotAddEnabled',
      'config.memoryHotAddEnabled',
    ])
    return {
      ref: vm.obj,
      devices: props['config.hardware.device'] as RawDevice[],
      numCpu: Number(props['config.hardware.numCPU']),
      memoryMb: Number(props['config.hardware.memoryMB']),
      cpuHotAdd: props['config.cpuHotAddEnabled'] === true,
      memoryHotAdd: props['config.memoryHotAddEnabled'] === true,
    }
  })
}

/** ReconfigVM_Task sent directly (not through brine): the fault type vCenter answers, if any. */
function reconfigFault(name: string, spec: (devices: RawDevice[]) => Record<string, unknown>) {
  return readBack(async (si) => {
    const vm = await getEntity(si, ENTITY_TYPES.vm, name)
    const { 'config.hardware.device': devices } = await retrieveObjectProperties(si, vm.obj, [
      'config.hardware.device',
    ])
    return runTask(si, 'reconfiguring directly', 'ReconfigVM_Task', {
      _this: vm.obj,
      spec: spec(devices as RawDevice[]),
    }).then(
      () => undefined,
      (error: { faultType?: string; message: string }) => ({
        type: error.faultType,
        message: error.message,
      }),
    )
  })
}

const GB = 1024 * 1024

async function createVm(name: string) {
  await call('vmware_vm.create', [], {
    name,
    datacenter: 'DC0',
    cluster: 'DC0_C0',
    disks: [10],
    nics: ['VM Network'],
  })
}

describe('vmware_vm.resize_disk', () => {
  // vSphere API reference, VirtualDisk.capacityInKB: a disk edit may grow it; shrinking is
  // refused with InvalidDeviceOperation (govmomi issue 2910 shows vCenter's answer).
  it('grows a disk in place and refuses to shrink it, as vCenter does', async () => {
    await createVm('hw-disk')
    const grown = (await call('vmware_vm.resize_disk', [], {
      vm_name: 'hw-disk',
      disk: 'Hard disk 1',
      size_gb: 12,
    })) as { resized: boolean; disks: Array<{ size_gb: number }> }
    expect(grown.resized).toBe(true)
    expect(grown.disks.map((d) => d.size_gb)).toEqual([12])
    const raw = await rawVm('hw-disk')
    expect(
      raw.devices.filter((d) => d._type === 'VirtualDisk').map((d) => Number(d.capacityInKB)),
    ).toEqual([12 * GB])

    const again = (await call('vmware_vm.resize_disk', [], {
      vm_name: 'hw-disk',
      disk: 'Hard disk 1',
      size_gb: 12,
    })) as { resized: boolean }
    expect(again.resized).toBe(false)

    const shrink = await failure('vmware_vm.resize_disk', [], {
      vm_name: 'hw-disk',
      disk: 'Hard disk 1',
      size_gb: 5,
    })
    expect(shrink?.code).toBe('BRINE_ARGUMENT')
    expect(shrink?.message).toBe(
      'Hard disk 1 is 12 GB and cannot shrink to 5 GB: vSphere does not support disk shrinking; give a size of at least 12 GB',
    )
    // What vCenter answers when asked directly.
    const fault = await reconfigFault('hw-disk', (devices) => {
      const disk = devices.find((d) => d._type === 'VirtualDisk') as RawDevice
      return {
        deviceChange: [
          {
            operation: 'edit',
            device: { ...disk, capacityInKB: 5 * GB, capacityInBytes: 5 * GB * 1024 },
          },
        ],
      }
    })
    expect(fault).toMatchObject({ type: 'InvalidDeviceOperation' })
    expect(fault?.message).toMatch(/Invalid operation for device '0'/)
    expect(
      (await rawVm('hw-disk')).devices
        .filter((d) => d._type === 'VirtualDisk')
        .map((d) => Number(d.capacityInKB)),
    ).toEqual([12 * GB])
  })

  // A disk of a VM with snapshots cannot be extended (ManageIQ's vSphere provider refuses it
  // for the same reason: https://github.com/ManageIQ/manageiq-providers-vmware/pull/382).
  it('refuses to grow a disk while the VM has snapshots, in the function and the state', async () => {
    await call('vmware_vm.create_snapshot', [], { vm_name: 'hw-disk', snapshot_name: 'before' })
    const refused = await failure('vmware_vm.resize_disk', [], {
      vm_name: 'hw-disk',
      disk: 'Hard disk 1',
      size_gb: 14,
    })
    expect(refused?.code).toBe('BRINE_INVALID_STATE')
    expect(refused?.message).toBe(
      'Hard disk 1 cannot grow while the VM has snapshots (vSphere extends no disk of a VM with snapshots): remove them first (vmware_vm.remove_all_snapshots)',
    )
    const stated = await state(
      'vmware_vm.present',
      [],
      { name: 'hw-disk', datacenter: 'DC0', disks: [14] },
      true,
    )
    expect(stated).toMatchObject({ result: false, changes: {} })
    expect(stated.comment).toMatch(/cannot grow while the VM has snapshots/)
    await call('vmware_vm.remove_all_snapshots', [], { name: 'hw-disk' })
    expect(
      await state('vmware_vm.present', [], { name: 'hw-disk', datacenter: 'DC0', disks: [14] }),
    ).toMatchObject({
      result: true,
      changes: { disks: { old: [{ size_gb: 12 }], new: [{ size_gb: 14 }] } },
    })
    expect(
      (await rawVm('hw-disk')).devices
        .filter((d) => d._type === 'VirtualDisk')
        .map((d) => Number(d.capacityInKB)),
    ).toEqual([14 * GB])
  })
})

describe('vmware_vm.resize_disk on a powered-on VM', () => {
  // vSphere grows a disk of a running VM in place. vcsim's model VMs hold their CD-ROM on the
  // disk's controller and unit: an edit that keeps the disk where it is is no unit conflict.
  it('grows the disk of a model VM, powered on', async () => {
    const grown = (await call('vmware_vm.resize_disk', [], {
      vm_name: 'DC0_H0_VM1',
      disk: 'Hard disk 1',
      size_gb: 1,
    })) as { resized: boolean; disks: Array<{ size_gb: number }> }
    expect(grown).toMatchObject({ resized: true, disks: [{ size_gb: 1 }] })
    const raw = await rawVm('DC0_H0_VM1')
    expect(
      raw.devices.filter((d) => d._type === 'VirtualDisk').map((d) => Number(d.capacityInKB)),
    ).toEqual([GB])
  })
})

describe('controllers', () => {
  it('adds disks on the controller type asked for, a new controller when none has room', async () => {
    await createVm('hw-ctl')
    for (const controller of ['nvme', 'sata', 'lsilogic']) {
      await call('vmware_vm.add_disk', [], { name: 'hw-ctl', size_gb: 1, controller })
    }
    const hw = (await call('vmware_vm.hardware', [], { vm_name: 'hw-ctl' })) as {
      disks: Array<{ size_gb: number; controller: string; unit_number: number }>
      controllers: Array<{ type: string; bus_number: number; devices: number }>
    }
    expect(hw.disks.map((d) => [d.size_gb, d.controller])).toEqual([
      [10, 'paravirtual'],
      [1, 'nvme'],
      [1, 'sata'],
      [1, 'lsilogic'],
    ])
    expect(hw.controllers.filter((c) => c.type !== 'ide')).toEqual([
      expect.objectContaining({ type: 'paravirtual', bus_number: 0, devices: 1 }),
      expect.objectContaining({ type: 'nvme', bus_number: 0, devices: 1 }),
      expect.objectContaining({ type: 'sata', bus_number: 0, devices: 1 }),
      expect.objectContaining({ type: 'lsilogic', bus_number: 1, devices: 1 }),
    ])
    // Read back directly: each disk is on a controller of the type asked for.
    const raw = await rawVm('hw-ctl')
    const typeOf = (key: unknown) => raw.devices.find((d) => d.key === key)?._type
    expect(
      raw.devices.filter((d) => d._type === 'VirtualDisk').map((d) => typeOf(d.controllerKey)),
    ).toEqual([
      'ParaVirtualSCSIController',
      'VirtualNVMEController',
      'VirtualAHCIController',
      'VirtualLsiLogicController',
    ])

    // A second disk on NVMe goes on the same controller, next unit.
    await call('vmware_vm.add_disk', [], { name: 'hw-ctl', size_gb: 2, controller: 'nvme' })
    const nvme = (await call('vmware_vm.hardware', [], { vm_name: 'hw-ctl' })) as typeof hw
    expect(nvme.disks.filter((d) => d.controller === 'nvme').map((d) => d.unit_number)).toEqual([
      0, 1,
    ])
    expect(nvme.controllers.filter((c) => c.type === 'nvme')).toHaveLength(1)

    // Controllers on their own, up to four of a kind.
    for (let i = 0; i < 3; i++)
      await call('vmware_vm.add_controller', [], { name: 'hw-ctl', type: 'nvme' })
    const buses = (
      (await call('vmware_vm.hardware', [], { vm_name: 'hw-ctl' })) as typeof hw
    ).controllers
      .filter((c) => c.type === 'nvme')
      .map((c) => c.bus_number)
    expect(buses).toEqual([0, 1, 2, 3])
    const fifth = await failure('vmware_vm.add_controller', [], { name: 'hw-ctl', type: 'nvme' })
    expect(fifth?.code).toBe('BRINE_ARGUMENT')
    expect(fifth?.message).toMatch(/already has 4 NVME controllers/)
  })

  // vSphere API reference, VirtualDevice.unitNumber / VirtualController.busNumber: SCSI unit 7
  // is the controller's, NVMe takes units 0-14, a kind has at most four controllers.
  it('answers vCenter’s faults for a unit or bus number vSphere refuses', async () => {
    const onUnit = (type: string, unit: number) =>
      reconfigFault('hw-ctl', (devices) => {
        const controller = devices.find((d) => d._type === type) as RawDevice
        return {
          deviceChange: [
            {
              operation: 'add',
              fileOperation: 'create',
              device: {
                _type: 'VirtualDisk',
                key: -1,
                controllerKey: controller.key,
                unitNumber: unit,
                capacityInKB: GB,
                backing: {
                  _type: 'VirtualDiskFlatVer2BackingInfo',
                  fileName: '',
                  diskMode: 'persistent',
                },
              },
            },
          ],
        }
      })
    expect(await onUnit('ParaVirtualSCSIController', 7)).toMatchObject({
      type: 'InvalidDeviceSpec',
    })
    expect(await onUnit('VirtualNVMEController', 15)).toMatchObject({ type: 'InvalidDeviceSpec' })
    // Unit 0 of the NVMe controller holds a disk already.
    expect(await onUnit('VirtualNVMEController', 0)).toMatchObject({ type: 'InvalidDeviceSpec' })
    expect(
      await reconfigFault('hw-ctl', () => ({
        deviceChange: [
          { operation: 'add', device: { _type: 'VirtualNVMEController', key: -5, busNumber: 0 } },
        ],
      })),
    ).toMatchObject({ type: 'InvalidDeviceSpec' })
    expect(
      await reconfigFault('hw-ctl', () => ({
        deviceChange: [
          {
            operation: 'add',
            fileOperation: 'create',
            device: {
              _type: 'VirtualDisk',
              key: -1,
              controllerKey: 99999,
              unitNumber: 0,
              capacityInKB: GB,
              backing: {
                _type: 'VirtualDiskFlatVer2BackingInfo',
                fileName: '',
                diskMode: 'persistent',
              },
            },
          },
        ],
      })),
    ).toMatchObject({ type: 'InvalidController' })
  })
})

describe('vmware_vm.update_nic', () => {
  it('moves a NIC to a distributed port group and changes its type keeping its MAC', async () => {
    await createVm('hw-nic')
    const before = (await rawVm('hw-nic')).devices.find(
      (d) => d._type === 'VirtualVmxnet3',
    ) as RawDevice
    const moved = (await call('vmware_vm.update_nic', [], {
      name: 'hw-nic',
      nic: 'Network adapter 1',
      network: 'DC0_DVPG0',
    })) as { changed: boolean; nics: Array<{ network: string; type: string; mac: string }> }
    expect(moved.changed).toBe(true)
    expect(moved.nics).toMatchObject([
      { network: 'DC0_DVPG0', type: 'vmxnet3', mac: before.macAddress },
    ])
    const nic = (await rawVm('hw-nic')).devices.find((d) => d.key === before.key) as RawDevice
    expect(nic.backing?._type).toBe('VirtualEthernetCardDistributedVirtualPortBackingInfo')

    const retyped = (await call('vmware_vm.update_nic', [], {
      name: 'hw-nic',
      nic: 'Network adapter 1',
      type: 'e1000e',
    })) as typeof moved
    expect(retyped.nics).toMatchObject([
      { network: 'DC0_DVPG0', type: 'e1000e', mac: before.macAddress },
    ])
    // A new device (vSphere assigns it a new key) with the old one's MAC, in its slot.
    const devices = (await rawVm('hw-nic')).devices
    const nics = devices.filter((d) => /Vmxnet|E1000/.test(d._type))
    expect(nics).toHaveLength(1)
    expect(nics[0]).toMatchObject({
      _type: 'VirtualE1000e',
      macAddress: before.macAddress,
      controllerKey: before.controllerKey,
      unitNumber: before.unitNumber,
    })

    const same = (await call('vmware_vm.update_nic', [], {
      name: 'hw-nic',
      nic: 'Network adapter 1',
      type: 'e1000e',
      network: 'DC0_DVPG0',
    })) as typeof moved
    expect(same.changed).toBe(false)
    const back = (await call('vmware_vm.update_nic', [], {
      name: 'hw-nic',
      nic: 'Network adapter 1',
      network: 'VM Network',
      type: 'vmxnet3',
    })) as typeof moved
    expect(back.nics).toMatchObject([
      { network: 'VM Network', type: 'vmxnet3', mac: before.macAddress },
    ])
    expect(
      (await failure('vmware_vm.update_nic', [], { name: 'hw-nic', nic: 'Network adapter 1' }))
        ?.message,
    ).toMatch(/give what to change/)
  })
})

describe('vmware_vm.set_cdrom', () => {
  it('puts an ISO from a datastore in a CD/DVD drive (checked to exist), or the client device', async () => {
    await createVm('hw-cd')
    const set = (await call('vmware_vm.set_cdrom', [], {
      name: 'hw-cd',
      iso: '[LocalDS_0] iso/x.iso',
      start_connected: true,
    })) as { changed: boolean; cdroms: Array<Record<string, unknown>> }
    expect(set.changed).toBe(true)
    expect(set.cdroms).toMatchObject([
      {
        label: 'CD/DVD drive 1',
        backing: 'iso',
        iso: '[LocalDS_0] iso/x.iso',
        start_connected: true,
      },
    ])
    let drive = (await rawVm('hw-cd')).devices.find((d) => d._type === 'VirtualCdrom') as RawDevice
    expect(drive.backing).toMatchObject({
      _type: 'VirtualCdromIsoBackingInfo',
      fileName: '[LocalDS_0] iso/x.iso',
    })
    expect(String(drive.connectable?.startConnected)).toBe('true')

    const again = (await call('vmware_vm.set_cdrom', [], {
      name: 'hw-cd',
      iso: '[LocalDS_0] iso/x.iso',
    })) as typeof set
    expect(again.changed).toBe(false)

    const missing = await failure('vmware_vm.set_cdrom', [], {
      name: 'hw-cd',
      iso: '[LocalDS_0] iso/nope.iso',
    })
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
    expect(missing?.message).toBe(
      "iso '[LocalDS_0] iso/nope.iso' not found: datastore 'LocalDS_0' has no file 'iso/nope.iso' (upload it first)",
    )
    expect(
      (await failure('vmware_vm.set_cdrom', [], { name: 'hw-cd', iso: 'iso/x.iso' }))?.message,
    ).toMatch(/not a datastore path: write it as '\[datastore\] folder\/file.iso'/)
    // vSphere API reference, VirtualCdromIsoBackingInfo: the file must exist (FileNotFound).
    const fault = await reconfigFault('hw-cd', (devices) => {
      const cd = devices.find((d) => d._type === 'VirtualCdrom') as RawDevice
      return {
        deviceChange: [
          {
            operation: 'edit',
            device: {
              ...cd,
              backing: {
                _type: 'VirtualCdromIsoBackingInfo',
                fileName: '[LocalDS_0] iso/nope.iso',
              },
            },
          },
        ],
      }
    })
    expect(fault).toMatchObject({ type: 'FileNotFound' })

    const client = (await call('vmware_vm.set_cdrom', [], { name: 'hw-cd' })) as typeof set
    expect(client.cdroms).toMatchObject([{ backing: 'client', iso: null }])
    drive = (await rawVm('hw-cd')).devices.find((d) => d._type === 'VirtualCdrom') as RawDevice
    expect(drive.backing?._type).toBe('VirtualCdromRemotePassthroughBackingInfo')
  })
})

describe('CPU and memory hot add', () => {
  it('refuses changes a powered-on VM does not allow, and makes them once hot add is enabled', async () => {
    await createVm('hw-hot')
    await call('vmware_vm.power_state', [], { name: 'hw-hot', state: 'on' })
    const start = await rawVm('hw-hot')
    const cpu = await failure('vmware_vm.reconfigure', [], {
      name: 'hw-hot',
      num_cpu: start.numCpu + 1,
    })
    expect(cpu?.code).toBe('BRINE_INVALID_STATE')
    expect(cpu?.message).toBe(
      `VM 'hw-hot' is powered on: adding CPUs (${start.numCpu} → ${start.numCpu + 1}) to a powered-on VM needs CPU hot add, which is not enabled: power the VM off first (and set cpu_hot_add=True while it is off)`,
    )
    const memory = await failure('vmware_vm.reconfigure', [], {
      name: 'hw-hot',
      memory_mb: start.memoryMb * 2,
    })
    expect(memory?.message).toMatch(/needs memory hot add, which is not enabled/)
    const flag = await failure('vmware_vm.reconfigure', [], { name: 'hw-hot', cpu_hot_add: true })
    expect(flag?.message).toMatch(/CPU hot add can only be enabled while the VM is powered off/)
    // vSphere API reference, VirtualMachineConfigSpec.cpuHotAddEnabled: set only when powered
    // off; without it, CPUs change only when powered off (InvalidPowerState).
    expect(await reconfigFault('hw-hot', () => ({ numCPUs: start.numCpu + 1 }))).toMatchObject({
      type: 'InvalidPowerState',
    })
    expect(await reconfigFault('hw-hot', () => ({ memoryHotAddEnabled: true }))).toMatchObject({
      type: 'InvalidPowerState',
    })
    expect(await rawVm('hw-hot')).toMatchObject({
      numCpu: start.numCpu,
      memoryMb: start.memoryMb,
      cpuHotAdd: false,
    })

    await call('vmware_vm.power_state', [], { name: 'hw-hot', state: 'off' })
    await call('vmware_vm.reconfigure', [], {
      name: 'hw-hot',
      cpu_hot_add: true,
      memory_hot_add: true,
    })
    expect(await rawVm('hw-hot')).toMatchObject({ cpuHotAdd: true, memoryHotAdd: true })
    await call('vmware_vm.power_state', [], { name: 'hw-hot', state: 'on' })
    await call('vmware_vm.reconfigure', [], {
      name: 'hw-hot',
      num_cpu: start.numCpu + 1,
      memory_mb: start.memoryMb * 2,
    })
    expect(await rawVm('hw-hot')).toMatchObject({
      numCpu: start.numCpu + 1,
      memoryMb: start.memoryMb * 2,
    })

    const remove = await failure('vmware_vm.reconfigure', [], {
      name: 'hw-hot',
      num_cpu: start.numCpu,
    })
    expect(remove?.message).toMatch(
      /removing CPUs \(\d+ → \d+\) from a powered-on VM is not supported \(no CPU hot remove\)/,
    )
    const less = await failure('vmware_vm.reconfigure', [], {
      name: 'hw-hot',
      memory_mb: start.memoryMb,
    })
    expect(less?.message).toMatch(/removing memory .* is not supported by vSphere/)
    expect(await reconfigFault('hw-hot', () => ({ memoryMB: start.memoryMb }))).toMatchObject({
      type: 'InvalidPowerState',
    })
  })
})

describe('vmware_vm.present with hardware', () => {
  const base = { name: 'hw-state', datacenter: 'DC0', cluster: 'DC0_C0' }
  const hardware = () =>
    call('vmware_vm.hardware', [], { vm_name: 'hw-state' }) as Promise<{
      power_state: string
      num_cpu: number
      cpu_hot_add: boolean
      memory_hot_add: boolean
      disks: Array<{ size_gb: number; controller: string }>
      nics: Array<{ network: string; type: string; mac: string }>
      cdroms: Array<{ backing: string; iso: string | null; start_connected: boolean }>
    }>
  const exists = () =>
    readBack(async (si) =>
      getEntity(si, ENTITY_TYPES.vm, 'hw-state').then(
        () => true,
        () => false,
      ),
    )

  it('creates a VM with disks, NICs, a CD/DVD drive and hot add; predicts in test mode; idempotent', async () => {
    const wanted = {
      ...base,
      disks: [{ size_gb: 4, controller: 'nvme' }, 2],
      nics: ['VM Network', { network: 'DC0_DVPG0', type: 'e1000e' }],
      cdrom: { iso: '[LocalDS_0] iso/x.iso', start_connected: true },
      cpu_hot_add: true,
    }
    const predicted = await state('vmware_vm.present', [], wanted, true)
    expect(predicted).toMatchObject({ result: null, comment: "VM 'hw-state' would be created." })
    expect(predicted.changes).toEqual({
      vm: {
        old: null,
        new: {
          name: 'hw-state',
          disks: [
            { size_gb: 4, controller: 'nvme', thin: true },
            { size_gb: 2, thin: true },
          ],
          nics: [{ network: 'VM Network' }, { network: 'DC0_DVPG0', type: 'e1000e' }],
          cdrom: { iso: '[LocalDS_0] iso/x.iso', start_connected: true },
          cpu_hot_add: true,
        },
      },
    })
    expect(await exists()).toBe(false)

    const created = await state('vmware_vm.present', [], wanted)
    expect(created).toMatchObject({ result: true, comment: "VM 'hw-state' created." })
    const hw = await hardware()
    expect(hw.disks.map((d) => [d.size_gb, d.controller])).toEqual([
      [4, 'nvme'],
      [2, 'paravirtual'],
    ])
    expect(hw.nics.map((n) => [n.network, n.type])).toEqual([
      ['VM Network', 'vmxnet3'],
      ['DC0_DVPG0', 'e1000e'],
    ])
    expect(hw.cdroms).toMatchObject([
      { backing: 'iso', iso: '[LocalDS_0] iso/x.iso', start_connected: true },
    ])
    const raw = await rawVm('hw-state')
    expect(raw.cpuHotAdd).toBe(true)
    expect(
      raw.devices.filter((d) => d._type === 'VirtualDisk').map((d) => Number(d.capacityInKB)),
    ).toEqual([4 * GB, 2 * GB])

    const again = await state('vmware_vm.present', [], wanted)
    expect(again).toMatchObject({
      result: true,
      changes: {},
      comment: "VM 'hw-state' is already as wanted.",
    })
  })

  it('grows, adds, moves, retypes and swaps the ISO as a diff; test mode changes nothing', async () => {
    const before = await hardware()
    const wanted = {
      ...base,
      disks: [{ size_gb: 6 }, 2, { size_gb: 3, controller: 'sata' }],
      // The first adapter is retyped too: it keeps its place (slot order), so a second run
      // compares the same adapters.
      nics: [
        { network: 'DC0_DVPG0', type: 'e1000' },
        { network: 'DC0_DVPG0', type: 'vmxnet3' },
      ],
      cdrom: { iso: '[LocalDS_0] iso/y.iso' },
      memory_hot_add: true,
    }
    const diff = {
      memory_hot_add: { old: false, new: true },
      disks: {
        old: [
          { size_gb: 4, controller: 'nvme' },
          { size_gb: 2, controller: 'paravirtual' },
        ],
        new: [
          { size_gb: 6, controller: 'nvme' },
          { size_gb: 2, controller: 'paravirtual' },
          { size_gb: 3, controller: 'sata' },
        ],
      },
      nics: {
        old: [
          { network: 'VM Network', type: 'vmxnet3' },
          { network: 'DC0_DVPG0', type: 'e1000e' },
        ],
        new: [
          { network: 'DC0_DVPG0', type: 'e1000' },
          { network: 'DC0_DVPG0', type: 'vmxnet3' },
        ],
      },
      cdrom: {
        old: {
          backing: 'iso',
          iso: '[LocalDS_0] iso/x.iso',
          connected: false,
          start_connected: true,
        },
        new: {
          backing: 'iso',
          iso: '[LocalDS_0] iso/y.iso',
          connected: false,
          start_connected: true,
        },
      },
    }
    const predicted = await state('vmware_vm.present', [], wanted, true)
    expect(predicted).toMatchObject({
      result: null,
      comment: "VM 'hw-state' would be reconfigured.",
    })
    expect(predicted.changes).toEqual(diff)
    expect(await hardware()).toEqual(before)

    const applied = await state('vmware_vm.present', [], wanted)
    expect(applied).toMatchObject({ result: true, comment: "VM 'hw-state' reconfigured." })
    expect(applied.changes).toEqual(diff)
    const after = await hardware()
    expect(after.disks.map((d) => [d.size_gb, d.controller])).toEqual([
      [6, 'nvme'],
      [2, 'paravirtual'],
      [3, 'sata'],
    ])
    expect(after.nics.map((n) => [n.network, n.type, n.mac])).toEqual([
      ['DC0_DVPG0', 'e1000', before.nics[0]?.mac],
      ['DC0_DVPG0', 'vmxnet3', before.nics[1]?.mac],
    ])
    expect(after.cdroms).toMatchObject([{ iso: '[LocalDS_0] iso/y.iso' }])
    expect(await rawVm('hw-state')).toMatchObject({ memoryHotAdd: true, cpuHotAdd: true })
    expect(await state('vmware_vm.present', [], wanted)).toMatchObject({
      result: true,
      changes: {},
    })
  })

  it('refuses to shrink a disk, a missing ISO, and what a powered-on VM cannot take', async () => {
    const before = await hardware()
    const shrink = await state('vmware_vm.present', [], { ...base, disks: [1] })
    expect(shrink).toMatchObject({
      result: false,
      changes: {},
      comment:
        "Hard disk 1 of VM 'hw-state' is 6 GB and cannot shrink to 1 GB: vSphere does not support disk shrinking.",
    })
    const moved = await state('vmware_vm.present', [], {
      ...base,
      disks: [{ size_gb: 6, controller: 'lsilogic' }],
    })
    expect(moved.result).toBe(false)
    expect(moved.comment).toMatch(/is on a nvme controller, not lsilogic/)
    const iso = await state(
      'vmware_vm.present',
      [],
      { ...base, cdrom: { iso: '[LocalDS_0] iso/nope.iso' } },
      true,
    )
    expect(iso.result).toBe(false)
    expect(iso.comment).toMatch(/iso '\[LocalDS_0\] iso\/nope.iso' not found/)
    expect(await hardware()).toEqual(before)

    await call('vmware_vm.power_state', [], { name: 'hw-state', state: 'on' })
    // Hot add is enabled: one more CPU is taken while powered on.
    const more = await state('vmware_vm.present', [], { ...base, num_cpu: before.num_cpu + 1 })
    expect(more).toMatchObject({
      result: true,
      changes: { num_cpu: { old: before.num_cpu, new: before.num_cpu + 1 } },
    })
    expect((await rawVm('hw-state')).numCpu).toBe(before.num_cpu + 1)
    // Refused when applied; test mode predicts the change and says the VM must be off then
    // (a state ordered before it may power it off).
    const removing = `VM 'hw-state' must be powered off for this change: removing CPUs (${before.num_cpu + 1} → ${before.num_cpu}) from a powered-on VM is not supported (no CPU hot remove): power the VM off first.`
    const fewer = { ...base, num_cpu: before.num_cpu }
    expect(await state('vmware_vm.present', [], fewer)).toMatchObject({
      result: false,
      changes: {},
      comment: removing,
    })
    expect(await state('vmware_vm.present', [], fewer, true)).toMatchObject({
      result: null,
      changes: { num_cpu: { old: before.num_cpu + 1, new: before.num_cpu } },
      comment: `VM 'hw-state' would be reconfigured. ${removing}`,
    })
    const flag = await state('vmware_vm.present', [], { ...base, memory_hot_add: false })
    expect(flag).toMatchObject({ result: false, changes: {} })
    expect(flag.comment).toMatch(
      /must be powered off for this change: memory hot add can only be disabled while the VM is powered off/,
    )
    expect(
      await state('vmware_vm.present', [], { ...base, memory_hot_add: false }, true),
    ).toMatchObject({ result: null, changes: { memory_hot_add: { old: true, new: false } } })
    expect(await rawVm('hw-state')).toMatchObject({
      numCpu: before.num_cpu + 1,
      memoryHotAdd: true,
    })
  })
})

describe('placeOnControllers', () => {
  // vSphere API reference, VirtualSCSIController: units 0-15, 7 being the controller's own.
  it('adds a controller on the next bus number when every controller of the type is full', () => {
    const full: Array<Record<string, unknown>> = [
      { _type: 'ParaVirtualSCSIController', key: 1000, busNumber: 0 },
      ...[...Array(16).keys()]
        .filter((u) => u !== 7)
        .map((unit) => ({
          _type: 'VirtualDisk',
          key: 2000 + unit,
          controllerKey: 1000,
          unitNumber: unit,
        })),
    ]
    const placed = placeOnControllers(full, ['paravirtual'], 2)
    expect(placed.changes).toEqual([
      {
        operation: 'add',
        device: {
          _type: 'ParaVirtualSCSIController',
          key: -100,
          busNumber: 1,
          sharedBus: 'noSharing',
        },
      },
    ])
    expect(placed.slots).toEqual([
      { controllerKey: -100, unitNumber: 0 },
      { controllerKey: -100, unitNumber: 1 },
    ])
    // One free unit left on the first controller: used before a new controller is added.
    const oneFree = full.filter((d) => d.unitNumber !== 15)
    expect(placeOnControllers(oneFree, ['paravirtual'], 1)).toEqual({
      slots: [{ controllerKey: 1000, unitNumber: 15 }],
      changes: [],
    })
  })
})
