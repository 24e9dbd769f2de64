import { defineFunction, defineModule } from 'brine/loader'

/**
 * module.run: call execution functions from a state, in Salt's new syntax:
 *   id:
 *     module.run:
 *       - test.echo:
 *         - text: hello
 *       - cmd.run:
 *         - cmd: date
 * Each entry calls one function with its keyword arguments (a list of one-key dicts, a dict,
 * or a list of positional values). Result False when one raised; changes hold every return.
 */
function toCall(value: unknown): { kwargs: Record<string, unknown>; args: unknown[] } {
  if (value === null || value === undefined) return { kwargs: {}, args: [] }
  if (Array.isArray(value)) {
    const kwargs: Record<string, unknown> = {}
    const args: unknown[] = []
    for (const item of value) {
      if (typeof item === 'object' && item !== null && !Array.isArray(item))
        Object.assign(kwargs, item)
      else args.push(item)
    }
    return { kwargs, args }
  }
  if (typeof value === 'object') return { kwargs: value as Record<string, unknown>, args: [] }
  return { kwargs: {}, args: [value] }
}

export default defineModule({
  doc: 'Run execution functions from states.',
  functions: {
    run: defineFunction({
      doc: 'Call each listed execution function (Salt’s new module.run syntax); in test mode, say what would be called.',
      args: () => ({}),
      varargs: true,
      run: async (ctx, _args, extra) => {
        const { name, ...calls } = extra.kwargs
        const functions = Object.entries(calls).filter(([fun]) => fun.includes('.'))
        if (functions.length === 0) {
          return {
            name: String(name ?? 'module.run'),
            changes: {},
            result: false,
            comment: 'module.run: no function to call (list them as - mod.fun: [args])',
          }
        }
        if (ctx.test) {
          return {
            name: String(name ?? functions[0]![0]),
            changes: {},
            result: null,
            comment: `Function${functions.length > 1 ? 's' : ''} ${functions.map(([f]) => f).join(', ')} to be executed.`,
          }
        }
        const changes: Record<string, unknown> = {}
        const failures: string[] = []
        for (const [fun, value] of functions) {
          const { kwargs, args } = toCall(value)
          try {
            changes[fun] = { ret: await ctx.salt(fun, kwargs, args) }
          } catch (error) {
            failures.push(`'${fun}' failed: ${(error as Error).message}`)
          }
        }
        const ran = Object.keys(changes)
        return {
          name: String(name ?? functions[0]![0]),
          changes,
          result: failures.length === 0,
          comment: failures.length
            ? failures.join('\n')
            : `${ran.map((f) => `${f}: Success`).join(', ')}`,
        }
      },
    }),
  },
})
