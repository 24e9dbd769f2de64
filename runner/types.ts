/** Data shapes of the state runner, as in Salt. */

/** High data: `{ id: { mod: [fun, {arg: value}, …], __sls__, __env__ } }`. */
export type HighData = Record<string, HighState>
export type HighState = Record<string, unknown> & { __sls__: string; __env__: string }

/** A requisite reference: a state module (or `sls`/`id`, or `*` for any) and an ID, name or glob. */
export interface Reference {
  kind: string
  module: string
  target: string
}

/** One low chunk: one (id, module, name) to run. */
export interface LowChunk {
  state: string
  fun: string
  __id__: string
  name: string
  __sls__: string | null
  __env__: string
  order: number | string
  /** Arguments for the state function (name included). */
  args: Record<string, unknown>
  /** Requisites by kind (require, watch, …), already including `_in` ones from other states. */
  requisites: Record<string, Reference[]>
  /** Global state arguments the engine handles. */
  options: Record<string, unknown>
}

export interface StateReturn {
  name: string
  changes: Record<string, unknown>
  result: boolean | null
  comment: string
  warnings?: string[]
  __id__?: string
  __sls__?: string | null
  __run_num__?: number
  __state_ran__?: boolean
  start_time?: string
  duration?: number
  [key: string]: unknown
}

export type RunResult = Record<string, StateReturn>

export const REQUISITE_KINDS = [
  'require',
  'require_any',
  'watch',
  'watch_any',
  'onchanges',
  'onchanges_any',
  'onfail',
  'onfail_any',
  'onfail_all',
  'prereq',
  'use',
  'listen',
] as const

export const REVERSE_KINDS = [
  'require_in',
  'watch_in',
  'onchanges_in',
  'onfail_in',
  'prereq_in',
  'use_in',
  'listen_in',
] as const

/** Arguments the engine consumes; never passed to state functions. */
export const ENGINE_OPTIONS = new Set([
  'order',
  'failhard',
  'onlyif',
  'unless',
  'creates',
  'retry',
  'reload_modules',
  'reload_pillar',
  'reload_grains',
  'check_cmd',
  'parallel',
  'fire_event',
  'names',
  'state',
  'fun',
  '__id__',
  '__sls__',
  '__env__',
])

/** Salt's result tag: `mod_|-id_|-name_|-fun`. */
export function tagOf(chunk: Pick<LowChunk, 'state' | '__id__' | 'name' | 'fun'>): string {
  return `${chunk.state}_|-${chunk.__id__}_|-${chunk.name}_|-${chunk.fun}`
}
