// vmware_vm's waits for the guest (wait_for_ip, wait_for_tools, wait_for_power) and a guest
// shutdown that waits until the VM is off, spread into vmware_vm.ts's functions. A wait
// follows the VM's power and guest properties with a private PropertyCollector
// (WaitForUpdatesEx), never by polling reads, bounded by `timeout` and the call's signal.
import { setTimeout as sleep } from 'node:timers/promises'
import { type CallContext, defineFunction, ModuleError, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type Entity,
  ManagedObjectNotFoundError,
  type ManagedObjectReference,
  NotAuthenticatedError,
  runTask,
  type ServiceInstance,
  TransportError,
  VimFaultError,
} from 'brine/vsphere'
import { aliased, asList, findInDatacenter, names, requiredAliased } from './_vmware.ts'

/** The properties a wait follows. */
export const GUEST_PROPS = [
  'runtime.powerState',
  'guest.toolsRunningStatus',
  'guest.toolsStatus',
  'guest.ipAddress',
  'guest.net',
]

/** The VM a function acts on: saltext's `vm_name`/`datacenter_name`, brine's `name`/`datacenter`. */
export const guestVmArgs = {
  vm_name: names.vm.optional(),
  datacenter_name: names.datacenter.optional(),
  name: names.vm.optional().describe('alias of vm_name'),
  datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
}

export interface GuestVmArgs {
  vm_name?: string | undefined
  datacenter_name?: string | undefined
  name?: string | undefined
  datacenter?: string | undefined
}

/** The VM (by name, id, instance or BIOS UUID) with `props` read in the same call. */
export function findGuestVm(ctx: CallContext, args: GuestVmArgs, props: string[]): Promise<Entity> {
  const name = requiredAliased({ vm_name: args.vm_name, name: args.name })
  const datacenter = aliased({ datacenter_name: args.datacenter_name, datacenter: args.datacenter })
  return findInDatacenter(ctx, ENTITY_TYPES.vm, name, datacenter, props)
}

const timeoutArg = (what: string) =>
  z.coerce.number().min(0).default(300).describe(`seconds to wait ${what} (0: look once)`)

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
          collector = await guestCollector(session, vm, ctx.signal)
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
async function guestCollector(
  session: ServiceInstance,
  vm: Entity,
  signal: AbortSignal,
): Promise<ManagedObjectReference> {
  const collector = await session.invoke<ManagedObjectReference>(
    'CreatePropertyCollector',
    { _this: session.content.propertyCollector },
    { signal },
  )
  try {
    await session.invoke(
      'CreateFilter',
      {
        _this: collector,
        spec: {
          propSet: [{ type: 'VirtualMachine', pathSet: GUEST_PROPS }],
          objectSet: [{ obj: vm.obj }],
        },
        partialUpdates: false,
      },
      { signal },
    )
    return collector
  } catch (error) {
    await destroyCollector(session, collector)
    throw error
  }
}

async function destroyCollector(session: ServiceInstance, collector: ManagedObjectReference) {
  if (session.closed) return
  await session
    .invoke(
      'DestroyPropertyCollector',
      { _this: collector },
      { signal: AbortSignal.timeout(10_000) },
    )
    .catch(() => {})
}

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

const POWER_STATES = {
  on: 'poweredOn',
  off: 'poweredOff',
  suspend: 'suspended',
  'powered-on': 'poweredOn',
  'powered-off': 'poweredOff',
  poweredOn: 'poweredOn',
  poweredOff: 'poweredOff',
  suspended: 'suspended',
} as const

const hasTools = (guest: GuestView) => guest.tools_running_status === 'guestToolsRunning'

