import { z } from 'zod'
import { isSecretKey } from '../core/redact.ts'
import { closestName } from '../core/suggest.ts'
import { ArgumentError } from './errors.ts'
import type { ExtraArgs, FunctionDefinition } from './types.ts'

/** Keyword arguments every call accepts and the loader consumes itself. */
export const CONTEXT_KWARGS = new Set(['test'])
/** Added for vSphere functions. */
export const VSPHERE_KWARGS = new Set(['profile'])

export interface BoundArguments {
  values: Record<string, unknown>
  extra: ExtraArgs
}

/**
 * Bind positional and keyword arguments to a function's declared arguments (positionals fill
 * them in declaration order) and validate them with the function's schema. Errors name the
 * argument, what was expected, and the signature.
 */
export function bindArguments(
  fun: string,
  definition: FunctionDefinition,
  args: unknown[],
  kwargs: Record<string, unknown>,
): BoundArguments {
  const names = Object.keys(definition.args)
  const values: Record<string, unknown> = {}
  const extra: ExtraArgs = { args: [], kwargs: {} }
  args.forEach((value, index) => {
    const name = names[index]
    if (name !== undefined) values[name] = value
    else if (definition.varargs) extra.args.push(value)
    else {
      throw new ArgumentError(
        fun,
        `takes at most ${names.length} positional argument${names.length === 1 ? '' : 's'} (${args.length} given). Usage: ${signature(fun, definition)}`,
      )
    }
  })
  for (const [name, value] of Object.entries(kwargs)) {
    if (name.startsWith('__') && !names.includes(name)) continue
    if (names.includes(name)) {
      if (name in values)
        throw new ArgumentError(
          fun,
          `argument '${name}' given twice (positionally and as ${name}=).`,
          name,
        )
      values[name] = value
    } else if (definition.varargs) {
      extra.kwargs[name] = value
    } else {
      const known = names.length ? names.join(', ') : 'none'
      const close = closestName(name, names)
      throw new ArgumentError(
        fun,
        `unknown argument '${name}'${close ? ` (did you mean '${close}'?)` : ''}. Arguments: ${known}. Usage: ${signature(fun, definition)}`,
        name,
      )
    }
  }
  if (definition.vsphere) checkNames(fun, definition, values)
  const parsed = z.object(definition.args).safeParse(values)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = issue.path.map(String).join('.')
    let value: unknown = values
    for (const key of issue.path)
      value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey]
    // A missing argument is "required" whatever its schema reports (an enum, a union, a
    // preprocessed value each fail on undefined with their own text).
    const missing = issue.path.length > 0 && value === undefined
    // The value of a secret argument is never echoed (a password given as a number).
    const secret =
      issue.path.some((key) => typeof key === 'string' && isSecretKey(key)) ||
      isSecretSchema(definition.args[String(issue.path[0] ?? '')])
    const given =
      issue.path.length > 0 && !missing
        ? ` (got ${secret ? describeType(value) : describeValue(value)})`
        : ''
    let what: string
    if (missing) {
      what = 'is required'
    } else if (issue.code === 'invalid_type')
      what = `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`
    else what = issue.message.replace(/^Invalid input: /, '').replace(/^Too (small|big): /, '')
    throw new ArgumentError(
      fun,
      `argument '${name}' ${what}${given}. Usage: ${signature(fun, definition)}`,
      name,
    )
  }
  return { values: parsed.data as Record<string, unknown>, extra }
}

/**
 * Arguments of vSphere functions that name inventory objects (a datacenter, a VM, a tag…) or
 * paths of them. Checked for control characters before anything is sent to vCenter.
 */
const NAME_ARGUMENT =
  /^(name|names|new_name|\w+_name|datacenter|cluster|folder|host|hosts|datastore|pool|parent|template|network|networks|vswitch|dvswitch|portgroup|category|tag|tags|role|snapshot|vm|vms|object|principal|user|ruleset|destination|path)$/

