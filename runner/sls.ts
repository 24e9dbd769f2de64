// Render SLS files and build Salt's high data: includes first (each file once, relative and
// glob forms too), then the file's own states; IDs globally unique; `exclude` and `extend`
// applied once everything is read. Problems are collected, not thrown, so one run reports
// them all.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import picomatch from 'picomatch'
import { slsContext } from '../core/jinja-salt.ts'
import { RenderError, type RenderOptions, renderSls } from '../core/render.ts'
import { findSls } from '../pillar/compile.ts'
import { cannotExtend } from './compile.ts'
import type { HighData, HighState } from './types.ts'

export interface LoadSlsOptions {
  roots: string[]
  /** Jinja variables: salt, pillar, grains, opts. */
  context: Record<string, unknown>
  env?: string
  /** Module functions templates call beyond the `salt` object's own, per SLS (core/jinja.ts `call`). */
  callFor?: (sls: string) => RenderOptions['call']
}

export interface LoadedSls {
  high: HighData
  errors: string[]
  /** For each SLS, the SLS names it includes, transitively (for `sls:` requisites). */
  includes: Map<string, Set<string>>
}

const DECLARATION_KEYS = new Set(['include', 'exclude', 'extend'])

export function loadSls(names: string[], options: LoadSlsOptions): LoadedSls {
  const env = options.env ?? 'base'
  const high: HighData = {}
  const errors: string[] = []
  const visited = new Set<string>()
  const includes = new Map<string, Set<string>>()
  const excludes: Array<{ sls?: string; id?: string }> = []
  const extends_: Array<{ sls: string; data: Record<string, unknown> }> = []

  const visit = (name: string): void => {
    if (visited.has(name)) return
    visited.add(name)
    includes.set(name, new Set())
    const file = findSls(options.roots, name)
    if (!file) {
      errors.push(`No matching sls found for '${name}' in env '${env}'`)
      return
    }
    let data: unknown
    try {
      data = renderSls(readFileSync(file, 'utf8'), {
        file: `${env}:${name}`,
        context: { ...options.context, ...slsContext(file, name), saltenv: env },
        call: options.callFor?.(name),
        searchPaths: options.roots,
      })
    } catch (error) {
      errors.push(
        error instanceof RenderError
          ? `${error.message} (${file})`
          : `Rendering SLS '${env}:${name}' failed: ${(error as Error).message}`,
      )
      return
    }
    if (data === null || data === undefined || data === '') return
    if (!isDict(data)) {
      errors.push(`SLS ${name} does not render to a dictionary`)
      return
    }

    // Includes first, so that their states come first.
    for (const entry of asList(data.include)) {
      const spec =
        typeof entry === 'string'
          ? entry
          : isDict(entry)
            ? String(Object.values(entry)[0] ?? '')
            : ''
      if (!spec) {
        errors.push(`Include declaration in SLS '${env}:${name}' must be a list of SLS names`)
        continue
      }
      const resolved = spec.startsWith('.')
        ? resolveRelativeSls(name, spec, file.endsWith('init.sls'))
        : spec
      const targets = /[*?[]/.test(resolved) ? globSls(options.roots, resolved) : [resolved]
      for (const target of targets) {
        includes.get(name)!.add(target)
        visit(target)
      }
    }
    for (const entry of asList(data.exclude)) {
      if (typeof entry === 'string') excludes.push({ sls: entry })
      else if (isDict(entry))
        excludes.push({ sls: entry.sls as string | undefined, id: entry.id as string | undefined })
    }
    if (data.extend !== undefined) {
      if (isDict(data.extend)) extends_.push({ sls: name, data: data.extend })
      else errors.push(`Extension data in SLS '${env}:${name}' is not a dictionary`)
    }

    for (const [id, body] of Object.entries(data)) {
      if (DECLARATION_KEYS.has(id)) continue
      const state = normalizeState(id, body, name, env, errors)
      if (!state) continue
      const existing = high[id]
      if (existing) {
        errors.push(
          `Detected conflicting IDs, SLS IDs need to be globally unique.\n    The conflicting ID is '${id}' and is found in SLS '${env}:${existing.__sls__}' and SLS '${env}:${name}'`,
        )
        continue
      }
      high[id] = state
    }
  }

  for (const name of names) visit(name)
  // Transitive includes, for `sls:` requisites.
  for (const [name, direct] of includes) {
    const all = new Set<string>()
    const walk = (n: string) => {
      for (const child of includes.get(n) ?? []) {
        if (!all.has(child)) {
          all.add(child)
          walk(child)
        }
      }
    }
    walk(name)
    for (const child of direct) all.add(child)
    includes.set(name, all)
  }
  applyExcludes(high, excludes)
  for (const extension of extends_) applyExtend(high, extension.sls, extension.data, env, errors)
  return { high, errors, includes }
}

/** Turn one `id: …` declaration (any of Salt's forms) into `{ mod: [fun, {arg: v}, …] }`. */
function normalizeState(
  id: string,
  body: unknown,
  sls: string,
  env: string,
  errors: string[],
): HighState | undefined {
  const state: HighState = { __sls__: sls, __env__: env }
  if (typeof body === 'string') {
    // id: mod.fun
    const [mod, fun] = splitFun(body)
    if (!mod || !fun) {
      errors.push(`ID ${id} in SLS ${sls} is not a dictionary`)
      return undefined
    }
    state[mod] = [fun]
    return state
  }
  if (!isDict(body)) {
    errors.push(`ID ${id} in SLS ${sls} is not a dictionary`)
    return undefined
  }
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('__')) continue
    let mod = key
    const args: unknown[] = []
    if (key.includes('.')) {
      const [m, fun] = splitFun(key)
      mod = m!
      args.push(fun)
      if (value !== null && value !== undefined && !Array.isArray(value)) {
        errors.push(`State '${id}' in SLS '${sls}' is not formed as a list`)
        return undefined
      }
    } else if (!Array.isArray(value)) {
      errors.push(
        value === null
          ? `ID '${id}' in SLS '${sls}' contains a short declaration (${key}) with a trailing colon. When not passing any arguments to a state, the colon must be omitted.`
          : `State '${id}' in SLS '${sls}' is not formed as a list`,
      )
      return undefined
    }
    if (mod in state) {
      errors.push(
        `ID '${id}' in SLS '${sls}' contains multiple state declarations of the same type`,
      )
      return undefined
    }
    args.push(...((value as unknown[] | null) ?? []))
    const funs = args.filter((item) => typeof item === 'string')
    if (funs.length !== 1) {
      errors.push(
        funs.length === 0
          ? `No function declared in state '${id}' in SLS '${sls}'`
          : `Too many functions declared in state '${id}' in SLS '${sls}'. Please choose one of the following: ${funs.join(', ')}`,
      )
      return undefined
    }
    state[mod] = args
  }
  return state
}

