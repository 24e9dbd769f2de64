import {
  type CallContext,
  defineFunction,
  defineModule,
  lazy,
  ModuleError,
  Secret,
  z,
} from 'brine/loader'
import {
  ENTITY_TYPES,
  findEntityByName,
  type Library,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
} from 'brine/vsphere'
import {
  describeFile,
  describeItem,
  describeLibrary,
  findItem,
  findLibrary,
  itemNamed,
  libraryNamed,
  withLibraries,
} from './_content_library.ts'
import { customizationArgs, resolveCustomization } from './_customization.ts'
import { reportCustomization } from './_customization_events.ts'
import { customizeVm, deployPlacement, networkMappings } from './_library_deploy.ts'
import { itemTypeOf, readLocalPackage } from './_library_package.ts'
import { findInDatacenter, names } from './_vmware.ts'

/**
 * Content libraries (vSphere Automation REST API, on the session brine already has):
 * libraries (local and subscribed), their items, uploads of OVF/OVA/ISO files, and VMs
 * deployed from an OVF or VM-template item. saltext-vmware has no content library functions,
 * so the names are brine's: `library` and `item` name things (by name or id), the placement
 * arguments are those of vmware_vm.clone and deploy_ovf.
 */

const libraryArg = lazy(() => z.string().min(1).describe('content library name or id'))
const itemArg = lazy(() => z.string().min(1).describe('item name or id (in the library)'))

const placementArgs = lazy(() => ({
  datacenter: names.datacenter.optional().describe('datacenter (default: the host’s)'),
  folder: z.string().optional().describe('vm folder path (default: the datacenter’s vm folder)'),
  cluster: names.cluster.optional(),
  host: z.string().min(1).optional().describe('host name or id'),
  pool: z
    .string()
    .optional()
    .describe('resource pool name or id (default: the cluster’s or host’s root pool)'),
  datastore: z.string().optional().describe('datastore name or id (default: vCenter chooses)'),
}))

async function vmInfo(ctx: CallContext, vm: ManagedObjectReference) {
  const props = await retrieveObjectProperties(
    ctx.serviceInstance,
    vm,
    ['name', 'runtime.powerState'],
    { signal: ctx.signal },
  )
  return {
    name: String(props.name),
    id: vm.value,
    power_state: String(props['runtime.powerState']),
  }
}

