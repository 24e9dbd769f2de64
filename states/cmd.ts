import { defineFunction, defineModule, z } from 'brine/loader'

/** cmd.run as a state (Salt's): runs the command (a shell line) unless `creates`/`onlyif`/`unless` say not to. */
const args = {
  name: z.coerce.string().describe('the command line (run through bash)'),
  cwd: z.string().optional().describe('working directory'),
  env: z.record(z.string(), z.unknown()).optional().describe('extra environment variables'),
  stdin: z.string().optional().describe('standard input'),
  timeout: z.coerce.number().positive().optional().describe('seconds'),
  stateful: z
    .boolean()
    .default(false)
    .describe('the command prints a JSON/key=value line {changed, comment} as its last line'),
  python_shell: z
    .boolean()
    .default(true)
    .describe('run through bash (states default to True, as in Salt)'),
}

type Args = {
  name: string
  cwd?: string | undefined
  env?: Record<string, unknown> | undefined
  stdin?: string | undefined
  timeout?: number | undefined
  stateful: boolean
  python_shell: boolean
}

async function runCommand(
  ctx: Parameters<Parameters<typeof defineFunction>[0]['run']>[0],
  a: Args,
) {
  if (ctx.test) {
    return {
      name: a.name,
      changes: {},
      result: null,
      comment: `Command "${a.name}" would have been executed`,
    }
  }
  const out = (await ctx.salt('cmd.run_all', {
    cmd: a.name,
    cwd: a.cwd,
    env: a.env,
    stdin: a.stdin,
    timeout: a.timeout,
    python_shell: a.python_shell,
  })) as { pid: number; retcode: number; stdout: string; stderr: string }
  let changed = true
  let comment = `Command "${a.name}" run`
  if (a.stateful) {
    const last = out.stdout.trim().split('\n').at(-1) ?? ''
    try {
      const parsed = JSON.parse(last) as { changed?: boolean; comment?: string }
      changed = parsed.changed !== false
      if (parsed.comment) comment = parsed.comment
    } catch {
      const match = /changed=(\w+)(?:\s+comment=['"]?(.*?)['"]?)?$/.exec(last)
      if (match) {
        changed = match[1] !== 'no' && match[1] !== 'false' && match[1] !== 'False'
        if (match[2]) comment = match[2]
      }
    }
  }
  const result = out.retcode === 0
  return {
    name: a.name,
    changes: changed || !result ? out : {},
    result,
    comment: result ? comment : `Command "${a.name}" run, exit code ${out.retcode}`,
  }
}

export default defineModule({
  doc: 'Run commands as states.',
  functions: {
    run: defineFunction({
      doc: 'Run a command (changes: pid, retcode, stdout, stderr).',
      args,
      run: (ctx, a) => runCommand(ctx, a),
    }),
    mod_watch: defineFunction({
      doc: 'Run the command when a watched state changed.',
      args: { ...args, sfun: z.string().optional() },
      run: (ctx, { sfun: _sfun, ...a }) => runCommand(ctx, a),
    }),
  },
})