export const functions = {
  wait_for_ip: defineFunction({
    doc:
      'Wait until the guest of a VM reports an IP address (VMware Tools running, ' +
      'guest.ipAddress set), at most `timeout` seconds: the address, every address of its ' +
      'NICs, power and Tools state. Past the timeout: BRINE_TIMEOUT. Test mode looks once.',
    args: { ...guestVmArgs, timeout: timeoutArg('for an address') },
    run: async (ctx, args) => {
      const vm = await findGuestVm(ctx, args, [])
      return waitForGuest(
        ctx,
        vm,
        'report an IP address',
        (guest) => guest.ip_address !== null,
        args.timeout,
        'power it on (vmware_vm.power_state), check that VMware Tools run in the guest and ' +
          'that it has a network, or wait longer (timeout=)',
      )
    },
  }),
  wait_for_tools: defineFunction({
    doc:
      'Wait until VMware Tools run in the guest (guest.toolsRunningStatus guestToolsRunning), ' +
      'at most `timeout` seconds. Past the timeout: BRINE_TIMEOUT. Test mode looks once.',
    args: { ...guestVmArgs, timeout: timeoutArg('for VMware Tools') },
    run: async (ctx, args) => {
      const vm = await findGuestVm(ctx, args, [])
      return waitForGuest(
        ctx,
        vm,
        'run VMware Tools',
        hasTools,
        args.timeout,
        'power it on, install or start VMware Tools in the guest, or wait longer (timeout=)',
      )
    },
  }),
  wait_for_power: defineFunction({
    doc:
      'Wait until the VM is in power state `state` (on/poweredOn, off/poweredOff, ' +
      'suspend/suspended), at most `timeout` seconds. Past the timeout: BRINE_TIMEOUT.',
    args: {
      ...guestVmArgs,
      state: z
        .preprocess(
          (v) => (v === true ? 'on' : v === false ? 'off' : v),
          z.enum(Object.keys(POWER_STATES) as [keyof typeof POWER_STATES]),
        )
        .describe('power state to wait for'),
      timeout: timeoutArg('for the power state'),
    },
    run: async (ctx, args) => {
      const vm = await findGuestVm(ctx, args, [])
      const wanted = POWER_STATES[args.state]
      return waitForGuest(
        ctx,
        vm,
        `become ${wanted}`,
        (guest) => guest.power_state === wanted,
        args.timeout,
        'change its power state (vmware_vm.power_state) or wait longer (timeout=)',
      )
    },
  }),
  shutdown: defineFunction({
    doc:
      'Shut the guest down (ShutdownGuest, through VMware Tools) and wait until the VM is ' +
      'off, at most `timeout` seconds. Refused when VMware Tools are not running, unless ' +
      'force=True, which then powers the VM off (as it does when the guest is still on at ' +
      'the timeout). {name, power_state, changed, forced, comment}. Test mode changes nothing.',
    args: {
      ...guestVmArgs,
      timeout: timeoutArg('for the guest to power the VM off'),
      force: z
        .boolean()
        .default(false)
        .describe('power off when Tools are not running or the guest is not off in time'),
    },
    run: async (ctx, args) => {
      const vm = await findGuestVm(ctx, args, GUEST_PROPS)
      const guest = describeGuest(vm, vm.props)
      const answer = (changed: boolean, forced: boolean, comment: string, power: string) => ({
        name: vm.name,
        power_state: power,
        changed,
        forced,
        comment,
      })
      if (guest.power_state === 'poweredOff')
        return answer(false, false, `VM '${vm.name}' is already powered off.`, 'poweredOff')
      const tools = hasTools(guest) && guest.power_state === 'poweredOn'
      if (!tools && !args.force) throw toolsRefusal(vm.name, guest.power_state)
      if (ctx.test)
        return answer(
          true,
          !tools,
          tools
            ? `VM '${vm.name}' would be shut down by its guest.`
            : `VM '${vm.name}' has no VMware Tools running: it would be powered off (force).`,
          guest.power_state,
        )
      const powerOff = async (why: string) => {
        await runTask(
          ctx.serviceInstance,
          `powering off VM '${vm.name}'`,
          'PowerOffVM_Task',
          { _this: vm.obj },
          { signal: ctx.signal },
        )
        return answer(true, true, `VM '${vm.name}' powered off (${why}).`, 'poweredOff')
      }
      if (!tools) return powerOff('VMware Tools are not running; force=True')
      try {
        await callVim(
          ctx.serviceInstance,
          `shutting down the guest of VM '${vm.name}'`,
          'ShutdownGuest',
          {
            _this: vm.obj,
          },
        )
      } catch (error) {
        if (error instanceof VimFaultError && error.faultType === 'ToolsUnavailable') {
          if (args.force) return powerOff('VMware Tools are not running; force=True')
          throw toolsRefusal(vm.name, guest.power_state, error)
        }
        throw error
      }
      try {
        const after = await waitForGuest(
          ctx,
          vm,
          'power off after the guest shutdown',
          (g) => g.power_state === 'poweredOff',
          args.timeout,
          'the guest may ignore the request; wait longer (timeout=) or pass force=True to power it off',
        )
        return answer(true, false, `VM '${vm.name}' shut down by its guest.`, after.power_state)
      } catch (error) {
        if (args.force && error instanceof ModuleError && error.code === 'BRINE_TIMEOUT')
          return powerOff(`the guest was still on after ${args.timeout} s; force=True`)
        throw error
      }
    },
  }),
}

function toolsRefusal(vm: string, power: string, cause?: unknown): ModuleError {
  return new ModuleError(
    power === 'poweredOn'
      ? `VM '${vm}' cannot be shut down by its guest: VMware Tools are not running. Start ` +
          'them (vmware_vm.wait_for_tools), or pass force=True to power it off'
      : `VM '${vm}' is ${power}: only a powered-on guest can shut down; pass force=True to power it off`,
    { code: 'BRINE_VIM_TOOLS_UNAVAILABLE', cause },
  )
}
