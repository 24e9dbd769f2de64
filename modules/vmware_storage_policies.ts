import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import { callVim, type ServiceInstance, typedPrimitive } from 'brine/vsphere'
import { asList } from './_vmware.ts'

// Storage policies live behind vCenter's PBM endpoint (/pbm, namespace urn:pbm), which
// shares the vim25 session: no second login, the session cookie goes in the SOAP header.
const PBM = { endpoint: { path: '/pbm', namespace: 'urn:pbm', version: '1.0' } }
const PBM_SERVICE_INSTANCE = { type: 'PbmServiceInstance', value: 'ServiceInstance' }
const STORAGE = { resourceType: 'STORAGE' }

type Scalar = string | number | boolean
type Value = Scalar | Scalar[] | { min: Scalar; max: Scalar }

/**
 * A policy as brine shows and accepts it (saltext's layout, plus the capability namespace):
 * each rule set (sub-profile) is `{name, namespace, <capability id>: value, …}`. A rule set
 * whose capabilities come from several namespaces is shown as several entries with the same
 * name; `save` merges entries by name again.
 */
export interface Policy {
  policyName: string
  id?: string
  description?: string
  constraints: Array<Record<string, Value>>
}

const scalar = z.union([z.string(), z.number(), z.boolean()])
const policyConfig = z
  .object({
    policyName: z.string().min(1).describe('policy name'),
    description: z.string().optional(),
    constraints: z.array(
      z
        .object({ name: z.string().min(1), namespace: z.string().min(1).default('VSAN') })
        .catchall(
          z.union([scalar, z.array(scalar), z.object({ min: scalar, max: scalar }).strict()]),
        ),
    ),
  })
  .strict()
type PolicyConfig = z.infer<typeof policyConfig>

interface RawProfile {
  _type?: string
  profileId: { uniqueId: string }
  name: string
  description?: string
  constraints?: {
    subProfiles?: RawSubProfile | RawSubProfile[]
  }
}
interface RawSubProfile {
  name: string
  capability?: RawCapability | RawCapability[]
}
interface RawCapability {
  id: { namespace: string; id: string }
  constraint?:
    | { propertyInstance?: RawProperty | RawProperty[] }
    | Array<{ propertyInstance?: RawProperty | RawProperty[] }>
}
interface RawProperty {
  id: string
  value?: unknown
}

function fromWire(value: unknown): Value {
  if (value && typeof value === 'object') {
    const v = value as { _type?: string; values?: unknown; min?: unknown; max?: unknown }
    if (v._type === 'PbmCapabilityDiscreteSet') return asList(v.values as Scalar[])
    if (v._type === 'PbmCapabilityRange') return { min: v.min as Scalar, max: v.max as Scalar }
  }
  return value as Scalar
}

function toWire(value: Value) {
  if (Array.isArray(value))
    return { _type: 'PbmCapabilityDiscreteSet', values: value.map(typedPrimitive) }
  if (typeof value === 'object')
    return {
      _type: 'PbmCapabilityRange',
      min: typedPrimitive(value.min),
      max: typedPrimitive(value.max),
    }
  return typedPrimitive(value)
}

function describe(profile: RawProfile): Policy {
  const constraints: Policy['constraints'] = []
  for (const sub of asList(profile.constraints?.subProfiles)) {
    const byNamespace = new Map<string, Record<string, Value>>()
    for (const cap of asList(sub.capability)) {
      let entry = byNamespace.get(cap.id.namespace)
      if (!entry) {
        entry = { name: sub.name, namespace: cap.id.namespace }
        byNamespace.set(cap.id.namespace, entry)
      }
      for (const c of asList(cap.constraint))
        for (const p of asList(c.propertyInstance)) entry[p.id] = fromWire(p.value)
    }
    if (byNamespace.size === 0) constraints.push({ name: sub.name })
    constraints.push(...byNamespace.values())
  }
  return {
    policyName: profile.name,
    id: profile.profileId.uniqueId,
    description: profile.description ?? '',
    constraints,
  }
}

