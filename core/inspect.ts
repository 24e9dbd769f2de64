import { isLogEnabled } from './log.ts'
import { redact } from './redact.ts'

/**
 * Inspection points: `BRINE_INSPECT=ENT1,TASK1` (or `*`) dumps detailed data at named points
 * in the code, redacted like every log line. Points:
 * - `SOAP1` request bodies, `SOAP2` response bodies (also `BRINE_DEBUG=soap` at trace level);
 * - `ENT1` entity lookups: the candidates considered and the one chosen;
 * - `TASK1` every task state seen while waiting;
 * - `CALL1` each vSphere call with the context it runs in.
 */
const points = new Set(
  (process.env.BRINE_INSPECT ?? '')
    .split(',')
    .map((p) => p.trim().toUpperCase())
    .filter(Boolean),
)

export function isInspecting(point: string): boolean {
  return (
    points.has('*') ||
    points.has(point) ||
    (point.startsWith('SOAP') && isLogEnabled('trace', 'soap'))
  )
}

/** Dump `data()` (computed only when the point is on) at inspection point `point`. */
export function inspectPoint(point: string, label: string, data: () => unknown): void {
  if (!points.has('*') && !points.has(point)) return
  let text: string
  try {
    const value = data()
    text = typeof value === 'string' ? value : JSON.stringify(value, null, 2)
  } catch (error) {
    text = `<cannot show: ${(error as Error).message}>`
  }
  process.stderr.write(`${redact(`[inspect:${point}] ${label}\n${text}`)}\n`)
}

/** Switch points on or off at run time (tests). */
export function setInspectPoints(list: string[]): void {
  points.clear()
  for (const point of list) points.add(point.toUpperCase())
}
