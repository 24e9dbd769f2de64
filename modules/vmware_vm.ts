import { setTimeout as sleep } from 'node:timers/promises'
import {
  cleanupExpired,
  consoleConfig,
  describeConsole,
  issueConsole,
  openConsoleStore,
} from 'brine/console'
import {
  type CallContext,
  defineFunction,
  defineModule,
  Issued,
  lazy,
  ModuleError,
  z,
} from 'brine/loader'
import {
  callVim,
  deployOvfFile,
  ENTITY_TYPES,
  type Entity,
  EntityNotFoundError,
  findEntityByName,
  getEntity,
  inventoryPaths,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
} from 'brine/vsphere'
import { acquireTicket, TICKET_TYPES, ticketOutput } from './_console.ts'
import { CONTROLLER_NAMES } from './_controllers.ts'
import { customizationArgs, resolveCustomization } from './_customization.ts'
import { reportCustomization } from './_customization_events.ts'
import {
  currentNics,
  deviceNamed,
  devicesOf,
  diskChanges,
  disksOf,
  nicChanges,
  nicsOf,
} from './_devices.ts'
import { cpuMemoryState, diskChangesOn, hotChangeRefusal } from './_hardware.ts'
import { functions as guestFunctions } from './_vm_guest.ts'
import { functions as hardwareFunctions } from './_vm_hardware.ts'
import {
  aliased,
  asList,
  diff,
  findCluster,
  findDatacenter,
  findInDatacenter,
  folderAt,
  isTrue,
  names,
  requiredAliased,
} from './_vmware.ts'
import { filtersSchema, metadataSchema, runSearch } from './vmware_query.ts'

const VM_PROPS = [
  'config.template',
  'config.uuid',
  'config.guestId',
  'config.hardware.numCPU',
  'config.hardware.memoryMB',
  'config.annotation',
  'runtime.powerState',
  'runtime.host',
  'guest.ipAddress',
  'resourcePool',
  'parent',
]

function findVm(
  ctx: CallContext,
  name: string,
  datacenter?: string,
  props: string[] = [],
  options: Parameters<typeof findInDatacenter>[5] = {},
): Promise<Entity> {
  return findInDatacenter(ctx, ENTITY_TYPES.vm, name, datacenter, props, options)
}

/** Where a new VM goes: folder (path in the vm tree), resource pool (cluster, host or pool), datastore. */
/** A compute resource (cluster or standalone) by reference, as an Entity with its pool and hosts. */
async function computeOf(ctx: CallContext, obj: ManagedObjectReference): Promise<Entity> {
  const props = await retrieveObjectProperties(
    ctx.serviceInstance,
    obj,
    ['name', 'resourcePool', 'host'],
    { signal: ctx.signal },
  )
  return { obj, name: String(props.name), props }
}

async function placement(
  ctx: CallContext,
  args: {
    datacenter?: string | undefined
    folder?: string | undefined
    cluster?: string | undefined
    pool?: string | undefined
    datastore?: string | undefined
    /** A host: its compute resource (cluster or standalone) and, by default, its first datastore. */
    host?: string | undefined
  },
) {
  const si = ctx.serviceInstance
  // saltext-vmware's deployment_resources: the host's compute resource, its root pool and the
  // host's first datastore; the datacenter is the host's.
  const onHost = args.host
    ? await findInDatacenter(
        ctx,
        ENTITY_TYPES.host,
        args.host,
        args.datacenter,
        ['parent', 'datastore'],
        {
          path: true,
        },
      )
    : undefined
  const datacenter = args.datacenter ?? onHost?.path?.split('/')[1]
  if (!datacenter)
    throw new ModuleError('a datacenter (or a host) is needed to place a new VM', {
      code: 'BRINE_ARGUMENT',
    })
  const dc = await findDatacenter(ctx, datacenter, ['vmFolder', 'datastore'])
  const folder = args.folder
    ? await folderAt(ctx, dc, 'vm', args.folder)
    : (dc.props.vmFolder as ManagedObjectReference)
  const computes = onHost
    ? [await computeOf(ctx, onHost.props.parent as ManagedObjectReference)]
    : args.cluster
      ? [await findCluster(ctx, args.cluster, dc.obj.value, ['resourcePool', 'host'])]
      : await listEntities(si, 'ComputeResource', {
          within: dc.obj,
          props: ['resourcePool', 'host'],
          signal: ctx.signal,
        })
  const compute = computes[0]
  if (!compute)
    throw new ModuleError(`datacenter '${dc.name}' has no cluster or host to run VMs`, {
      code: 'BRINE_NOT_FOUND',
    })
  const datastores = await listEntities(si, ENTITY_TYPES.datastore, {
    within: dc.obj,
    signal: ctx.signal,
  })
  const hostDatastore = asList(onHost?.props.datastore as ManagedObjectReference[] | undefined)[0]
  const datastore = args.datastore
    ? datastores.find((d) => d.name === args.datastore || d.obj.value === args.datastore)
    : hostDatastore
      ? datastores.find((d) => d.obj.value === hostDatastore.value)
      : datastores[0]
  if (!datastore)
    throw new ModuleError(
      `datastore '${args.datastore ?? '(any)'}' not found in datacenter '${dc.name}'`,
      { code: 'BRINE_NOT_FOUND' },
    )
  const pool = args.pool
    ? (
        await getEntity(si, ENTITY_TYPES.resourcepool, args.pool, {
          within: compute.obj,
          withinLabel: `cluster '${compute.name}'`,
          signal: ctx.signal,
        })
      ).obj
    : (compute.props.resourcePool as ManagedObjectReference)
  return {
    dc,
    folder,
    pool,
    host: onHost?.obj ?? (compute.props.host as ManagedObjectReference[] | undefined)?.[0],
    datastore,
  }
}

function describeVm(vm: Entity, path: string | undefined) {
  const p = vm.props
  return {
    name: vm.name,
    id: vm.obj.value,
    uuid: p['config.uuid'],
    template: p['config.template'] === true,
    power_state: p['runtime.powerState'],
    guest_id: p['config.guestId'],
    num_cpu: p['config.hardware.numCPU'],
    memory_mb: p['config.hardware.memoryMB'],
    annotation: p['config.annotation'] ?? '',
    ip_address: p['guest.ipAddress'] ?? null,
    host: (p['runtime.host'] as ManagedObjectReference | undefined)?.value ?? null,
    path,
  }
}

const SALTEXT_INFO_PROPS = [
  'guest.guestFullName',
  'runtime.powerState',
  'guest.ipAddress',
  'config.uuid',
  'guest.net',
  'runtime.host',
  'config.hardware.device',
  'tag',
]

/**
 * saltext-vmware's info rows (modules/vm.py info), by VM name, from VMs read with
 * SALTEXT_INFO_PROPS and their paths. The hosts' paths (host and cluster names) in one read.
 */
