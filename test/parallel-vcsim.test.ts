// parallel: True against vcsim: several vmware_vm.power_state states each make a vCenter
// task call (PowerOnVM_Task / PowerOffVM_Task) on a simulator that answers every SOAP call
// 50 ms late. A wrapper around the transport counts the task calls in flight together; it
// may hold them until N are in flight, so that overlap is proven without any timing: a run
// that made them one at a time never gets there (the hold gives up after a generous wait and
// the count says so).

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { Transport } from '../vsphere/transport.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

const PATIENCE_MS = 15_000
const VMS = ['DC0_H0_VM0', 'DC0_H0_VM1', 'DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1']

let vcsim: Vcsim
const dir = mkdtempSync(join(tmpdir(), 'brine-parallel-vcsim-'))

beforeAll(async () => {
  vcsim = await startVcsim({ vm: 2, delay: 50 })
  const sls = (power: 'on' | 'off', parallel: boolean) =>
    VMS.map(
      (vm) =>
        `${vm}:\n  vmware_vm.power_state:\n    - power: '${power}'\n${parallel ? '    - parallel: True\n' : ''}`,
    ).join('')
  writeFileSync(join(dir, 'off_parallel.sls'), sls('off', true))
  writeFileSync(join(dir, 'on_sequential.sls'), sls('on', false))
  writeFileSync(join(dir, 'on_parallel.sls'), sls('on', true))
})

afterAll(async () => {
  await vcsim?.stop()
})

/**
 * Count task calls (`*_Task`) in flight through every Transport; with `hold`, keep each one
 * from being sent until `hold` of them are in flight (or PATIENCE_MS passed).
 */
async function countTaskCalls<T>(
  hold: number | undefined,
  fn: () => Promise<T>,
): Promise<{ result: T; max: number; calls: string[] }> {
  const original = Transport.prototype.send
  let inFlight = 0
  let max = 0
  const calls: string[] = []
  let held: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined
  const releaseAll = () => {
    clearTimeout(timer)
    for (const release of held) release()
    held = []
    hold = undefined
  }
  Transport.prototype.send = async function (this: Transport, request) {
    if (!request.soapMethod?.endsWith('_Task')) return original.call(this, request)
    inFlight++
    max = Math.max(max, inFlight)
    calls.push(request.soapMethod)
    try {
      if (hold !== undefined) {
        if (inFlight >= hold) releaseAll()
        else {
          timer ??= setTimeout(releaseAll, PATIENCE_MS)
          await new Promise<void>((resolve) => held.push(resolve))
        }
      }
      return await original.call(this, request)
    } finally {
      inFlight--
    }
  }
  try {
    return { result: await fn(), max, calls }
  } finally {
    releaseAll()
    Transport.prototype.send = original
  }
}

async function apply(rt: Runtime, mods: string, kwargs: Record<string, unknown> = {}) {
  const result = (await rt.call('state.sls', { kwargs: { mods, ...kwargs } })) as Record<
    string,
    StateReturn
  >
  expect(rt.context.retcode ?? 0, JSON.stringify(result)).toBe(0)
  return Object.values(result)
}

describe('parallel: True against vcsim', () => {
  it('has the task calls of parallel states in flight together, and of plain ones one at a time', async () => {
    const rt = vmwareRuntime(vcsim, 'parallel', [dir])
    try {
      const parallel = await countTaskCalls(VMS.length, () => apply(rt, 'off_parallel'))
      expect(parallel.calls).toEqual(VMS.map(() => 'PowerOffVM_Task'))
      expect(parallel.max).toBe(VMS.length)
      for (const ret of parallel.result)
        expect(ret).toMatchObject({
          result: true,
          changes: { power_state: { old: 'poweredOn', new: 'poweredOff' } },
          __parallel__: true,
        })

      const sequential = await countTaskCalls(undefined, () => apply(rt, 'on_sequential'))
      expect(sequential.calls).toEqual(VMS.map(() => 'PowerOnVM_Task'))
      expect(sequential.max).toBe(1)
      for (const ret of sequential.result) {
        expect(ret).toMatchObject({ result: true, changes: { power_state: { new: 'poweredOn' } } })
        expect(ret).not.toHaveProperty('__parallel__')
      }
    } finally {
      await rt.close()
    }
  })

  it('keeps at most state_max_parallel task calls in flight, and changes nothing with test=True', async () => {
    const rt = vmwareRuntime(vcsim, 'parallel-bound', [dir], { state_max_parallel: 2 })
    try {
      await apply(rt, 'on_sequential') // whatever the test before left
      const bounded = await countTaskCalls(2, () => apply(rt, 'off_parallel'))
      expect(bounded.calls).toHaveLength(VMS.length)
      expect(bounded.max).toBe(2)

      const predicted = await countTaskCalls(undefined, () =>
        apply(rt, 'on_parallel', { test: true }),
      )
      expect(predicted.calls).toEqual([])
      for (const ret of predicted.result)
        expect(ret).toMatchObject({
          result: null,
          changes: { power_state: { old: 'poweredOff', new: 'poweredOn' } },
          __parallel__: true,
        })
      // Nothing changed: the same states still have everything to do.
      const again = await countTaskCalls(undefined, () => apply(rt, 'on_parallel'))
      expect(again.calls).toHaveLength(VMS.length)
    } finally {
      await rt.close()
    }
  })
})
