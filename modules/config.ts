import { defineFunction, defineModule, lookupValue as lookupPath, z } from 'brine/loader'

/** `saltext.vmware:host` → `BRINE_SALTEXT_VMWARE_HOST`. */
export function envName(key: string, delimiter: string): string {
  return `BRINE_${key
    .split(delimiter)
    .join('_')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase()}`
}

export default defineModule({
  doc: 'Read configuration with precedence: environment, then options (config file), then pillar.',
  functions: {
    get: defineFunction({
      doc: 'Return a configuration value. The environment variable BRINE_<KEY> (path parts joined by _, upper case) wins, then the config file, then pillar.',
      args: () => ({
        key: z.string().describe('the path, e.g. log_level or saltext.vmware:host'),
        default: z
          .unknown()
          .optional()
          .describe('returned when nothing has the key (default: empty string)'),
        delimiter: z.string().default(':').describe('path separator'),
      }),
      run: (ctx, { key, default: fallback, delimiter }) => {
        const fromEnv = process.env[envName(key, delimiter)]
        if (fromEnv !== undefined) return fromEnv
        return (
          lookupPath(ctx.opts, key, delimiter) ??
          lookupPath(ctx.pillar, key, delimiter) ??
          fallback ??
          ''
        )
      },
    }),
  },
})
