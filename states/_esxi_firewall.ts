// vmware_esxi's firewall_config and firewall_configs states (saltext-vmware's states/esxi.py),
// spread in through _esxi_services.ts. Each reads through vmware_esxi.get_all_firewall_configs,
// writes through vmware_esxi.set_firewall_config, predicts its changes in test mode without
// writing, and reports no changes once the rulesets are as asked.
import { defineFunction, z } from 'brine/loader'
import { CIDR } from '../modules/_esxi_firewall.ts'
import { driftReport } from './_esxi_drift.ts'
import { same, selection } from './_esxi_host_selection.ts'

const allowedHosts = z
  .object({
    all_ip: z.boolean().optional(),
    ip_address: z.array(z.string().min(1)).optional(),
    ip_network: z.array(z.string().regex(CIDR, 'address/prefix, e.g. 192.168.0.0/24')).optional(),
  })
  .strict()

type HostRows = Record<
  string,
  Array<{
    key: string
    enabled: boolean
    allowed_hosts: { all_ip: boolean; ip_address: string[]; ip_network: string[] }
  }>
>

/** Python's repr of a value, as saltext's comments show it (True, ['a', 'b']). */
function pyRepr(value: unknown): string {
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (value === null || value === undefined) return 'None'
  if (Array.isArray(value))
    return `[${value.map((v) => (typeof v === 'string' ? `'${v}'` : pyRepr(v))).join(', ')}]`
  return String(value)
}

