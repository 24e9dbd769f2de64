// vmware_esxi's configuration backup/restore/reset, acceptance level, packages, power state,
// add/move hosts (saltext-vmware's modules/esxi.py), spread into vmware_esxi.ts's functions.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { type CallContext, defineFunction, ModuleError, z } from 'brine/loader'
import {
  callVim,
  certificateThumbprints,
  ENTITY_TYPES,
  type ManagedObjectReference,
  resolveConnectionParams,
  runTask,
  withSession,
} from 'brine/vsphere'
import { bool, esxiHostName, type Selection, selectHosts, selection } from './_esxi.ts'
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

const isDirect = (ctx: CallContext) => ctx.serviceInstance.content.about.apiType === 'HostAgent'

function needVcenter(ctx: CallContext, what: string) {
  if (isDirect(ctx))
    throw new ModuleError(
      `${what} needs vCenter: this profile connects to an ESXi host. Call it with a profile whose host is the vCenter`,
      { code: 'BRINE_UNSUPPORTED' },
    )
}

/** The selected hosts that have configManager.<which> (saltext skips the others), with props. */
async function hostsWith(ctx: CallContext, sel: Selection, which: string, props: string[] = []) {
  const key = `configManager.${which}`
  const hosts = await selectHosts(ctx, sel, [key, ...props])
  return hosts
    .filter((h) => h.props[key])
    .map((h) => ({ host: h, manager: h.props[key] as ManagedObjectReference }))
}

/**
 * Run `one` here when this connection is an ESXi host's own (or esxi_host_name made it so),
 * else on each selected host through its own endpoint (its `esxi_host` credentials), by
 * calling `fun` again with esxi_host_name: {vCenter's host name: result}.
 */
async function onHostEndpoints<T>(
  ctx: CallContext,
  sel: Selection & { esxi_host_name?: string | undefined },
  fun: string,
  kwargs: Record<string, unknown>,
  one: (hostSel: Selection) => Promise<Record<string, T>>,
): Promise<Record<string, T>> {
  const { esxi_host_name, ...hostSel } = sel
  if (esxi_host_name || isDirect(ctx)) return one(esxi_host_name ? {} : hostSel)
  const out: Record<string, T> = {}
  for (const host of await selectHosts(ctx, hostSel, [])) {
    const done = (await ctx.salt(fun, { ...kwargs, esxi_host_name: host.name })) as Record<
      string,
      T
    >
    const value = Object.values(done)[0]
    if (value !== undefined) out[host.name] = value
  }
  return out
}

/** Where backups are written: opts.cachedir (Salt's), else $XDG_CACHE_HOME/brine. */
function cacheDir(ctx: CallContext): string {
  const configured = (ctx.opts as Record<string, unknown>).cachedir
  return typeof configured === 'string'
    ? configured
    : join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brine')
}

/** The bundle restore_config uploads: salt:// (from file_roots), http(s):// or a local file. */
async function readSource(ctx: CallContext, source: string): Promise<Buffer> {
  if (source.startsWith('salt://')) {
    const relative = source.slice('salt://'.length).split('?')[0]!
    for (const root of asList(ctx.opts.file_roots as string[] | string | undefined)) {
      const path = resolve(root, relative)
      if (path.startsWith(resolve(root)) && existsSync(path)) return readFileSync(path)
    }
    throw new ModuleError(
      `source_file '${source}' is not in file_roots (${asList(ctx.opts.file_roots as string[]).join(', ')}): give a salt:// path under them, a URL or a local file`,
      { code: 'BRINE_NOT_FOUND' },
    )
  }
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source, { signal: ctx.signal })
    if (!response.ok)
      throw new ModuleError(`source_file '${source}': HTTP ${response.status}`, {
        code: 'BRINE_NOT_FOUND',
      })
    return Buffer.from(await response.arrayBuffer())
  }
  if (!isAbsolute(source) || !existsSync(source))
    throw new ModuleError(
      `source_file '${source}' is not an existing absolute path: give the bundle's path (as backup_config's file_name), a salt:// path or a URL`,
      { code: 'BRINE_NOT_FOUND' },
    )
  return readFileSync(source)
}

/** An upload/download URL of the host this connection reaches, `*` standing for its address. */
function hostPath(ctx: CallContext, url: string) {
  const address = ctx.serviceInstance.params.url.host
  const real = url.replace('://*', `://${address}`)
  return { url: real, path: new URL(real).pathname }
}

