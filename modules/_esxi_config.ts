// vmware_esxi's acceptance level, packages, power state and host placement (saltext-vmware's
// modules/esxi.py), with the configuration bundle functions of _esxi_config_bundle.ts, spread
// into vmware_esxi.ts's functions.
import { connect as tlsConnect } from 'node:tls'
import { type CallContext, defineFunction, ModuleError, z } from 'brine/loader'
import { callVim, certificateThumbprints, ENTITY_TYPES, runTask } from 'brine/vsphere'
import { bool, selectHosts, selection } from './_esxi.ts'
import { bundleFunctions, hostsWith, isDirect } from './_esxi_config_bundle.ts'
import { asList, findCluster, findInDatacenter } from './_vmware.ts'
import type vmware_host from './vmware_host.ts'

/** HostImageAcceptanceLevel, most trusted first. */
const ACCEPTANCE_LEVELS = ['vmware_certified', 'vmware_accepted', 'partner', 'community'] as const
const acceptanceLevel = z
  .enum(ACCEPTANCE_LEVELS)
  .describe('vmware_certified, vmware_accepted, partner or community')

const POWER_METHODS = {
  reboot: 'RebootHost_Task',
  standby: 'PowerDownHostToStandBy_Task',
  poweron: 'PowerUpHostFromStandBy_Task',
  shutdown: 'ShutdownHost_Task',
} as const

function needVcenter(ctx: CallContext, what: string) {
  if (isDirect(ctx))
    throw new ModuleError(
      `${what} needs vCenter: this profile connects to an ESXi host. Call it with a profile whose host is the vCenter`,
      { code: 'BRINE_UNSUPPORTED' },
    )
}

/** The SHA-1 thumbprint of the certificate `address` (host or host:port, port 443) serves. */
function hostThumbprint(
  address: string,
  verify: boolean,
): Promise<{ host: string; port: number; sha1: string }> {
  const bracketed = address.match(/^\[(.+)\](?::(\d+))?$/)
  const plain = address.match(/^([^:]+)(?::(\d+))?$/)
  const [host, port] = bracketed
    ? [bracketed[1]!, Number(bracketed[2] ?? 443)]
    : plain
      ? [plain[1]!, Number(plain[2] ?? 443)]
      : [address, 443] // an IPv6 address without port
  return new Promise((done, fail) => {
    const socket = tlsConnect({
      host,
      port,
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      rejectUnauthorized: verify,
      timeout: 10_000,
    })
    const failed = (reason: string) => {
      socket.destroy()
      fail(
        new ModuleError(
          `reading the certificate of host '${address}': ${reason}${verify ? ' (verify_host_cert=False takes its thumbprint without verifying it)' : ''}`,
          { code: 'BRINE_VIM_TRANSPORT_TLS' },
        ),
      )
    }
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw
      socket.end()
      if (!raw) failed('it sent no certificate')
      else done({ host, port, sha1: certificateThumbprints(raw).sha1 })
    })
    socket.once('timeout', () => failed('no answer within 10 s'))
    socket.once('error', (error) => failed(error.message))
  })
}

/** The datacenter part of an inventory path (`/F0/DC0/host/C0/h` → `/F0/DC0`). */
const datacenterOf = (path: string | undefined) => path?.split('/host/')[0]

