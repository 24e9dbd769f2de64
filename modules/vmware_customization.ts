import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import { callVim, ENTITY_TYPES, runTask } from 'brine/vsphere'
import {
  buildCustomizationSpec,
  type Customization,
  customizationFields,
  describeCustomizationSpec,
  getStoredSpec,
  listStoredSpecs,
  resolveCustomization,
  specManager,
} from './_customization.ts'
import { awaitCustomization, customizationOutcome } from './_customization_events.ts'
import { aliased, findInDatacenter, names, requiredAliased } from './_vmware.ts'

const specName = z.string().min(1).describe('customization spec name')

type Raw = Record<string, unknown>

function describeInfo(info: Raw) {
  return {
    name: String(info.name),
    description: String(info.description ?? ''),
    type: String(info.type ?? ''),
    change_version: info.changeVersion === undefined ? null : String(info.changeVersion),
    last_update_time:
      info.lastUpdateTime instanceof Date
        ? info.lastUpdateTime.toISOString()
        : info.lastUpdateTime === undefined
          ? null
          : String(info.lastUpdateTime),
  }
}

/** A stored spec in brine's terms: its info and its customization (secrets left out). */
function describeItem(item: Raw) {
  return {
    ...describeInfo((item.info ?? {}) as Raw),
    ...describeCustomizationSpec(item.spec),
  }
}

/** The VM a customization function acts on (saltext's vm_name, brine's name). */
const vmArgs = {
  vm_name: names.vm.optional(),
  datacenter_name: names.datacenter.optional(),
  name: names.vm.optional().describe('alias of vm_name'),
  datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
}

