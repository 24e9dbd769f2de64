// Issue 13, item 12: clear errors (naming what is wrong and the fix), the documented exit
// code, and no partial change.
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runNode } from './helpers/cli.ts'

const tmp = mkdtempSync(join(tmpdir(), 'brine-errors-'))
// No stray config, credentials or session store from the machine running the tests.
const cleanEnv = {
  BRINE_CONFIG: undefined,
  BRINE_MODULE_DIRS: undefined,
  BRINE_PILLAR_ROOTS: join(tmp, 'no-pillar'),
  SALTEXT_VMWARE_HOST: undefined,
  SALTEXT_VMWARE_USER: undefined,
  SALTEXT_VMWARE_PASSWORD: undefined,
  BRINE_SESSION_DIR: join(tmp, 'sessions'),
  BRINE_DEBUG: undefined,
}

/** The CLI from the sources (a dist/ bundle in the checkout may predate them). */
const brine = (args: string[], env: Record<string, string | undefined> = {}) =>
  runNode(
    [
      '--import',
      pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
      join(import.meta.dirname, 'helpers', 'cli-source.ts'),
      ...args,
    ],
    { cwd: tmp, env: { ...cleanEnv, ...env } },
  )

describe('cmd: a line without a shell reaches the command literally', () => {
  it('keeps $-braces (a variable in braces) with its braces, as Salt’s shlex.split does', async () => {
    const run = await brine([
      '--out',
      'json',
      'cmd.run',
      `echo \${HOME} $HOME "\${HOME}" '\${HOME}' \${A:-b} \\$x "a\\$b" $'c\\'d'`,
    ])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).local).toBe(
      `\${HOME} $HOME \${HOME} \${HOME} \${A:-b} $x a$b c'd`,
    )
  })

  it('refuses an unclosed quote, naming it', async () => {
    const run = await brine(['cmd.run', 'echo "a'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/double quote that is not closed/)
  })
})
