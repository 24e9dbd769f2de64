// Build dist/ (generated, never committed): the CLI, the library entry points and the
// library's type declarations. Reloadable modules (modules/, states/) stay sources: the loader
// transpiles them at run time.
//
//   tsx scripts/build.ts            what `npm run build` runs
//   tsx scripts/build.ts --prune    also remove every other build folder (`prepack`: the
//                                   package holds one build)
//
// Two bundles, one build folder:
// - the library (ENTRIES), ESM with code splitting, so that `brine`, `brine/vsphere`… share
//   one copy of each class;
// - the CLI, one CommonJS file (cli.cjs), which bin/brine.js compiles with a V8 code cache
//   kept beside the transpile cache: Node 20 caches no ESM compilation, and parsing the
//   bundle was most of what `brine call test.ping` added to `node -e 0`. Its modules reach
//   the library's code as host modules inside that one file, so a process running the CLI
//   has one copy of each class too.
//
// The build is atomic: a `brine` started during `npm run build` never finds half a dist/.
// The bundles are named by a hash of their content and written to a temporary folder inside
// dist/, renamed to dist/build-<hash>/ once complete (a build identical to one already
// there reuses it); then each stub (dist/<entry>.js re-exporting that build's file, and
// dist/cli.cjs naming the CLI's) is replaced by a rename. Node loads the library's chunks
// (some lazily, mid-run) relative to the build folder, so a process started on the previous
// build keeps finding its chunks: that build is kept, older ones are removed.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
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
import { createRequire } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'
import { type BuildOptions, build } from 'esbuild'

/** Library output name → source; the package.json `exports` map names the same files. */
const ENTRIES = {
  index: 'index.ts',
  loader: 'loader/api.ts',
  vsphere: 'vsphere/api.ts',
  runner: 'runner/api.ts',
  console: 'console/api.ts',
} as const

const DIST = 'dist'
const BUILD = /^build-[0-9a-z-]+$/
const TEMP = /^\.(tmp-|types-|[a-z]+\.c?js\.)/
// Another `npm run build` may be between writing its folder and pointing the stubs at it:
// leave folders that young alone.
const GRACE_MS = 10 * 60_000

const prune = process.argv.includes('--prune')
const unknown = process.argv.slice(2).filter((arg) => arg !== '--prune')
if (unknown.length > 0) {
  console.error(`build: unknown argument ${unknown[0]}; the only option is --prune`)
  process.exit(2)
}

const tag = `${Date.now().toString(36)}-${process.pid}`
mkdirSync(DIST, { recursive: true })

// --- the bundles ---
const staging = join(DIST, `.tmp-${tag}`)
const common: BuildOptions = {
  outdir: staging,
  write: false,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Dependencies are bundled too (one parse instead of hundreds of small files: zod alone
  // costs ~50 ms to import unbundled); those with native binaries stay external.
  // better-sqlite3 loads its native addon from its own directory; ws's optional native
  // helpers are not installed. pg (node-postgres) is loaded only when the postgresql console
  // store is chosen.
  external: ['esbuild', 'better-sqlite3', 'pg', 'bufferutil', 'utf-8-validate'],
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  plugins: [
    {
      // undici's HTTP/2 client gets scripts/lazy-http2.cjs for node:http2 (see that file).
      name: 'lazy-http2',
      setup(build) {
        build.onResolve({ filter: /^node:http2$/ }, (args) =>
          args.importer.includes(`${sep}undici${sep}lib${sep}dispatcher${sep}client-h2.js`)
            ? { path: join(import.meta.dirname, 'lazy-http2.cjs') }
            : undefined,
        )
      },
    },
    {
      // undici gets scripts/lazy-assert.cjs for node:assert (see that file).
      name: 'lazy-assert',
      setup(build) {
        build.onResolve({ filter: /^node:assert$/ }, (args) =>
          args.importer.includes(`${sep}undici${sep}lib${sep}`)
            ? { path: join(import.meta.dirname, 'lazy-assert.cjs') }
            : undefined,
        )
      },
    },
  ],
}
const library = await build({
  ...common,
  entryPoints: ENTRIES,
  splitting: true,
  format: 'esm',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __brineCreateRequire } from 'node:module'; const require = __brineCreateRequire(import.meta.url);",
  },
})
const cli = await build({
  ...common,
  // client.cjs: bin/brine.js's fast path to a running daemon (Node's modules and three small
  // files); cli.cjs: everything else.
  entryPoints: { cli: 'cli/main.ts', client: 'cli/daemon-fast.ts' },
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // The sources' import.meta.url (finding the package root, createRequire) is the file's URL.
  define: { 'import.meta.url': '__brineFileUrl' },
  banner: { js: "const __brineFileUrl = require('node:url').pathToFileURL(__filename).href;" },
})
const outputs = [...(library.outputFiles ?? []), ...(cli.outputFiles ?? [])]
const files = outputs
  .map((file) => ({ path: relative(staging, file.path), contents: file.contents }))
  .map((file) => (file.path === 'cli.cjs' ? { ...file, contents: wrapCli(file.contents) } : file))
  .sort((a, b) => (a.path < b.path ? -1 : 1))
