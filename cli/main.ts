import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { parseArgs } from 'node:util'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { exitCodeOf } from '../core/error-codes.ts'
import { BrineError } from '../core/errors.ts'
import { type LogLevel, log, setLogLevel } from '../core/log.ts'
import { redact } from '../core/redact.ts'
import { compileOptsPillar, registerSecretsIn, runtimeDirs } from '../loader/caller.ts'
import type { Runtime } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import { parseInput, yamlifyArg } from './argv.ts'
import type { CallHost } from './daemon-protocol.ts'
import { EXIT } from './exit-codes.ts'
import { formatHighstate, STATE_OUTPUTS, type StateOutput } from './highstate.ts'
import { ConfigError, type OptsFlags, resolveOpts } from './opts.ts'
import { formatOutput, OUTPUTTERS, type Outputter } from './output.ts'

const VERSION = '0.1.0'

const USAGE = `Usage: brine [options] call <module.function> [arg ...] [key=value ...]
       brine [options] <module.function> [arg ...] [key=value ...]
       brine [options] console serve [--listen <host:port>]
       brine [options] daemon [start|stop|status]

Runs one brine function locally, like salt-call --local (--local is accepted;
brine is always local).

Examples:
  brine call test.ping
  brine sys.doc vmware_datacenter
  brine call vmware_datacenter.list profile=lab
  brine call pillar.get saltext.vmware:host
  brine call state.apply web test=True
  brine console serve --listen 0.0.0.0:6090

Options:
  -c, --config <path>       config file, or a Salt config dir (DIR/minion and
                            DIR/minion.d/*.conf) (default: BRINE_CONFIG, else ./brine.yaml)
      --config-dir <dir>    the same as -c (salt-call's long name)
      --local               accepted for salt-call habits; brine always runs locally
  -g, --grains              show the grains (grains.items)
      --id <id>             minion id (default: the host name)
      --file-root <dir>     state tree root (repeatable)
      --pillar-root <dir>   pillar root (repeatable)
  -m, --module-dirs <dir>   extra module directory, searched before the built-ins (repeatable)
      --out <name>          nested (default), highstate (default for state.*), json, yaml,
                            raw, txt, quiet
      --state-output <mode> highstate blocks: full (default), terse, mixed, changes; with _id
                            (full_id, terse_id, …) each state shows its ID instead of its name
      --state-verbose false hide states that succeeded without changes
      --out-file <file>     write the output to a file instead of stdout
  -l, --log-level <level>   error, warning (default), info, debug, trace
      --retcode-passthrough exit with the function's own return code
  -t, --timeout <seconds>   abort the call after this long (its vCenter tasks are cancelled)
      --session-store       keep vCenter sessions on disk for later brine processes
      --no-color            no colors (also NO_COLOR)
      --listen <host:port>  console serve: where to listen (default 127.0.0.1:6090)
  -h, --help                this help
  -V, --version             the version

Exit codes: 0 success, 1 the call failed, 2 bad command line or config,
130/143 interrupted; --retcode-passthrough exits with the function's retcode
instead of 1 (state runs: 1 compile error, 2 a state failed, 5 pillar failure).`

class UsageError extends BrineError {
  static override readonly kind: string = 'UsageError'
  constructor(message: string) {
    super(message, { code: 'BRINE_USAGE' })
  }
}

/**
 * Run the CLI; resolves with the exit code (never calls process.exit). `host` is given by
 * `brine daemon` when it runs a client's call: its signal, environment, directory and runtime.
 */
