// vmware_esxi's services (saltext-vmware's modules/esxi.py list_services, service_*,
// get_service_policy, get_service_running), with the DNS/NTP/clock functions of _esxi_time.ts
// and the firewall writes of _esxi_firewall.ts, spread into vmware_esxi.ts's functions. Names,
// positional order and return shapes are saltext's; hosts are selected as its
// utils/esxi.get_hosts does (_esxi.ts selectHosts).
import { type CallContext, defineFunction, lazy, z } from 'brine/loader'
import { callVim, type ManagedObjectReference } from 'brine/vsphere'
import { bool, type Selection, selectHosts, selection } from './_esxi.ts'
import { functions as firewallFunctions } from './_esxi_firewall.ts'
import { explain, readManagers } from './_esxi_host_managers.ts'
import { functions as timeFunctions } from './_esxi_time.ts'
import { asList } from './_vmware.ts'

/** saltext's startup_policy: Salt's YAML and CLI turn `on`/`off` into booleans. */
export const startupPolicy = lazy(() =>
  z
    .union([z.enum(['on', 'off', 'automatic']), z.boolean()], {
      error: 'one of on, off, automatic (or True/False for on/off)',
    })
    .transform((policy) => (policy === true ? 'on' : policy === false ? 'off' : policy)),
)

interface Service {
  key: string
  label?: string
  running?: unknown
  policy?: string
}

const services = (info: unknown): Service[] =>
  asList((info as { service?: Service | Service[] } | undefined)?.service)

/** Call `method` of each selected host's service system for `service_name`; saltext's True. */
async function onServices(
  ctx: CallContext,
  sel: Selection,
  doing: string,
  method: string,
  serviceName: string,
  extra: Record<string, unknown> = {},
): Promise<true> {
  for (const host of await selectHosts(ctx, sel, ['configManager.serviceSystem'])) {
    const system = host.props['configManager.serviceSystem'] as ManagedObjectReference | undefined
    if (!system) continue
    try {
      await callVim(
        ctx.serviceInstance,
        `${doing} service '${serviceName}' on host '${host.name}'`,
        method,
        { _this: system, id: serviceName, ...extra },
        { signal: ctx.signal },
      )
    } catch (error) {
      throw explain(error, {
        NotFound: () => [
          `host '${host.name}' has no service '${serviceName}': service_name must be a key ` +
            'vmware_esxi.list_services reports (e.g. TSM-SSH, ntpd)',
          'BRINE_NOT_FOUND',
        ],
      })
    }
  }
  return true
}

/** saltext lets users say SSH for ESXi's TSM-SSH service. */
const serviceKey = (name: string) => (name === 'SSH' || name === 'ssh' ? 'TSM-SSH' : name)

/** get_service_policy / get_service_running: {host: {service_name: value}} or {host: {Error}}. */
async function serviceField(
  ctx: CallContext,
  sel: Selection,
  serviceName: string,
  field: (service: Service) => unknown,
) {
  const out: Record<string, Record<string, unknown>> = {}
  for (const { host, value } of await readManagers(ctx, sel, 'serviceSystem', 'serviceInfo')) {
    const found = services(value).find((s) => s.key === serviceKey(serviceName))
    out[host.name] = found
      ? { [serviceName]: field(found) }
      : { Error: `Could not find service '${serviceName}' for host '${host.name}'.` }
  }
  return out
}

const serviceArgs = lazy(() => ({
  service_name: z.string().min(1).describe('service key, e.g. TSM-SSH, ntpd'),
}))

export const functions = {
  list_services: defineFunction({
    doc:
      '{host: {service: {state: running|stopped, startup_policy}}}, filtered by service_name, ' +
      'state and startup_policy (on|off|automatic); a host without a service system gives {}.',
    args: () => ({
      service_name: z.string().min(1).optional().describe('one service key'),
      ...selection,
      state: z.enum(['running', 'stopped']).optional().describe('only services in this state'),
      startup_policy: startupPolicy().optional().describe('only services with this policy'),
    }),
    run: async (ctx, { service_name, state, startup_policy, ...sel }) => {
      const out: Record<string, Record<string, { state: string; startup_policy?: string }>> = {}
      for (const { host, value } of await readManagers(ctx, sel, 'serviceSystem', 'serviceInfo')) {
        const listed: Record<string, { state: string; startup_policy?: string }> = {}
        for (const service of services(value)) {
          const running = bool(service.running) ?? false
          if (service_name && service.key !== service_name) continue
          if (startup_policy && service.policy !== startup_policy) continue
          if (state && (state === 'running') !== running) continue
          listed[service.key] = {
            state: running ? 'running' : 'stopped',
            startup_policy: service.policy,
          }
        }
        out[host.name] = listed
      }
      return out
    },
  }),
  service_start: defineFunction({
    doc: 'Start a service on the selected hosts: True.',
    args: () => ({ ...serviceArgs(), ...selection }),
    run: (ctx, { service_name, ...sel }) =>
      onServices(ctx, sel, 'starting', 'StartService', service_name),
  }),
  service_stop: defineFunction({
    doc: 'Stop a service on the selected hosts: True.',
    args: () => ({ ...serviceArgs(), ...selection }),
    run: (ctx, { service_name, ...sel }) =>
      onServices(ctx, sel, 'stopping', 'StopService', service_name),
  }),
  service_restart: defineFunction({
    doc: 'Restart a service on the selected hosts (a stopped one starts): True.',
    args: () => ({ ...serviceArgs(), ...selection }),
    run: (ctx, { service_name, ...sel }) =>
      onServices(ctx, sel, 'restarting', 'RestartService', service_name),
  }),
  service_policy: defineFunction({
    doc: 'Set a service’s startup policy (on: with the host, off: manual, automatic: with its ports): True.',
    args: () => ({
      ...serviceArgs(),
      startup_policy: startupPolicy().describe('on, off or automatic'),
      ...selection,
    }),
    run: (ctx, { service_name, startup_policy, ...sel }) =>
      onServices(ctx, sel, 'setting the policy of', 'UpdateServicePolicy', service_name, {
        policy: startup_policy,
      }),
  }),
  get_service_policy: defineFunction({
    doc: '{host: {service_name: policy}}, or {host: {Error}} for a host without it; SSH means TSM-SSH.',
    args: () => ({ ...serviceArgs(), ...selection }),
    run: (ctx, { service_name, ...sel }) =>
      serviceField(ctx, sel, service_name, (service) => service.policy),
  }),
  get_service_running: defineFunction({
    doc: '{host: {service_name: running}}, or {host: {Error}} for a host without it; SSH means TSM-SSH.',
    args: () => ({ ...serviceArgs(), ...selection }),
    run: (ctx, { service_name, ...sel }) =>
      serviceField(ctx, sel, service_name, (service) => bool(service.running) ?? false),
  }),
  ...timeFunctions,
  ...firewallFunctions,
}
