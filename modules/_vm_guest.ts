// vmware_vm's waits for the guest (wait_for_ip, wait_for_tools, wait_for_power) and a guest
// shutdown that waits until the VM is off, spread into vmware_vm.ts's functions.
import { type CallContext, defineFunction, lazy, ModuleError, z } from 'brine/loader'
import { callVim, ENTITY_TYPES, type Entity, runTask, VimFaultError } from 'brine/vsphere'
import { describeGuest, GUEST_PROPS, type GuestView, waitForGuest } from './_guest_wait.ts'
import { aliased, findInDatacenter, names, requiredAliased } from './_vmware.ts'

/** The VM a function acts on: saltext's `vm_name`/`datacenter_name`, brine's `name`/`datacenter`. */
export const guestVmArgs = lazy(() => ({
  vm_name: names.vm.optional(),
  datacenter_name: names.datacenter.optional(),
  name: names.vm.optional().describe('alias of vm_name'),
  datacenter: names.datacenter.optional().describe('alias of datacenter_name'),
}))

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
    args: () => ({ ...guestVmArgs(), timeout: timeoutArg('for an address') }),
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
    args: () => ({ ...guestVmArgs(), timeout: timeoutArg('for VMware Tools') }),
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
    args: () => ({
      ...guestVmArgs(),
      state: z
        .preprocess(
          (v) => (v === true ? 'on' : v === false ? 'off' : v),
          z.enum(Object.keys(POWER_STATES) as [keyof typeof POWER_STATES]),
        )
        .describe('power state to wait for'),
      timeout: timeoutArg('for the power state'),
    }),
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
    args: () => ({
      ...guestVmArgs(),
      timeout: timeoutArg('for the guest to power the VM off'),
      force: z
        .boolean()
        .default(false)
        .describe('power off when Tools are not running or the guest is not off in time'),
    }),
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
