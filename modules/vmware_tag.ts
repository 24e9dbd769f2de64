import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  type Category,
  createTaggingClient,
  ENTITY_TYPES,
  getEntity,
  type Tag,
  type TaggingClient,
} from 'brine/vsphere'

/**
 * saltext-vmware's `vmware_tag` (its names, positional order and return shapes: ids as
 * strings, 'updated', 'deleted') plus brine's own: a tag or category is named by id or name,
 * a tag within its category; listings with names; attach, detach, list_attached.
 */

type TagUpdate = Parameters<TaggingClient['updateTag']>[1]
type CategoryUpdate = Parameters<TaggingClient['updateCategory']>[1]

/**
 * Run `fn` with a tagging client on the session's vAPI REST session (one login per vSphere
 * session, shared with content libraries, logged out when that session ends).
 */
export async function withTagging<T>(
  ctx: CallContext,
  fn: (client: TaggingClient) => Promise<T>,
): Promise<T> {
  return fn(await createTaggingClient(ctx.serviceInstance))
}

/**
 * One value given under saltext's name or brine's alias (both: they must agree). `required`
 * names the argument in the error when neither is given.
 */
export function either<T>(
  fun: string,
  [name, value]: [string, T | undefined],
  [alias, aliasValue]: [string, T | undefined],
  required: true,
): T
export function either<T>(
  fun: string,
  primary: [string, T | undefined],
  secondary: [string, T | undefined],
  required?: false,
): T | undefined
export function either<T>(
  fun: string,
  [name, value]: [string, T | undefined],
  [alias, aliasValue]: [string, T | undefined],
  required = false,
): T | undefined {
  if (value !== undefined && aliasValue !== undefined && value !== aliasValue)
    throw new ModuleError(
      `${fun}: '${name}' (${JSON.stringify(value)}) and its alias '${alias}' (${JSON.stringify(aliasValue)}) disagree; give one of them`,
      { code: 'BRINE_ARGUMENT' },
    )
  const chosen = value ?? aliasValue
  if (chosen === undefined && required)
    throw new ModuleError(`${fun}: argument '${name}' is required (or its alias '${alias}')`, {
      code: 'BRINE_ARGUMENT',
    })
  return chosen
}

export async function categoryNamed(client: TaggingClient, name: string): Promise<Category> {
  const found = (await client.listCategories()).find((c) => c.id === name || c.name === name)
  if (!found) throw new ModuleError(`tag category '${name}' not found`, { code: 'BRINE_NOT_FOUND' })
  return found
}

/** A tag by id, or by name (within `category` when given; a name in two categories needs it). */
export async function tagNamed(
  client: TaggingClient,
  name: string,
  category?: string,
): Promise<Tag> {
  const cat = category ? await categoryNamed(client, category) : undefined
  const tags = (await client.listTags()).filter((t) => !cat || t.category_id === cat.id)
  const byId = tags.find((t) => t.id === name)
  if (byId) return byId
  const named = tags.filter((t) => t.name === name)
  if (named.length > 1)
    throw new ModuleError(
      `tag name '${name}' is in ${named.length} categories; give category= (name or id)`,
      { code: 'BRINE_ARGUMENT' },
    )
  if (!named[0])
    throw new ModuleError(
      cat ? `tag '${name}' not found in category '${cat.name}'` : `tag '${name}' not found`,
      { code: 'BRINE_NOT_FOUND' },
    )
  return named[0]
}

const OBJECT_TYPES: Record<string, string> = { ...ENTITY_TYPES }
const objectArgs = {
  object_type: z
    .enum(Object.keys(ENTITY_TYPES) as [keyof typeof ENTITY_TYPES])
    .describe('vm, host, cluster, datacenter, datastore, folder, resourcepool, …'),
  object: z.string().min(1).describe('object name or id'),
}

const tagOnObjectArgs = {
  name: z.string().min(1).describe('tag name or id'),
  category: z.string().min(1).describe('category name or id'),
  ...objectArgs,
}

async function setAttached(
  ctx: CallContext,
  {
    name,
    category,
    object_type,
    object,
  }: { name: string; category: string; object_type: keyof typeof ENTITY_TYPES; object: string },
  attach: boolean,
) {
  const obj = await objectRef(ctx, object_type, object)
  return withTagging(ctx, async (c) => {
    const tag = await tagNamed(c, name, category)
    await (attach ? c.attach(tag.id, obj) : c.detach(tag.id, obj))
    return { tag: tag.name, object: obj.value, attached: attach }
  })
}

