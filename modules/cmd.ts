import { CommandError, defineFunction, defineModule, z } from 'brine/loader'
import { parse as parseShell } from 'shell-quote'
import { $, type ProcessOutput, quote } from 'zx'

/**
 * Run commands, as Salt's cmd module. By default the command line is split into words (quotes
 * respected) and run without a shell, so nothing in it is interpreted: variables stay
 * literal, and unquoted shell syntax (`;`, `|`, `>`, globs) is refused with a hint, where Salt
 * would pass it on as text. `python_shell=True` hands the line to bash on purpose.
 */
const common = {
  // Coerced: a command like `true` or `42` arrives YAML-typed from the command line.
  cmd: z.coerce.string().min(1).describe('the command line'),
  cwd: z.string().optional().describe('working directory'),
  env: z.record(z.string(), z.unknown()).optional().describe('extra environment variables'),
  stdin: z.string().optional().describe('text written to the command’s standard input'),
  timeout: z.coerce.number().positive().optional().describe('seconds before the command is killed'),
  python_shell: z.boolean().default(false).describe('run through bash (pipes, globs, variables)'),
  ignore_retcode: z
    .boolean()
    .default(false)
    .describe('a non-zero exit code does not set the run’s retcode'),
}

type RunArgs = {
  cmd: string
  cwd?: string | undefined
  env?: Record<string, unknown> | undefined
  stdin?: string | undefined
  timeout?: number | undefined
  python_shell: boolean
  ignore_retcode: boolean
}

interface Finished {
  output: ProcessOutput
  pid: number
}

async function execute(
  args: RunArgs,
  signal: AbortSignal,
  extraArgs: string[] = [],
): Promise<Finished> {
  const env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(args.env ?? {}).map(([k, v]) => [k, String(v)])),
  }
  const run = $({
    cwd: args.cwd,
    env,
    input: args.stdin,
    timeout: args.timeout ? args.timeout * 1000 : undefined,
    signal,
    nothrow: true,
    quiet: true,
    verbose: false,
  })
  if (args.python_shell) {
    const line = [args.cmd, ...extraArgs.map((a) => quote(a))].join(' ')
    const child = run`bash -c ${line}`
    return { pid: child.pid ?? 0, output: await child }
  }
  // Variables stay literal ($HOME, ${HOME}): nothing is expanded without a shell.
  const words = splitWords(args.cmd, 'cmd')
  const operator = words.find((word) => typeof word !== 'string')
  if (operator) {
    throw new CommandError(
      `cmd: ${JSON.stringify(args.cmd)} contains shell syntax (${JSON.stringify(operator)}), which is not run without a shell; pass python_shell=True to use bash.`,
    )
  }
  const argv = [...(words as string[]), ...extraArgs]
  try {
    const child = run`${argv}`
    return { pid: child.pid ?? 0, output: await child }
  } catch (error) {
    throw new CommandError(
      `cmd: cannot run ${JSON.stringify(argv[0])}: ${(error as Error).message}`,
      error,
    )
  }
}

/**
 * Split a command line into words as a shell would, quotes respected, but with every `$` kept
 * as text: `$HOME`, `${HOME}`, `${A:-b}` reach the command literally (Salt's shlex.split does
 * the same). shell-quote expands variables through a callback that gets only the name, so
 * `${HOME}` would lose its braces: each `$` outside single quotes is escaped first (bash's
 * ANSI-C quotes, `$'…'`, are left to shell-quote). Operators (`;`, `|`, `$(`…) still come back
 * as objects, for the caller to refuse. An unterminated quote is an error.
 */
function splitWords(line: string, fun: string): ReturnType<typeof parseShell> {
  let escaped = ''
  // The quote we are in: single, double, or ANSI-C (`$'…'`, where a backslash escapes).
  let quote: "'" | '"' | "$'" | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      escaped += c
    } else if (c === '\\') {
      // An escaped character is taken as it is (outside quotes, in double and ANSI-C quotes).
      escaped += c + (line[i + 1] ?? '')
      i++
    } else if (quote === "$'") {
      if (c === "'") quote = undefined
      escaped += c
    } else if (c === '$' && quote === undefined && line[i + 1] === "'") {
      quote = "$'"
      escaped += "$'"
      i++
    } else if (c === '$') {
      escaped += '\\$'
    } else {
      if (c === '"') quote = quote === '"' ? undefined : '"'
      else if (c === "'" && quote === undefined) quote = "'"
      escaped += c
    }
  }
  if (quote) {
    throw new CommandError(
      `${fun}: ${JSON.stringify(line)} has a ${quote === '"' ? 'double' : 'single'} quote that is not closed; close it, or quote the whole line differently.`,
    )
  }
  return parseShell(escaped, (name) => `$${name}`)
}

/** Salt's `_run` sets `__context__['retcode']` (0 with `ignore_retcode`): the exit code of salt-call. */
function exitCode(
  ctx: { context: Record<string, unknown> },
  { output }: Finished,
  ignore: boolean,
): number {
  const code = output.exitCode ?? (output.signal ? 128 : 1)
  ctx.context.retcode = ignore ? 0 : code
  return code
}

function combined({ output }: Finished): string {
  return [output.stdout, output.stderr].filter(Boolean).join('').replace(/\n$/, '')
}

export default defineModule({
  doc: 'Run commands, as Salt’s cmd module (without a shell unless python_shell=True).',
  functions: {
    run: defineFunction({
      doc: 'Run a command and return its output (stdout then stderr).',
      args: () => common,
      run: async (ctx, args) => {
        const finished = await execute(args, ctx.signal)
        exitCode(ctx, finished, args.ignore_retcode)
        return combined(finished)
      },
    }),
    run_all: defineFunction({
      doc: 'Run a command and return pid, retcode, stdout and stderr.',
      args: () => common,
      run: async (ctx, args) => {
        const finished = await execute(args, ctx.signal)
        const { output, pid } = finished
        return {
          pid,
          retcode: exitCode(ctx, finished, args.ignore_retcode),
          stdout: output.stdout.replace(/\n$/, ''),
          stderr: output.stderr.replace(/\n$/, ''),
        }
      },
    }),
    retcode: defineFunction({
      doc: 'Run a command and return its exit code.',
      args: () => common,
      run: async (ctx, args) => exitCode(ctx, await execute(args, ctx.signal), args.ignore_retcode),
    }),
    script: defineFunction({
      doc: 'Run a script file with arguments and return pid, retcode, stdout and stderr.',
      args: () => ({
        source: z
          .string()
          .min(1)
          .describe('path of the script (executable, or run by its shebang)'),
        args: z.string().optional().describe('arguments, split like a shell would (no expansion)'),
        cwd: common.cwd,
        env: common.env,
        stdin: common.stdin,
        timeout: common.timeout,
        ignore_retcode: common.ignore_retcode,
      }),
      run: async (ctx, { source, args, ignore_retcode, ...rest }) => {
        const words = args ? splitWords(args, 'cmd.script') : []
        if (words.some((word) => typeof word !== 'string')) {
          throw new CommandError(
            `cmd.script: arguments ${JSON.stringify(args)} contain shell syntax; pass plain words.`,
          )
        }
        const finished = await execute(
          { ...rest, cmd: quote(source), python_shell: false, ignore_retcode },
          ctx.signal,
          words as string[],
        )
        const { output, pid } = finished
        return {
          pid,
          retcode: exitCode(ctx, finished, ignore_retcode),
          stdout: output.stdout.replace(/\n$/, ''),
          stderr: output.stderr.replace(/\n$/, ''),
        }
      },
    }),
  },
})
