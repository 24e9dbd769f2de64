// vmware_esxi's services, DNS/NTP/date-time and firewall writes (saltext-vmware's modules/esxi.py),
// spread into vmware_esxi.ts's functions. Names, positional order and return shapes are
// saltext's; hosts are selected as its utils/esxi.get_hosts does (_esxi.ts selectHosts).
import { type CallContext, defineFunction, ModuleError, z } from 'brine/loader'
import {
  callVim,
  type Entity,
  type ManagedObjectReference,
  propertiesOf,
  retrieveProperties,
} from 'brine/vsphere'
import { bool, num, type Selection, selectHosts, selection } from './_esxi.ts'
import { asList } from './_vmware.ts'

type Manager = 'serviceSystem' | 'dateTimeSystem' | 'firewallSystem'

/**
 * The selected hosts, each with `path` read from its configManager.<manager> (one
 * PropertyCollector call for the hosts, one for their managers). A host without that manager
 * has `value` undefined.
 */
async function readManagers(
  ctx: CallContext,
  sel: Selection,
  manager: Manager,
  path: string,
): Promise<Array<{ host: Entity; ref?: ManagedObjectReference; value?: unknown }>> {
  const hosts = await selectHosts(ctx, sel, [`configManager.${manager}`])
  const refs = hosts.map(
    (host) => host.props[`configManager.${manager}`] as ManagedObjectReference | undefined,
  )
  const present = refs.filter((ref): ref is ManagedObjectReference => ref !== undefined)
  const values = new Map<string, unknown>()
  if (present.length) {
    const objects = await retrieveProperties(
      ctx.serviceInstance,
      [
        {
          propSet: [{ type: present[0]!.type, pathSet: [path] }],
          objectSet: present.map((obj) => ({ obj })),
        },
      ],
      { signal: ctx.signal },
    )
    for (const object of objects) values.set(object.obj.value, propertiesOf(object)[path])
  }
  return hosts.map((host, i) => {
    const ref = refs[i]
    return ref ? { host, ref, value: values.get(ref.value) } : { host }
  })
}

interface Service {
  key: string
  label?: string
  running?: unknown
  policy?: string
}

const services = (info: unknown): Service[] =>
  asList((info as { service?: Service | Service[] } | undefined)?.service)

/** saltext's startup_policy: Salt's YAML and CLI turn `on`/`off` into booleans. */
export const startupPolicy = z
  .union([z.enum(['on', 'off', 'automatic']), z.boolean()], {
    error: 'one of on, off, automatic (or True/False for on/off)',
  })
  .transform((policy) => (policy === true ? 'on' : policy === false ? 'off' : policy))

/** A fault named by the server (NotFound, InvalidArgument) as a ModuleError that says the fix. */
function explain(
  error: unknown,
  faults: Record<string, () => [message: string, code: string]>,
): unknown {
  const faultType = (error as { faultType?: string }).faultType
  const known = faultType ? faults[faultType] : undefined
  if (!known) return error
  const [message, code] = known()
  return new ModuleError(message, { code, cause: error })
}

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

const serviceArgs = { service_name: z.string().min(1).describe('service key, e.g. TSM-SSH, ntpd') }

/** An IP network as address/prefix (saltext splits it at the slash). */
export const CIDR = /^[^/\s]+\/\d{1,3}$/

// firewall_config as saltext takes it: {name, enabled, allowed_hosts: {all_ip, ip_address, ip_network}}.
export const rulesetConfig = z.object({
  name: z.string().min(1).describe('ruleset key, e.g. sshServer'),
  enabled: z.boolean().optional().describe('enable or disable the ruleset'),
  allowed_hosts: z
    .object({
      all_ip: z.boolean().optional(),
      ip_address: z.array(z.string().min(1)).optional(),
      ip_network: z
        .array(z.string().regex(CIDR, 'address/prefix, e.g. 192.168.0.0/24'))
        .optional()
        .describe('networks as address/prefix'),
    })
    .optional()
    .describe('who may connect; keys left out keep their value'),
})
export type RulesetConfig = z.infer<typeof rulesetConfig>

