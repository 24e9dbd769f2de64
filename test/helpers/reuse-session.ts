// Child process for the session store test: check out a session through the store and print
// how many logins that took and the SOAP calls it made. Usage: reuse-session.ts <url> <user> <password> <caFile> <dir>
import { resolveConnectionParams } from '../../vsphere/connection-params.ts'
import { SessionCache } from '../../vsphere/session-cache.ts'
import { SessionStore } from '../../vsphere/session-store.ts'
import { observeSoapCalls } from '../../vsphere/soap-observers.ts'

const [url, user, password, caFile, dir] = process.argv.slice(2)
const calls: string[] = []
observeSoapCalls((call) => calls.push(call.method))
const cache = new SessionCache({ store: new SessionStore({ dir }) })
const si = await cache.checkout(
  resolveConnectionParams({ server: url!, user: user!, password: password!, caFile }),
)
process.stdout.write(JSON.stringify({ logins: cache.logins, key: si.userSession?.key, calls }))
await cache.closeAll()
