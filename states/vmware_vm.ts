import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import { ENTITY_TYPES, EntityNotFoundError } from 'brine/vsphere'
import { customizationArgs, customizationChange } from '../modules/_customization.ts'
import { aliased, diff, requiredAliased } from '../modules/_vmware.ts'
import { filtersSchema, metadataSchema } from '../modules/vmware_query.ts'
import { bootArgs } from '../modules/vmware_vm.ts'
import { predicted } from './_predicted.ts'
import { hardwareArgs, hardwareGiven, planHardware } from './_vm_hardware.ts'
import { waitForIpArg, withWaitForIp } from './_vm_wait.ts'

interface VmInfo {
  name: string
  id: string
  template: boolean
  power_state: string
  num_cpu: number
  memory_mb: number
  annotation: string
}

/** The VM (in `datacenter` when given), or undefined when there is none of that name. */
async function lookup(
  ctx: CallContext,
  name: string,
  datacenter?: string,
): Promise<VmInfo | undefined> {
  try {
    return (await ctx.salt('vmware_vm.info', { name, datacenter })) as VmInfo
  } catch (error) {
    // Only the VM may be missing: a missing datacenter stays an error.
    if (error instanceof EntityNotFoundError && error.entityType === ENTITY_TYPES.vm)
      return undefined
    throw error
  }
}

/**
 * Bring custom attributes and tags of a VM to what is wanted. With `dryRun`, only report the
 * changes (`attributes`/`tags` as {old, new}).
 */
async function syncMetadata(
  ctx: CallContext,
  vmName: string,
  attributes: Record<string, string> | undefined,
  tags: string[] | undefined,
  dryRun: boolean,
): Promise<Record<string, { old: unknown; new: unknown }>> {
  const changes: Record<string, { old: unknown; new: unknown }> = {}
  if (attributes && Object.keys(attributes).length) {
    const current = (await ctx.salt('vmware_custom_attribute.get', {
      object_type: 'vm',
      object: vmName,
    })) as Record<string, string>
    const differing = Object.entries(attributes).filter(([key, value]) => current[key] !== value)
    if (differing.length) {
      changes.attributes = {
        old: Object.fromEntries(differing.map(([k]) => [k, current[k] ?? null])),
        new: Object.fromEntries(differing),
      }
      if (!dryRun) {
        const defined = new Set(
          ((await ctx.salt('vmware_custom_attribute.list')) as Array<{ name: string }>).map(
            (d) => d.name,
          ),
        )
        for (const [key, value] of differing) {
          if (!defined.has(key))
            await ctx.salt('vmware_custom_attribute.add', {
              name: key,
              object_type: 'VirtualMachine',
            })
          await ctx.salt('vmware_custom_attribute.set', {
            name: key,
            value,
            object_type: 'vm',
            object: vmName,
          })
        }
      }
    }
  }
  if (tags?.length) {
    const attached = (
      (await ctx.salt('vmware_tag.list_attached', { object_type: 'vm', object: vmName })) as Array<{
        category: string
        tag: string
      }>
    ).map((a) => `${a.category}/${a.tag}`)
    const missing = tags.filter((t) => !attached.includes(t))
    if (missing.length) {
      changes.tags = { old: attached, new: [...attached, ...missing] }
      if (!dryRun) {
        for (const tag of missing) {
          const [category, name] = tag.split('/') as [string, string]
          await ctx.salt('vmware_tag.attach', { name, category, object_type: 'vm', object: vmName })
        }
      }
    }
  }
  return changes
}

/** saltext-vmware's flat snapshot list of a VM (vmware_vm.snapshot). */
async function snapshotsOf(ctx: CallContext, name: string, datacenter?: string) {
  return (await ctx.salt('vmware_vm.snapshot', {
    vm_name: name,
    datacenter_name: datacenter,
  })) as { snapshots: Array<{ name: string; id: number }> }
}

