/**
 * Tell the `brine` command that this call ran `area` of the CLI bundle, for its V8 code
 * cache (bin/brine.js, loadCli): a cache made by calls that never ran the area is written
 * again by the first call that does. A library user's process has no hook and ignores it.
 */
export function noteCodeArea(area: string): void {
  const hook = (globalThis as Record<symbol, unknown>)[Symbol.for('brine.codeArea')]
  if (typeof hook === 'function') hook(area)
}