export async function main(
  argv: string[],
  io = { stdout: process.stdout, stderr: process.stderr },
  host?: CallHost,
): Promise<number> {
  let debug = false
  let runtime: Runtime | undefined
  let outFile: OutFile | undefined
  // A reader that goes away (`brine … | head`) makes writes fail with EPIPE, emitted as an
  // 'error' event: unhandled, it would end the process before the sessions are logged out.
  guardStream(io.stdout)
  guardStream(io.stderr)
  const controller = new AbortController()
  let deadline: NodeJS.Timeout | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.kill(process.pid, 'SIGKILL')
    controller.abort(
      new BrineError(`interrupted by ${signal}`, {
        code: signal === 'SIGINT' ? 'BRINE_SIGINT' : 'BRINE_SIGTERM',
      }),
    )
  }
  if (host) {
    host.signal.addEventListener('abort', () => controller.abort(host.signal.reason), {
      once: true,
    })
  } else {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  try {
    // Parse argv once
    let parsed: ReturnType<typeof parseCommandLine>
    try {
      parsed = parseCommandLine(argv)
    } catch (error) {
      throw error instanceof BrineError
        ? error
        : new UsageError(`${(error as Error).message}. See brine --help.`)
    }
    const { values, positionals } = parsed
    if (values.help) {
      io.stdout.write(`${USAGE}\n`)
      return EXIT.OK
    }
    if (values.version) {
      io.stdout.write(`brine ${VERSION}\n`)
      return EXIT.OK
    }
    if (values.config !== undefined && values['config-dir'] !== undefined)
      throw new UsageError('give -c/--config or --config-dir, not both (they are the same option).')
    // The call's own deadline: its signal is aborted, as by ^C, and only its own (in a daemon
    // too, where this runs for the one call).
    if (values.timeout !== undefined) {
      const seconds = Number(values.timeout)
      if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 86_400))
        throw new UsageError(
          `--timeout ${values.timeout} is not a number of seconds above 0 (at most 86400).`,
        )
      deadline = setTimeout(
        () =>
          controller.abort(
            new BrineError(
              `the call ran past --timeout ${values.timeout} s and was aborted (vCenter tasks it started are cancelled)`,
              { code: 'BRINE_TIMEOUT' },
            ),
          ),
        seconds * 1000,
      )
      deadline.unref()
    }
    // brine daemon: its own signal handling (a second SIGTERM stops at once, still logging out).
    if (positionals[0] === 'daemon' && !host) {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      const { runDaemonCommand } = await import('./daemon.ts')
      return await runDaemonCommand(
        { argv, command: positionals.slice(1), flags: optsFlagsOf(values), out: values.out },
        io,
      )
    }
    // The options, read once for the daemon client and the call (a config that cannot be
    // read is reported where the call resolves them, after the command line's own errors).
    let resolved: Opts | undefined
    const resolveCallOpts = () =>
      (resolved ??= resolveOpts(optsFlagsOf(values), host?.env, host?.cwd))
    // A call goes to a running daemon when there is one (daemon: auto|never|always).
    if (positionals[0] !== 'console' && !host) {
      const { callDaemon } = await import('./daemon-client.ts')
      const code = await callDaemon(
        argv,
        optsFlagsOf(values),
        io,
        controller.signal,
        process.env,
        resolveCallOpts,
      )
      if (code !== undefined) return code
    }
    if (positionals[0] === 'console') {
      if (positionals[1] !== 'serve' || positionals.length > 2)
        throw new UsageError('brine console takes one command: serve. See brine --help.')
      const opts = resolveOpts({
        config: values.config ?? values['config-dir'],
        logLevel: values['log-level'] ?? 'info',
      })
      if (!process.env.BRINE_DEBUG || values['log-level'])
        setLogLevel(normalizeLevel(opts.log_level))
      const { serveConsole } = await import('./console.ts')
      return await serveConsole(opts, values.listen, controller.signal, io.stderr)
    }
    // salt-call -g: the grains, as grains.items shows them.
    const tokens = values.grains
      ? ['grains.items']
      : positionals[0] === 'call'
        ? positionals.slice(1)
        : positionals
    if (values.grains && positionals.length)
      throw new UsageError(`-g/--grains takes no function (got ${positionals.join(' ')}).`)
    const fun = tokens[0]
    if (!fun)
      throw new UsageError(
        'no function given. Usage: brine call <module.function> [args]; see brine --help.',
      )
    if (values.out !== undefined && !OUTPUTTERS.includes(values.out as Outputter)) {
      throw new UsageError(`--out ${values.out} is not one of ${OUTPUTTERS.join(', ')}.`)
    }
    const stateOutput = values['state-output']
    if (stateOutput !== undefined && !STATE_OUTPUTS.includes(stateOutput as StateOutput)) {
      throw new UsageError(
        `--state-output ${stateOutput} is not one of ${STATE_OUTPUTS.join(', ')}.`,
      )
    }
    // Before anything runs: a path that cannot be written must not fail the command after
    // the call has changed something (a retry would do it twice).
    if (values['out-file'] !== undefined)
      outFile = openOutFile(values['out-file'], host?.cwd ?? process.cwd())

    // Options and logging
    const opts = resolveCallOpts()
    debug =
      opts.log_level === 'debug' ||
      opts.log_level === 'trace' ||
      opts.log_level === 'all' ||
      opts.log_level === 'garbage'
    // BRINE_DEBUG (read by the logger) stands unless a level is asked for on the command line.
    if (!host && (!process.env.BRINE_DEBUG || values['log-level']))
      setLogLevel(normalizeLevel(opts.log_level))
    registerSecretsIn(opts)
    const { args, kwargs } = parseInput(tokens.slice(1))
    const pillarOverride = kwargs.pillar
    delete kwargs.pillar

    // Pillar, then the call
    const pillar =
      host && pillarOverride === undefined
        ? host.pillar(io.stderr)
        : await compileCliPillar(opts, pillarOverride, io.stderr)
    registerSecretsIn(pillar)
    const { Runtime, readTestValue } = await import('../loader/runtime.ts')
    const { defaultTranspileCacheDir } = await import('../loader/evaluate.ts')
    runtime = new Runtime({
      opts,
      pillar,
      ...runtimeDirs(opts),
      signal: controller.signal,
      cacheDir: defaultTranspileCacheDir(),
      onProgress: createProgress(io.stderr),
      compilePillar: () => compileCliPillar(opts, pillarOverride, io.stderr),
      parent: host?.runtime,
    })
    // The highstate summary's dry-run look: any spelling of test= the runtime reads as true.
    const test =
      Object.entries(kwargs).some(
        ([key, value]) => key.toLowerCase() === 'test' && readTestValue(value) === true,
      ) || opts.test === true
    if (!host) noteOneShotCall()
    const result = await Promise.race([
      runtime.call(fun, { args, kwargs }),
      rejectOnAbort(controller.signal),
    ])
    const { definition } = await runtime.modules.getFunction(fun)
    const out = (values.out ?? definition.outputter ?? 'nested') as Outputter
    const color = useColor(values['no-color'], io.stdout, host?.env ?? process.env)
    const text =
      out === 'highstate'
        ? formatHighstate(result, {
            color,
            test,
            mode: (stateOutput ?? opts.state_output ?? 'full') as StateOutput,
            verbose:
              values['state-verbose'] === undefined
                ? opts.state_verbose !== false
                : values['state-verbose'] !== 'false',
          })
        : formatOutput(result, out, color)
    if (outFile) writeOutFile(outFile, text)
    else await writeOutput(io.stdout, text)
    const retcode = Number(runtime.context.retcode ?? 0)
    if (retcode !== 0) return values['retcode-passthrough'] ? retcode : EXIT.ERROR
    return EXIT.OK
  } catch (error) {
    io.stderr.write(formatError(error, debug))
    return exitCodeFor(error, controller.signal)
  } finally {
    clearTimeout(deadline)
    if (outFile) closeOutFile(outFile)
    await runtime?.close().catch((error: unknown) => io.stderr.write(formatError(error, debug)))
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** The option flags of the command line, for resolveOpts (the daemon client resolves them too). */
/** The options a command line gives (the daemon resolves a fast-path client's with it). */
export function optsFlagsOfArgv(argv: string[]): OptsFlags {
  return optsFlagsOf(parseCommandLine(argv).values)
}

function optsFlagsOf(values: ReturnType<typeof parseCommandLine>['values']): OptsFlags {
  return {
    // -c and --config-dir are one option (salt-call's): a file or a config directory.
    config: values.config ?? values['config-dir'],
    id: values.id,
    fileRoots: values['file-root'],
    pillarRoots: values['pillar-root'],
    moduleDirs: values['module-dirs'],
    logLevel: values['log-level'],
    sessionStore: values['session-store'],
  }
}

// --- internal ---

/**
 * Tell the `brine` command (bin/brine.js) that this process runs one call and exits, so that
 * V8 can leave out incremental marking. A library user's process has no hook; a daemon's
 * calls (host) are not one-shot.
 */
function noteOneShotCall(): void {
  const hook = (globalThis as Record<symbol, unknown>)[Symbol.for('brine.oneShotCall')]
  if (typeof hook === 'function') hook()
}

const guarded = new WeakSet<NodeJS.WritableStream>()

/** Keep write errors on an output stream from ending the process (they are handled where written). */
function guardStream(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return
  guarded.add(stream)
  stream.on('error', () => {})
}

/**
 * Write the output and wait until it is written. A reader that closed the pipe early
 * (`| head`) is not an error: the rest is dropped and the exit code stays the call's.
 * Any other write error fails the command.
 */
async function writeOutput(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text === '') return
  const error = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) =>
    stream.write(text, resolve),
  )
  if (!error) return
  if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
    log.debug(
      'cli',
      'the output pipe was closed by its reader (%s): rest of the output dropped',
      error.code,
    )
    return
  }
  throw new BrineError(`cannot write the output: ${error.message}`, {
    code: 'BRINE_OUTPUT',
    cause: error,
  })
}