export default defineModule({
  doc: 'Guest customization specs stored in vCenter (CustomizationSpecManager), and customizing a VM.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'The stored customization specs: name, description, type (Linux or Windows), change_version, last_update_time.',
      args: () => ({}),
      run: async (ctx) =>
        (await listStoredSpecs(ctx)).map(describeInfo).sort((a, b) => a.name.localeCompare(b.name)),
    }),
    get: defineFunction({
      doc:
        'One stored spec in the argument model ({linux | windows, nics, dns_servers, ' +
        'dns_suffixes}) with its info; passwords and the product key are never shown ' +
        '(admin_password_set, domain_password_set, product_key_set say whether there is one).',
      args: () => ({ name: specName }),
      run: async (ctx, { name }) => {
        const item = await getStoredSpec(ctx, name)
        if (!item)
          throw new ModuleError(
            `customization spec '${name}' not found: vmware_customization.list shows the stored ones`,
            { code: 'BRINE_NOT_FOUND' },
          )
        return describeItem(item)
      },
    }),
    create: defineFunction({
      doc:
        'Store a customization spec built from arguments: linux={hostname, domain, time_zone, ' +
        'hw_clock_utc} or windows={computer_name, full_name, org_name, product_key, ' +
        'admin_password, time_zone, workgroup | join_domain + domain_user + domain_password, ' +
        'run_once}, with nics=[{ip, netmask, gateway} | {dhcp: True}] (default: one adapter ' +
        'by DHCP), dns_servers and dns_suffixes. A name already taken is refused ' +
        '(BRINE_VIM_ALREADY_EXISTS) unless overwrite=True.',
      args: () => ({
        name: specName,
        ...customizationFields(),
        description: z.string().default('').describe('description'),
        overwrite: z.boolean().default(false).describe('replace a spec of this name'),
      }),
      run: async (ctx, { name, description, overwrite, ...fields }) => {
        const spec = buildCustomizationSpec(fields as Customization)
        const existing = overwrite ? await getStoredSpec(ctx, name) : undefined
        const info = (existing?.info ?? {}) as Raw
        // CustomizationSpecItem > CustomizationSpecInfo, WSDL order.
        const item = {
          info: {
            name,
            description,
            type: fields.windows ? 'Windows' : 'Linux',
            changeVersion: existing ? info.changeVersion : undefined,
          },
          spec,
        }
        await callVim(
          ctx.serviceInstance,
          `${existing ? 'overwriting' : 'creating'} customization spec '${name}'`,
          existing ? 'OverwriteCustomizationSpec' : 'CreateCustomizationSpec',
          { _this: specManager(ctx), item },
          { signal: ctx.signal },
        )
        const stored = await getStoredSpec(ctx, name)
        return {
          ...describeItem(stored ?? item),
          created: !existing,
          overwritten: Boolean(existing),
        }
      },
    }),
    delete: defineFunction({
      doc: 'Delete a stored customization spec; a missing one is BRINE_VIM_NOT_FOUND.',
      args: () => ({ name: specName }),
      run: async (ctx, { name }) => {
        await callVim(
          ctx.serviceInstance,
          `deleting customization spec '${name}'`,
          'DeleteCustomizationSpec',
          { _this: specManager(ctx), name },
          { signal: ctx.signal },
        )
        return { name, deleted: true }
      },
    }),
    apply: defineFunction({
      doc:
        'Customize an existing, powered-off VM (CustomizeVM_Task) from a stored spec ' +
        '(customization_spec=) or arguments (customization=): it runs in the guest at the next ' +
        'power-on; vmware_customization.status then tells how it went.',
      args: () => ({
        ...vmArgs,
        customization_spec: z.string().min(1).optional().describe('stored spec name'),
        customization: z
          .object(customizationFields())
          .strict()
          .optional()
          .describe(
            'customization from arguments: {linux | windows, nics, dns_servers, dns_suffixes}',
          ),
      }),
      run: async (ctx, args) => {
        const name = requiredAliased({ vm_name: args.vm_name, name: args.name })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const spec = await resolveCustomization(ctx, args)
        if (!spec)
          throw new ModuleError(
            'vmware_customization.apply needs customization_spec= or customization=',
            { code: 'BRINE_ARGUMENT' },
          )
        const vm = await findInDatacenter(ctx, ENTITY_TYPES.vm, name, datacenter)
        await runTask(
          ctx.serviceInstance,
          `customizing VM '${vm.name}'`,
          'CustomizeVM_Task',
          { _this: vm.obj, spec },
          { signal: ctx.signal, onProgress: (p) => ctx.progress(p, `customizing VM '${vm.name}'`) },
        )
        return { name: vm.name, id: vm.obj.value, customization: 'pending' }
      },
    }),
    wait: defineFunction({
      doc:
        'Wait, at most timeout seconds, until the guest of a powered-on VM has finished its ' +
        'customization; a failure is an error (BRINE_VIM_CUSTOMIZATION_FAILED) with vCenter’s ' +
        'event message. Answers vmware_customization.status’s fields.',
      args: () => ({
        ...vmArgs,
        timeout: z.coerce.number().int().min(0).default(1800).describe('seconds to wait at most'),
      }),
      run: async (ctx, args) => {
        const name = requiredAliased({ vm_name: args.vm_name, name: args.name })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const vm = await findInDatacenter(ctx, ENTITY_TYPES.vm, name, datacenter)
        return { name: vm.name, ...(await awaitCustomization(ctx, vm.obj, vm.name, args.timeout)) }
      },
    }),
    status: defineFunction({
      doc:
        'How the latest guest customization of a VM went, from vCenter’s events: status none, ' +
        'running, succeeded or failed, with the deciding event’s type, message and guest log location.',
      args: () => vmArgs,
      run: async (ctx, args) => {
        const name = requiredAliased({ vm_name: args.vm_name, name: args.name })
        const datacenter = aliased({
          datacenter_name: args.datacenter_name,
          datacenter: args.datacenter,
        })
        const vm = await findInDatacenter(ctx, ENTITY_TYPES.vm, name, datacenter, [
          'config.tools.pendingCustomization',
        ])
        const pending = vm.props['config.tools.pendingCustomization']
        return {
          name: vm.name,
          pending: typeof pending === 'string' && pending !== '',
          ...(await customizationOutcome(ctx, vm.obj)),
        }
      },
    }),
  },
})
