// Waiting for a VM's guest: its power and guest properties followed with a private
// PropertyCollector (WaitForUpdatesEx), never by polling reads, bounded by a timeout and the
// call's signal, carrying on through a dead session. Used by vmware_vm's wait_for_* and
// shutdown (_vm_guest.ts) and the vmware_vm states' wait_for_ip option.
import { setTimeout as sleep } from 'node:timers/promises'
import { type CallContext, ModuleError } from 'brine/loader'
import {
  createObjectCollector,
  destroyCollector,
  type Entity,
  ManagedObjectNotFoundError,
  type ManagedObjectReference,
  NotAuthenticatedError,
  TransportError,
} from 'brine/vsphere'
import { asList } from './_vmware.ts'

/** The properties a wait follows. */
export const GUEST_PROPS = [
  'runtime.powerState',
  'guest.toolsRunningStatus',
  'guest.toolsStatus',
  'guest.ipAddress',
  'guest.net',
]

interface GuestNic {
  macAddress?: string
  ipAddress?: string | string[]
}

/** brine's description of a VM's guest, from GUEST_PROPS. */
export function describeGuest(vm: Entity, props: Record<string, unknown>) {
  const nics = asList(props['guest.net'] as GuestNic | GuestNic[] | undefined)
  return {
    name: vm.name,
    id: vm.obj.value,
    power_state: String(props['runtime.powerState'] ?? 'unknown'),
    tools_running_status: String(props['guest.toolsRunningStatus'] ?? 'guestToolsNotRunning'),
    tools_status: String(props['guest.toolsStatus'] ?? 'toolsNotInstalled'),
    ip_address: (props['guest.ipAddress'] as string | undefined) || null,
    ip_addresses: nics.flatMap((nic) => asList(nic.ipAddress)),
  }
}

export type GuestView = ReturnType<typeof describeGuest>

/**
 * Wait until `reached` holds for the VM's GUEST_PROPS, following their changes with a private
 * PropertyCollector on the session itself (one WaitForUpdatesEx per change or per bounded
 * wait), for at most `timeout` seconds and as long as the call's signal allows. Progress goes
 * to ctx.progress. Past the timeout: BRINE_TIMEOUT naming the VM, what it waited for and
 * where the guest is. Test mode does not wait: it looks once.
 */
export async function waitForGuest(
  ctx: CallContext,
  vm: Entity,
  what: string,
  reached: (guest: GuestView) => boolean,
  timeout: number,
  fix: string,
): Promise<GuestView> {
  const si = ctx.serviceInstance
  const deadline = Date.now() + timeout * 1000
  const props: Record<string, unknown> = {}
  let session = await si.ready()
  let collector: ManagedObjectReference | undefined
  let version = ''
  let failures = 0
  try {
    for (;;) {
      let updates: UpdateSet | undefined
      let maxWaitSeconds = 0
      try {
        if (!collector) {
          session = await si.ready()
          collector = await createObjectCollector(session, vm.obj, GUEST_PROPS, ctx.signal)
          version = ''
        }
        const requestSeconds = Math.floor(session.params.requestTimeoutMs / 2000)
        const left = Math.max(0, deadline - Date.now())
        maxWaitSeconds =
          version === '' || ctx.test ? 0 : Math.min(Math.ceil(left / 1000), requestSeconds)
        updates = await session.invoke<UpdateSet | undefined>(
          'WaitForUpdatesEx',
          { _this: collector, version, options: { maxWaitSeconds } },
          { signal: ctx.signal },
        )
        failures = 0
      } catch (error) {
        // A session that died (vCenter restarted, the session expired) or a lost answer: the
        // collector goes with it; a new one, on the session the proxy gives now, reads the
        // guest's state again. Tried until the deadline, as the wait itself is.
        failures++
        if (ctx.signal.aborted || !recoverable(error) || Date.now() >= deadline) throw error
        if (error instanceof TransportError) session.valid = false
        if (collector) await destroyCollector(session, collector)
        collector = undefined
        // A restarting server refuses connections for a while: back off (0.25 s … 2 s).
        await sleep(Math.min(2000, 125 * 2 ** failures), undefined, { signal: ctx.signal })
        if (Date.now() < deadline) continue
      }
      if (updates) {
        version = updates.version
        applyUpdates(props, updates)
      } else if (maxWaitSeconds === 0 && version !== '' && !ctx.test) {
        // A request timeout under 2 s leaves no room for a server-side wait: pause instead.
        await sleep(250, undefined, { signal: ctx.signal })
      }
      const guest = describeGuest(vm, props)
      if (reached(guest)) {
        ctx.progress(100, `waited for VM '${vm.name}' to ${what}`)
        return guest
      }
      if (ctx.test) return guest
      const now = Date.now()
      if (now >= deadline)
        throw new ModuleError(
          `VM '${vm.name}' did not ${what} within ${timeout} s (power ${guest.power_state}, ` +
            `tools ${guest.tools_running_status}, IP ${guest.ip_address ?? 'none'}): ${fix}`,
          { code: 'BRINE_TIMEOUT' },
        )
      ctx.progress(
        timeout > 0
          ? Math.min(99, Math.floor((100 * (timeout * 1000 - (deadline - now))) / (timeout * 1000)))
          : 0,
        `waiting for VM '${vm.name}' to ${what} (power ${guest.power_state}, tools ${guest.tools_running_status})`,
      )
    }
  } finally {
    if (collector) await destroyCollector(session, collector)
  }
}

/** A private PropertyCollector on `session` itself, filtering the VM's GUEST_PROPS. */
/** Failures after which a new collector (on a new session, if need be) can carry on. */
function recoverable(error: unknown): boolean {
  return (
    error instanceof NotAuthenticatedError ||
    error instanceof ManagedObjectNotFoundError ||
    (error instanceof TransportError &&
      [
        'CONNECTION_DROPPED',
        'REQUEST_TIMEOUT',
        'NETWORK',
        'CONNECTION_REFUSED',
        'CONNECT_TIMEOUT',
      ].includes(error.failure))
  )
}

interface UpdateSet {
  version: string
  filterSet?: Array<{
    objectSet?: Array<{ changeSet?: Array<{ name: string; op: string; val?: unknown }> }>
  }>
}

function applyUpdates(props: Record<string, unknown>, updates: UpdateSet) {
  for (const filter of asList(updates.filterSet))
    for (const object of asList(filter.objectSet))
      for (const change of asList(object.changeSet)) {
        if (change.op === 'assign' && change.val !== undefined) props[change.name] = change.val
        else delete props[change.name]
      }
}
