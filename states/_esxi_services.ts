// vmware_esxi's ntp_config state (saltext-vmware's states/esxi.py), with the firewall states of
// _esxi_firewall.ts, spread into vmware_esxi.ts's functions. It reads through the vmware_esxi
// execution functions, predicts its changes in test mode without writing, and reports no
// changes once the hosts are as asked.
import { defineFunction, z } from 'brine/loader'
import { startupPolicy } from '../modules/_esxi_services.ts'
import { states as firewallStates } from './_esxi_firewall.ts'
import { same, selection } from './_esxi_host_selection.ts'

export const states = {
  ntp_config: defineFunction({
    doc:
      'Make sure ntpd runs (or not), with these NTP servers and startup policy, on the selected ' +
      'hosts; service_restart=True restarts it (always a change). changes {host: {ntp_servers, ' +
      'service_running, service_policy, service_restart: {old, new}}}.',
    args: {
      name: z.string().min(1).describe('state name'),
      service_running: z.boolean().describe('ntpd should run (True) or be stopped (False)'),
      ntp_servers: z.array(z.string().min(1)).optional().describe('NTP servers'),
      service_policy: startupPolicy.optional().describe('on, off or automatic'),
      service_restart: z.boolean().default(false).describe('restart ntpd'),
      ...selection,
    },
    run: async (
      ctx,
      { name, service_running, ntp_servers, service_policy, service_restart, ...sel },
    ) => {
      const ntpd = 'ntpd'
      const ntp = (await ctx.salt('vmware_esxi.get_ntp_config', sel)) as Record<
        string,
        { ntp_servers: string[] }
      >
      const running = (await ctx.salt('vmware_esxi.list_services', {
        service_name: ntpd,
        ...sel,
      })) as Record<string, Record<string, { state: string; startup_policy: string }>>
      const changes: Record<string, Record<string, { old: unknown; new: unknown }>> = {}
      for (const [host, listed] of Object.entries(running)) {
        const service = listed[ntpd]
        if (!service || !ntp[host])
          return {
            name,
            result: false,
            changes: {},
            comment: `Host ${host} has no ntpd service or NTP configuration to manage.`,
          }
        const change: Record<string, { old: unknown; new: unknown }> = {}
        const target = { host_name: host, datacenter_name: sel.datacenter_name }
        const servers = ntp[host].ntp_servers
        if (ntp_servers?.length && !same(servers, ntp_servers)) {
          if (!ctx.test) await ctx.salt('vmware_esxi.set_ntp_config', { ntp_servers, ...target })
          change.ntp_servers = { old: servers, new: ntp_servers }
        }
        const isRunning = service.state === 'running'
        if (service_running !== isRunning) {
          if (!ctx.test)
            await ctx.salt(
              service_running ? 'vmware_esxi.service_start' : 'vmware_esxi.service_stop',
              {
                service_name: ntpd,
                ...target,
              },
            )
          change.service_running = { old: isRunning, new: service_running }
        }
        if (service_policy && service_policy !== service.startup_policy) {
          if (!ctx.test)
            await ctx.salt('vmware_esxi.service_policy', {
              service_name: ntpd,
              startup_policy: service_policy,
              ...target,
            })
          change.service_policy = { old: service.startup_policy, new: service_policy }
        }
        if (service_restart) {
          if (!ctx.test)
            await ctx.salt('vmware_esxi.service_restart', { service_name: ntpd, ...target })
          change.service_restart = { old: '', new: 'NTP Daemon Restarted.' }
        }
        if (Object.keys(change).length) changes[host] = change
      }
      if (!Object.keys(changes).length)
        return { name, result: true, changes, comment: 'NTP is already in the desired state.' }
      if (ctx.test) return { name, result: null, changes, comment: 'NTP state will change.' }
      return { name, result: true, changes, comment: 'NTP configuration was changed.' }
    },
  }),
  ...firewallStates,
}
