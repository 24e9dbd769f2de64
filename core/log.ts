import { format } from 'node:util'
import { redact, redactValue } from './redact.ts'

/**
 * One gated debug logger with tags (`[soap]`, `[session]`, `[transport]`, `[loader]`).
 *
 * Switched on by `BRINE_DEBUG` (a comma list of tags, or `*`/`1` for all) or by
 * `setLogLevel('debug')`. Everything written is masked here: callers never redact. Plain
 * objects and arrays among the arguments are masked as values first (`redactValue()`: keys
 * such as `password`, Secrets), then the whole line as text (`redact()`).
 */
export type LogLevel = 'error' | 'warning' | 'info' | 'debug' | 'trace'

const LEVELS: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3, trace: 4 }

interface LoggerState {
  level: LogLevel
  tags: Set<string> | 'all'
  sink: (line: string) => void
}

const state: LoggerState = {
  level: 'warning',
  tags: 'all',
  sink: (line) => process.stderr.write(`${line}\n`),
}
applyDebugEnv(process.env.BRINE_DEBUG)

function applyDebugEnv(value: string | undefined): void {
  if (!value) return
  state.level = 'trace'
  state.tags =
    value === '1' || value === '*' || value === 'true'
      ? 'all'
      : new Set(value.split(',').map((tag) => tag.trim().toLowerCase()))
}

/** Set the level; `tags` narrows debug and trace output to those tags. */
export function setLogLevel(level: LogLevel, tags?: string[]): void {
  state.level = level
  state.tags = tags ? new Set(tags) : 'all'
}

/** Send log lines somewhere else (tests capture them). Returns a function restoring the old sink. */
export function setLogSink(sink: (line: string) => void): () => void {
  const previous = state.sink
  state.sink = sink
  return () => {
    state.sink = previous
  }
}

/** True when a message of `level` with `tag` would be written (skip costly formatting otherwise). */
export function isLogEnabled(level: LogLevel, tag: string): boolean {
  if (LEVELS[level] > LEVELS[state.level]) return false
  return LEVELS[level] <= LEVELS.info || state.tags === 'all' || state.tags.has(tag)
}

function write(level: LogLevel, tag: string, args: unknown[]): void {
  if (!isLogEnabled(level, tag)) return
  state.sink(redact(`[${level}] [${tag}] ${format(...args.map(maskArgument))}`))
}

/** Plain objects and arrays masked as values; Errors, Secrets and the rest as they are. */
function maskArgument(arg: unknown): unknown {
  if (Array.isArray(arg)) return redactValue(arg)
  if (typeof arg !== 'object' || arg === null) return arg
  const proto = Object.getPrototypeOf(arg)
  return proto === Object.prototype || proto === null ? redactValue(arg) : arg
}

export const log = {
  error: (tag: string, ...args: unknown[]) => write('error', tag, args),
  warn: (tag: string, ...args: unknown[]) => write('warning', tag, args),
  info: (tag: string, ...args: unknown[]) => write('info', tag, args),
  debug: (tag: string, ...args: unknown[]) => write('debug', tag, args),
  trace: (tag: string, ...args: unknown[]) => write('trace', tag, args),
}
