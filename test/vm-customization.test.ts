// Guest customization (issue 16, item 1): vmware_customization (CustomizationSpecManager) and
// the customization arguments of vmware_vm.clone, deploy_template and the vmware_vm.present
// state, against vcsim with test/vcsim/customize.go. Behaviour copied from the vSphere API
// reference: CustomizationSpecManager (CreateCustomizationSpec → AlreadyExists,
// GetCustomizationSpec / DeleteCustomizationSpec → NotFound), VirtualMachineCloneSpec
// (customization runs in the guest at power-on), CustomizationEvent and its subtypes
// (CustomizationStartedEvent, CustomizationSucceeded, CustomizationSysprepFailed: "Sysprep
// failed to run in the guest … the wrong sysprep was used for the guest").
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { ENTITY_TYPES, getEntity } from '../vsphere/entities.ts'
import { retrieveObjectProperties } from '../vsphere/property-collector.ts'
import { isolatedCliEnv, runCli } from './helpers/cli.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
beforeAll(async () => {
  vcsim = await startVcsim()
  rt = vmwareRuntime(vcsim, 'customization')
})
afterAll(async () => {
  await rt?.close()
  await vcsim?.stop()
})

const { call, state, failure } = callersOf(() => rt)

/** A VM's guest identity, read directly from its properties. */
async function guestOf(vm: string) {
  const si = await rt.serviceInstance()
  const entity = await getEntity(si, ENTITY_TYPES.vm, vm)
  const props = await retrieveObjectProperties(si, entity.obj, [
    'guest.hostName',
    'guest.ipAddress',
    'guest.net',
    'config.tools.pendingCustomization',
    'runtime.powerState',
  ])
  const nets = [props['guest.net'] ?? []].flat() as Array<{ ipAddress?: string | string[] }>
  return {
    hostname: props['guest.hostName'] ?? null,
    ip: props['guest.ipAddress'] ?? null,
    nic_ips: nets.map((n) => [n.ipAddress ?? []].flat()),
    pending: Boolean(props['config.tools.pendingCustomization']),
    power: props['runtime.powerState'],
  }
}

const LINUX = {
  linux: {
    hostname: 'web01',
    domain: 'example.test',
    time_zone: 'Europe/Berlin',
    hw_clock_utc: true,
  },
  nics: [{ ip: '10.20.30.41', netmask: '255.255.255.0', gateway: '10.20.30.1' }],
  dns_servers: ['10.20.30.2', '10.20.30.3'],
  dns_suffixes: ['example.test'],
}

