import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import { ENTITY_TYPES, EntityNotFoundError } from 'brine/vsphere'
import { diff } from '../modules/_vmware.ts'
import { filtersSchema, metadataSchema } from '../modules/vmware_query.ts'
import { bootArgs } from '../modules/vmware_vm.ts'

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

const vm = {
  name: z.string().min(1).describe('the VM name'),
  datacenter: z.string().min(1).describe('datacenter name or id'),
}

export default defineModule({
  doc: 'Virtual machines, idempotently: existence and size, power state, snapshots.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the VM exists (created empty, or cloned from `template`) with the given CPU, memory and annotation.',
      args: {
        ...vm,
        template: z
          .union([
            z.string(),
            z
              .object({ filters: filtersSchema.default({}), metadata: metadataSchema.default([]) })
              .strict(),
          ])
          .optional()
          .describe(
            'template (or VM) to clone when creating: a name, or a query {filters, metadata} (see vmware_query.search) that must pick one',
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
      },
      run: async (ctx, args) => {
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
        } = args
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
          const changes = {
            vm: {
              old: null,
              new: {
                name,
                ...(templateName ? { template: templateName } : {}),
                ...given,
                ...(is_template ? { is_template } : {}),
                ...(attributes ? { attributes } : {}),
                ...(tags ? { tags } : {}),
              },
            },
          }
          if (ctx.test)
            return {
              name,
              result: null,
              changes,
              comment: `VM '${name}' would be created${templateName ? ` from '${templateName}'` : ''}.`,
            }
          if (templateName) {
            await ctx.salt('vmware_vm.clone', {
              name,
              source: templateRef,
              datacenter,
              folder,
              cluster,
              pool,
              datastore,
            })
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
          if (is_template) await ctx.salt('vmware_vm.mark_as_template', { name })
          await syncMetadata(ctx, name, attributes, tags, false)
          return { name, result: true, changes, comment: `VM '${name}' created.` }
        }
        const changes: Record<string, { old: unknown; new: unknown }> = diff(
          current as unknown as Record<string, unknown>,
          wanted,
        )
        const makeTemplate = is_template && !current.template
        if (makeTemplate) changes.template = { old: false, new: true }
        Object.assign(changes, await syncMetadata(ctx, current.id, attributes, tags, true))
        if (!Object.keys(changes).length)
          return { name, result: true, changes: {}, comment: `VM '${name}' is already as wanted.` }
        if (ctx.test)
          return { name, result: null, changes, comment: `VM '${name}' would be reconfigured.` }
        const sizes = Object.entries(changes).filter(([key]) =>
          ['num_cpu', 'memory_mb', 'annotation'].includes(key),
        )
        if (sizes.length)
          await ctx.salt('vmware_vm.reconfigure', {
            name: current.id,
            ...Object.fromEntries(sizes.map(([k, v]) => [k, v.new])),
          })
        if (makeTemplate) await ctx.salt('vmware_vm.mark_as_template', { name: current.id })
        await syncMetadata(ctx, current.id, attributes, tags, false)
        return { name, result: true, changes, comment: `VM '${name}' reconfigured.` }
      },
    }),
    absent: defineFunction({
      doc: 'Make sure the VM does not exist (powering it off first).',
      args: { name: vm.name },
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
      args: {
        name: vm.name,
        // `state` is a reserved low-data key in Salt, hence `power`. YAML 1.1 reads an unquoted
        // on/off as a boolean: take it as meant.
        power: z
          .preprocess(
            (v) => (v === true ? 'on' : v === false ? 'off' : v),
            z.enum(['on', 'off', 'suspend']),
          )
          .describe('wanted state'),
      },
      run: async (ctx, { name, power: state }) => {
        const current = await lookup(ctx, name)
        if (!current)
          return { name, result: false, changes: {}, comment: `VM '${name}' not found.` }
        const want = { on: 'poweredOn', off: 'poweredOff', suspend: 'suspended' }[state]
        if (current.power_state === want)
          return { name, result: true, changes: {}, comment: `VM '${name}' is already ${want}.` }
        const changes = { power_state: { old: current.power_state, new: want } }
        if (ctx.test)
          return { name, result: null, changes, comment: `VM '${name}' would be ${want}.` }
        await ctx.salt('vmware_vm.power_state', { name: current.id, state })
        return { name, result: true, changes, comment: `VM '${name}' is now ${want}.` }
      },
    }),
    snapshot_present: defineFunction({
      doc: 'Make sure the VM has a snapshot of this name.',
      args: {
        name: vm.name,
        snapshot: z.string().min(1).describe('snapshot name'),
        description: z.string().default('').describe('description'),
      },
      run: async (ctx, { name, snapshot, description }) => {
        const tree = (await ctx.salt('vmware_vm.list_snapshots', { name })) as Array<{
          name: string
          children: unknown[]
        }>
        const names = (nodes: Array<{ name: string; children: unknown[] }>): string[] =>
          nodes.flatMap((n) => [n.name, ...names(n.children as never)])
        if (names(tree).includes(snapshot))
          return {
            name,
            result: true,
            changes: {},
            comment: `Snapshot '${snapshot}' of VM '${name}' is already present.`,
          }
        const changes = { snapshot: { old: null, new: snapshot } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Snapshot '${snapshot}' of VM '${name}' would be created.`,
          }
        await ctx.salt('vmware_vm.create_snapshot', { name, snapshot, description })
        return {
          name,
          result: true,
          changes,
          comment: `Snapshot '${snapshot}' of VM '${name}' created.`,
        }
      },
    }),
    snapshot_absent: defineFunction({
      doc: 'Make sure the VM has no snapshot of this name.',
      args: { name: vm.name, snapshot: z.string().min(1).describe('snapshot name') },
      run: async (ctx, { name, snapshot }) => {
        const tree = (await ctx.salt('vmware_vm.list_snapshots', { name })) as Array<{
          name: string
          children: unknown[]
        }>
        const names = (nodes: Array<{ name: string; children: unknown[] }>): string[] =>
          nodes.flatMap((n) => [n.name, ...names(n.children as never)])
        if (!names(tree).includes(snapshot))
          return {
            name,
            result: true,
            changes: {},
            comment: `Snapshot '${snapshot}' of VM '${name}' does not exist.`,
          }
        const changes = { snapshot: { old: snapshot, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Snapshot '${snapshot}' of VM '${name}' would be removed.`,
          }
        await ctx.salt('vmware_vm.remove_snapshot', { name, snapshot })
        return {
          name,
          result: true,
          changes,
          comment: `Snapshot '${snapshot}' of VM '${name}' removed.`,
        }
      },
    }),
    set_boot_manager: defineFunction({
      doc: 'Make the VM’s boot order and boot options as stated (saltext-vmware’s name).',
      args: {
        name: z.string().min(1).describe('VM name or id'),
        datacenter: z.string().optional(),
        ...bootArgs,
      },
      run: async (ctx, { name, datacenter, ...wanted }) => {
        const current = (await ctx.salt('vmware_vm.boot_options', { name, datacenter })) as Record<
          string,
          unknown
        >
        const changes = diff(current, wanted)
        if (Object.keys(changes).length === 0)
          return {
            name,
            result: true,
            changes: {},
            comment: `Boot options of VM '${name}' are as stated.`,
          }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Boot options of VM '${name}' would change.`,
          }
        await ctx.salt('vmware_vm.boot_manager', { name, datacenter, ...wanted })
        return { name, result: true, changes, comment: `Boot options of VM '${name}' changed.` }
      },
    }),
  },
})