const hash = createHash('sha256')
for (const file of files) hash.update(file.path).update('\0').update(file.contents).update('\0')
const id = `build-${hash.digest('hex').slice(0, 16)}`

const previous = currentBuild()
if (!existsSync(join(DIST, id))) {
  try {
    for (const file of files) {
      mkdirSync(dirname(join(staging, file.path)), { recursive: true })
      writeFileSync(join(staging, file.path), file.contents)
    }
    renameSync(staging, join(DIST, id))
  } catch (error) {
    rmSync(staging, { recursive: true, force: true })
    // A concurrent build of the same sources renamed the same folder in first.
    if (!existsSync(join(DIST, id))) throw error
  }
}
for (const name of Object.keys(ENTRIES)) {
  const temp = join(DIST, `.${name}.js.${tag}`)
  writeFileSync(temp, `export * from './${id}/${name}.js'\n`)
  renameSync(temp, join(DIST, `${name}.js`))
}
// bin/brine.js reads the CLI's path from this stub; require() of it works too.
const cliStub = join(DIST, `.cli.cjs.${tag}`)
writeFileSync(cliStub, `module.exports = require('./${id}/cli.cjs')\n`)
renameSync(cliStub, join(DIST, 'cli.cjs'))

// --- the type declarations (for the library's users; the bundle needs none) ---
// tsc writes them to a temporary folder, whose relative imports are then made to name the
// .js files a consumer resolves (the sources import './x.ts'); the folder replaces
// dist/types whole.
const types = join(DIST, `.types-${tag}`)
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.types.json', '--outDir', types], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
} catch {
  rmSync(types, { recursive: true, force: true })
  console.error('build: tsc could not emit the type declarations (its errors are above)')
  process.exit(1)
}
rewriteDeclarationImports(types)
const old = join(DIST, `.types-old-${tag}`)
if (existsSync(join(DIST, 'types'))) renameSync(join(DIST, 'types'), old)
renameSync(types, join(DIST, 'types'))
rmSync(old, { recursive: true, force: true })

// --- clean up: builds other than this one and the previous (with --prune, other than this
// one), the flat layout of older scripts, and what failed builds left behind ---
for (const entry of readdirSync(DIST)) {
  if (entry === id || entry === 'types' || (!prune && entry === previous)) continue
  if (entry === 'cli.cjs' || (entry.endsWith('.js') && entry.slice(0, -3) in ENTRIES)) continue
  const path = join(DIST, entry)
  if ((BUILD.test(entry) || TEMP.test(entry)) && Date.now() - statSync(path).mtimeMs < GRACE_MS)
    if (!(prune && BUILD.test(entry))) continue
  rmSync(path, { recursive: true, force: true })
}

/** The build folder dist/cli.cjs points at now, if it is a stub. */
function currentBuild(): string | undefined {
  const stub = join(DIST, 'cli.cjs')
  if (!existsSync(stub)) return undefined
  return /^module\.exports = require\('\.\/([^/]+)\/cli\.cjs'\)/.exec(
    readFileSync(stub, 'utf8'),
  )?.[1]
}

/** `from './x.ts'` → `from './x.js'` in every declaration file under `dir`. */
function rewriteDeclarationImports(dir: string): void {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
    const path = join(entry.parentPath, entry.name)
    const text = readFileSync(path, 'utf8')
    const fixed = text.replace(/((?:from|import\()\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2')
    if (fixed !== text) writeFileSync(path, fixed)
  }
}

/**
 * cli.cjs in the form bin/brine.js compiles as is: one function expression, the CommonJS
 * wrapper Node would add, applied to `arguments`. bin/brine.js passes that source to
 * vm.Script (its code cache needs a Script) with the module's five arguments in a global
 * `arguments` for the moment it runs; require() works too, `arguments` being those of
 * Node's own wrapper. Before, bin/brine.js wrapped the text itself, and the process held the
 * 1.85 MB bundle twice until a full GC that a short call never reaches: 2.7 MB of
 * `brine call test.ping`'s peak memory (issue 21). The prefix shares the first line with
 * the banner, so the source map's lines stay right.
 */
function wrapCli(contents: Uint8Array): Uint8Array {
  // ASCII throughout, so that bin/brine.js reads it as Latin-1 (~2 ms less than decoding
  // UTF-8 at every start). esbuild escapes what its code holds (its default charset); the
  // legal comments it copies keep their authors' names: escaped here, inside a comment.
  const text = new TextDecoder()
    .decode(contents)
    .replace(/[^\0-\x7f]/gu, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`)
  return new TextEncoder().encode(
    `(function (exports, require, module, __filename, __dirname) {${text}\n}).apply(arguments[0], arguments)\n`,
  )
}
