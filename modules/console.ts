import {
  type ConsoleStore,
  cleanupExpired,
  consoleConfig,
  describeConsole,
  freePorts,
  openConsoleStore,
  validateToken,
} from 'brine/console'
import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'

function store(ctx: CallContext): Promise<ConsoleStore> {
  return openConsoleStore(consoleConfig(ctx.opts))
}

/** The token argument; `-` reads it from standard input (keeps it out of `ps`). */
async function tokenFrom(ctx: CallContext, token: string): Promise<string> {
  if (token !== '-') return token
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) {
    if (ctx.signal.aborted) break
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8').trim()
}

export default defineModule({
  doc: 'Console connections issued by vmware_vm.console: validate tokens, list, revoke, clean up. Tokens are never shown again after issue.',
  functions: {
    validate: defineFunction({
      doc: 'Check a console token: answers its record when it is live; fails (exit 1) when it is unknown, revoked or expired.',
      args: () => ({
        token: z.string().min(1).describe('the token vmware_vm.console issued, or - for stdin'),
      }),
      run: async (ctx, { token }) => {
        const record = await validateToken(await store(ctx), await tokenFrom(ctx, token))
        return { valid: true, ...describeConsole(record) }
      },
    }),
    list: defineFunction({
      doc: 'Console records, all or of one instance (VM instance UUID); damaged records are listed with what is wrong, and a connection whose proxy stopped renewing its heartbeat as stale (its port is free).',
      args: () => ({ instance: z.string().min(1).optional().describe('VM instance UUID') }),
      run: async (ctx, { instance }) => {
        const config = consoleConfig(ctx.opts)
        const records = await (await openConsoleStore(config)).list(instance)
        const now = Date.now()
        return records.map((record) => describeConsole(record, now, config.staleMs))
      },
    }),
    free_ports: defineFunction({
      doc: 'Console ports of an instance with a live record and nobody connected.',
      args: () => ({ instance: z.string().min(1).describe('VM instance UUID') }),
      run: async (ctx, { instance }) => {
        const config = consoleConfig(ctx.opts)
        return freePorts(await openConsoleStore(config), instance, Date.now(), config.staleMs)
      },
    }),
    revoke: defineFunction({
      doc: 'Delete a console record: its token stops validating at once.',
      args: () => ({ id: z.string().min(1).describe('record id (console.list shows it)') }),
      run: async (ctx, { id }) => {
        if (!(await (await store(ctx)).delete(id)))
          throw new ModuleError(`console record '${id}' not found (console.list shows the ids)`, {
            code: 'BRINE_NOT_FOUND',
          })
        return { id, revoked: true }
      },
    }),
    cleanup: defineFunction({
      doc: 'Delete expired console records, in bounded batches; `more` says whether some are left for the next run. Run it from cron where no `brine console serve` runs (serve cleans up on its own).',
      args: () => ({
        batch: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('records per batch (default option console_cleanup_batch, 500)'),
        max_batches: z.number().int().positive().default(20).describe('batches in this run'),
      }),
      run: async (ctx, { batch, max_batches }) => {
        const config = consoleConfig(ctx.opts)
        return cleanupExpired(await openConsoleStore(config), {
          batch: batch ?? config.cleanupBatch,
          maxBatches: max_batches,
          staleMs: config.staleMs,
        })
      },
    }),
  },
})
