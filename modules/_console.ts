import { isIPv6 } from 'node:net'
import { type CallContext, Issued, ModuleError, Secret } from 'brine/loader'
import { type Entity, type ManagedObjectReference, retrieveObjectProperties } from 'brine/vsphere'

/** VirtualMachine.AcquireTicket's ticket types (VirtualMachineTicketType). */
export const TICKET_TYPES = [
  'webmks',
  'mks',
  'device',
  'webRemoteDevice',
  'guestIntegrity',
  'guestControl',
] as const

interface VirtualMachineTicket {
  ticket: string
  cfgFile?: string
  host?: string
  port?: number
  sslThumbprint?: string
  url?: string
}

/** The console port each ticket type uses when vCenter does not say. */
const DEFAULT_PORTS: Record<string, number> = { mks: 902, device: 902 }

export interface Ticket {
  ticket: Secret
  cfgFile: string | undefined
  host: string
  port: number
  sslThumbprint: string | undefined
  /** Where the ticket is used: vCenter's url, else wss://host:port/ticket/… for WebSocket types. */
  url: Secret | undefined
}

/** Ticket types used over a WebSocket, at wss://{host}:{port}/ticket/{ticket}. */
const WEBSOCKET_TYPES = new Set(['webmks', 'webRemoteDevice', 'guestIntegrity'])

/**
 * AcquireTicket for a powered-on VM. The ticket is a credential for the host's console: it
 * comes back as a Secret (masked in every log and error), and its host name falls back to
 * the VM's host when vCenter leaves it out.
 */
export async function acquireTicket(
  ctx: CallContext,
  vm: Entity,
  ticketType: string,
): Promise<Ticket> {
  const power = vm.props['runtime.powerState']
  if (power !== undefined && power !== 'poweredOn') {
    throw new ModuleError(
      `VM '${vm.name}' is ${String(power)}: a console needs it powered on (vmware_vm.power_state ${vm.name} on).`,
      { code: 'BRINE_INVALID_STATE' },
    )
  }
  const si = ctx.serviceInstance
  const raw = (await si.invoke(
    'AcquireTicket',
    { _this: vm.obj, ticketType },
    { signal: ctx.signal },
  )) as VirtualMachineTicket
  const ticket = new Secret(raw.ticket)
  const host = raw.host || (await hostNameOf(ctx, vm))
  const port = raw.port ?? DEFAULT_PORTS[ticketType] ?? 443
  const url =
    raw.url || (WEBSOCKET_TYPES.has(ticketType) ? ticketUrl(host, port, raw.ticket) : undefined)
  return {
    ticket,
    cfgFile: raw.cfgFile,
    host,
    port,
    sslThumbprint: raw.sslThumbprint,
    url: url === undefined ? undefined : new Secret(url),
  }
}

/** `wss://{host}:{port}/ticket/{ticket}`, with an IPv6 host bracketed and the ticket encoded. */
export function ticketUrl(host: string, port: number, ticket: string): string {
  return `wss://${isIPv6(host) ? `[${host}]` : host}:${port}/ticket/${encodeURIComponent(ticket)}`
}

async function hostNameOf(ctx: CallContext, vm: Entity): Promise<string> {
  const si = ctx.serviceInstance
  const opts = { signal: ctx.signal }
  const host = (await retrieveObjectProperties(si, vm.obj, ['runtime.host'], opts))[
    'runtime.host'
  ] as ManagedObjectReference | undefined
  if (!host)
    throw new ModuleError(`VM '${vm.name}' has no host: vCenter named no console host`, {
      code: 'BRINE_INVALID_STATE',
    })
  return String((await retrieveObjectProperties(si, host, ['name'], opts)).name ?? host.value)
}

/** The ticket as saltext-vmware's get_mks_ticket answers it (pyVmomi's JSON field names). */
export function ticketOutput(ticket: Ticket) {
  return {
    ticket: new Issued(ticket.ticket.reveal()),
    cfgFile: ticket.cfgFile ?? null,
    host: ticket.host,
    port: ticket.port,
    sslThumbprint: ticket.sslThumbprint ?? null,
    url: ticket.url ? new Issued(ticket.url.reveal()) : null,
  }
}
