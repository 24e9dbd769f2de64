/**
 * The known name a mistyped or foreign argument most likely meant, for "did you mean"
 * hints: a name that the wanted one contains or is contained in, or that shares a word with
 * it (`enter_maintenance_mode` → `enter`, `vm_name` → `name`), else one within a small edit
 * distance (`colour` → `color`). Undefined when nothing is close.
 */
export function closestName(wanted: string, known: readonly string[]): string | undefined {
  const lower = wanted.toLowerCase()
  const words = new Set(lower.split(/[_\W]+/).filter(Boolean))
  let best: { name: string; score: number } | undefined
  for (const name of known) {
    const other = name.toLowerCase()
    const distance = editDistance(lower, other)
    let score: number
    if (distance <= Math.max(2, Math.floor(other.length / 4))) score = distance
    else if (lower.includes(other) || other.includes(lower)) score = 100 + distance
    else if (other.split(/[_\W]+/).some((word) => word.length > 2 && words.has(word)))
      score = 200 + distance
    else continue
    if (!best || score < best.score) best = { name, score }
  }
  return best?.name
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    }
    previous = current
  }
  return previous[b.length]!
}
