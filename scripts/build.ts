// Bundle the CLI and core into dist/ (generated, never committed). Reloadable modules
// (modules/, states/) stay sources: the loader transpiles them at run time.
//
// The build is atomic: a `brine` started during `npm run build` never finds half a dist/.
// esbuild writes into a temporary folder inside dist/, which is renamed to dist/<build id>/
// once complete; then dist/cli.js, a one-line stub re-exporting that build's cli.js, is
// replaced by a rename. Node loads the bundle's chunks (some lazily, mid-run) relative to the
// build folder, so a process started on the previous build keeps finding its chunks: that
// build is kept, older ones are removed.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const DIST = 'dist'
const BUILD = /^build-[0-9a-z]+-\d+$/
const TEMP = /^\.(tmp-|cli\.js\.)/
// Another `npm run build` may be between writing its folder and pointing the stub at it:
// leave folders that young alone.
const GRACE_MS = 10 * 60_000

const id = `build-${Date.now().toString(36)}-${process.pid}`
const temp = join(DIST, `.tmp-${id}`)
mkdirSync(DIST, { recursive: true })

try {
  await build({
    entryPoints: { cli: 'cli/main.ts' },
    outdir: temp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Dependencies are bundled too (one parse instead of hundreds of small files: zod alone
    // costs ~50 ms to import unbundled); those with native binaries stay external.
    // better-sqlite3 loads its native addon from its own directory; ws's optional native
    // helpers are not installed.
    external: ['esbuild', 'better-sqlite3', 'bufferutil', 'utf-8-validate'],
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __brineCreateRequire } from 'node:module'; const require = __brineCreateRequire(import.meta.url);",
    },
    sourcemap: true,
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  })
} catch (error) {
  rmSync(temp, { recursive: true, force: true })
  throw error
}

const stub = join(DIST, 'cli.js')
const previous = currentBuild()
renameSync(temp, join(DIST, id))
const stubTemp = join(DIST, `.cli.js.${id}`)
writeFileSync(stubTemp, `export * from './${id}/cli.js'\n`)
renameSync(stubTemp, stub)

// Clean up: builds other than this one and the previous, the flat layout of older scripts,
// and what failed builds left behind.
for (const entry of readdirSync(DIST)) {
  if (entry === 'cli.js' || entry === id || entry === previous) continue
  const path = join(DIST, entry)
  if ((BUILD.test(entry) || TEMP.test(entry)) && Date.now() - statSync(path).mtimeMs < GRACE_MS)
    continue
  rmSync(path, { recursive: true, force: true })
}

/** The build folder dist/cli.js points at now, if it is a stub. */
function currentBuild(): string | undefined {
  if (!existsSync(stub)) return undefined
  return /^export \* from '\.\/([^/]+)\/cli\.js'/.exec(readFileSync(stub, 'utf8'))?.[1]
}
