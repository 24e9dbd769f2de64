import { defineFunction, defineModule, lookupValue as lookupPath, z } from 'brine/loader'

export default defineModule({
  doc: 'Read pillar data, as Salt’s pillar module.',
  functions: {
    get: defineFunction({
      doc: 'Return a pillar value by a colon-separated path (a:b:c), or the default.',
      args: () => ({
        key: z.string().describe('the path, e.g. saltext.vmware:host'),
        default: z
          .unknown()
          .optional()
          .describe('returned when the key is missing (default: empty string)'),
        delimiter: z.string().default(':').describe('path separator'),
      }),
      run: (ctx, { key, default: fallback, delimiter }) =>
        lookupPath(ctx.pillar, key, delimiter) ?? fallback ?? '',
    }),
    items: defineFunction({
      doc: 'Return the whole compiled pillar.',
      args: () => ({}),
      run: (ctx) => ctx.pillar,
    }),
    raw: defineFunction({
      doc: 'Return the pillar as held in memory, or one top-level key of it.',
      args: () => ({ key: z.string().optional().describe('a top-level key') }),
      run: (ctx, { key }) => (key === undefined ? ctx.pillar : (ctx.pillar[key] ?? {})),
    }),
  },
})