export default defineModule({
  doc: 'Content libraries: libraries, items, uploads, and VMs deployed from library items.',
  vsphere: true,
  functions: {
    list_libraries: defineFunction({
      doc: 'The content libraries, local and subscribed (type= LOCAL or SUBSCRIBED to filter).',
      args: () => ({ type: z.enum(['LOCAL', 'SUBSCRIBED']).optional().describe('only this type') }),
      run: (ctx, { type }) =>
        withLibraries(ctx, async (c) =>
          (await c.listLibraries())
            .filter((l) => !type || l.type === type)
            .map(describeLibrary)
            .sort((a, b) => a.name.localeCompare(b.name)),
        ),
    }),
    get_library: defineFunction({
      doc: 'One content library by name or id, with its item count.',
      args: () => ({ name: libraryArg() }),
      run: (ctx, { name }) =>
        withLibraries(ctx, async (c) => {
          const library = await libraryNamed(c, name)
          return { ...describeLibrary(library), items: (await c.listItems(library.id)).length }
        }),
    }),
    create_library: defineFunction({
      doc:
        'Create a content library on a datastore: local, or subscribed when subscription_url ' +
        'is given (the publisher’s lib.json URL; user_name and password for BASIC ' +
        'authentication). {id, name, type, created: True}.',
      args: () => ({
        name: z.string().min(1).describe('library name (unique in vCenter)'),
        datastore: z.string().min(1).describe('datastore name or id that stores the library'),
        datacenter: names.datacenter.optional().describe('datacenter of the datastore'),
        description: z.string().default(''),
        published: z.boolean().default(false).describe('publish a local library'),
        subscription_url: z.string().url().optional().describe('subscribe to this library'),
        on_demand: z
          .boolean()
          .default(true)
          .describe('subscribed: download item content only when used'),
        automatic_sync: z.boolean().default(false).describe('subscribed: sync automatically'),
        user_name: z.string().min(1).optional().describe('subscribed: BASIC authentication user'),
        password: z
          .string()
          .min(1)
          .optional()
          .meta({ secret: true })
          .describe('subscribed: BASIC authentication password'),
        ssl_thumbprint: z
          .string()
          .optional()
          .describe('subscribed: the publisher’s certificate thumbprint'),
      }),
      run: (ctx, args) =>
        withLibraries(ctx, async (c) => {
          const subscribed = args.subscription_url !== undefined
          for (const key of ['user_name', 'password', 'ssl_thumbprint'] as const)
            if (!subscribed && args[key] !== undefined)
              throw new ModuleError(
                `${ctx.fun}: ${key}= is for a subscribed library; give subscription_url= too`,
                { code: 'BRINE_ARGUMENT' },
              )
          if ((args.user_name === undefined) !== (args.password === undefined))
            throw new ModuleError(
              `${ctx.fun}: BASIC authentication needs both user_name= and password=`,
              { code: 'BRINE_ARGUMENT' },
            )
          if (await findLibrary(c, args.name))
            throw new ModuleError(`content library '${args.name}' exists already`, {
              code: 'BRINE_VAPI_EXISTS',
            })
          const ds = await findInDatacenter(
            ctx,
            ENTITY_TYPES.datastore,
            args.datastore,
            args.datacenter,
          )
          const type: Library['type'] = subscribed ? 'SUBSCRIBED' : 'LOCAL'
          const id = await c.createLibrary(type, {
            name: args.name,
            description: args.description,
            storage_backings: [{ type: 'DATASTORE', datastore_id: ds.obj.value }],
            ...(subscribed
              ? {
                  subscription_info: {
                    subscription_url: args.subscription_url!,
                    authentication_method: args.user_name ? 'BASIC' : 'NONE',
                    on_demand: args.on_demand,
                    automatic_sync_enabled: args.automatic_sync,
                    ...(args.user_name
                      ? { user_name: args.user_name, password: new Secret(args.password!) }
                      : {}),
                    ...(args.ssl_thumbprint ? { ssl_thumbprint: args.ssl_thumbprint } : {}),
                  },
                }
              : { publish_info: { published: args.published, authentication_method: 'NONE' } }),
          })
          return { id, name: args.name, type, created: true }
        }),
    }),
    delete_library: defineFunction({
      doc: 'Delete a content library and its items: {name, id, deleted: True}.',
      args: () => ({ name: libraryArg() }),
      run: (ctx, { name }) =>
        withLibraries(ctx, async (c) => {
          const library = await libraryNamed(c, name)
          await c.deleteLibrary(library)
          return { name: library.name, id: library.id, deleted: true }
        }),
    }),
    sync_library: defineFunction({
      doc: 'Sync a subscribed library with its publisher: {name, id, synced: True, last_sync_time}.',
      args: () => ({ name: libraryArg() }),
      run: (ctx, { name }) =>
        withLibraries(ctx, async (c) => {
          const library = await libraryNamed(c, name)
          if (library.type !== 'SUBSCRIBED')
            throw new ModuleError(
              `content library '${library.name}' is ${library.type}, not subscribed: only a subscribed library syncs`,
              { code: 'BRINE_ARGUMENT' },
            )
          await c.syncLibrary(library.id)
          const after = await c.getLibrary(library.id)
          return {
            name: library.name,
            id: library.id,
            synced: true,
            last_sync_time: after.last_sync_time ?? null,
          }
        }),
    }),
    list_items: defineFunction({
      doc: 'The items of a content library (type= ovf, iso, vm-template to filter).',
      args: () => ({
        library: libraryArg(),
        type: z.string().min(1).optional().describe('only this type'),
      }),
      run: (ctx, { library, type }) =>
        withLibraries(ctx, async (c) => {
          const lib = await libraryNamed(c, library)
          return (await c.listItems(lib.id))
            .filter((i) => !type || i.type === type)
            .map((i) => describeItem(i, lib))
            .sort((a, b) => a.name.localeCompare(b.name))
        }),
    }),
    get_item: defineFunction({
      doc: 'One library item with its files (name, size, checksum).',
      args: () => ({ library: libraryArg(), name: itemArg() }),
      run: (ctx, { library, name }) =>
        withLibraries(ctx, async (c) => {
          const lib = await libraryNamed(c, library)
          const item = await itemNamed(c, lib, name)
          return {
            ...describeItem(item, lib),
            files: (await c.listFiles(item.id)).map(describeFile),
          }
        }),
    }),
    upload_item: defineFunction({
      doc:
        'Upload a local file into a new library item through an update session: an OVF (with ' +
        'the disks its descriptor references next to it), an OVA (its files), or an ISO. Each ' +
        'file is announced with its size and SHA-1 checksum, and vCenter validates both before ' +
        'the session completes; a failed upload leaves no item. {id, name, type, size, files}.',
      args: () => ({
        library: libraryArg(),
        name: z.string().min(1).describe('the new item’s name'),
        path: z.string().min(1).describe('.ovf, .ova or .iso file on this machine'),
        description: z.string().default(''),
        type: z
          .enum(['ovf', 'iso'])
          .optional()
          .describe('item type (default: from the file extension)'),
      }),
      run: (ctx, args) =>
        withLibraries(ctx, async (c) => {
          const type = args.type ?? itemTypeOf(args.path)
          if (!type)
            throw new ModuleError(
              `${ctx.fun}: cannot tell the item type of '${args.path}': give type=ovf or type=iso`,
              { code: 'BRINE_ARGUMENT' },
            )
          const lib = await libraryNamed(c, args.library)
          if (lib.type !== 'LOCAL')
            throw new ModuleError(
              `content library '${lib.name}' is subscribed: items are uploaded to its publisher`,
              { code: 'BRINE_ARGUMENT' },
            )
          if (await findItem(c, lib, args.name))
            throw new ModuleError(
              `item '${args.name}' exists already in content library '${lib.name}'`,
              { code: 'BRINE_VAPI_EXISTS' },
            )
          const pkg = await readLocalPackage(args.path, type, ctx.fun)
          try {
            const id = await c.createItem({
              library_id: lib.id,
              name: args.name,
              description: args.description,
              type,
            })
            let sent = 0
            await c
              .uploadFiles(id, pkg.files, {
                signal: ctx.signal,
                onFile: () =>
                  ctx.progress(
                    Math.round((++sent * 100) / pkg.files.length),
                    `uploading ${args.name}`,
                  ),
              })
              .catch(async (error: unknown) => {
                await c.deleteItem(id).catch(() => {})
                throw error
              })
            const item = await c.getItem(id)
            return {
              ...describeItem(item, lib),
              files: (await c.listFiles(id)).map(describeFile),
            }
          } finally {
            await pkg.dispose()
          }
        }),
    }),
    delete_item: defineFunction({
      doc: 'Delete a library item: {name, id, library, deleted: True}.',
      args: () => ({ library: libraryArg(), name: itemArg() }),
      run: (ctx, { library, name }) =>
        withLibraries(ctx, async (c) => {
          const lib = await libraryNamed(c, library)
          const item = await itemNamed(c, lib, name)
          await c.deleteItem(item.id)
          return { name: item.name, id: item.id, library: lib.name, deleted: true }
        }),
    }),
    create_template_item: defineFunction({
      doc:
        'Capture a VM as a VM-template item of a local library (vCenter clones it into a ' +
        'template kept by the library): {id, name, library, type: vm-template}.',
      args: () => ({
        library: libraryArg(),
        name: z.string().min(1).describe('the new item’s name'),
        vm_name: names.vm.describe('the VM to capture'),
        description: z.string().default(''),
        ...placementArgs(),
      }),
      run: (ctx, args) =>
        withLibraries(ctx, async (c) => {
          const lib = await libraryNamed(c, args.library)
          if (await findItem(c, lib, args.name))
            throw new ModuleError(
              `item '${args.name}' exists already in content library '${lib.name}'`,
              { code: 'BRINE_VAPI_EXISTS' },
            )
          const vm = await findInDatacenter(
            ctx,
            ENTITY_TYPES.vm,
            args.vm_name,
            args.datacenter,
            [],
            {
              path: true,
            },
          )
          const where = await deployPlacement(ctx, {
            ...args,
            datacenter: args.datacenter ?? vm.path?.split('/')[1],
          })
          const id = await c.createTemplate({
            name: args.name,
            description: args.description,
            library: lib.id,
            source_vm: vm.obj.value,
            placement: {
              folder: where.folder.value,
              resource_pool: where.pool.value,
              ...(where.host ? { host: where.host.value } : {}),
            },
            ...(where.datastore
              ? {
                  vm_home_storage: { datastore: where.datastore.value },
                  disk_storage: { datastore: where.datastore.value },
                }
              : {}),
          })
          return { id, name: args.name, library: lib.name, type: 'vm-template' }
        }),
    }),
    deploy: defineFunction({
      doc:
        'Deploy a VM from a library item, OVF or VM template: name, placement (datacenter, ' +
        'folder, cluster/host/pool, datastore), networks={OVF network: vSphere network} for ' +
        'OVF items, then guest customization (customization_spec= a spec stored in vCenter, ' +
        'or customization=) while the VM is off, then power_on. {deployed: True, name, id, ' +
        'item, library, power_state, customized}.',
      args: () => ({
        library: libraryArg(),
        item: itemArg(),
        name: z.string().min(1).describe('the new VM’s name'),
        ...placementArgs(),
        networks: z
          .record(z.string(), z.string())
          .optional()
          .describe('{OVF network name: vSphere network or port group name or id} (OVF items)'),
        disk_provisioning: z.enum(['thin', 'thick', 'eagerZeroedThick']).optional(),
        power_on: z.boolean().default(false).describe('power the VM on (after customization)'),
        ...customizationArgs(),
      }),
      run: (ctx, args) =>
        withLibraries(ctx, async (c) => {
          const lib = await libraryNamed(c, args.library)
          const item = await itemNamed(c, lib, args.item)
          if (item.type !== 'ovf' && item.type !== 'vm-template')
            throw new ModuleError(
              `item '${item.name}' is of type '${item.type ?? ''}': only ovf and vm-template items deploy as VMs`,
              { code: 'BRINE_ARGUMENT' },
            )
          if (
            await findEntityByName(ctx.serviceInstance, ENTITY_TYPES.vm, args.name, {
              signal: ctx.signal,
            })
          )
            throw new ModuleError(`a VM named '${args.name}' already exists`, {
              code: 'BRINE_VIM_DUPLICATE_NAME',
            })
          // Read before deploying: a bad spec name fails before any VM is made.
          const spec = await resolveCustomization(ctx, args)
          const where = await deployPlacement(ctx, args)
          let vm: ManagedObjectReference
          if (item.type === 'ovf') {
            const id = await c.deployOvf(item.id, {
              deployment_spec: {
                name: args.name,
                accept_all_EULA: true,
                network_mappings: await networkMappings(ctx, where.dc, args.networks),
                ...(args.disk_provisioning ? { storage_provisioning: args.disk_provisioning } : {}),
                ...(where.datastore ? { default_datastore_id: where.datastore.value } : {}),
              },
              target: {
                resource_pool_id: where.pool.value,
                folder_id: where.folder.value,
                ...(where.host ? { host_id: where.host.value } : {}),
              },
            })
            vm = { type: 'VirtualMachine', value: id }
          } else {
            if (args.networks)
              throw new ModuleError(
                `${ctx.fun}: networks= maps OVF networks; a VM template keeps its NICs' networks (change them with vmware_vm afterwards)`,
                { code: 'BRINE_ARGUMENT' },
              )
            const id = await c.deployTemplate(item.id, {
              name: args.name,
              placement: {
                folder: where.folder.value,
                resource_pool: where.pool.value,
                ...(where.host ? { host: where.host.value } : {}),
                ...(where.cluster && !where.host ? { cluster: where.cluster.value } : {}),
              },
              ...(where.datastore
                ? {
                    vm_home_storage: { datastore: where.datastore.value },
                    disk_storage: { datastore: where.datastore.value },
                  }
                : {}),
              powered_on: false,
            })
            vm = { type: 'VirtualMachine', value: id }
          }
          if (spec)
            await customizeVm(ctx, vm, spec, args.name).catch(
              (error: Error & { code?: string }) => {
                throw new ModuleError(
                  `VM '${args.name}' (${vm.value}) was deployed, but customizing it failed: ${error.message}. It is left powered off: customize it again with a spec that fits, or delete it.`,
                  { code: error.code ?? 'BRINE_VIM_TASK_FAILED', cause: error },
                )
              },
            )
          if (args.power_on) {
            const what = `powering on VM '${args.name}'`
            await runTask(
              ctx.serviceInstance,
              what,
              'PowerOnVM_Task',
              { _this: vm },
              {
                signal: ctx.signal,
              },
            )
          }
          return {
            deployed: true,
            ...(await vmInfo(ctx, vm)),
            item: item.name,
            library: lib.name,
            customized: spec !== undefined,
            ...(spec
              ? {
                  customization: await reportCustomization(
                    ctx,
                    vm,
                    args.name,
                    args.power_on,
                    args.customization_timeout,
                  ),
                }
              : {}),
          }
        }),
    }),
  },
})
