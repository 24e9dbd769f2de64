import { redactValue } from '../core/redact.ts'

/**
 * Salt's `highstate` outputter: one block per state in run order, then the Summary.
 * `mode` is Salt's state_output (full, terse, mixed, changes, and their `_id` variants, which
 * show each state's ID where the others show its name); `verbose: false` hides states
 * that succeeded without changes (state_verbose). Secrets are masked in the result before
 * it is formatted (`redactValue()`), never in the formatted text: a state ID or function
 * name that happens to contain a secret word stays readable.
 */
export const STATE_OUTPUTS = [
  'full',
  'terse',
  'mixed',
  'changes',
  'full_id',
  'terse_id',
  'mixed_id',
  'changes_id',
] as const
export type StateOutput = (typeof STATE_OUTPUTS)[number]

export interface HighstateOptions {
  color: boolean
  mode?: StateOutput
  verbose?: boolean
  /** Test mode: the Summary shows unchanged= for results of None. */
  test?: boolean
}

interface Ret {
  name?: unknown
  result?: boolean | null
  comment?: unknown
  changes?: Record<string, unknown>
  __id__?: string
  __run_num__?: number
  start_time?: string
  duration?: number
  warnings?: unknown[]
}

const C = {
  green: '\x1b[32m',
  cyan: '\x1b[36m',
  red: '\x1b[31m',
  lightRed: '\x1b[91m',
  yellow: '\x1b[93m',
  reset: '\x1b[0m',
}
const LABEL_WIDTH = 12

