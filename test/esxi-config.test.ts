// saltext-vmware compatibility (issue 15) for vmware_esxi's configuration area: acceptance
// level, packages, configuration backup/restore/reset, power state, add and move, and the
// role_present/role_absent/password_present states. Each case calls a function the way
// saltext-vmware's docstrings and tests call it, against a vCenter vcsim (per-host,
// per-cluster and all-hosts selection, and esxi_host credentials where saltext uses them) and a
// direct ESXi vcsim, and reads back what changed on a session of its own. Sources cited per
// case are in saltstack/salt-ext-modules-vmware (src/saltext/vmware/modules/esxi.py,
// states/esxi.py, tests/integration/{modules,states}/test_esxi.py).
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { setLogLevel, setLogSink } from '../core/log.ts'
import type { Runtime } from '../loader/runtime.ts'
import { callVim } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import { waitForTaskInfo } from '../vsphere/tasks.ts'
import type { ManagedObjectReference } from '../vsphere/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vc: Vcsim
let esx: Vcsim
let rt: Runtime
let direct: Runtime
/** The direct ESXi simulator's one host. */
const ESX_HOST = 'localhost.localdomain'
/** Salt's cachedir, where backup_config writes bundles. */
const cachedir = mkdtempSync(join(tmpdir(), 'brine-esxi-config-'))

beforeAll(async () => {
  // Two datacenters of two clusters (and a standalone host each): hosts to move across.
  ;[vc, esx] = await Promise.all([startVcsim({ dc: 2, cluster: 2 }), startVcsim({ esx: true })])
  // vCenter's hosts DC0_C0_H* are reached directly at the ESXi simulator (esxi_host entries).
  rt = vmwareRuntime(vc, 'cfg', [], {
    cachedir,
    'saltext.vmware': {
      host: vc.url,
      user: 'cfg',
      password: 'pw',
      ca_file: vc.caFile,
      esxi_host: {
        DC0_C0_H0: { host: esx.url, user: 'root', password: 'pw', ca_file: esx.caFile },
        // The cluster's other hosts are played by the same simulator (cluster-wide transfers).
        DC0_C0_H1: { host: esx.url, user: 'root', password: 'pw', ca_file: esx.caFile },
        DC0_C0_H2: { host: esx.url, user: 'root', password: 'pw', ca_file: esx.caFile },
      },
    },
  })
  direct = vmwareRuntime(esx, 'root', [], { cachedir })
})
afterAll(async () => {
  await rt?.close()
  await direct?.close()
  await Promise.all([vc?.stop(), esx?.stop()])
  rmSync(cachedir, { recursive: true, force: true })
})

const viaVc = callersOf(() => rt)
const viaEsx = callersOf(() => direct)
const { call, failure, state } = viaVc

/** Read vSphere on a session of its own (not through the runtime under test). */
function readBack<T>(fn: (si: ServiceInstance) => Promise<T>, server = vc, user = 'reader') {
  return withSession(
    resolveConnectionParams({ server: server.url, user, password: 'pw', caFile: server.caFile }),
    fn,
  )
}

type Props = Record<string, unknown>
async function hostProps(server: Vcsim, props: string[]): Promise<Record<string, Props>> {
  return readBack(async (si) => {
    const out: Record<string, Props> = {}
    for (const o of await retrieveAll(si, 'HostSystem', ['name', ...props]))
      out[String(o.props.name)] = { ...o.props, obj: o.obj }
    return out
  }, server)
}

/** HostImageConfigGetAcceptance answered to a raw SOAP call. */
async function rawAcceptance(server: Vcsim, host: string): Promise<string> {
  return readBack(async (si) => {
    const found = (await retrieveAll(si, 'HostSystem', ['name', 'configManager'])).find(
      (o) => o.props.name === host,
    )
    const manager = (found!.props.configManager as { imageConfigManager: ManagedObjectReference })
      .imageConfigManager
    return callVim<string>(si, 'raw', 'HostImageConfigGetAcceptance', { _this: manager })
  }, server)
}

const loginWorks = (user: string, password: string, server = esx) =>
  withSession(
    resolveConnectionParams({ server: server.url, user, password, caFile: server.caFile }),
    async () => true,
  ).catch((e: { code?: string }) => {
    if (e.code === 'BRINE_VIM_INVALID_LOGIN') return false
    throw e
  })

