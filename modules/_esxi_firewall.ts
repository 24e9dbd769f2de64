// vmware_esxi's firewall writes (saltext-vmware's modules/esxi.py set_firewall_config,
// set_all_firewall_configs), spread in through _esxi_services.ts; the reads are vmware_esxi.ts's
// get_firewall_config and get_all_firewall_configs.
import { type CallContext, defineFunction, lazy, z } from 'brine/loader'
import { callVim, type Entity, type ManagedObjectReference } from 'brine/vsphere'
import { bool, type Selection, selectHosts, selection } from './_esxi.ts'
import { explain, readManagers } from './_esxi_host_managers.ts'
import { asList } from './_vmware.ts'

/** An IP network as address/prefix (saltext splits it at the slash). */
export const CIDR = /^[^/\s]+\/\d{1,3}$/

// firewall_config as saltext takes it: {name, enabled, allowed_hosts: {all_ip, ip_address, ip_network}}.
export const rulesetConfig = lazy(() =>
  z.object({
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
  }),
)
export type RulesetConfig = z.infer<ReturnType<typeof rulesetConfig>>

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

export const functions = {
  set_firewall_config: defineFunction({
    doc:
      'Set one firewall ruleset on the selected hosts: firewall_config {name, enabled, ' +
      'allowed_hosts: {all_ip, ip_address, ip_network}} (what is left out is kept). ' +
      '[{host: [ruleset]}] in get_firewall_config’s shape.',
    args: () => ({
      firewall_config: rulesetConfig().describe('the ruleset and its settings'),
      ...selection,
    }),
    run: (ctx, { firewall_config, ...sel }) => setFirewallConfig(ctx, sel, firewall_config),
  }),
  set_all_firewall_configs: defineFunction({
    doc: 'Set several rulesets on each selected host: [[{host: [ruleset]}], …], one per host and ruleset.',
    args: () => ({
      firewall_configs: z
        .array(rulesetConfig())
        .describe('rulesets, as set_firewall_config takes them'),
      ...selection,
    }),
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
