import { parse as parseYaml } from 'yaml'

/**
 * Salt's argument parsing (salt/utils/args.py `parse_input` and `yamlify_arg`): a token
 * `name=value` is a keyword argument, anything else positional; values are YAML-typed
 * (booleans, numbers, null), but dicts and lists only when the text starts with `{` or `[`,
 * so `foo: bar` stays a string.
 */
const KWARG = /^([A-Za-z_][\w.-]*)=(?!=)([\s\S]*)$/

export interface ParsedInput {
  args: unknown[]
  kwargs: Record<string, unknown>
}

export function parseInput(tokens: string[]): ParsedInput {
  const args: unknown[] = []
  const kwargs: Record<string, unknown> = {}
  for (const token of tokens) {
    const match = KWARG.exec(token)
    if (match) kwargs[match[1]!] = yamlifyArg(match[2]!)
    else args.push(yamlifyArg(token))
  }
  return { args, kwargs }
}

/** One argument's value, typed the way Salt types it. */
export function yamlifyArg(text: string): unknown {
  if (text === '' || text === '---' || text === '...') return text
  if (/^\d+(_\d+)+$/.test(text) || /[\t\n]/.test(text)) return text
  if (text === 'None' || text === 'null' || text === '~') return null
  // PyYAML, which Salt uses, reads y/Y/n/N as strings (the yaml package's 1.1 schema makes
  // them booleans): `test=n` is a string in Salt, and a non-empty string there means a dry run.
  if (/^[yYnN]$/.test(text)) return text
  let value: unknown
  try {
    // Salt's loader is YAML 1.1: yes/no/on/off are booleans there.
    value = parseYaml(text, { version: '1.1', schema: 'yaml-1.1' })
  } catch {
    return text
  }
  if (value instanceof Date) return text
  if (typeof value === 'object' && value !== null) {
    return text.startsWith('{') || text.startsWith('[') ? value : text
  }
  if (text.includes('#') && typeof value === 'string') return text
  if (value === null || value === undefined) return text
  return value
}
