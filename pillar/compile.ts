// Pillar compilation as Salt does it: `top.sls` under the pillar roots maps targets (globs on
// the minion id) to SLS files; each is rendered (Jinja then YAML), its `include`s merged
// first (the including file wins; `key` nests, `defaults` become Jinja variables), and the
// files merged recursively in top-file order; the CLI's `pillar='{…}'` is merged last.
// Errors are collected in `_errors` (and `errors`), each naming file and line.
import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import picomatch from 'picomatch'
import { BrineError } from '../core/errors.ts'
import { createSaltFunctions, slsContext } from '../core/jinja-salt.ts'
import { RenderError, renderSls } from '../core/render.ts'

export interface CompilePillarOptions {
  roots: string[]
  minionId: string
  /** Merged last (the CLI's pillar=). */
  overrides?: Record<string, unknown> | undefined
  /** Extra Jinja variables (opts, grains, salt). */
  context?: Record<string, unknown> | undefined
}

export interface CompiledPillar {
  pillar: Record<string, unknown>
  errors: PillarError[]
  /** SLS names applied, in order. */
  sls: string[]
}

export class PillarError extends BrineError {
  static override readonly kind: string = 'PillarError'
  readonly file: string | undefined
  readonly line: number | undefined
  constructor(message: string, file?: string, line?: number, cause?: unknown) {
    super(message, { code: 'BRINE_PILLAR', cause })
    this.file = file
    this.line = line
  }
}

type Data = Record<string, unknown>

export function compilePillar(options: CompilePillarOptions): CompiledPillar {
  const errors: PillarError[] = []
  const pillar: Data = {}
  const applied: string[] = []
  const top = findFile(options.roots, 'top.sls')
  if (top) {
    const names = matchTop(top, options, errors)
    for (const name of names) {
      const data = renderPillarSls(name, options, errors, new Set(), {})
      if (data) {
        mergeInto(pillar, data)
        applied.push(name)
      }
    }
  }
  if (options.overrides) mergeInto(pillar, options.overrides)
  if (errors.length) pillar._errors = errors.map((error) => error.message)
  return { pillar, errors, sls: applied }
}

/** Deep merge: dicts merge, everything else (lists too) is replaced. */
export function mergeInto(target: Data, source: Data): Data {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    if (isData(existing) && isData(value)) mergeInto(existing, value)
    else target[key] = isData(value) ? mergeInto({}, value) : value
  }
  return target
}

// --- internal ---

function matchTop(top: string, options: CompilePillarOptions, errors: PillarError[]): string[] {
  let data: unknown
  try {
    data = renderSls(readFileSync(top, 'utf8'), {
      file: top,
      context: templateContext(options, 'top'),
    })
  } catch (error) {
    errors.push(asPillarError(error, top))
    return []
  }
  if (!isData(data)) {
    errors.push(
      new PillarError(
        `Pillar top file ${top} does not render to a dictionary of environments.`,
        top,
      ),
    )
    return []
  }
  const names: string[] = []
  for (const [env, targets] of Object.entries(data)) {
    if (env !== 'base') continue
    if (!isData(targets)) {
      errors.push(
        new PillarError(
          `Pillar top file ${top}: environment '${env}' must map targets to lists of SLS names.`,
          top,
        ),
      )
      continue
    }
    for (const [target, entries] of Object.entries(targets)) {
      if (!Array.isArray(entries)) {
        errors.push(
          new PillarError(`Pillar top file ${top}: target '${target}' must list SLS names.`, top),
        )
        continue
      }
      const matcher =
        entries.find((entry): entry is Data => isData(entry) && 'match' in entry)?.match ?? 'glob'
      if (matcher !== 'glob') {
        errors.push(
          new PillarError(
            `Pillar top file ${top}: matcher '${String(matcher)}' of target '${target}' is not supported (only glob).`,
            top,
          ),
        )
        continue
      }
      if (!picomatch.isMatch(options.minionId, target)) continue
      for (const entry of entries)
        if (typeof entry === 'string' && !names.includes(entry)) names.push(entry)
    }
  }
  return names
}