async function objectRef(ctx: CallContext, type: string, name: string) {
  return (await getEntity(ctx.serviceInstance, OBJECT_TYPES[type]!, name, { signal: ctx.signal }))
    .obj
}

const cardinality = z.enum(['SINGLE', 'MULTIPLE'])

/** Tags with their category's name, sorted by category then name. */
async function tagRows(c: TaggingClient, category: string | undefined) {
  const categories = await c.listCategories()
  const only = category ? await categoryNamed(c, category) : undefined
  return (await c.listTags())
    .filter((t) => !only || t.category_id === only.id)
    .map((t) => ({
      name: t.name,
      id: t.id,
      category: categories.find((cat) => cat.id === t.category_id)?.name ?? t.category_id,
      category_id: t.category_id,
      description: t.description,
    }))
    .sort((a, b) => `${a.category}/${a.name}`.localeCompare(`${b.category}/${b.name}`))
}

export default defineModule({
  doc: 'Tags and tag categories (vSphere Automation REST API: /rest before vSphere 7.0, /api from 7.0).',
  vsphere: true,
  functions: {
    // saltext-vmware's functions (src/saltext/vmware/modules/tag.py), its order and shapes.
    create: defineFunction({
      doc: 'Create a tag in a category; returns its id (saltext). brine: category by name too.',
      args: () => ({
        tag_name: z.string().min(1).optional().describe('tag name (alias: name)'),
        category_id: z.string().min(1).optional().describe('category id or name (alias: category)'),
        description: z.string().default('').describe('description'),
        name: z.string().min(1).optional().describe('alias of tag_name'),
        category: z.string().min(1).optional().describe('alias of category_id'),
      }),
      run: (ctx, args) => {
        const name = either(ctx.fun, ['tag_name', args.tag_name], ['name', args.name], true)
        const category = either(
          ctx.fun,
          ['category_id', args.category_id],
          ['category', args.category],
          true,
        )
        return withTagging(ctx, async (c) => {
          const cat = await categoryNamed(c, category)
          return c.createTag({ name, category_id: cat.id, description: args.description })
        })
      },
    }),
    get: defineFunction({
      doc: "A tag's {id, name, description, category_id, …} (saltext); by id, or by name.",
      args: () => ({
        tag_id: z.string().min(1).describe('tag id (or name)'),
        category: z.string().min(1).optional().describe('category, for a tag named'),
      }),
      run: (ctx, { tag_id, category }) => withTagging(ctx, (c) => tagNamed(c, tag_id, category)),
    }),
    update: defineFunction({
      doc: "Rename a tag or change its description: 'updated' (saltext).",
      args: () => ({
        tag_id: z.string().min(1).describe('tag id (or name)'),
        tag_name: z.string().min(1).optional().describe('new name'),
        description: z.string().optional().describe('new description'),
        category: z.string().min(1).optional().describe('category, for a tag named'),
      }),
      run: (ctx, { tag_id, tag_name, description, category }) =>
        withTagging(ctx, async (c) => {
          const tag = await tagNamed(c, tag_id, category)
          const spec: TagUpdate = {}
          if (tag_name) spec.name = tag_name
          if (description !== undefined) spec.description = description
          await c.updateTag(tag.id, spec)
          return 'updated'
        }),
    }),
    delete: defineFunction({
      doc: "Delete a tag: 'deleted' (saltext). By id, or by name (within category=).",
      args: () => ({
        tag_id: z.string().min(1).optional().describe('tag id or name (alias: name)'),
        category: z.string().min(1).optional().describe('category name or id, for a tag named'),
        name: z.string().min(1).optional().describe('alias of tag_id'),
      }),
      run: (ctx, args) => {
        const id = either(ctx.fun, ['tag_id', args.tag_id], ['name', args.name], true)
        return withTagging(ctx, async (c) => {
          await c.deleteTag((await tagNamed(c, id, args.category)).id)
          return 'deleted'
        })
      },
    }),
    list: defineFunction({
      doc: 'Tag ids (saltext); of one category when given (brine).',
      args: () => ({ category: z.string().optional().describe('category name or id') }),
      run: (ctx, { category }) =>
        withTagging(ctx, async (c) => (await tagRows(c, category)).map((t) => t.id)),
    }),
    list_category: defineFunction({
      doc: 'Category ids (saltext).',
      args: () => ({}),
      run: (ctx) => withTagging(ctx, async (c) => (await c.listCategories()).map((cat) => cat.id)),
    }),
    get_category: defineFunction({
      doc: "A category's {id, name, description, cardinality, associable_types, …} (saltext).",
      args: () => ({ category_id: z.string().min(1).describe('category id (or name)') }),
      run: (ctx, { category_id }) => withTagging(ctx, (c) => categoryNamed(c, category_id)),
    }),
    create_category: defineFunction({
      doc: 'Create a category; returns its id (saltext).',
      args: () => ({
        category_name: z.string().min(1).optional().describe('category name (alias: name)'),
        associable_types: z
          .array(z.string())
          .default([])
          .describe('object types the tags may be put on (empty: all)'),
        cardinality: cardinality.default('SINGLE').describe('tags per object from this category'),
        description: z.string().default('').describe('description'),
        name: z.string().min(1).optional().describe('alias of category_name'),
      }),
      run: (ctx, { category_name, name, ...spec }) => {
        const chosen = either(ctx.fun, ['category_name', category_name], ['name', name], true)
        return withTagging(ctx, (c) => c.createCategory({ name: chosen, ...spec }))
      },
    }),
    update_category: defineFunction({
      doc: "Change a category's name, types, cardinality or description: 'updated' (saltext).",
      args: () => ({
        category_id: z.string().min(1).describe('category id (or name)'),
        category_name: z.string().min(1).optional().describe('new name'),
        associable_types: z.array(z.string()).optional().describe('object types'),
        cardinality: cardinality.optional().describe('SINGLE or MULTIPLE'),
        // saltext's default '' means "unchanged" there too (it sends only a non-empty one).
        description: z.string().default('').describe('new description ("" leaves it)'),
      }),
      run: (ctx, { category_id, category_name, associable_types, cardinality, description }) =>
        withTagging(ctx, async (c) => {
          const cat = await categoryNamed(c, category_id)
          const spec: CategoryUpdate = {}
          if (category_name) spec.name = category_name
          if (associable_types?.length) spec.associable_types = associable_types
          if (cardinality) spec.cardinality = cardinality
          if (description) spec.description = description
          await c.updateCategory(cat.id, spec)
          return 'updated'
        }),
    }),
    delete_category: defineFunction({
      doc: "Delete a category and its tags: 'deleted' (saltext).",
      args: () => ({
        category_id: z.string().min(1).optional().describe('category id or name (alias: name)'),
        name: z.string().min(1).optional().describe('alias of category_id'),
      }),
      run: (ctx, args) => {
        const id = either(ctx.fun, ['category_id', args.category_id], ['name', args.name], true)
        return withTagging(ctx, async (c) => {
          await c.deleteCategory((await categoryNamed(c, id)).id)
          return 'deleted'
        })
      },
    }),

    // brine's own.
    list_categories: defineFunction({
      doc: 'List categories: name, id, cardinality, associable types, description.',
      args: () => ({}),
      run: (ctx) =>
        withTagging(ctx, async (c) =>
          (await c.listCategories()).sort((a, b) => a.name.localeCompare(b.name)),
        ),
    }),
    list_tags: defineFunction({
      doc: 'List tags (of one category when given): name, id, category, category_id, description.',
      args: () => ({ category: z.string().optional().describe('category name or id') }),
      run: (ctx, { category }) => withTagging(ctx, (c) => tagRows(c, category)),
    }),
    attach: defineFunction({
      doc: 'Attach a tag to an object.',
      args: () => tagOnObjectArgs,
      run: (ctx, args) => setAttached(ctx, args, true),
    }),
    detach: defineFunction({
      doc: 'Detach a tag from an object.',
      args: () => tagOnObjectArgs,
      run: (ctx, args) => setAttached(ctx, args, false),
    }),
    list_attached: defineFunction({
      doc: 'The tags on an object: [{category, tag}].',
      args: () => objectArgs,
      run: async (ctx, { object_type, object }) => {
        const obj = await objectRef(ctx, object_type, object)
        return withTagging(ctx, async (c) => {
          const ids = await c.attachedTags(obj)
          const [tags, categories] = await Promise.all([c.listTags(), c.listCategories()])
          return ids
            .map((id) => tags.find((t) => t.id === id))
            .filter((t): t is Tag => t !== undefined)
            .map((t) => ({
              category: categories.find((cat) => cat.id === t.category_id)?.name ?? t.category_id,
              tag: t.name,
            }))
            .sort((a, b) => `${a.category}/${a.tag}`.localeCompare(`${b.category}/${b.tag}`))
        })
      },
    }),
  },
})