describe('vmware_customization: specs stored in vCenter', () => {
  it('create, list, get, overwrite and delete a Linux spec; duplicates and missing names are refused', async () => {
    const created = (await call('vmware_customization.create', [], {
      name: 'linux-web',
      description: 'web servers',
      ...LINUX,
    })) as Record<string, unknown>
    expect(created).toMatchObject({ name: 'linux-web', type: 'Linux', created: true })
    // Read back through the API: the spec as stored, in the argument model.
    expect(await call('vmware_customization.get', ['linux-web'])).toEqual({
      name: 'linux-web',
      description: 'web servers',
      type: 'Linux',
      change_version: '1',
      last_update_time: expect.any(String),
      ...LINUX,
      nics: [{ ip: '10.20.30.41', netmask: '255.255.255.0', gateway: ['10.20.30.1'] }],
    })
    const listed = (await call('vmware_customization.list')) as Array<{ name: string }>
    expect(listed.map((s) => s.name)).toContain('linux-web')
    // Every stored spec reads back in the model, vcsim's own ones too.
    for (const { name } of listed)
      expect(await call('vmware_customization.get', [name])).toMatchObject({ name })
    // CreateCustomizationSpec with a taken name: vCenter's AlreadyExists.
    const dup = await failure('vmware_customization.create', [], { name: 'linux-web', ...LINUX })
    expect(dup?.code).toBe('BRINE_VIM_ALREADY_EXISTS')
    // overwrite=True replaces it (OverwriteCustomizationSpec), with the next change version.
    const over = (await call('vmware_customization.create', [], {
      name: 'linux-web',
      linux: { domain: 'example.test' },
      nics: [{ dhcp: true }],
      overwrite: true,
    })) as Record<string, unknown>
    expect(over).toMatchObject({ overwritten: true, change_version: '2', nics: [{ dhcp: true }] })
    expect(await call('vmware_customization.get', ['linux-web'])).toMatchObject({
      linux: { domain: 'example.test' },
      nics: [{ dhcp: true }],
      dns_servers: [],
    })
    expect(await call('vmware_customization.delete', ['linux-web'])).toEqual({
      name: 'linux-web',
      deleted: true,
    })
    const listedAfter = (await call('vmware_customization.list')) as Array<{ name: string }>
    expect(listedAfter.map((s) => s.name)).not.toContain('linux-web')
    expect((await failure('vmware_customization.get', ['linux-web']))?.code).toBe('BRINE_NOT_FOUND')
    expect((await failure('vmware_customization.delete', ['linux-web']))?.code).toBe(
      'BRINE_VIM_NOT_FOUND',
    )
  })

  it('refuses a customization it cannot build, naming the argument', async () => {
    const neither = await failure('vmware_customization.create', [], { name: 'x', nics: [] })
    expect(neither?.code).toBe('BRINE_ARGUMENT')
    expect(neither?.message).toContain('linux= or windows=')
    const half = await failure('vmware_customization.create', [], {
      name: 'x',
      linux: { domain: 'd.test' },
      nics: [{ ip: '10.0.0.5' }],
    })
    expect(half?.message).toContain('nics[0]: a static address needs ip and netmask')
    const join = await failure('vmware_customization.create', [], {
      name: 'x',
      windows: { join_domain: 'corp.test' },
    })
    expect(join?.message).toContain("join_domain 'corp.test' needs domain_user and domain_password")
    // Nothing was stored by the refused calls.
    const listed = (await call('vmware_customization.list')) as Array<{ name: string }>
    expect(listed.map((s) => s.name)).not.toContain('x')
  })
})

