// vmware_esxi's lockdown_mode and vsan_config states (saltext-vmware's states/esxi.py), spread
// into vmware_esxi.ts's functions. Changes and comments are saltext's; where saltext misbehaves
// (vsan_config never adding disks, reporting every host as changed) brine does what it meant.
import { type CallContext, defineFunction, z } from 'brine/loader'

type Mode = { lockdownMode: string; changes?: boolean }
type StateResult = {
  name: string
  result: boolean | null
  changes: Record<string, unknown>
  comment: string
}

/** saltext's host choice: a host name, or a list of names within datacenter/cluster (all with get_all_hosts). */
async function lockdownHosts(
  ctx: CallContext,
  name: string | string[],
  datacenter_name: string | undefined,
  cluster_name: string | undefined,
  all: boolean,
): Promise<string[]> {
  if (typeof name === 'string') {
    await ctx.salt('vmware_esxi.in_lockdown_mode', { host: name }) // an unknown host fails here
    return [name]
  }
  const hosts = (await ctx.salt('vmware_esxi.list_hosts', {
    datacenter_name,
    cluster_name,
  })) as string[]
  return all ? hosts : hosts.filter((h) => name.includes(h))
}

const selection = {
  datacenter_name: z.string().min(1).optional().describe('datacenter'),
  cluster_name: z.string().min(1).optional().describe('cluster (needs datacenter_name)'),
}

export const states = {
  lockdown_mode: defineFunction({
    doc:
      'Make sure hosts are in (enter_lockdown_mode: True) or out of lockdown mode. name: one ' +
      'host, or a list of host names (within datacenter_name/cluster_name; get_all_hosts: ' +
      'every host there). changes {new: ["<host> entered Lockdown mode."]}.',
    args: () => ({
      name: z
        .union([z.string().min(1), z.array(z.string().min(1))])
        .describe('host name, or a list of host names'),
      enter_lockdown_mode: z.boolean().describe('True: in lockdown mode; False: out of it'),
      ...selection,
      get_all_hosts: z.boolean().default(false).describe('with a list name: every host there'),
    }),
    run: async (ctx, { name, enter_lockdown_mode: enter, datacenter_name, cluster_name, ...o }) => {
      const label = Array.isArray(name) ? name.join(',') : name
      const ret: StateResult = { name: label, changes: {}, result: true, comment: '' }
      const mode = enter ? 'Lockdown' : 'Normal'
      const news: string[] = []
      // brine's runner passes an SLS `name:` list as text joined with ',' (no host name has one).
      const named = typeof name === 'string' && name.includes(',') ? name.split(',') : name
      const hosts = await lockdownHosts(ctx, named, datacenter_name, cluster_name, o.get_all_hosts)
      for (const host of hosts) {
        const now = (await ctx.salt('vmware_esxi.in_lockdown_mode', { host })) as Mode
        if ((now.lockdownMode === 'inLockdown') === enter) {
          ret.comment += `${host} already in ${mode} mode.\n`
          continue
        }
        if (ctx.test) {
          ret.result = null
          news.push(`${host} will enter ${mode} mode.`)
          continue
        }
        const after = (await ctx.salt(
          enter ? 'vmware_esxi.lockdown_mode' : 'vmware_esxi.exit_lockdown_mode',
          { host, catch_task_error: true },
        )) as Mode
        const ok = (after.lockdownMode === 'inLockdown') === enter
        if (ret.result) ret.result = ok
        if (ok) news.push(`${host} entered ${mode} mode.`)
        else ret.comment += `Failed to put host ${host} in ${mode} mode.\n`
      }
      if (news.length) ret.changes = { new: news }
      if (ret.result === null) ret.comment += 'These options are set to change.'
      else if (ret.result) ret.comment += 'Task was successful.'
      return ret
    },
  }),
  vsan_config: defineFunction({
    doc:
      'Make sure vSAN is enabled (or disabled) on the selected hosts and, with ' +
      'add_disks_to_vsan, that their eligible disks are claimed: changes {host: {enabled: ' +
      "{old, new}, add_disks_to_vsan: {old: '', new: [disks]}}}.",
    args: () => ({
      name: z.string().min(1).describe('state name'),
      enabled: z.boolean().describe('True: vSAN enabled; False: disabled'),
      add_disks_to_vsan: z.boolean().default(false).describe('claim the eligible disks'),
      ...selection,
      host_name: z.string().min(1).optional().describe('one host (default: all hosts)'),
    }),
    run: async (ctx, { name, enabled, add_disks_to_vsan, ...sel }) => {
      const ret: StateResult = { name, result: false, changes: {}, comment: '' }
      const fail = (error: unknown) => ({ ...ret, comment: `Error: ${error}` })
      const current = (await ctx.salt('vmware_esxi.get_vsan_enabled', sel)) as Record<
        string,
        boolean
      >
      const changes: Record<string, Record<string, unknown>> = {}
      for (const [host, was] of Object.entries(current)) {
        const change: Record<string, unknown> = {}
        if (was !== enabled) {
          if (!ctx.test) {
            const done = (await ctx.salt('vmware_esxi.vsan_enable', {
              enable: enabled,
              host_name: host,
            })) as Record<string, boolean>
            if (done[host] !== enabled)
              return fail(`vSAN is still ${done[host] ? 'enabled' : 'disabled'} on ${host}`)
          }
          change.enabled = { old: was, new: enabled }
        }
        if (add_disks_to_vsan) {
          const found = (
            (await ctx.salt('vmware_esxi.get_vsan_eligible_disks', { host_name: host })) as Record<
              string,
              { Eligible?: string[] | string; Error?: string }
            >
          )[host]
          if (found?.Error) return fail(found.Error)
          const disks = found?.Eligible
          if (Array.isArray(disks) && disks.length) {
            if (!ctx.test) {
              const added = (
                (await ctx.salt('vmware_esxi.vsan_add_disks', { host_name: host })) as Record<
                  string,
                  { Error?: string }
                >
              )[host]
              if (added?.Error) return fail(added.Error)
            }
            change.add_disks_to_vsan = { old: '', new: disks }
          }
        }
        if (Object.keys(change).length) changes[host] = change
      }
      ret.changes = changes
      ret.result = true
      if (!Object.keys(changes).length)
        return { ...ret, comment: 'VSAN configuration is already in the desired state.' }
      if (ctx.test) return { ...ret, result: null, comment: 'VSAN configuration will change.' }
      return { ...ret, comment: 'VSAN configuration changed.' }
    },
  }),
}
