import { stringify as stringifyYaml } from 'yaml'
import { redactValue } from '../core/redact.ts'

/**
 * Salt's outputters for one result, wrapped as `{local: result}`. Secrets are masked in the
 * value before it is formatted (`redactValue()`: Secret instances, values under keys such as
 * `password`, known secret values in strings), so that no escaping of the outputter can hide
 * one from the masking. The one exception is an `Issued` value (a token this call created
 * for the user): the outputter shows it in clear.
 */
export const OUTPUTTERS = ['nested', 'highstate', 'json', 'yaml', 'raw', 'txt', 'quiet'] as const
export type Outputter = (typeof OUTPUTTERS)[number]

const COLORS = {
  cyan: '\x1b[36m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  lightYellow: '\x1b[93m',
  red: '\x1b[31m',
  reset: '\x1b[0m',
}
type Color = keyof typeof COLORS

export function formatOutput(result: unknown, outputter: Outputter, color: boolean): string {
  if (outputter === 'quiet') return ''
  const wrapped = { local: redactValue(result, { issued: (value) => value.reveal() }) }
  let text: string
  switch (outputter) {
    case 'json':
      text = JSON.stringify(wrapped, null, 4)
      break
    case 'yaml':
      text = stringifyYaml(wrapped).trimEnd()
      break
    case 'raw':
      text = pythonRepr(wrapped)
      break
    case 'txt':
      text = txt(wrapped)
      break
    default:
      text = nested(wrapped, 0, color).trimEnd()
  }
  return `${text}\n`
}

/** Salt's `nested` outputter: `----------` before each mapping, 4-space indents, `- ` lists. */
function nested(value: unknown, indent: number, color: boolean, prefix = ''): string {
  const pad = ' '.repeat(indent)
  if (isLine(value)) return scalarLines(value, pad, prefix, color)
  if (Array.isArray(value)) {
    // One string per item, built in place: a list of 5,000 VM names is the common long one.
    let out = ''
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      out += isLine(item)
        ? scalarLines(item, pad, '- ', color)
        : isScalar(item)
          ? nested(item, indent, color, '- ')
          : `${pad}|_\n${nested(item, indent + 2, color)}`
    }
    return out
  }
  const paint = (c: Color, text: string) => (color ? `${COLORS[c]}${text}${COLORS.reset}` : text)
  const entries = Object.entries(value as Record<string, unknown>)
  let out = `${pad}${prefix}${paint('cyan', '----------')}\n`
  if (indent === 0 && prefix === '') out = ''
  for (const [key, item] of entries) {
    out += `${pad}${paint('cyan', `${key}:`)}\n${nested(item, indent + 4, color)}`
  }
  return out
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object'
}

/** None, a boolean, a number or a string: printed as a line (a string as its lines). */
function isLine(value: unknown): value is string | number | boolean | null | undefined {
  return (
    value === null ||
    value === undefined ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  )
}

/** A scalar's line (a string's lines) after `pad` and `prefix`, in the nested outputter. */
function scalarLines(
  value: string | number | boolean | null | undefined,
  pad: string,
  prefix: string,
  color: boolean,
): string {
  const paint = (c: Color, text: string) => (color ? `${COLORS[c]}${text}${COLORS.reset}` : text)
  if (value === null || value === undefined)
    return `${pad}${prefix}${paint('lightYellow', 'None')}\n`
  if (typeof value === 'boolean')
    return `${pad}${prefix}${paint('lightYellow', value ? 'True' : 'False')}\n`
  if (typeof value === 'number') return `${pad}${prefix}${paint('yellow', String(value))}\n`
  const text = value
  // One line, as most are (5,000 VM names): no split, map and join per item.
  if (!text.includes('\n')) return `${pad}${prefix}${color ? paint('green', text) : text}\n`
  return text
    .split('\n')
    .map(
      (line, i) => `${pad}${i === 0 ? prefix : ' '.repeat(prefix.length)}${paint('green', line)}\n`,
    )
    .join('')
}

/**
 * Salt's `txt` outputter (salt/output/txt.py): `key: value` per top-level key, a string value
 * one line per line of it, anything else as Python's str() shows it (`local: True`).
 */
function txt(data: Record<string, unknown>): string {
  const lines: string[] = []
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string')
      for (const line of value.split('\n')) lines.push(`${key}: ${line}`)
    else lines.push(`${key}: ${pythonRepr(value)}`)
  }
  return lines.join('\n')
}

/** Python's repr, as Salt's `raw` outputter prints. */
function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string')
    return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n')}'`
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`
}
