// Child process for the reload leak test: reload a module N times through the loader, with a
// FinalizationRegistry on each generation's definition, then count what the GC collected.
// Prints a JSON report. Run with --expose-gc.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultOpts } from '../../loader/opts.ts'
import { Runtime } from '../../loader/runtime.ts'
import { ServiceInstance } from '../../vsphere/service-instance.ts'

const reloads = Number(process.argv[2] ?? 100)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')

const dir = mkdtempSync(join(tmpdir(), 'brine-gc-modules-'))
const write = (i: number) =>
  writeFileSync(
    join(dir, 'heavy.ts'),
    `import { defineFunction, defineModule } from 'brine/loader'
import { ServiceInstance } from 'brine/vsphere'
// 1 MB retained by this generation only.
const payload = 'x'.repeat(1024 * 1024) + ${i}
export default defineModule({
  functions: {
    size: defineFunction({ doc: 'size', args: {}, run: () => payload.length }),
    cls: defineFunction({ doc: 'class', args: {}, run: () => ServiceInstance }),
  },
})
`,
  )

let collected = 0
const registry = new FinalizationRegistry(() => {
  collected++
})
const runtime = new Runtime({
  opts: defaultOpts({
    id: 'gc',
    file_roots: [],
    pillar_roots: [],
  }),
  pillar: {},
  moduleDirs: [dir],
  stateDirs: [],
  signal: new AbortController().signal,
})

let sameClass = true
let baseline = 0
for (let i = 0; i < reloads; i++) {
  write(i)
  await runtime.modules.reload('heavy')
  await runtime.call('heavy.size')
  if ((await runtime.call('heavy.cls')) !== ServiceInstance) sameClass = false
  registry.register(runtime.modules.module('heavy')!.definition, i)
  if (i === 0) {
    gc()
    baseline = process.memoryUsage().heapUsed
  }
}
for (let i = 0; i < 10; i++) {
  gc()
  await new Promise((resolve) => setTimeout(resolve, 10))
}
const heapGrowthBytes = process.memoryUsage().heapUsed - baseline
process.stdout.write(
  JSON.stringify({ reloads, collected, alive: reloads - collected, heapGrowthBytes, sameClass }),
)
await runtime.close()
