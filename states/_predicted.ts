import type { CallContext } from 'brine/loader'

/**
 * What earlier states of this dry run reported they would create, by kind ('datacenter',
 * 'tag category', …), so that a later state can predict its own change on top of them
 * instead of failing on something that does not exist yet. Kept in `__context__` by the
 * run's abort signal (the runner gives every state of one run the same one), so a later run
 * never sees an older run's predictions.
 */
const PREDICTED = 'brine.dry_run.predicted'
type ByRun = WeakMap<AbortSignal, Map<string, string[]>>

export function predicted(ctx: CallContext, kind: string): string[] {
  let byRun = ctx.context[PREDICTED] as ByRun | undefined
  if (typeof byRun?.get !== 'function') {
    byRun = new WeakMap()
    ctx.context[PREDICTED] = byRun
  }
  let run = byRun.get(ctx.signal)
  if (!run) {
    run = new Map()
    byRun.set(ctx.signal, run)
  }
  let names = run.get(kind)
  if (!names) {
    names = []
    run.set(kind, names)
  }
  return names
}
