// Child process for the session store tests: check out a session through the store (kept
// there on exit) and print how many logins that took and the session key.
// Usage: store-checkout.ts <url> <user> <password> <dir>
import { resolveConnectionParams } from '../../vsphere/connection-params.ts'
import { SessionCache } from '../../vsphere/session-cache.ts'
import { SessionStore } from '../../vsphere/session-store.ts'

const [url, user, password, dir] = process.argv.slice(2)
const cache = new SessionCache({ store: new SessionStore({ dir }) })
const si = await cache.checkout(
  resolveConnectionParams({ server: url!, user: user!, password: password!, insecure: true }),
)
process.stdout.write(JSON.stringify({ logins: cache.logins, key: si.userSession?.key }))
await cache.closeAll()
