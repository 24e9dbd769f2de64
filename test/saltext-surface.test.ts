// Every saltext-vmware vSphere function and state exists in brine under its saltext name, with
// saltext's arguments first and in saltext's order (issue 15). The list is taken from
// saltext's source by scripts/saltext-surface.py and kept in test/fixtures/saltext/surface.json
// (saltstack/salt-ext-modules-vmware at the commit the file names); `service_instance` and
// `profile` are not brine arguments (the runtime supplies the connection).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { requisiteRuntime } from './helpers/local-runtime.ts'

interface Entry {
  file: string
  args: string[]
}
const surface = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'saltext', 'surface.json'), 'utf8'),
) as { commit: string; modules: Record<string, Entry>; states: Record<string, Entry> }

/**
 * What brine leaves out on purpose, with the reason (the README's "Differences from
 * saltext-vmware" says the same). compliance_control and controller_metadata are not vSphere
 * API clients: they hand a desired-state document to VMware's `config-modules` library
 * (config_modules_vmware.ControllerInterface), which drives vCenter, SDDC Manager and NSX
 * through that library's own controllers.
 */
const LEFT_OUT: Record<string, string> = {
  'vmware_compliance_control.control_config_compliance_check': 'config-modules library',
  'vmware_compliance_control.control_config_remediate': 'config-modules library',
  'vmware_controller_metadata.validate': 'config-modules library',
  'vmware_compliance_control.check_control': 'config-modules library',
  'vmware_controller_metadata.managed': 'config-modules library',
}

const rt = requisiteRuntime('basic')
afterAll(() => rt.close())

describe(`saltext-vmware's surface (commit ${surface.commit.slice(0, 7)})`, () => {
  it('the list was taken from saltext-vmware’s source, not typed in', () => {
    expect(Object.keys(surface.modules).length).toBeGreaterThan(120)
    expect(surface.modules['vmware_datacenter.create']).toEqual({
      file: 'src/saltext/vmware/modules/datacenter.py',
      args: ['name'],
    })
  })

  for (const kind of ['modules', 'states'] as const) {
    it(`every saltext ${kind === 'modules' ? 'execution function' : 'state'} exists under its name, saltext's arguments first and in order`, async () => {
      const loader = kind === 'modules' ? rt.modules : rt.states
      const missing: string[] = []
      const mismatched: string[] = []
      for (const [fun, { args }] of Object.entries(surface[kind])) {
        if (fun in LEFT_OUT) continue
        const found = await loader.getFunction(fun).catch(() => undefined)
        if (!found) {
          missing.push(fun)
          continue
        }
        const declared = Object.keys(found.definition.args)
        const ok =
          kind === 'modules'
            ? declared.slice(0, args.length).join() === args.join()
            : args.every((a) => declared.includes(a))
        if (!ok) mismatched.push(`${fun}(${args.join(', ')}) is brine's (${declared.join(', ')})`)
      }
      expect({ missing, mismatched }).toEqual({ missing: [], mismatched: [] })
    })
  }

  it('what is left out on purpose is really saltext’s', () => {
    for (const fun of Object.keys(LEFT_OUT))
      expect(fun in surface.modules || fun in surface.states, fun).toBe(true)
  })
})
