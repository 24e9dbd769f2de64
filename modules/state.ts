import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  applySingle,
  applySlsId,
  applyStates,
  type StateOutcome,
  type StateRunDeps,
  showLowstate,
  showSls,
  showTop,
} from 'brine/runner'

/** The runner's dependencies, from this call's context. */
function deps(
  ctx: CallContext,
  failhard: boolean | undefined,
  maxParallel?: number | undefined,
): StateRunDeps {
  return {
    maxParallel,
    roots: ctx.opts.file_roots,
    minionId: ctx.opts.id,
    opts: ctx.opts,
    pillar: ctx.pillar,
    // A getter: the grains are computed when a template first reads them, not per state call.
    get grains() {
      return ctx.grains
    },
    test: ctx.test,
    failhard: failhard ?? ctx.opts.failhard === true,
    signal: ctx.signal,
    callState: (fun, kwargs, test, signal) => ctx.states(fun, kwargs, [], { test, signal }),
    callExec: (fun, kwargs, args) => ctx.salt(fun, kwargs, args),
    context: ctx.context,
    describe: (fun) => ctx.sys.signature(fun, true),
    reloadModules: () => ctx.sys.reload(),
    reloadPillar: () => ctx.sys.reloadPillar(),
  }
}

/** Salt's state.* set `__context__['retcode']`: 1 compile error, 2 a failed state, 5 pillar. */
function finish(
  ctx: CallContext,
  outcome: StateOutcome | { result: unknown; retcode: number },
): unknown {
  // Salt's _set_retcode: every state.* call sets it, 0 included (a condition's command or a
  // cmd state may have set one meanwhile).
  ctx.context.retcode = outcome.retcode
  return outcome.result
}

function modsOf(mods: string | number | Array<string | number> | undefined): string[] | undefined {
  if (mods === undefined || mods === '') return undefined
  return (Array.isArray(mods) ? mods : String(mods).split(','))
    .map((m) => String(m).trim())
    .filter(Boolean)
}

const mods = z
  // `state.sls 12345` runs 12345.sls: the CLI types the argument as a number.
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
  .optional()
  .describe('SLS names, comma-separated or a list')
const common = {
  exclude: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('SLS names to leave out'),
  failhard: z.boolean().optional().describe('stop at the first failed state'),
  state_max_parallel: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('parallel states running at once (default: the option, 8; 0: no bound)'),
}

export default defineModule({
  doc: 'Apply state files (SLS) the way Salt does: requisites, ordering, test mode.',
  functions: {
    apply: defineFunction({
      doc: 'Apply the given SLS modules, or the highstate (top.sls) when none are given. test=True predicts without changing.',
      args: () => ({ mods, ...common }),
      outputter: 'highstate',
      run: async (ctx, { mods: m, exclude, failhard, state_max_parallel }) =>
        finish(
          ctx,
          await applyStates(deps(ctx, failhard, state_max_parallel), modsOf(m), modsOf(exclude)),
        ),
    }),
    sls: defineFunction({
      doc: 'Apply the given SLS modules.',
      args: () => ({
        mods: z
          .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
          .describe('SLS names, comma-separated or a list'),
        ...common,
      }),
      outputter: 'highstate',
      run: async (ctx, { mods: m, exclude, failhard, state_max_parallel }) =>
        finish(
          ctx,
          await applyStates(
            deps(ctx, failhard, state_max_parallel),
            modsOf(m) ?? [],
            modsOf(exclude),
          ),
        ),
    }),
    highstate: defineFunction({
      doc: 'Apply the highstate: the SLS modules top.sls assigns to this minion id.',
      args: () => ({ ...common }),
      outputter: 'highstate',
      run: async (ctx, { exclude, failhard, state_max_parallel }) =>
        finish(
          ctx,
          await applyStates(deps(ctx, failhard, state_max_parallel), undefined, modsOf(exclude)),
        ),
    }),
    test: defineFunction({
      doc: 'state.apply in test mode: report what would change, change nothing.',
      args: () => ({ mods, ...common }),
      outputter: 'highstate',
      run: async (ctx, { mods: m, exclude, failhard, state_max_parallel }) =>
        finish(
          ctx,
          await applyStates(
            { ...deps(ctx, failhard, state_max_parallel), test: true },
            modsOf(m),
            modsOf(exclude),
          ),
        ),
    }),
    single: defineFunction({
      doc: 'Run one state function without an SLS file: state.single test.succeed_with_changes name=foo',
      args: () => ({ fun: z.string().describe('the state function, mod.fun') }),
      varargs: true,
      outputter: 'highstate',
      run: async (ctx, { fun }, extra) => {
        const args = { ...extra.kwargs }
        if (extra.args[0] !== undefined && args.name === undefined) args.name = extra.args[0]
        return finish(ctx, await applySingle(deps(ctx, undefined), fun, args))
      },
    }),
    sls_id: defineFunction({
      doc: 'Run the states of one ID from the given SLS modules, with the states they require: state.sls_id web_config web',
      args: () => ({
        id_: z.string().describe('the state ID'),
        mods: z
          .union([z.string(), z.array(z.string())])
          .describe('SLS names, comma-separated or a list'),
        failhard: common.failhard,
        state_max_parallel: common.state_max_parallel,
      }),
      outputter: 'highstate',
      run: async (ctx, { id_, mods: m, failhard, state_max_parallel }) => {
        const names = modsOf(m) ?? []
        const outcome = await applySlsId(deps(ctx, failhard, state_max_parallel), id_, names)
        // Salt raises SaltInvocationError with these words (salt/modules/state.py sls_id).
        if (!Array.isArray(outcome.result) && Object.keys(outcome.result).length === 0)
          throw new ModuleError(
            `No matches for ID '${id_}' found in SLS '${names.join(',')}' within saltenv 'base'`,
          )
        return finish(ctx, outcome)
      },
    }),
    show_sls: defineFunction({
      doc: 'Show the high data of SLS modules, rendered and compiled, without running them.',
      args: () => ({
        mods: z
          .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
          .describe('SLS names'),
      }),
      run: (ctx, { mods: m }) => finish(ctx, showSls(deps(ctx, undefined), modsOf(m) ?? [])),
    }),
    show_lowstate: defineFunction({
      doc: 'Show the ordered low chunks of the highstate (or of the given SLS modules).',
      args: () => ({ mods }),
      run: async (ctx, { mods: m }) =>
        finish(ctx, await showLowstate(deps(ctx, undefined), modsOf(m))),
    }),
    show_top: defineFunction({
      doc: 'Show the SLS modules top.sls assigns to this minion.',
      args: () => ({}),
      run: (ctx) => finish(ctx, showTop(deps(ctx, undefined))),
    }),
  },
})
