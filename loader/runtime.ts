import picomatch from 'picomatch'
import { coreGrains, readGrainsFile, writeGrainsFile } from '../core/grains.ts'
import { log } from '../core/log.ts'
import { ISSUED_BRAND, SECRET_BRAND } from '../core/redact.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { bindArguments, CONTEXT_KWARGS, describeFunction, VSPHERE_KWARGS } from './arguments.ts'
import { ArgumentError, LoaderError } from './errors.ts'
import { hostModule, preloadHostModules } from './host-modules.ts'
import { ModuleLoader } from './loader.ts'
import type { CallContext, CrossCallOptions, Opts, SysApi } from './types.ts'

/** The vSphere side the runtime needs; built lazily from `brine/vsphere`. */
export interface ServiceInstanceSource {
  /** The profile's vCenter, or with `esxiHost` that ESXi host (its `esxi_host` credentials). */
  get(profile?: string, esxiHost?: string): ServiceInstance
  close(): Promise<Error[]>
  /** vCenter logins made so far (by the session cache). */
  readonly logins?: number
}

export interface RuntimeOptions {
  opts: Opts
  pillar: Record<string, unknown>
  /** Execution module directories, highest priority first (user dirs, then built-ins). */
  moduleDirs: string[]
  stateDirs: string[]
  /** Process-wide signal: aborted on SIGINT/SIGTERM. */
  signal: AbortSignal
  env?: Record<string, string | undefined>
  cacheDir?: string | undefined
  /** Shown for long operations, e.g. a spinner on a TTY. */
  onProgress?: ((fun: string, percent: number, message?: string) => void) | undefined
  /** Compile pillar again (for reload_pillar); default: keep the current pillar. */
  compilePillar?: (() => Promise<Record<string, unknown>>) | undefined
  /** Replace module evaluation (the stress suite's leaky control run only). */
  evaluate?: ((file: string) => Promise<unknown>) | undefined
  /** Build the service-instance source; default: a ServiceInstanceProvider from brine/vsphere. */
  createServiceInstances?: (() => ServiceInstanceSource) | undefined
  /**
   * Share this runtime's module loaders and service instances (one call of `brine daemon`):
   * the new runtime has its own pillar, signal, progress and `context`, and its close()
   * leaves the shared parts to their owner.
   */
  parent?: Runtime | undefined
}

export interface CallOptions {
  args?: unknown[]
  kwargs?: Record<string, unknown>
  /**
   * Use this service instance: no credentials are looked up, no connection is made by brine
   * (a vSphere function's `ctx.serviceInstance` is this one as given: give it connected).
   */
  serviceInstance?: ServiceInstance | undefined
  /** Call a state function instead of an execution function. */
  state?: boolean
  /** Inherited by cross-calls. */
  profile?: string | undefined
  test?: boolean | undefined
  /**
   * Abort signal of this call and of its cross-calls (default: the runtime's). Give one that
   * follows the runtime's signal (`AbortSignal.any`), so that SIGINT still reaches the call.
   */
  signal?: AbortSignal | undefined
}

/** What `test=` accepts, for error messages and documentation. */
export const TEST_VALUES =
  'accepted are True/False (any case), yes/no, on/off, y, 1/0 (a number above 0 is True) and None (the default); false as a quoted string is not'

const TRUE_WORDS = new Set(['true', 'yes', 'on', 'y'])
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/

/**
 * Read a `test` value as Salt does: YAML-typed booleans (`True`, `yes`, `on`…), numbers (above
 * 0 is true) and strings that `salt.utils.data.is_true` reads as true (`"1"`, `"true"` in any
 * case, and `yes`, `on`, `y`). A string meaning false (`"false"`, `"0"`, `"no"`, `n`) is
 * refused: Salt's state functions take any non-empty string as a dry run where
 * `salt.utils.args.test_mode` takes it as false, so the only safe reading is none. Returns
 * null when not given (None: the default applies) and undefined for what is refused
 * (`maybe`, `""`, `-1`, a list): never guessed, so that a dry run never becomes a real one.
 */
