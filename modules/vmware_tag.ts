import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  type Category,
  createTaggingClient,
  ENTITY_TYPES,
  getEntity,
  type Tag,
  type TaggingClient,
} from 'brine/vsphere'
import { connected } from './_vmware.ts'

/** Run `fn` with a REST tagging session, always closed afterwards. */
async function withTagging<T>(
  ctx: CallContext,
  fn: (client: TaggingClient) => Promise<T>,
): Promise<T> {
  const client = await createTaggingClient(await connected(ctx))
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

async function categoryNamed(client: TaggingClient, name: string): Promise<Category> {
  const found = (await client.listCategories()).find((c) => c.name === name || c.id === name)
  if (!found) throw new ModuleError(`tag category '${name}' not found`, { code: 'BRINE_NOT_FOUND' })
  return found
}

async function tagNamed(client: TaggingClient, name: string, category: string): Promise<Tag> {
  const cat = await categoryNamed(client, category)
  const found = (await client.listTags()).find(
    (t) => t.category_id === cat.id && (t.name === name || t.id === name),
  )
  if (!found)
    throw new ModuleError(`tag '${name}' not found in category '${cat.name}'`, {
      code: 'BRINE_NOT_FOUND',
    })
  return found
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
  return (await getEntity(await connected(ctx), OBJECT_TYPES[type]!, name, { signal: ctx.signal }))
    .obj
}

export default defineModule({
  doc: 'Tags and tag categories (vSphere Automation REST API: /rest before vSphere 7.0, /api from 7.0).',
  functions: {
    list_categories: defineFunction({
      doc: 'List categories: name, id, cardinality, associable types, description.',
      args: {},
      vsphere: true,
      run: (ctx) =>
        withTagging(ctx, async (c) =>
          (await c.listCategories()).sort((a, b) => a.name.localeCompare(b.name)),
        ),
    }),
    create_category: defineFunction({
      doc: 'Create a category.',
      args: {
        name: z.string().min(1).describe('category name'),
        cardinality: z
          .enum(['SINGLE', 'MULTIPLE'])
          .default('SINGLE')
          .describe('tags per object from this category'),
        associable_types: z
          .array(z.string())
          .default([])
          .describe('object types the tags may be put on (empty: all)'),
        description: z.string().default('').describe('description'),
      },
      vsphere: true,
      run: (ctx, spec) =>
        withTagging(ctx, async (c) => ({ name: spec.name, id: await c.createCategory(spec) })),
    }),
    delete_category: defineFunction({
      doc: 'Delete a category and its tags.',
      args: { name: z.string().min(1).describe('category name or id') },
      vsphere: true,
      run: (ctx, { name }) =>
        withTagging(ctx, async (c) => {
          const cat = await categoryNamed(c, name)
          await c.deleteCategory(cat.id)
          return { name: cat.name, id: cat.id, deleted: true }
        }),
    }),
    list: defineFunction({
      doc: 'List tags (of one category when given): name, id, category, description.',
      args: { category: z.string().optional().describe('category name or id') },
      vsphere: true,
      run: (ctx, { category }) =>
        withTagging(ctx, async (c) => {
          const categories = await c.listCategories()
          const only = category ? await categoryNamed(c, category) : undefined
          return (await c.listTags())
            .filter((t) => !only || t.category_id === only.id)
            .map((t) => ({
              name: t.name,
              id: t.id,
              category: categories.find((cat) => cat.id === t.category_id)?.name ?? t.category_id,
              description: t.description,
            }))
            .sort((a, b) => `${a.category}/${a.name}`.localeCompare(`${b.category}/${b.name}`))
        }),
    }),
    create: defineFunction({
      doc: 'Create a tag in a category.',
      args: {
        name: z.string().min(1).describe('tag name'),
        category: z.string().min(1).describe('category name or id'),
        description: z.string().default('').describe('description'),
      },
      vsphere: true,
      run: (ctx, { name, category, description }) =>
        withTagging(ctx, async (c) => {
          const cat = await categoryNamed(c, category)
          return {
            name,
            id: await c.createTag({ name, category_id: cat.id, description }),
            category: cat.name,
          }
        }),
    }),
    delete: defineFunction({
      doc: 'Delete a tag.',
      args: {
        name: z.string().min(1).describe('tag name or id'),
        category: z.string().min(1).describe('category name or id'),
      },
      vsphere: true,
      run: (ctx, { name, category }) =>
        withTagging(ctx, async (c) => {
          const tag = await tagNamed(c, name, category)
          await c.deleteTag(tag.id)
          return { name: tag.name, id: tag.id, deleted: true }
        }),
    }),
    attach: defineFunction({
      doc: 'Attach a tag to an object.',
      args: tagOnObjectArgs,
      vsphere: true,
      run: (ctx, args) => setAttached(ctx, args, true),
    }),
    detach: defineFunction({
      doc: 'Detach a tag from an object.',
      args: tagOnObjectArgs,
      vsphere: true,
      run: (ctx, args) => setAttached(ctx, args, false),
    }),
    list_attached: defineFunction({
      doc: 'The tags on an object: [{category, tag}].',
      args: objectArgs,
      vsphere: true,
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
