// Salt's saltutil sync functions (salt/modules/saltutil.py) for brine's custom modules. Salt
// copies salt://_modules and salt://_states into its extension-module cache and returns the
// names it copied (`modules.foo`), then refreshes the loaders when something changed. brine
// loads custom modules straight from `module_dirs` (and the `_states` folder beside each),
// so a sync has nothing to copy: it compares the files with what the last sync saw (a record
// of content hashes in data_dir, as Salt's cache outlives the process), returns the names of
// those added or changed, and reloads the modules when there is any (refresh=True).
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, extname, join } from 'node:path'
import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'

type Kind = 'modules' | 'states'

/** The module kinds sync_all reports, as Salt's; brine has custom modules and states only. */
const ALL_KINDS = [
  'clouds',
  'beacons',
  'modules',
  'states',
  'sdb',
  'grains',
  'renderers',
  'returners',
  'output',
  'utils',
  'log_handlers',
  'executors',
  'proxymodules',
  'engines',
  'thorium',
  'serializers',
  'matchers',
] as const

const SOURCE_EXTENSIONS = new Set(['.ts', '.js', '.mts', '.mjs', '.cjs', '.cts'])

/** Where a kind's custom files live: module_dirs, and `_states` beside each (loader/caller.ts). */
function customDirs(ctx: CallContext, kind: Kind): string[] {
  return kind === 'modules'
    ? ctx.opts.module_dirs
    : ctx.opts.module_dirs.map((dir) => join(dir, '..', '_states'))
}

/** `{name: sha256}` of the custom files of a kind; the first directory holding a name wins. */
function currentFiles(ctx: CallContext, kind: Kind): Record<string, string> {
  const files: Record<string, string> = {}
  for (const dir of customDirs(ctx, kind)) {
    let entries: string[]
    try {
      entries = readdirSync(dir).sort()
    } catch {
      continue
    }
    for (const entry of entries) {
      if (entry.startsWith('_') || entry.startsWith('.') || entry.endsWith('.d.ts')) continue
      if (!SOURCE_EXTENSIONS.has(extname(entry))) continue
      const name = basename(entry, extname(entry))
      if (name in files) continue
      try {
        files[name] = createHash('sha256')
          .update(readFileSync(join(dir, entry)))
          .digest('hex')
      } catch {
        // vanished while listing: not synced
      }
    }
  }
  return files
}

function recordFile(ctx: CallContext): string {
  const dataDir =
    typeof ctx.opts.data_dir === 'string'
      ? ctx.opts.data_dir
      : join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'brine')
  return join(dataDir, 'extmods', 'synced.json')
}

function readRecord(file: string): Record<string, Record<string, string>> {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8'))
    return typeof data === 'object' && data !== null ? data : {}
  } catch {
    return {}
  }
}

