// vmware_vm's hardware changes in place (disk growth, controllers, NIC network and type,
// CD-ROM), spread into vmware_vm.ts's functions.
import { type CallContext, defineFunction, lazy, ModuleError, z } from 'brine/loader'
import { ENTITY_TYPES, type Entity, retrieveObjectProperties, runTask } from 'brine/vsphere'
import { CONTROLLER_NAMES, controllerChange, controllersOf, type Device } from './_controllers.ts'
import { currentNics, deviceNamed, devicesOf, disksOf } from './_devices.ts'
import {
  cdromChanges,
  cdromsOf,
  growDiskChange,
  hardwareOf,
  hasSnapshots,
  NIC_NAMES,
  nicUpdateChanges,
} from './_hardware.ts'
import { aliased, findInDatacenter, names, requiredAliased } from './_vmware.ts'

/** The VM a function acts on: saltext's `vm_name`/`datacenter_name`, or brine's `name`/`datacenter`. */
const vmArgs = lazy(() => ({
  vm_name: names.vm.optional(),
  datacenter_name: names.datacenter.optional(),
  name: names.vm.optional().describe('alias of vm_name'),
  datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
}))

function findVm(
  ctx: CallContext,
  args: {
    vm_name?: string | undefined
    name?: string | undefined
    datacenter_name?: string | undefined
    datacenter?: string | undefined
  },
): Promise<Entity> {
  const name = requiredAliased({ vm_name: args.vm_name, name: args.name })
  const datacenter = aliased({ datacenter_name: args.datacenter_name, datacenter: args.datacenter })
  return findInDatacenter(ctx, ENTITY_TYPES.vm, name, datacenter)
}

function reconfigure(ctx: CallContext, vm: Entity, what: string, deviceChange: unknown[]) {
  return runTask(
    ctx.serviceInstance,
    `${what} of VM '${vm.name}'`,
    'ReconfigVM_Task',
    { _this: vm.obj, spec: { deviceChange } },
    { signal: ctx.signal, onProgress: (p) => ctx.progress(p, what) },
  )
}

const connectArgs = lazy(() => ({
  connected: z.boolean().optional().describe('connected now (the VM must be powered on)'),
  start_connected: z.boolean().optional().describe('connect when the VM powers on'),
}))

export const functions = {
  hardware: defineFunction({
    doc:
      'A VM’s virtual hardware: power state, num_cpu, memory_mb, the hot-add settings ' +
      '(cpu_hot_add, cpu_hot_remove, memory_hot_add), controllers (type, bus number), disks ' +
      '(size, controller type, unit), NICs (network, type, MAC) and CD/DVD drives (backing, ISO, ' +
      'connected).',
    args: vmArgs,
    run: async (ctx, args) => hardwareOf(ctx, await findVm(ctx, args)),
  }),
  resize_disk: defineFunction({
    doc:
      'Grow a disk ("Hard disk 1", or its key) to size_gb, in place (powered on or off). vSphere ' +
      'cannot shrink a disk, nor grow one of a VM with snapshots: both are refused. The same ' +
      'size changes nothing.',
    args: () => ({
      ...vmArgs(),
      disk: z.string().min(1).describe('disk label or key'),
      size_gb: z.coerce.number().positive().describe('new size in GB (not smaller than now)'),
    }),
    run: async (ctx, { disk, size_gb, ...target }) => {
      const vm = await findVm(ctx, target)
      const props = await retrieveObjectProperties(
        ctx.serviceInstance,
        vm.obj,
        ['config.hardware.device', 'snapshot'],
        { signal: ctx.signal },
      )
      const devices = (props['config.hardware.device'] as Device[] | undefined) ?? []
      const device = deviceNamed(devices, disk, 'disk')
      const label = disksOf(devices).find((d) => d.key === Number(device.key))?.label ?? disk
      const change = growDiskChange(device, label, size_gb, hasSnapshots(props.snapshot))
      if (change) await reconfigure(ctx, vm, `growing ${label} to ${size_gb} GB`, [change])
      return {
        name: vm.name,
        resized: change !== undefined,
        disks: disksOf(await devicesOf(ctx, vm.obj)),
      }
    },
  }),
  add_controller: defineFunction({
    doc:
      'Add a disk controller (lsilogic, lsilogic-sas, paravirtual, buslogic, nvme or sata) on the ' +
      'lowest free bus number of its kind (at most four of a kind).',
    args: () => ({
      ...vmArgs(),
      type: z.enum(CONTROLLER_NAMES).describe('controller type'),
    }),
    run: async (ctx, { type, ...target }) => {
      const vm = await findVm(ctx, target)
      const change = controllerChange(await devicesOf(ctx, vm.obj), type)
      await reconfigure(ctx, vm, `adding a ${type} controller`, [change])
      return { name: vm.name, controllers: controllersOf(await devicesOf(ctx, vm.obj)) }
    },
  }),
  update_nic: defineFunction({
    doc:
      'Change a network adapter ("Network adapter 1", or its key): its network (standard ' +
      'network or distributed port group), its type (vmxnet3, e1000, e1000e: the adapter is ' +
      'replaced by one of that type with the same MAC address, as vSphere needs), connected, ' +
      'start_connected. What is already so changes nothing.',
    args: () => ({
      ...vmArgs(),
      nic: z.string().min(1).describe('adapter label or key'),
      network: z.string().min(1).optional().describe('network or port group name or id'),
      type: z.enum(NIC_NAMES).optional().describe('adapter type'),
      ...connectArgs(),
    }),
    run: async (ctx, { nic, network, type, connected, start_connected, ...target }) => {
      if ([network, type, connected, start_connected].every((v) => v === undefined))
        throw new ModuleError(
          'vmware_vm.update_nic: give what to change (network=, type=, connected= or start_connected=)',
          { code: 'BRINE_ARGUMENT' },
        )
      const vm = await findVm(ctx, target)
      const device = deviceNamed(await devicesOf(ctx, vm.obj), nic, 'network adapter')
      const changes = await nicUpdateChanges(ctx, device, {
        network,
        type,
        connected,
        start_connected,
      })
      if (changes.length) await reconfigure(ctx, vm, `changing ${nic}`, changes)
      return { name: vm.name, changed: changes.length > 0, nics: await currentNics(ctx, vm.obj) }
    },
  }),
  set_cdrom: defineFunction({
    doc:
      'Put an ISO from a datastore ("[datastore1] iso/x.iso", checked to exist with the ' +
      'datastore browser) or the client device (no iso) in a CD/DVD drive (cdrom: its label or ' +
      'key, default the first), connected and/or connected at power on. A VM without a drive ' +
      'gets one (IDE, else SATA). What is already so changes nothing.',
    args: () => ({
      ...vmArgs(),
      iso: z
        .string()
        .min(1)
        .optional()
        .describe('ISO file as [datastore] path; none: client device'),
      cdrom: z.string().min(1).optional().describe('drive label ("CD/DVD drive 1") or key'),
      ...connectArgs(),
    }),
    run: async (ctx, { iso, cdrom, connected, start_connected, ...target }) => {
      const vm = await findVm(ctx, target)
      const changes = await cdromChanges(
        ctx,
        await devicesOf(ctx, vm.obj),
        { iso, connected, start_connected },
        cdrom,
      )
      if (changes.length) await reconfigure(ctx, vm, `setting the CD/DVD drive`, changes)
      return {
        name: vm.name,
        changed: changes.length > 0,
        cdroms: cdromsOf(await devicesOf(ctx, vm.obj)),
      }
    },
  }),
}