interface Ruleset {
  key: string
  service?: string
  enabled?: unknown
  required?: unknown
  label?: string
  rule?: unknown
  allowedHosts?: {
    allIp?: unknown
    ipAddress?: string | string[]
    ipNetwork?:
      | { network: string; prefixLength: unknown }
      | Array<{ network: string; prefixLength: unknown }>
  }
}

/** A ruleset in saltext's get_firewall_config shape (vmware_esxi.get_firewall_config's). */
async function rulesetOf(ctx: CallContext, host: string, ruleset: string) {
  const got = (await ctx.salt('vmware_esxi.get_firewall_config', {
    ruleset_name: ruleset,
    host_name: host,
  })) as Record<string, unknown[]>
  return got
}

/**
 * Apply one ruleset config to one host's firewall system: enable or disable it when `enabled`
 * is given, set allowedHosts (keys left out keep the host's value) when `allowed_hosts` is.
 */
async function applyRuleset(
  ctx: CallContext,
  host: Entity,
  firewall: ManagedObjectReference,
  config: RulesetConfig,
  current: Ruleset | undefined,
) {
  const si = ctx.serviceInstance
  const what = `setting firewall ruleset '${config.name}' on host '${host.name}'`
  try {
    // Allowed hosts first: an address the host refuses leaves the ruleset as it was.
    if (config.allowed_hosts) {
      const wanted = config.allowed_hosts
      const now = current?.allowedHosts
      await callVim(
        si,
        what,
        'UpdateRuleset',
        {
          _this: firewall,
          id: config.name,
          spec: {
            _type: 'HostFirewallRulesetRulesetSpec',
            allowedHosts: {
              _type: 'HostFirewallRulesetIpList',
              ipAddress: wanted.ip_address ?? asList(now?.ipAddress),
              ipNetwork: (
                wanted.ip_network?.map((cidr) => cidr.split('/')) ??
                asList(now?.ipNetwork).map((n) => [n.network, n.prefixLength])
              ).map(([network, prefix]) => ({
                _type: 'HostFirewallRulesetIpNetwork',
                network,
                prefixLength: Number(prefix),
              })),
              allIp: wanted.all_ip ?? bool(now?.allIp) ?? false,
            },
          },
        },
        { signal: ctx.signal },
      )
    }
    if (config.enabled !== undefined)
      await callVim(
        si,
        what,
        config.enabled ? 'EnableRuleset' : 'DisableRuleset',
        { _this: firewall, id: config.name },
        { signal: ctx.signal },
      )
  } catch (error) {
    throw explain(error, {
      NotFound: () => [
        `host '${host.name}' has no firewall ruleset '${config.name}': firewall_config.name ` +
          'must be a key vmware_esxi.get_all_firewall_configs reports (e.g. sshServer)',
        'BRINE_NOT_FOUND',
      ],
      InvalidArgument: () => [
        `host '${host.name}' refused firewall_config.allowed_hosts of ruleset '${config.name}': ` +
          `${(error as Error).message} (give IP addresses, and networks as address/prefix)`,
        'BRINE_ARGUMENT',
      ],
    })
  }
}

/** saltext's set_firewall_config on the selected hosts: [{host: [ruleset]}] in host order. */
export async function setFirewallConfig(ctx: CallContext, sel: Selection, config: RulesetConfig) {
  const out: Array<Record<string, unknown[]>> = []
  for (const { host, ref, value } of await readManagers(
    ctx,
    sel,
    'firewallSystem',
    'firewallInfo',
  )) {
    if (!ref) continue
    const rulesets = asList((value as { ruleset?: Ruleset | Ruleset[] } | undefined)?.ruleset)
    await applyRuleset(
      ctx,
      host,
      ref,
      config,
      rulesets.find((r) => r.key === config.name),
    )
    out.push(await rulesetOf(ctx, host.name, config.name))
  }
  return out
}

