// vmware_esxi's configuration bundle functions (saltext-vmware's modules/esxi.py backup_config,
// restore_config, reset_config) and brine's check_password: the ones that work on each host's
// own endpoint. Spread into vmware_esxi's functions by _esxi_config.ts.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { type CallContext, defineFunction, ModuleError, z } from 'brine/loader'
import {
  callVim,
  type ManagedObjectReference,
  resolveConnectionParams,
  runTask,
  withSession,
} from 'brine/vsphere'
import { esxiHostName, type Selection, selectHosts, selection } from './_esxi.ts'
import { asList } from './_vmware.ts'

export const isDirect = (ctx: CallContext) =>
  ctx.serviceInstance.content.about.apiType === 'HostAgent'

/** The selected hosts that have configManager.<which> (saltext skips the others), with props. */
export async function hostsWith(
  ctx: CallContext,
  sel: Selection,
  which: string,
  props: string[] = [],
) {
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

export const bundleFunctions = {
  backup_config: defineFunction({
    doc:
      "Back up the selected hosts' configuration: {host: {file_name, url}}. Each bundle is " +
      'fetched from the host itself (its esxi_host credentials through vCenter) into cachedir.',
    args: () => ({
      push_file_to_master: z.boolean().default(false).describe('not supported (no master)'),
      http_opts: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('accepted; the host connection’s TLS settings apply'),
      ...selection,
      esxi_host_name: esxiHostName,
    }),
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
            bytes: true,
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
          chmodSync(file_name, 0o600) // an older file of that name keeps its mode otherwise
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
    args: () => ({
      source_file: z.string().min(1).describe('bundle: a path, salt://path or URL'),
      saltenv: z.string().optional().describe('accepted (brine has one file_roots)'),
      http_opts: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('accepted; the host connection’s TLS settings apply'),
      ...selection,
      esxi_host_name: esxiHostName,
    }),
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
    args: () => selection,
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
  check_password: defineFunction({
    doc: "brine's: whether user_name logs in to each selected host with password, on the host's own endpoint: {host: bool}.",
    args: () => ({
      user_name: z.string().min(1).describe('local user'),
      password: z.string().min(1).describe('password to try (never logged or shown)'),
      ...selection,
      esxi_host_name: esxiHostName,
    }),
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