describe('vmware_vm.clone with customization', () => {
  it('clones with a Linux identity and static IP: after power-on the guest reports them', async () => {
    const clone = (await call('vmware_vm.clone', [], {
      name: 'cust-linux',
      source: 'DC0_H0_VM0',
      datacenter: 'DC0',
      power_on: true,
      customization: LINUX,
    })) as { customization: Record<string, unknown> }
    expect(clone.customization).toMatchObject({
      status: 'succeeded',
      event: 'CustomizationSucceeded',
      message: expect.stringContaining('Customization of VM cust-linux succeeded'),
    })
    expect(await guestOf('cust-linux')).toEqual({
      hostname: 'web01',
      ip: '10.20.30.41',
      nic_ips: [['10.20.30.41']],
      pending: false,
      power: 'poweredOn',
    })
    // The same through vmware_customization.status (vCenter's events for the VM).
    expect(await call('vmware_customization.status', ['cust-linux'])).toMatchObject({
      status: 'succeeded',
      pending: false,
      log_location: '/var/log/vmware-imc/toolsDeployPkg.log',
    })
  })

  it('a stored spec by name; without power-on it stays pending until the VM starts', async () => {
    await call('vmware_customization.create', [], {
      name: 'linux-dhcp',
      linux: { hostname: 'app*', domain: 'example.test' },
    })
    const clone = (await call('vmware_vm.clone', [], {
      name: 'cust-pending',
      source: 'DC0_H0_VM0',
      datacenter: 'DC0',
      customization_spec: 'linux-dhcp',
    })) as { customization: Record<string, unknown> }
    expect(clone.customization).toMatchObject({ status: 'pending' })
    expect(await guestOf('cust-pending')).toMatchObject({ pending: true, hostname: null })
    expect(await call('vmware_customization.status', ['cust-pending'])).toMatchObject({
      status: 'none',
      pending: true,
    })
    await call('vmware_vm.power_state', ['cust-pending', 'powered-on'])
    const after = await guestOf('cust-pending')
    expect(after.pending).toBe(false)
    expect(after.hostname).toMatch(/^app-\d+$/)
    expect(await call('vmware_customization.status', ['cust-pending'])).toMatchObject({
      status: 'succeeded',
    })
    const missing = await failure('vmware_vm.clone', [], {
      name: 'cust-nospec',
      source: 'DC0_H0_VM0',
      datacenter: 'DC0',
      customization_spec: 'no-such-spec',
    })
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
    expect((await call('vmware_vm.list')) as string[]).not.toContain('cust-nospec')
  })

  it('a NIC count that does not match the VM fails the clone (NicSettingMismatch)', async () => {
    const err = await failure('vmware_vm.clone', [], {
      name: 'cust-twonics',
      source: 'DC0_H0_VM0',
      datacenter: 'DC0',
      customization: { ...LINUX, nics: [{ dhcp: true }, { dhcp: true }] },
    })
    // A CustomizationFault that CloneVM_Task's task ends with.
    expect(err?.code).toBe('BRINE_VIM_TASK_FAILED')
    expect((err as { faultType?: string } | undefined)?.faultType).toBe('NicSettingMismatch')
    expect((await call('vmware_vm.list')) as string[]).not.toContain('cust-twonics')
  })

  it('a failure in the guest is reported with vCenter’s event message', async () => {
    // A Sysprep (Windows) identity on a Linux guest: CustomizationSysprepFailed.
    await call('vmware_vm.create', [], {
      name: 'linux-src',
      datacenter: 'DC0',
      guest_id: 'rhel8_64Guest',
      nics: ['VM Network'],
    })
    const err = await failure('vmware_vm.clone', [], {
      name: 'cust-wrong-os',
      source: 'linux-src',
      datacenter: 'DC0',
      power_on: true,
      customization: { windows: { computer_name: 'WIN01', admin_password: 'Pa55-never-shown' } },
    })
    expect(err?.code).toBe('BRINE_VIM_CUSTOMIZATION_FAILED')
    expect(err?.message).toContain('CustomizationSysprepFailed')
    expect(err?.message).toContain('does not match the version of guest OS rhel8_64Guest')
    expect(err?.message).not.toContain('Pa55-never-shown')
    // The VM exists, the guest kept its identity, nothing is pending any more.
    expect(await guestOf('cust-wrong-os')).toMatchObject({ hostname: null, pending: false })
    expect(await call('vmware_customization.status', ['cust-wrong-os'])).toMatchObject({
      status: 'failed',
      event: 'CustomizationSysprepFailed',
    })
  })
})

