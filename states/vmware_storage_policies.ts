import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'

const config = z
  .object({
    policyName: z.string().optional().describe('defaults to the state name'),
    description: z.string().optional(),
    constraints: z.array(z.record(z.string(), z.unknown())),
  })
  .strict()

export default defineModule({
  doc: 'Storage policies, idempotently (vCenter only).',
  functions: {
    config: defineFunction({
      doc:
        'Make the storage policy `name` match `config` ({description, constraints: [{name, ' +
        'namespace, <capability>: value}]}): created when missing, updated in place otherwise.',
      args: {
        name: z.string().min(1).describe('the policy name'),
        config: config.describe('the policy: {description, constraints}'),
      },
      vsphere: true,
      run: async (ctx, { name, config }) => {
        if (config.policyName !== undefined && config.policyName !== name)
          throw new ModuleError(
            `config.policyName '${config.policyName}' differs from the state name '${name}'; ` +
              'drop policyName or make them equal',
            { code: 'BRINE_ARGUMENT' },
          )
        const policy_config = { ...config, policyName: name }
        const drift = (await ctx.salt('vmware_storage_policies.drift_report', {
          policy_config,
        })) as { old?: unknown; new?: unknown }
        if (!('new' in drift))
          return {
            name,
            result: true,
            changes: {},
            comment: `Storage policy '${name}' is in the desired state.`,
          }
        const verb = drift.old === null ? 'created' : 'updated'
        const changes = { policy: drift }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Storage policy '${name}' would be ${verb}.`,
          }
        await ctx.salt('vmware_storage_policies.save', { policy_config })
        return { name, result: true, changes, comment: `Storage policy '${name}' ${verb}.` }
      },
    }),
  },
})
