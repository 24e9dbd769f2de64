import {
  type CallContext,
  defineFunction,
  defineModule,
  ModuleError,
  Secret,
  z,
} from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type ManagedObjectReference,
  retrieveObjectProperties,
  type ServiceInstance,
} from 'brine/vsphere'
import { findCluster, findInDatacenter, requiredAliased } from './_vmware.ts'

interface LicenseInfo {
  licenseKey: string
  editionKey: string
  name: string
  total: number
  used?: number
  costUnit: string
  properties?: Array<{ key: string; value?: unknown }> | { key: string; value?: unknown }
}

/** vCenter's evaluation mode "license", which saltext-vmware leaves out of its lists. */
const EVALUATION_KEY = '00000-00000-00000-00000-00000'

/**
 * Only the last block of a key is shown: a license key is a secret. Keys passed in are also
 * registered with the redactor, so no log or output shows them whole.
 */
function masked(key: string): string {
  new Secret(key)
  return key.replace(/^(?:[^-]+-){4}/, '*****-*****-*****-*****-')
}

/** The installed licenses and the assignment manager (vCenter only), in one read. */
async function licenseManager(
  ctx: CallContext,
): Promise<{ licenses: LicenseInfo[]; assignments: ManagedObjectReference | undefined }> {
  const si = ctx.serviceInstance
  const props = await retrieveObjectProperties(
    si,
    si.content.licenseManager as never,
    ['licenses', 'licenseAssignmentManager'],
    { signal: ctx.signal },
  )
  return {
    licenses: [(props.licenses as LicenseInfo[] | LicenseInfo | undefined) ?? []].flat(),
    assignments: props.licenseAssignmentManager as ManagedObjectReference | undefined,
  }
}

const installedKeys = async (ctx: CallContext) => (await licenseManager(ctx)).licenses

/** saltext-vmware's answer on an ESXi host (utils/license_mgr.py is_vcenter), as an error. */
async function vcenter(ctx: CallContext): Promise<ServiceInstance> {
  const si = ctx.serviceInstance
  if (si.content.about.apiType !== 'VirtualCenter')
    throw new ModuleError(
      `Failed, not connected to a vCenter: ${si.content.about.fullName ?? 'this endpoint'} is an ` +
        'ESXi host; licenses are added and assigned through vCenter',
      { code: 'BRINE_UNSUPPORTED' },
    )
  return si
}

const target = {
  datacenter_name: z
    .string()
    .min(1)
    .optional()
    .describe('datacenter of the cluster or host (alone, it assigns nothing, as in saltext)'),
  cluster_name: z.string().min(1).optional().describe('assign to this cluster'),
  esxi_hostname: z.string().min(1).optional().describe('assign to this ESXi host'),
}
type Target = { [K in keyof typeof target]?: string | undefined }

/**
 * The entity a license is assigned to, as saltext-vmware picks it (utils/license_mgr.py
 * _get_entity_id): vCenter itself when nothing is named, the host when esxi_hostname is given,
 * else the cluster; a datacenter alone names nothing to assign to.
 */
async function assignee(
  ctx: CallContext,
  si: ServiceInstance,
  { datacenter_name, cluster_name, esxi_hostname }: Target,
): Promise<{ id: string; label: string } | undefined> {
  if (!datacenter_name && !cluster_name && !esxi_hostname)
    return { id: si.content.about.instanceUuid ?? '', label: 'vCenter' }
  if (esxi_hostname) {
    const host = await findInDatacenter(ctx, ENTITY_TYPES.host, esxi_hostname, datacenter_name)
    return { id: host.obj.value, label: `host '${host.name}'` }
  }
  if (cluster_name) {
    const cluster = await findCluster(ctx, cluster_name, datacenter_name)
    return { id: cluster.obj.value, label: `cluster '${cluster.name}'` }
  }
  return undefined
}

async function assignedKey(
  ctx: CallContext,
  si: ServiceInstance,
  manager: ManagedObjectReference,
  entityId: string,
) {
  const assignments = await callVim<
    | Array<{ assignedLicense?: { licenseKey?: string } }>
    | { assignedLicense?: { licenseKey?: string } }
    | undefined
  >(
    si,
    `reading the license assigned to ${entityId}`,
    'QueryAssignedLicenses',
    { _this: manager, entityId },
    { signal: ctx.signal },
  )
  return [assignments ?? []].flat()[0]?.assignedLicense?.licenseKey
}

function assignmentManagerOf(manager: ManagedObjectReference | undefined) {
  if (!manager)
    throw new ModuleError('this vCenter has no LicenseAssignmentManager', {
      code: 'BRINE_UNSUPPORTED',
    })
  return manager
}

/** A license key (saltext's license_key, or brine's key) and the entity it is assigned to. */
const keyArgs = {
  license_key: z.string().min(5).optional().describe('the license key'),
  ...target,
  key: z.string().min(5).optional().describe('alias of license_key'),
}

