// YAML as Salt reads it: PyYAML's SafeLoader resolver. Each expectation is what PyYAML 6.0.3's
// yaml.safe_load gives for the same text (PyYAML resolver.py, implicit resolvers for bool,
// float, int, null, timestamp); issue 19: "Y, N, y, n stay strings as keys and values".
import { describe, expect, it } from 'vitest'
import { renderSls } from '../core/render.ts'
import { loadSaltYaml } from '../core/yaml-salt.ts'

describe('YAML with PyYAML resolver rules', () => {
  it('keeps y, Y, n, N as strings, as keys and as values', () => {
    expect(loadSaltYaml('y: y\nY: Y\nn: n\nN: N\nlist: [y, n, Y, N]\n')).toEqual({
      y: 'y',
      Y: 'Y',
      n: 'n',
      N: 'N',
      list: ['y', 'n', 'Y', 'N'],
    })
  })

  it('reads yes/no/on/off/true/false in their usual casings as booleans', () => {
    expect(
      loadSaltYaml(
        '[yes, Yes, YES, no, No, NO, on, On, ON, off, Off, OFF, true, True, TRUE, false, False, FALSE, yES, oN]',
      ),
    ).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      true,
      true,
      true,
      false,
      false,
      false,
      true,
      true,
      true,
      false,
      false,
      false,
      'yES',
      'oN',
    ])
  })

  it('resolves null, ints, floats, octal and dates as PyYAML does', () => {
    const data = loadSaltYaml(
      [
        'tilde: ~',
        'null_word: Null',
        'octal_old: 017',
        'octal_new: 0o17',
        'hex: 0x1f',
        'sexagesimal: 1:30',
        'underscored: 1_000',
        'exp_no_dot: 1e3',
        'exp_dot: 1.0e+3',
        'exp_no_sign: 1.0e3',
        'float: .5',
        'inf: .inf',
        'date: 2024-01-02',
        'not_date: 2024-1-2x',
        "quoted_y: 'y'",
      ].join('\n'),
    ) as Record<string, unknown>
    expect(data).toMatchObject({
      tilde: null,
      null_word: null,
      octal_old: 15,
      octal_new: '0o17',
      hex: 31,
      sexagesimal: 90,
      underscored: 1000,
      exp_no_dot: '1e3',
      exp_dot: 1000,
      exp_no_sign: '1.0e3',
      float: 0.5,
      inf: Number.POSITIVE_INFINITY,
      not_date: '2024-1-2x',
      quoted_y: 'y',
    })
    expect((data.date as Date).toISOString().slice(0, 10)).toBe('2024-01-02')
  })

  it('is the YAML stage of SLS rendering, and Jinja output of None stays the string None', () => {
    // Jinja2 prints None as "None", which PyYAML reads as a string (its null is ~, null, Null, NULL).
    expect(
      renderSls('a: {{ None }}\nb: n\nc: {{ [1, "y"] }}\n', { file: 'f.sls', context: {} }),
    ).toEqual({
      a: 'None',
      b: 'n',
      c: [1, 'y'],
    })
  })

  it('refuses duplicate keys, naming the line', () => {
    expect(() => renderSls('a: 1\nb: 2\na: 3\n', { file: 'dup.sls', context: {} })).toThrow(
      /dup\.sls.*yaml, line 3/,
    )
  })
})
