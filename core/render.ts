import { YAMLParseError } from 'yaml'
import { BrineError } from './errors.ts'
import { renderJinjaText } from './jinja.ts'
import { loadSaltYaml } from './yaml-salt.ts'

/**
 * The SLS renderer shared by pillar and state files: Jinja (Jinja2 semantics, core/jinja.ts) then YAML (PyYAML's resolver, core/yaml-salt.ts), or the
 * pipeline a shebang names (`#!yaml`, `#!jinja|yaml`, `#!jinja|json`, `#!json`). Undefined
 * Jinja variables are errors (Salt's StrictUndefined); YAML keeps key order and rejects
 * duplicate keys. Errors name the file, the line and the stage.
 */
export class RenderError extends BrineError {
  static override readonly kind: string = 'RenderError'
  readonly file: string
  readonly line: number | undefined
  readonly stage: string

  constructor(file: string, stage: string, detail: string, line?: number, cause?: unknown) {
    super(`Rendering SLS '${file}' failed (${stage}${line ? `, line ${line}` : ''}): ${detail}`, {
      code: 'BRINE_SLS_RENDER',
      cause,
    })
    this.file = file
    this.line = line
    this.stage = stage
  }
}

export interface RenderOptions {
  /** For messages, and for Jinja includes relative to `searchPaths`. */
  file: string
  /** Variables of the Jinja stage: salt, pillar, grains, opts, sls, … */
  context: Record<string, unknown>
  /** Roots for `{% include %}` and `{% import %}`. */
  searchPaths?: string[]
  /** Module functions the `salt` object lacks, called synchronously (core/jinja.ts `call`). */
  call?: ((fun: string, args: unknown[], kwargs: Record<string, unknown>) => unknown) | undefined
  /** Pipeline when the file has no shebang. Default `jinja|yaml`. */
  defaultPipeline?: string
}

/** Render `text` through its pipeline and return the data (for YAML/JSON) or text. */
export function renderSls(text: string, options: RenderOptions): unknown {
  let pipeline = options.defaultPipeline ?? 'jinja|yaml'
  let body = text
  const shebang = /^#!([^\n]*)\n?/.exec(text)
  if (shebang) {
    pipeline = shebang[1]!.trim()
    // Keep line numbers: the shebang line becomes empty.
    body = `\n${text.slice(shebang[0].length)}`
  }
  let value: unknown = body
  for (const stage of pipeline.split('|').map((s) => s.trim())) {
    if (stage === 'jinja') value = renderJinja(String(value), options)
    else if (stage === 'yaml') value = renderYaml(String(value), options.file)
    else if (stage === 'json') value = renderJson(String(value), options.file)
    else
      throw new RenderError(
        options.file,
        'shebang',
        `unknown renderer '${stage}' (known: jinja, yaml, json)`,
        1,
      )
  }
  return value
}

function renderJinja(text: string, options: RenderOptions): string {
  try {
    return renderJinjaText(text, {
      searchPaths: options.searchPaths ?? [],
      context: options.context,
      call: options.call,
    })
  } catch (error) {
    const e = error as { lineno?: number; message: string }
    const message = e.message
      .replace(/\((unknown path|[^()\n]*\.\w+)\)\s*(\[Line \d+, Column \d+\])?\s*/g, '')
      .replace(/(Template render error: |(Type)?Error: )/g, '')
      .replace(/\s*\n\s*/g, ' ')
      .trim()
    const line = e.lineno ?? Number(/\[Line (\d+)/.exec(e.message)?.[1] ?? 0)
    // Show the line that used what is undefined.
    const source = line ? text.split('\n')[line - 1]?.trim() : undefined
    const detail = message.includes('is undefined') && source ? `${message} in: ${source}` : message
    throw new RenderError(options.file, 'jinja', detail, line || undefined, error)
  }
}

function renderYaml(text: string, file: string): unknown {
  try {
    // PyYAML's resolver, as Salt's loader: yes/no/on/off are booleans, y/n strings.
    return loadSaltYaml(text) ?? {}
  } catch (error) {
    const line = error instanceof YAMLParseError ? error.linePos?.[0]?.line : undefined
    const message = ((error as Error).message.split('\n')[0] ?? '').replace(/:$/, '')
    throw new RenderError(file, 'yaml', message, line, error)
  }
}

function renderJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new RenderError(file, 'json', (error as Error).message, undefined, error)
  }
}