export function readTestValue(value: unknown): boolean | null | undefined {
  if (value === undefined || value === null) return null
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isNaN(value) || value < 0 ? undefined : value > 0
  if (typeof value !== 'string') return undefined
  const text = value.trim().toLowerCase()
  if (TRUE_WORDS.has(text)) return true
  return NUMBER.test(text) && Number(text) > 0 ? true : undefined
}

function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object' && value !== null) return 'a dict'
  return String(value)
}

/**
 * The test flag of one call, consuming its `test` keyword arguments: `test`, and (as Salt's
 * `salt.utils.args.test_mode` does) any other spelling of it, `TEST`, `Test`…, unless the
 * function declares that name. Test mode wins: a call that inherits test mode (a cross-call
 * or state of a dry run) stays in test mode whatever its arguments say, and any true value
 * among several spellings makes a dry run; `test=False` overrides only the configured default
 * (the `test` option). Unreadable values are refused before anything runs.
 */
function testOf(
  fun: string,
  declared: Record<string, unknown>,
  kwargs: Record<string, unknown>,
  inherited: boolean | undefined,
  configured: boolean,
): boolean {
  const given: boolean[] = []
  for (const key of Object.keys(kwargs)) {
    if (key.toLowerCase() !== 'test' || (key !== 'test' && key in declared)) continue
    const value = readTestValue(kwargs[key])
    if (value === undefined) {
      throw new ArgumentError(
        fun,
        `argument '${key}' must be True or False, not ${shown(kwargs[key])}: ${TEST_VALUES}. Nothing was run.`,
        key,
      )
    }
    delete kwargs[key]
    if (value !== null) given.push(value)
  }
  if (inherited === true || given.includes(true)) return true
  if (given.includes(false)) return false
  return inherited ?? configured
}

/**
 * `saltenv=` and `pillarenv=`, which Salt accepts on any call: brine has one environment,
 * `base` (file_roots and pillar_roots), so `base` (or None) is taken and dropped, and any
 * other environment is refused before anything runs, never silently read from base. A
 * function that declares the name gets it as any argument.
 */
function consumeEnvironments(
  fun: string,
  declared: Record<string, unknown>,
  kwargs: Record<string, unknown>,
): void {
  for (const key of ['saltenv', 'pillarenv']) {
    if (!(key in kwargs) || key in declared) continue
    const value = kwargs[key]
    if (value !== 'base' && value !== null && value !== undefined) {
      throw new ArgumentError(
        fun,
        `${key}=${shown(value)} is not an environment brine has: brine has one, base (file_roots and pillar_roots); give ${key}=base or leave it out. Nothing was run.`,
        key,
      )
    }
    delete kwargs[key]
  }
}

/**
 * Wait for `si` to be connected (a ReconnectProxy checks a session out of the session
 * cache, logging in if it has none). Nothing is checked out once `signal` is aborted, and
 * an abort while waiting rejects at once (the login in flight, shared by the cache, goes on
 * and is logged out with the other sessions when the runtime closes).
 */
