// Node built-in modules loaded on first use rather than when brine's bundle starts. Every
// module of the CLI bundle runs its imports at startup, and node:crypto alone (which loads
// all of Node's crypto internals) was a good part of a cold `brine call test.ping`, which
// needs no cryptography at all (issue 21).
import { createRequire } from 'node:module'

const load = createRequire(import.meta.url)

/** node:crypto, loaded by the first caller. */
export function nodeCrypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto')
}