export const states = {
  firewall_config: defineFunction({
    doc:
      'Make sure firewall rulesets have these settings on the selected hosts. value maps the ' +
      'state’s name to a list of rulesets {name, enabled, allowed_hosts: {all_ip, ip_address, ' +
      'ip_network}}; changes {new: {host: {ruleset: {…}}}, old: …} of what differed; less=True ' +
      'reports only what differs in test mode.',
    args: () => ({
      name: z.string().min(1).describe('state name, also the key of value'),
      value: z
        .record(
          z.string(),
          z.array(
            z
              .object({
                name: z.string().min(1),
                enabled: z.boolean().optional(),
                allowed_hosts: allowedHosts.optional(),
              })
              .strict(),
          ),
        )
        .describe('{<name>: [rulesets]}'),
      ...selection,
      less: z.boolean().default(false).describe('test mode: report only what differs'),
    }),
    run: async (ctx, { name, value, less, ...sel }) => {
      const rulesets = value[name]
      if (!rulesets)
        return {
          name,
          result: false,
          changes: {},
          comment: `value has no entry '${name}': it maps the state's name to a list of rulesets`,
        }
      const all = (await ctx.salt('vmware_esxi.get_all_firewall_configs', sel)) as HostRows
      const missing: string[] = []
      for (const [host, rows] of Object.entries(all))
        for (const ruleset of rulesets)
          if (!rows.some((r) => r.key === ruleset.name))
            missing.push(`${ruleset.name} ruleset does not exist on ESXi server ${host}.`)
      if (missing.length) return { name, result: false, changes: {}, comment: missing.join('\n') }

      // What differs, per host and ruleset: [path, old, new] (path: enabled or allowed_hosts.<key>).
      const report: Record<string, Record<string, Array<[string[], unknown, unknown]>>> = {}
      const differs: Record<string, Record<string, Array<[string[], unknown, unknown]>>> = {}
      for (const [host, rows] of Object.entries(all)) {
        report[host] = {}
        for (const ruleset of rulesets) {
          const row = rows.find((r) => r.key === ruleset.name)!
          const items: Array<[string[], unknown, unknown]> = []
          if (ruleset.enabled !== undefined) items.push([['enabled'], row.enabled, ruleset.enabled])
          for (const [key, wanted] of Object.entries(ruleset.allowed_hosts ?? {}))
            items.push([
              ['allowed_hosts', key],
              row.allowed_hosts[key as keyof typeof row.allowed_hosts],
              wanted,
            ])
          report[host][ruleset.name] = items
          const changed = items.filter(([, old, now]) => !same(old, now))
          if (changed.length) differs[host] = { ...differs[host], [ruleset.name]: changed }
        }
      }
      if (!Object.keys(differs).length)
        return {
          name,
          result: true,
          changes: {},
          comment: 'Configurations are already in correct state.',
        }

      if (ctx.test) {
        const changes: Record<string, Record<string, Record<string, unknown>>> = {}
        for (const [host, byRule] of Object.entries(report)) {
          changes[host] = {}
          for (const [rule, items] of Object.entries(byRule)) {
            const shown: Record<string, unknown> = {}
            for (const [path, old, wanted] of items) {
              const key = path[path.length - 1]!
              if (same(old, wanted)) {
                if (!less) shown[key] = `${key} is already set to ${pyRepr(wanted)}`
              } else shown[key] = less ? old : `${key} will be set to ${pyRepr(wanted)}`
            }
            changes[host][rule] = shown
          }
        }
        return { name, result: null, changes, comment: 'These options are set to change.' }
      }

      const changes = { new: {} as Record<string, unknown>, old: {} as Record<string, unknown> }
      for (const [host, byRule] of Object.entries(differs)) {
        const newer: Record<string, Record<string, unknown>> = {}
        const older: Record<string, Record<string, unknown>> = {}
        for (const [rule, items] of Object.entries(byRule)) {
          const n: Record<string, unknown> = {}
          const o: Record<string, unknown> = {}
          for (const [path, old, wanted] of items) {
            if (path.length === 1) {
              n[path[0]!] = wanted
              o[path[0]!] = old
            } else {
              n.allowed_hosts = { ...(n.allowed_hosts as object), [path[1]!]: wanted }
              o.allowed_hosts = { ...(o.allowed_hosts as object), [path[1]!]: old }
            }
          }
          newer[rule] = n
          older[rule] = o
          await ctx.salt('vmware_esxi.set_firewall_config', {
            firewall_config: rulesets.find((r) => r.name === rule),
            host_name: host,
            datacenter_name: sel.datacenter_name,
          })
        }
        changes.new[host] = newer
        changes.old[host] = older
      }
      return {
        name,
        result: true,
        changes,
        comment: 'Configurations have successfully been changed.',
      }
    },
  }),
  firewall_configs: defineFunction({
    doc:
      'Make sure firewall rulesets are enabled or disabled and allow these hosts (all when no ' +
      'address or network is given) on the selected hosts. changes are the drift report of ' +
      'saltext’s utils/drift at drift_level (0: {host: {old: {ruleset: …}, new: …}}).',
    args: () => ({
      name: z.string().min(1).describe('state name'),
      config: z
        .array(
          z
            .object({
              name: z.string().min(1),
              enabled: z.boolean(),
              allowed_host: allowedHosts.optional(),
            })
            .strict(),
        )
        .describe('[{name, enabled, allowed_host: {all_ip, ip_address, ip_network}}]'),
      ...selection,
      drift_level: z.number().int().min(0).default(0).describe('tree level of the changes shown'),
    }),
    run: async (ctx, { name, config, drift_level, ...sel }) => {
      // The full wanted state of each ruleset: all hosts allowed unless addresses are given.
      const wanted: Record<string, { enabled: boolean; allowed_host: Record<string, unknown> }> = {}
      for (const rule of config) {
        const ipAddress = rule.allowed_host?.ip_address ?? []
        const ipNetwork = rule.allowed_host?.ip_network ?? []
        wanted[rule.name] = {
          enabled: rule.enabled,
          allowed_host: {
            all_ip: rule.allowed_host?.all_ip ?? !(ipAddress.length || ipNetwork.length),
            ip_address: ipAddress,
            ip_network: ipNetwork,
          },
        }
      }
      const all = (await ctx.salt('vmware_esxi.get_all_firewall_configs', sel)) as HostRows
      const changes: Record<string, unknown> = {}
      const apply: Record<string, string[]> = {}
      const missing: string[] = []
      for (const [host, rows] of Object.entries(all)) {
        for (const rule of Object.keys(wanted))
          if (!rows.some((row) => row.key === rule))
            missing.push(`${rule} ruleset does not exist on ESXi server ${host}.`)
        const current: Record<string, unknown> = {}
        for (const row of rows)
          if (row.key in wanted)
            current[row.key] = {
              enabled: row.enabled,
              allowed_host: {
                all_ip: row.allowed_hosts.all_ip,
                ip_address: row.allowed_hosts.ip_address,
                ip_network: row.allowed_hosts.ip_network,
              },
            }
        const diff = driftReport({ [host]: current }, { [host]: wanted }, 0)[host] as
          | { new: Record<string, unknown> }
          | undefined
        if (!diff) continue
        apply[host] = Object.keys(diff.new)
        changes[host] =
          drift_level > 0
            ? driftReport({ [host]: current }, { [host]: wanted }, drift_level)[host]
            : diff
      }
      if (!Object.keys(changes).length)
        return {
          name,
          result: true,
          changes,
          comment: 'Firewall rules are already in the desired state.',
        }
      // Test mode predicts the failure a real run meets at a ruleset the host lacks.
      if (ctx.test && missing.length)
        return { name, result: false, changes, comment: missing.join('\n') }
      if (ctx.test)
        return { name, result: null, changes, comment: 'Firewall rules would be changed.' }

      const comment: string[] = []
      let success = true
      for (const [host, rules] of Object.entries(apply))
        for (const rule of rules) {
          const { enabled, allowed_host } = wanted[rule]!
          try {
            await ctx.salt('vmware_esxi.set_firewall_config', {
              firewall_config: { name: rule, enabled, allowed_hosts: allowed_host },
              host_name: host,
              datacenter_name: sel.datacenter_name,
            })
            comment.push(`SUCCESS: Rule '${rule}' has been changed successfully for host ${host}.`)
          } catch (error) {
            success = false
            comment.push(
              `FAILURE: Error occurred while setting rule '${rule}' for host ${host}: ${(error as Error).message}`,
            )
          }
        }
      return { name, result: success, changes, comment: comment.join('\n') }
    },
  }),
}
