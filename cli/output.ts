import { randomBytes } from 'node:crypto'
import { stringify as stringifyYaml } from 'yaml'
import { redact } from '../core/redact.ts'
import { Issued } from '../core/secret.ts'

/**
 * Salt's outputters for one result, wrapped as `{local: result}`. Every outputter's text
 * passes through `redact()`: secrets never reach stdout. The one exception is an `Issued`
 * value (a token this call created for the user): it stands in the text as a placeholder
 * while redacting, and is put back after.
 */
export const OUTPUTTERS = ['nested', 'highstate', 'json', 'yaml', 'raw', 'quiet'] as const
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
  const issued: string[] = []
  const nonce = randomBytes(8).toString('hex')
  const wrapped = {
    local: toPlain(result, (value) => `brine-issued-${nonce}-${issued.push(value) - 1}`),
  }
  let text: string
  switch (outputter) {
    case 'quiet':
      return ''
    case 'json':
      text = JSON.stringify(wrapped, null, 4)
      break
    case 'yaml':
      text = stringifyYaml(wrapped).trimEnd()
      break
    case 'raw':
      text = pythonRepr(wrapped)
      break
    default:
      text = nested(wrapped, 0, color).trimEnd()
  }
  // Redact around the placeholders, so that a pattern such as `token: …` cannot take one,
  // then put each issued value back encoded as its outputter writes a string.
  const quote = outputter === 'json' ? '"' : outputter === 'raw' ? "'" : ''
  const parts = text.split(new RegExp(`${quote}brine-issued-${nonce}-(\\d+)${quote}`))
  const shown = parts.map((part, i) =>
    i % 2 ? encodeIssued(issued[Number(part)] ?? '', outputter) : redact(part),
  )
  return `${shown.join('')}\n`
}

function encodeIssued(value: string, outputter: Outputter): string {
  switch (outputter) {
    case 'json':
      return JSON.stringify(value)
    case 'raw':
      return pythonRepr(value)
    case 'yaml': {
      const scalar = stringifyYaml(value, { lineWidth: 0 }).trimEnd()
      return scalar.includes('\n') ? JSON.stringify(value) : scalar
    }
    default:
      return value
  }
}

/** Salt's `nested` outputter: `----------` before each mapping, 4-space indents, `- ` lists. */
function nested(value: unknown, indent: number, color: boolean, prefix = ''): string {
  const pad = ' '.repeat(indent)
  const paint = (c: Color, text: string) => (color ? `${COLORS[c]}${text}${COLORS.reset}` : text)
  if (value === null || value === undefined)
    return `${pad}${prefix}${paint('lightYellow', 'None')}\n`
  if (typeof value === 'boolean')
    return `${pad}${prefix}${paint('lightYellow', value ? 'True' : 'False')}\n`
  if (typeof value === 'number') return `${pad}${prefix}${paint('yellow', String(value))}\n`
  if (typeof value === 'string') {
    const lines = value.split('\n')
    return lines
      .map(
        (line, i) =>
          `${pad}${i === 0 ? prefix : ' '.repeat(prefix.length)}${paint('green', line)}\n`,
      )
      .join('')
  }
  if (Array.isArray(value)) {
    return value
      .map((item) =>
        isScalar(item)
          ? nested(item, indent, color, '- ')
          : `${pad}|_\n${nested(item, indent + 2, color)}`,
      )
      .join('')
  }
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

/**
 * Dates to ISO strings, Secrets to their redacted form: what JSON would show. Issued values
 * become what `placeholder` answers for them.
 */
function toPlain(value: unknown, placeholder: (issued: string) => string): unknown {
  if (value === undefined) return null
  if (value instanceof Issued) return placeholder(value.reveal())
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const original = this[key]
    if (original instanceof Issued) return placeholder(original.reveal())
    return v === undefined ? null : v
  })
  return JSON.parse(json ?? 'null')
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
