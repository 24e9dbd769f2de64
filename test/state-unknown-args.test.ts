// Every state refuses an argument it does not take, before anything runs: the state fails,
// naming the argument and the closest known one; no SOAP call is made; vcsim's inventory
// reads back the same. Salt drops such an argument with a warning, which is how an SLS
// written for saltext-vmware (`enter_maintenance_mode: False`, asking to leave maintenance)
// once made brine's `maintenance_mode` (argument `enter`, default True) enter it (issue 14).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'
import { observeSoapCalls } from '../vsphere/soap-observers.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime

beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'unknown-args')
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

/** What a state could change, read with a session of its own: entities and their states. */
async function inventory(): Promise<string[]> {
  const params = resolveConnectionParams({
    server: vcsim.url,
    user: 'reader',
    password: 'pw',
    caFile: vcsim.caFile,
  })
  return withSession(params, async (si) => {
    const lines: string[] = []
    for (const [type, props] of [
      ['ManagedEntity', ['name', 'parent']],
      ['VirtualMachine', ['runtime.powerState', 'snapshot', 'config.hardware.memoryMB']],
      ['HostSystem', ['runtime.inMaintenanceMode', 'runtime.connectionState']],
      ['Datastore', ['summary.maintenanceMode']],
    ] as const) {
      for (const object of await retrieveAll(si, type, [...props]))
        lines.push(`${type} ${object.obj.value} ${JSON.stringify(object.props)}`)
    }
    return lines.sort()
  })
}

/** Every state function, with its arguments (from the loader, as `state.single` sees them). */
async function stateFunctions(): Promise<Array<{ fun: string; args: string[] }>> {
  const names = (await rt.call('sys.list_state_functions')) as string[]
  const found: Array<{ fun: string; args: string[] }> = []
  for (const fun of names) {
    const { definition } = await rt.states.getFunction(fun)
    if (definition.varargs) continue // module.run and the like take any argument
    found.push({ fun, args: Object.keys(definition.args) })
  }
  return found
}

async function single(fun: string, kwargs: Record<string, unknown>, test: boolean) {
  const result = (await rt.call('state.single', { args: [fun], kwargs, test })) as Record<
    string,
    StateReturn
  >
  const rets = Object.values(result)
  expect(rets, fun).toHaveLength(1)
  return rets[0]!
}

describe('an argument a state does not take', () => {
  it('fails every state before it runs, naming the closest argument; nothing is sent to vCenter, nothing changes', async () => {
    const states = await stateFunctions()
    // The vSphere states are all there (the list is not accidentally empty).
    expect(states.map((s) => s.fun)).toEqual(
      expect.arrayContaining([
        'vmware_datacenter.present',
        'vmware_datastore.maintenance_mode',
        'vmware_vm.present',
        'vmware_vm.power_state',
      ]),
    )
    const before = await inventory()
    const calls: string[] = []
    const stop = observeSoapCalls((call) => calls.push(call.method))
    try {
      for (const test of [false, true]) {
        for (const { fun, args } of states) {
          // Names of things that exist, so that a state that ran would act on them.
          const kwargs: Record<string, unknown> = { name: 'DC0_C0_RP0_VM0', bogus_argument: true }
          const ret = await single(fun, kwargs, test)
          expect(ret, fun).toMatchObject({ result: false, changes: {} })
          expect(ret.comment, fun).toBe(
            `unknown argument 'bogus_argument' for '${fun}'. Arguments: ${args.join(', ')}. Nothing was run.`,
          )
          // A near miss of a real argument names it.
          const first = args.find((arg) => arg !== 'name')
          if (!first) continue
          const near = await single(fun, { name: 'DC0', [`${first}x`]: false }, test)
          expect(near.result, fun).toBe(false)
          expect(near.comment, fun).toContain(`'${first}x' (did you mean '${first}'?)`)
        }
      }
    } finally {
      stop()
    }
    expect(calls).toEqual([])
    expect(await inventory()).toEqual(before)
  }, 120_000)

  it('names the argument an unknown one shares a word with', async () => {
    const ret = await single('test.show_notification', { name: 'x', notification_text: 'y' }, false)
    expect(ret.comment).toBe(
      "unknown argument 'notification_text' (did you mean 'text'?) for 'test.show_notification'. Arguments: name, text. Nothing was run.",
    )
  })
})
