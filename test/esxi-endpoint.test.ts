import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

// Functions that work on an ESXi host's own endpoint (vcsim -esx), not through vCenter.
let esx: Vcsim
let vc: Vcsim
let rt: Runtime
let rtVc: Runtime
beforeAll(async () => {
  ;[esx, vc] = await Promise.all([startVcsim({ esx: true }), startVcsim()])
  rt = vmwareRuntime(esx, 'root')
  rtVc = vmwareRuntime(vc, 'admin')
})
afterAll(async () => {
  await rt?.close()
  await rtVc?.close()
  await Promise.all([esx?.stop(), vc?.stop()])
})

const call = (fun: string, kwargs: Record<string, unknown> = {}) => rt.call(fun, { kwargs })
const state = (fun: string, kwargs: Record<string, unknown>, test = false) =>
  rt.call(fun, { kwargs, state: true, test }) as Promise<StateReturn>
const failure = (r: Runtime, fun: string, kwargs: Record<string, unknown> = {}) =>
  r.call(fun, { kwargs }).then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  )

describe('ESXi local users (direct host connection)', () => {
  it('lists, adds, updates and removes users; states are idempotent; vCenter is refused clearly', async () => {
    const password = 'Loc4l-Pa55-word'
    const before = (await call('vmware_host.list_users')) as Array<{ name: string }>
    expect(before.map((u) => u.name)).toContain('root')
    expect(
      await call('vmware_host.add_user', { user: 'ops', password, description: 'Ops' }),
    ).toEqual({
      host: expect.any(String),
      user: 'ops',
      created: true,
    })
    expect(await call('vmware_host.list_users')).toContainEqual({
      name: 'ops',
      description: expect.any(String),
    })
    const dup = await failure(rt, 'vmware_host.add_user', { user: 'ops', password })
    expect(dup?.message).toMatch(
      /^creating local user 'ops' on host '.+': CreateUser .*AlreadyExists/,
    )
    expect(dup?.message).not.toContain(password)
    expect(
      await call('vmware_host.update_user', { user: 'ops', password: 'N3w-Pa55-word' }),
    ).toMatchObject({
      updated: true,
    })
    expect((await failure(rt, 'vmware_host.update_user', { user: 'ghost', password }))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
    expect(await call('vmware_host.remove_user', { user: 'ops' })).toMatchObject({ removed: true })
    expect(
      ((await call('vmware_host.list_users')) as Array<{ name: string }>).map((u) => u.name),
    ).not.toContain('ops')

    // States: test mode creates nothing, create, no-op, password update on request, absent.
    const args = { name: 'svc', password }
    expect(await state('vmware_host.user_present', args, true)).toMatchObject({ result: null })
    expect(
      ((await call('vmware_host.list_users')) as Array<{ name: string }>).map((u) => u.name),
    ).not.toContain('svc')
    const created = await state('vmware_host.user_present', args)
    expect(created).toMatchObject({ result: true, changes: { user: { old: null } } })
    expect(JSON.stringify(created)).not.toContain(password)
    expect(await state('vmware_host.user_present', args)).toMatchObject({
      result: true,
      changes: {},
    })
    expect(
      await state('vmware_host.user_present', { ...args, update_password: true }),
    ).toMatchObject({
      result: true,
      changes: { password: 'updated' },
    })
    expect(await state('vmware_host.user_absent', { name: 'svc' }, true)).toMatchObject({
      result: null,
    })
    expect(await state('vmware_host.user_absent', { name: 'svc' })).toMatchObject({
      changes: { user: { old: 'svc', new: null } },
    })
    expect(await state('vmware_host.user_absent', { name: 'svc' })).toMatchObject({ changes: {} })

    // saltext-vmware's names and shapes.
    const host = Object.keys(
      (await call('vmware_esxi.add_user', { user_name: 'salt', password })) as object,
    )
    expect(host).toHaveLength(1)
    expect(await call('vmware_esxi.get_user', { user_name: 'salt' })).toEqual({
      // saltext's shape (modules/esxi.py get_user); vcsim's RetrieveUserGroups gives no shellAccess.
      [host[0]!]: {
        salt: {
          description: expect.any(String),
          group: false,
          user_id: 'salt',
          shell_access: null,
        },
      },
    })
    expect(await call('vmware_esxi.update_user', { user_name: 'salt', password })).toEqual({
      [host[0]!]: true,
    })
    expect(await call('vmware_esxi.remove_user', { user_name: 'salt' })).toEqual({
      [host[0]!]: true,
    })
    expect(await call('vmware_esxi.get_user', { user_name: 'salt' })).toEqual({ [host[0]!]: {} })

    const policies = await failure(rt, 'vmware_storage_policies.find')
    expect(policies?.code).toBe('BRINE_UNSUPPORTED')
    expect(policies?.message).toContain('storage policies need vCenter')

    const viaVcenter = await failure(rtVc, 'vmware_host.list_users')
    expect(viaVcenter?.code).toBe('BRINE_UNSUPPORTED')
    expect(viaVcenter?.message).toContain('profile whose host is the ESXi host')
  })
})
