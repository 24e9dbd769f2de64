import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { BrineError } from '../core/errors.ts'
import { defaultOpts } from '../loader/opts.ts'
import type { Opts } from '../loader/types.ts'

/**
 * Options in one place: defaults, then the config file, then environment variables, then
 * command-line flags (later wins).
 *
 * | option | type | default | env | flag |
 * |---|---|---|---|---|
 * | id | string | host name | BRINE_ID | --id |
 * | file_roots | paths | [/srv/salt] | BRINE_FILE_ROOTS (`:`-separated) | --file-root (repeatable) |
 * | pillar_roots | paths | [/srv/pillar] | BRINE_PILLAR_ROOTS | --pillar-root (repeatable) |
 * | module_dirs | paths | [] | BRINE_MODULE_DIRS | --module-dirs (repeatable) |
 * | log_level | error…trace | warning | BRINE_LOG_LEVEL | --log-level / -l |
 * | session_store | boolean | false | BRINE_SESSION_STORE | --session-store |
 * | data_dir | path | ~/.local/share/brine ($XDG_DATA_HOME/brine) | BRINE_DATA_DIR | — |
 * | test | boolean | false | — | test=True on the call |
 * | state_max_parallel | integer ≥ 0 | 8 (0: no bound) | BRINE_STATE_MAX_PARALLEL | — |
 * Console options (console_tokens_backend, console_token_ttl, console_proxy_url, …) are
 * described in console/service.ts and the README.
 * Config file: --config, else BRINE_CONFIG, else ./brine.yaml when present. Relative paths in
 * it are relative to the file. Other keys (e.g. `saltext.vmware`) are kept as they are.
 * `conf_file` is set to the config file's absolute path (Salt's option name).
 * A directory there (`-c /etc/salt`, `--config-dir`) is read as salt-call reads its config
 * dir: `DIR/minion`, then `DIR/minion.d/*.conf` in name order (and the files named by an
 * `include:` key) merged over it; relative paths in any of them are relative to DIR, and
 * `conf_file` is `DIR/minion`. `file_roots`/`pillar_roots` may be given in Salt's form,
 * `{base: [paths]}`; base is the only environment brine has.
 */
export class ConfigError extends BrineError {
  static override readonly kind: string = 'ConfigError'
  constructor(message: string) {
    super(message, { code: 'BRINE_CONFIG' })
  }
}

export interface OptsFlags {
  config?: string | undefined
  id?: string | undefined
  fileRoots?: string[] | undefined
  pillarRoots?: string[] | undefined
  moduleDirs?: string[] | undefined
  logLevel?: string | undefined
  sessionStore?: boolean | undefined
}

const LOG_LEVELS = [
  'error',
  'warning',
  'info',
  'debug',
  'trace',
  'quiet',
  'critical',
  'garbage',
  'all',
]
const LIST_KEYS = ['file_roots', 'pillar_roots', 'module_dirs'] as const

