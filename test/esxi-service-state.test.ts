// vmware_esxi.service_configured, brine's own state for ESXi services (saltext-vmware has none:
// its services are functions only, modules/esxi.py service_start/stop/policy): test mode
// predicts and changes nothing, a real run changes what differs, a second run changes
// nothing, and a service a host lacks fails the state before any host changes. Read back on
// a session of the test's own (vmware_esxi.list_services through a second runtime).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
let reader: Runtime
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'service-state')
  reader = vmwareRuntime(vcsim, 'service-reader')
})
afterAll(async () => {
  await rt?.close()
  await reader?.close()
  await vcsim?.stop()
})

const cluster = { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
const state = (kwargs: Record<string, unknown>, test = false) =>
  rt.call('vmware_esxi.service_configured', { kwargs, state: true, test }) as Promise<StateReturn>
const ssh = async () =>
  (await reader.call('vmware_esxi.list_services', {
    kwargs: { service_name: 'TSM-SSH', ...cluster },
  })) as Record<string, Record<string, { state: string; startup_policy: string }>>

describe('vmware_esxi.service_configured', () => {
  it('predicts, applies, then has nothing to change; SSH means TSM-SSH', async () => {
    const before = await ssh()
    expect(Object.keys(before)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    expect(Object.values(before).every((s) => s['TSM-SSH']?.state === 'stopped')).toBe(true)
    const wanted = { name: 'SSH', running: true, startup_policy: 'on', ...cluster }

    const predicted = await state(wanted, true)
    expect(predicted.result).toBeNull()
    expect(predicted.changes).toEqual({
      DC0_C0_H0: {
        running: { old: false, new: true },
        startup_policy: { old: before.DC0_C0_H0!['TSM-SSH']!.startup_policy, new: 'on' },
      },
      DC0_C0_H1: expect.any(Object),
      DC0_C0_H2: expect.any(Object),
    })
    expect(await ssh()).toEqual(before)

    const applied = await state(wanted)
    expect(applied.result).toBe(true)
    expect(applied.changes).toEqual(predicted.changes)
    for (const services of Object.values(await ssh()))
      expect(services['TSM-SSH']).toEqual({ state: 'running', startup_policy: 'on' })

    const again = await state(wanted)
    expect(again).toMatchObject({ result: true, changes: {} })
    expect(again.comment).toBe("Service 'TSM-SSH' is already as wanted on 3 host(s).")
  })

  it('a service a host lacks fails the state, naming the hosts, and changes nothing', async () => {
    const before = await ssh()
    const failed = await state({ name: 'no-such-daemon', running: true, ...cluster })
    expect(failed.result).toBe(false)
    expect(failed.comment).toContain('DC0_C0_H0, DC0_C0_H1, DC0_C0_H2')
    expect(await ssh()).toEqual(before)
  })
})
