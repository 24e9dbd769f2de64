import { VsphereError } from './errors.ts'

/**
 * Implementations per vCenter API version, chosen once from `about.apiVersion`. A table row
 * covers `[min, max)`; the first row that covers the version wins.
 */
export interface VersionedImplementation<T> {
  /** Lowest API version covered (inclusive); undefined: no lower bound. */
  min?: string
  /** First API version not covered; undefined: no upper bound. */
  max?: string
  impl: T
}

export class UnsupportedVersionError extends VsphereError {
  static override readonly kind: string = 'UnsupportedVersionError'
  constructor(what: string, version: string, table: Array<{ min?: string; max?: string }>) {
    const ranges = table.map((row) => `${row.min ?? '*'}–${row.max ?? '*'}`).join(', ')
    super(`${what} is not supported on vSphere API ${version} (supported: ${ranges}).`, {
      code: 'BRINE_VIM_UNSUPPORTED_VERSION',
    })
  }
}

/** Compare dotted versions numerically: `7.0.3` > `7.0` > `6.7.3`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (diff !== 0) return Math.sign(diff)
  }
  return 0
}

export function selectByVersion<T>(
  table: VersionedImplementation<T>[],
  version: string,
  what: string,
): T {
  for (const row of table) {
    if (row.min !== undefined && compareVersions(version, row.min) < 0) continue
    if (row.max !== undefined && compareVersions(version, row.max) >= 0) continue
    return row.impl
  }
  throw new UnsupportedVersionError(what, version, table)
}
