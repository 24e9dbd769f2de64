import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import type cmd from '../modules/cmd.ts'

// Salt's cmd states (salt/states/cmd.py): run, script, and wait/wait_script, which do nothing
// until a watched state changes and `mod_watch` runs them as run/script.

const common = {
  cwd: z.string().optional().describe('working directory'),
  env: z.record(z.string(), z.unknown()).optional().describe('extra environment variables'),
  timeout: z.coerce.number().positive().optional().describe('seconds'),
  stateful: z
    .boolean()
    .default(false)
    .describe('the command prints a JSON/key=value line {changed, comment} as its last line'),
}
const runArgs = {
  name: z.coerce.string().describe('the command line (run through bash)'),
  ...common,
  stdin: z.string().optional().describe('standard input'),
  python_shell: z
    .boolean()
    .default(true)
    .describe('run through bash (states default to True, as in Salt)'),
}
const scriptArgs = {
  name: z.coerce
    .string()
    .describe('the script, with its arguments after a space (the script is `source` when given)'),
  ...common,
  source: z
    .string()
    .optional()
    .describe('the script file: a path, or salt://path under the file roots'),
  args: z.coerce.string().optional().describe('arguments (default: the words after the name)'),
}

type RunArgs = {
  name: string
  cwd?: string | undefined
  env?: Record<string, unknown> | undefined
  stdin?: string | undefined
  timeout?: number | undefined
  stateful: boolean
  python_shell: boolean
}
type ScriptArgs = Omit<RunArgs, 'stdin' | 'python_shell'> & {
  source?: string | undefined
  args?: string | undefined
}
type Output = { pid: number; retcode: number; stdout: string; stderr: string }
type Ret = {
  name: string
  changes: Record<string, unknown>
  result: boolean | null
  comment: string
}

/** Salt's guard before running: the working directory must exist. */
function missingCwd(name: string, cwd: string | undefined): Ret | undefined {
  if (!cwd || (existsSync(cwd) && statSync(cwd).isDirectory())) return undefined
  return {
    name,
    changes: {},
    result: false,
    comment: `Desired working directory "${cwd}" is not available`,
  }
}

async function runCommand(ctx: CallContext, a: RunArgs): Promise<Ret> {
  if (ctx.test) {
    return {
      name: a.name,
      changes: {},
      result: null,
      comment: `Command "${a.name}" would have been executed`,
    }
  }
  const bad = missingCwd(a.name, a.cwd)
  if (bad) return bad
  const out = await ctx.module<typeof cmd>('cmd').run_all({
    cmd: a.name,
    cwd: a.cwd,
    env: a.env,
    stdin: a.stdin,
    timeout: a.timeout,
    python_shell: a.python_shell,
  })
  return finish(a.name, out, `Command "${a.name}" run`, a.stateful)
}

async function runScript(ctx: CallContext, a: ScriptArgs): Promise<Ret> {
  if (ctx.test) {
    return {
      name: a.name,
      changes: {},
      result: null,
      comment: `Command '${a.name}' would have been executed`,
    }
  }
  const bad = missingCwd(a.name, a.cwd)
  if (bad) return bad
  // As Salt: the name is the script unless `source` is given; words after it are arguments.
  const [first = '', ...rest] = a.name.split(' ')
  const source = a.source ?? first
  const args = a.args ?? (rest.length ? rest.join(' ') : undefined)
  const path = source.startsWith('salt://')
    ? ctx.opts.file_roots
        .map((root) => join(root, source.slice('salt://'.length)))
        .find((file) => existsSync(file))
    : source
  if (!path) {
    return {
      name: a.name,
      changes: {},
      result: false,
      comment: `Unable to cache script ${source} from saltenv 'base'`,
    }
  }
  const out = await ctx.module<typeof cmd>('cmd').script({
    source: path,
    args,
    cwd: a.cwd,
    env: a.env,
    timeout: a.timeout,
  })
  return finish(a.name, out, `Command '${a.name}' run`, a.stateful)
}

/** The command ran: its output is the change; it failed when its exit code is not 0. */
function finish(name: string, out: Output, comment: string, stateful: boolean): Ret {
  const result = out.retcode === 0
  if (!stateful) return { name, changes: out, result, comment }
  let changed = true
  let said = comment
  const last = out.stdout.trim().split('\n').at(-1) ?? ''
  try {
    const parsed = JSON.parse(last) as { changed?: boolean; comment?: string }
    changed = parsed.changed !== false
    if (parsed.comment) said = parsed.comment
  } catch {
    const match = /changed=(\w+)(?:\s+comment=['"]?(.*?)['"]?)?$/.exec(last)
    if (match) {
      changed = match[1] !== 'no' && match[1] !== 'false' && match[1] !== 'False'
      if (match[2]) said = match[2]
    }
  }
  return { name, changes: changed || !result ? out : {}, result, comment: said }
}

/** cmd.wait and cmd.wait_script: nothing happens until a watched state changes. */
const waiting = (name: string): Ret => ({ name, changes: {}, result: true, comment: '' })

export default defineModule({
  doc: 'Run commands and scripts as states.',
  functions: {
    run: defineFunction({
      doc: 'Run a command (changes: pid, retcode, stdout, stderr).',
      args: () => runArgs,
      run: (ctx, a) => runCommand(ctx, a),
    }),
    script: defineFunction({
      doc: 'Run a script file (a path or salt://) with arguments (changes: pid, retcode, stdout, stderr).',
      args: () => scriptArgs,
      run: (ctx, a) => runScript(ctx, a),
    }),
    wait: defineFunction({
      doc: 'Run the command only when a watched state changed (through mod_watch); otherwise do nothing.',
      args: () => runArgs,
      run: (_ctx, { name }) => waiting(name),
    }),
    watch: defineFunction({
      doc: 'Alias of cmd.wait (as in Salt).',
      args: () => runArgs,
      run: (_ctx, { name }) => waiting(name),
    }),
    wait_script: defineFunction({
      doc: 'Run the script only when a watched state changed (through mod_watch); otherwise do nothing.',
      args: () => scriptArgs,
      run: (_ctx, { name }) => waiting(name),
    }),
    mod_watch: defineFunction({
      doc: 'A watched state changed: run the command (run, wait, watch) or the script (script, wait_script).',
      args: () => ({
        ...runArgs,
        source: scriptArgs.source,
        args: scriptArgs.args,
        sfun: z.string().optional().describe('the watching function'),
      }),
      run: (ctx, { sfun, source, args, stdin, python_shell, ...a }) => {
        if (sfun === 'wait' || sfun === 'run' || sfun === 'watch')
          return runCommand(ctx, { ...a, stdin, python_shell })
        if (sfun === 'wait_script' || sfun === 'script')
          return runScript(ctx, { ...a, source, args })
        return {
          name: a.name,
          changes: {},
          result: false,
          comment: `cmd.${sfun} does not work with the watch requisite, please use cmd.wait or cmd.wait_script`,
        }
      },
    }),
  },
})
