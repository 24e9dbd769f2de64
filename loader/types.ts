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
   * The vSphere service instance: the one passed by the caller, or the process-wide
   * ReconnectProxy of `profile` (created lazily; it connects on first use).
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
export interface FunctionDefinition<Shape extends ArgShape = ArgShape> {
  /** First line: summary; the rest: details. Shown by `sys.doc`. */
  doc: string
  args: Shape
  /** Accept extra positional and keyword arguments (passed as `extra`). */
  varargs?: boolean
  /** Takes `profile=` and may use `ctx.serviceInstance`. */
  vsphere?: boolean
  run: (ctx: CallContext, args: z.infer<z.ZodObject<Shape>>, extra: ExtraArgs) => unknown
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
  functions: Record<string, FunctionDefinition>
  /** Called when this generation is replaced or the loader closes. */
  dispose?: () => void | Promise<void>
}