export const functions = {
  get_acceptance_level: defineFunction({
    doc: '{host: acceptance level}; with acceptance_level, only the hosts at that level.',
    args: () => ({ ...selection, acceptance_level: acceptanceLevel.optional() }),
    run: async (ctx, { acceptance_level, ...sel }) => {
      const out: Record<string, string> = {}
      for (const { host, manager } of await hostsWith(ctx, sel, 'imageConfigManager')) {
        const level = await callVim<string>(
          ctx.serviceInstance,
          `reading the acceptance level of host '${host.name}'`,
          'HostImageConfigGetAcceptance',
          { _this: manager },
          { signal: ctx.signal },
        )
        if (acceptance_level && level !== acceptance_level) continue
        out[host.name] = level
      }
      return out
    },
  }),
  set_acceptance_level: defineFunction({
    doc: 'Set the acceptance level of the selected hosts: {host: level}. A level stricter than an installed VIB’s is refused by the host.',
    args: () => ({ acceptance_level: acceptanceLevel, ...selection }),
    run: async (ctx, { acceptance_level, ...sel }) => {
      const out: Record<string, string> = {}
      for (const { host, manager } of await hostsWith(ctx, sel, 'imageConfigManager')) {
        await callVim(
          ctx.serviceInstance,
          `setting the acceptance level of host '${host.name}' to ${acceptance_level}`,
          'UpdateHostImageAcceptanceLevel',
          { _this: manager, newAcceptanceLevel: acceptance_level },
          { signal: ctx.signal },
        )
        out[host.name] = acceptance_level
      }
      return out
    },
  }),
  list_pkgs: defineFunction({
    doc: '{host: {package: {version, vendor, summary, description, acceptance_level, maintenance_mode_required, creation_date}}}; pkg_name picks one.',
    args: () => ({ pkg_name: z.string().min(1).optional().describe('one package'), ...selection }),
    run: async (ctx, { pkg_name, ...sel }) => {
      const out: Record<string, Record<string, unknown>> = {}
      for (const { host, manager } of await hostsWith(ctx, sel, 'imageConfigManager')) {
        const packages = await callVim<Array<Record<string, unknown>> | undefined>(
          ctx.serviceInstance,
          `listing the packages of host '${host.name}'`,
          'FetchSoftwarePackages',
          { _this: manager },
          { signal: ctx.signal },
        )
        const found: Record<string, unknown> = {}
        for (const pkg of asList(packages)) {
          if (pkg_name && pkg.name !== pkg_name) continue
          found[String(pkg.name)] = {
            version: pkg.version,
            vendor: pkg.vendor,
            summary: pkg.summary,
            description: pkg.description,
            acceptance_level: pkg.acceptanceLevel,
            maintenance_mode_required: bool(pkg.maintenanceModeRequired) ?? null,
            creation_date: pkg.creationDate ?? null,
          }
        }
        out[host.name] = found
      }
      return out
    },
  }),
  power_state: defineFunction({
    doc:
      'Reboot, shut down, put in standby or wake (poweron) the selected hosts: True (None when ' +
      'none is selected). Without force, reboot and shutdown need maintenance mode; standby ' +
      'passes force as evacuatePoweredOffVms (saltext does); timeout is standby’s/poweron’s.',
    args: () => ({
      ...selection,
      state: z
        .enum(['reboot', 'standby', 'poweron', 'shutdown'])
        .optional()
        .describe('reboot, standby, poweron or shutdown'),
      timeout: z.coerce.number().int().min(0).default(600).describe('seconds (standby, poweron)'),
      force: z.boolean().default(true).describe('even outside maintenance mode'),
    }),
    run: async (ctx, { state, timeout, force, ...sel }) => {
      if (!state)
        throw new ModuleError(
          "power_state needs state=: one of 'reboot', 'standby', 'poweron', 'shutdown'",
          { code: 'BRINE_ARGUMENT' },
        )
      const hosts = await selectHosts(ctx, sel, [])
      const method = POWER_METHODS[state]
      const args =
        state === 'standby'
          ? { timeoutSec: timeout, evacuatePoweredOffVms: force }
          : state === 'poweron'
            ? { timeoutSec: timeout }
            : { force }
      for (const host of hosts)
        await runTask(
          ctx.serviceInstance,
          `${state === 'poweron' ? 'powering on' : `${state === 'standby' ? 'putting' : 'running'} ${state} on`} host '${host.name}'`,
          method,
          { _this: host.obj, ...args },
          { signal: ctx.signal },
        )
      return hosts.length ? true : null
    },
  }),
  add: defineFunction({
    doc:
      'Add an ESXi host (address, or address:port) to a cluster: {state: connectionState}. Its ' +
      'certificate thumbprint is read from the host; verify_host_cert checks the certificate first.',
    args: () => ({
      host: z.string().min(1).describe('address of the ESXi host (host or host:port)'),
      root_user: z.string().min(1).describe('user with root privileges on the host'),
      password: z.string().min(1).describe('its password (never logged or shown)'),
      cluster_name: z.string().min(1).describe('cluster to add it to'),
      datacenter_name: z.string().min(1).describe('datacenter of the cluster'),
      verify_host_cert: z.boolean().default(true).describe('verify the host’s certificate'),
      connect: z.boolean().default(true).describe('connect it once added'),
    }),
    run: async (ctx, args) => {
      needVcenter(ctx, 'adding a host')
      const cert = await hostThumbprint(args.host, args.verify_host_cert)
      const added = await ctx.module<typeof vmware_host>('vmware_host').add({
        name: cert.host,
        port: cert.port,
        datacenter: args.datacenter_name,
        cluster: args.cluster_name,
        user: args.root_user,
        password: args.password,
        thumbprint: cert.sha1,
        connected: args.connect,
      })
      return { state: added.connection_state }
    },
  }),
  move: defineFunction({
    doc: 'Move a host into a cluster of its datacenter: {state: "moved <host> from <old> to <cluster>"}.',
    args: () => ({
      host: z.string().min(1).describe('host name'),
      cluster_name: z.string().min(1).describe('cluster to move it into'),
    }),
    run: async (ctx, { host, cluster_name }) => {
      needVcenter(ctx, 'moving a host')
      const found = await findInDatacenter(ctx, ENTITY_TYPES.host, host, undefined, ['parent'], {
        path: true,
      })
      const cluster = await findCluster(ctx, cluster_name, undefined)
      const clusterPath = (
        await findInDatacenter(ctx, ENTITY_TYPES.cluster, cluster.obj.value, undefined, [], {
          path: true,
        })
      ).path
      if (datacenterOf(found.path) !== datacenterOf(clusterPath))
        throw new ModuleError(
          `Cluster has to be in the same datacenter: host '${found.name}' is in ${datacenterOf(found.path)}, cluster '${cluster.name}' in ${datacenterOf(clusterPath)}`,
          { code: 'BRINE_ARGUMENT' },
        )
      const from = found.path?.split('/').slice(-2, -1)[0] ?? ''
      await runTask(
        ctx.serviceInstance,
        `moving host '${found.name}' into cluster '${cluster.name}'`,
        'MoveInto_Task',
        { _this: cluster.obj, host: [found.obj] },
        { signal: ctx.signal },
      )
      return { state: `moved ${found.name} from ${from} to ${cluster.name}` }
    },
  }),
  ...bundleFunctions,
}
