import { defineFunction, defineModule, z } from 'brine/loader'
import { type Category, EntityNotFoundError, type Tag } from 'brine/vsphere'
import { stateReturn } from '../modules/_vmware.ts'
import type vmware_tag from '../modules/vmware_tag.ts'
import { either, withTagging } from '../modules/vmware_tag.ts'
import { predicted } from './_predicted.ts'

/**
 * saltext-vmware's tag states (src/saltext/vmware/states/tag.py): present, absent,
 * present_category, absent_category, with its comments ("tag exists", "created", "{name} tag
 * will be created", …). brine's names (tag_present, tag_absent, category_present) are the same
 * functions. Unlike saltext: only what the SLS gives is compared (a description left out is
 * not "cleared"), a tag is found within its category when one is given, changes are
 * `{old, new}` in test mode too, and a dry run fails what it can see would fail (a category
 * that does not exist, and that no earlier state of the dry run creates).
 */

const sameTypes = (a: string[], b: string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())

function findCategory(categories: Category[], nameOrId: string) {
  return categories.find((c) => c.id === nameOrId) ?? categories.find((c) => c.name === nameOrId)
}

const present = defineFunction({
  doc: 'Make sure a tag exists (saltext: present; brine: tag_present), in category_id when given.',
  args: () => ({
    name: z.string().min(1).describe('tag name'),
    description: z.string().optional().describe('description (left out: not compared)'),
    category_id: z.string().min(1).optional().describe('category id or name (alias: category)'),
    category: z.string().min(1).optional().describe('alias of category_id'),
  }),
  run: (ctx, { name, description, ...args }) =>
    withTagging(ctx, async (c) => {
      const wanted = either(ctx.fun, ['category_id', args.category_id], ['category', args.category])
      const [categories, tags] = await Promise.all([c.listCategories(), c.listTags()])
      const cat = wanted ? findCategory(categories, wanted) : undefined
      if (wanted && !cat) {
        const fromEarlier = ctx.test && predicted(ctx, 'tag category').includes(wanted)
        if (!fromEarlier)
          return stateReturn(
            name,
            false,
            `Category '${wanted}' does not exist; tag '${name}' cannot be created in it. Create the category first (vmware_tag.present_category).`,
          )
        predicted(ctx, 'tag').push(`${wanted}/${name}`)
        return stateReturn(
          name,
          null,
          `${name} tag will be created (category '${wanted}' is created by an earlier state of this dry run)`,
          { old: null, new: { name, category: wanted, description: description ?? '' } },
        )
      }
      const candidates = tags.filter((t) => t.name === name && (!cat || t.category_id === cat.id))
      if (candidates.length > 1)
        return stateReturn(
          name,
          false,
          `Tag name '${name}' is in ${candidates.length} categories; give category_id to say which.`,
        )
      const found = candidates[0]
      if (found) {
        if (description === undefined || description === found.description)
          return stateReturn(name, true, 'tag exists')
        const changes = { old: { description: found.description }, new: { description } }
        if (ctx.test) return stateReturn(name, null, `${name} tag will be updated`, changes)
        await c.updateTag(found.id, { description })
        return stateReturn(name, true, 'updated', changes)
      }
      if (!cat) return stateReturn(name, false, 'category_id required to create a tag')
      const created = { name, category: cat.name, description: description ?? '' }
      if (ctx.test) {
        predicted(ctx, 'tag').push(`${cat.name}/${name}`)
        return stateReturn(name, null, `${name} tag will be created`, { old: null, new: created })
      }
      const id = await c.createTag({ name, category_id: cat.id, description: description ?? '' })
      return stateReturn(name, true, 'created', { tag_id: id, old: null, new: created })
    }),
})

const absent = defineFunction({
  doc: 'Make sure a tag does not exist (saltext: absent; brine: tag_absent), in category when given.',
  args: () => ({
    name: z.string().min(1).describe('tag name'),
    category: z.string().min(1).optional().describe('category name or id'),
  }),
  run: (ctx, { name, category }) =>
    withTagging(ctx, async (c) => {
      const [categories, tags] = await Promise.all([c.listCategories(), c.listTags()])
      const cat = category ? findCategory(categories, category) : undefined
      const candidates: Tag[] =
        category && !cat
          ? []
          : tags.filter((t) => t.name === name && (!cat || t.category_id === cat.id))
      if (candidates.length > 1)
        return stateReturn(
          name,
          false,
          `Tag name '${name}' is in ${candidates.length} categories; give category to say which.`,
        )
      const found = candidates[0]
      if (!found) return stateReturn(name, true, 'Tag does not exist')
      const old = {
        name: found.name,
        category: findCategory(categories, found.category_id)?.name ?? found.category_id,
        description: found.description,
      }
      const changes = { old, new: null }
      if (ctx.test) return stateReturn(name, null, `${name} tag will be deleted`, changes)
      await c.deleteTag(found.id)
      return stateReturn(name, true, 'deleted', changes)
    }),
})