/** The wire form of a config's rule sets (`PbmCapabilitySubProfileConstraints`). */
function constraintsSpec(config: PolicyConfig) {
  const subProfiles = new Map<string, Array<Record<string, unknown>>>()
  for (const { name, namespace, ...capabilities } of config.constraints) {
    const caps = subProfiles.get(name) ?? []
    subProfiles.set(name, caps)
    for (const [id, value] of Object.entries(capabilities))
      caps.push({
        id: { namespace, id },
        constraint: [{ propertyInstance: [{ id, value: toWire(value as Value) }] }],
      })
  }
  return {
    _type: 'PbmCapabilitySubProfileConstraints',
    subProfiles: [...subProfiles].map(([name, capability]) => ({ name, capability })),
  }
}

async function profileManager(si: ServiceInstance) {
  if (si.content.about.apiType !== 'VirtualCenter')
    throw new ModuleError('storage policies need vCenter (this endpoint is an ESXi host)', {
      code: 'BRINE_UNSUPPORTED',
    })
  const content = await callVim<{ profileManager: { type: string; value: string } }>(
    si,
    'opening the storage policy service',
    'PbmRetrieveServiceContent',
    { _this: PBM_SERVICE_INSTANCE },
    PBM,
  )
  return content.profileManager
}

async function allPolicies(ctx: CallContext): Promise<{ manager: unknown; policies: Policy[] }> {
  const si = ctx.serviceInstance
  const manager = await profileManager(si)
  const ids = await callVim<Array<{ uniqueId: string }> | undefined>(
    si,
    'listing storage policies',
    'PbmQueryProfile',
    { _this: manager, resourceType: STORAGE, profileCategory: 'REQUIREMENT' },
    { ...PBM, signal: ctx.signal },
  )
  if (asList(ids).length === 0) return { manager, policies: [] }
  const profiles = await callVim<RawProfile | RawProfile[]>(
    si,
    'reading storage policies',
    'PbmRetrieveContent',
    { _this: manager, profileIds: asList(ids) },
    { ...PBM, signal: ctx.signal },
  )
  return { manager, policies: asList(profiles).map(describe) }
}

/** A policy by name or id, or undefined. */
function findPolicy(policies: Policy[], name: string): Policy | undefined {
  return policies.find((p) => p.policyName === name) ?? policies.find((p) => p.id === name)
}

/** A policy by name or id; BRINE_NOT_FOUND when there is none. */
async function onePolicy(ctx: CallContext, name: string) {
  const { manager, policies } = await allPolicies(ctx)
  const policy = findPolicy(policies, name)
  if (!policy)
    throw new ModuleError(
      `storage policy '${name}' not found (vmware_storage_policies.find lists them)`,
      { code: 'BRINE_NOT_FOUND' },
    )
  return { manager, policy }
}

/** A comparable form of the rule sets: merged by name, keys sorted, lists as sets, no id. */
function canonicalSets(constraints: Policy['constraints']) {
  const sets = new Map<string, Record<string, unknown>>()
  for (const { name, namespace, ...caps } of constraints) {
    const set = sets.get(String(name)) ?? {}
    sets.set(String(name), set)
    for (const [id, value] of Object.entries(caps))
      set[`${namespace ?? 'VSAN'}/${id}`] = Array.isArray(value) ? [...value].sort() : value
  }
  const sorted = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
  return JSON.stringify(
    [...sets].sort(([a], [b]) => a.localeCompare(b)).map(([n, set]) => [n, sorted(set)]),
  )
}

/**
 * Whether the policy already is as `config` says: its rule sets, and its description only when
 * the config gives one (a description left out is left as it is, never cleared).
 */
export function inSync(
  existing: Policy,
  config: { description?: string | undefined; constraints: Policy['constraints'] },
): boolean {
  return (
    (config.description === undefined || config.description === (existing.description ?? '')) &&
    canonicalSets(existing.constraints) === canonicalSets(config.constraints)
  )
}