async function setMaintenance(
  ctx: CallContext,
  host: { name: string; obj: ManagedObjectReference },
  enter: boolean,
) {
  await runTask(
    ctx.serviceInstance,
    `${enter ? 'putting' : 'taking'} host '${host.name}' ${enter ? 'in' : 'out of'} maintenance mode`,
    enter ? 'EnterMaintenanceMode_Task' : 'ExitMaintenanceMode_Task',
    { _this: host.obj, timeout: 60 },
    { signal: ctx.signal },
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
    args: { ...selection, acceptance_level: acceptanceLevel.optional() },
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
    args: { acceptance_level: acceptanceLevel, ...selection },
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
    args: { pkg_name: z.string().min(1).optional().describe('one package'), ...selection },
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
    args: {
      ...selection,
      state: z
        .enum(['reboot', 'standby', 'poweron', 'shutdown'])
        .optional()
        .describe('reboot, standby, poweron or shutdown'),
      timeout: z.coerce.number().int().min(0).default(600).describe('seconds (standby, poweron)'),
      force: z.boolean().default(true).describe('even outside maintenance mode'),
    },
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
  backup_config: defineFunction({
    doc:
      "Back up the selected hosts' configuration: {host: {file_name, url}}. Each bundle is " +
      'fetched from the host itself (its esxi_host credentials through vCenter) into cachedir.',
    args: {
      push_file_to_master: z.boolean().default(false).describe('not supported (no master)'),
      http_opts: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('accepted; the host connection’s TLS settings apply'),
      ...selection,
      esxi_host_name: esxiHostName,
    },
    run: async (ctx, { push_file_to_master, http_opts: _, ...sel }) => {
      if (push_file_to_master)
        throw new ModuleError(
          'push_file_to_master: brine runs without a master; the bundle is kept at file_name',
          { code: 'BRINE_UNSUPPORTED' },
        )
      return onHostEndpoints(ctx, sel, 'vmware_esxi.backup_config', {}, async (hostSel) => {
        const out: Record<string, { file_name: string; url: string }> = {}
        for (const { host, manager } of await hostsWith(ctx, hostSel, 'firmwareSystem')) {
          const given = await callVim<string>(
            ctx.serviceInstance,
            `backing up the configuration of host '${host.name}'`,
            'BackupFirmwareConfiguration',
            { _this: manager },
            { signal: ctx.signal },
          )
          const { url, path } = hostPath(ctx, given)
          const cookie = ctx.serviceInstance.cookie?.reveal()
          const response = await ctx.serviceInstance.transport.send({
            path,
            method: 'GET',
            headers: cookie ? { cookie: `vmware_soap_session=${cookie}` } : {},
            signal: ctx.signal,
          })
          if (response.statusCode >= 300 || !response.bytes)
            throw new ModuleError(
              `downloading the configuration bundle of host '${host.name}' from ${url}: HTTP ${response.statusCode}`,
              { code: 'BRINE_NOT_FOUND' },
            )
          const dir = cacheDir(ctx)
          mkdirSync(dir, { recursive: true, mode: 0o700 })
          const file_name = join(dir, basename(path))
          // The bundle holds the host's secrets (password hashes, keys): owner only.
          writeFileSync(file_name, response.bytes, { mode: 0o600 })
          out[host.name] = { file_name, url }
        }
        return out
      })
    },
  }),
  restore_config: defineFunction({
    doc:
      'Restore the selected hosts from a bundle (a local file, salt:// or a URL): {host: True ' +
      'or the error}. Each host gets the bundle on its own endpoint (its esxi_host credentials ' +
      'through vCenter), enters maintenance mode, and reboots with the restored configuration.',
    args: {
      source_file: z.string().min(1).describe('bundle: a path, salt://path or URL'),
      saltenv: z.string().optional().describe('accepted (brine has one file_roots)'),
      http_opts: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('accepted; the host connection’s TLS settings apply'),
      ...selection,
      esxi_host_name: esxiHostName,
    },
    run: async (ctx, { source_file, saltenv: _s, http_opts: _h, ...sel }) => {
      const data = await readSource(ctx, source_file)
      return onHostEndpoints(
        ctx,
        sel,
        'vmware_esxi.restore_config',
        { source_file },
        async (hostSel) => {
          const si = ctx.serviceInstance
          const out: Record<string, true | string> = {}
          const targets = await hostsWith(ctx, hostSel, 'firmwareSystem', [
            'runtime.inMaintenanceMode',
          ])
          for (const { host, manager } of targets) {
            let entered = false
            try {
              const given = await callVim<string>(
                si,
                `asking host '${host.name}' where to upload its configuration`,
                'QueryFirmwareConfigUploadURL',
                { _this: manager },
                { signal: ctx.signal },
              )
              const { url, path } = hostPath(ctx, given)
              const basic = Buffer.from(`${si.params.user}:${si.params.password.reveal()}`)
              const response = await si.transport.send({
                path,
                method: 'PUT',
                headers: {
                  authorization: `Basic ${basic.toString('base64')}`,
                  'content-type': 'application/octet-stream',
                  'content-length': String(data.length),
                },
                body: data,
                signal: ctx.signal,
              })
              if (response.statusCode >= 300) {
                out[host.name] =
                  `Unable to restore configuration for host - ${host.name}. Error - uploading to ${url}: HTTP ${response.statusCode}`
                continue
              }
              if (host.props['runtime.inMaintenanceMode'] !== true) {
                await setMaintenance(ctx, host, true)
                entered = true
              }
              await callVim(
                si,
                `restoring the configuration of host '${host.name}'`,
                'RestoreFirmwareConfiguration',
                { _this: manager, force: false },
                { signal: ctx.signal },
              )
              out[host.name] = true
            } catch (error) {
              out[host.name] =
                `Unable to restore configuration for host - ${host.name}. Error - ${(error as Error).message}`
              if (entered) await setMaintenance(ctx, host, false)
            }
          }
          return out
        },
      )
    },
  }),
  reset_config: defineFunction({
    doc: 'Reset the selected hosts to factory defaults (entering maintenance mode first): {host: True or the error}.',
    args: selection,
    run: async (ctx, sel) => {
      const out: Record<string, true | string> = {}
      const targets = await hostsWith(ctx, sel, 'firmwareSystem', ['runtime.inMaintenanceMode'])
      for (const { host, manager } of targets) {
        let entered = false
        try {
          if (host.props['runtime.inMaintenanceMode'] !== true) {
            await setMaintenance(ctx, host, true)
            entered = true
          }
          await callVim(
            ctx.serviceInstance,
            `resetting the configuration of host '${host.name}'`,
            'ResetFirmwareToFactoryDefaults',
            { _this: manager },
            { signal: ctx.signal },
          )
          out[host.name] = true
        } catch (error) {
          const code = (error as { code?: string }).code ?? ''
          const message = (error as Error).message
          out[host.name] = /^BRINE_VIM_HOST_(COMMUNICATION|NOT_CONNECTED|NOT_REACHABLE)$/.test(code)
            ? `Unable to reach host - ${host.name}. Error - ${message}`
            : `Unable to reset configuration for host - ${host.name}. Error - ${message}`
          if (entered) await setMaintenance(ctx, host, false).catch(() => undefined)
        }
      }
      return out
    },
  }),
  add: defineFunction({
    doc:
      'Add an ESXi host (address, or address:port) to a cluster: {state: connectionState}. Its ' +
      'certificate thumbprint is read from the host; verify_host_cert checks the certificate first.',
    args: {
      host: z.string().min(1).describe('address of the ESXi host (host or host:port)'),
      root_user: z.string().min(1).describe('user with root privileges on the host'),
      password: z.string().min(1).describe('its password (never logged or shown)'),
      cluster_name: z.string().min(1).describe('cluster to add it to'),
      datacenter_name: z.string().min(1).describe('datacenter of the cluster'),
      verify_host_cert: z.boolean().default(true).describe('verify the host’s certificate'),
      connect: z.boolean().default(true).describe('connect it once added'),
    },
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
    args: {
      host: z.string().min(1).describe('host name'),
      cluster_name: z.string().min(1).describe('cluster to move it into'),
    },
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
  check_password: defineFunction({
    doc: "brine's: whether user_name logs in to each selected host with password, on the host's own endpoint: {host: bool}.",
    args: {
      user_name: z.string().min(1).describe('local user'),
      password: z.string().min(1).describe('password to try (never logged or shown)'),
      ...selection,
      esxi_host_name: esxiHostName,
    },
    run: (ctx, { user_name, password, ...sel }) =>
      onHostEndpoints(
        ctx,
        sel,
        'vmware_esxi.check_password',
        { user_name, password },
        async (hostSel) => {
          const params = ctx.serviceInstance.params
          const works = await withSession(
            resolveConnectionParams({
              server: params.url.href,
              user: user_name,
              password,
              thumbprint: params.thumbprint,
              caFile: params.caFile,
              insecure: params.insecure,
            }),
            async () => true,
          ).catch((error: { code?: string }) => {
            if (error.code === 'BRINE_VIM_INVALID_LOGIN') return false
            throw error
          })
          const out: Record<string, boolean> = {}
          for (const host of await selectHosts(ctx, hostSel, [])) out[host.name] = works
          return out
        },
      ),
  }),
}
