// YAML as Salt reads it: PyYAML's SafeLoader resolver (YAML 1.1 as PyYAML implements it).
// The `yaml` package's 1.1 schema follows the spec, which PyYAML does not in two places:
// `y`, `Y`, `n`, `N` are strings in PyYAML (its bool resolver has no single letters), and a
// float needs a dot (`1e3` is a string, `1.0e+3` a float). Keys keep their order and
// duplicate keys are refused.
import { parse, type ScalarTag, type Tags } from 'yaml'

// PyYAML resolver.py, Resolver.add_implicit_resolver for bool and float.
const PYYAML_BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/
const PYYAML_BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/
const PYYAML_FLOAT_EXP = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)[eE][-+][0-9]+$/

function pyyamlTags(tags: Tags): Tags {
  return tags.map((tag) => {
    const scalar = tag as ScalarTag
    if (scalar.tag === 'tag:yaml.org,2002:bool' && scalar.test) {
      const test = String(scalar.test).includes('Y|y') ? PYYAML_BOOL_TRUE : PYYAML_BOOL_FALSE
      return { ...scalar, test }
    }
    if (scalar.tag === 'tag:yaml.org,2002:float' && scalar.format === 'EXP')
      return { ...scalar, test: PYYAML_FLOAT_EXP }
    return tag
  })
}

/** Parse YAML text as Salt's yaml renderer does (an empty document is null). */
export function loadSaltYaml(text: string, options: { prettyErrors?: boolean } = {}): unknown {
  return parse(text, {
    version: '1.1',
    uniqueKeys: true,
    prettyErrors: options.prettyErrors ?? true,
    customTags: pyyamlTags,
  })
}