// saltext-vmware's signatures without service_instance and profile (modules/esxi.py,
// states/esxi.py): brine declares these first, in this order.
const SALTEXT_FUNCTIONS: Record<string, string[]> = {
  get_acceptance_level: ['datacenter_name', 'cluster_name', 'host_name', 'acceptance_level'],
  set_acceptance_level: ['acceptance_level', 'datacenter_name', 'cluster_name', 'host_name'],
  list_pkgs: ['pkg_name', 'datacenter_name', 'cluster_name', 'host_name'],
  power_state: ['datacenter_name', 'cluster_name', 'host_name', 'state', 'timeout', 'force'],
  backup_config: [
    'push_file_to_master',
    'http_opts',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  restore_config: [
    'source_file',
    'saltenv',
    'http_opts',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  reset_config: ['datacenter_name', 'cluster_name', 'host_name'],
  add: [
    'host',
    'root_user',
    'password',
    'cluster_name',
    'datacenter_name',
    'verify_host_cert',
    'connect',
  ],
  move: ['host', 'cluster_name'],
}
const SALTEXT_STATES: Record<string, string[]> = {
  role_present: ['name', 'privilege_ids', 'esxi_host_name'],
  role_absent: ['name', 'esxi_host_name'],
  password_present: ['name', 'password', 'datacenter_name', 'cluster_name', 'host_name'],
}

describe('saltext’s names and argument order', () => {
  it('functions declare saltext’s arguments first, in order; states take saltext’s', async () => {
    for (const [fn, args] of Object.entries(SALTEXT_FUNCTIONS)) {
      const { definition } = await rt.modules.getFunction(`vmware_esxi.${fn}`)
      expect(Object.keys(definition.args).slice(0, args.length), fn).toEqual(args)
    }
    for (const [fn, args] of Object.entries(SALTEXT_STATES)) {
      const { definition } = await rt.states.getFunction(`vmware_esxi.${fn}`)
      expect(Object.keys(definition.args).slice(0, args.length), fn).toEqual(args)
    }
  })
})

describe('acceptance level (modules/esxi.py get/set_acceptance_level)', () => {
  it('sets a cluster’s hosts, filters by level, reads back raw; bad levels are refused', async () => {
    // tests/integration/modules/test_esxi.py test_acceptance_level
    const set = await call('vmware_esxi.set_acceptance_level', [], {
      acceptance_level: 'community',
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })
    expect(set).toEqual({ DC0_C0_H0: 'community', DC0_C0_H1: 'community', DC0_C0_H2: 'community' })
    expect(
      await call('vmware_esxi.get_acceptance_level', [], {
        acceptance_level: 'community',
        datacenter_name: 'DC0',
      }),
    ).toEqual(set)
    expect(await rawAcceptance(vc, 'DC0_C0_H1')).toBe('community')
    // all hosts (get_all_hosts), and one host by name
    const all = (await call('vmware_esxi.get_acceptance_level')) as Record<string, string>
    expect(Object.keys(all)).toHaveLength(14)
    expect(all.DC1_H0).toBe('partner')
    expect(await call('vmware_esxi.get_acceptance_level', [], { host_name: 'DC0_C1_H0' })).toEqual({
      DC0_C1_H0: 'partner',
    })
    // ESXi refuses a level stricter than an installed VIB's (dcism is partner-supported)
    const strict = await failure('vmware_esxi.set_acceptance_level', ['vmware_certified'], {
      host_name: 'DC0_C0_H2',
    })
    expect(strict?.code).toBe('BRINE_VIM_HOST_CONFIG_FAULT')
    expect(strict?.message).toContain("VIB dcism's acceptance level is partner")
    expect(await rawAcceptance(vc, 'DC0_C0_H2')).toBe('community')
    const bogus = await failure('vmware_esxi.set_acceptance_level', ['bogus'])
    expect(bogus?.code).toBe('BRINE_ARGUMENT')
    expect(bogus?.message).toContain("argument 'acceptance_level'")
    const noDc = await failure('vmware_esxi.get_acceptance_level', [], { cluster_name: 'DC0_C0' })
    expect(noDc?.message).toBe('Must specify the datacenter when specifying the cluster')
    // Back to the factory level for the tests below.
    await call('vmware_esxi.set_acceptance_level', ['partner'], {
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })
  })

  it('works on an ESXi host’s own endpoint', async () => {
    const refused = await viaEsx.failure('vmware_esxi.set_acceptance_level', ['vmware_accepted'])
    expect(refused?.code).toBe('BRINE_VIM_HOST_CONFIG_FAULT')
    expect(await viaEsx.call('vmware_esxi.set_acceptance_level', ['community'])).toEqual({
      [ESX_HOST]: 'community',
    })
    expect(await rawAcceptance(esx, ESX_HOST)).toBe('community')
    expect(await viaEsx.call('vmware_esxi.get_acceptance_level')).toEqual({
      [ESX_HOST]: 'community',
    })
    await viaEsx.call('vmware_esxi.set_acceptance_level', ['partner'])
  })
})

describe('list_pkgs (modules/esxi.py list_pkgs)', () => {
  it('lists each host’s VIBs with saltext’s keys; pkg_name picks one', async () => {
    // tests/integration/modules/test_esxi.py test_list_pkgs
    const pkgs = (await call('vmware_esxi.list_pkgs', [], {
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })) as Record<string, Record<string, Record<string, unknown>>>
    expect(Object.keys(pkgs)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    for (const host of Object.values(pkgs)) {
      expect(Object.keys(host)).toContain('esx-base')
      for (const pkg of Object.values(host))
        expect(Object.keys(pkg).sort()).toEqual(
          [
            'version',
            'vendor',
            'summary',
            'description',
            'acceptance_level',
            'maintenance_mode_required',
            'creation_date',
          ].sort(),
        )
    }
    expect(pkgs.DC0_C0_H0?.['esx-base']).toMatchObject({
      vendor: 'VMware',
      acceptance_level: 'vmware_certified',
      maintenance_mode_required: true,
      creation_date: expect.stringMatching(/^2017-/),
    })
    expect(await viaEsx.call('vmware_esxi.list_pkgs', ['dcism'])).toEqual({
      [ESX_HOST]: {
        dcism: expect.objectContaining({ vendor: 'Dell', acceptance_level: 'partner' }),
      },
    })
    expect(await call('vmware_esxi.list_pkgs', ['no-such-vib'], { host_name: 'DC1_H0' })).toEqual({
      DC1_H0: {},
    })
  })
})

describe('configuration backup, restore and reset (modules/esxi.py)', () => {
  const logLevel = async (runtime: ReturnType<typeof callersOf>, host: string) =>
    (
      (await runtime.call('vmware_esxi.get_advanced_config', [], {
        config_name: 'Config.HostAgent.log.level',
      })) as Record<string, Record<string, unknown>>
    )[host]?.['Config.HostAgent.log.level']

  it('backs up a host, restores the bundle after changes, and leaves it in maintenance mode', async () => {
    // unit test_esxi_backup_config: {host: {file_name, url}}, the URL's * replaced
    const backup = (await viaEsx.call('vmware_esxi.backup_config')) as Record<
      string,
      { file_name: string; url: string }
    >
    const { file_name, url } = backup[ESX_HOST]!
    expect(url).toMatch(
      new RegExp(`^http://${new URL(esx.url).host}/downloads/[0-9a-f-]+/configBundle-`),
    )
    expect(file_name).toBe(join(cachedir, `configBundle-${ESX_HOST}.tgz`))
    expect(statSync(file_name).mode & 0o777).toBe(0o600)
    // A second backup replaces the file, owner-only even if someone opened it up.
    chmodSync(file_name, 0o644)
    await viaEsx.call('vmware_esxi.backup_config')
    expect(statSync(file_name).mode & 0o777).toBe(0o600)
    // A gzip'd tar with the host's configuration in it.
    const tar = gunzipSync(readFileSync(file_name)).toString('latin1')
    expect(tar).toContain('"acceptanceLevel": "partner"')
    expect(tar).toContain('Config.HostAgent.log.level')

    await viaEsx.call('vmware_esxi.set_acceptance_level', ['community'])
    await viaEsx.call('vmware_esxi.set_advanced_config', ['Config.HostAgent.log.level', 'verbose'])
    expect(await logLevel(viaEsx, ESX_HOST)).toBe('verbose')
    const before = (await hostProps(esx, ['runtime.bootTime']))[ESX_HOST]!

    // unit test_esxi_restore_config: {host: True}; the bundle is PUT to the upload URL
    expect(await viaEsx.call('vmware_esxi.restore_config', [file_name])).toEqual({
      [ESX_HOST]: true,
    })
    expect(await rawAcceptance(esx, ESX_HOST)).toBe('partner')
    expect(await logLevel(viaEsx, ESX_HOST)).toBe('info')
    const after = (await hostProps(esx, ['runtime.bootTime', 'runtime.inMaintenanceMode']))[
      ESX_HOST
    ]!
    expect(after['runtime.inMaintenanceMode']).toBe(true)
    expect(after['runtime.bootTime']).not.toEqual(before['runtime.bootTime'])
  })

  it('reports a bad bundle per host and takes the host back out of the maintenance mode it entered', async () => {
    await viaEsx.call('vmware_esxi.exit_maintenance_mode', [ESX_HOST])
    const bad = join(cachedir, 'not-a-bundle.tgz')
    writeFileSync(bad, 'not gzip')
    const result = (await viaEsx.call('vmware_esxi.restore_config', [bad])) as Record<
      string,
      string
    >
    expect(result[ESX_HOST]).toMatch(
      new RegExp(
        `^Unable to restore configuration for host - ${ESX_HOST}\\. Error - .*InvalidBundle`,
      ),
    )
    expect((await hostProps(esx, ['runtime.inMaintenanceMode']))[ESX_HOST]).toMatchObject({
      'runtime.inMaintenanceMode': false,
    })
    const missing = await viaEsx.failure('vmware_esxi.restore_config', ['/nonexistent.tgz'])
    expect(missing?.code).toBe('BRINE_NOT_FOUND')
    expect(missing?.message).toContain("source_file '/nonexistent.tgz'")
    const pushed = await viaEsx.failure('vmware_esxi.backup_config', [true])
    expect(pushed?.code).toBe('BRINE_UNSUPPORTED')
  })

  it('through vCenter: the bundle goes through the host’s own endpoint (esxi_host credentials)', async () => {
    const backup = (await call('vmware_esxi.backup_config', [], {
      host_name: 'DC0_C0_H0',
    })) as Record<string, { file_name: string; url: string }>
    expect(Object.keys(backup)).toEqual(['DC0_C0_H0'])
    expect(backup.DC0_C0_H0?.url).toContain(`//${new URL(esx.url).host}/downloads/`)
    await viaEsx.call('vmware_esxi.set_acceptance_level', ['community'])
    expect(
      await call('vmware_esxi.restore_config', [backup.DC0_C0_H0?.file_name], {
        host_name: 'DC0_C0_H0',
      }),
    ).toEqual({ DC0_C0_H0: true })
    expect(await rawAcceptance(esx, ESX_HOST)).toBe('partner')
    // A whole cluster, each host through its own entry.
    const cluster = (await call('vmware_esxi.backup_config', [], {
      datacenter_name: 'DC0',
      cluster_name: 'DC0_C0',
    })) as Record<string, { file_name: string }>
    expect(Object.keys(cluster)).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2'])
    await viaEsx.call('vmware_esxi.set_acceptance_level', ['community'])
    expect(
      await call('vmware_esxi.restore_config', [cluster.DC0_C0_H2?.file_name], {
        datacenter_name: 'DC0',
        cluster_name: 'DC0_C0',
      }),
    ).toEqual({ DC0_C0_H0: true, DC0_C0_H1: true, DC0_C0_H2: true })
    expect(await rawAcceptance(esx, ESX_HOST)).toBe('partner')
    await viaEsx.call('vmware_esxi.exit_maintenance_mode', [ESX_HOST])
    // A host without esxi_host credentials: saltext's sentence, then which entry to add.
    const noCreds = await failure('vmware_esxi.backup_config', [], { host_name: 'DC1_C0_H1' })
    expect(noCreds?.message).toMatch(/ESXi host 'DC1_C0_H1' has no credentials/)
  })

  it('resets hosts to factory defaults, entering maintenance mode first', async () => {
    // unit test_esxi_reset_config: {host: True}
    await call('vmware_esxi.set_acceptance_level', ['community'], {
      datacenter_name: 'DC1',
      cluster_name: 'DC1_C1',
    })
    expect(
      await call('vmware_esxi.reset_config', [], {
        datacenter_name: 'DC1',
        cluster_name: 'DC1_C1',
      }),
    ).toEqual({ DC1_C1_H0: true, DC1_C1_H1: true, DC1_C1_H2: true })
    const props = await hostProps(vc, ['runtime.inMaintenanceMode'])
    for (const host of ['DC1_C1_H0', 'DC1_C1_H1', 'DC1_C1_H2']) {
      expect(await rawAcceptance(vc, host)).toBe('partner')
      expect(props[host]?.['runtime.inMaintenanceMode']).toBe(true)
    }
    expect(props.DC1_C0_H0?.['runtime.inMaintenanceMode']).toBe(false)
    // Direct: the host resets itself.
    await viaEsx.call('vmware_esxi.set_acceptance_level', ['community'])
    expect(await viaEsx.call('vmware_esxi.reset_config')).toEqual({ [ESX_HOST]: true })
    expect(await rawAcceptance(esx, ESX_HOST)).toBe('partner')
    await viaEsx.call('vmware_esxi.exit_maintenance_mode', [ESX_HOST])
  })

  it('vcsim: restore and reset need maintenance mode and an authenticated upload; a bundle from another host needs force', async () => {
    // vSphere API: HostFirmwareSystem.RestoreFirmwareConfiguration (InvalidState, FileFault,
    // MismatchedBundle) and ResetFirmwareToFactoryDefaults (InvalidState); the bundle is PUT
    // to QueryFirmwareConfigUploadURL's URL with the host's credentials.
    const backup = (await viaEsx.call('vmware_esxi.backup_config')) as Record<
      string,
      { file_name: string }
    >
    const bundle = readFileSync(backup[ESX_HOST]!.file_name)
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      )
    const agent = new Agent({ connect: { ca: readFileSync(vc.caFile, 'utf8') } })
    const put = (path: string, auth?: string) =>
      request(new URL(path, vc.url).href, {
        method: 'PUT',
        body: bundle,
        headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
        dispatcher: agent,
      }).then(async (r) => {
        await r.body.dump()
        return r.statusCode
      })
    await readBack(async (si) => {
      const found = (await retrieveAll(si, 'HostSystem', ['name', 'configManager'])).find(
        (o) => o.props.name === 'DC1_C0_H2',
      )!
      const fw = (found.props.configManager as { firmwareSystem: ManagedObjectReference })
        .firmwareSystem
      const restore = (force: boolean) =>
        codeOf(callVim(si, 'raw', 'RestoreFirmwareConfiguration', { _this: fw, force }))
      expect(
        await codeOf(callVim(si, 'raw', 'ResetFirmwareToFactoryDefaults', { _this: fw })),
      ).toBe('BRINE_VIM_INVALID_STATE')
      expect(await restore(false)).toBe('BRINE_VIM_INVALID_STATE')
      const task = await callVim<ManagedObjectReference>(si, 'raw', 'EnterMaintenanceMode_Task', {
        _this: found.obj,
        timeout: 0,
      })
      await waitForTaskInfo(si, task)
      expect(await restore(false)).toBe('BRINE_VIM_FILE_NOT_FOUND')
      const url = await callVim<string>(si, 'raw', 'QueryFirmwareConfigUploadURL', { _this: fw })
      expect(url).toMatch(/^http:\/\/\*\/tmp\/configBundle-host-\d+\.tgz$/)
      const path = new URL(url.replace('*', 'host')).pathname
      expect(await put(path)).toBe(401)
      expect(await put(path, 'root:pw')).toBe(200)
      // The bundle is the ESXi simulator's host's: another host's uuid.
      expect(await restore(false)).toBe('BRINE_VIM_MISMATCHED_BUNDLE')
      expect(await restore(true)).toBe('ok')
      // Consumed: a second restore has no bundle.
      expect(await restore(true)).toBe('BRINE_VIM_FILE_NOT_FOUND')
    })
    await agent.close()
  })
})

describe('power_state (modules/esxi.py power_state)', () => {
  const vmsOn = async (host: string) => {
    const hosts = await hostProps(vc, [])
    const ref = (hosts[host]!.obj as ManagedObjectReference).value
    return readBack(async (si) =>
      (await retrieveAll(si, 'VirtualMachine', ['runtime.powerState', 'runtime.host']))
        .filter((o) => (o.props['runtime.host'] as ManagedObjectReference).value === ref)
        .map((o) => o.props['runtime.powerState']),
    )
  }

  it('reboot, standby, poweron and shutdown leave the power state vSphere documents', async () => {
    // unit test_esxi_power_state: each state calls its task; True
    const missing = await failure('vmware_esxi.power_state', [], { host_name: 'DC1_H0' })
    expect(missing?.code).toBe('BRINE_ARGUMENT')
    expect(missing?.message).toContain('state=')
    // Without force a host outside maintenance mode is not rebooted; its VMs keep running.
    const refused = await failure('vmware_esxi.power_state', [], {
      host_name: 'DC1_C0_H1',
      state: 'reboot',
      force: false,
    })
    expect(refused?.message).toContain('not in maintenance mode')
    expect(await vmsOn('DC1_C0_H1')).toContain('poweredOn')

    const before = (await hostProps(vc, ['runtime.bootTime'])).DC1_H0!
    expect(await vmsOn('DC1_H0')).toContain('poweredOn')
    expect(
      await call('vmware_esxi.power_state', [], { host_name: 'DC1_H0', state: 'reboot' }),
    ).toBe(true)
    const rebooted = (await hostProps(vc, ['runtime.bootTime', 'runtime.powerState'])).DC1_H0!
    expect(rebooted['runtime.powerState']).toBe('poweredOn')
    expect(rebooted['runtime.bootTime']).not.toEqual(before['runtime.bootTime'])
    expect(await vmsOn('DC1_H0')).not.toContain('poweredOn')

    // Standby needs a host without running VMs (no DRS here to move them).
    const busy = await failure('vmware_esxi.power_state', [], {
      host_name: 'DC1_C0_H1',
      state: 'standby',
    })
    expect(busy?.message).toContain('runs on host DC1_C0_H1')
    expect(
      await call('vmware_esxi.power_state', [], { host_name: 'DC1_H0', state: 'standby' }),
    ).toBe(true)
    expect((await hostProps(vc, ['runtime.powerState'])).DC1_H0).toMatchObject({
      'runtime.powerState': 'standBy',
    })
    expect(
      await call('vmware_esxi.power_state', [], { host_name: 'DC1_H0', state: 'poweron' }),
    ).toBe(true)
    expect((await hostProps(vc, ['runtime.powerState'])).DC1_H0).toMatchObject({
      'runtime.powerState': 'poweredOn',
    })
    const awake = await failure('vmware_esxi.power_state', [], {
      host_name: 'DC1_H0',
      state: 'poweron',
    })
    expect(awake?.message).toContain('not in standby')

    expect(
      await call('vmware_esxi.power_state', [], { host_name: 'DC1_H0', state: 'shutdown' }),
    ).toBe(true)
    expect(
      (await hostProps(vc, ['runtime.powerState', 'runtime.connectionState'])).DC1_H0,
    ).toMatchObject({
      'runtime.powerState': 'poweredOff',
      'runtime.connectionState': 'notResponding',
    })
    const gone = await failure('vmware_esxi.power_state', [], {
      host_name: 'DC1_H0',
      state: 'reboot',
    })
    expect(gone?.message).toContain('HostNotConnected')
    // No host selected: None, as saltext's loop leaves it.
    expect(
      await call('vmware_esxi.power_state', [], { host_name: 'no-such-host', state: 'reboot' }),
    ).toBeNull()
  })

  it('reboots a cluster’s hosts; on a host’s own endpoint only vCenter can wake it', async () => {
    expect(
      await call('vmware_esxi.power_state', [], {
        datacenter_name: 'DC1',
        cluster_name: 'DC1_C0',
        state: 'reboot',
      }),
    ).toBe(true)
    for (const host of ['DC1_C0_H0', 'DC1_C0_H1', 'DC1_C0_H2'])
      expect(await vmsOn(host)).not.toContain('poweredOn')
    expect(await viaEsx.call('vmware_esxi.power_state', [], { state: 'reboot' })).toBe(true)
    const wake = await viaEsx.failure('vmware_esxi.power_state', [], { state: 'poweron' })
    expect(wake?.message).toContain('NotSupported: Only vCenter can wake a host from standby')
  })
})

describe('move and add (modules/esxi.py move, add; utils/esxi.py move_host, add_host)', () => {
  const parentOf = async (host: string) => {
    const props = await hostProps(vc, ['parent'])
    return (props[host]?.parent as ManagedObjectReference | undefined)?.type
  }

  it('moves a standalone host, and a clustered one in maintenance mode, into a cluster', async () => {
    // tests/integration/modules/test_esxi.py test_move: "moved <host> from <cluster> to <move>"
    const refused = await failure('vmware_esxi.move', ['DC0_C1_H0', 'DC0_C0'])
    expect(refused?.message).toContain('another cluster and not in maintenance mode')
    expect(
      await call('vmware_esxi.list_hosts', [], { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }),
    ).not.toContain('DC0_C1_H0')
    await call('vmware_esxi.maintenance_mode', ['DC0_C1_H0'])
    expect(await call('vmware_esxi.move', ['DC0_C1_H0', 'DC0_C0'])).toEqual({
      state: 'moved DC0_C1_H0 from DC0_C1 to DC0_C0',
    })
    expect(
      await call('vmware_esxi.list_hosts', [], { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }),
    ).toContain('DC0_C1_H0')
    expect(
      await call('vmware_esxi.list_hosts', [], { datacenter_name: 'DC0', cluster_name: 'DC0_C1' }),
    ).not.toContain('DC0_C1_H0')

    // A standalone host: its compute resource goes, its VMs join the cluster's root pool.
    expect(await parentOf('DC0_H0')).toBe('ComputeResource')
    expect(await call('vmware_esxi.move', ['DC0_H0', 'DC0_C1'])).toEqual({
      state: 'moved DC0_H0 from DC0_H0 to DC0_C1',
    })
    expect(await parentOf('DC0_H0')).toBe('ClusterComputeResource')
    const pools = await readBack(async (si) => {
      const host = (await retrieveAll(si, 'HostSystem', ['name'])).find(
        (o) => o.props.name === 'DC0_H0',
      )!
      const cluster = (
        await retrieveAll(si, 'ClusterComputeResource', ['name', 'resourcePool'])
      ).find((o) => o.props.name === 'DC0_C1')!
      const vms = (
        await retrieveAll(si, 'VirtualMachine', ['runtime.host', 'resourcePool'])
      ).filter((o) => (o.props['runtime.host'] as ManagedObjectReference).value === host.obj.value)
      const computeResources = (await retrieveAll(si, 'ComputeResource', ['name'])).map(
        (o) => o.props.name,
      )
      return {
        root: (cluster.props.resourcePool as ManagedObjectReference).value,
        vmPools: vms.map((o) => (o.props.resourcePool as ManagedObjectReference).value),
        computeResources,
      }
    })
    expect(pools.vmPools.length).toBeGreaterThan(0)
    expect(new Set(pools.vmPools)).toEqual(new Set([pools.root]))
    expect(pools.computeResources).not.toContain('DC0_H0')

    // Another datacenter: saltext's error (utils/esxi.py move_host).
    const otherDc = await failure('vmware_esxi.move', ['DC1_C1_H2', 'DC0_C0'])
    expect(otherDc?.code).toBe('BRINE_ARGUMENT')
    expect(otherDc?.message).toMatch(/^Cluster has to be in the same datacenter/)
    expect((await failure('vmware_esxi.move', ['no-such-host', 'DC0_C0']))?.code).toBe(
      'BRINE_NOT_FOUND',
    )
    expect((await viaEsx.failure('vmware_esxi.move', [ESX_HOST, 'DC0_C0']))?.code).toBe(
      'BRINE_UNSUPPORTED',
    )
  })

  it('vcsim: MoveInto_Task refuses a host of another datacenter (InvalidArgument)', async () => {
    // vSphere API: ClusterComputeResource.MoveInto_Task
    const fault = await readBack(async (si) => {
      const host = (await retrieveAll(si, 'HostSystem', ['name'])).find(
        (o) => o.props.name === 'DC1_C1_H2',
      )!
      const cluster = (await retrieveAll(si, 'ClusterComputeResource', ['name'])).find(
        (o) => o.props.name === 'DC0_C0',
      )!
      const task = await callVim<ManagedObjectReference>(si, 'raw', 'MoveInto_Task', {
        _this: cluster.obj,
        host: [host.obj],
      })
      return (await waitForTaskInfo(si, task)).error
    })
    expect(JSON.stringify(fault)).toContain('InvalidArgument')
  })

  it('adds a host by address after reading its certificate; verify_host_cert refuses a self-signed one', async () => {
    // tests/integration/modules/test_esxi.py test_add: add(name, user, password, cluster,
    // datacenter, verify_host_cert=False) → {state: "connected"}
    const address = new URL(esx.url).host
    const password = 'Add-Pa55word-1'
    const verified = await failure('vmware_esxi.add', [address, 'root', password, 'DC0_C0', 'DC0'])
    expect(verified?.code).toBe('BRINE_VIM_TRANSPORT_TLS')
    expect(verified?.message).toContain('verify_host_cert=False')
    expect(
      await call('vmware_esxi.add', [address, 'root', password, 'DC0_C0', 'DC0', false]),
    ).toEqual({ state: 'connected' })
    expect(
      await call('vmware_esxi.list_hosts', [], { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }),
    ).toContain('127.0.0.1')
    // The new host has the managers the model's hosts have.
    expect(await call('vmware_esxi.get_acceptance_level', [], { host_name: '127.0.0.1' })).toEqual({
      '127.0.0.1': 'partner',
    })
    // connect=False leaves it disconnected.
    const port = new URL(esx.url).port
    expect(
      await call('vmware_esxi.add', [
        `localhost:${port}`,
        'root',
        password,
        'DC0_C1',
        'DC0',
        false,
        false,
      ]),
    ).toEqual({ state: 'disconnected' })
    // vcsim compares the thumbprint given with the host's certificate, as vCenter does.
    const wrong = await failure('vmware_host.add', [], {
      name: '127.0.0.1',
      port: Number(port),
      datacenter: 'DC1',
      cluster: 'DC1_C0',
      password,
      thumbprint: `${'AB:'.repeat(19)}AB`,
    })
    expect(wrong?.message).toContain(`its thumbprint is ${esx.thumbprintSha1}`)
    for (const e of [verified, wrong]) expect(e?.message).not.toContain(password)
    expect(
      (await viaEsx.failure('vmware_esxi.add', [address, 'root', password, 'C', 'D']))?.code,
    ).toBe('BRINE_UNSUPPORTED')
  })
})

describe('role_present and role_absent (states/esxi.py)', () => {
  const roles = (server: Vcsim) =>
    readBack(async (si) => {
      const manager = si.content.authorizationManager as ManagedObjectReference
      const { retrieveObjectProperties } = await import('../vsphere/property-collector.ts')
      const { roleList } = await retrieveObjectProperties(si, manager, ['roleList'])
      return (roleList as Array<{ name: string; privilege?: string[] }>).map((r) => ({
        name: r.name,
        privileges: r.privilege ?? [],
      }))
    }, server)

  it('creates, updates and deletes a role with saltext’s changes; test mode changes nothing', async () => {
    // tests/integration/states/test_esxi.py test_role_present_absent (+ _dry_run)
    const name = 'cfg-role'
    const predicted = await state(
      'vmware_esxi.role_present',
      [],
      { name, privilege_ids: ['Folder.Create'] },
      true,
    )
    expect(predicted).toMatchObject({ result: null, comment: `Role ${name} will be created.` })
    expect(predicted.changes).toMatchObject({
      new: { privilege_ids: { added: ['Folder.Create'] } },
    })
    expect((await roles(vc)).map((r) => r.name)).not.toContain(name)

    const created = await state('vmware_esxi.role_present', [], {
      name,
      privilege_ids: ['Folder.Create'],
    })
    expect(created).toMatchObject({ result: true, comment: `Role ${name} created.` })
    const changes = created.changes as {
      new: { role_id: number; role_name: string; privilege_ids: Record<string, string[]> }
    }
    expect(changes.new.role_id).toEqual(expect.any(Number))
    expect(changes.new.role_name).toBe(name)
    expect(changes.new.privilege_ids.added).toEqual(['Folder.Create'])
    expect(changes.new.privilege_ids.removed).toEqual([])
    expect(changes.new.privilege_ids.current).toContain('Folder.Create')
    expect((await roles(vc)).find((r) => r.name === name)?.privileges).toContain('Folder.Create')

    expect(
      await state('vmware_esxi.role_present', [], { name, privilege_ids: ['Folder.Create'] }),
    ).toMatchObject({ result: true, changes: {}, comment: `Role ${name} is in the correct state` })

    const update = { name, privilege_ids: ['Folder.Create', 'Folder.Delete'] }
    expect(await state('vmware_esxi.role_present', [], update, true)).toMatchObject({
      result: null,
      comment: `Role ${name} will be updated. Folder.Delete privileges will be added. No privileges will be removed.`,
    })
    expect((await roles(vc)).find((r) => r.name === name)?.privileges).not.toContain(
      'Folder.Delete',
    )
    expect(await state('vmware_esxi.role_present', [], update)).toMatchObject({
      result: true,
      comment: `Role ${name} updated.`,
      changes: { new: { privilege_ids: { added: ['Folder.Delete'], removed: [] } } },
    })
    expect(
      await state('vmware_esxi.role_present', [], { name, privilege_ids: ['Folder.Delete'] }),
    ).toMatchObject({
      changes: { new: { privilege_ids: { added: [], removed: ['Folder.Create'] } } },
    })
    const privileges = (await roles(vc)).find((r) => r.name === name)?.privileges
    expect(privileges).toContain('Folder.Delete')
    expect(privileges).not.toContain('Folder.Create')

    expect(await state('vmware_esxi.role_absent', [], { name }, true)).toMatchObject({
      result: null,
      comment: `Role ${name} will be deleted.`,
    })
    expect((await roles(vc)).map((r) => r.name)).toContain(name)
    expect(await state('vmware_esxi.role_absent', [], { name })).toMatchObject({
      result: true,
      comment: `Role ${name} deleted.`,
      changes: { old: { role_name: name }, new: null },
    })
    expect((await roles(vc)).map((r) => r.name)).not.toContain(name)
    expect(await state('vmware_esxi.role_absent', [], { name })).toMatchObject({
      result: true,
      changes: {},
      comment: `Role ${name} is not present.`,
    })
  })

  it('with esxi_host_name the role is made on that host, not on vCenter', async () => {
    const args = {
      name: 'host-role',
      privilege_ids: ['Host.Config.Power'],
      esxi_host_name: 'DC0_C0_H0',
    }
    expect(await state('vmware_esxi.role_present', [], args)).toMatchObject({ result: true })
    expect((await roles(esx)).map((r) => r.name)).toContain('host-role')
    expect((await roles(vc)).map((r) => r.name)).not.toContain('host-role')
    expect(await state('vmware_esxi.role_present', [], args)).toMatchObject({ changes: {} })
    expect(
      await state('vmware_esxi.role_absent', [], {
        name: 'host-role',
        esxi_host_name: 'DC0_C0_H0',
      }),
    ).toMatchObject({ result: true, comment: 'Role host-role deleted.' })
    expect((await roles(esx)).map((r) => r.name)).not.toContain('host-role')
  })
})

describe('password_present (states/esxi.py)', () => {
  it('changes a local user’s password where it does not work yet; the password never shows', async () => {
    // tests/integration/states/test_esxi.py test_password_present_dry_run / _run
    const first = 'ThePass1!'
    const second = 'TheBigTestPass1!'
    // Every log line (SOAP bodies included) of the run is kept to look for the passwords.
    const lines: string[] = []
    setLogLevel('trace')
    const restoreSink = setLogSink((line) => lines.push(line))
    onTestFinished(() => {
      restoreSink()
      setLogLevel('warning')
    })
    await viaEsx.call('vmware_esxi.add_user', ['test', first])
    expect(await loginWorks('test', first)).toBe(true)

    const predicted = await viaEsx.state(
      'vmware_esxi.password_present',
      [],
      { name: 'test', password: second },
      true,
    )
    expect(predicted).toMatchObject({
      result: null,
      comment: 'Host password will change.',
      changes: { [ESX_HOST]: { password: 'changed' } },
    })
    expect(await loginWorks('test', first)).toBe(true)
    expect(await loginWorks('test', second)).toBe(false)

    const changed = await viaEsx.state('vmware_esxi.password_present', [], {
      name: 'test',
      password: second,
    })
    expect(changed).toMatchObject({ result: true, comment: 'Host password changed.' })
    expect(await loginWorks('test', second)).toBe(true)
    expect(await loginWorks('test', first)).toBe(false)
    const again = await viaEsx.state('vmware_esxi.password_present', [], {
      name: 'test',
      password: second,
    })
    expect(again).toMatchObject({
      result: true,
      changes: {},
      comment: 'Host password is already set.',
    })

    // Through vCenter, on the host selected, with its esxi_host credentials.
    const third = 'ThirdPass-3!'
    const viaVcenter = await state('vmware_esxi.password_present', [], {
      name: 'test',
      password: third,
      host_name: 'DC0_C0_H0',
    })
    expect(viaVcenter).toMatchObject({
      result: true,
      changes: { DC0_C0_H0: { password: 'changed' } },
    })
    expect(await loginWorks('test', third)).toBe(true)

    const ghost = await viaEsx.state('vmware_esxi.password_present', [], {
      name: 'ghost',
      password: third,
    })
    expect(ghost).toMatchObject({ result: false })
    expect(ghost.comment).toMatch(/^Error: .*'ghost'/)
    for (const ret of [predicted, changed, again, viaVcenter, ghost])
      for (const secret of [first, second, third]) expect(JSON.stringify(ret)).not.toContain(secret)
    const log = lines.join('\n')
    expect(log).toMatch(/UpdateUser/)
    for (const secret of [first, second, third]) expect(log).not.toContain(secret)
    await viaEsx.call('vmware_esxi.remove_user', ['test'])
  })

  it('changes root’s password (then a login with the old one fails) and sets it back', async () => {
    // states/esxi.py password_present's docstring example: name: root. An ESXi simulator that
    // takes only root with its password (-username/-password).
    const host = await startVcsim({ esx: true, username: 'root', password: 'pw' })
    const hostRt = vmwareRuntime(host, 'root')
    onTestFinished(async () => {
      await hostRt.close()
      await host.stop()
    })
    const onHost = callersOf(() => hostRt)
    const root = 'Root-Pa55-new!'
    expect(await loginWorks('root', 'pw', host)).toBe(true)
    expect(
      await onHost.state('vmware_esxi.password_present', [], { name: 'root', password: root }),
    ).toMatchObject({ result: true, changes: { [ESX_HOST]: { password: 'changed' } } })
    expect(await loginWorks('root', root, host)).toBe(true)
    expect(await loginWorks('root', 'pw', host)).toBe(false)
    expect(
      await onHost.state('vmware_esxi.password_present', [], { name: 'root', password: root }),
    ).toMatchObject({ result: true, changes: {} })
    // The runtime's session outlives the change; the old password is put back with it.
    expect(
      await onHost.state('vmware_esxi.password_present', [], { name: 'root', password: 'pw' }),
    ).toMatchObject({ result: true, comment: 'Host password changed.' })
    expect(await loginWorks('root', 'pw', host)).toBe(true)
  })

  it('vcsim: UpdateUser of an unknown user answers UserNotFound', async () => {
    const error = await readBack(
      async (si) =>
        callVim(si, 'raw', 'UpdateUser', {
          _this: si.content.accountManager,
          user: { _type: 'HostAccountSpec', id: 'nobody', description: 'x' },
        }).then(
          () => undefined,
          (e: { code?: string }) => e.code,
        ),
      esx,
    )
    expect(error).toBe('BRINE_VIM_USER_NOT_FOUND')
  })
})
