#!/usr/bin/env node
// The brine command. Runs the bundle built by `npm run build` (dist/), or the TypeScript
// sources through tsx when there is no bundle (a development checkout).
import { existsSync } from 'node:fs'

const bundle = new URL('../dist/cli.js', import.meta.url)
let main
if (existsSync(bundle)) {
  ;({ main } = await import(bundle.href))
} else {
  const { tsImport } = await import('tsx/esm/api')
  ;({ main } = await tsImport('../cli/main.ts', import.meta.url))
}
process.exitCode = await main(process.argv.slice(2))
