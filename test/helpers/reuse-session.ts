// Child process for the session store test: check out a session through the store (and with
// `vms`, list the VMs' names) and print how many logins that took, the SOAP calls it made and
// the VMs it listed. Usage: reuse-session.ts <url> <user> <password> <caFile> <dir> [vms]
import { resolveConnectionParams } from '../../vsphere/connection-params.ts'
import { retrieveAll } from '../../vsphere/property-collector.ts'
import { SessionCache } from '../../vsphere/session-cache.ts'
import { SessionStore } from '../../vsphere/session-store.ts'
import { observeSoapCalls } from '../../vsphere/soap-observers.ts'

const [url, user, password, caFile, dir, what] = process.argv.slice(2)
const calls: string[] = []
observeSoapCalls((call) => calls.push(call.method))
const cache = new SessionCache({ store: new SessionStore({ dir }) })
const si = await cache.checkout(
  resolveConnectionParams({ server: url!, user: user!, password: password!, caFile }),
)
const vms = what === 'vms' ? (await retrieveAll(si, 'VirtualMachine', ['name'])).length : undefined
process.stdout.write(JSON.stringify({ logins: cache.logins, key: si.userSession?.key, calls, vms }))
await cache.closeAll()