async function saltextInfo(ctx: CallContext, vms: Entity[]) {
  const si = ctx.serviceInstance
  const hostRefs = new Map<string, ManagedObjectReference>()
  for (const vm of vms) {
    const host = vm.props['runtime.host'] as ManagedObjectReference | undefined
    if (host) hostRefs.set(host.value, host)
  }
  const hostPaths = await inventoryPaths(si, [...hostRefs.values()], { signal: ctx.signal })
  const info: Record<string, Record<string, unknown>> = {}
  for (const vm of vms) {
    const p = vm.props
    const host = p['runtime.host'] as ManagedObjectReference | undefined
    // /DC0/host/<cluster or standalone compute resource>/<host>: saltext's host.parent.name.
    const hostPath = (host && hostPaths.get(host.value)?.split('/')) || []
    const network: Record<string, { ipv4: string[]; ipv6: string[] }> = {}
    for (const nic of asList(p['guest.net'] as GuestNic | GuestNic[] | undefined)) {
      const addresses = asList(nic.ipAddress)
      network[String(nic.macAddress ?? '')] = {
        ipv4: addresses.filter((a) => !a.includes('::')),
        ipv6: addresses.filter((a) => a.includes('::')),
      }
    }
    const devices = (p['config.hardware.device'] as Parameters<typeof nicsOf>[0] | undefined) ?? []
    info[vm.name] = {
      guest_name: vm.name,
      guest_fullname: p['guest.guestFullName'] ?? null,
      power_state: p['runtime.powerState'],
      ip_address: p['guest.ipAddress'] ?? null,
      mac_address: nicsOf(devices, new Map()).map((n) => n.mac),
      uuid: p['config.uuid'],
      vm_network: network,
      esxi_hostname: hostPath.at(-1) ?? null,
      datacenter: vm.path?.split('/')[1] ?? null,
      cluster: hostPath.at(-2) ?? null,
      tags: asList(p.tag as { key: string } | Array<{ key: string }> | undefined).map((t) => t.key),
      folder: vm.path ?? null,
      moid: vm.obj.value,
    }
  }
  return info
}

interface GuestNic {
  macAddress?: string
  ipAddress?: string | string[]
}

const POWER = {
  on: { method: 'PowerOnVM_Task', state: 'poweredOn' },
  off: { method: 'PowerOffVM_Task', state: 'poweredOff' },
  suspend: { method: 'SuspendVM_Task', state: 'suspended' },
  reset: { method: 'ResetVM_Task', state: 'poweredOn' },
  shutdown: { method: 'ShutdownGuest', state: 'poweredOff' },
} as const

/** saltext-vmware's "Virtual machine is already …" words, by power state. */
const ALREADY: Record<string, string> = {
  poweredOn: 'powered on',
  poweredOff: 'powered off',
  suspended: 'suspended',
}

/** How often a shutdown's wait reads the power state. */
const POWER_POLL_MS = 1000

/**
 * Wait until the VM is in `wanted` power state, reading it every POWER_POLL_MS, for at most
 * `timeout` seconds. ShutdownGuest only asks the guest (VMware Tools) to shut down: the VM is
 * off when the guest has stopped, or never when the guest ignores it.
 */
async function waitForPowerState(
  ctx: CallContext,
  vm: Entity,
  wanted: string,
  timeout: number,
): Promise<void> {
  const si = ctx.serviceInstance
  const deadline = Date.now() + timeout * 1000
  for (;;) {
    const current = (
      await retrieveObjectProperties(si, vm.obj, ['runtime.powerState'], { signal: ctx.signal })
    )['runtime.powerState']
    if (current === wanted) return
    if (Date.now() >= deadline)
      throw new ModuleError(
        `VM '${vm.name}' was asked to shut down but is still ${String(current)} after ${timeout} s: ` +
          'the guest may lack VMware Tools or ignore the request; wait longer (timeout=), or ' +
          'power it off with state=powered-off',
        { code: 'BRINE_INVALID_STATE' },
      )
    await sleep(Math.min(POWER_POLL_MS, Math.max(0, deadline - Date.now())), undefined, {
      signal: ctx.signal,
    })
  }
}

interface SnapshotNode {
  name: string
  id: string
  /** VirtualMachineSnapshotTree.id, the number saltext-vmware calls the snapshot id. */
  snapshot_id: number
  description: string
  created: string
  state: string
  quiesced: boolean
  children: SnapshotNode[]
}

function snapshotTree(list: unknown): SnapshotNode[] {
  return ((list as Array<Record<string, unknown>> | undefined) ?? []).map((node) => ({
    name: String(node.name),
    id: (node.snapshot as ManagedObjectReference).value,
    snapshot_id: Number(node.id),
    description: String(node.description ?? ''),
    created:
      node.createTime instanceof Date ? node.createTime.toISOString() : String(node.createTime),
    state: String(node.state),
    quiesced: node.quiesced === true,
    children: snapshotTree(node.childSnapshotList),
  }))
}

/** Python's str() of a datetime, as saltext-vmware's creation_time: 2024-01-02 03:04:05.123000+00:00. */
function pythonDatetime(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const [day, time] = date.toISOString().replace('Z', '').split('T') as [string, string]
  const [hms, ms = '000'] = time.split('.') as [string, string?]
  return `${day} ${hms}${ms === '000' ? '' : `.${ms}000`}+00:00`
}

/** saltext-vmware's snapshot list (utils/vm.py snapshot_recursive): depth first, flat. */
function flatSnapshots(tree: SnapshotNode[]): Array<Record<string, unknown>> {
  return tree.flatMap((node) => [
    {
      creation_time: pythonDatetime(node.created),
      description: node.description,
      id: node.snapshot_id,
      name: node.name,
      state: node.state,
      quiesced: node.quiesced,
      moid: node.id,
    },
    ...flatSnapshots(node.children),
  ])
}

function findSnapshot(tree: SnapshotNode[], nameOrId: string): SnapshotNode[] {
  return tree.flatMap((node) => [
    ...(node.name === nameOrId || node.id === nameOrId ? [node] : []),
    ...findSnapshot(node.children, nameOrId),
  ])
}