export default defineModule({
  doc: 'vCenter licenses: add (and assign), remove, list (keys are shown masked).',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc:
        'Installed licenses, as saltext-vmware lists them: {licenses: [key]} (masked; the ' +
        'evaluation license left out), plus details: [{key, name, edition, total, used, cost_unit}].',
      args: () => ({}),
      run: async (ctx) => {
        const installed = (await installedKeys(ctx)).filter((l) => l.licenseKey !== EVALUATION_KEY)
        return {
          licenses: installed.map((l) => masked(String(l.licenseKey))),
          details: installed.map((l) => ({
            key: masked(String(l.licenseKey)),
            name: l.name,
            edition: l.editionKey,
            total: Number(l.total),
            used: l.used === undefined ? null : Number(l.used),
            cost_unit: l.costUnit,
          })),
        }
      },
    }),
    has: defineFunction({
      doc: 'Whether this exact license key is installed (compared whole, answered yes or no).',
      args: () => ({ key: z.string().min(5).describe('the license key') }),
      run: async (ctx, { key }) => {
        masked(key)
        return (await installedKeys(ctx)).some((l) => l.licenseKey === key)
      },
    }),
    is_assigned: defineFunction({
      doc:
        'Whether the license key is assigned to the entity named as for add (vCenter when none ' +
        'is named); null when only a datacenter is named (nothing to assign to). vCenter only.',
      args: () => ({ key: z.string().min(5).describe('the license key'), ...target }),
      run: async (ctx, { key, ...names }) => {
        masked(key)
        const si = await vcenter(ctx)
        const entity = await assignee(ctx, si, names)
        if (!entity) return null
        const manager = assignmentManagerOf((await licenseManager(ctx)).assignments)
        return (await assignedKey(ctx, si, manager, entity.id)) === key
      },
    }),
    add: defineFunction({
      doc:
        'Add a license key and assign it, as saltext-vmware does: to vCenter when nothing else ' +
        'is named, else to the ESXi host (esxi_hostname) or the cluster (cluster_name), looked up ' +
        'in datacenter_name. Returns {licenses: key} (masked), plus name, edition and assigned_to. ' +
        'Refused on an ESXi host ("Failed, not connected to a vCenter"); test=True changes nothing.',
      args: () => keyArgs,
      run: async (ctx, args) => {
        const key = requiredAliased({ license_key: args.license_key, key: args.key })
        const shown = masked(key)
        const si = await vcenter(ctx)
        const entity = await assignee(ctx, si, args)
        if (ctx.test)
          return {
            licenses: shown,
            message: `Test dry-run: license ${shown} would be added${entity ? ` and assigned to ${entity.label}` : ''}`,
          }
        const state = await licenseManager(ctx)
        let info = state.licenses.find((l) => l.licenseKey === key)
        if (!info) {
          info = await callVim<LicenseInfo>(si, `adding license ${shown}`, 'AddLicense', {
            _this: si.content.licenseManager,
            licenseKey: key,
          })
          const props = [info?.properties ?? []].flat()
          if (props.some((p) => p.key === 'lc_error')) {
            const diagnostic = props.find((p) => p.key === 'diagnostic')?.value
            throw new ModuleError(
              `adding license ${shown} failed: ${String(diagnostic ?? 'vCenter refused the key')}`,
              { code: 'BRINE_MODULE' },
            )
          }
        }
        const manager = entity ? assignmentManagerOf(state.assignments) : undefined
        if (entity && manager && (await assignedKey(ctx, si, manager, entity.id)) !== key)
          await callVim(
            si,
            `assigning license ${shown} to ${entity.label}`,
            'UpdateAssignedLicense',
            { _this: manager, entity: entity.id, licenseKey: key },
            { signal: ctx.signal },
          )
        return {
          licenses: shown,
          key: shown,
          name: info?.name,
          edition: info?.editionKey,
          assigned_to: entity?.label ?? null,
        }
      },
    }),
    remove: defineFunction({
      doc:
        'Remove a license key, first unassigning it from the entity named as for add (when it ' +
        'holds this key). Returns saltext-vmware’s {} plus key (masked) and removed. Refused on an ' +
        'ESXi host; test=True changes nothing.',
      args: () => keyArgs,
      run: async (ctx, args) => {
        const key = requiredAliased({ license_key: args.license_key, key: args.key })
        const shown = masked(key)
        const si = await vcenter(ctx)
        const state = await licenseManager(ctx)
        if (!state.licenses.some((l) => l.licenseKey === key))
          throw new ModuleError(
            `Failed specified license key was not found in License Manager: ${shown}`,
            { code: 'BRINE_NOT_FOUND' },
          )
        const entity = await assignee(ctx, si, args)
        if (ctx.test)
          return {
            licenses: shown,
            message: `Test dry-run: license ${shown} would be removed`,
          }
        const manager = entity ? assignmentManagerOf(state.assignments) : undefined
        if (entity && manager && (await assignedKey(ctx, si, manager, entity.id)) === key)
          await callVim(
            si,
            `unassigning license ${shown} from ${entity.label}`,
            'RemoveAssignedLicense',
            { _this: manager, entityId: entity.id },
            { signal: ctx.signal },
          )
        await callVim(si, `removing license ${shown}`, 'RemoveLicense', {
          _this: si.content.licenseManager,
          licenseKey: key,
        })
        return { key: shown, removed: true }
      },
    }),
  },
})
