// Preloaded with `node -r` before bin/brine.js: counts fs.readFileSync calls on the file named
// by COUNT_READS_OF and writes `reads: N` as the last stderr line at exit, for
// test/lazy-loading.test.ts. The bundle calls fs.readFileSync through the module object, so
// the wrapper sees its reads.
const fs = require('node:fs')
const { resolve } = require('node:path')
const target = resolve(process.env.COUNT_READS_OF)
const readFileSync = fs.readFileSync
let reads = 0
fs.readFileSync = function (path, ...rest) {
  if (typeof path === 'string' && resolve(path) === target) reads++
  return readFileSync.call(this, path, ...rest)
}
process.on('exit', () => process.stderr.write(`\nreads: ${reads}\n`))
