import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import { callVim, ENTITY_TYPES, getEntity, retrieveObjectProperties } from 'brine/vsphere'

interface FieldDef {
  key: number
  name: string
  managedObjectType?: string
}

async function definitions(ctx: CallContext): Promise<FieldDef[]> {
  const si = ctx.serviceInstance
  const manager = si.content.customFieldsManager
  if (!manager)
    throw new ModuleError(
      'this endpoint has no CustomFieldsManager (custom attributes need vCenter)',
      { code: 'BRINE_UNSUPPORTED' },
    )
  const props = await retrieveObjectProperties(si, manager, ['field'], { signal: ctx.signal })
  return ((props.field as FieldDef[] | undefined) ?? []).map((f) => ({
    key: Number(f.key),
    name: String(f.name),
    managedObjectType: f.managedObjectType,
  }))
}

async function definition(ctx: CallContext, name: string): Promise<FieldDef> {
  const found = (await definitions(ctx)).find((f) => f.name === name)
  if (!found)
    throw new ModuleError(`custom attribute '${name}' is not defined`, { code: 'BRINE_NOT_FOUND' })
  return found
}

const objectArgs = {
  object_type: z
    .enum(Object.keys(ENTITY_TYPES) as [keyof typeof ENTITY_TYPES])
    .describe('vm, host, cluster, datacenter, …'),
  object: z.string().min(1).describe('object name or id'),
}

export default defineModule({
  doc: 'Custom attributes: definitions (list, add, remove, rename) and values on objects.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List attribute definitions: name, key, object type (none: global).',
      args: () => ({}),
      run: async (ctx) =>
        (await definitions(ctx))
          .map((f) => ({ name: f.name, key: f.key, object_type: f.managedObjectType ?? null }))
          .sort((a, b) => a.name.localeCompare(b.name)),
    }),
    add: defineFunction({
      doc: 'Define an attribute (for one object type, e.g. VirtualMachine, or for all).',
      args: () => ({
        name: z.string().min(1).describe('attribute name'),
        object_type: z.string().optional().describe('managed object type, e.g. VirtualMachine'),
      }),
      run: async (ctx, { name, object_type }) => {
        const si = ctx.serviceInstance
        const def = await callVim<FieldDef>(
          si,
          `defining custom attribute '${name}'`,
          'AddCustomFieldDef',
          { _this: si.content.customFieldsManager, name, moType: object_type },
        )
        return { name, key: Number(def.key) }
      },
    }),
    remove: defineFunction({
      doc: 'Remove an attribute definition (and its values everywhere).',
      args: () => ({ name: z.string().min(1).describe('attribute name') }),
      run: async (ctx, { name }) => {
        const si = ctx.serviceInstance
        const def = await definition(ctx, name)
        await callVim(si, `removing custom attribute '${name}'`, 'RemoveCustomFieldDef', {
          _this: si.content.customFieldsManager,
          key: def.key,
        })
        return { name, removed: true }
      },
    }),
    rename: defineFunction({
      doc: 'Rename an attribute definition.',
      args: () => ({
        name: z.string().min(1).describe('attribute name'),
        new_name: z.string().min(1).describe('new name'),
      }),
      run: async (ctx, { name, new_name }) => {
        const si = ctx.serviceInstance
        const def = await definition(ctx, name)
        await callVim(si, `renaming custom attribute '${name}'`, 'RenameCustomFieldDef', {
          _this: si.content.customFieldsManager,
          key: def.key,
          name: new_name,
        })
        return { name: new_name, key: def.key }
      },
    }),
    set: defineFunction({
      doc: 'Set an attribute’s value on an object.',
      args: () => ({
        name: z.string().min(1).describe('attribute name'),
        value: z.coerce.string().describe('the value'),
        ...objectArgs,
      }),
      run: async (ctx, { name, value, object_type, object }) => {
        const si = ctx.serviceInstance
        const def = await definition(ctx, name)
        const entity = await getEntity(si, ENTITY_TYPES[object_type], object, {
          signal: ctx.signal,
        })
        await callVim(si, `setting custom attribute '${name}' on '${entity.name}'`, 'SetField', {
          _this: si.content.customFieldsManager,
          entity: entity.obj,
          key: def.key,
          value,
        })
        return { name, value, object: entity.name }
      },
    }),
    get: defineFunction({
      doc: 'The attribute values of an object: {name: value}.',
      args: () => objectArgs,
      run: async (ctx, { object_type, object }) => {
        const si = ctx.serviceInstance
        const entity = await getEntity(si, ENTITY_TYPES[object_type], object, {
          props: ['customValue'],
          signal: ctx.signal,
        })
        const defs = new Map((await definitions(ctx)).map((d) => [d.key, d.name]))
        const values =
          (entity.props.customValue as Array<{ key: number; value?: string }> | undefined) ?? []
        return Object.fromEntries(
          values.map((v) => [defs.get(Number(v.key)) ?? String(v.key), v.value ?? '']),
        )
      },
    }),
  },
})
