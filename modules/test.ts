import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'

export default defineModule({
  doc: 'Functions to test brine itself, as Salt’s test module.',
  functions: {
    ping: defineFunction({
      doc: 'Return True: the minion (here, this process) answers.',
      args: () => ({}),
      run: () => true,
    }),
    echo: defineFunction({
      doc: 'Return the given text.',
      args: () => ({ text: z.string().describe('the text to return') }),
      run: (_ctx, { text }) => text,
    }),
    arg: defineFunction({
      doc: 'Return the positional and keyword arguments received, to check argument parsing.',
      args: () => ({}),
      varargs: true,
      run: (_ctx, _args, extra) => ({ args: extra.args, kwargs: extra.kwargs }),
    }),
    sleep: defineFunction({
      doc: 'Sleep for the given number of seconds (aborted by ^C), then return True.',
      args: () => ({ length: z.coerce.number().nonnegative().describe('seconds') }),
      run: async (ctx, { length }) => {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, length * 1000)
          ctx.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer)
              reject(ctx.signal.reason)
            },
            { once: true },
          )
        })
        return true
      },
    }),
    exception: defineFunction({
      doc: 'Raise an error with the given message (to test error handling).',
      args: () => ({ message: z.string().default('Test exception').describe('the error message') }),
      run: (_ctx, { message }) => {
        throw new ModuleError(message, { code: 'BRINE_TEST_EXCEPTION' })
      },
    }),
    retcode: defineFunction({
      doc: 'Set the exit code of this run (seen with --retcode-passthrough) and return True, as Salt’s.',
      args: () => ({
        code: z.coerce.number().int().min(0).max(255).default(42).describe('the exit code'),
      }),
      run: (ctx, { code }) => {
        ctx.context.retcode = code
        return true
      },
    }),
    true: defineFunction({
      doc: 'Return True (Salt’s test.true, for onlyif/unless).',
      args: () => ({}),
      run: () => true,
    }),
    false: defineFunction({
      doc: 'Return False (Salt’s test.false, for onlyif/unless).',
      args: () => ({}),
      run: () => false,
    }),
  },
})
