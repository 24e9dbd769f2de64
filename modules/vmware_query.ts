import { type CallContext, defineFunction, defineModule, lazy, z } from 'brine/loader'
import {
  createTaggingClient,
  SEARCHABLE,
  type SearchOptions,
  search,
  searchOne,
  type TaggingClient,
} from 'brine/vsphere'

export const filtersSchema = lazy(() =>
  z
    .object({
      name: z.string().optional().describe('regex on the name'),
      date: z
        .string()
        .optional()
        .describe('e.g. "> 2020-02-02" (creation, else last change; boot time for hosts)'),
      latest: z.boolean().optional().describe('keep the newest match'),
      earliest: z.boolean().optional().describe('keep the oldest match'),
      ip: z.string().optional().describe('exact IP address'),
      parent: z.string().optional().describe('inventory path to search in, e.g. DC0/vm/web'),
      power_state: z.string().optional().describe('poweredOn, poweredOff, suspended, …'),
    })
    .strict(),
)

export const metadataSchema = lazy(() =>
  z.array(
    z
      .object({
        key: z.string().min(1).describe('custom attribute or tag category name'),
        value: z.string().optional().describe('regex on the value (tag name for tags)'),
        type: z.enum(['attribute', 'tag']).default('attribute'),
        global: z
          .boolean()
          .optional()
          .describe('attributes: global (true) or for this type (false)'),
      })
      .strict(),
  ),
)

/**
 * Search with a tagging session opened only if a tag filter needs one (and always closed):
 * shared by vmware_query and the modules that accept a query instead of a name.
 */
export async function runSearch(
  ctx: CallContext,
  type: string,
  options: Omit<SearchOptions, 'tagging' | 'signal'>,
  one = false,
) {
  const si = ctx.serviceInstance
  let client: TaggingClient | undefined
  try {
    const full: SearchOptions = {
      ...options,
      signal: ctx.signal,
      tagging: async () => {
        client ??= await createTaggingClient(si)
        return client
      },
    }
    if (!one) return await search(si, type, full)
    return { items: [await searchOne(si, type, full)], explanation: undefined }
  } finally {
    await client?.close()
  }
}

export default defineModule({
  doc: 'Search the inventory by filters and metadata, with an explanation of every decision.',
  functions: {
    search: defineFunction({
      doc:
        'Objects of a type matching all filters (name regex, date comparison, latest/earliest, ' +
        'ip, parent path, power_state) and metadata filters (custom attributes and tags): ' +
        '{items, count, explanation}.',
      args: () => ({
        type: z
          .enum(Object.keys(SEARCHABLE) as [string, ...string[]])
          .describe(
            'vm, template, host, cluster, datacenter, datastore, folder, network, resourcepool',
          ),
        filters: filtersSchema()
          .default({})
          .describe('{name, date, latest, earliest, ip, parent, power_state}'),
        metadata: metadataSchema()
          .default([])
          .describe('[{key, value, type: attribute|tag, global}]'),
        strategy: z
          .enum(['auto', 'client', 'server'])
          .default('auto')
          .describe('where filters run'),
        explain: z.boolean().default(true).describe('include the explanation'),
      }),
      vsphere: true,
      run: async (ctx, { type, filters, metadata, strategy, explain }) => {
        const result = await runSearch(ctx, type, { filters, metadata, strategy })
        return {
          items: result.items,
          count: result.items.length,
          ...(explain ? { explanation: result.explanation } : {}),
        }
      },
    }),
    types: defineFunction({
      doc: 'The searchable types and what each can be filtered on.',
      args: () => ({}),
      vsphere: false,
      run: () =>
        Object.fromEntries(
          Object.entries(SEARCHABLE).map(([name, t]) => [
            name,
            {
              managed_object: t.vimType,
              date: t.date ?? null,
              power_state: Boolean(t.powerState),
              ip: Boolean(t.ip),
            },
          ]),
        ),
    }),
  },
})
