import { readFileSync } from 'node:fs'
import { BrineError } from '../core/errors.ts'
import type { Opts } from '../loader/types.ts'
import { EXIT } from './exit-codes.ts'

/**
 * `brine console serve`: run the console proxy until SIGINT/SIGTERM (then exit 0). Options:
 * `console_proxy_url` (its path is served), `console_proxy_cert` / `console_proxy_key` (serve
 * wss), `console_target_ca_file`, `console_target_insecure`, `console_cleanup_interval`.
 */
export async function serveConsole(
  opts: Opts,
  listen: string | undefined,
  signal: AbortSignal,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  const { closeConsoleStores, consoleConfig, openConsoleStore } = await import(
    '../console/service.ts'
  )
  const { startConsoleProxy } = await import('../console/proxy.ts')
  const config = consoleConfig(opts)
  if (config.backend === 'memory') {
    throw new BrineError(
      'brine console serve needs console_tokens_backend: sqlite; a memory store would hold no token issued by another process.',
      { code: 'BRINE_CONFIG' },
    )
  }
  if ((opts.console_proxy_cert === undefined) !== (opts.console_proxy_key === undefined)) {
    throw new BrineError(
      'console_proxy_cert and console_proxy_key go together: give both, or neither.',
      {
        code: 'BRINE_CONFIG',
      },
    )
  }
  const where =
    listen ??
    (typeof opts.console_proxy_listen === 'string' ? opts.console_proxy_listen : '127.0.0.1:6090')
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(where)
  const port = Number(match?.[3])
  if (!match || port > 65535) {
    throw new BrineError(`--listen ${where} is not host:port (e.g. 127.0.0.1:6090).`, {
      code: 'BRINE_USAGE',
    })
  }
  const caFile = opts.console_target_ca_file
  const proxy = await startConsoleProxy({
    store: openConsoleStore(config),
    host: match[1] ?? match[2],
    port,
    path: new URL(config.proxyUrl).pathname,
    cert: opts.console_proxy_cert as string | undefined,
    key: opts.console_proxy_key as string | undefined,
    targetCa: typeof caFile === 'string' ? readFileSync(caFile, 'utf8') : undefined,
    targetInsecure: opts.console_target_insecure === true,
    cleanupIntervalMs: config.cleanupIntervalSeconds * 1000,
    cleanupBatch: config.cleanupBatch,
  })
  stderr.write(
    `console proxy listening on ${proxy.url} (${config.backend} records${config.backend === 'sqlite' ? ` in ${config.file}` : ''})\n`,
  )
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    signal.addEventListener('abort', () => resolve(), { once: true })
  })
  await proxy.close()
  closeConsoleStores()
  return EXIT.OK
}
