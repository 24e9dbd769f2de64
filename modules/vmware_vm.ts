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
  ModuleError,
  z,
} from 'brine/loader'
import {
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
import {
  currentNics,
  deviceNamed,
  devicesOf,
  diskChanges,
  disksOf,
  nicChanges,
  nicsOf,
} from './_devices.ts'
import {
  diff,
  findCluster,
  findDatacenter,
  findInDatacenter,
  folderAt,
  isTrue,
  names,
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
async function placement(
  ctx: CallContext,
  args: {
    datacenter: string
    folder?: string | undefined
    cluster?: string | undefined
    pool?: string | undefined
    datastore?: string | undefined
  },
) {
  const si = ctx.serviceInstance
  const dc = await findDatacenter(ctx, args.datacenter, ['vmFolder', 'datastore'])
  const folder = args.folder
    ? await folderAt(ctx, dc, 'vm', args.folder)
    : (dc.props.vmFolder as ManagedObjectReference)
  const computes = args.cluster
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
  const datastore = args.datastore
    ? datastores.find((d) => d.name === args.datastore || d.obj.value === args.datastore)
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
    host: (compute.props.host as ManagedObjectReference[] | undefined)?.[0],
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

const POWER = {
  on: { method: 'PowerOnVM_Task', state: 'poweredOn' },
  off: { method: 'PowerOffVM_Task', state: 'poweredOff' },
  suspend: { method: 'SuspendVM_Task', state: 'suspended' },
  reset: { method: 'ResetVM_Task', state: 'poweredOn' },
  shutdown: { method: 'ShutdownGuest', state: 'poweredOff' },
} as const

interface SnapshotNode {
  name: string
  id: string
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
    description: String(node.description ?? ''),
    created:
      node.createTime instanceof Date ? node.createTime.toISOString() : String(node.createTime),
    state: String(node.state),
    quiesced: node.quiesced === true,
    children: snapshotTree(node.childSnapshotList),
  }))
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
): Promise<ManagedObjectReference> {
  const si = ctx.serviceInstance
  const props = await retrieveObjectProperties(si, vm.obj, ['snapshot'], { signal: ctx.signal })
  const matches = findSnapshot(
    snapshotTree((props.snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList),
    nameOrId,
  )
  if (matches.length === 0)
    throw new ModuleError(`snapshot '${nameOrId}' of VM '${vm.name}' not found`, {
      code: 'BRINE_NOT_FOUND',
    })
  if (matches.length > 1)
    throw new ModuleError(
      `snapshot name '${nameOrId}' of VM '${vm.name}' is ambiguous: ids ${matches.map((m) => m.id).join(', ')}`,
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

export const bootArgs = {
  order: z
    .array(z.enum(['cdrom', 'disk', 'ethernet', 'floppy']))
    .default(['cdrom', 'disk', 'ethernet', 'floppy'])
    .describe('boot order (disk and ethernet: the first disk and NIC)'),
  delay: z.coerce.number().int().min(0).default(0).describe('boot delay, ms'),
  enter_bios_setup: z.boolean().default(false).describe('enter BIOS setup on next boot'),
  retry_enabled: z.boolean().default(false).describe('retry booting when no device boots'),
  retry_delay: z.coerce.number().int().min(0).default(10000).describe('retry delay, ms'),
  efi_secure_boot_enabled: z.boolean().default(false).describe('EFI secure boot'),
}

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

const vmArgs = { name: names.vm, datacenter: names.datacenter.optional() }

export default defineModule({
  doc: 'Virtual machines and templates.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List VM names (templates excluded), filtered by datacenter, cluster, folder path or host.',
      args: {
        datacenter: names.datacenter.optional(),
        cluster: names.cluster.optional(),
        folder: z.string().optional().describe('vm folder path (needs datacenter)'),
        host: z.string().optional().describe('host name or id'),
      },
      run: async (ctx, { datacenter, cluster, folder, host }) => {
        const si = ctx.serviceInstance
        let within: ManagedObjectReference | undefined
        if (folder) {
          if (!datacenter)
            throw new ModuleError('vmware_vm.list: folder= needs datacenter=', {
              code: 'BRINE_ARGUMENT',
            })
          within = await folderAt(ctx, await findDatacenter(ctx, datacenter), 'vm', folder)
        } else if (cluster) within = (await findCluster(ctx, cluster, datacenter)).obj
        else if (host)
          within = (await getEntity(si, ENTITY_TYPES.host, host, { signal: ctx.signal })).obj
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
      args: { datacenter: names.datacenter.optional() },
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
      doc: 'Describe a VM: id, uuid, power state, CPU, memory, guest, IP, host, path, template flag.',
      args: vmArgs,
      run: async (ctx, { name, datacenter }) => {
        // One refresh of the index, then one read: properties, path, network names.
        const vm = await findVm(ctx, name, datacenter, [...VM_PROPS, 'config.hardware.device'], {
          path: true,
          names: ['network'],
        })
        const devices =
          (vm.props['config.hardware.device'] as Parameters<typeof disksOf>[0] | undefined) ?? []
        return {
          ...describeVm(vm, vm.path),
          disks: disksOf(devices),
          nics: nicsOf(devices, vm.names ?? new Map()),
        }
      },
    }),
    boot_options: defineFunction({
      doc: 'A VM’s boot order and boot options.',
      args: vmArgs,
      run: async (ctx, { name, datacenter }) =>
        bootOptionsOf(
          (await findVm(ctx, name, datacenter, ['config.bootOptions'])).props['config.bootOptions'],
        ),
    }),
    boot_manager: defineFunction({
      doc: 'Set boot order and boot options; says whether anything changed.',
      args: { ...vmArgs, ...bootArgs },
      run: async (ctx, { name, datacenter, ...wanted }) => {
        const vm = await findVm(ctx, name, datacenter, [
          'config.bootOptions',
          'config.hardware.device',
        ])
        const before = bootOptionsOf(vm.props['config.bootOptions'])
        const changes = diff(before, wanted)
        if (Object.keys(changes).length === 0) return { ...before, changes }
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
        return { ...bootOptionsOf(after.props['config.bootOptions']), changes }
      },
    }),
    path: defineFunction({
      doc: 'The VM’s inventory path, e.g. /DC0/vm/web/vm1.',
      args: vmArgs,
      run: async (ctx, { name, datacenter }) => {
        return (await findVm(ctx, name, datacenter, [], { path: true })).path
      },
    }),
    power_state: defineFunction({
      doc: 'Set the power state: on, off, suspend, reset, shutdown (guest). Says so when already there.',
      args: {
        ...vmArgs,
        // Salt's argument typing (YAML 1.1) reads an unquoted on/off as a boolean: take it as meant.
        state: z
          .preprocess(
            (v) => (v === true ? 'on' : v === false ? 'off' : v),
            z.enum(['on', 'off', 'suspend', 'reset', 'shutdown']),
          )
          .describe('wanted state'),
      },
      run: async (ctx, { name, datacenter, state }) => {
        const si = ctx.serviceInstance
        const vm = await findVm(ctx, name, datacenter, ['runtime.powerState'])
        const before = vm.props['runtime.powerState']
        const spec = POWER[state]
        if (state !== 'reset' && before === spec.state)
          return {
            name: vm.name,
            power_state: before,
            changed: false,
            comment: `VM '${vm.name}' is already ${before}`,
          }
        if (state === 'shutdown')
          await si.invoke('ShutdownGuest', { _this: vm.obj }, { signal: ctx.signal })
        else await task(ctx, `powering ${state} VM '${vm.name}'`, spec.method, { _this: vm.obj })
        return {
          name: vm.name,
          power_state: spec.state,
          changed: true,
          comment: `VM '${vm.name}': ${before} -> ${spec.state}`,
        }
      },
    }),
    console: defineFunction({
      doc: 'Open a console: acquire a WebMKS (or MKS) ticket, keep a console record, and answer its id, host, port, expiry, and a token and access URL shown this once (brine keeps only the token’s hash).',
      args: {
        ...vmArgs,
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
      },
      run: async (ctx, { name, datacenter, mode, ttl }) => {
        // The store first: a broken database fails the call before vCenter issues a ticket.
        const config = consoleConfig(ctx.opts)
        const store = openConsoleStore(config)
        const vm = await findVm(ctx, name, datacenter, [
          'config.instanceUuid',
          'config.uuid',
          'runtime.powerState',
        ])
        const ticket = await acquireTicket(ctx, vm, mode)
        const instanceUuid = String(vm.props['config.instanceUuid'] ?? vm.props['config.uuid'])
        const issued = issueConsole(store, {
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
        })
        // Bounded housekeeping: one batch of expired records per issue.
        cleanupExpired(store, { batch: config.cleanupBatch, maxBatches: 1 })
        return {
          name: vm.name,
          ...describeConsole(issued.record),
          token: new Issued(issued.token),
          access_url: new Issued(issued.accessUrl),
        }
      },
    }),
    get_mks_ticket: defineFunction({
      doc: 'saltext-vmware’s get_mks_ticket: AcquireTicket for a VM, answered as pyVmomi’s JSON (ticket, cfgFile, host, port, sslThumbprint, url). The ticket is shown this once and kept nowhere.',
      args: {
        vm_name: names.vm,
        ticket_type: z.enum(TICKET_TYPES).default('webmks').describe('VirtualMachineTicketType'),
        datacenter_name: names.datacenter.optional(),
      },
      run: async (ctx, { vm_name, ticket_type, datacenter_name }) => {
        const vm = await findVm(ctx, vm_name, datacenter_name, ['runtime.powerState'])
        return ticketOutput(await acquireTicket(ctx, vm, ticket_type))
      },
    }),
    create: defineFunction({
      doc: 'Create an empty VM (CPU, memory, guest id) in a datacenter, folder, cluster and datastore.',
      args: {
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
      },
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
        'half-made VM stays), optional network mapping and power-on.',
      args: {
        name: z.string().min(1).describe('the new VM name'),
        path: z.string().min(1).describe('.ovf or .ova file on this machine'),
        datacenter: names.datacenter,
        folder: z.string().optional().describe('vm folder path'),
        cluster: names.cluster.optional(),
        pool: z.string().optional().describe('resource pool name or id (default: the root pool)'),
        datastore: z.string().optional().describe('datastore name or id'),
        networks: z
          .record(z.string(), z.string())
          .optional()
          .describe('{OVF network name: vSphere network or port group name}'),
        disk_provisioning: z.enum(['thin', 'thick', 'eagerZeroedThick']).optional(),
        power_on: z.boolean().default(false).describe('power the VM on'),
      },
      run: async (ctx, args) => {
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
        return describeVm(await findVm(ctx, vm.value, undefined, VM_PROPS), undefined)
      },
    }),
    clone: defineFunction({
      doc: 'Clone a VM or deploy a template into a new VM.',
      args: {
        name: z.string().min(1).describe('the new VM name'),
        source: z.string().min(1).optional().describe('template or VM to clone (name or id)'),
        source_query: z
          .object({ filters: filtersSchema.default({}), metadata: metadataSchema.default([]) })
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
      },
      run: async (ctx, args) => {
        if ((args.source === undefined) === (args.source_query === undefined))
          throw new ModuleError('vmware_vm.clone needs source= or source_query= (one of them)', {
            code: 'BRINE_ARGUMENT',
          })
        const sourceId = args.source_query
          ? (await runSearch(ctx, 'template', args.source_query, true)).items[0]!.id
          : args.source!
        const source = await findVm(ctx, sourceId, args.source_query ? undefined : args.datacenter)
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
              powerOn: args.power_on,
            },
          },
        )
        return { name: args.name, id: (vm as ManagedObjectReference).value, source: source.name }
      },
    }),
    deploy_template: defineFunction({
      doc:
        'saltext-vmware’s name: deploy a VM from a template given by name or by a query ' +
        '(template_query={filters, metadata}), onto a host’s compute resource: {deployed: True}.',
      args: {
        vm_name: z.string().min(1).describe('the new VM name'),
        template_name: z.string().min(1).optional().describe('template name or id'),
        template_query: z
          .object({ filters: filtersSchema.default({}), metadata: metadataSchema.default([]) })
          .strict()
          .optional()
          .describe('instead of template_name: a query that must pick one template'),
        host_name: z.string().min(1).optional().describe('host whose cluster/pool receives the VM'),
        datacenter: names.datacenter.optional(),
      },
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
        await ctx.salt('vmware_vm.clone', {
          name: args.vm_name,
          source: templateId,
          datacenter: dcName,
          ...(compute?.type === 'ClusterComputeResource' ? { cluster: compute.value } : {}),
        })
        return { deployed: true, template: template.name }
      },
    }),
    reconfigure: defineFunction({
      doc: 'Change CPU count, memory or annotation.',
      args: {
        ...vmArgs,
        num_cpu: z.coerce.number().int().min(1).optional().describe('virtual CPUs'),
        memory_mb: z.coerce.number().int().min(4).optional().describe('memory in MB'),
        annotation: z.string().optional().describe('notes'),
      },
      run: async (ctx, { name, datacenter, num_cpu, memory_mb, annotation }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `reconfiguring VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: { annotation, numCPUs: num_cpu, memoryMB: memory_mb },
        })
        const after = await findVm(ctx, vm.obj.value, undefined, VM_PROPS)
        return describeVm(after, undefined)
      },
    }),
    relocate: defineFunction({
      doc:
        'Move a VM to another host, resource pool and/or datastore (vMotion/Storage vMotion). ' +
        'A host in another cluster or standalone host implies that compute resource’s root pool ' +
        'unless pool is given.',
      args: {
        ...vmArgs,
        host: z.string().optional().describe('target host name or id'),
        pool: z.string().optional().describe('target resource pool name or id'),
        datastore: z.string().optional().describe('target datastore name or id'),
      },
      run: async (ctx, { name, datacenter, host, pool, datastore }) => {
        if (!host && !pool && !datastore)
          throw new ModuleError(
            'vmware_vm.relocate needs host=, pool= or datastore= (or several)',
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
        }
      },
    }),
    rename: defineFunction({
      doc: 'Rename a VM.',
      args: { ...vmArgs, new_name: z.string().min(1).describe('the new name') },
      run: async (ctx, { name, datacenter, new_name }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `renaming VM '${vm.name}' to '${new_name}'`, 'Rename_Task', {
          _this: vm.obj,
          newName: new_name,
        })
        return { name: new_name, id: vm.obj.value }
      },
    }),
    destroy: defineFunction({
      doc: 'Destroy a VM (delete its files). A powered-on VM needs force=True, which powers it off first.',
      args: { ...vmArgs, force: z.boolean().default(false).describe('power off first if needed') },
      run: async (ctx, { name, datacenter, force }) => {
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
      },
    }),
    mark_as_template: defineFunction({
      doc: 'Turn a powered-off VM into a template.',
      args: vmArgs,
      run: async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter)
        await ctx.serviceInstance.invoke(
          'MarkAsTemplate',
          { _this: vm.obj },
          { signal: ctx.signal },
        )
        return { name: vm.name, id: vm.obj.value, template: true }
      },
    }),
    mark_as_vm: defineFunction({
      doc: 'Turn a template back into a VM, in a cluster’s resource pool.',
      args: { ...vmArgs, cluster: names.cluster },
      run: async (ctx, { name, datacenter, cluster }) => {
        const vm = await findVm(ctx, name, datacenter)
        const target = await findCluster(ctx, cluster, datacenter, ['resourcePool'])
        await ctx.serviceInstance.invoke(
          'MarkAsVirtualMachine',
          { _this: vm.obj, pool: target.props.resourcePool },
          { signal: ctx.signal },
        )
        return { name: vm.name, id: vm.obj.value, template: false }
      },
    }),
    add_disk: defineFunction({
      doc: 'Add a thin (or thick) disk; a paravirtual SCSI controller is added when the VM has none.',
      args: {
        ...vmArgs,
        size_gb: z.coerce.number().positive().describe('size in GB'),
        thin: z.boolean().default(true).describe('thin provisioning'),
      },
      run: async (ctx, { name, datacenter, size_gb, thin }) => {
        const vm = await findVm(ctx, name, datacenter)
        const devices = await devicesOf(ctx, vm.obj)
        await task(ctx, `adding a ${size_gb} GB disk to VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: { deviceChange: diskChanges(devices, [size_gb], thin) },
        })
        return { name: vm.name, disks: disksOf(await devicesOf(ctx, vm.obj)) }
      },
    }),
    remove_disk: defineFunction({
      doc: 'Remove a disk by label ("Hard disk 2") or key; its file is deleted unless keep_file=True.',
      args: {
        ...vmArgs,
        disk: z.string().min(1).describe('disk label or key'),
        keep_file: z.boolean().default(false).describe('keep the vmdk file'),
      },
      run: async (ctx, { name, datacenter, disk, keep_file }) => {
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
      },
    }),
    add_nic: defineFunction({
      doc: 'Add a network adapter on a standard network or a distributed port group.',
      args: {
        ...vmArgs,
        network: z.string().min(1).describe('network or port group name or id'),
        type: z.enum(['vmxnet3', 'e1000', 'e1000e']).default('vmxnet3').describe('adapter type'),
      },
      run: async (ctx, { name, datacenter, network, type }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `adding a NIC on '${network}' to VM '${vm.name}'`, 'ReconfigVM_Task', {
          _this: vm.obj,
          spec: { deviceChange: await nicChanges(ctx, [network], type) },
        })
        return {
          name: vm.name,
          nics: await currentNics(ctx, vm.obj),
        }
      },
    }),
    remove_nic: defineFunction({
      doc: 'Remove a network adapter by label ("Network adapter 1") or key.',
      args: { ...vmArgs, nic: z.string().min(1).describe('adapter label or key') },
      run: async (ctx, { name, datacenter, nic }) => {
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
      },
    }),
    create_snapshot: defineFunction({
      doc: 'Take a snapshot.',
      args: {
        ...vmArgs,
        snapshot: z.string().min(1).describe('snapshot name'),
        description: z.string().default('').describe('description'),
        memory: z.boolean().default(false).describe('include memory'),
        quiesce: z.boolean().default(false).describe('quiesce the guest file system'),
      },
      run: async (ctx, { name, datacenter, snapshot, description, memory, quiesce }) => {
        const vm = await findVm(ctx, name, datacenter)
        const ref = await task(
          ctx,
          `snapshotting VM '${vm.name}' as '${snapshot}'`,
          'CreateSnapshot_Task',
          { _this: vm.obj, name: snapshot, description, memory, quiesce },
        )
        return { name: vm.name, snapshot, id: (ref as ManagedObjectReference).value }
      },
    }),
    list_snapshots: defineFunction({
      doc: 'The snapshot tree: name, id, description, created, state, quiesced, children.',
      args: vmArgs,
      run: async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter, ['snapshot'])
        return snapshotTree(
          (vm.props.snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList,
        )
      },
    }),
    revert_snapshot: defineFunction({
      doc: 'Revert to a snapshot (by name or id).',
      args: { ...vmArgs, snapshot: z.string().min(1).describe('snapshot name or id') },
      run: async (ctx, { name, datacenter, snapshot }) => {
        const vm = await findVm(ctx, name, datacenter)
        const ref = await oneSnapshot(ctx, vm, snapshot)
        await task(ctx, `reverting VM '${vm.name}' to '${snapshot}'`, 'RevertToSnapshot_Task', {
          _this: ref,
        })
        return { name: vm.name, snapshot, reverted: true }
      },
    }),
    remove_snapshot: defineFunction({
      doc: 'Remove a snapshot (by name or id), and optionally its children.',
      args: {
        ...vmArgs,
        snapshot: z.string().min(1).describe('snapshot name or id'),
        children: z.boolean().default(false).describe('remove its children too'),
      },
      run: async (ctx, { name, datacenter, snapshot, children }) => {
        const vm = await findVm(ctx, name, datacenter)
        const ref = await oneSnapshot(ctx, vm, snapshot)
        await task(
          ctx,
          `removing snapshot '${snapshot}' of VM '${vm.name}'`,
          'RemoveSnapshot_Task',
          { _this: ref, removeChildren: children },
        )
        return { name: vm.name, snapshot, removed: true }
      },
    }),
    remove_all_snapshots: defineFunction({
      doc: 'Remove every snapshot of a VM.',
      args: vmArgs,
      run: async (ctx, { name, datacenter }) => {
        const vm = await findVm(ctx, name, datacenter)
        await task(ctx, `removing all snapshots of VM '${vm.name}'`, 'RemoveAllSnapshots_Task', {
          _this: vm.obj,
        })
        return { name: vm.name, removed: true }
      },
    }),
  },
})
