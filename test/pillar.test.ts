import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RenderError, renderSls } from '../core/render.ts'
import { compilePillar, findSls, mergeInto } from '../pillar/compile.ts'

const fixtures = join(import.meta.dirname, 'fixtures')

describe('compilePillar', () => {
  it('matches top targets by glob and merges files in top order, includes first', () => {
    const { pillar, errors, sls } = compilePillar({
      roots: [join(fixtures, 'pillar-basic')],
      minionId: 'web01',
    })
    expect(errors).toEqual([])
    expect(sls).toEqual(['common', 'web'])
    expect(pillar).toEqual({
      site: 'lab',
      minion: 'web01',
      'saltext.vmware': {
        host: 'vc.lab.example.com',
        user: 'administrator@vsphere.local',
        password: 'common-Passw0rd',
      },
      // web includes .ports (relative), common, and web.extra under extra:nested with defaults;
      // the including file wins, and lists are replaced, not appended.
      ports: { http: 80, https: 443 },
      extra: { nested: { color: 'blue' } },
      role: 'web',
      list: [3],
    })
  })

  it('applies only matching targets, and CLI overrides last', () => {
    const { pillar } = compilePillar({
      roots: [join(fixtures, 'pillar-basic')],
      minionId: 'db01',
      overrides: { site: 'override', new: { key: 1 } },
    })
    expect(pillar.role).toBeUndefined()
    expect(pillar.site).toBe('override')
    expect(pillar.new).toEqual({ key: 1 })
    expect(pillar._errors).toEqual([
      expect.stringMatching(/Specified SLS 'db' in environment 'base' is not available/),
    ])
  })

  it('reports render errors with file and line, and keeps the good files', () => {
    const { pillar, errors } = compilePillar({
      roots: [join(fixtures, 'pillar-bad')],
      minionId: 'x',
    })
    expect(pillar.good).toBe(true)
    expect(errors).toHaveLength(2)
    expect(errors[0]?.file).toBe(join(fixtures, 'pillar-bad', 'broken.sls'))
    expect(errors[0]?.line).toBe(3)
    expect(errors[0]?.message).toMatch(
      /broken\.sls' failed \(jinja, line 3\): .*undefined_variable/,
    )
    expect(errors[1]?.message).toMatch(/'missing' .* not available/)
    expect(pillar._errors).toHaveLength(2)

    const yaml = compilePillar({ roots: [join(fixtures, 'pillar-bad-yaml')], minionId: 'x' })
    expect(yaml.errors[0]?.line).toBe(3)
    expect(yaml.errors[0]?.message).toMatch(/bad\.sls' failed \(yaml, line 3\)/)
  })

  it('finds a.b as a/b.sls or a/b/init.sls', () => {
    const root = join(fixtures, 'pillar-basic')
    expect(findSls([root], 'web')).toBe(join(root, 'web', 'init.sls'))
    expect(findSls([root], 'web.ports')).toBe(join(root, 'web', 'ports.sls'))
    expect(findSls([root], 'nope')).toBeUndefined()
  })

  it('merges dicts deeply and replaces everything else', () => {
    expect(mergeInto({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: 3 }, d: { x: 1 } })).toEqual({
      a: { b: 1, c: [2], e: 3 },
      d: { x: 1 },
    })
  })
})

describe('renderSls', () => {
  it('honours a shebang, rejects duplicate keys, and names unknown renderers', () => {
    expect(renderSls('#!yaml\na: "{{ x }}"\n', { file: 'f.sls', context: {} })).toEqual({
      a: '{{ x }}',
    })
    expect(renderSls('#!jinja|json\n{"a": {{ n }}}', { file: 'f.sls', context: { n: 2 } })).toEqual(
      { a: 2 },
    )
    expect(() => renderSls('a: 1\na: 2\n', { file: 'dup.sls', context: {} })).toThrow(
      /dup\.sls' failed \(yaml, line 2\): Map keys must be unique/,
    )
    const error = (() => {
      try {
        renderSls('#!mako\n', { file: 'm.sls', context: {} })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(RenderError)
    expect((error as RenderError).message).toMatch(/unknown renderer 'mako'/)
  })
})