interface OutFile {
  path: string
  fd: number
  /** Created by this run (removed again when no output was written). */
  created: boolean
  written: boolean
}

/**
 * Open --out-file before anything runs. A new file is created 0600 (the output may hold
 * secrets such as a console token); an existing one keeps its mode and, until the output is
 * written, its content.
 */
function openOutFile(path: string, cwd: string): OutFile {
  const file = resolvePath(cwd, path)
  try {
    return { path: file, fd: openSync(file, 'wx', 0o600), created: true, written: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw outFileError(path, error)
  }
  try {
    return { path: file, fd: openSync(file, constants.O_WRONLY), created: false, written: false }
  } catch (error) {
    throw outFileError(path, error)
  }
}

function outFileError(path: string, error: unknown): UsageError {
  const { code, message } = error as NodeJS.ErrnoException
  const reason = message.replace(/^[A-Z]+: /, '').replace(/, open .*$/, '')
  return new UsageError(
    `cannot open --out-file ${path} for writing: ${code ?? 'error'} (${reason}); nothing was run.`,
  )
}

function writeOutFile(file: OutFile, text: string): void {
  if (fstatSync(file.fd).isFile()) ftruncateSync(file.fd, 0)
  writeFileSync(file.fd, text)
  file.written = true
}

function closeOutFile(file: OutFile): void {
  closeSync(file.fd)
  if (file.created && !file.written) {
    try {
      unlinkSync(file.path)
    } catch {
      // already gone
    }
  }
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      'config-dir': { type: 'string' },
      local: { type: 'boolean' },
      grains: { type: 'boolean', short: 'g' },
      id: { type: 'string' },
      'file-root': { type: 'string', multiple: true },
      'pillar-root': { type: 'string', multiple: true },
      'module-dirs': { type: 'string', short: 'm', multiple: true },
      out: { type: 'string' },
      'out-file': { type: 'string' },
      'log-level': { type: 'string', short: 'l' },
      'retcode-passthrough': { type: 'boolean' },
      'session-store': { type: 'boolean' },
      timeout: { type: 'string', short: 't' },
      'no-color': { type: 'boolean' },
      listen: { type: 'string' },
      'state-output': { type: 'string' },
      'state-verbose': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  })
}