export function formatHighstate(raw: unknown, options: HighstateOptions): string {
  const result = redactValue(raw)
  const paint = (color: string, text: string) =>
    options.color ? `${color}${text}${C.reset}` : text
  if (Array.isArray(result)) {
    const lines = ['local:', `    ${paint(C.lightRed, 'Data failed to compile:')}`]
    for (const error of result)
      lines.push(
        paint(C.red, '----------'),
        ...String(error)
          .split('\n')
          .map((line) => `    ${paint(C.lightRed, line)}`),
      )
    return `${lines.join('\n')}\n`
  }
  if (typeof result !== 'object' || result === null) return `local:\n    ${String(result)}\n`

  const entries = Object.entries(result as Record<string, Ret>).sort(
    ([, a], [, b]) => (a.__run_num__ ?? 0) - (b.__run_num__ ?? 0),
  )
  // salt/output/highstate.py: a state_output ending in _id swaps the ID in for the name
  // ("Refs #35137"), in terse lines and in full blocks (whose Name: line then goes).
  const byId = (options.mode ?? 'full').endsWith('_id')
  const mode = (options.mode ?? 'full').replace(/_id$/, '')
  const out: string[] = ['local:']
  let succeeded = 0
  let failed = 0
  let changed = 0
  let unchanged = 0
  let warnings = 0
  let duration = 0
  for (const [tag, ret] of entries) {
    const hasChanges = Object.keys(ret.changes ?? {}).length > 0
    if (ret.result === false) failed++
    else succeeded++
    if (hasChanges) changed++
    if (ret.result === null) unchanged++
    warnings += ret.warnings?.length ?? 0
    duration += ret.duration ?? 0
    if (options.verbose === false && ret.result === true && !hasChanges) continue

    const color =
      ret.result === false ? C.red : ret.result === null ? C.yellow : hasChanges ? C.cyan : C.green
    const [mod, id, tagName, fun] = splitTag(tag)
    const name = byId ? id : tagName
    const terse =
      mode === 'terse' ||
      (mode === 'mixed' && ret.result !== false) ||
      (mode === 'changes' && ret.result === true && !hasChanges)
    if (terse) {
      const word =
        ret.result === false
          ? 'Failed'
          : ret.result === null
            ? 'Differs'
            : hasChanges
              ? 'Changed'
              : 'Clean'
      out.push(
        paint(
          color,
          `  Name: ${name} - Function: ${mod}.${fun} - Result: ${word} Started: - ${ret.start_time ?? ''} Duration: ${ret.duration ?? 0} ms`,
        ),
      )
      continue
    }
    const label = (text: string) => `${text.padStart(LABEL_WIDTH)}:`
    out.push(paint(color, '----------'))
    out.push(paint(color, `${label('ID')} ${ret.__id__ ?? id}`))
    out.push(paint(color, `${label('Function')} ${mod}.${fun}`))
    if (!byId && String(ret.name ?? name) !== String(ret.__id__ ?? id))
      out.push(paint(color, `${label('Name')} ${ret.name ?? name}`))
    out.push(
      paint(
        color,
        `${label('Result')} ${ret.result === null ? 'None' : ret.result ? 'True' : 'False'}`,
      ),
    )
    const commentLines = String(ret.comment ?? '').split('\n')
    out.push(paint(color, `${label('Comment')} ${commentLines[0]}`))
    for (const line of commentLines.slice(1))
      out.push(paint(color, `${' '.repeat(LABEL_WIDTH + 2)}${line}`))
    if (ret.start_time) out.push(paint(color, `${label('Started')} ${ret.start_time}`))
    if (ret.duration !== undefined)
      out.push(paint(color, `${label('Duration')} ${ret.duration} ms`))
    if (ret.warnings?.length) {
      out.push(paint(C.yellow, `${label('Warnings')} ${String(ret.warnings[0])}`))
      for (const warning of ret.warnings.slice(1))
        out.push(paint(C.yellow, `${' '.repeat(LABEL_WIDTH + 2)}${String(warning)}`))
    }
    out.push(paint(color, `${label('Changes')}   `))
    if (hasChanges) out.push(...nested(ret.changes, LABEL_WIDTH + 2, options.color))
  }

  const summary = [
    '',
    'Summary for local',
    '------------',
    paint(
      C.green,
      `Succeeded: ${succeeded}${options.test ? ` (unchanged=${unchanged}, changed=${changed})` : changed ? ` (changed=${changed})` : ''}`,
    ),
    paint(failed ? C.red : C.cyan, `Failed:    ${failed}`),
  ]
  if (warnings) summary.push(paint(C.yellow, `Warnings:  ${warnings}`))
  const time = duration >= 1000 ? `${(duration / 1000).toFixed(3)} s` : `${duration.toFixed(3)} ms`
  summary.push(
    '------------',
    `Total states run: ${String(entries.length).padStart(5)}`,
    `Total run time: ${time.padStart(10)}`,
  )
  out.push(...summary)
  return `${out.join('\n')}\n`
}

function splitTag(tag: string): [string, string, string, string] {
  const parts = tag.split('_|-')
  return [parts[0] ?? '', parts[1] ?? '', parts[2] ?? '', parts[3] ?? '']
}

/** Salt's nested output of a value, as lines indented by `indent`. */
function nested(value: unknown, indent: number, color: boolean): string[] {
  const pad = ' '.repeat(indent)
  const paint = (c: string, text: string) => (color ? `${c}${text}${C.reset}` : text)
  if (value === null || value === undefined) return [`${pad}${paint(C.yellow, 'None')}`]
  if (typeof value === 'boolean') return [`${pad}${paint(C.yellow, value ? 'True' : 'False')}`]
  if (typeof value === 'number') return [`${pad}${paint(C.yellow, String(value))}`]
  if (typeof value === 'string')
    return value.split('\n').map((line) => `${pad}${paint(C.green, line)}`)
  if (Array.isArray(value))
    return value.flatMap((item) =>
      typeof item === 'object' && item !== null
        ? nested(item, indent + 2, color)
        : nested(item, indent, color).map((l) => l.replace(pad, `${pad}- `)),
    )
  const lines = [`${pad}${paint(C.cyan, '----------')}`]
  for (const [key, item] of Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    lines.push(`${pad}${paint(C.cyan, `${key}:`)}`, ...nested(item, indent + 4, color))
  }
  return lines
}