function renderPillarSls(
  name: string,
  options: CompilePillarOptions,
  errors: PillarError[],
  seen: Set<string>,
  defaults: Data,
): Data | undefined {
  const file = findSls(options.roots, name)
  if (!file) {
    errors.push(
      new PillarError(
        `Specified SLS '${name}' in environment 'base' is not available in the pillar roots (${options.roots.join(', ')}).`,
      ),
    )
    return undefined
  }
  if (seen.has(file)) {
    errors.push(
      new PillarError(
        `Pillar SLS '${name}' includes itself (through ${[...seen].map((f) => relativeTo(options.roots, f)).join(' -> ')}).`,
        file,
      ),
    )
    return undefined
  }
  let data: unknown
  try {
    data = renderSls(readFileSync(file, 'utf8'), {
      file,
      context: { ...templateContext(options, name, file), ...defaults },
      searchPaths: options.roots,
    })
  } catch (error) {
    errors.push(asPillarError(error, file))
    return undefined
  }
  if (data === null || data === undefined || data === '') return {}
  if (!isData(data)) {
    errors.push(
      new PillarError(`Pillar SLS '${name}' (${file}) does not render to a dictionary.`, file),
    )
    return undefined
  }
  const { include, ...own } = data
  if (include === undefined) return own
  const merged: Data = {}
  const includes = Array.isArray(include) ? include : [include]
  for (const entry of includes) {
    const [includeName, spec] =
      typeof entry === 'string'
        ? [entry, {}]
        : isData(entry)
          ? (Object.entries(entry)[0] ?? ['', {}])
          : ['', {}]
    if (!includeName) {
      errors.push(
        new PillarError(
          `Pillar SLS '${name}' (${file}): include entries must be names or {name: {key, defaults}}.`,
          file,
        ),
      )
      continue
    }
    const target = includeName.startsWith('.')
      ? resolveRelative(name, includeName, file.endsWith('init.sls'))
      : includeName
    const specData = isData(spec) ? spec : {}
    const included = renderPillarSls(
      target,
      options,
      errors,
      new Set([...seen, file]),
      isData(specData.defaults) ? specData.defaults : {},
    )
    if (!included) continue
    mergeInto(
      merged,
      typeof specData.key === 'string' ? nestUnder(specData.key, included) : included,
    )
  }
  return mergeInto(merged, own)
}

function templateContext(options: CompilePillarOptions, sls: string, file?: string): Data {
  const base = {
    pillar: {},
    grains: { id: options.minionId },
    opts: {},
    ...options.context,
  } as Data
  const salt = createSaltFunctions({
    grains: base.grains as Data,
    pillar: base.pillar as Data,
    opts: base.opts as Data,
  })
  return { saltenv: 'base', salt, ...base, ...(file ? slsContext(file, sls) : { sls }) }
}

function asPillarError(error: unknown, file: string): PillarError {
  if (error instanceof RenderError) return new PillarError(error.message, file, error.line, error)
  return new PillarError(
    `Reading pillar file ${file} failed: ${(error as Error).message}`,
    file,
    undefined,
    error,
  )
}

function findFile(roots: string[], name: string): string | undefined {
  for (const root of roots) {
    const path = join(root, name)
    if (existsSync(path)) return path
  }
  return undefined
}

/** `a.b` → a/b.sls or a/b/init.sls, first root first. */
export function findSls(roots: string[], name: string): string | undefined {
  const path = name.replaceAll('.', '/')
  return findFile(roots, `${path}.sls`) ?? findFile(roots, join(path, 'init.sls'))
}

/** `.x` is a sibling (for `a/init.sls`, a child of `a`); each further dot goes one level up. */
function resolveRelative(from: string, include: string, fromInit: boolean): string {
  const dots = /^\.+/.exec(include)?.[0].length ?? 0
  const parts = from.split('.')
  const up = fromInit ? dots - 1 : dots
  const base = parts.slice(0, Math.max(0, parts.length - up))
  return [...base, include.slice(dots)].filter(Boolean).join('.')
}

function nestUnder(key: string, data: Data): Data {
  return key
    .split(':')
    .reverse()
    .reduce<Data>((inner, part) => ({ [part]: inner }), data)
}

function relativeTo(roots: string[], file: string): string {
  return roots[0] ? relative(roots[0], file) : file
}

function isData(value: unknown): value is Data {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  )
}
