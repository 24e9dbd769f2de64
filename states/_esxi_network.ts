// vmware_esxi's vmkernel_adapter_present/absent and vmotion_configured states (saltext-vmware's
// states/esxi.py), spread into vmware_esxi.ts's functions. Return shapes are saltext's:
// saltext's comments; changes are brine's `{host: {<what>: {old, new}}}` (saltext's adapter
// states give `{host: device}`, its vMotion state `{host: {enabled: {old, new}}}`).
import { defineFunction, z } from 'brine/loader'
import { selectHosts, selection } from '../modules/_esxi.ts'
import {
  type AdapterArgs,
  adapterArgs,
  adapterDiff,
  checkAdapterArgs,
  dvsPort,
  HOST_PROPS,
  saveAdapter,
  vmotionDevices,
  vnicsOf,
} from '../modules/_esxi_network.ts'

/** The name ESXi gives the next adapter it adds: the lowest vmkN not in use. */
function nextDevice(devices: string[]): string {
  for (let i = 0; ; i++) if (!devices.includes(`vmk${i}`)) return `vmk${i}`
}

const list = (hosts: string[]) => hosts.sort().join(',') || '-'

export const states = {
  vmkernel_adapter_present: defineFunction({
    doc:
      'Make sure VMkernel adapter `name` exists on each selected host as described (created ' +
      'where missing, reconfigured where it differs). ESXi names a new adapter itself (the ' +
      'lowest free vmkN), so `name` must be the name the host will give it.',
    args: () => ({
      name: z.string().min(1).describe('the adapter, e.g. vmk1'),
      port_group_name: z.string().min(1).describe('port group of the adapter'),
      ...adapterArgs(),
    }),
    run: async (ctx, { name, ...rest }) => {
      const a = rest as AdapterArgs
      checkAdapterArgs(a)
      const hosts = await selectHosts(ctx, a, HOST_PROPS)
      const dvPort = a.dvswitch_name
        ? await dvsPort(ctx, a.dvswitch_name, a.port_group_name)
        : undefined
      const add: typeof hosts = []
      const update: typeof hosts = []
      const misnamed: string[] = []
      const planned: Record<string, Record<string, { old: unknown; new: unknown }>> = {}
      for (const host of hosts) {
        const devices = vnicsOf(host).map((v) => v.device)
        if (!devices.includes(name)) {
          const next = nextDevice(devices)
          if (next === name) add.push(host)
          else misnamed.push(`${host.name} (it would be ${next})`)
          planned[host.name] = { adapter: { old: null, new: name } }
          continue
        }
        const diff = adapterDiff(host, name, a, dvPort)
        if (Object.keys(diff).length) {
          update.push(host)
          planned[host.name] = diff
        }
      }
      if (misnamed.length)
        return {
          name,
          result: false,
          changes: {},
          comment: `vmkernel adapter '${name}' cannot be created on ${misnamed.join(', ')}: ESXi names a new adapter itself (the lowest free vmkN); name the state after it. No changes made.`,
        }
      const changes: typeof planned = {}
      if (ctx.test) {
        for (const host of [...add, ...update]) changes[host.name] = planned[host.name]!
        return {
          name,
          result: add.length || update.length ? null : true,
          changes,
          comment: `vmkernel adapter '${name}' will be created on ${add.length} host(s) and updated on ${update.length} host(s).`,
        }
      }
      if (!add.length && !update.length)
        return {
          name,
          result: true,
          changes,
          comment: `vmkernel adapter '${name}' not created/updated on any host. No changes made.`,
        }
      const erred: string[] = []
      let sample = ''
      for (const host of [...add, ...update]) {
        try {
          await saveAdapter(ctx, host, a, add.includes(host) ? undefined : name)
          changes[host.name] = planned[host.name]!
        } catch (error) {
          erred.push(host.name)
          sample = (error as Error).message
        }
      }
      const done = (hosts: typeof add) =>
        list(hosts.map((h) => h.name).filter((h) => !erred.includes(h)))
      let comment = `vmkernel adapter '${name}' created on ${done(add)}, updated on ${done(update)}.`
      if (erred.length) comment += ` erred on ${list(erred)}. Sample exception - ${sample}`
      return { name, result: !erred.length, changes, comment }
    },
  }),
  vmkernel_adapter_absent: defineFunction({
    doc: 'Make sure VMkernel adapter `name` does not exist on the selected hosts.',
    args: () => ({ name: z.string().min(1).describe('the adapter, e.g. vmk1'), ...selection }),
    run: async (ctx, { name, ...sel }) => {
      const hosts = (await selectHosts(ctx, sel, ['config.network.vnic'])).filter((h) =>
        vnicsOf(h).some((v) => v.device === name),
      )
      const changes: Record<string, { adapter: { old: string; new: null } }> = {}
      const removed = { adapter: { old: name, new: null } }
      if (!hosts.length)
        return {
          name,
          result: true,
          changes,
          comment: `vmkernel adapter '${name}' absent on all hosts. No changes made.`,
        }
      if (ctx.test) {
        for (const host of hosts) changes[host.name] = removed
        return {
          name,
          result: null,
          changes,
          comment: `vmkernel adapter '${name}' will be deleted on ${hosts.length} host(s).`,
        }
      }
      const erred: string[] = []
      let sample = ''
      for (const host of hosts) {
        try {
          const done = (await ctx.salt('vmware_esxi.delete_vmkernel_adapter', {
            adapter_name: name,
            host_name: host.name,
          })) as Record<string, boolean>
          if (done[host.name]) changes[host.name] = removed
        } catch (error) {
          erred.push(host.name)
          sample = (error as Error).message
        }
      }
      let comment = `vmkernel adapter '${name}' deleted on ${list(hosts.map((h) => h.name).filter((h) => !erred.includes(h)))}.`
      if (erred.length) comment += ` erred on ${list(erred)}. Sample exception - ${sample}`
      return { name, result: !erred.length, changes, comment }
    },
  }),
  vmotion_configured: defineFunction({
    doc: 'vMotion enabled (on `device`) or disabled on each selected host.',
    args: () => ({
      name: z.string().min(1).describe('state id'),
      enabled: z.boolean().describe('True: vMotion on `device`; False: on no adapter'),
      device: z.string().min(1).default('vmk0').describe('the VMkernel adapter for vMotion'),
      ...selection,
    }),
    run: async (ctx, { name, enabled, device, ...sel }) => {
      const hosts = await selectHosts(ctx, sel, ['configManager.vmotionSystem'])
      const current = await vmotionDevices(ctx, hosts)
      const changes: Record<string, Record<string, { old: unknown; new: unknown }>> = {}
      for (const [host, now] of Object.entries(current)) {
        const change: Record<string, { old: unknown; new: unknown }> = {}
        if (!!now !== enabled) change.enabled = { old: !!now, new: enabled }
        if (enabled && now !== device) change.device = { old: now, new: device }
        if (Object.keys(change).length) changes[host] = change
      }
      if (!Object.keys(changes).length)
        return {
          name,
          result: true,
          changes,
          comment: 'VMotion configuration is already in the desired state.',
        }
      if (ctx.test)
        return { name, result: null, changes, comment: 'VMotion configuration will change.' }
      // saltext stops at the first host that refuses; the changes are those made before it.
      const applied: typeof changes = {}
      for (const [host, change] of Object.entries(changes)) {
        const done = (await ctx.salt(
          enabled ? 'vmware_esxi.vmotion_enable' : 'vmware_esxi.vmotion_disable',
          enabled ? { host_name: host, device } : { host_name: host },
        )) as Record<string, { Error?: string }>
        const error = done[host]?.Error
        if (error) return { name, result: false, changes: applied, comment: `Error: ${error}` }
        applied[host] = change
      }
      return {
        name,
        result: true,
        changes: applied,
        comment: `VMotion configuration changed on ${list(Object.keys(applied))}.`,
      }
    },
  }),
}
