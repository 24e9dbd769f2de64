// Preloaded with `node -r` before bin/brine.js: at exit, a last stderr line naming the Node
// built-in modules the process loaded (process.moduleLoadList), for test/lazy-loading.test.ts;
// before it, the bytes in V8's large-object space (where the CLI bundle's source text lives).
process.on('exit', () => {
  const builtins = process.moduleLoadList
    .filter((name) => name.startsWith('NativeModule '))
    .map((name) => name.slice('NativeModule '.length))
  // Loaded after the list is taken: the list is the call's own.
  const large = require('node:v8')
    .getHeapSpaceStatistics()
    .find((space) => space.space_name === 'large_object_space')
  process.stderr.write(`\nlarge objects: ${large.space_used_size}\n`)
  process.stderr.write(`\nbuiltins: ${JSON.stringify(builtins)}\n`)
})
