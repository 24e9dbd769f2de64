// Host selection and value helpers shared by vmware_esxi's function groups (vmware_esxi.ts
// and the _esxi_*.ts files whose functions it spreads in).
import { type CallContext, ModuleError, z } from 'brine/loader'
import { ENTITY_TYPES, type Entity, findEntityByName, listEntities } from 'brine/vsphere'
import { findCluster, findDatacenter, isTrue } from './_vmware.ts'

/**
 * Hosts are selected as saltext's utils/esxi.get_hosts does: `host_name` (no such host: none,
 * not an error), else every host of `cluster_name` (which needs `datacenter_name`), else of
 * `datacenter_name`, else all.
 */
export const selection = {
  datacenter_name: z.string().optional().describe('datacenter'),
  cluster_name: z.string().optional().describe('cluster (needs datacenter_name)'),
  host_name: z.string().optional().describe('one host'),
}

export type Selection = {
  datacenter_name?: string | undefined
  cluster_name?: string | undefined
  host_name?: string | undefined
}

/** The selected hosts with `props`, read in one PropertyCollector call, sorted by name. */
export async function selectHosts(
  ctx: CallContext,
  sel: Selection,
  props: string[],
): Promise<Entity[]> {
  if (sel.cluster_name && !sel.datacenter_name) {
    throw new ModuleError('Must specify the datacenter when specifying the cluster', {
      code: 'BRINE_ARGUMENT',
    })
  }
  const within = sel.cluster_name
    ? (await findCluster(ctx, sel.cluster_name, sel.datacenter_name)).obj
    : sel.datacenter_name
      ? (await findDatacenter(ctx, sel.datacenter_name)).obj
      : undefined
  const si = ctx.serviceInstance
  if (sel.host_name) {
    const found = await findEntityByName(si, ENTITY_TYPES.host, sel.host_name, {
      within,
      props,
      signal: ctx.signal,
    })
    return found ? [found] : []
  }
  const hosts = await listEntities(si, ENTITY_TYPES.host, { within, props, signal: ctx.signal })
  return hosts.sort((a, b) => a.name.localeCompare(b.name))
}

export async function perHost<T>(
  ctx: CallContext,
  sel: Selection,
  fn: (host: string) => Promise<T>,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {}
  for (const host of await selectHosts(ctx, sel, [])) out[host.name] = await fn(host.name)
  return out
}

/** Numbers and booleans of data objects the schema leaves untyped arrive as text. */
export const num = (value: unknown): number | undefined =>
  value === undefined || value === null || value === '' ? undefined : Number(value)
export const bool = (value: unknown): boolean | undefined =>
  value === undefined || value === null ? undefined : isTrue(value)

/** saltext's utils/common.camel_to_snake_case (its CAMELCASE_PATTERN). */
export function camelToSnake(name: string): string {
  return name.replace(/((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))/g, '_$1').toLowerCase()
}

/** A decoded value with `"true"`/`"false"` and numeric text turned into booleans and numbers. */
export function typed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(typed)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) if (key !== '_type') out[key] = typed(v)
    return out
  }
  if (value === 'true') return true
  if (value === 'false') return false
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value)
  return value
}

/**
 * Run a vmware_host local-user function on each selected host: on the host this profile
 * connects to when it is an ESXi host, else on each host directly with its `esxi_host`
 * credentials (local accounts are managed on the host itself). `{host: result}`.
 */
export async function onEachHost<T>(
  ctx: CallContext,
  sel: Selection,
  fn: (kwargs: { esxi_host_name?: string }) => Promise<T>,
): Promise<Record<string, T>> {
  const si = ctx.serviceInstance
  const direct = si.content.about.apiType === 'HostAgent'
  const out: Record<string, T> = {}
  for (const host of await selectHosts(ctx, sel, []))
    out[host.name] = await fn(direct ? {} : { esxi_host_name: host.name })
  return out
}

export const esxiHostName = z
  .string()
  .min(1)
  .optional()
  .describe('ESXi host to connect to directly, with its esxi_host credentials')
