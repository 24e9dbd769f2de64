import { defineFunction, defineModule, z } from 'brine/loader'

type Row = { name: string; id: string; category?: string }

export default defineModule({
  doc: 'Tag categories, tags and tag assignments, idempotently.',
  functions: {
    category_present: defineFunction({
      doc: 'Make sure a category exists.',
      args: {
        name: z.string().min(1).describe('category name'),
        cardinality: z.enum(['SINGLE', 'MULTIPLE']).default('SINGLE').describe('tags per object'),
        description: z.string().default('').describe('description'),
      },
      vsphere: true,
      run: async (ctx, { name, cardinality, description }) => {
        const categories = (await ctx.salt('vmware_tag.list_categories')) as Row[]
        if (categories.some((c) => c.name === name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Category '${name}' is already present.`,
          }
        const changes = { category: { old: null, new: name } }
        if (ctx.test)
          return { name, result: null, changes, comment: `Category '${name}' would be created.` }
        await ctx.salt('vmware_tag.create_category', { name, cardinality, description })
        return { name, result: true, changes, comment: `Category '${name}' created.` }
      },
    }),
    tag_present: defineFunction({
      doc: 'Make sure a tag exists in a category.',
      args: {
        name: z.string().min(1).describe('tag name'),
        category: z.string().min(1).describe('category name'),
        description: z.string().default('').describe('description'),
      },
      vsphere: true,
      run: async (ctx, { name, category, description }) => {
        const tags = (await ctx.salt('vmware_tag.list')) as Row[]
        if (tags.some((t) => t.name === name && t.category === category))
          return {
            name,
            result: true,
            changes: {},
            comment: `Tag '${category}/${name}' is already present.`,
          }
        const changes = { tag: { old: null, new: `${category}/${name}` } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Tag '${category}/${name}' would be created.`,
          }
        await ctx.salt('vmware_tag.create', { name, category, description })
        return { name, result: true, changes, comment: `Tag '${category}/${name}' created.` }
      },
    }),
    tag_absent: defineFunction({
      doc: 'Make sure a tag does not exist.',
      args: {
        name: z.string().min(1).describe('tag name'),
        category: z.string().min(1).describe('category name'),
      },
      vsphere: true,
      run: async (ctx, { name, category }) => {
        const tags = (await ctx.salt('vmware_tag.list')) as Row[]
        if (!tags.some((t) => t.name === name && t.category === category))
          return {
            name,
            result: true,
            changes: {},
            comment: `Tag '${category}/${name}' does not exist.`,
          }
        const changes = { tag: { old: `${category}/${name}`, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Tag '${category}/${name}' would be deleted.`,
          }
        await ctx.salt('vmware_tag.delete', { name, category })
        return { name, result: true, changes, comment: `Tag '${category}/${name}' deleted.` }
      },
    }),
    attached: defineFunction({
      doc: 'Make sure an object carries a tag.',
      args: {
        name: z.string().min(1).describe('object name or id'),
        object_type: z.string().min(1).describe('vm, host, cluster, datacenter, …'),
        tag: z.string().min(1).describe('tag name'),
        category: z.string().min(1).describe('category name'),
      },
      vsphere: true,
      run: async (ctx, { name, object_type, tag, category }) => {
        const attached = (await ctx.salt('vmware_tag.list_attached', {
          object_type,
          object: name,
        })) as Array<{ category: string; tag: string }>
        if (attached.some((a) => a.category === category && a.tag === tag))
          return {
            name,
            result: true,
            changes: {},
            comment: `'${name}' already has tag '${category}/${tag}'.`,
          }
        const changes = {
          tags: {
            old: attached.map((a) => `${a.category}/${a.tag}`),
            new: [...attached.map((a) => `${a.category}/${a.tag}`), `${category}/${tag}`],
          },
        }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Tag '${category}/${tag}' would be attached to '${name}'.`,
          }
        await ctx.salt('vmware_tag.attach', { name: tag, category, object_type, object: name })
        return {
          name,
          result: true,
          changes,
          comment: `Tag '${category}/${tag}' attached to '${name}'.`,
        }
      },
    }),
  },
})