export default defineModule({
  doc:
    'Storage policies (SPBM, vCenter only; saltext-vmware’s module is storage_policy, the same ' +
    'functions): find, save (create or update in place), drift_report, delete.',
  vsphere: true,
  functions: {
    find: defineFunction({
      doc:
        'Storage policies (all, or the one named; [] when there is none, as in saltext-vmware): ' +
        '[{policyName, constraints: [{name, <capability>: value, namespace}], id, description}].',
      args: () => ({
        policy_name: z.string().optional().describe('only this policy (name or id)'),
      }),
      run: async (ctx, { policy_name }) => {
        const { policies } = await allPolicies(ctx)
        if (policy_name) {
          const policy = findPolicy(policies, policy_name)
          return policy ? [policy] : []
        }
        return policies.sort((a, b) => a.policyName.localeCompare(b.policyName))
      },
    }),
    drift_report: defineFunction({
      doc:
        'How the policy differs from a config: {} when in sync, else {old, new} ' +
        '(old: null when the policy does not exist). A description left out is not compared.',
      args: () => ({ policy_config: policyConfig.describe('as for save') }),
      run: async (ctx, { policy_config: config }) => {
        const { policies } = await allPolicies(ctx)
        const existing = policies.find((p) => p.policyName === config.policyName)
        if (existing && inSync(existing, config)) return {}
        const shown = (p: {
          description?: string | undefined
          constraints: Policy['constraints']
        }) => ({
          description: p.description ?? '',
          constraints: p.constraints,
        })
        const wanted = { ...config, description: config.description ?? existing?.description }
        return { old: existing ? shown(existing) : null, new: shown(wanted) }
      },
    }),
    save: defineFunction({
      doc:
        'Create the policy, or update it in place (same id, VMs stay associated; a description ' +
        'left out is kept): {status: created|updated|unchanged}, plus id.',
      args: () => ({
        policy_config: policyConfig.describe(
          '{policyName, description, constraints: [{name, namespace (default VSAN), <capability>: value}]}',
        ),
      }),
      run: async (ctx, { policy_config: config }) => {
        const si = ctx.serviceInstance
        const { manager, policies } = await allPolicies(ctx)
        const existing = policies.find((p) => p.policyName === config.policyName)
        const what = `saving storage policy '${config.policyName}'`
        if (!existing) {
          const id = await callVim<{ uniqueId: string }>(
            si,
            what,
            'PbmCreate',
            {
              _this: manager,
              createSpec: {
                name: config.policyName,
                description: config.description,
                category: 'REQUIREMENT',
                resourceType: STORAGE,
                constraints: constraintsSpec(config),
              },
            },
            PBM,
          )
          return { status: 'created', id: id.uniqueId }
        }
        if (inSync(existing, config)) return { status: 'unchanged', id: existing.id }
        await callVim(
          si,
          what,
          'PbmUpdate',
          {
            _this: manager,
            profileId: { uniqueId: existing.id },
            updateSpec: {
              description: config.description,
              constraints: constraintsSpec(config),
            },
          },
          PBM,
        )
        return { status: 'updated', id: existing.id }
      },
    }),
    delete: defineFunction({
      doc: 'Delete a storage policy (by name or id).',
      args: () => ({ policy_name: z.string().min(1).describe('policy name or id') }),
      run: async (ctx, { policy_name }) => {
        const si = ctx.serviceInstance
        const { manager, policy } = await onePolicy(ctx, policy_name)
        const results = await callVim<Array<{ fault?: unknown }> | { fault?: unknown } | undefined>(
          si,
          `deleting storage policy '${policy.policyName}'`,
          'PbmDelete',
          { _this: manager, profileId: [{ uniqueId: policy.id }] },
          PBM,
        )
        const failed = asList(results).find((r) => r.fault)
        if (failed)
          throw new ModuleError(
            `deleting storage policy '${policy.policyName}' failed: ${JSON.stringify(failed.fault)}`,
          )
        return { policyName: policy.policyName, deleted: true }
      },
    }),
  },
})
