import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The quick variant of `npm run stress` (300 reload cycles plus a 100-cycle leaky control), in
 * its own processes. The full run (2,000 cycles) is `npm run stress`.
 */
describe('stress (quick)', () => {
  it('keeps one ServiceInstance, one class, flat heap and one session across reloads; the leaky control fails', () => {
    const report = join(mkdtempSync(join(tmpdir(), 'brine-stress-test-')), 'quick.json')
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '..', 'stress', 'run.ts'),
        '--quick',
        '--json',
        report,
      ],
      {
        encoding: 'utf8',
        timeout: 180_000,
      },
    )
    expect(run.status, run.stdout + run.stderr).toBe(0)
    const [brine, control] = JSON.parse(readFileSync(report, 'utf8')) as Array<
      Record<string, unknown>
    >
    expect(brine).toMatchObject({
      name: 'brine',
      cycles: 300,
      serviceInstanceObjects: 1,
      serviceInstanceClasses: 1,
      logins: 4, // 1 + restart, terminate, idle expiry
      faults: ['restart', 'terminate', 'idle'],
      serverSessionsAfterShutdown: 0,
      leakTracesThroughBrine: [],
      failures: [],
    })
    expect(brine?.moduleGenerations).toBe(brine?.loadedModules)
    expect(brine?.generationsCollected).toBe(
      Number(brine?.generationsRegistered) - Number(brine?.loadedModules),
    )
    expect(new Set(brine?.serverSessionSamples as number[])).toEqual(new Set([1]))
    expect(Number(brine?.objectHeapGrowthBytes)).toBeLessThan(2 * 1024 * 1024)
    expect(Number(brine?.heapGrowthBytes)).toBeLessThan(4 * 1024 * 1024)
    // The control run reloads through native import(): old generations stay, the heap grows.
    expect(control?.name).toBe('leaky control')
    expect(control?.failures).toEqual(
      expect.arrayContaining([expect.stringMatching(/old module generations not collected/)]),
    )
    expect(Number(control?.generationsCollected)).toBe(0)
    expect(Number(control?.heapGrowthPer1000Bytes)).toBeGreaterThan(
      10 * Number(brine?.heapGrowthPer1000Bytes),
    )
  }, 240_000)
})
