import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import type vmware_storage_policies from '../modules/vmware_storage_policies.ts'
import type { Policy } from '../modules/vmware_storage_policies.ts'

type Constraint = Record<string, unknown>
const wantedPolicy = z
  .object({
    policyName: z.string().min(1).optional().describe('defaults to the state name (dict form)'),
    description: z.string().optional(),
    constraints: z.array(z.record(z.string(), z.unknown())),
  })
  .strict()
type WantedPolicy = z.infer<typeof wantedPolicy>

const key = (set: string, namespace: string) => `${set}\u0000${namespace}`
const comparable = (value: unknown) =>
  JSON.stringify(Array.isArray(value) ? [...value].sort() : value)

/**
 * The policy as the SLS wants it, merged over what exists: rule sets and capabilities the SLS
 * leaves out are kept (as saltext-vmware's drift report ignores them), a description left out
 * is kept. Changes in saltext-vmware's shape, only what differs:
 * `{old: {constraints: {<rule set>: {<capability>: value}}, description?}, new: {…}}`.
 */
function plan(existing: Policy | undefined, wanted: WantedPolicy) {
  const merged = new Map<string, Constraint>()
  for (const entry of existing?.constraints ?? [])
    merged.set(key(String(entry.name), String(entry.namespace ?? 'VSAN')), { ...entry })
  const old: Record<string, unknown> = {}
  const neu: Record<string, unknown> = {}
  const oldSets: Record<string, Constraint> = {}
  const newSets: Record<string, Constraint> = {}
  for (const { name, namespace = 'VSAN', ...caps } of wanted.constraints) {
    const setName = String(name)
    const id = key(setName, String(namespace))
    const current = merged.get(id) ?? { name: setName, namespace }
    merged.set(id, current)
    for (const [cap, value] of Object.entries(caps)) {
      if (comparable(current[cap]) === comparable(value)) continue
      if (current[cap] !== undefined) {
        oldSets[setName] = oldSets[setName] ?? {}
        oldSets[setName][cap] = current[cap]
      }
      newSets[setName] = newSets[setName] ?? {}
      newSets[setName][cap] = value
      current[cap] = value
    }
  }
  if (Object.keys(newSets).length) {
    old.constraints = oldSets
    neu.constraints = newSets
  }
  if (
    wanted.description !== undefined &&
    wanted.description !== (existing?.description ?? undefined)
  ) {
    if (existing) old.description = existing.description ?? ''
    neu.description = wanted.description
  }
  if (!existing) neu.constraints = newSets
  return {
    changes: !existing
      ? { old: {}, new: neu }
      : Object.keys(neu).length
        ? { old, new: neu }
        : undefined,
    config: {
      policyName: wanted.policyName!,
      ...(wanted.description === undefined ? {} : { description: wanted.description }),
      constraints: [...merged.values()],
    },
  }
}

export default defineModule({
  doc: 'Storage policies, idempotently (vCenter only; saltext-vmware’s state module is storage_policy).',
  vsphere: true,
  functions: {
    config: defineFunction({
      doc:
        'Make storage policies match `config`: saltext-vmware’s list of {policyName, description, ' +
        'constraints: [{name, namespace, <capability>: value}]} (then `name` only labels the state), ' +
        'or one such dict without policyName for the policy `name`. A missing policy is created, ' +
        'an existing one updated in place; rule sets, capabilities and a description the SLS ' +
        'leaves out are kept. Changes: {<policyName>: {old, new}} with what differs.',
      args: () => ({
        name: z.string().min(1).describe('the state’s name (the policy name in the dict form)'),
        config: z
          .union([z.array(wantedPolicy.required({ policyName: true })), wantedPolicy])
          .describe('the policies: a list of {policyName, …}, or one {description, constraints}'),
      }),
      run: async (ctx, { name, config }) => {
        let wanted: WantedPolicy[]
        if (Array.isArray(config)) wanted = config
        else {
          if (config.policyName !== undefined && config.policyName !== name)
            throw new ModuleError(
              `config.policyName '${config.policyName}' differs from the state name '${name}'; ` +
                'drop policyName or make them equal',
              { code: 'BRINE_ARGUMENT' },
            )
          wanted = [{ ...config, policyName: name }]
        }
        const existing = await ctx
          .module<typeof vmware_storage_policies>('vmware_storage_policies')
          .find()
        const changes: Record<string, unknown> = {}
        const saves: Array<{ verb: string; config: ReturnType<typeof plan>['config'] }> = []
        for (const policy of wanted) {
          const current = existing.find((p) => p.policyName === policy.policyName)
          const planned = plan(current, policy)
          if (!planned.changes) continue
          changes[policy.policyName!] = planned.changes
          saves.push({ verb: current ? 'updated' : 'created', config: planned.config })
        }
        if (!saves.length)
          return {
            name,
            result: true,
            changes: {},
            comment: wanted
              .map((p) => `Storage policy '${p.policyName}' is in the desired state.`)
              .join('\n'),
          }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: saves
              .map((s) => `Storage policy '${s.config.policyName}' would be ${s.verb}.`)
              .join('\n'),
          }
        const comments: string[] = []
        let result = true
        for (const save of saves) {
          try {
            await ctx.salt('vmware_storage_policies.save', { policy_config: save.config })
            comments.push(`Storage policy '${save.config.policyName}' ${save.verb}.`)
          } catch (error) {
            result = false
            delete changes[save.config.policyName]
            comments.push(
              `Storage policy '${save.config.policyName}' was not saved: ${(error as Error).message}`,
            )
          }
        }
        return { name, result, changes, comment: comments.join('\n') }
      },
    }),
  },
})
