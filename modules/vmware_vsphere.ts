import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import { ENTITY_TYPES, listEntities } from 'brine/vsphere'
import type vmware_esxi from './vmware_esxi.ts'

/** saltext-vmware's `vmware_vsphere`: inventory listings and the endpoint's about info. */
const names = async (ctx: CallContext, type: string) =>
  (await listEntities(ctx.serviceInstance, type, { signal: ctx.signal })).map((e) => e.name).sort()

const selection = {
  host_name: z.string().optional().describe('one host'),
  datacenter_name: z.string().optional().describe('datacenter'),
  cluster_name: z.string().optional().describe('cluster (needs datacenter_name)'),
}

async function scsiDisks(
  ctx: CallContext,
  sel: {
    host_name?: string | undefined
    datacenter_name?: string | undefined
    cluster_name?: string | undefined
  },
  ssd: boolean,
) {
  const hosts = await ctx.module<typeof vmware_esxi>('vmware_esxi').list_hosts(sel)
  const si = ctx.serviceInstance
  const all = await listEntities(si, ENTITY_TYPES.host, {
    props: ['config.storageDevice.scsiLun'],
    signal: ctx.signal,
  })
  const out: Record<string, string[]> = {}
  for (const host of all.filter((h) => hosts.includes(h.name))) {
    const luns =
      (host.props['config.storageDevice.scsiLun'] as
        | Array<{ _type?: string; canonicalName?: string; ssd?: unknown }>
        | undefined) ?? []
    out[host.name] = luns
      .filter(
        (lun) => lun._type === 'HostScsiDisk' && (lun.ssd === true || lun.ssd === 'true') === ssd,
      )
      .map((lun) => String(lun.canonicalName))
      .sort()
  }
  return out
}

export default defineModule({
  doc: 'Inventory listings and about info, with saltext-vmware’s vmware_vsphere names.',
  vsphere: true,
  functions: {
    system_info: defineFunction({
      doc:
        'The endpoint’s about info as saltext-vmware returns it (AboutInfo’s own names: name, ' +
        'fullName, vendor, version, build, apiType, apiVersion, instanceUuid, …), plus the same ' +
        'in snake_case (full_name, api_type, …).',
      args: () => ({}),
      run: async (ctx) => {
        const about = ctx.serviceInstance.content.about
        return {
          ...about,
          name: about.name,
          full_name: about.fullName,
          vendor: about.vendor,
          version: about.version,
          build: about.build,
          api_type: about.apiType,
          api_version: about.apiVersion,
          instance_uuid: about.instanceUuid,
        }
      },
    }),
    list_resourcepools: defineFunction({
      doc: 'Names of all resource pools.',
      args: () => ({}),
      run: (ctx) => names(ctx, ENTITY_TYPES.resourcepool),
    }),
    list_networks: defineFunction({
      doc: 'Names of all networks (standard and distributed port groups).',
      args: () => ({}),
      run: (ctx) => names(ctx, 'Network'),
    }),
    list_vapps: defineFunction({
      doc: 'Names of all vApps.',
      args: () => ({}),
      run: (ctx) => names(ctx, 'VirtualApp'),
    }),
    list_ssds: defineFunction({
      doc: '{host: [canonical names of SSD disks]}',
      args: () => selection,
      run: (ctx, sel) => scsiDisks(ctx, sel, true),
    }),
    list_non_ssds: defineFunction({
      doc: '{host: [canonical names of non-SSD disks]}',
      args: () => selection,
      run: (ctx, sel) => scsiDisks(ctx, sel, false),
    }),
  },
})