const presentCategory = defineFunction({
  doc:
    'Make sure a category exists with the given types, cardinality and description (saltext: ' +
    'present_category; brine: category_present). What is left out is not compared; a new ' +
    "category gets SINGLE, all types and '' for what is left out.",
  args: () => ({
    name: z.string().min(1).describe('category name'),
    associable_types: z.array(z.string()).optional().describe('object types (empty: all)'),
    cardinality: z.enum(['SINGLE', 'MULTIPLE']).optional().describe('tags per object'),
    description: z.string().optional().describe('description'),
  }),
  run: (ctx, { name, associable_types, cardinality, description }) =>
    withTagging(ctx, async (c) => {
      const found = (await c.listCategories()).find((cat) => cat.name === name)
      if (found) {
        const old: Record<string, unknown> = {}
        const next: Record<string, unknown> = {}
        if (associable_types && !sameTypes(associable_types, found.associable_types ?? [])) {
          old.associable_types = found.associable_types
          next.associable_types = associable_types
        }
        if (cardinality && cardinality !== found.cardinality) {
          old.cardinality = found.cardinality
          next.cardinality = cardinality
        }
        if (description !== undefined && description !== found.description) {
          old.description = found.description
          next.description = description
        }
        if (!Object.keys(next).length) return stateReturn(name, true, 'category exists')
        const changes = { old, new: next }
        if (ctx.test) return stateReturn(name, null, `${name} category will be updated`, changes)
        await c.updateCategory(found.id, next)
        return stateReturn(name, true, 'updated', changes)
      }
      const spec = {
        name,
        associable_types: associable_types ?? [],
        cardinality: cardinality ?? ('SINGLE' as const),
        description: description ?? '',
      }
      if (ctx.test) {
        predicted(ctx, 'tag category').push(name)
        return stateReturn(name, null, `${name} category will be created`, { old: null, new: spec })
      }
      const id = await c.createCategory(spec)
      return stateReturn(name, true, 'created', { category_id: id, old: null, new: spec })
    }),
})

const absentCategory = defineFunction({
  doc: 'Make sure a category (and so its tags) does not exist.',
  args: () => ({ name: z.string().min(1).describe('category name') }),
  run: (ctx, { name }) =>
    withTagging(ctx, async (c) => {
      const found = (await c.listCategories()).find((cat) => cat.name === name)
      if (!found) return stateReturn(name, true, 'Category does not exist')
      const changes = {
        old: {
          name: found.name,
          associable_types: found.associable_types,
          cardinality: found.cardinality,
          description: found.description,
        },
        new: null,
      }
      if (ctx.test) return stateReturn(name, null, `${name} category will be deleted`, changes)
      await c.deleteCategory(found.id)
      return stateReturn(name, true, 'deleted', changes)
    }),
})

export default defineModule({
  doc: 'Tag categories, tags and tag assignments, idempotently.',
  vsphere: true,
  functions: {
    present,
    absent,
    present_category: presentCategory,
    absent_category: absentCategory,
    tag_present: present,
    tag_absent: absent,
    category_present: presentCategory,
    category_absent: absentCategory,
    attached: defineFunction({
      doc: 'Make sure an object carries a tag.',
      args: () => ({
        name: z.string().min(1).describe('object name or id'),
        object_type: z.string().min(1).describe('vm, host, cluster, datacenter, …'),
        tag: z.string().min(1).describe('tag name'),
        category: z.string().min(1).describe('category name'),
      }),
      run: async (ctx, { name, object_type, tag, category }) => {
        const attached = await ctx
          .module<typeof vmware_tag>('vmware_tag')
          .list_attached({ object_type, object: name })
          .catch((error: unknown) => {
            // A VM an earlier state of this dry run would create carries no tags yet.
            if (
              ctx.test &&
              error instanceof EntityNotFoundError &&
              object_type === 'vm' &&
              predicted(ctx, 'vm').includes(name)
            )
              return []
            throw error
          })
        if (attached.some((a) => a.category === category && a.tag === tag))
          return stateReturn(name, true, `'${name}' already has tag '${category}/${tag}'.`)
        const exists = await withTagging(ctx, async (c) => {
          const cat = findCategory(await c.listCategories(), category)
          return (
            !!cat && (await c.listTags()).some((t) => t.category_id === cat.id && t.name === tag)
          )
        })
        if (!exists && !(ctx.test && predicted(ctx, 'tag').includes(`${category}/${tag}`)))
          return stateReturn(
            name,
            false,
            `Tag '${category}/${tag}' does not exist; it cannot be attached to '${name}'.`,
          )
        const changes = {
          tags: {
            old: attached.map((a) => `${a.category}/${a.tag}`),
            new: [...attached.map((a) => `${a.category}/${a.tag}`), `${category}/${tag}`],
          },
        }
        if (ctx.test)
          return stateReturn(
            name,
            null,
            `Tag '${category}/${tag}' would be attached to '${name}'.`,
            changes,
          )
        await ctx.salt('vmware_tag.attach', { name: tag, category, object_type, object: name })
        return stateReturn(name, true, `Tag '${category}/${tag}' attached to '${name}'.`, changes)
      },
    }),
  },
})
