// Bundle the CLI and core into dist/ (generated, never committed). Reloadable modules
// (modules/, states/) stay sources: the loader transpiles them at run time.
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

// Chunk names carry content hashes: start from an empty dist/ so old chunks do not pile up.
rmSync('dist', { recursive: true, force: true })

await build({
  entryPoints: { cli: 'cli/main.ts' },
  outdir: 'dist',
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
