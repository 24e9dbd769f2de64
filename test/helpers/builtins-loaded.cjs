// Preloaded with `node -r` before bin/brine.js: at exit, a last stderr line naming the Node
// built-in modules the process loaded (process.moduleLoadList), for test/lazy-loading.test.ts.
process.on('exit', () => {
  const builtins = process.moduleLoadList
    .filter((name) => name.startsWith('NativeModule '))
    .map((name) => name.slice('NativeModule '.length))
  process.stderr.write(`\nbuiltins: ${JSON.stringify(builtins)}\n`)
})
