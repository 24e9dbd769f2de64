// Bundle the CLI and core into dist/ (generated, never committed). Reloadable modules
// (modules/, states/) stay sources: the loader transpiles them at run time.
import { build } from 'esbuild'

await build({
  entryPoints: { cli: 'cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
})
