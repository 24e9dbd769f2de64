// How a VM's guest customization went, from vCenter's events (CustomizationStartedEvent, then
// CustomizationSucceeded or a CustomizationFailed subtype), and waiting for it.
import { setTimeout as sleep } from 'node:timers/promises'
import { type CallContext, ModuleError } from 'brine/loader'
import { callVim, type ManagedObjectReference, retrieveObjectProperties } from 'brine/vsphere'
import { asList } from './_vmware.ts'

type Raw = Record<string, unknown>

/** vCenter's customization events, in the order the guest goes through them. */
export const CUSTOMIZATION_EVENTS = [
  'CustomizationStartedEvent',
  'CustomizationSucceeded',
  'CustomizationFailed',
  'CustomizationLinuxIdentityFailed',
  'CustomizationNetworkSetupFailed',
  'CustomizationSysprepFailed',
  'CustomizationUnknownFailure',
]

export interface CustomizationOutcome {
  /** none: no customization seen; running: started, no outcome yet. */
  status: 'none' | 'running' | 'succeeded' | 'failed'
  /** The deciding event's type and message (vCenter's fullFormattedMessage). */
  event: string | null
  message: string | null
  log_location: string | null
}

/** The latest customization of a VM as its events tell it (EventManager.QueryEvents). */
export async function customizationOutcome(
  ctx: CallContext,
  vm: ManagedObjectReference,
): Promise<CustomizationOutcome> {
  const si = ctx.serviceInstance
  const events = asList(
    await callVim<Raw | Raw[] | undefined>(
      si,
      `reading the customization events of VM '${vm.value}'`,
      'QueryEvents',
      {
        _this: si.content.eventManager as ManagedObjectReference,
        // EventFilterSpec, WSDL order.
        filter: { entity: { entity: vm, recursion: 'self' }, eventTypeId: CUSTOMIZATION_EVENTS },
      },
      { signal: ctx.signal },
    ),
  ).sort((a, b) => Number(a.key) - Number(b.key))
  const started = events.findLastIndex((e) => e._type === 'CustomizationStartedEvent')
  const decided = events.slice(started + 1).find((e) => e._type !== 'CustomizationStartedEvent')
  const deciding = decided ?? events[started]
  if (!deciding) return { status: 'none', event: null, message: null, log_location: null }
  return {
    status: !decided
      ? 'running'
      : decided._type === 'CustomizationSucceeded'
        ? 'succeeded'
        : 'failed',
    event: String(deciding._type),
    message:
      deciding.fullFormattedMessage === undefined ? null : String(deciding.fullFormattedMessage),
    log_location: deciding.logLocation === undefined ? null : String(deciding.logLocation),
  }
}

const CUSTOMIZATION_POLL_MS = 2000

/**
 * Wait, at most `timeout` seconds, for the guest of a powered-on VM to finish its
 * customization; a failure throws with vCenter's event message.
 */
export async function awaitCustomization(
  ctx: CallContext,
  vm: ManagedObjectReference,
  vmName: string,
  timeout: number,
): Promise<CustomizationOutcome> {
  const deadline = Date.now() + timeout * 1000
  for (;;) {
    // While vCenter still holds the customization for the guest, older events say nothing
    // about this one (a VM customized before has its earlier outcome in its events).
    const pending = (
      await retrieveObjectProperties(
        ctx.serviceInstance,
        vm,
        ['config.tools.pendingCustomization'],
        {
          signal: ctx.signal,
        },
      )
    )['config.tools.pendingCustomization']
    const outcome: CustomizationOutcome =
      typeof pending === 'string' && pending !== ''
        ? {
            status: 'running',
            event: null,
            message: 'not yet started in the guest',
            log_location: null,
          }
        : await customizationOutcome(ctx, vm)
    if (outcome.status === 'failed')
      throw new ModuleError(
        `the guest customization of VM '${vmName}' failed (${outcome.event}): ${outcome.message ?? 'no message'}` +
          (outcome.log_location ? ` (guest log: ${outcome.log_location})` : ''),
        { code: 'BRINE_VIM_CUSTOMIZATION_FAILED' },
      )
    if (outcome.status === 'succeeded' || timeout === 0 || Date.now() >= deadline) return outcome
    ctx.progress(0, `waiting for the guest customization of VM '${vmName}'`)
    await sleep(Math.min(CUSTOMIZATION_POLL_MS, Math.max(0, deadline - Date.now())), undefined, {
      signal: ctx.signal,
    })
  }
}

/** The `customization` part of a clone's or deploy's answer. */
export async function reportCustomization(
  ctx: CallContext,
  vm: ManagedObjectReference,
  vmName: string,
  poweredOn: boolean,
  timeout: number,
): Promise<CustomizationOutcome | { status: 'pending'; event: null; message: string }> {
  if (!poweredOn)
    return {
      status: 'pending',
      event: null,
      message: `runs in the guest when VM '${vmName}' is next powered on`,
    }
  return awaitCustomization(ctx, vm, vmName, timeout)
}
