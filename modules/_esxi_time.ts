// vmware_esxi's DNS, NTP and clock functions (saltext-vmware's modules/esxi.py get_dns_config,
// get_ntp_config, set_ntp_config, get_host_datetime), spread in through _esxi_services.ts.
import { defineFunction, ModuleError, z } from 'brine/loader'
import { callVim, type ManagedObjectReference } from 'brine/vsphere'
import { bool, num, selectHosts, selection } from './_esxi.ts'
import { readManagers } from './_esxi_host_managers.ts'
import { asList } from './_vmware.ts'

/** Python's datetime.ctime() of a UTC time: 'Fri Nov 27 21:42:19 2026'. */
function ctime(date: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getUTCDay()]
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })
  const pad = (n: number) => String(n).padStart(2, '0')
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  return `${day} ${month} ${String(date.getUTCDate()).padStart(2, ' ')} ${time} ${date.getUTCFullYear()}`
}

export const functions = {
  get_dns_config: defineFunction({
    doc: '{host: {dhcp, virtual_nic, host_name, domain_name, ip}}; hosts without DNS configuration are left out.',
    args: () => selection,
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
          host_name: dns.hostName ?? null,
          domain_name: dns.domainName ?? null,
          ip: asList(dns.address),
        }
      }
      return out
    },
  }),
  get_ntp_config: defineFunction({
    doc: '{host: {time_zone, time_zone_name, time_zone_description, time_zone_gmt_offset, ntp_servers, ntp_config_file}}',
    args: () => selection,
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
          time_zone: info.timeZone?.key ?? null,
          time_zone_name: info.timeZone?.name ?? null,
          time_zone_description: info.timeZone?.description ?? null,
          time_zone_gmt_offset: num(info.timeZone?.gmtOffset) ?? null,
          ntp_servers: asList(info.ntpConfig?.server),
          ntp_config_file: configFile.length ? configFile : null,
        }
      }
      return out
    },
  }),
  set_ntp_config: defineFunction({
    doc: 'Replace the NTP servers of the selected hosts: {host: True}.',
    args: () => ({
      ntp_servers: z.array(z.string().min(1)).describe('NTP servers (a list; [] clears them)'),
      ...selection,
    }),
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
    args: () => ({
      host_name: selection.host_name,
      datacenter_name: selection.datacenter_name,
      cluster_name: selection.cluster_name,
    }),
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
}
