// Runs one of the pyVmomi yardstick scripts beside this file (Debian's python3-pyvmomi) and
// returns its JSON; undefined, with a line saying why, when Python or pyVmomi is missing.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3'

export function runPyvmomi<T>(script: string, args: string[]): T | undefined {
  if (!existsSync(PYTHON)) return undefined
  try {
    const out = execFileSync(PYTHON, [join(import.meta.dirname, script), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return JSON.parse(out) as T
  } catch (error) {
    console.log(`  pyVmomi unavailable: ${(error as Error).message.split('\n')[0]}`)
    return undefined
  }
}
