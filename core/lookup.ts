/** Walk nested data along `a:b:c` (Salt's traverse_dict_and_list); undefined when a step is missing. */
export function lookupValue(data: unknown, key: string, delimiter = ':'): unknown {
  let current: unknown = data
  for (const part of key.split(delimiter)) {
    if (current === null || typeof current !== 'object') return undefined
    if (Array.isArray(current)) {
      const index = Number(part)
      current = Number.isInteger(index) ? current[index] : undefined
    } else {
      current = (current as Record<string, unknown>)[part]
    }
    if (current === undefined) return undefined
  }
  return current
}