/**
 * A name with a control character (C0, DEL or C1: a bell, an escape sequence, a newline) is
 * refused before it reaches vCenter, where it would make an object nobody can type or see
 * (and the terminal would interpret it when the name is printed). The message shows it
 * escaped (`\u0007`).
 */
function checkNames(fun: string, definition: FunctionDefinition, values: Record<string, unknown>) {
  for (const [name, value] of Object.entries(values)) {
    if (!NAME_ARGUMENT.test(name)) continue
    const items = Array.isArray(value) ? value : [value]
    items.forEach((item, index) => {
      if (typeof item !== 'string') return
      const at = [...item].findIndex((char) => isControlCharacter(char))
      if (at < 0) return
      const char = [...item][at]!
      const which = Array.isArray(value)
        ? `argument '${name}' (item ${index + 1})`
        : `argument '${name}'`
      throw new ArgumentError(
        fun,
        `${which} holds a control character, ${escapeControlCharacters(char)} at character ${at + 1} of "${escapeControlCharacters(item)}": names in vSphere cannot contain control characters (C0, DEL, C1). Remove it; nothing was sent to vCenter. Usage: ${signature(fun, definition)}`,
        name,
      )
    })
  }
}

/** C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F). */
export function isControlCharacter(char: string): boolean {
  const code = char.charCodeAt(0)
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f)
}

/** Control characters as `\n`, `\t`, `\r` or `\u00XX`, so that no terminal interprets them. */
export function escapeControlCharacters(text: string, keep = ''): string {
  let out = ''
  for (const char of text) {
    if (!isControlCharacter(char) || keep.includes(char)) out += char
    else if (char === '\n') out += '\\n'
    else if (char === '\t') out += '\\t'
    else if (char === '\r') out += '\\r'
    else out += `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
  }
  return out
}

/** `vmware_datacenter.create <name> [profile=…]` style usage line. */
export function signature(fun: string, definition: FunctionDefinition): string {
  const parts = [fun]
  for (const [name, schema] of Object.entries(definition.args)) {
    parts.push((schema as z.ZodType).safeParse(undefined).success ? `[${name}=…]` : `<${name}>`)
  }
  if (definition.vsphere) parts.push('[profile=…]')
  if (definition.varargs) parts.push('[args…] [key=value…]')
  return parts.join(' ')
}

/** The text `sys.doc` shows for one function. */
export function describeFunction(fun: string, definition: FunctionDefinition): string {
  const lines = [definition.doc.trim(), '', `Usage: ${signature(fun, definition)}`]
  const entries = Object.entries(definition.args)
  if (entries.length || definition.vsphere) lines.push('', 'Arguments:')
  for (const [name, schema] of entries) {
    const type = schema as z.ZodType
    const optional = type.safeParse(undefined).success
    lines.push(
      `  ${name} (${typeName(type)}${optional ? ', optional' : ''})${type.description ? `: ${type.description}` : ''}`,
    )
  }
  if (definition.vsphere)
    lines.push('  profile (string, optional): the saltext.vmware profile to connect with')
  return lines.join('\n')
}

function typeName(schema: z.ZodType): string {
  const def = (schema as unknown as { def?: { type?: string; innerType?: z.ZodType } }).def
  if (!def) return 'any'
  if (
    (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') &&
    def.innerType
  )
    return typeName(def.innerType)
  return def.type ?? 'any'
}

/** True for an argument declared secret: `z.string().meta({ secret: true })`. */
function isSecretSchema(schema: unknown): boolean {
  for (let s = schema as SchemaLike | undefined, depth = 0; s && depth < 8; depth++) {
    if (typeof s.meta === 'function' && s.meta()?.secret === true) return true
    s = s.def?.innerType
  }
  return false
}

interface SchemaLike {
  meta?: () => Record<string, unknown> | undefined
  def?: { innerType?: SchemaLike }
}

/** What a value is, without the value: `a number`, `a string`. */
function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a dict'
  return `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a dict'
  return `${typeof value} ${escapeControlCharacters(JSON.stringify(value))}`
}
