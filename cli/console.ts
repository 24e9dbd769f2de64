import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { BrineError } from '../core/errors.ts'
import type { Opts } from '../loader/types.ts'
import { EXIT } from './exit-codes.ts'

/**
 * `brine console serve`: run the console proxy until SIGINT/SIGTERM (then exit 0). Options:
 * `console_proxy_url` (its path is served), `console_proxy_cert` / `console_proxy_key` (serve
 * wss), `console_target_ca_file`, `console_target_insecure`, `console_cleanup_interval`,
 * `console_proxy_max_message`. A file option naming no readable file is a BRINE_CONFIG error
 * (exit 2) naming the option and the path.
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
  const { DEFAULT_MAX_MESSAGE_BYTES, startConsoleProxy } = await import('../console/proxy.ts')
  const config = consoleConfig(opts)
  if (config.backend === 'memory') {
    throw new BrineError(
      'brine console serve needs console_tokens_backend sqlite or postgresql; a memory store would hold no token issued by another process.',
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
  const cert = fileOption(opts, 'console_proxy_cert')
  const key = fileOption(opts, 'console_proxy_key')
  if (cert && key) {
    try {
      createSecureContext({ cert: cert.text, key: key.text })
    } catch (error) {
      throw new BrineError(
        `console_proxy_cert ${cert.path} and console_proxy_key ${key.path} are not a PEM certificate and its key: ${(error as Error).message}.`,
        { code: 'BRINE_CONFIG' },
      )
    }
  }
  const ca = fileOption(opts, 'console_target_ca_file')
  const maxMessage = opts.console_proxy_max_message ?? DEFAULT_MAX_MESSAGE_BYTES
  if (
    typeof maxMessage !== 'number' ||
    !Number.isInteger(maxMessage) ||
    maxMessage < MIN_MESSAGE_BYTES ||
    maxMessage > MAX_MESSAGE_BYTES
  ) {
    throw new BrineError(
      `option console_proxy_max_message must be a whole number of bytes from ${MIN_MESSAGE_BYTES} to ${MAX_MESSAGE_BYTES} (default ${DEFAULT_MAX_MESSAGE_BYTES}).`,
      { code: 'BRINE_CONFIG' },
    )
  }
  const store = await openConsoleStore(config)
  const proxy = await startConsoleProxy({
    store,
    host: match[1] ?? match[2],
    port,
    path: new URL(config.proxyUrl).pathname,
    cert: cert?.path,
    key: key?.path,
    targetCa: ca?.text,
    targetInsecure: opts.console_target_insecure === true,
    cleanupIntervalMs: config.cleanupIntervalSeconds * 1000,
    cleanupBatch: config.cleanupBatch,
    maxMessageBytes: maxMessage,
    staleMs: config.staleMs,
  })
  stderr.write(
    `console proxy listening on ${proxy.url} (${config.backend} records in ${store.location})\n`,
  )
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    signal.addEventListener('abort', () => resolve(), { once: true })
  })
  await proxy.close()
  await closeConsoleStores()
  return EXIT.OK
}

/** Bounds of console_proxy_max_message: a console needs more than a few bytes; 1 GiB is plenty. */
const MIN_MESSAGE_BYTES = 1024
const MAX_MESSAGE_BYTES = 1024 ** 3

/** The file an option names, read; unset gives undefined, an unreadable file BRINE_CONFIG. */
function fileOption(opts: Opts, name: string): { path: string; text: string } | undefined {
  const path = opts[name]
  if (path === undefined || path === null || path === '') return undefined
  if (typeof path !== 'string')
    throw new BrineError(`option ${name} must be a file path.`, { code: 'BRINE_CONFIG' })
  try {
    return { path, text: readFileSync(path, 'utf8') }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'a directory, not a file'
            : (error as Error).message
    throw new BrineError(`option ${name}: cannot read ${path}: ${why}.`, { code: 'BRINE_CONFIG' })
  }
}