/** The message of a customization that failed in the guest (undefined: it did not); other errors throw. */
async function customizationFailure(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call
    return undefined
  } catch (error) {
    if ((error as { code?: string }).code !== 'BRINE_VIM_CUSTOMIZATION_FAILED') throw error
    return (error as Error).message
  }
}

const vm = {
  name: z.string().min(1).describe('the VM name'),
  datacenter: z.string().min(1).describe('datacenter name or id'),
}

export default defineModule({
  doc: 'Virtual machines, idempotently: existence and size, power state, snapshots.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc:
        'Make sure the VM exists (created empty, or cloned from `template`) with the given CPU, ' +
        'memory and annotation, and the given virtual hardware: disks (grown, never shrunk; ' +
        'controller type for new ones), NICs (network, type), CD/DVD drive (ISO or client ' +
        'device), CPU/memory hot add. Changes a powered-on VM cannot take fail with a comment.',
      args: () => ({
        ...vm,
        template: z
          .union([
            z.string(),
            z
              .object({
                filters: filtersSchema().default({}),
                metadata: metadataSchema().default([]),
              })
              .strict(),
          ])
          .optional()
          .describe(
            'template (or VM) to clone when creating: a name, or a query {filters, metadata} (see vmware_query.search) that must pick one',
          ),
        content_library_item: z
          .object({ library: z.string().min(1), item: z.string().min(1) })
          .strict()
          .optional()
          .describe(
            'instead of template: deploy from this content library item (OVF or VM template) when creating',
          ),
        folder: z.string().optional().describe('vm folder path when creating'),
        cluster: z.string().optional().describe('cluster when creating'),
        pool: z.string().optional().describe('resource pool (in the cluster) when creating'),
        is_template: z
          .boolean()
          .default(false)
          .describe('keep it a template (marked after creation)'),
        datastore: z.string().optional().describe('datastore when creating'),
        num_cpu: z.coerce.number().int().min(1).optional().describe('virtual CPUs'),
        memory_mb: z.coerce.number().int().min(4).optional().describe('memory in MB'),
        annotation: z.string().optional().describe('notes'),
        attributes: z
          .record(z.string(), z.coerce.string())
          .optional()
          .describe(
            'custom attribute values {name: value} (definitions are created for VMs when missing)',
          ),
        tags: z
          .array(z.string().regex(/^[^/]+\/[^/]+$/))
          .optional()
          .describe("tags to carry, as 'category/tag' (others are left alone)"),
        // Guest customization of a VM cloned from `template` (an existing VM is left as it is).
        ...customizationArgs(),
        power_on: z
          .boolean()
          .default(false)
          .describe('power a new VM on (a clone’s customization then runs and is checked)'),
        wait_for_ip: waitForIpArg,
        ...hardwareArgs,
      }),
      run: withWaitForIp(async (ctx, args) => {
        const {
          name,
          datacenter,
          template,
          folder,
          cluster,
          pool,
          datastore,
          num_cpu,
          memory_mb,
          annotation,
          is_template,
          attributes,
          tags,
          customization_spec,
          customization,
          customization_timeout,
          power_on,
          content_library_item: libraryItem,
          disks,
          nics,
          cdrom,
          cpu_hot_add,
          memory_hot_add,
        } = args
        if (libraryItem && template !== undefined)
          return {
            name,
            result: false,
            changes: {},
            comment: `VM '${name}': give template or content_library_item, not both.`,
          }
        const hardware = { disks, nics, cdrom, cpu_hot_add, memory_hot_add }
        const current = await lookup(ctx, name, datacenter)
        // A template query is resolved only when the VM has to be created.
        const source =
          template === undefined || typeof template === 'string' || current
            ? (template as string | undefined)
            : (
                (await ctx.salt('vmware_query.search', {
                  type: 'template',
                  ...template,
                  explain: false,
                })) as { items: Array<{ name: string; id: string }> }
              ).items
        if (Array.isArray(source) && source.length !== 1)
          return {
            name,
            result: false,
            changes: {},
            comment: `The template query for VM '${name}' matches ${source.length ? source.map((t) => t.name).join(', ') : 'no template'}: it must pick exactly one (add latest: True or narrow it).`,
          }
        const templateName = Array.isArray(source) ? source[0]!.name : source
        const templateRef = Array.isArray(source) ? source[0]!.id : source
        const wanted = { num_cpu, memory_mb, annotation }
        const given = Object.fromEntries(Object.entries(wanted).filter(([, v]) => v !== undefined))
        if (!current) {
          const customized = customizationChange({ customization_spec, customization })
          if (customized && !templateName && !libraryItem)
            return {
              name,
              result: false,
              changes: {},
              comment: `VM '${name}': customization needs template= or content_library_item= (a guest is customized when it is cloned or deployed).`,
            }
          const changes = {
            vm: {
              old: null,
              new: {
                name,
                ...(templateName ? { template: templateName } : {}),
                ...(libraryItem ? { content_library_item: libraryItem } : {}),
                ...(customized ? { customization: customized } : {}),
                ...(power_on ? { power_on } : {}),
                ...given,
                ...(is_template ? { is_template } : {}),
                ...(attributes ? { attributes } : {}),
                ...(tags ? { tags } : {}),
                ...hardwareGiven(hardware),
              },
            },
          }
          if (ctx.test) {
            predicted(ctx, 'vm').push(name)
            return {
              name,
              result: null,
              changes,
              comment: `VM '${name}' would be created${templateName ? ` from '${templateName}'` : libraryItem ? ` from library item '${libraryItem.library}/${libraryItem.item}'` : ''}.`,
            }
          }
          // A customization the guest cannot apply: the VM is made, the state fails with why.
          let failed: string | undefined
          // Sized and fitted out before it is first started (its customization runs then).
          const changedFirst =
            Object.keys(given).length > 0 || Object.keys(hardwareGiven(hardware)).length > 0
          // Where the new VM goes and how its guest is customized, whatever it is made from.
          const made = {
            name,
            datacenter,
            folder,
            cluster,
            pool,
            datastore,
            customization_spec,
            customization,
          }
          if (libraryItem) {
            // Deployed powered off and customized; started below, where its customization runs.
            failed = await customizationFailure(
              ctx.salt('vmware_content_library.deploy', { ...libraryItem, ...made }),
            )
            if (Object.keys(given).length)
              await ctx.salt('vmware_vm.reconfigure', { name, ...given })
          } else if (templateName) {
            failed = await customizationFailure(
              ctx.salt('vmware_vm.clone', {
                ...made,
                source: templateRef,
                customization_timeout,
                power_on: power_on && !is_template && !changedFirst,
              }),
            )
            if (Object.keys(given).length)
              await ctx.salt('vmware_vm.reconfigure', { name, ...given })
          } else {
            await ctx.salt('vmware_vm.create', {
              name,
              datacenter,
              folder,
              cluster,
              pool,
              datastore,
              ...given,
            })
          }
          await (await planHardware(ctx, name, hardware)).apply()
          if (is_template) await ctx.salt('vmware_vm.mark_as_template', { name })
          else if (power_on && (!templateName || changedFirst)) {
            // Sized first, then started: its customization runs at this power-on.
            await ctx.salt('vmware_vm.power_state', { name, state: 'on' })
            if (customized)
              failed = await customizationFailure(
                ctx.salt('vmware_customization.wait', { name, timeout: customization_timeout }),
              )
          }
          await syncMetadata(ctx, name, attributes, tags, false)
          if (failed)
            return {
              name,
              result: false,
              changes,
              comment: `VM '${name}' was created, but ${failed}`,
            }
          return { name, result: true, changes, comment: `VM '${name}' created.` }
        }
        const changes: Record<string, { old: unknown; new: unknown }> = diff(
          current as unknown as Record<string, unknown>,
          wanted,
        )
        const makeTemplate = is_template && !current.template
        if (makeTemplate) changes.template = { old: false, new: true }
        Object.assign(changes, await syncMetadata(ctx, current.id, attributes, tags, true))
        // CPU and memory are checked against the hot-add rules only when they change.
        const plan = await planHardware(ctx, current.id, {
          ...hardware,
          ...(changes.num_cpu ? { num_cpu } : {}),
          ...(changes.memory_mb ? { memory_mb } : {}),
        })
        if (plan.refusal) return { name, result: false, changes: {}, comment: plan.refusal }
        if (plan.powered_on && !ctx.test)
          return { name, result: false, changes: {}, comment: plan.powered_on }
        Object.assign(changes, plan.changes)
        if (!Object.keys(changes).length)
          return { name, result: true, changes: {}, comment: `VM '${name}' is already as wanted.` }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `VM '${name}' would be reconfigured.${plan.powered_on ? ` ${plan.powered_on}` : ''}`,
          }
        const sizes = Object.entries(changes).filter(([key]) =>
          ['num_cpu', 'memory_mb', 'annotation'].includes(key),
        )
        if (sizes.length)
          await ctx.salt('vmware_vm.reconfigure', {
            name: current.id,
            ...Object.fromEntries(sizes.map(([k, v]) => [k, v.new])),
          })
        await plan.apply()
        if (makeTemplate) await ctx.salt('vmware_vm.mark_as_template', { name: current.id })
        await syncMetadata(ctx, current.id, attributes, tags, false)
        return { name, result: true, changes, comment: `VM '${name}' reconfigured.` }
      }),
    }),
    absent: defineFunction({
      doc: 'Make sure the VM does not exist (powering it off first).',
      args: () => ({ name: vm.name }),
      run: async (ctx, { name }) => {
        const current = await lookup(ctx, name)
        if (!current)
          return { name, result: true, changes: {}, comment: `VM '${name}' does not exist.` }
        const changes = { vm: { old: name, new: null } }
        if (ctx.test)
          return { name, result: null, changes, comment: `VM '${name}' would be destroyed.` }
        await ctx.salt('vmware_vm.destroy', { name: current.id, force: true })
        return { name, result: true, changes, comment: `VM '${name}' destroyed.` }
      },
    }),
    power_state: defineFunction({
      doc: 'Make sure the VM is on, off or suspended.',
      args: () => ({
        name: vm.name,
        // `state` is a reserved low-data key in Salt, hence `power`. YAML 1.1 reads an unquoted
        // on/off as a boolean: take it as meant.
        power: z
          .preprocess(
            (v) => (v === true ? 'on' : v === false ? 'off' : v),
            z.enum(['on', 'off', 'suspend', 'powered-on', 'powered-off']),
          )
          .describe('wanted state: on (powered-on), off (powered-off) or suspend'),
        wait_for_ip: waitForIpArg,
      }),
      run: withWaitForIp(async (ctx, { name, power }) => {
        // saltext-vmware's module values (vmware_vm.power_state) mean the same here.
        const state = power === 'powered-on' ? 'on' : power === 'powered-off' ? 'off' : power
        const current = await lookup(ctx, name)
        const want = { on: 'poweredOn', off: 'poweredOff', suspend: 'suspended' }[state]
        if (!current && ctx.test && predicted(ctx, 'vm').includes(name))
          return {
            name,
            result: null,
            changes: { power_state: { old: 'poweredOff', new: want } },
            comment: `VM '${name}' would be ${want} (it is created by an earlier state of this dry run).`,
          }
        if (!current)
          return { name, result: false, changes: {}, comment: `VM '${name}' not found.` }
        if (current.power_state === want)
          return { name, result: true, changes: {}, comment: `VM '${name}' is already ${want}.` }
        const changes = { power_state: { old: current.power_state, new: want } }
        if (ctx.test)
          return { name, result: null, changes, comment: `VM '${name}' would be ${want}.` }
        await ctx.salt('vmware_vm.power_state', { name: current.id, state })
        return { name, result: true, changes, comment: `VM '${name}' is now ${want}.` }
      }),
    }),
    snapshot_present: defineFunction({
      doc:
        'saltext-vmware’s snapshot_present(name, snapshot_name, description, include_memory, ' +
        'quiesce, datacenter_name): the VM has a snapshot of this name (created when missing). ' +
        'brine’s snapshot= is the same argument under its older name.',
      args: () => ({
        name: vm.name,
        snapshot_name: z.string().min(1).optional().describe('snapshot name'),
        description: z.string().default('').describe('description'),
        include_memory: z.boolean().default(false).describe('include memory'),
        quiesce: z.boolean().default(false).describe('quiesce the guest file system'),
        datacenter_name: z.string().min(1).optional().describe('datacenter of the VM'),
        snapshot: z.string().min(1).optional().describe('alias of snapshot_name'),
      }),
      run: async (ctx, args) => {
        const { name, description, include_memory, quiesce, datacenter_name } = args
        const snapshot = requiredAliased({
          snapshot_name: args.snapshot_name,
          snapshot: args.snapshot,
        })
        const { snapshots } = await snapshotsOf(ctx, name, datacenter_name)
        // saltext-vmware's comments (states/vm.py snapshot_present), word for word.
        if (snapshots.some((s) => s.name === snapshot))
          return { name, result: true, changes: {}, comment: 'snapshot was already created' }
        const changes = { snapshot: { old: null, new: snapshot } }
        if (ctx.test)
          return { name, result: null, changes, comment: 'These options are set to change.' }
        await ctx.salt('vmware_vm.create_snapshot', {
          vm_name: name,
          snapshot_name: snapshot,
          description,
          include_memory,
          quiesce,
          datacenter_name,
        })
        return { name, result: true, changes, comment: 'created' }
      },
    }),
    snapshot_absent: defineFunction({
      doc:
        'saltext-vmware’s snapshot_absent(name, snapshot_name, snapshot_id, remove_children, ' +
        'datacenter_name): the VM has no snapshot of this name (and id, when given).',
      args: () => ({
        name: vm.name,
        snapshot_name: z.string().min(1).optional().describe('snapshot name'),
        snapshot_id: z.coerce.number().int().optional().describe('snapshot id (a number)'),
        remove_children: z.boolean().default(false).describe('remove its children too'),
        datacenter_name: z.string().min(1).optional().describe('datacenter of the VM'),
        snapshot: z.string().min(1).optional().describe('alias of snapshot_name'),
      }),
      run: async (ctx, args) => {
        const { name, snapshot_id, remove_children, datacenter_name } = args
        const snapshot = requiredAliased({
          snapshot_name: args.snapshot_name,
          snapshot: args.snapshot,
        })
        const { snapshots } = await snapshotsOf(ctx, name, datacenter_name)
        const matching = snapshots.filter(
          (s) => s.name === snapshot && (snapshot_id === undefined || s.id === snapshot_id),
        )
        if (matching.length === 0)
          return {
            name,
            result: true,
            changes: {},
            comment: `Snapshot ${snapshot} doesn't exist`,
          }
        const changes = { snapshot: { old: snapshot, new: null } }
        if (ctx.test) {
          if (matching.length > 1)
            return {
              name,
              result: false,
              changes: {},
              comment: `Snapshot name '${snapshot}' of VM '${name}' is ambiguous: give snapshot_id (${matching.map((s) => s.id).join(', ')})`,
            }
          return { name, result: null, changes, comment: 'These options are set to change.' }
        }
        await ctx.salt('vmware_vm.destroy_snapshot', {
          vm_name: name,
          snapshot_name: snapshot,
          snapshot_id,
          remove_children,
          datacenter_name,
        })
        return { name, result: true, changes, comment: 'destroyed' }
      },
    }),
    set_boot_manager: defineFunction({
      doc:
        'saltext-vmware’s set_boot_manager(name, boot_order, delay, enter_bios_setup, ' +
        'retry_enabled, retry_delay, efi_secure_boot_enabled): the VM’s boot order and options ' +
        'as stated. Only the options the state gives are compared and changed (saltext resets ' +
        'the others to its defaults). brine’s order= is boot_order under its older name.',
      args: () => ({
        name: z.string().min(1).describe('VM name or id'),
        boot_order: bootArgs().order.unwrap().optional(),
        delay: bootArgs().delay.unwrap().optional(),
        enter_bios_setup: bootArgs().enter_bios_setup.unwrap().optional(),
        retry_enabled: bootArgs().retry_enabled.unwrap().optional(),
        retry_delay: bootArgs().retry_delay.unwrap().optional(),
        efi_secure_boot_enabled: bootArgs().efi_secure_boot_enabled.unwrap().optional(),
        datacenter: z.string().optional(),
        order: bootArgs().order.unwrap().optional().describe('alias of boot_order'),
      }),
      run: async (ctx, { name, datacenter, boot_order, order, ...given }) => {
        const wanted = { ...given, order: aliased({ boot_order, order }) }
        const current = (await ctx.salt('vmware_vm.boot_options', { name, datacenter })) as Record<
          string,
          unknown
        >
        const changes = diff(current, wanted)
        // saltext-vmware's comments (states/vm.py set_boot_manager).
        if (Object.keys(changes).length === 0)
          return { name, result: true, changes: {}, comment: 'already configured this way' }
        if (ctx.test)
          return { name, result: null, changes, comment: 'These options are set to change.' }
        // What the state leaves out stays as it is.
        const merged = {
          ...current,
          ...Object.fromEntries(Object.entries(wanted).filter(([, v]) => v !== undefined)),
        }
        const done = (await ctx.salt('vmware_vm.boot_manager', {
          name,
          datacenter,
          order: merged.order,
          delay: merged.delay,
          enter_bios_setup: merged.enter_bios_setup,
          retry_enabled: merged.retry_enabled,
          retry_delay: merged.retry_delay,
          efi_secure_boot_enabled: merged.efi_secure_boot_enabled,
        })) as { status: string }
        return { name, result: true, changes, comment: done.status }
      },
    }),
    relocate: defineFunction({
      doc:
        'saltext-vmware’s relocate(name, new_host_name, datastore_name): the VM runs on that ' +
        'host and uses that datastore (moved when not).',
      args: () => ({
        name: vm.name,
        new_host_name: z.string().min(1).describe('host name or id'),
        datastore_name: z.string().min(1).describe('datastore name or id'),
      }),
      run: async (ctx, { name, new_host_name, datastore_name }) => {
        const current = (await ctx.salt('vmware_vm.location', { vm_name: name })) as {
          host_name: string
          host_id: string
          datastores: Array<{ name: string; id: string }>
        }
        const onHost = [current.host_name, current.host_id].includes(new_host_name)
        const onDatastore = current.datastores.some((d) => [d.name, d.id].includes(datastore_name))
        // saltext-vmware's comments (states/vm.py relocate).
        if (onHost && onDatastore)
          return {
            name,
            result: true,
            changes: {},
            comment: `${name} virtual machine is already on host ${new_host_name}`,
          }
        const changes = {
          ...(onHost ? {} : { host: { old: current.host_name, new: new_host_name } }),
          ...(onDatastore
            ? {}
            : {
                datastore: { old: current.datastores.map((d) => d.name), new: datastore_name },
              }),
        }
        if (ctx.test)
          return { name, result: null, changes, comment: 'These options are set to change.' }
        await ctx.salt('vmware_vm.relocate', {
          vm_name: name,
          new_host_name,
          datastore_name,
        })
        return { name, result: true, changes, comment: 'moved' }
      },
    }),
  },
})