async function connect(si: ServiceInstance, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([si.ready(), aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}

/** Deeper than this, a result is refused: the outputters (recursive) could not print it. */
const MAX_RESULT_DEPTH = 500

/**
 * Refuse a result that contains itself (a dict or list holding one of its own ancestors): no
 * outputter can print it (JSON.stringify throws "Converting circular structure", the others
 * would recurse forever). Also a result nested deeper than MAX_RESULT_DEPTH. Walks what the
 * outputters walk (dicts, lists, objects' own enumerable properties; not Secret or Issued
 * values, nor objects with toJSON), iteratively, so that the check itself cannot overflow
 * the stack. A value shared by two branches is fine.
 */
export function checkResult(fun: string, result: unknown): void {
  if (typeof result !== 'object' || result === null) return
  interface Frame {
    value: object
    keys: string[]
    next: number
    path: string
  }
  const walked = (value: unknown): value is object =>
    typeof value === 'object' &&
    value !== null &&
    !(SECRET_BRAND in value) &&
    !(ISSUED_BRAND in value) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  if (!walked(result)) return
  const frame = (value: object, path: string): Frame => ({
    value,
    keys: Object.keys(value),
    next: 0,
    path,
  })
  const stack: Frame[] = [frame(result, 'result')]
  const onPath = new Map<object, string>([[result, 'result']])
  while (stack.length) {
    const top = stack[stack.length - 1]!
    if (top.next >= top.keys.length) {
      stack.pop()
      onPath.delete(top.value)
      continue
    }
    const key = top.keys[top.next++]!
    const child = (top.value as Record<string, unknown>)[key]
    if (!walked(child)) continue
    const path = `${top.path}${
      Array.isArray(top.value)
        ? `[${key}]`
        : /^[A-Za-z_$][\w$]*$/.test(key)
          ? `.${key}`
          : `[${JSON.stringify(key)}]`
    }`
    const ancestor = onPath.get(child)
    if (ancestor !== undefined) {
      throw new LoaderError(
        `${fun} returned a value that contains itself: ${path} refers back to ${ancestor}. A result must be data that can be printed (dicts, lists, strings, numbers); return a copy without the back reference.`,
        { code: 'BRINE_RESULT' },
      )
    }
    if (stack.length >= MAX_RESULT_DEPTH) {
      throw new LoaderError(
        `${fun} returned a value nested more than ${MAX_RESULT_DEPTH} levels deep (at ${path.slice(0, 80)}…), which cannot be printed; return flatter data.`,
        { code: 'BRINE_RESULT' },
      )
    }
    onPath.set(child, path)
    stack.push(frame(child, path))
  }
}

/**
 * What one brine process runs with: options, pillar, the two loaders, the per-run context
 * and the service instances. It builds each call's context and calls the function.
 */
export class Runtime {
  readonly opts: Opts
  pillar: Record<string, unknown>
  readonly modules: ModuleLoader
  readonly states: ModuleLoader
  readonly signal: AbortSignal
  /** Salt's `__context__`: shared by every call of this run; `retcode` sets the exit code. */
  context: Record<string, unknown> = {}
  readonly #options: RuntimeOptions
  #serviceInstances: ServiceInstanceSource | undefined
  #grains: Record<string, unknown> | undefined

  constructor(options: RuntimeOptions) {
    this.#options = options
    this.opts = options.opts
    // Salt's `test: True` in the minion config: the default of every call.
    const configured = readTestValue(options.opts.test)
    if (configured === undefined) {
      throw new LoaderError(
        `option 'test' must be True or False, not ${shown(options.opts.test)}: ${TEST_VALUES}.`,
        { code: 'BRINE_CONFIG' },
      )
    }
    this.opts.test = configured ?? false
    this.pillar = options.pillar
    this.signal = options.signal
    if (options.parent) {
      this.modules = options.parent.modules
      this.states = options.parent.states
      return
    }
    this.modules = new ModuleLoader({
      dirs: options.moduleDirs,
      opts: options.opts,
      cacheDir: options.cacheDir,
      evaluate: options.evaluate,
    })
    this.states = new ModuleLoader({
      dirs: options.stateDirs,
      opts: options.opts,
      cacheDir: options.cacheDir,
      label: 'state module',
      evaluate: options.evaluate,
    })
  }

  /**
   * Call `mod.fn` with positional and keyword arguments. Its result must be data that can be
   * printed: one that contains itself is refused, naming the function (see checkResult).
   */
  async call(fun: string, options: CallOptions = {}): Promise<unknown> {
    const result = await this.#call(fun, options)
    checkResult(fun, result)
    return result
  }

  /**
   * A call; cross-calls come here directly (their results are the caller's to use). `given`:
   * the service instance is the caller's of `call` (brine does not connect it).
   */
  async #call(
    fun: string,
    options: CallOptions,
    given = options.serviceInstance !== undefined,
  ): Promise<unknown> {
    const loader = options.state ? this.states : this.modules
    const { definition } = await loader.getFunction(fun)
    const kwargs = { ...(options.kwargs ?? {}) }
    const test = testOf(fun, definition.args, kwargs, options.test, this.opts.test)
    consumeEnvironments(fun, definition.args, kwargs)
    let profile = options.profile
    if (definition.vsphere && 'profile' in kwargs) {
      if (
        kwargs.profile !== undefined &&
        kwargs.profile !== null &&
        typeof kwargs.profile !== 'string'
      ) {
        throw new ArgumentError(
          fun,
          `argument 'profile' must be a profile name (got ${typeof kwargs.profile}).`,
          'profile',
        )
      }
      profile = (kwargs.profile as string | null) ?? undefined
      delete kwargs.profile
    }
    for (const key of [...CONTEXT_KWARGS, ...VSPHERE_KWARGS]) delete kwargs[key]
    const bound = bindArguments(fun, definition, options.args ?? [], kwargs)

    // A vSphere function's `esxi_host_name` argument (saltext's) connects it, and its
    // cross-calls, to that ESXi host with the profile's `esxi_host` credentials.
    const esxiHost = definition.vsphere ? bound.values.esxi_host_name : undefined
    let serviceInstance = options.serviceInstance
    if (definition.vsphere && !serviceInstance)
      serviceInstance = await this.serviceInstance(
        profile,
        typeof esxiHost === 'string' && esxiHost ? esxiHost : undefined,
      )
    const ctx = this.#context(fun, {
      test,
      signal: options.signal ?? this.signal,
      profile,
      serviceInstance,
      explicit: options.serviceInstance ?? (esxiHost ? serviceInstance : undefined),
      given,
    })
    // A vSphere function starts connected (no `await ctx.serviceInstance.ready()` in modules).
    if (serviceInstance && !given) await connect(serviceInstance, ctx.signal)
    log.debug('loader', 'calling %s', fun)
    return definition.run(ctx, bound.values as never, bound.extra)
  }

  /** The process-wide service instance (ReconnectProxy) of `profile`; loads the vSphere client. */
  async serviceInstance(profile?: string, esxiHost?: string): Promise<ServiceInstance> {
    if (this.#options.parent) return this.#options.parent.serviceInstance(profile, esxiHost)
    if (!this.#serviceInstances) {
      if (this.#options.createServiceInstances) {
        this.#serviceInstances = this.#options.createServiceInstances()
      } else {
        await preloadHostModules(['brine/vsphere'])
        const vsphere = hostModule('brine/vsphere') as typeof import('../vsphere/api.ts')
        // Concurrent first calls (parallel states) all waited above: the first one in makes the
        // provider, the others use it (a second provider would hold sessions nobody closes).
        this.#serviceInstances ??= new vsphere.ServiceInstanceProvider({
          sources: { env: this.#options.env ?? process.env, opts: this.opts, pillar: this.pillar },
          persistSessions: this.opts.session_store,
        })
      }
    }
    return this.#serviceInstances.get(profile, esxiHost)
  }

  /** Salt's `__grains__` (core/grains.ts), computed on first use. */
  get grains(): Record<string, unknown> {
    this.#grains ??= coreGrains(this.opts)
    return this.#grains
  }

  /** vCenter logins made by this runtime's session cache so far. */
  get vsphereLogins(): number {
    if (this.#options.parent) return this.#options.parent.vsphereLogins
    return this.#serviceInstances?.logins ?? 0
  }

  /** Log out (or keep, with the session store) every session; dispose module generations. */
  async close(): Promise<void> {
    if (this.#options.parent) return
    const source = this.#serviceInstances
    this.#serviceInstances = undefined
    const failures = source ? await source.close() : []
    for (const failure of failures) log.warn('session', 'logout failed: %s', failure.message)
    await this.modules.close()
    await this.states.close()
  }

  #context(
    fun: string,
    call: {
      test: boolean
      signal: AbortSignal
      profile: string | undefined
      serviceInstance: ServiceInstance | undefined
      explicit: ServiceInstance | undefined
      given: boolean
    },
  ): CallContext {
    const crossCall =
      (state: boolean) =>
      (
        target: string,
        kwargs: Record<string, unknown> = {},
        args: unknown[] = [],
        options: { test?: boolean | undefined; signal?: AbortSignal | undefined } = {},
      ) =>
        this.#call(
          target,
          {
            args,
            kwargs,
            state,
            profile: call.profile,
            test: options.test ?? call.test,
            signal: options.signal ?? call.signal,
            serviceInstance: call.explicit,
          },
          call.given,
        )
    const salt = crossCall(false)
    const runtime = this
    return {
      opts: this.opts,
      get pillar() {
        return runtime.pillar
      },
      get grains() {
        return runtime.grains
      },
      salt,
      states: crossCall(true),
      module: (mod) =>
        new Proxy({} as never, {
          get: (_target, fn) =>
            typeof fn === 'string' && fn !== 'then'
              ? (kwargs?: Record<string, unknown>, options: CrossCallOptions = {}) =>
                  salt(`${mod}.${fn}`, kwargs, options.args, options)
              : undefined,
        }),
      context: this.context,
      test: call.test,
      signal: call.signal,
      profile: call.profile,
      fun,
      get serviceInstance(): ServiceInstance {
        if (!call.serviceInstance) {
          throw new ArgumentError(
            fun,
            'has no serviceInstance: declare the function with vsphere: true.',
          )
        }
        return call.serviceInstance
      },
      progress: (percent, message) => this.#options.onProgress?.(fun, percent, message),
      sys: this.#sys,
    }
  }

  readonly #sys: SysApi = {
    listModules: async (state) => {
      const loader = state ? this.states : this.modules
      await loader.loadAll()
      return loader.moduleNames()
    },
    listFunctions: async (pattern, state) => {
      const loader = state ? this.states : this.modules
      await loader.loadAll()
      const names = loader
        .moduleNames()
        .flatMap((mod) =>
          Object.keys(loader.module(mod)!.definition.functions).map((fn) => `${mod}.${fn}`),
        )
      if (!pattern) return names.sort()
      const isMatch = picomatch(
        pattern.includes('.') || /[*?[]/.test(pattern) ? pattern : `${pattern}.*`,
      )
      return names.filter((name) => isMatch(name)).sort()
    },
    doc: async (target, state) => {
      const loader = state ? this.states : this.modules
      const docs: Record<string, string> = {}
      const names =
        target && !/[*?[]/.test(target) && target.includes('.')
          ? [target]
          : await this.#sys.listFunctions(target, state)
      for (const name of names) {
        const { definition } = await loader.getFunction(name)
        docs[name] = describeFunction(name, definition)
      }
      return docs
    },
    reload: async (name) => {
      await this.modules.reload(name)
      await this.states.reload(name)
    },
    signature: async (fun, state) => {
      const { definition } = await (state ? this.states : this.modules).getFunction(fun)
      return { args: Object.keys(definition.args), varargs: definition.varargs === true }
    },
    reloadPillar: async () => {
      if (this.#options.compilePillar) this.pillar = await this.#options.compilePillar()
    },
    readGrainsFile: () => readGrainsFile(this.opts),
    writeGrainsFile: (grains) => {
      const path = writeGrainsFile(this.opts, grains)
      this.#grains = undefined
      return path
    },
    refreshGrains: () => {
      this.#grains = undefined
    },
  }
}
