// Jinja as SLS files meet it: Salt's path variables for init and non-init files
// (salt/utils/templates.py generate_sls_context), a formula-style map.jinja (import_yaml,
// grains.filter_by with merge, pillar.get with merge=True, do update; the idioms of
// saltstack-formulas' map.jinja files), loop filters and Python formatting, then YAML.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createSaltFunctions } from '../core/jinja-salt.ts'
import { loadSls } from '../runner/sls.ts'

const ROOT = join(import.meta.dirname, 'fixtures', 'jinja', 'states')

function load(names: string[], pillar: Record<string, unknown>, grains: Record<string, unknown>) {
  const opts = { id: 'minion1' }
  return loadSls(names, {
    roots: [ROOT],
    context: {
      salt: createSaltFunctions({ grains, pillar, opts, roots: [ROOT] }),
      grains,
      pillar,
      opts,
      saltenv: 'base',
    },
  })
}

describe('SLS rendering with Salt’s Jinja', () => {
  it('sets slspath and tpldir to the directory of a non-init file, and of init.sls', () => {
    const { high, errors } = load(
      ['web.config', 'web.app'],
      {},
      { id: 'minion1', os_family: 'Debian' },
    )
    expect(errors).toEqual([])
    const where = (id: string, mod: string) =>
      (high[id]![mod] as Array<Record<string, unknown>>).find(
        (arg) => typeof arg === 'object' && 'where' in arg,
      )?.where
    // web/config.sls: slspath is 'web' (it was 'web/config' before).
    expect(where('web_port_1', 'test')).toEqual([
      'web.config',
      'web',
      'web',
      'web/config.sls',
      'web',
      'web',
      'web',
    ])
    // web/app/init.sls: the directory of the file is the SLS's own.
    expect(where('web_app', 'test')).toEqual(['web.app', 'web/app', 'web/app', 'web/app/init.sls'])
    expect(high.web_app!.test).toContainEqual({ parts: ['b', 'c'] })
  })

  it('renders a formula map.jinja: defaults, filter_by by os_family, pillar merged over them', () => {
    const { high, errors } = load(
      ['web.config'],
      { web: { port: 8080, sites: ['a'], lookup: { user: 'nginx' } } },
      { id: 'minion1', os_family: 'RedHat' },
    )
    expect(errors).toEqual([])
    expect(Object.keys(high)).toEqual(['web_port_1', 'web_port_2'])
    expect(high.web_port_1!.test).toEqual([
      'succeed_without_changes',
      { name: 'httpd:8080' },
      { where: ['web.config', 'web', 'web', 'web/config.sls', 'web', 'web', 'web'] },
      { user: 'nginx' },
      { enabled: true },
      // defaults.yaml's `short: y` stays a string (PyYAML), and prints as y again.
      { short: 'y' },
      { sites: ['a'] },
    ])
    expect(high.web_port_2!.test).toContainEqual({ name: 'httpd:443' })
  })

  it('reads a formula’s defaults.yaml with defaults.get, as salt/modules/defaults.py', () => {
    const { high, errors } = load(['web.app.defaults'], {}, { id: 'minion1' })
    expect(errors).toEqual([])
    expect(high.web_defaults!.test).toEqual([
      'nop',
      { port: 80 },
      { all: { port: 80, enabled: true, short: 'y', sites: [] } },
      { missing: 'dflt' },
      { merged: { a: { b: 1, c: 2 } } },
    ])
  })

  it('fails on an undefined value used as text (StrictUndefined), naming file and line', () => {
    const { errors } = load(['web.config'], {}, { id: 'minion1' })
    // No os_family grain: filter_by finds nothing and the map has no pkg.
    expect(errors[0]).toMatch(
      /^Rendering SLS 'base:web\.config' failed \(jinja, line 6\): a Jinja variable is undefined .*web\.pkg/,
    )
  })
})

describe('pillar rendering with Salt’s Jinja', () => {
  it('gives pillar SLS files the path variables and salt functions, grains from the context', async () => {
    const { compilePillar } = await import('../pillar/compile.ts')
    const { pillar, errors } = compilePillar({
      roots: [join(import.meta.dirname, 'fixtures', 'jinja', 'pillar')],
      minionId: 'minion1',
      context: { grains: { id: 'minion1', os_family: 'Debian' } },
    })
    expect(errors).toEqual([])
    expect(pillar).toEqual({
      where: ['apps.web', 'apps', 'apps/web.sls'],
      pkg: 'apache2',
      enabled: 'y',
      merged: { a: 1, b: { c: 2, d: 3 } },
    })
  })
})
