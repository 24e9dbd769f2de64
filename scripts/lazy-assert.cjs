// What brine's bundles give undici for `require('node:assert')`: undici only calls
// `assert(value)`, never one of node:assert's methods (test/lazy-loading.test.ts checks its
// sources), and loading node:assert cost every `brine` call that talks to vCenter ~0.7 ms
// (issue 21). A failed check throws node:assert's own AssertionError, loaded then.
'use strict'

module.exports = function assert(value, message) {
  if (!value) require('node:assert')(value, message)
}