async function compileCliPillar(
  opts: ReturnType<typeof resolveOpts>,
  override: unknown,
  stderr: NodeJS.WritableStream,
): Promise<Record<string, unknown>> {
  let overrides: Record<string, unknown> | undefined
  if (override !== undefined) {
    const value = typeof override === 'string' ? parsePillarOverride(override) : override
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const got = Array.isArray(value) ? 'a list' : value === null ? 'None' : `a ${typeof value}`
      throw new UsageError(
        `pillar= must be a dictionary (got ${got}), like pillar='{"key": "value"}'; nothing was run.`,
      )
    }
    overrides = value as Record<string, unknown>
  }
  return compileOptsPillar(opts, overrides, (message) =>
    stderr.write(`[warning] [pillar] ${escapeControl(redact(message))}\n`),
  )
}

/**
 * The command-line pillar, typed as Salt types arguments (text starting with `{` or `[` is read
 * as YAML even over several lines). Text that does not parse is a command-line error (exit 2,
 * nothing run, state runs included: 5 is for pillar files), showing the YAML problem and where
 * it is; the value itself is not echoed, it may hold passwords.
 */
function parsePillarOverride(text: string): unknown {
  const value = yamlifyArg(text)
  if (typeof value !== 'string' || !/^\s*[{[]/.test(text)) return value
  try {
    // Also a dictionary written over several lines (yamlifyArg keeps those as text).
    return parseYaml(text, { version: '1.1', schema: 'yaml-1.1' })
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error
    const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
    const at = error.linePos?.[0]
    const offset = error.pos[0]
    const where = at
      ? offset >= text.length
        ? `at the end (line ${at.line}, column ${at.col})`
        : `at line ${at.line}, column ${at.col} ('${text[offset]}')`
      : ''
    throw new UsageError(
      `pillar= is not valid YAML: ${reason}${where ? `, ${where} of the value` : ''}. Give a YAML dictionary, like pillar='{"key": "value"}'; nothing was run.`,
    )
  }
}

function normalizeLevel(level: string): LogLevel {
  if (level === 'critical' || level === 'quiet') return 'error'
  if (level === 'all' || level === 'garbage') return 'trace'
  return level as LogLevel
}

function useColor(
  noColor: boolean | undefined,
  stream: NodeJS.WriteStream,
  env: Record<string, string | undefined>,
): boolean {
  if (noColor || env.NO_COLOR !== undefined) return false
  if (env.FORCE_COLOR) return true
  return Boolean(stream.isTTY)
}

function createProgress(
  stream: NodeJS.WriteStream,
): ((fun: string, percent: number, message?: string) => void) | undefined {
  if (!stream.isTTY) return undefined
  return (fun, percent, message) => {
    stream.write(`\r\x1b[2K${fun}: ${Math.round(percent)}%${message ? ` ${message}` : ''}`)
    if (percent >= 100) stream.write('\r\x1b[2K')
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

function formatError(error: unknown, debug: boolean): string {
  const message = error instanceof Error ? error.message : String(error)
  let text = `Error: ${message}\n`
  if (debug && error instanceof Error) {
    text += `${error instanceof BrineError ? `code: ${error.code}\n` : ''}${error.stack ?? ''}\n`
    if (error.cause instanceof Error)
      text += `caused by: ${error.cause.stack ?? error.cause.message}\n`
  }
  return escapeControl(redact(text))
}

/**
 * Control characters of an error message (a name with a bell or an escape sequence, from an
 * argument, a file or vCenter) are shown escaped (`\u0007`), never sent raw to the terminal;
 * newlines and tabs stay, they shape the message.
 */
function escapeControl(text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.charCodeAt(0)
    const control = code <= 0x1f || (code >= 0x7f && code <= 0x9f)
    if (!control || char === '\n' || char === '\t') out += char
    else if (char === '\r') out += '\\r'
    else out += `\\u${code.toString(16).padStart(4, '0')}`
  }
  return out
}

function exitCodeFor(error: unknown, signal: AbortSignal): number {
  const reason = (signal.reason as BrineError | undefined)?.code
  if (signal.aborted && reason !== 'BRINE_TIMEOUT')
    return reason === 'BRINE_SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.USAGE
  // The registry (core/error-codes.ts) says which codes mean "nothing was run".
  return error instanceof BrineError ? exitCodeOf(error.code) : EXIT.ERROR
}