function applyExcludes(high: HighData, excludes: Array<{ sls?: string; id?: string }>): void {
  for (const exclude of excludes) {
    for (const [id, state] of Object.entries(high)) {
      if (
        (exclude.id && id === exclude.id) ||
        (exclude.sls &&
          (state.__sls__ === exclude.sls || picomatch.isMatch(state.__sls__, exclude.sls)))
      ) {
        delete high[id]
      }
    }
  }
}

/** `extend`: arguments replace those of the same key, requisite lists grow, a function replaces. */
function applyExtend(
  high: HighData,
  sls: string,
  extend: Record<string, unknown>,
  env: string,
  errors: string[],
): void {
  for (const [id, body] of Object.entries(extend)) {
    const target = high[id]
    if (!target) {
      errors.push(cannotExtend(id, env, sls))
      continue
    }
    const normalized = normalizeState(id, body, sls, env, errors)
    if (!normalized) continue
    for (const [mod, value] of Object.entries(normalized)) {
      if (mod.startsWith('__')) continue
      const existing = target[mod] as unknown[] | undefined
      if (!existing) {
        target[mod] = value
        continue
      }
      const merged = [...existing]
      for (const item of value as unknown[]) {
        if (typeof item === 'string') {
          const index = merged.findIndex((entry) => typeof entry === 'string')
          if (index >= 0) merged[index] = item
          continue
        }
        if (!isDict(item)) continue
        const [key, argValue] = Object.entries(item)[0] ?? []
        if (key === undefined) continue
        const index = merged.findIndex((entry) => isDict(entry) && key in entry)
        if (index >= 0 && isRequisiteKey(key) && Array.isArray(argValue)) {
          const current = (merged[index] as Record<string, unknown>)[key]
          merged[index] = { [key]: [...(Array.isArray(current) ? current : []), ...argValue] }
        } else if (index >= 0) merged[index] = { [key]: argValue }
        else merged.push({ [key]: argValue })
      }
      target[mod] = merged
    }
  }
}

function isRequisiteKey(key: string): boolean {
  return /^(require|watch|onchanges|onfail|prereq|use|listen)(_any|_all|_in)?$/.test(key)
}

function splitFun(text: string): [string | undefined, string | undefined] {
  const dot = text.indexOf('.')
  return dot <= 0 ? [undefined, undefined] : [text.slice(0, dot), text.slice(dot + 1)]
}

/** `.x` from `a.b` (a/b.sls) is `a.x`; from `a` (a/init.sls) it is `a.x`; `..x` goes one more level up. */
export function resolveRelativeSls(from: string, include: string, fromInit: boolean): string {
  const dots = /^\.+/.exec(include)?.[0].length ?? 0
  const parts = from.split('.')
  const up = fromInit ? dots - 1 : dots
  return [...parts.slice(0, Math.max(0, parts.length - up)), include.slice(dots)]
    .filter(Boolean)
    .join('.')
}

/** SLS names under the roots matching a glob such as `web.*`. */
function globSls(roots: string[], pattern: string): string[] {
  const names = new Set<string>()
  const isMatch = picomatch(pattern.replaceAll('.', '/'))
  for (const root of roots) {
    const walk = (dir: string) => {
      let entries: string[] = []
      try {
        entries = readdirSync(dir)
      } catch {
        return
      }
      for (const entry of entries) {
        const path = join(dir, entry)
        if (statSync(path).isDirectory()) walk(path)
        else if (entry.endsWith('.sls') && entry !== 'top.sls') {
          const rel = relative(root, path)
            .replace(/\.sls$/, '')
            .replace(/\/init$/, '')
          if (isMatch(rel)) names.add(rel.replaceAll('/', '.'))
        }
      }
    }
    walk(root)
  }
  return [...names].sort()
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value : [value]
}

function isDict(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  )
}
