// The `wait_for_ip` option of the vmware_vm states (present, power_state): once the state is
// applied, wait until the guest reports an IP address (vmware_vm.wait_for_ip). Test mode does
// not wait; a powered-off VM is not waited for (it gets no address).
import { type CallContext, z } from 'brine/loader'
import type vmware_vm from '../modules/vmware_vm.ts'

export const waitForIpArg = z
  .union([z.boolean(), z.coerce.number().min(0)])
  .optional()
  .describe('once applied, wait until the guest has an IP address: True (300 s) or seconds')

interface StateResult {
  name: string
  result: boolean | null
  comment: string
  changes: Record<string, unknown>
}

/**
 * `ret` after waiting for the guest's IP when `wait` asks for it and the state succeeded: the
 * comment names the address; a wait that fails makes the result False, its comment saying why.
 */
async function afterWaitForIp(
  ctx: CallContext,
  vm: string,
  wait: boolean | number | undefined,
  ret: StateResult,
): Promise<StateResult> {
  if (wait === undefined || wait === false || ret.result === false) return ret
  if (ctx.test)
    return { ...ret, comment: `${ret.comment} It would then wait for the guest's IP address.` }
  const timeout = wait === true ? 300 : wait
  const machine = ctx.module<typeof vmware_vm>('vmware_vm')
  try {
    await machine.wait_for_power({ name: vm, state: 'poweredOn', timeout: 0 })
  } catch {
    return {
      ...ret,
      result: false,
      comment: `${ret.comment} VM '${vm}' is not powered on: it gets no IP address; power it on (power: on) to wait for one.`,
    }
  }
  try {
    const guest = await machine.wait_for_ip({ name: vm, timeout })
    return { ...ret, comment: `${ret.comment} Guest IP address: ${guest.ip_address}.` }
  } catch (error) {
    return { ...ret, result: false, comment: `${ret.comment} ${(error as Error).message}` }
  }
}

/** A state's run function with the `wait_for_ip` option applied after it. */
export function withWaitForIp<
  A extends { name: string; wait_for_ip?: boolean | number | undefined },
>(
  run: (ctx: CallContext, args: A) => Promise<StateResult>,
): (ctx: CallContext, args: A) => Promise<StateResult> {
  return async (ctx, args) => afterWaitForIp(ctx, args.name, args.wait_for_ip, await run(ctx, args))
}
