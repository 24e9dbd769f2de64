// vmware_esxi's ntp_config state (saltext-vmware's states/esxi.py) and brine's service_configured, with the firewall states of
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
    args: () => ({
      name: z.string().min(1).describe('state name'),
      service_running: z.boolean().describe('ntpd should run (True) or be stopped (False)'),
      ntp_servers: z.array(z.string().min(1)).optional().describe('NTP servers'),
      service_policy: startupPolicy().optional().describe('on, off or automatic'),
      service_restart: z.boolean().default(false).describe('restart ntpd'),
      ...selection,
    }),
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
  service_configured: defineFunction({
    doc:
      "brine's (saltext-vmware has no service state): the service runs or is stopped, with this " +
      'startup policy, on every selected host; what is not given is left alone. A host without ' +
      'the service fails the state before anything changes. changes {host: {running, ' +
      'startup_policy: {old, new}}}.',
    args: () => ({
      name: z.string().min(1).describe('service key: TSM-SSH (or SSH), TSM, ntpd, …'),
      running: z.boolean().optional().describe('the service should run (True) or be stopped'),
      startup_policy: startupPolicy().optional().describe('on, off or automatic'),
      ...selection,
    }),
    run: async (ctx, { name, running, startup_policy, ...sel }) => {
      const key = name === 'SSH' || name === 'ssh' ? 'TSM-SSH' : name
      const listed = (await ctx.salt('vmware_esxi.list_services', {
        service_name: key,
        ...sel,
      })) as Record<string, Record<string, { state: string; startup_policy: string }>>
      const without = Object.keys(listed).filter((host) => !listed[host]![key])
      if (without.length)
        return {
          name,
          result: false,
          changes: {},
          comment: `Service '${key}' does not exist on host(s) ${without.join(', ')}: vmware_esxi.list_services shows the keys.`,
        }
      const changes: Record<string, Record<string, { old: unknown; new: unknown }>> = {}
      for (const [host, services] of Object.entries(listed)) {
        const service = services[key]!
        const change: Record<string, { old: unknown; new: unknown }> = {}
        const isRunning = service.state === 'running'
        if (running !== undefined && running !== isRunning)
          change.running = { old: isRunning, new: running }
        if (startup_policy && startup_policy !== service.startup_policy)
          change.startup_policy = { old: service.startup_policy, new: startup_policy }
        if (Object.keys(change).length) changes[host] = change
      }
      if (!Object.keys(changes).length)
        return {
          name,
          result: true,
          changes,
          comment: `Service '${key}' is already as wanted on ${Object.keys(listed).length} host(s).`,
        }
      if (ctx.test)
        return {
          name,
          result: null,
          changes,
          comment: `Service '${key}' would change on ${Object.keys(changes).length} host(s).`,
        }
      for (const [host, change] of Object.entries(changes)) {
        const target = { service_name: key, host_name: host, datacenter_name: sel.datacenter_name }
        if (change.startup_policy)
          await ctx.salt('vmware_esxi.service_policy', { ...target, startup_policy })
        if (change.running)
          await ctx.salt(running ? 'vmware_esxi.service_start' : 'vmware_esxi.service_stop', target)
      }
      return {
        name,
        result: true,
        changes,
        comment: `Service '${key}' changed on ${Object.keys(changes).length} host(s).`,
      }
    },
  }),
  ...firewallStates,
}
