import type { z } from 'zod'
import type { ServiceInstance } from '../vsphere/service-instance.ts'

/** Options brine runs with (config file + env + flags), as modules see them. */
export interface Opts {
  id: string
  file_roots: string[]
  pillar_roots: string[]
  module_dirs: string[]
  log_level: string
  test: boolean
  session_store: boolean
  /** Highstate block format: full, terse, mixed, changes. */
  state_output?: string
  /** false hides states that succeeded without changes. */
  state_verbose?: boolean
  /** Stop a state run at the first failure. */
  failhard?: boolean
  /** Parallel states (`parallel: True`) running at once at most; 0: no bound. Default 8. */
  state_max_parallel?: number
  [key: string]: unknown
}

/** Call another execution function: `await ctx.salt('vmware_datacenter.list', { profile: 'lab' })`. */
export type SaltCall = (
  fn: string,
  kwargs?: Record<string, unknown>,
  args?: unknown[],
  options?: {
    test?: boolean | undefined
    /** Abort signal of the called function (default: the caller's own `ctx.signal`). */
    signal?: AbortSignal | undefined
  },
) => Promise<unknown>

/** What every function receives (Salt's dunders, made explicit). */
export interface CallContext {
  /** Resolved options (read-only). */
  readonly opts: Readonly<Opts>
  /** Compiled pillar (read-only). */
  readonly pillar: Readonly<Record<string, unknown>>
  /**
   * Salt's `__grains__`: the machine's core grains with the config's `grains:` on top
   * (core/grains.ts). Computed on first read, once per runtime.
   */
  readonly grains: Readonly<Record<string, unknown>>
  /** Cross-call into execution modules. */
  readonly salt: SaltCall
  /** Cross-call into state modules (states only). */
  readonly states: SaltCall
  /**
   * Typed cross-calls into one execution module, through the loader like `salt` (a module in
   * the user's module_dirs still wins; test mode, profile and signal are inherited). Type it
   * with a type-only import, which evaluates nothing:
   * `import type vmware_host from './vmware_host.ts'`, then
   * `await ctx.module<typeof vmware_host>('vmware_host').get({ name })` returns what
   * `vmware_host.get` returns, without a cast.
   */
  module<M extends ModuleDefinition = ModuleDefinition>(name: string): ModuleFunctions<M>
  /** Per-run scratch space shared by every call of one run (Salt's `__context__`). */
  readonly context: Record<string, unknown>
  /** Test mode: predict, change nothing. */
  readonly test: boolean
  /**
   * Aborted on SIGINT/SIGTERM or when the caller gives up (a state run stopped by failhard
   * aborts the state calls it has in flight). Cross-calls inherit it.
   */
  readonly signal: AbortSignal
  /** vSphere profile selected by `profile=` (undefined: the default). */
  readonly profile: string | undefined
  /**
   * The vSphere service instance of a vSphere function, connected before `run` starts (its
   * `content` is there): the one passed by the caller, or the process-wide ReconnectProxy
   * of `profile`, which still rebuilds its session when vCenter drops it.
   */
  readonly serviceInstance: ServiceInstance
  /** Report progress of a long operation (shown on a TTY). */
  readonly progress: (percent: number, message?: string) => void
  /** The function being called, `mod.fn`. */
  readonly fun: string
  /** Introspection and reloading (the `sys` module). */
  readonly sys: SysApi
}

/** What `sys.*` needs of the loaders. `state` selects the state loader. */
export interface SysApi {
  listModules(state?: boolean): Promise<string[]>
  /** `mod.fn` names matching a module name or a glob (`vmware_*`, `test.p*`). */
  listFunctions(pattern?: string, state?: boolean): Promise<string[]>
  /** `{ 'mod.fn': doc }` for a module, a function, or everything. */
  doc(target?: string, state?: boolean): Promise<Record<string, string>>
  /** Reload one module or all (both loaders). */
  reload(name?: string): Promise<void>
  /** Declared argument names of a function; throws FunctionUnavailableError (with the reason). */
  signature(fun: string, state?: boolean): Promise<{ args: string[]; varargs: boolean }>
  /** Compile pillar again (reload_pillar); ctx.pillar of later calls sees the new data. */
  reloadPillar(): Promise<void>
  /** The grains file (Salt's, beside the config file; else in data_dir): its mapping. */
  readGrainsFile(): Record<string, unknown>
  /** Replace the grains file; ctx.grains of later reads sees it. Returns the file's path. */
  writeGrainsFile(grains: Record<string, unknown>): string
  /** Read the grains file and the config's grains again on the next ctx.grains. */
  refreshGrains(): void
}

export type ArgShape = z.ZodRawShape

/** One function of a module. `args` order gives the positional order on the CLI. */
export interface FunctionDefinition<Shape extends ArgShape = ArgShape, Result = unknown> {
  /** First line: summary; the rest: details. Shown by `sys.doc`. */
  doc: string
  args: Shape
  /** Accept extra positional and keyword arguments (passed as `extra`). */
  varargs?: boolean
  /**
   * Takes `profile=` and gets `ctx.serviceInstance`, connected. Default: the module's
   * `vsphere`; `vsphere: false` opts one function of a vSphere module out.
   */
  vsphere?: boolean
  run: (ctx: CallContext, args: z.infer<z.ZodObject<Shape>>, extra: ExtraArgs) => Result
  /** The outputter the CLI uses by default for this function (Salt's `__outputter__`). */
  outputter?: string
}

export interface ExtraArgs {
  args: unknown[]
  kwargs: Record<string, unknown>
}

/** `__virtual__`: true/false, a virtual name, or `[false, reason]`. */
export type VirtualResult = boolean | string | [false, string]

export interface ModuleDefinition {
  /** What the module is for; shown by `sys.doc mod`. */
  doc?: string
  /** Name to load under when `virtual` returns true (Salt's `__virtualname__`). */
  virtualname?: string
  /** Decide whether (and under which name) to load. */
  virtual?: (opts: Readonly<Opts>) => VirtualResult
  /** Every function is a vSphere function unless it says `vsphere: false`. Default false. */
  vsphere?: boolean
  functions: Record<string, FunctionDefinition>
  /** Called when this generation is replaced or the loader closes. */
  dispose?: () => void | Promise<void>
}

// Typed cross-calls: types only, nothing here exists at run time.
declare const kResult: unique symbol

/** What `defineFunction` returns: a function definition that remembers what `run` returns. */
export type TypedFunction<Result> = FunctionDefinition & { readonly [kResult]?: Result }

/** What a function definition's `run` resolves to (`unknown` when not known). */
export type ResultOf<F> = F extends { readonly [kResult]?: infer Result }
  ? Awaited<Result>
  : unknown

/** Options of one cross-call. */
export interface CrossCallOptions {
  /** Positional arguments, before the keyword arguments. */
  args?: unknown[]
  test?: boolean | undefined
  /** Abort signal of the called function (default: the caller's own `ctx.signal`). */
  signal?: AbortSignal | undefined
}

/** `ctx.module<M>(name)`: each function of module `M`, called with keyword arguments. */
export type ModuleFunctions<M extends ModuleDefinition> = {
  readonly [F in keyof M['functions']]: (
    kwargs?: Record<string, unknown>,
    options?: CrossCallOptions,
  ) => Promise<ResultOf<M['functions'][F]>>
}
