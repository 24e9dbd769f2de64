// One registry of error codes (core/error-codes.ts): every code the sources raise is in it,
// and the README's table lists them all.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  ABORT_CODES,
  ERROR_CODE_FAMILIES,
  ERROR_CODES,
  errorCodeInfo,
  exitCodeOf,
} from '../core/error-codes.ts'
import { faultCode } from '../vsphere/errors.ts'

const root = join(import.meta.dirname, '..')
const SOURCES = [
  'cli',
  'console',
  'core',
  'loader',
  'modules',
  'pillar',
  'runner',
  'states',
  'vsphere',
]
/** BRINE_* strings that are environment variables or options, not error codes. */
const ENVIRONMENT = new Set([
  'BRINE_DEBUG',
  'BRINE_INSPECT',
  'BRINE_STATE_MAX_PARALLEL',
  'BRINE_SALTEXT_VMWARE_HOST',
  'BRINE_MODULE_DIRS',
])

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

/** Every quoted `BRINE_…` literal in the sources, with where it stands. */
function literals(): Array<{ code: string; where: string }> {
  const found: Array<{ code: string; where: string }> = []
  for (const file of SOURCES.flatMap(sourceFiles)) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (/^\s*(\*|\/\/)/.test(line)) return // comments name codes and variables freely
      for (const match of line.matchAll(/['"`](BRINE_[A-Z0-9_]+)(['"`]|\$\{)/g)) {
        const code = match[2] === '${' ? `${match[1]}` : match[1]!
        found.push({ code, where: `${relative(root, join(root, file))}:${i + 1}` })
      }
    })
  }
  return found
}

describe('error codes', () => {
  it('every code the sources raise is registered (or is an environment variable)', () => {
    const unregistered = literals()
      .filter(({ code }) => !ENVIRONMENT.has(code))
      .filter(({ code }) => !(ABORT_CODES as readonly string[]).includes(code))
      .filter(({ code }) => errorCodeInfo(code) === undefined && !(code in ERROR_CODE_FAMILIES))
      .map(({ code, where }) => `${code} (${where})`)
    expect(unregistered, 'add these to core/error-codes.ts').toEqual([])
  })

  it('codes made from vSphere fault names fall in their family', () => {
    for (const fault of ['NotAuthenticated', 'InvalidPowerState', 'MethodNotFound'])
      expect(errorCodeInfo(faultCode(fault)), fault).toBe(ERROR_CODE_FAMILIES.BRINE_VIM_)
    expect(errorCodeInfo('BRINE_VIM_TRANSPORT_CONNECT_TIMEOUT')).toBe(
      ERROR_CODE_FAMILIES.BRINE_VIM_TRANSPORT_,
    )
    expect(errorCodeInfo('BRINE_NO_SUCH_CODE')).toBeUndefined()
    expect(exitCodeOf('BRINE_CONFIG')).toBe(2)
    expect(exitCodeOf('BRINE_NOT_FOUND')).toBe(1)
  })

  it('the README lists every registered code', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const missing = [...Object.keys(ERROR_CODES), ...Object.keys(ERROR_CODE_FAMILIES)].filter(
      (code) => !readme.includes(`\`${code}`),
    )
    expect(missing, 'document these in the README error code table').toEqual([])
  })
})