function writeRecord(file: string, record: Record<string, Record<string, string>>): void {
  mkdirSync(join(file, '..'), { recursive: true })
  const temporary = `${file}.${process.pid}`
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`)
  renameSync(temporary, file)
}

/**
 * Sync some kinds: the `kind.name` entries added or changed since the last sync, per kind.
 * Names left out by extmod_whitelist/extmod_blacklist are neither reported nor recorded.
 */
async function sync(
  ctx: CallContext,
  kinds: Kind[],
  options: { refresh: boolean; whitelist: unknown; blacklist: unknown },
): Promise<Record<Kind, string[]>> {
  const file = recordFile(ctx)
  const record = readRecord(file)
  const result = {} as Record<Kind, string[]>
  for (const kind of kinds) {
    const before = record[kind] ?? {}
    const now = currentFiles(ctx, kind)
    const allow = kindList(options.whitelist, kind)
    const deny = kindList(options.blacklist, kind)
    const skipped = (name: string) => (allow && !allow.includes(name)) || deny?.includes(name)
    for (const name of Object.keys(now)) if (skipped(name)) delete now[name]
    result[kind] = Object.keys(now)
      .filter((name) => before[name] !== now[name])
      .sort()
      .map((name) => `${kind}.${name}`)
    // A removed file is forgotten (added again, it syncs again); a skipped one keeps its entry.
    const kept = Object.entries(before).filter(([name]) => skipped(name))
    record[kind] = { ...Object.fromEntries(kept), ...now }
  }
  // Test mode predicts: nothing recorded, nothing reloaded.
  if (!ctx.test) {
    writeRecord(file, record)
    const changed = Object.values(result).some((names) => names.length > 0)
    if (changed && options.refresh) await ctx.sys.reload()
  }
  return result
}

/** Salt's extmod_whitelist/extmod_blacklist: `{modules: [names]}`, or a comma list for one kind. */
function kindList(value: unknown, kind: Kind): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value.split(',').map((item) => item.trim())
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'object') {
    const list = (value as Record<string, unknown>)[kind]
    return Array.isArray(list) ? list.map(String) : undefined
  }
  return undefined
}

const args = {
  saltenv: z
    .string()
    .nullish()
    .refine((env) => env === undefined || env === null || env === 'base', {
      message: 'must be base, the one environment brine has (file_roots and pillar_roots), or None',
    })
    .describe('base, or None (brine has one environment)'),
  refresh: z.boolean().default(true).describe('reload the modules when something changed'),
  extmod_whitelist: z.unknown().optional().describe('only these names (a list or comma list)'),
  extmod_blacklist: z.unknown().optional().describe('never these names'),
}

function defineSync(kind: Kind) {
  return defineFunction({
    doc: `Sync the custom ${kind === 'modules' ? 'execution modules (module_dirs)' : 'state modules (the _states folder beside each module_dirs entry)'}: return the ${kind}.<name> changed or added since the last sync, and reload the modules when there is any (refresh=True).`,
    args,
    run: async (ctx, { refresh, extmod_whitelist, extmod_blacklist }) =>
      (
        await sync(ctx, [kind], {
          refresh,
          whitelist: extmod_whitelist,
          blacklist: extmod_blacklist,
        })
      )[kind],
  })
}

export default defineModule({
  doc: 'Sync and reload custom modules, as Salt’s saltutil.sync_* (brine has custom execution and state modules); refresh modules, pillar and grains.',
  functions: {
    sync_modules: defineSync('modules'),
    sync_states: defineSync('states'),
    refresh_modules: defineFunction({
      doc: 'Reload the execution and state modules from their files (Salt’s module refresh). Returns True.',
      args: () => ({}),
      varargs: true,
      run: async (ctx) => {
        await ctx.sys.reload()
        return true
      },
    }),
    refresh_pillar: defineFunction({
      doc: 'Compile pillar again; later calls of this run see the new data. Returns True.',
      args: () => ({
        wait: z
          .boolean()
          .default(false)
          .describe('accepted for Salt compatibility (brine always waits)'),
        timeout: z.coerce.number().default(30).describe('accepted for Salt compatibility'),
        clean_cache: z.boolean().default(true).describe('accepted for Salt compatibility'),
      }),
      run: async (ctx) => {
        await ctx.sys.reloadPillar()
        return true
      },
    }),
    refresh_grains: defineFunction({
      doc: 'Read the grains file and the config’s grains again (the machine’s facts are read once per process); refresh_pillar=True (default) compiles pillar again too. Returns True.',
      args: () => ({}),
      varargs: true,
      run: async (ctx, _args, extra) => {
        ctx.sys.refreshGrains()
        if (extra.kwargs.refresh_pillar !== false) await ctx.sys.reloadPillar()
        return true
      },
    }),
    sync_all: defineFunction({
      doc: 'Sync every kind of custom module: {modules: [...], states: [...], …} with Salt’s keys (kinds brine does not have are always empty), then reload when something changed (refresh=True).',
      args,
      run: async (ctx, { refresh, extmod_whitelist, extmod_blacklist }) => {
        const synced = await sync(ctx, ['modules', 'states'], {
          refresh,
          whitelist: extmod_whitelist,
          blacklist: extmod_blacklist,
        })
        return Object.fromEntries(
          ALL_KINDS.map((kind) => [
            kind,
            kind === 'modules' || kind === 'states' ? synced[kind] : [],
          ]),
        )
      },
    }),
  },
})