describe('Windows customization keeps its secrets', () => {
  it('admin and domain passwords and the product key never appear in outputs, errors or logs', async () => {
    const secrets = ['Adm1n-S3cret-pw', 'D0main-S3cret-pw', 'ABCDE-12345-FGHIJ-67890-KLMNO']
    const lines: string[] = []
    setLogLevel('trace')
    const restore = setLogSink((line) => lines.push(line))
    try {
      await call('vmware_vm.create', [], {
        name: 'win-src',
        datacenter: 'DC0',
        guest_id: 'windows2019srv_64Guest',
        nics: ['VM Network'],
      })
      const windows = {
        computer_name: 'WIN01',
        full_name: 'Ops',
        org_name: 'Example',
        product_key: secrets[2],
        admin_password: secrets[0],
        time_zone: 110,
        join_domain: 'corp.example.test',
        domain_user: 'joiner',
        domain_password: secrets[1],
        run_once: ['cmd /c echo done'],
      }
      const stored = await call('vmware_customization.create', [], {
        name: 'win-domain',
        windows,
        nics: [{ ip: '10.9.8.7', netmask: '255.255.0.0', gateway: '10.9.0.1' }],
        dns_servers: ['10.9.0.2'],
      })
      const got = await call('vmware_customization.get', ['win-domain'])
      expect(got).toMatchObject({
        type: 'Windows',
        windows: {
          computer_name: 'WIN01',
          join_domain: 'corp.example.test',
          domain_user: 'joiner',
          admin_password_set: true,
          domain_password_set: true,
          product_key_set: true,
          time_zone: 110,
          run_once: ['cmd /c echo done'],
        },
        dns_servers: ['10.9.0.2'],
      })
      const clone = await call('vmware_vm.clone', [], {
        name: 'cust-win',
        source: 'win-src',
        datacenter: 'DC0',
        power_on: true,
        customization_spec: 'win-domain',
      })
      expect(clone).toMatchObject({ customization: { status: 'succeeded' } })
      expect(await guestOf('cust-win')).toMatchObject({ hostname: 'WIN01', ip: '10.9.8.7' })
      // An error carrying the arguments: a Linux identity on this Windows guest.
      const err = await failure('vmware_vm.clone', [], {
        name: 'cust-win-bad',
        source: 'win-src',
        datacenter: 'DC0',
        power_on: true,
        customization: { linux: { domain: 'x.test' }, windows },
      })
      expect(err?.code).toBe('BRINE_ARGUMENT')
      const failed = await failure('vmware_vm.clone', [], {
        name: 'cust-win-linux',
        source: 'win-src',
        datacenter: 'DC0',
        power_on: true,
        customization: { linux: { domain: 'x.test' } },
      })
      expect(failed?.message).toContain('CustomizationLinuxIdentityFailed')
      const texts = [
        JSON.stringify(stored),
        JSON.stringify(got),
        JSON.stringify(clone),
        String(err?.message),
        String(failed?.message),
        ...lines,
      ]
      // The SOAP trace did carry the request (so the check below means something).
      expect(lines.some((l) => l.includes('CreateCustomizationSpec'))).toBe(true)
      for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret)
    } finally {
      restore()
      setLogLevel('warning')
    }
  })
})

describe('states: vmware_customization.spec_present / spec_absent', () => {
  const spec = {
    linux: { hostname: 'db*', domain: 'example.test', time_zone: 'UTC' },
    nics: [{ ip: '10.1.1.10', netmask: '255.255.255.0', gateway: '10.1.1.1' }],
    dns_servers: ['10.1.1.2'],
  }
  const storedNames = async () =>
    ((await call('vmware_customization.list')) as Array<{ name: string }>).map((s) => s.name)

  it('creates, keeps, updates and deletes a spec; test mode predicts and changes nothing', async () => {
    const dry = await state('vmware_customization.spec_present', ['db'], spec, true)
    expect(dry).toMatchObject({
      result: null,
      comment: "Customization spec 'db' would be created.",
    })
    expect(dry.changes).toMatchObject({
      spec: { old: null, new: { name: 'db', linux: spec.linux } },
    })
    expect(await storedNames()).not.toContain('db')

    const made = await state('vmware_customization.spec_present', ['db'], spec)
    expect(made).toMatchObject({ result: true, comment: "Customization spec 'db' created." })
    expect(await call('vmware_customization.get', ['db'])).toMatchObject({
      linux: spec.linux,
      nics: [{ ip: '10.1.1.10', netmask: '255.255.255.0', gateway: ['10.1.1.1'] }],
      dns_servers: ['10.1.1.2'],
    })
    const again = await state('vmware_customization.spec_present', ['db'], spec)
    expect(again).toMatchObject({ result: true, changes: {} })

    const changed = { ...spec, dns_servers: ['10.1.1.3'] }
    const dryChange = await state('vmware_customization.spec_present', ['db'], changed, true)
    expect(dryChange).toMatchObject({
      result: null,
      changes: { dns_servers: { old: ['10.1.1.2'], new: ['10.1.1.3'] } },
    })
    expect(await call('vmware_customization.get', ['db'])).toMatchObject({
      dns_servers: ['10.1.1.2'],
      change_version: '1',
    })
    const update = await state('vmware_customization.spec_present', ['db'], changed)
    expect(update).toMatchObject({ result: true, comment: "Customization spec 'db' updated." })
    expect(await call('vmware_customization.get', ['db'])).toMatchObject({
      dns_servers: ['10.1.1.3'],
      change_version: '2',
    })
    expect(await state('vmware_customization.spec_present', ['db'], changed)).toMatchObject({
      changes: {},
    })

    const dryAbsent = await state('vmware_customization.spec_absent', ['db'], {}, true)
    expect(dryAbsent).toMatchObject({ result: null, changes: { spec: { old: 'db', new: null } } })
    expect(await storedNames()).toContain('db')
    expect(await state('vmware_customization.spec_absent', ['db'])).toMatchObject({
      result: true,
      comment: "Customization spec 'db' deleted.",
    })
    expect(await storedNames()).not.toContain('db')
    expect(await state('vmware_customization.spec_absent', ['db'])).toMatchObject({
      result: true,
      changes: {},
    })
  })

  it('a Windows spec: secrets stay out of changes and comments; a second run changes nothing', async () => {
    const windows = {
      windows: {
        computer_name: 'APP*',
        admin_password: 'St4te-Adm1n-pw',
        workgroup: 'LAB',
      },
    }
    const made = await state('vmware_customization.spec_present', ['win-lab'], windows)
    expect(made.result).toBe(true)
    expect(JSON.stringify(made)).not.toContain('St4te-Adm1n-pw')
    expect(made.changes).toMatchObject({
      spec: { new: { windows: { admin_password_set: true, workgroup: 'LAB' } } },
    })
    expect(await state('vmware_customization.spec_present', ['win-lab'], windows)).toMatchObject({
      result: true,
      changes: {},
    })
  })
})