/** Python's datetime.ctime() of a UTC time: 'Fri Nov 27 21:42:19 2026'. */
function ctime(date: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getUTCDay()]
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })
  const pad = (n: number) => String(n).padStart(2, '0')
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  return `${day} ${month} ${String(date.getUTCDate()).padStart(2, ' ')} ${time} ${date.getUTCFullYear()}`
}

export const functions = {
  list_services: defineFunction({
    doc:
      '{host: {service: {state: running|stopped, startup_policy}}}, filtered by service_name, ' +
      'state and startup_policy (on|off|automatic); a host without a service system gives {}.',
    args: {
      service_name: z.string().min(1).optional().describe('one service key'),
      ...selection,
      state: z.enum(['running', 'stopped']).optional().describe('only services in this state'),
      startup_policy: startupPolicy.optional().describe('only services with this policy'),
    },
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
    args: { ...serviceArgs, ...selection },
    run: (ctx, { service_name, ...sel }) =>
      onServices(ctx, sel, 'starting', 'StartService', service_name),
  }),
  service_stop: defineFunction({
    doc: 'Stop a service on the selected hosts: True.',
    args: { ...serviceArgs, ...selection },
    run: (ctx, { service_name, ...sel }) =>
      onServices(ctx, sel, 'stopping', 'StopService', service_name),
  }),
  service_restart: defineFunction({
    doc: 'Restart a service on the selected hosts (a stopped one starts): True.',
    args: { ...serviceArgs, ...selection },
    run: (ctx, { service_name, ...sel }) =>
      onServices(ctx, sel, 'restarting', 'RestartService', service_name),
  }),
  service_policy: defineFunction({
    doc: 'Set a service’s startup policy (on: with the host, off: manual, automatic: with its ports): True.',
    args: {
      ...serviceArgs,
      startup_policy: startupPolicy.describe('on, off or automatic'),
      ...selection,
    },
    run: (ctx, { service_name, startup_policy, ...sel }) =>
      onServices(ctx, sel, 'setting the policy of', 'UpdateServicePolicy', service_name, {
        policy: startup_policy,
      }),
  }),
  get_service_policy: defineFunction({
    doc: '{host: {service_name: policy}}, or {host: {Error}} for a host without it; SSH means TSM-SSH.',
    args: { ...serviceArgs, ...selection },
    run: (ctx, { service_name, ...sel }) =>
      serviceField(ctx, sel, service_name, (service) => service.policy),
  }),
  get_service_running: defineFunction({
    doc: '{host: {service_name: running}}, or {host: {Error}} for a host without it; SSH means TSM-SSH.',
    args: { ...serviceArgs, ...selection },
    run: (ctx, { service_name, ...sel }) =>
      serviceField(ctx, sel, service_name, (service) => bool(service.running) ?? false),
  }),
  get_dns_config: defineFunction({
    doc: '{host: {dhcp, virtual_nic, host_name, domain_name, ip}}; hosts without DNS configuration are left out.',
    args: selection,
    run: async (ctx, sel) => {
      const out: Record<string, unknown> = {}
      for (const host of await selectHosts(ctx, sel, ['config.network.dnsConfig'])) {
        const dns = host.props['config.network.dnsConfig'] as
          | {
              dhcp?: unknown
              virtualNicDevice?: string
              hostName?: string
              domainName?: string
              address?: string | string[]
            }
          | undefined
        if (!dns) continue
        out[host.name] = {
          dhcp: bool(dns.dhcp) ?? false,
          virtual_nic: dns.virtualNicDevice ?? null,
          host_name: dns.hostName,
          domain_name: dns.domainName,
          ip: asList(dns.address),
        }
      }
      return out
    },
  }),
  get_ntp_config: defineFunction({
    doc: '{host: {time_zone, time_zone_name, time_zone_description, time_zone_gmt_offset, ntp_servers, ntp_config_file}}',
    args: selection,
    run: async (ctx, sel) => {
      const out: Record<string, unknown> = {}
      for (const { host, value } of await readManagers(
        ctx,
        sel,
        'dateTimeSystem',
        'dateTimeInfo',
      )) {
        if (!value) continue
        const info = value as {
          timeZone?: { key?: string; name?: string; description?: string; gmtOffset?: unknown }
          ntpConfig?: { server?: string | string[]; configFile?: string | string[] }
        }
        const configFile = asList(info.ntpConfig?.configFile)
        out[host.name] = {
          time_zone: info.timeZone?.key,
          time_zone_name: info.timeZone?.name,
          time_zone_description: info.timeZone?.description,
          time_zone_gmt_offset: num(info.timeZone?.gmtOffset),
          ntp_servers: asList(info.ntpConfig?.server),
          ntp_config_file: configFile.length ? configFile : null,
        }
      }
      return out
    },
  }),
  set_ntp_config: defineFunction({
    doc: 'Replace the NTP servers of the selected hosts: {host: True}.',
    args: {
      ntp_servers: z.array(z.string().min(1)).describe('NTP servers (a list; [] clears them)'),
      ...selection,
    },
    run: async (ctx, { ntp_servers, ...sel }) => {
      const out: Record<string, boolean> = {}
      for (const host of await selectHosts(ctx, sel, ['configManager.dateTimeSystem'])) {
        const system = host.props['configManager.dateTimeSystem'] as
          | ManagedObjectReference
          | undefined
        if (!system)
          throw new ModuleError(`host '${host.name}' has no date/time system to set NTP on`, {
            code: 'BRINE_UNSUPPORTED',
          })
        await callVim(
          ctx.serviceInstance,
          `setting the NTP servers of host '${host.name}'`,
          'UpdateDateTimeConfig',
          {
            _this: system,
            config: {
              _type: 'HostDateTimeConfig',
              ntpConfig: { _type: 'HostNtpConfig', server: ntp_servers },
            },
          },
          { signal: ctx.signal },
        )
        out[host.name] = true
      }
      return out
    },
  }),
  get_host_datetime: defineFunction({
    doc: "{host: the host's clock, as Python's ctime() writes it (UTC)}",
    args: {
      host_name: selection.host_name,
      datacenter_name: selection.datacenter_name,
      cluster_name: selection.cluster_name,
    },
    run: async (ctx, sel) => {
      const out: Record<string, string> = {}
      for (const host of await selectHosts(ctx, sel, ['configManager.dateTimeSystem'])) {
        const system = host.props['configManager.dateTimeSystem'] as
          | ManagedObjectReference
          | undefined
        if (!system) continue
        const now = await callVim<string>(
          ctx.serviceInstance,
          `reading the clock of host '${host.name}'`,
          'QueryDateTime',
          { _this: system },
          { signal: ctx.signal },
        )
        out[host.name] = ctime(new Date(now))
      }
      return out
    },
  }),
  set_firewall_config: defineFunction({
    doc:
      'Set one firewall ruleset on the selected hosts: firewall_config {name, enabled, ' +
      'allowed_hosts: {all_ip, ip_address, ip_network}} (what is left out is kept). ' +
      '[{host: [ruleset]}] in get_firewall_config’s shape.',
    args: { firewall_config: rulesetConfig.describe('the ruleset and its settings'), ...selection },
    run: (ctx, { firewall_config, ...sel }) => setFirewallConfig(ctx, sel, firewall_config),
  }),
  set_all_firewall_configs: defineFunction({
    doc: 'Set several rulesets on each selected host: [[{host: [ruleset]}], …], one per host and ruleset.',
    args: {
      firewall_configs: z
        .array(rulesetConfig)
        .describe('rulesets, as set_firewall_config takes them'),
      ...selection,
    },
    run: async (ctx, { firewall_configs, ...sel }) => {
      const out: unknown[] = []
      for (const host of await selectHosts(ctx, sel, []))
        for (const config of firewall_configs)
          out.push(
            await setFirewallConfig(
              ctx,
              { host_name: host.name, datacenter_name: sel.datacenter_name },
              config,
            ),
          )
      return out
    },
  }),
}