export function resolveOpts(
  flags: OptsFlags,
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Opts {
  const opts: Opts = defaultOpts()
  // Where module_dirs came from, for the error naming a directory that does not exist.
  let moduleDirsFrom = ''

  // Config file
  const configPath =
    flags.config ??
    env.BRINE_CONFIG ??
    (existsSync(resolve(cwd, 'brine.yaml')) ? 'brine.yaml' : undefined)
  if (configPath) {
    const path = resolve(cwd, configPath)
    const dir = isDirectory(path)
    const config = dir ? readConfigDir(path) : readConfigFile(path)
    // Salt's name for it; errors about keys read from the file (saltext.vmware) name it.
    const confFile = dir ? join(path, 'minion') : path
    Object.assign(opts, config, { conf_file: confFile })
    if (config.module_dirs)
      moduleDirsFrom = `module_dirs in the config ${dir ? 'directory' : 'file'} ${path}`
  }

  // Environment
  if (env.BRINE_ID) opts.id = env.BRINE_ID
  if (env.BRINE_FILE_ROOTS)
    opts.file_roots = env.BRINE_FILE_ROOTS.split(':').map((p) => resolve(cwd, p))
  if (env.BRINE_PILLAR_ROOTS)
    opts.pillar_roots = env.BRINE_PILLAR_ROOTS.split(':').map((p) => resolve(cwd, p))
  if (env.BRINE_MODULE_DIRS) {
    opts.module_dirs = env.BRINE_MODULE_DIRS.split(':').map((p) => resolve(cwd, p))
    moduleDirsFrom = 'BRINE_MODULE_DIRS'
  }
  if (env.BRINE_LOG_LEVEL) opts.log_level = env.BRINE_LOG_LEVEL
  if (env.BRINE_DATA_DIR) opts.data_dir = resolve(cwd, env.BRINE_DATA_DIR)
  if (env.BRINE_SESSION_STORE)
    opts.session_store = ['1', 'true', 'yes'].includes(env.BRINE_SESSION_STORE.toLowerCase())
  if (env.BRINE_STATE_MAX_PARALLEL) {
    const max = Number(env.BRINE_STATE_MAX_PARALLEL)
    if (!Number.isInteger(max) || max < 0)
      throw new ConfigError(
        `BRINE_STATE_MAX_PARALLEL must be a whole number ≥ 0 (0: no bound), not '${env.BRINE_STATE_MAX_PARALLEL}'.`,
      )
    opts.state_max_parallel = max
  }

  // Flags
  if (flags.id) opts.id = flags.id
  if (flags.fileRoots?.length) opts.file_roots = flags.fileRoots.map((p) => resolve(cwd, p))
  if (flags.pillarRoots?.length) opts.pillar_roots = flags.pillarRoots.map((p) => resolve(cwd, p))
  if (flags.moduleDirs?.length) {
    opts.module_dirs = flags.moduleDirs.map((p) => resolve(cwd, p))
    moduleDirsFrom = '-m/--module-dirs'
  }
  if (flags.logLevel) opts.log_level = flags.logLevel
  if (flags.sessionStore !== undefined) opts.session_store = flags.sessionStore

  checkModuleDirs(opts.module_dirs, moduleDirsFrom)
  if (!LOG_LEVELS.includes(opts.log_level)) {
    throw new ConfigError(
      `log level '${opts.log_level}' is not one of ${LOG_LEVELS.slice(0, 5).join(', ')}.`,
    )
  }
  return opts
}

/** A module directory that is missing (a typo) is an error, not a silently empty search path. */
function checkModuleDirs(dirs: string[], from: string): void {
  for (const dir of dirs) {
    let problem: string | undefined
    try {
      if (!statSync(dir).isDirectory()) problem = 'is not a directory'
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`
    }
    if (problem) {
      throw new ConfigError(
        `module directory ${dir} (from ${from}) ${problem}. Give an existing directory of execution modules, or leave it out; nothing was run.`,
      )
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false // a missing path is reported by readConfigFile, naming it
  }
}

/**
 * salt-call's config dir (salt/config minion_config and include_config): `DIR/minion` when
 * present, then what its `default_include` (default `minion.d/*.conf`) and then its `include`
 * name, each glob's files in name order. The files of one step merge into one another deeply
 * (lists appended), and the step's result replaces the keys it has whole (a `grains:` in
 * minion.d replaces the minion file's `grains:`, as in Salt).
 */
function readConfigDir(dir: string): Partial<Opts> {
  const main = join(dir, 'minion')
  const config: Record<string, unknown> = existsSync(main) ? readConfigFile(main, dir) : {}
  // Two steps, as Salt: default_include, then include, each replacing keys whole.
  for (const patterns of [config.default_include ?? 'minion.d/*.conf', config.include ?? []]) {
    const included: Record<string, unknown> = {}
    for (const pattern of [patterns].flat()) {
      if (typeof pattern !== 'string')
        throw new ConfigError(`config file ${main}: include must be a path or a list of paths.`)
      for (const file of globFiles(resolve(dir, pattern)))
        mergeDeep(included, readConfigFile(file, dir) as Record<string, unknown>)
    }
    Object.assign(config, included)
  }
  return config as Partial<Opts>
}

/** The files a config include names: a path, or `*` and `?` in its last part (Salt's glob). */
function globFiles(pattern: string): string[] {
  const dir = dirname(pattern)
  const name = pattern.slice(dir.length + 1)
  if (!/[*?[]/.test(name)) return existsSync(pattern) ? [pattern] : []
  const matcher = new RegExp(
    `^${name
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  )
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .filter((entry) => matcher.test(entry) && !entry.startsWith('.'))
    .sort()
    .map((entry) => join(dir, entry))
}

/** Salt's dictupdate.update(dest, upd, recursive_update=True, merge_lists=True). */
function mergeDeep(dest: Record<string, unknown>, upd: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(upd)) {
    const current = dest[key]
    if (isMapping(current) && isMapping(value)) mergeDeep(current, value)
    else if (Array.isArray(current) && Array.isArray(value))
      current.push(...value.filter((item) => !current.includes(item)))
    else dest[key] = value
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Salt's `{base: [paths]}` form of file_roots/pillar_roots, or brine's list (or one path). */
function rootsList(path: string, key: string, value: unknown): unknown {
  if (!isMapping(value)) return value
  const others = Object.keys(value).filter((env) => env !== 'base')
  if (others.length) {
    throw new ConfigError(
      `config file ${path}: ${key} has the environment${others.length > 1 ? 's' : ''} ${others.join(', ')}; brine has one environment, base. Put the paths under base (or give a list).`,
    )
  }
  return value.base ?? []
}

function readConfigFile(path: string, base = dirname(path)): Partial<Opts> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(
      `cannot read the config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check --config / BRINE_CONFIG.`,
    )
  }
  let data: unknown
  try {
    data = parseYaml(text, { uniqueKeys: true }) ?? {}
  } catch (error) {
    const line = error instanceof YAMLParseError ? error.linePos?.[0]?.line : undefined
    throw new ConfigError(
      `config file ${path}${line ? `, line ${line}` : ''}: ${(error as Error).message.split('\n')[0]}`,
    )
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a mapping of options (id, file_roots, …).`)
  }
  const config = { ...(data as Record<string, unknown>) }
  for (const key of LIST_KEYS) {
    const value = key === 'module_dirs' ? config[key] : rootsList(path, key, config[key])
    if (value === undefined) continue
    const list = typeof value === 'string' ? [value] : value
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
      throw new ConfigError(`config file ${path}: ${key} must be a path or a list of paths.`)
    }
    config[key] = list.map((item: string) => resolve(base, item))
  }
  for (const key of [
    'data_dir',
    'console_proxy_cert',
    'console_proxy_key',
    'console_target_ca_file',
  ]) {
    const value = config[key]
    if (value === undefined) continue
    if (typeof value !== 'string')
      throw new ConfigError(`config file ${path}: ${key} must be a path.`)
    config[key] = resolve(base, value)
  }
  for (const key of ['id', 'log_level'] as const) {
    if (config[key] !== undefined && typeof config[key] !== 'string') {
      throw new ConfigError(`config file ${path}: ${key} must be a string.`)
    }
  }
  if (config.session_store !== undefined && typeof config.session_store !== 'boolean') {
    throw new ConfigError(`config file ${path}: session_store must be true or false.`)
  }
  const max = config.state_max_parallel
  if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 0)) {
    throw new ConfigError(
      `config file ${path}: state_max_parallel must be a whole number ≥ 0 (0: no bound).`,
    )
  }
  return config as Partial<Opts>
}
