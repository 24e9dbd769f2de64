// saltext-vmware's utils/drift.drift_report (src/saltext/vmware/utils/drift.py), which its
// vmware_esxi.firewall_configs state reports changes with: the leaves where two trees differ,
// shown as {old, new} at `level` (0: {key: {old: {…}, new: {…}}}, one level down per step).
// Lists compare as sets; below the first level, keys only the second tree has count when their
// value is a dict or list.

type Tree = Record<string, unknown>

/** A differing leaf: saltext's (old, new) tuple. */
class Leaf {
  constructor(
    readonly old: unknown,
    readonly now: unknown,
  ) {}
}

const isTree = (value: unknown): value is Tree =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Leaf)

function sameSet(a: unknown[], b: unknown[]): boolean {
  const key = (v: unknown) => JSON.stringify(v)
  const left = new Set(a.map(key))
  const right = new Set(b.map(key))
  return left.size === right.size && [...left].every((v) => right.has(v))
}

function recurse(a: unknown, b: unknown, out: Array<[string[], Leaf]>, keys: string[] = []) {
  if (isTree(a) && isTree(b)) {
    const onlyA = Object.keys(a).filter((k) => !(k in b))
    const onlyB = Object.keys(b).filter((k) => !(k in a))
    if (!keys.length) {
      for (const k of onlyA) out.push([[k], new Leaf(a[k], {})])
      for (const k of onlyB) out.push([[k], new Leaf({}, b[k])])
    } else {
      for (const k of onlyB) {
        if (isTree(b[k])) out.push([[...keys, k], new Leaf({}, b[k])])
        else if (Array.isArray(b[k])) out.push([[...keys, k], new Leaf([], b[k])])
      }
    }
    for (const k of Object.keys(a)) if (k in b) recurse(a[k], b[k], out, [...keys, k])
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (!sameSet(a, b)) out.push([keys, new Leaf(a, b)])
  } else if (a !== b) out.push([keys, new Leaf(a, b)])
}

function subtree(tree: Tree, level: number, out: Tree, depth = 0, side: 0 | 1 | 2 = 0) {
  for (const [k, value] of Object.entries(tree)) {
    if (isTree(value)) {
      if (depth === level) {
        const old: Tree = {}
        const now: Tree = {}
        out[k] = { old, new: now }
        subtree(value, level, old, depth + 1, 1)
        subtree(value, level, now, depth + 1, 2)
      } else {
        out[k] ??= {}
        subtree(value, level, out[k] as Tree, depth + 1, side)
      }
    } else {
      const leaf = value as Leaf
      out[k] = side === 1 ? leaf.old : side === 2 ? leaf.now : { old: leaf.old, new: leaf.now }
    }
  }
}

/** saltext's drift_report(obj1, obj2, diff_level). */
export function driftReport(before: Tree, after: Tree, level: number): Tree {
  const diffs: Array<[string[], Leaf]> = []
  recurse(before, after, diffs)
  const tree: Tree = {}
  for (const [keys, leaf] of diffs) {
    let branch = tree
    for (const key of keys.slice(0, -1)) {
      branch[key] ??= {}
      branch = branch[key] as Tree
    }
    branch[keys[keys.length - 1]!] = leaf
  }
  const out: Tree = {}
  subtree(tree, level, out)
  return out
}