describe('customization on deploy_template, apply, and the vmware_vm.present state', () => {
  beforeAll(async () => {
    await call('vmware_vm.create', [], {
      name: 'tpl-linux',
      datacenter: 'DC0',
      guest_id: 'ubuntu64Guest',
      nics: ['VM Network'],
    })
    await call('vmware_vm.mark_as_template', ['tpl-linux'])
  })

  it('deploy_template customizes and powers the VM on', async () => {
    const deployed = await call('vmware_vm.deploy_template', [], {
      vm_name: 'dep-web',
      template_name: 'tpl-linux',
      power_on: true,
      customization: {
        linux: { hostname: 'dep-web', domain: 'example.test' },
        nics: [{ ip: '10.50.0.10', netmask: '255.255.0.0', gateway: '10.50.0.1' }],
      },
    })
    expect(deployed).toMatchObject({ deployed: true, customization: { status: 'succeeded' } })
    expect(await guestOf('dep-web')).toMatchObject({
      hostname: 'dep-web',
      ip: '10.50.0.10',
      power: 'poweredOn',
    })
  })

  it('apply customizes an existing powered-off VM at its next power-on; refused while on', async () => {
    await call('vmware_vm.clone', [], {
      name: 'cust-apply',
      source: 'tpl-linux',
      datacenter: 'DC0',
    })
    const customization = {
      linux: { hostname: 'applied', domain: 'example.test' },
      nics: [{ ip: '10.60.0.5', netmask: '255.255.255.0' }],
    }
    expect(
      await call('vmware_customization.apply', [], { vm_name: 'cust-apply', customization }),
    ).toMatchObject({ name: 'cust-apply', customization: 'pending' })
    expect(await guestOf('cust-apply')).toMatchObject({ pending: true, hostname: null })
    // A second one while the first is pending: CustomizationPending.
    const twice = await failure('vmware_customization.apply', [], {
      vm_name: 'cust-apply',
      customization,
    })
    expect((twice as { faultType?: string } | undefined)?.faultType).toBe('CustomizationPending')
    await call('vmware_vm.power_state', ['cust-apply', 'powered-on'])
    expect(await call('vmware_customization.wait', ['cust-apply'])).toMatchObject({
      status: 'succeeded',
    })
    expect(await guestOf('cust-apply')).toMatchObject({ hostname: 'applied', ip: '10.60.0.5' })
    // The VM is on now: CustomizeVM_Task needs it off (InvalidPowerState).
    const on = await failure('vmware_customization.apply', [], {
      vm_name: 'cust-apply',
      customization,
    })
    expect((on as { faultType?: string } | undefined)?.faultType).toBe('InvalidPowerState')
    // Customized again: until the guest runs the new one, its earlier success is no answer.
    await call('vmware_vm.power_state', ['cust-apply', 'powered-off'])
    await call('vmware_customization.apply', [], {
      vm_name: 'cust-apply',
      customization: { ...customization, linux: { hostname: 'applied2', domain: 'example.test' } },
    })
    expect(await call('vmware_customization.wait', ['cust-apply'], { timeout: 0 })).toMatchObject({
      status: 'running',
    })
    await call('vmware_vm.power_state', ['cust-apply', 'powered-on'])
    expect(await call('vmware_customization.wait', ['cust-apply'])).toMatchObject({
      status: 'succeeded',
    })
    expect(await guestOf('cust-apply')).toMatchObject({ hostname: 'applied2', pending: false })
  })

  it('present clones with customization, idempotently; test mode predicts and creates nothing', async () => {
    const args = {
      datacenter: 'DC0',
      template: 'tpl-linux',
      power_on: true,
      customization: {
        linux: { hostname: 'pres01', domain: 'example.test' },
        nics: [{ ip: '10.70.0.7', netmask: '255.255.255.0', gateway: '10.70.0.1' }],
        dns_servers: ['10.70.0.2'],
      },
    }
    const dry = await state('vmware_vm.present', ['pres01'], args, true)
    expect(dry).toMatchObject({
      result: null,
      changes: {
        vm: {
          old: null,
          new: {
            name: 'pres01',
            template: 'tpl-linux',
            power_on: true,
            customization: { linux: { hostname: 'pres01' }, dns_servers: ['10.70.0.2'] },
          },
        },
      },
    })
    expect((await call('vmware_vm.list')) as string[]).not.toContain('pres01')

    const made = await state('vmware_vm.present', ['pres01'], args)
    expect(made).toMatchObject({ result: true, comment: "VM 'pres01' created." })
    expect(await guestOf('pres01')).toMatchObject({
      hostname: 'pres01',
      ip: '10.70.0.7',
      power: 'poweredOn',
      pending: false,
    })
    expect(await state('vmware_vm.present', ['pres01'], args)).toMatchObject({
      result: true,
      changes: {},
    })
    // With a size to set, the clone is sized first and then started; customization still runs.
    const sized = await state('vmware_vm.present', ['pres02'], {
      ...args,
      num_cpu: 2,
      customization: { ...args.customization, linux: { hostname: 'pres02', domain: 'x.test' } },
    })
    expect(sized.result).toBe(true)
    expect(await guestOf('pres02')).toMatchObject({ hostname: 'pres02', power: 'poweredOn' })
    // Customization without a template to clone: refused, nothing created.
    const noTemplate = await state('vmware_vm.present', ['pres03'], {
      datacenter: 'DC0',
      customization: args.customization,
    })
    expect(noTemplate).toMatchObject({ result: false })
    expect(noTemplate.comment).toContain('customization needs template=')
    expect((await call('vmware_vm.list')) as string[]).not.toContain('pres03')
  })

  it('present reports a customization that fails in the guest', async () => {
    const ret = await state('vmware_vm.present', ['pres-bad'], {
      datacenter: 'DC0',
      template: 'tpl-linux',
      power_on: true,
      customization: { windows: { computer_name: 'BAD', admin_password: 'Pr3sent-S3cret' } },
    })
    expect(ret.result).toBe(false)
    expect(ret.comment).toContain('CustomizationSysprepFailed')
    expect(JSON.stringify(ret)).not.toContain('Pr3sent-S3cret')
  })
})