async function oneSnapshot(
  ctx: CallContext,
  vm: Entity,
  nameOrId: string,
  snapshotId?: number,
): Promise<ManagedObjectReference> {
  const si = ctx.serviceInstance
  const props = await retrieveObjectProperties(si, vm.obj, ['snapshot'], { signal: ctx.signal })
  const matches = findSnapshot(
    snapshotTree((props.snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList),
    nameOrId,
  ).filter((node) => snapshotId === undefined || node.snapshot_id === snapshotId)
  if (matches.length === 0)
    throw new ModuleError(
      `snapshot '${nameOrId}'${snapshotId === undefined ? '' : ` with id ${snapshotId}`} of VM '${vm.name}' not found`,
      {
        code: 'BRINE_NOT_FOUND',
      },
    )
  if (matches.length > 1)
    throw new ModuleError(
      `snapshot name '${nameOrId}' of VM '${vm.name}' is ambiguous: give its id (${matches.map((m) => m.id).join(', ')}) or snapshot_id (${matches.map((m) => m.snapshot_id).join(', ')})`,
      { code: 'BRINE_AMBIGUOUS' },
    )
  return { type: 'VirtualMachineSnapshot', value: matches[0]!.id }
}

/** Run a VM task on the call's connection, with its signal and progress. */
const task = async (
  ctx: CallContext,
  what: string,
  method: string,
  args: Record<string, unknown>,
) =>
  runTask(ctx.serviceInstance, what, method, args, {
    signal: ctx.signal,
    onProgress: (p) => ctx.progress(p, what),
  })

const BOOT_DEVICES = {
  cdrom: 'VirtualMachineBootOptionsBootableCdromDevice',
  disk: 'VirtualMachineBootOptionsBootableDiskDevice',
  ethernet: 'VirtualMachineBootOptionsBootableEthernetDevice',
  floppy: 'VirtualMachineBootOptionsBootableFloppyDevice',
} as const
type BootDevice = keyof typeof BOOT_DEVICES
const BOOT_NAMES = Object.fromEntries(Object.entries(BOOT_DEVICES).map(([k, v]) => [v, k]))

/** The arguments deploy_ovf and deploy_ova share after the package path. */
const deployArgs = lazy(() => ({
  name: z.string().min(1).optional().describe('alias of vm_name'),
  path: z.string().min(1).optional().describe('alias of the package path'),
  datacenter: names.datacenter.optional().describe('datacenter (default: the host’s)'),
  folder: z.string().optional().describe('vm folder path'),
  cluster: names.cluster.optional(),
  pool: z.string().optional().describe('resource pool name or id (default: the root pool)'),
  datastore: z
    .string()
    .optional()
    .describe('datastore name or id (default: the host’s first, else the datacenter’s)'),
  networks: z
    .record(z.string(), z.string())
    .optional()
    .describe('{OVF network name: vSphere network or port group name}'),
  disk_provisioning: z.enum(['thin', 'thick', 'eagerZeroedThick']).optional(),
  power_on: z.boolean().default(false).describe('power the VM on'),
}))

interface DeployArgs {
  name: string
  path: string
  host?: string | undefined
  datacenter?: string | undefined
  folder?: string | undefined
  cluster?: string | undefined
  pool?: string | undefined
  datastore?: string | undefined
  networks?: Record<string, string> | undefined
  disk_provisioning?: 'thin' | 'thick' | 'eagerZeroedThick' | undefined
  power_on: boolean
}

/** Deploy an OVF or OVA (see deploy_ovf's doc): {deployed: True} and brine's VM description. */
async function deployPackage(ctx: CallContext, args: DeployArgs) {
  const si = ctx.serviceInstance
  if (await findEntityByName(si, ENTITY_TYPES.vm, args.name, { signal: ctx.signal }))
    throw new ModuleError(`a VM named '${args.name}' already exists`, {
      code: 'BRINE_VIM_DUPLICATE_NAME',
    })
  const where = await placement(ctx, args)
  const nets = args.networks
    ? await Promise.all(
        Object.entries(args.networks).map(async ([name, target]) => {
          const found = await getEntity(si, 'Network', target, {
            within: where.dc.obj,
            signal: ctx.signal,
          }).catch((error: unknown) => {
            if (error instanceof EntityNotFoundError) return undefined
            throw error
          })
          if (!found)
            throw new ModuleError(
              `network '${target}' (for OVF network '${name}') not found in datacenter '${where.dc.name}'`,
              { code: 'BRINE_NOT_FOUND' },
            )
          return { name, network: found.obj }
        }),
      )
    : undefined
  const what = `deploying ${args.path} as VM '${args.name}'`
  const vm = await deployOvfFile(si, args.path, {
    name: args.name,
    pool: where.pool,
    datastore: where.datastore.obj,
    folder: where.folder,
    host: where.host,
    networks: nets,
    diskProvisioning: args.disk_provisioning,
    signal: ctx.signal,
    onProgress: (p) => ctx.progress(p, what),
  })
  if (args.power_on)
    await task(ctx, `powering on VM '${args.name}'`, 'PowerOnVM_Task', { _this: vm })
  return {
    deployed: true,
    ...describeVm(await findVm(ctx, vm.value, undefined, VM_PROPS), undefined),
  }
}

export const bootArgs = lazy(() => ({
  order: z
    .array(z.enum(['cdrom', 'disk', 'ethernet', 'floppy']))
    .default(['cdrom', 'disk', 'ethernet', 'floppy'])
    .describe('boot order (disk and ethernet: the first disk and NIC)'),
  delay: z.coerce.number().int().min(0).default(0).describe('boot delay, ms'),
  enter_bios_setup: z.boolean().default(false).describe('enter BIOS setup on next boot'),
  retry_enabled: z.boolean().default(false).describe('retry booting when no device boots'),
  retry_delay: z.coerce.number().int().min(0).default(10000).describe('retry delay, ms'),
  efi_secure_boot_enabled: z.boolean().default(false).describe('EFI secure boot'),
}))

/** A VM's boot options in brine's terms. */
function bootOptionsOf(raw: unknown) {
  const o = (raw ?? {}) as Record<string, unknown>
  const order = (
    (Array.isArray(o.bootOrder) ? o.bootOrder : o.bootOrder ? [o.bootOrder] : []) as Array<{
      _type?: string
    }>
  ).map((d) => BOOT_NAMES[d._type ?? ''] ?? String(d._type))
  return {
    order,
    delay: Number(o.bootDelay ?? 0),
    enter_bios_setup: isTrue(o.enterBIOSSetup),
    retry_enabled: isTrue(o.bootRetryEnabled),
    retry_delay: Number(o.bootRetryDelay ?? 10000),
    efi_secure_boot_enabled: isTrue(o.efiSecureBootEnabled),
  }
}

/**
 * The VM a function acts on: saltext-vmware's `vm_name` and `datacenter_name`, with brine's
 * `name` and `datacenter` as checked aliases (both given must agree).
 */
const vmArgs = lazy(() => ({
  vm_name: names.vm.optional(),
  datacenter_name: names.datacenter.optional(),
  name: names.vm.optional().describe('alias of vm_name'),
  datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
}))

interface VmTargetArgs {
  vm_name?: string | undefined
  datacenter_name?: string | undefined
  name?: string | undefined
  datacenter?: string | undefined
}

/** `{name, datacenter}` from saltext's or brine's argument names. */
function vmTarget(args: VmTargetArgs): { name: string; datacenter: string | undefined } {
  return {
    name: requiredAliased({ vm_name: args.vm_name, name: args.name }),
    datacenter: aliased({ datacenter_name: args.datacenter_name, datacenter: args.datacenter }),
  }
}

/** A run function with the VM resolved from either argument name into `name` and `datacenter`. */
function onVm<A extends VmTargetArgs, R>(
  run: (
    ctx: CallContext,
    args: Omit<A, keyof VmTargetArgs> & { name: string; datacenter: string | undefined },
  ) => R,
): (ctx: CallContext, args: A) => R {
  return (ctx, args) => {
    const { vm_name: _vm, datacenter_name: _dc, ...rest } = args
    return run(ctx, { ...rest, ...vmTarget(args) } as Parameters<typeof run>[1])
  }
}

export default defineModule({
  doc: 'Virtual machines and templates.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc:
        'List VM names (templates excluded), filtered by datacenter, cluster, host or folder ' +
        'path. saltext-vmware’s list(datacenter_name, cluster_name, host_name); brine’s ' +
        'datacenter, cluster and host are the same arguments under their older names.',
      args: () => ({
        datacenter_name: names.datacenter.optional(),
        cluster_name: names.cluster.optional(),
        host_name: z.string().min(1).optional().describe('ESXi host name or id'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
        cluster: names.cluster.optional().describe('alias of cluster_name'),
        folder: z.string().optional().describe('vm folder path (needs datacenter)'),
        host: z.string().optional().describe('alias of host_name'),
      }),
      run: async (ctx, args) => {
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const cluster = aliased({ cluster_name: args.cluster_name, cluster: args.cluster })
        const host = aliased({ host_name: args.host_name, host: args.host })
        const { folder } = args
        const si = ctx.serviceInstance
        let within: ManagedObjectReference | undefined
        if (folder) {
          if (!datacenter)
            throw new ModuleError('vmware_vm.list: folder= needs datacenter=', {
              code: 'BRINE_ARGUMENT',
            })
          within = await folderAt(ctx, await findDatacenter(ctx, datacenter), 'vm', folder)
        } else if (host)
          within = (await findInDatacenter(ctx, ENTITY_TYPES.host, host, datacenter)).obj
        else if (cluster) within = (await findCluster(ctx, cluster, datacenter)).obj
        else if (datacenter) within = (await findDatacenter(ctx, datacenter)).obj
        const vms = await listEntities(si, ENTITY_TYPES.vm, {
          within,
          props: ['config.template'],
          signal: ctx.signal,
        })
        return vms
          .filter((vm) => vm.props['config.template'] !== true)
          .map((vm) => vm.name)
          .sort()
      },
    }),
    list_templates: defineFunction({
      doc: 'List template names.',
      args: () => ({ datacenter: names.datacenter.optional() }),
      run: async (ctx, { datacenter }) => {
        const within = datacenter ? (await findDatacenter(ctx, datacenter)).obj : undefined
        const vms = await listEntities(ctx.serviceInstance, ENTITY_TYPES.vm, {
          within,
          props: ['config.template'],
          signal: ctx.signal,
        })
        return vms
          .filter((vm) => vm.props['config.template'] === true)
          .map((vm) => vm.name)
          .sort()
      },
    }),
    info: defineFunction({
      doc:
        'saltext-vmware’s info: {<vm name>: {guest_name, guest_fullname, power_state, ' +
        'ip_address, mac_address, uuid, vm_network, esxi_hostname, datacenter, cluster, tags, ' +
        'folder, moid}}, for one VM or (no vm_name) every VM. With a VM named, brine’s fields ' +
        '(id, uuid, power state, CPU, memory, guest, IP, host, path, template flag, disks, ' +
        'nics) are at the top level too.',
      args: vmArgs,
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const name = aliased({ vm_name: args.vm_name, name: args.name })
        if (name === undefined) {
          // saltext-vmware lists the VMs directly in each datacenter's vm folder; brine lists
          // them all (every folder), in one read, and their paths and hosts' paths in one more each.
          const within = datacenter ? (await findDatacenter(ctx, datacenter)).obj : undefined
          const vms = await listEntities(si, ENTITY_TYPES.vm, {
            within,
            props: SALTEXT_INFO_PROPS,
            signal: ctx.signal,
          })
          const paths = await inventoryPaths(
            si,
            vms.map((vm) => vm.obj),
            { signal: ctx.signal },
          )
          for (const vm of vms) vm.path = paths.get(vm.obj.value)
          return saltextInfo(ctx, vms)
        }
        // One refresh of the index, then one read: properties, path, network names.
        const vm = await findVm(
          ctx,
          name,
          datacenter,
          [...new Set([...VM_PROPS, ...SALTEXT_INFO_PROPS])],
          { path: true, names: ['network'] },
        )
        const devices =
          (vm.props['config.hardware.device'] as Parameters<typeof disksOf>[0] | undefined) ?? []
        return {
          ...describeVm(vm, vm.path),
          disks: disksOf(devices),
          nics: nicsOf(devices, vm.names ?? new Map()),
          ...(await saltextInfo(ctx, [vm])),
        }
      },
    }),
    boot_options: defineFunction({
      doc: 'A VM’s boot order and boot options.',
      args: vmArgs,
      run: onVm(async (ctx, { name, datacenter }) =>
        bootOptionsOf(
          (await findVm(ctx, name, datacenter, ['config.bootOptions'])).props['config.bootOptions'],
        ),
      ),
    }),
    boot_manager: defineFunction({
      doc:
        'saltext-vmware’s boot_manager(vm_name, order, delay, enter_bios_setup, retry_delay, ' +
        'efi_secure_boot_enabled), its defaults for what is left out: {status: "already ' +
        'configured this way" | "changed"}, plus the boot options now and their changes. Retry ' +
        'is on when retry_delay is not 0 (as saltext), unless retry_enabled says otherwise.',
      args: () => ({
        vm_name: names.vm.optional(),
        order: bootArgs().order,
        delay: bootArgs().delay,
        enter_bios_setup: bootArgs().enter_bios_setup,
        retry_delay: z.coerce
          .number()
          .int()
          .min(0)
          .optional()
          .describe('retry delay, ms (retry is on when it is not 0)'),
        efi_secure_boot_enabled: bootArgs().efi_secure_boot_enabled,
        datacenter_name: names.datacenter.optional(),
        name: names.vm.optional().describe('alias of vm_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
        retry_enabled: z
          .boolean()
          .optional()
          .describe('retry booting when no device boots (default: retry_delay is not 0)'),
      }),
      run: onVm(async (ctx, { name, datacenter, retry_enabled, ...options }) => {
        // saltext: retry_delay 0 (its default) turns retry off. A delay left out is kept: it
        // does not matter while retry is off.
        const wanted = {
          ...options,
          retry_enabled: retry_enabled ?? (options.retry_delay ?? 0) > 0,
        }
        const vm = await findVm(ctx, name, datacenter, [
          'config.bootOptions',
          'config.hardware.device',
        ])
        const before = bootOptionsOf(vm.props['config.bootOptions'])
        const changes = diff(before, wanted)
        if (Object.keys(changes).length === 0)
          return { status: 'already configured this way', ...before, changes }
        const devices =
          (vm.props['config.hardware.device'] as Parameters<typeof disksOf>[0] | undefined) ?? []
        const firstKey = (what: 'disk' | 'ethernet') => {
          const list = what === 'disk' ? disksOf(devices) : nicsOf(devices, new Map())
          if (!list[0])
            throw new ModuleError(
              `VM '${vm.name}' has no ${what === 'disk' ? 'disk' : 'network adapter'} to boot from`,
              {
                code: 'BRINE_ARGUMENT',
              },
            )
          return list[0].key
        }
        const bootOrder = wanted.order.map((device: BootDevice) =>
          device === 'disk' || device === 'ethernet'
            ? { _type: BOOT_DEVICES[device], deviceKey: firstKey(device) }
            : { _type: BOOT_DEVICES[device] },
        )
        await task(ctx, `setting the boot options of VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: {
            // VirtualMachineBootOptions, WSDL order.
            bootOptions: {
              bootDelay: wanted.delay,
              enterBIOSSetup: wanted.enter_bios_setup,
              efiSecureBootEnabled: wanted.efi_secure_boot_enabled,
              bootRetryEnabled: wanted.retry_enabled,
              bootRetryDelay: wanted.retry_delay,
              bootOrder,
            },
          },
        })
        const after = await findVm(ctx, vm.obj.value, undefined, ['config.bootOptions'])
        return { status: 'changed', ...bootOptionsOf(after.props['config.bootOptions']), changes }
      }),
    }),
    path: defineFunction({
      doc: 'The VM’s inventory path, e.g. /DC0/vm/web/vm1.',
      args: vmArgs,
      run: onVm(async (ctx, { name, datacenter }) => {
        return (await findVm(ctx, name, datacenter, [], { path: true })).path
      }),
    }),
    power_state: defineFunction({
      doc:
        'saltext-vmware’s power_state(vm_name, state, datacenter_name): state powered-on, ' +
        'powered-off, suspend or reset (brine’s on, off and shutdown too: shutdown asks the ' +
        'guest and waits, up to `timeout` seconds, until the VM is off). Answers saltext’s ' +
        '{comment, changes: {state}} with the power state read after the action, plus name, ' +
        'power_state, changed.',
      args: () => ({
        vm_name: names.vm.optional(),
        // Salt's argument typing (YAML 1.1) reads an unquoted on/off as a boolean: take it as meant.
        state: z
          .preprocess(
            (v) => (v === true ? 'on' : v === false ? 'off' : v),
            z.enum(['powered-on', 'powered-off', 'suspend', 'reset', 'on', 'off', 'shutdown']),
          )
          .describe('wanted state'),
        datacenter_name: names.datacenter.optional(),
        name: names.vm.optional().describe('alias of vm_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
        timeout: z.coerce
          .number()
          .int()
          .min(0)
          .default(300)
          .describe('shutdown: seconds to wait for the guest to power the VM off'),
      }),
      run: onVm(async (ctx, { name, datacenter, state: given, timeout }) => {
        const state = given === 'powered-on' ? 'on' : given === 'powered-off' ? 'off' : given
        const si = ctx.serviceInstance
        const vm = await findVm(ctx, name, datacenter, ['runtime.powerState'])
        const before = String(vm.props['runtime.powerState'])
        const spec = POWER[state]
        if (state !== 'reset' && before === spec.state)
          return {
            // saltext-vmware's words (modules/vm.py power_state).
            comment: `Virtual machine is already ${ALREADY[spec.state]}`,
            changes: { state: before },
            name: vm.name,
            power_state: before,
            changed: false,
          }
        if (state === 'shutdown') {
          await callVim(si, `shutting down the guest of VM '${vm.name}'`, 'ShutdownGuest', {
            _this: vm.obj,
          })
          await waitForPowerState(ctx, vm, 'poweredOff', timeout)
        } else await task(ctx, `powering ${state} VM '${vm.name}'`, spec.method, { _this: vm.obj })
        const after = String(
          (
            await retrieveObjectProperties(si, vm.obj, ['runtime.powerState'], {
              signal: ctx.signal,
            })
          )['runtime.powerState'],
        )
        return {
          comment: `Virtual machine ${given} action succeeded`,
          changes: { state: after },
          name: vm.name,
          power_state: after,
          changed: true,
        }
      }),
    }),
    console: defineFunction({
      doc: 'Open a console: acquire a WebMKS (or MKS) ticket, keep a console record, and answer its id, host, port, expiry, and a token and access URL shown this once (brine keeps only the token’s hash).',
      args: () => ({
        ...vmArgs(),
        mode: z.enum(['webmks', 'mks']).default('webmks').describe('console protocol'),
        ttl: z
          .number()
          .int()
          .positive()
          .max(86_400)
          .optional()
          .describe(
            'seconds the token stays valid, up to a day (default: option console_token_ttl, 600)',
          ),
      }),
      run: onVm(async (ctx, { name, datacenter, mode, ttl }) => {
        // The store first: a broken database fails the call before vCenter issues a ticket.
        const config = consoleConfig(ctx.opts)
        const store = await openConsoleStore(config)
        const vm = await findVm(ctx, name, datacenter, [
          'config.instanceUuid',
          'config.uuid',
          'runtime.powerState',
        ])
        const ticket = await acquireTicket(ctx, vm, mode)
        const instanceUuid = String(vm.props['config.instanceUuid'] ?? vm.props['config.uuid'])
        const issued = await issueConsole(
          store,
          {
            instanceUuid,
            host: ticket.host,
            port: ticket.port,
            mode,
            // WebMKS is wss; MKS (port 902) is TLS-wrapped too.
            tls: ticket.url ? ticket.url.reveal().startsWith('wss:') : true,
            target: {
              url: ticket.url?.reveal(),
              host: ticket.host,
              port: ticket.port,
              ticket: ticket.ticket.reveal(),
              sslThumbprint: ticket.sslThumbprint,
              cfgFile: ticket.cfgFile,
            },
            ttlSeconds: ttl ?? config.ttlSeconds,
            proxyUrl: config.proxyUrl,
          },
          Date.now(),
          config.staleMs,
        )
        // Bounded housekeeping: one batch of expired records per issue.
        await cleanupExpired(store, {
          batch: config.cleanupBatch,
          maxBatches: 1,
          staleMs: config.staleMs,
        })
        return {
          name: vm.name,
          ...describeConsole(issued.record),
          token: new Issued(issued.token),
          access_url: new Issued(issued.accessUrl),
        }
      }),
    }),
    get_mks_ticket: defineFunction({
      doc: 'saltext-vmware’s get_mks_ticket: AcquireTicket for a VM, answered as pyVmomi’s JSON (ticket, cfgFile, host, port, sslThumbprint, url). The ticket is shown this once and kept nowhere.',
      args: () => ({
        vm_name: names.vm,
        ticket_type: z.enum(TICKET_TYPES).default('webmks').describe('VirtualMachineTicketType'),
        datacenter_name: names.datacenter.optional(),
      }),
      run: async (ctx, { vm_name, ticket_type, datacenter_name }) => {
        const vm = await findVm(ctx, vm_name, datacenter_name, ['runtime.powerState'])
        return ticketOutput(await acquireTicket(ctx, vm, ticket_type))
      },
    }),
    create: defineFunction({
      doc: 'Create an empty VM (CPU, memory, guest id) in a datacenter, folder, cluster and datastore.',
      args: () => ({
        name: z.string().min(1).describe('the VM name'),
        datacenter: names.datacenter,
        folder: z.string().optional().describe('vm folder path'),
        cluster: names.cluster.optional(),
        pool: z
          .string()
          .optional()
          .describe('resource pool name or id in the cluster (default: its root pool)'),
        datastore: z.string().optional().describe('datastore name or id (default: the first)'),
        num_cpu: z.coerce.number().int().min(1).default(1).describe('virtual CPUs'),
        memory_mb: z.coerce.number().int().min(4).default(1024).describe('memory in MB'),
        guest_id: z.string().default('otherGuest64').describe('guest OS identifier'),
        annotation: z.string().optional().describe('notes'),
        disks: z
          .array(z.number().positive())
          .default([])
          .describe('disk sizes in GB (thin), e.g. [20, 100]'),
        nics: z
          .array(z.string())
          .default([])
          .describe('networks or distributed port groups, one NIC each'),
      }),
      run: async (ctx, args) => {
        const where = await placement(ctx, args)
        const vm = await task(
          ctx,
          `creating VM '${args.name}' in datacenter '${where.dc.name}'`,
          'CreateVM_Task',
          {
            _this: where.folder,
            config: {
              name: args.name,
              guestId: args.guest_id,
              annotation: args.annotation,
              files: { vmPathName: `[${where.datastore.name}]` },
              numCPUs: args.num_cpu,
              memoryMB: args.memory_mb,
              deviceChange: [...diskChanges([], args.disks), ...(await nicChanges(ctx, args.nics))],
            },
            pool: where.pool,
            host: where.host,
          },
        )
        return { name: args.name, id: (vm as ManagedObjectReference).value }
      },
    }),
    deploy_ovf: defineFunction({
      doc:
        'Deploy an OVF (descriptor with its disks next to it) or an OVA as a new VM: import ' +
        'spec from vCenter, disks uploaded over the import lease (aborted on failure, so no ' +
        'half-made VM stays), optional network mapping and power-on. saltext-vmware’s ' +
        'deploy_ovf(vm_name, host_name, ovf_path): placed on the host’s cluster (or standalone ' +
        'host) root pool and first datastore; {deployed: True} plus the VM’s description.',
      args: () => ({
        vm_name: z.string().min(1).optional().describe('the new VM name'),
        host_name: z.string().min(1).optional().describe('host that receives the VM'),
        ovf_path: z.string().min(1).optional().describe('.ovf (or .ova) file on this machine'),
        ...deployArgs(),
      }),
      run: (ctx, { vm_name, host_name, ovf_path, name, path, ...args }) =>
        deployPackage(ctx, {
          ...args,
          name: requiredAliased({ vm_name, name }),
          path: requiredAliased({ ovf_path, path }),
          host: host_name,
        }),
    }),
    deploy_ova: defineFunction({
      doc: 'saltext-vmware’s deploy_ova(vm_name, host_name, ova_path): deploy_ovf for an OVA.',
      args: () => ({
        vm_name: z.string().min(1).optional().describe('the new VM name'),
        host_name: z.string().min(1).optional().describe('host that receives the VM'),
        ova_path: z.string().min(1).optional().describe('.ova file on this machine'),
        ...deployArgs(),
      }),
      run: (ctx, { vm_name, host_name, ova_path, name, path, ...args }) =>
        deployPackage(ctx, {
          ...args,
          name: requiredAliased({ vm_name, name }),
          path: requiredAliased({ ova_path, path }),
          host: host_name,
        }),
    }),
    clone: defineFunction({
      doc: 'Clone a VM or deploy a template into a new VM.',
      args: () => ({
        name: z.string().min(1).describe('the new VM name'),
        source: z.string().min(1).optional().describe('template or VM to clone (name or id)'),
        source_query: z
          .object({ filters: filtersSchema().default({}), metadata: metadataSchema().default([]) })
          .strict()
          .optional()
          .describe(
            'instead of source: a template query ({filters, metadata}, see vmware_query.search) that must pick one',
          ),
        datacenter: names.datacenter,
        folder: z.string().optional().describe('vm folder path'),
        cluster: names.cluster.optional(),
        pool: z
          .string()
          .optional()
          .describe('resource pool name or id in the cluster (default: its root pool)'),
        datastore: z.string().optional().describe('datastore name or id'),
        power_on: z.boolean().default(false).describe('power the clone on'),
        template: z.boolean().default(false).describe('make the clone a template'),
        ...customizationArgs(),
      }),
      run: async (ctx, args) => {
        if ((args.source === undefined) === (args.source_query === undefined))
          throw new ModuleError('vmware_vm.clone needs source= or source_query= (one of them)', {
            code: 'BRINE_ARGUMENT',
          })
        const sourceId = args.source_query
          ? (await runSearch(ctx, 'template', args.source_query, true)).items[0]!.id
          : args.source!
        const source = await findVm(ctx, sourceId, args.source_query ? undefined : args.datacenter)
        const customization = await resolveCustomization(ctx, args)
        const where = await placement(ctx, args)
        const vm = await task(
          ctx,
          `cloning '${source.name}' to VM '${args.name}'`,
          'CloneVM_Task',
          {
            _this: source.obj,
            folder: where.folder,
            name: args.name,
            spec: {
              location: { datastore: where.datastore.obj, pool: where.pool },
              template: args.template,
              customization,
              powerOn: args.power_on,
            },
          },
        )
        const ref = vm as ManagedObjectReference
        return {
          name: args.name,
          id: ref.value,
          source: source.name,
          ...(customization && {
            customization: await reportCustomization(
              ctx,
              ref,
              args.name,
              args.power_on,
              args.customization_timeout,
            ),
          }),
        }
      },
    }),
    deploy_template: defineFunction({
      doc:
        'saltext-vmware’s name: deploy a VM from a template given by name or by a query ' +
        '(template_query={filters, metadata}), onto a host’s compute resource: {deployed: True}.',
      args: () => ({
        vm_name: z.string().min(1).describe('the new VM name'),
        template_name: z.string().min(1).optional().describe('template name or id'),
        host_name: z.string().min(1).optional().describe('host whose cluster/pool receives the VM'),
        template_query: z
          .object({ filters: filtersSchema().default({}), metadata: metadataSchema().default([]) })
          .strict()
          .optional()
          .describe('instead of template_name: a query that must pick one template'),
        datacenter: names.datacenter.optional(),
        power_on: z.boolean().default(false).describe('power the new VM on'),
        ...customizationArgs(),
      }),
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
        if ((args.template_name === undefined) === (args.template_query === undefined))
          throw new ModuleError(
            'vmware_vm.deploy_template needs template_name= or template_query=',
            {
              code: 'BRINE_ARGUMENT',
            },
          )
        const templateId = args.template_query
          ? (await runSearch(ctx, 'template', args.template_query, true)).items[0]!.id
          : (await findVm(ctx, args.template_name!, args.datacenter)).obj.value
        const template = await findVm(ctx, templateId, undefined, ['config.template'])
        if (!isTrue(template.props['config.template']))
          throw new ModuleError(`'${template.name}' is a VM, not a template`, {
            code: 'BRINE_ARGUMENT',
          })
        // The datacenter the template lives in; the host (when given) picks the compute resource.
        const dcName =
          args.datacenter ??
          (await inventoryPaths(si, [template.obj])).get(templateId)?.split('/')[1]
        const host = args.host_name
          ? await getEntity(si, ENTITY_TYPES.host, args.host_name, {
              props: ['parent'],
              signal: ctx.signal,
            })
          : undefined
        const compute = host?.props.parent as ManagedObjectReference | undefined
        const clone = (await ctx.salt('vmware_vm.clone', {
          name: args.vm_name,
          source: templateId,
          datacenter: dcName,
          ...(compute?.type === 'ClusterComputeResource' ? { cluster: compute.value } : {}),
          power_on: args.power_on,
          customization_spec: args.customization_spec,
          customization: args.customization,
          customization_timeout: args.customization_timeout,
        })) as { customization?: unknown }
        return {
          deployed: true,
          template: template.name,
          ...(clone.customization ? { customization: clone.customization } : {}),
        }
      },
    }),
    reconfigure: defineFunction({
      doc:
        'Change CPU count, memory, annotation, and whether CPUs and memory can be added while ' +
        'the VM runs (cpu_hot_add, memory_hot_add: set while powered off). A powered-on VM ' +
        'takes more CPUs or memory only when hot add is enabled, and never fewer: refused ' +
        'before vCenter is asked.',
      args: () => ({
        ...vmArgs(),
        num_cpu: z.coerce.number().int().min(1).optional().describe('virtual CPUs'),
        memory_mb: z.coerce.number().int().min(4).optional().describe('memory in MB'),
        annotation: z.string().optional().describe('notes'),
        cpu_hot_add: z.boolean().optional().describe('allow adding CPUs while powered on'),
        memory_hot_add: z.boolean().optional().describe('allow adding memory while powered on'),
      }),
      run: onVm(async (ctx, { name, datacenter, num_cpu, memory_mb, annotation, ...hot }) => {
        const vm = await findVm(ctx, name, datacenter)
        const wanted = { num_cpu, memory_mb, ...hot }
        const refusal =
          Object.values(wanted).some((v) => v !== undefined) &&
          hotChangeRefusal(await cpuMemoryState(ctx, vm), wanted)
        if (refusal)
          throw new ModuleError(`VM '${vm.name}' is powered on: ${refusal}`, {
            code: 'BRINE_INVALID_STATE',
          })
        await task(ctx, `reconfiguring VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: {
            annotation,
            numCPUs: num_cpu,
            memoryMB: memory_mb,
            cpuHotAddEnabled: hot.cpu_hot_add,
            memoryHotAddEnabled: hot.memory_hot_add,
          },
        })
        const after = await findVm(ctx, vm.obj.value, undefined, VM_PROPS)
        return describeVm(after, undefined)
      }),
    }),
    relocate: defineFunction({
      doc:
        'Move a VM to another host, resource pool and/or datastore (vMotion/Storage vMotion). ' +
        'A host in another cluster or standalone host implies that compute resource’s root pool ' +
        'unless pool is given. saltext-vmware’s relocate(vm_name, new_host_name, ' +
        'datastore_name, datacenter_name): {virtual_machine: "moved"}, plus where the VM is now.',
      args: () => ({
        vm_name: names.vm.optional(),
        new_host_name: z.string().min(1).optional().describe('target host name or id'),
        datastore_name: z.string().min(1).optional().describe('target datastore name or id'),
        datacenter_name: names.datacenter.optional(),
        name: names.vm.optional().describe('alias of vm_name'),
        host: z.string().optional().describe('alias of new_host_name'),
        pool: z.string().optional().describe('target resource pool name or id'),
        datastore: z.string().optional().describe('alias of datastore_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
      }),
      run: onVm(async (ctx, { name, datacenter, pool, ...args }) => {
        const host = aliased({ new_host_name: args.new_host_name, host: args.host })
        const datastore = aliased({
          datastore_name: args.datastore_name,
          datastore: args.datastore,
        })
        if (!host && !pool && !datastore)
          throw new ModuleError(
            'vmware_vm.relocate needs new_host_name=, datastore_name= or pool= (or several)',
            {
              code: 'BRINE_ARGUMENT',
            },
          )
        const si = ctx.serviceInstance
        const vm = await findVm(ctx, name, datacenter, ['runtime.host', 'resourcePool'])
        const within = datacenter ? await findDatacenter(ctx, datacenter) : undefined
        const lookup = (type: string, what: string) =>
          getEntity(si, type, what, { within: within?.obj, props: ['parent'], signal: ctx.signal })
        const target = host ? await lookup(ENTITY_TYPES.host, host) : undefined
        let targetPool = pool ? (await lookup(ENTITY_TYPES.resourcepool, pool)).obj : undefined
        if (target && !targetPool) {
          const current = vm.props['runtime.host'] as ManagedObjectReference | undefined
          const currentCompute = current
            ? (await retrieveObjectProperties(si, current, ['parent'])).parent
            : undefined
          const compute = target.props.parent as ManagedObjectReference
          if ((currentCompute as ManagedObjectReference | undefined)?.value !== compute.value)
            targetPool = (await retrieveObjectProperties(si, compute, ['resourcePool']))
              .resourcePool as ManagedObjectReference
        }
        const targetDatastore = datastore
          ? (await lookup(ENTITY_TYPES.datastore, datastore)).obj
          : undefined
        await task(ctx, `relocating VM '${vm.name}'`, 'RelocateVM_Task', {
          _this: vm.obj,
          spec: { datastore: targetDatastore, pool: targetPool, host: target?.obj },
        })
        const after = await findVm(ctx, vm.obj.value, undefined, [...VM_PROPS, 'datastore'])
        const nameOf = async (ref: ManagedObjectReference | undefined) =>
          ref ? String((await retrieveObjectProperties(si, ref, ['name'])).name) : null
        const { path: _path, ...described } = describeVm(after, undefined)
        return {
          ...described,
          host_name: await nameOf(after.props['runtime.host'] as ManagedObjectReference),
          resource_pool: await nameOf(after.props.resourcePool as ManagedObjectReference),
          datastores: await Promise.all(
            ((after.props.datastore as ManagedObjectReference[] | undefined) ?? []).map(nameOf),
          ),
          virtual_machine: 'moved',
        }
      }),
    }),
    location: defineFunction({
      doc: 'Where a VM runs: its host, resource pool and datastores (names and ids).',
      args: vmArgs,
      run: onVm(async (ctx, { name, datacenter }) => {
        const vm = await findVm(
          ctx,
          name,
          datacenter,
          ['runtime.host', 'resourcePool', 'datastore'],
          {
            names: ['datastore', 'resourcePool'],
          },
        )
        const host = vm.props['runtime.host'] as ManagedObjectReference | undefined
        const hostName = host
          ? (await inventoryPaths(ctx.serviceInstance, [host], { signal: ctx.signal }))
              .get(host.value)
              ?.split('/')
              .at(-1)
          : undefined
        const nameOf = (ref: ManagedObjectReference) => vm.names?.get(ref.value) ?? ref.value
        const pool = vm.props.resourcePool as ManagedObjectReference | undefined
        return {
          name: vm.name,
          host_name: hostName ?? null,
          host_id: host?.value ?? null,
          resource_pool: pool ? nameOf(pool) : null,
          datastores: asList(vm.props.datastore as ManagedObjectReference[] | undefined).map(
            (d) => ({ name: nameOf(d), id: d.value }),
          ),
        }
      }),
    }),
    rename: defineFunction({
      doc: 'Rename a VM.',
      args: () => ({ ...vmArgs(), new_name: z.string().min(1).describe('the new name') }),
      run: onVm(async (ctx, { name, datacenter, new_name }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `renaming VM '${vm.name}' to '${new_name}'`, 'Rename_Task', {
          _this: vm.obj,
          newName: new_name,
        })
        return { name: new_name, id: vm.obj.value }
      }),
    }),
    destroy: defineFunction({
      doc: 'Destroy a VM (delete its files). A powered-on VM needs force=True, which powers it off first.',
      args: () => ({
        ...vmArgs(),
        force: z.boolean().default(false).describe('power off first if needed'),
      }),
      run: onVm(async (ctx, { name, datacenter, force }) => {
        const vm = await findVm(ctx, name, datacenter, ['runtime.powerState'])
        if (vm.props['runtime.powerState'] !== 'poweredOff') {
          if (!force)
            throw new ModuleError(
              `VM '${vm.name}' is ${String(vm.props['runtime.powerState'])}: power it off, or pass force=True`,
              { code: 'BRINE_INVALID_STATE' },
            )
          await task(ctx, `powering off VM '${vm.name}'`, 'PowerOffVM_Task', { _this: vm.obj })
        }
        await task(ctx, `destroying VM '${vm.name}'`, 'Destroy_Task', { _this: vm.obj })
        return { name: vm.name, id: vm.obj.value, destroyed: true }
      }),
    }),
    mark_as_template: defineFunction({
      doc: 'Turn a powered-off VM into a template.',
      args: vmArgs,
      run: onVm(async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter)
        await ctx.serviceInstance.invoke(
          'MarkAsTemplate',
          { _this: vm.obj },
          { signal: ctx.signal },
        )
        return { name: vm.name, id: vm.obj.value, template: true }
      }),
    }),
    mark_as_vm: defineFunction({
      doc: 'Turn a template back into a VM, in a cluster’s resource pool.',
      args: () => ({ ...vmArgs(), cluster: names.cluster }),
      run: onVm(async (ctx, { name, datacenter, cluster }) => {
        const vm = await findVm(ctx, name, datacenter)
        const target = await findCluster(ctx, cluster, datacenter, ['resourcePool'])
        await ctx.serviceInstance.invoke(
          'MarkAsVirtualMachine',
          { _this: vm.obj, pool: target.props.resourcePool },
          { signal: ctx.signal },
        )
        return { name: vm.name, id: vm.obj.value, template: false }
      }),
    }),
    add_disk: defineFunction({
      doc:
        'Add a thin (or thick) disk: on the first SCSI controller (a paravirtual one is added ' +
        'when the VM has none), or with controller= on a controller of that type with a free ' +
        'unit (lsilogic, lsilogic-sas, paravirtual, buslogic, nvme, sata; a new one when none ' +
        'has room).',
      args: () => ({
        ...vmArgs(),
        size_gb: z.coerce.number().positive().describe('size in GB'),
        thin: z.boolean().default(true).describe('thin provisioning'),
        controller: z.enum(CONTROLLER_NAMES).optional().describe('controller type'),
      }),
      run: onVm(async (ctx, { name, datacenter, size_gb, thin, controller }) => {
        const vm = await findVm(ctx, name, datacenter)
        const devices = await devicesOf(ctx, vm.obj)
        await task(ctx, `adding a ${size_gb} GB disk to VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: { deviceChange: diskChangesOn(devices, [size_gb], thin, controller) },
        })
        return { name: vm.name, disks: disksOf(await devicesOf(ctx, vm.obj)) }
      }),
    }),
    remove_disk: defineFunction({
      doc: 'Remove a disk by label ("Hard disk 2") or key; its file is deleted unless keep_file=True.',
      args: () => ({
        ...vmArgs(),
        disk: z.string().min(1).describe('disk label or key'),
        keep_file: z.boolean().default(false).describe('keep the vmdk file'),
      }),
      run: onVm(async (ctx, { name, datacenter, disk, keep_file }) => {
        const vm = await findVm(ctx, name, datacenter)
        const device = deviceNamed(await devicesOf(ctx, vm.obj), disk, 'disk')
        await task(ctx, `removing ${disk} from VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: {
            deviceChange: [
              { operation: 'remove', ...(keep_file ? {} : { fileOperation: 'destroy' }), device },
            ],
          },
        })
        return { name: vm.name, disks: disksOf(await devicesOf(ctx, vm.obj)) }
      }),
    }),
    add_nic: defineFunction({
      doc: 'Add a network adapter on a standard network or a distributed port group.',
      args: () => ({
        ...vmArgs(),
        network: z.string().min(1).describe('network or port group name or id'),
        type: z.enum(['vmxnet3', 'e1000', 'e1000e']).default('vmxnet3').describe('adapter type'),
      }),
      run: onVm(async (ctx, { name, datacenter, network, type }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `adding a NIC on '${network}' to VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: { deviceChange: await nicChanges(ctx, [network], type) },
        })
        return {
          name: vm.name,
          nics: await currentNics(ctx, vm.obj),
        }
      }),
    }),
    remove_nic: defineFunction({
      doc: 'Remove a network adapter by label ("Network adapter 1") or key.',
      args: () => ({ ...vmArgs(), nic: z.string().min(1).describe('adapter label or key') }),
      run: onVm(async (ctx, { name, datacenter, nic }) => {
        const vm = await findVm(ctx, name, datacenter)
        const device = deviceNamed(await devicesOf(ctx, vm.obj), nic, 'network adapter')
        await task(ctx, `removing ${nic} from VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: { deviceChange: [{ operation: 'remove', device }] },
        })
        return {
          name: vm.name,
          nics: await currentNics(ctx, vm.obj),
        }
      }),
    }),
    create_snapshot: defineFunction({
      doc:
        'saltext-vmware’s create_snapshot(vm_name, snapshot_name, description, include_memory, ' +
        'quiesce, datacenter_name): {snapshot: "created"}, plus name, snapshot_name and the ' +
        'snapshot’s id. brine’s snapshot= and memory= are the same arguments under older names.',
      args: () => ({
        vm_name: names.vm.optional(),
        snapshot_name: z.string().min(1).optional().describe('snapshot name'),
        description: z.string().default('').describe('description'),
        include_memory: z.boolean().optional().describe('include memory (default False)'),
        quiesce: z.boolean().default(false).describe('quiesce the guest file system'),
        datacenter_name: names.datacenter.optional(),
        name: names.vm.optional().describe('alias of vm_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
        snapshot: z.string().min(1).optional().describe('alias of snapshot_name'),
        memory: z.boolean().optional().describe('alias of include_memory'),
      }),
      run: onVm(async (ctx, { name, datacenter, description, quiesce, ...args }) => {
        const snapshot = requiredAliased({
          snapshot_name: args.snapshot_name,
          snapshot: args.snapshot,
        })
        const memory =
          aliased({ include_memory: args.include_memory, memory: args.memory }) ?? false
        const vm = await findVm(ctx, name, datacenter)
        const ref = await task(
          ctx,
          `snapshotting VM '${vm.name}' as '${snapshot}'`,
          'CreateSnapshot_Task',
          { _this: vm.obj, name: snapshot, description, memory, quiesce },
        )
        return {
          snapshot: 'created',
          name: vm.name,
          snapshot_name: snapshot,
          id: (ref as ManagedObjectReference).value,
        }
      }),
    }),
    snapshot: defineFunction({
      doc:
        'saltext-vmware’s snapshot(vm_name, datacenter_name): {snapshots: [{creation_time, ' +
        'description, id, name, state, quiesced}]}, every snapshot flat, depth first (plus each ' +
        'one’s moid). No snapshot: {snapshots: []} (saltext answers {snapshots: {msg: "no ' +
        'snapshots"}}). The tree is vmware_vm.list_snapshots.',
      args: () => ({
        vm_name: names.vm.optional(),
        datacenter_name: names.datacenter.optional(),
        name: names.vm.optional().describe('alias of vm_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
      }),
      run: onVm(async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter, ['snapshot'])
        return {
          snapshots: flatSnapshots(
            snapshotTree(
              (vm.props.snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList,
            ),
          ),
        }
      }),
    }),
    destroy_snapshot: defineFunction({
      doc:
        'saltext-vmware’s destroy_snapshot(vm_name, snapshot_name, snapshot_id, ' +
        'remove_children, datacenter_name): {snapshot: "destroyed"}. snapshot_id (the number ' +
        'vmware_vm.snapshot shows) picks one of several snapshots of the same name; a name ' +
        'that stays ambiguous is refused.',
      args: () => ({
        vm_name: names.vm.optional(),
        snapshot_name: z.string().min(1).describe('snapshot name (or brine’s snapshot id)'),
        snapshot_id: z.coerce.number().int().optional().describe('snapshot id (a number)'),
        remove_children: z.boolean().default(false).describe('remove its children too'),
        datacenter_name: names.datacenter.optional(),
        name: names.vm.optional().describe('alias of vm_name'),
        datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
      }),
      run: onVm(async (ctx, { name, datacenter, snapshot_name, snapshot_id, remove_children }) => {
        const vm = await findVm(ctx, name, datacenter)
        const ref = await oneSnapshot(ctx, vm, snapshot_name, snapshot_id)
        await task(
          ctx,
          `removing snapshot '${snapshot_name}' of VM '${vm.name}'`,
          'RemoveSnapshot_Task',
          { _this: ref, removeChildren: remove_children },
        )
        return { snapshot: 'destroyed', name: vm.name, snapshot_name, id: ref.value }
      }),
    }),
    list_snapshots: defineFunction({
      doc: 'The snapshot tree: name, id, description, created, state, quiesced, children.',
      args: vmArgs,
      run: onVm(async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter, ['snapshot'])
        return snapshotTree(
          (vm.props.snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList,
        )
      }),
    }),
    revert_snapshot: defineFunction({
      doc: 'Revert to a snapshot (by name or id).',
      args: () => ({ ...vmArgs(), snapshot: z.string().min(1).describe('snapshot name or id') }),
      run: onVm(async (ctx, { name, datacenter, snapshot }) => {
        const vm = await findVm(ctx, name, datacenter)
        const ref = await oneSnapshot(ctx, vm, snapshot)
        await task(ctx, `reverting VM '${vm.name}' to '${snapshot}'`, 'RevertToSnapshot_Task', {
          _this: ref,
        })
        return { name: vm.name, snapshot, reverted: true }
      }),
    }),
    remove_snapshot: defineFunction({
      doc: 'Remove a snapshot (by name or id), and optionally its children.',
      args: () => ({
        ...vmArgs(),
        snapshot: z.string().min(1).describe('snapshot name or id'),
        children: z.boolean().default(false).describe('remove its children too'),
      }),
      run: onVm(async (ctx, { name, datacenter, snapshot, children }) => {
        const vm = await findVm(ctx, name, datacenter)
        const ref = await oneSnapshot(ctx, vm, snapshot)
        await task(
          ctx,
          `removing snapshot '${snapshot}' of VM '${vm.name}'`,
          'RemoveSnapshot_Task',
          { _this: ref, removeChildren: children },
        )
        return { name: vm.name, snapshot, removed: true }
      }),
    }),
    ...hardwareFunctions,
    remove_all_snapshots: defineFunction({
      doc: 'Remove every snapshot of a VM.',
      args: vmArgs,
      run: onVm(async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `removing all snapshots of VM '${vm.name}'`, 'RemoveAllSnapshots_Task', {
          _this: vm.obj,
        })
        return { name: vm.name, removed: true }
      }),
    }),
    // wait_for_ip, wait_for_tools, wait_for_power, shutdown
    ...guestFunctions,
  },
})