describe('an SLS: a stored spec, then a VM cloned and customized with it', () => {
  // The snippet the README gives for provisioning a customized VM.
  const SLS = `
linux-web-spec:
  vmware_customization.spec_present:
    - name: linux-web-sls
    - linux: {hostname: 'web*', domain: example.test, time_zone: Europe/Berlin}
    - nics: [{ip: 10.0.0.21, netmask: 255.255.255.0, gateway: 10.0.0.1}]
    - dns_servers: [10.0.0.2]

web-sls-01:
  vmware_vm.present:
    - datacenter: DC0
    - template: tpl-sls
    - power_on: true
    - customization_spec: linux-web-sls
    - require:
      - vmware_customization: linux-web-spec
`
  it('applies, then changes nothing on a second run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-customization-'))
    writeFileSync(join(dir, 'web.sls'), SLS)
    await call('vmware_vm.create', [], {
      name: 'tpl-sls',
      datacenter: 'DC0',
      guest_id: 'centos8_64Guest',
      nics: ['VM Network'],
    })
    await call('vmware_vm.mark_as_template', ['tpl-sls'])
    const sls = vmwareRuntime(vcsim, 'customization-sls', [dir])
    try {
      const run = async () =>
        Object.values(
          (await sls.call('state.sls', { kwargs: { mods: 'web' } })) as Record<string, StateReturn>,
        )
      const first = await run()
      expect(first.map((r) => [r.result, r.comment])).toEqual([
        [true, "Customization spec 'linux-web-sls' created."],
        [true, "VM 'web-sls-01' created."],
      ])
      expect(await guestOf('web-sls-01')).toMatchObject({
        hostname: expect.stringMatching(/^web-\d+$/),
        ip: '10.0.0.21',
        power: 'poweredOn',
      })
      const second = await run()
      expect(second.map((r) => [r.result, r.changes])).toEqual([
        [true, {}],
        [true, {}],
      ])
    } finally {
      await sls.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the CLI never shows the Windows secrets', () => {
  it('in the output, the error or a trace log of create, get and a failing clone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brine-customization-cli-'))
    try {
      writeFileSync(
        join(dir, 'brine.yaml'),
        JSON.stringify({
          id: 'customization-cli',
          'saltext.vmware': { host: vcsim.url, user: 'cli', password: 'pw', ca_file: vcsim.caFile },
        }),
      )
      const env = isolatedCliEnv(dir)
      const secrets = ['Cl1-Adm1n-S3cret', 'QWERT-98765-ZXCVB-43210-POIUY']
      const windows = `{computer_name: CLIWIN, admin_password: ${secrets[0]}, product_key: ${secrets[1]}}`
      const brine = (...args: string[]) =>
        runCli(['--log-level', 'trace', '--out', 'json', ...args], { cwd: dir, env })
      const created = await brine(
        'vmware_customization.create',
        'name=cli-win',
        `windows=${windows}`,
      )
      expect(created.code, created.stderr).toBe(0)
      expect(JSON.parse(created.stdout).local).toMatchObject({
        name: 'cli-win',
        windows: { computer_name: 'CLIWIN', admin_password_set: true, product_key_set: true },
      })
      const got = await brine('vmware_customization.get', 'cli-win')
      expect(got.code, got.stderr).toBe(0)
      // A Sysprep identity on the Linux guest of DC0_H0_VM0 (guestId otherGuest): it fails.
      const failed = await brine(
        'vmware_vm.clone',
        'name=cli-fail',
        'source=DC0_H0_VM0',
        'datacenter=DC0',
        'power_on=True',
        `customization={windows: ${windows}}`,
      )
      expect(failed.code).toBe(1)
      expect(failed.stderr + failed.stdout).toContain('CustomizationSysprepFailed')
      // The trace did log the SOAP requests that carried them.
      expect(created.stderr).toContain('CreateCustomizationSpec')
      for (const result of [created, got, failed])
        for (const secret of secrets) {
          expect(result.stdout).not.toContain(secret)
          expect(result.stderr).not.toContain(secret)
        }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
