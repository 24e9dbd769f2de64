// saltext-vmware compatibility (issue 15) for vmware_esxi's services, DNS/NTP/date-time and
// firewall writes, and the ntp_config, firewall_config and firewall_configs states: through a
// vCenter (hosts in a cluster and standalone; per-host, per-cluster and all-hosts targeting)
// and on a direct ESXi connection. Each write is read back on a session of its own, through
// the host's managed objects (the raw properties saltext reads). Sources cited per case are
// in saltstack/salt-ext-modules-vmware (src/saltext/vmware/modules/esxi.py, states/esxi.py,
// tests/integration/modules/test_esxi.py).
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import type { StateReturn } from '../runner/types.ts'
import { callVim } from '../vsphere/call.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll, retrieveObjectProperties } from '../vsphere/property-collector.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import type { ManagedObjectReference } from '../vsphere/types.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

let vc: Vcsim
let esx: Vcsim
let rtVc: Runtime
let rtEsx: Runtime

beforeAll(async () => {
  ;[vc, esx] = await Promise.all([
    startVcsim({ username: 'svc-admin', password: VC_PASSWORD }),
    startVcsim({ esx: true }),
  ])
  rtVc = vmwareRuntime(vc, 'svc-admin', [], { 'saltext.vmware': vcOpts() })
  rtEsx = vmwareRuntime(esx, 'root')
})
afterAll(async () => {
  await rtVc?.close()
  await rtEsx?.close()
  await Promise.all([vc?.stop(), esx?.stop()])
})

const viaVc = callersOf(() => rtVc)
const viaEsx = callersOf(() => rtEsx)
const { call, failure } = viaVc

// vCenter's password, which no output or error may show.
const VC_PASSWORD = 'Vc-S3rvices-Pa55word'
const vcOpts = () => ({ host: vc.url, user: vc.user, password: vc.password, ca_file: vc.caFile })

const CLUSTER = { datacenter_name: 'DC0', cluster_name: 'DC0_C0' }
const CLUSTER_HOSTS = ['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2']
const STANDALONE = 'DC0_H0'

/** Read vSphere on a session of its own (not through the runtime under test). */
function readBack<T>(server: Vcsim, fn: (si: ServiceInstance) => Promise<T>): Promise<T> {
  return withSession(
    resolveConnectionParams({
      server: server.url,
      user: server.user,
      password: server.password,
      caFile: server.caFile,
    }),
    fn,
  )
}

/** {host: value of `path` of its configManager.<manager>}, read directly. */
function rawManagers(
  server: Vcsim,
  manager: 'serviceSystem' | 'dateTimeSystem' | 'firewallSystem',
  path: string,
): Promise<Record<string, Record<string, unknown>>> {
  return readBack(server, async (si) => {
    const out: Record<string, Record<string, unknown>> = {}
    const hosts = await retrieveAll(si, 'HostSystem', ['name', `configManager.${manager}`])
    const refs = new Set<string>()
    for (const host of hosts) {
      const ref = host.props[`configManager.${manager}`] as ManagedObjectReference
      // Each host has its own, typed as vSphere types it (pyVmomi refuses another type).
      expect(ref.type).toBe(`Host${manager[0]!.toUpperCase()}${manager.slice(1)}`)
      refs.add(ref.value)
      out[String(host.props.name)] = (await retrieveObjectProperties(si, ref, [path]))[
        path
      ] as Record<string, unknown>
    }
    expect(refs.size).toBe(hosts.length)
    return out
  })
}

async function rawService(server: Vcsim, key: string) {
  const out: Record<string, { running: string; policy: string }> = {}
  for (const [host, info] of Object.entries(
    await rawManagers(server, 'serviceSystem', 'serviceInfo'),
  )) {
    const list = info.service as Array<{ key: string; running: string; policy: string }>
    out[host] = list.find((s) => s.key === key)!
  }
  return out
}

async function rawNtpServers(server: Vcsim) {
  const out: Record<string, string[]> = {}
  for (const [host, info] of Object.entries(
    await rawManagers(server, 'dateTimeSystem', 'dateTimeInfo'),
  )) {
    const server = (info.ntpConfig as { server?: string | string[] } | undefined)?.server
    out[host] = server === undefined ? [] : ([] as string[]).concat(server)
  }
  return out
}

/** A ruleset as the host's firewall system reports it, and as its config.firewall does. */
async function rawRuleset(server: Vcsim, key: string) {
  return readBack(server, async (si) => {
    const out: Record<string, { system: unknown; config: unknown }> = {}
    const hosts = await retrieveAll(si, 'HostSystem', [
      'name',
      'configManager.firewallSystem',
      'config.firewall',
    ])
    for (const host of hosts) {
      const ref = host.props['configManager.firewallSystem'] as ManagedObjectReference
      const info = (await retrieveObjectProperties(si, ref, ['firewallInfo'])).firewallInfo as {
        ruleset: Array<{ key: string }>
      }
      const config = host.props['config.firewall'] as { ruleset: Array<{ key: string }> }
      out[String(host.props.name)] = {
        system: info.ruleset.find((r) => r.key === key),
        config: config.ruleset.find((r) => r.key === key),
      }
    }
    return out
  })
}

const pick = <T>(record: Record<string, T>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, record[k]]))

// saltext's signatures (modules/esxi.py, states/esxi.py) without service_instance and profile.
const SALTEXT_FUNCTIONS: Record<string, string[]> = {
  'vmware_esxi.service_start': ['service_name', 'datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.service_stop': ['service_name', 'datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.service_restart': ['service_name', 'datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.service_policy': [
    'service_name',
    'startup_policy',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.get_service_policy': [
    'service_name',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.get_service_running': [
    'service_name',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.list_services': [
    'service_name',
    'datacenter_name',
    'cluster_name',
    'host_name',
    'state',
    'startup_policy',
  ],
  'vmware_esxi.get_dns_config': ['datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.get_ntp_config': ['datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.set_ntp_config': ['ntp_servers', 'datacenter_name', 'cluster_name', 'host_name'],
  'vmware_esxi.get_host_datetime': ['host_name', 'datacenter_name', 'cluster_name'],
  'vmware_esxi.set_firewall_config': [
    'firewall_config',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.set_all_firewall_configs': [
    'firewall_configs',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
}
const SALTEXT_STATES: Record<string, string[]> = {
  'vmware_esxi.ntp_config': [
    'name',
    'service_running',
    'ntp_servers',
    'service_policy',
    'service_restart',
    'datacenter_name',
    'cluster_name',
    'host_name',
  ],
  'vmware_esxi.firewall_config': [
    'name',
    'value',
    'datacenter_name',
    'cluster_name',
    'host_name',
    'less',
  ],
  'vmware_esxi.firewall_configs': [
    'name',
    'config',
    'datacenter_name',
    'cluster_name',
    'host_name',
    'drift_level',
  ],
}

describe('saltext’s names and argument order', () => {
  it('functions declare saltext’s arguments first, in its order; states take its arguments', async () => {
    for (const [fun, args] of Object.entries(SALTEXT_FUNCTIONS)) {
      const { definition } = await rtVc.modules.getFunction(fun)
      expect(Object.keys(definition.args).slice(0, args.length), fun).toEqual(args)
      expect(definition.vsphere, fun).toBe(true)
    }
    for (const [fun, args] of Object.entries(SALTEXT_STATES)) {
      const { definition } = await rtVc.states.getFunction(fun)
      expect(Object.keys(definition.args), fun).toEqual(args)
    }
  })
})

describe('services through vCenter (modules/esxi.py service_*, list_services)', () => {
  it('starts, stops and restarts a service on a cluster’s hosts only, read back from each host', async () => {
    // tests/integration/modules/test_esxi.py test_manage_service: TSM-SSH on Datacenter/Cluster.
    const ssh = 'TSM-SSH'
    expect(await call('vmware_esxi.service_start', [ssh, 'DC0', 'DC0_C0'])).toBe(true)
    const listed = (await call('vmware_esxi.list_services', [ssh], CLUSTER)) as Record<
      string,
      Record<string, { state: string; startup_policy: string }>
    >
    expect(listed).toEqual(
      Object.fromEntries(
        CLUSTER_HOSTS.map((h) => [h, { [ssh]: { state: 'running', startup_policy: 'off' } }]),
      ),
    )
    let raw = await rawService(vc, ssh)
    for (const host of CLUSTER_HOSTS) expect(raw[host]?.running, host).toBe('true')
    expect(raw[STANDALONE]?.running).toBe('false') // each host has its own services

    expect(await call('vmware_esxi.service_stop', [], { service_name: ssh, ...CLUSTER })).toBe(true)
    raw = await rawService(vc, ssh)
    for (const host of CLUSTER_HOSTS) expect(raw[host]?.running, host).toBe('false')
    expect(
      await call('vmware_esxi.list_services', [ssh], { ...CLUSTER, state: 'running' }),
    ).toEqual(Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, {}])))

    // service_restart on a stopped service starts it (the saltext test expects running after it).
    expect(await call('vmware_esxi.service_restart', [ssh], { host_name: 'DC0_C0_H1' })).toBe(true)
    raw = await rawService(vc, ssh)
    expect(pick(raw, CLUSTER_HOSTS)).toMatchObject({
      DC0_C0_H0: { running: 'false' },
      DC0_C0_H1: { running: 'true' },
      DC0_C0_H2: { running: 'false' },
    })
    await call('vmware_esxi.service_stop', [ssh], { host_name: 'DC0_C0_H1' })
  })

  it('sets the startup policy (on, off, automatic; YAML’s True/False as on/off); get_service_* read it', async () => {
    // test_manage_service: for policy in on, off, automatic → list_services reports it.
    for (const policy of ['on', 'off', 'automatic']) {
      expect(await call('vmware_esxi.service_policy', ['ntpd', policy], CLUSTER)).toBe(true)
      const raw = await rawService(vc, 'ntpd')
      for (const host of CLUSTER_HOSTS) expect(raw[host]?.policy, host).toBe(policy)
      expect(
        await call('vmware_esxi.list_services', [], { ...CLUSTER, service_name: 'ntpd' }),
      ).toEqual(
        Object.fromEntries(
          CLUSTER_HOSTS.map((h) => [h, { ntpd: { state: 'stopped', startup_policy: policy } }]),
        ),
      )
    }
    // modules/esxi.py service_policy: `startup_policy is True` → "on" (salt's CLI makes on a bool).
    await call('vmware_esxi.service_policy', ['ntpd', true], { host_name: STANDALONE })
    expect((await rawService(vc, 'ntpd'))[STANDALONE]?.policy).toBe('on')
    // list_services(startup_policy=...) filters, also given as a bool.
    const on = (await call('vmware_esxi.list_services', [], {
      host_name: STANDALONE,
      startup_policy: true,
    })) as Record<string, Record<string, unknown>>
    expect(Object.keys(on[STANDALONE]!)).toContain('ntpd')
    expect(Object.keys(on[STANDALONE]!)).not.toContain('TSM-SSH')

    // get_service_policy / get_service_running: {host: {service_name: value}}; SSH → TSM-SSH.
    expect(await call('vmware_esxi.get_service_policy', ['ntpd'], CLUSTER)).toEqual(
      Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, { ntpd: 'automatic' }])),
    )
    expect(
      await call('vmware_esxi.get_service_policy', ['SSH'], { host_name: STANDALONE }),
    ).toEqual({
      [STANDALONE]: { SSH: 'off' },
    })
    expect(
      await call('vmware_esxi.get_service_running', ['vpxa'], { host_name: STANDALONE }),
    ).toEqual({
      [STANDALONE]: { vpxa: true },
    })
    expect(
      await call('vmware_esxi.get_service_running', ['ssh'], { host_name: STANDALONE }),
    ).toEqual({
      [STANDALONE]: { ssh: false },
    })
    // A service the host does not have: saltext's {host: {Error}} per host.
    expect(
      await call('vmware_esxi.get_service_running', ['nosuchd'], { host_name: STANDALONE }),
    ).toEqual({
      [STANDALONE]: { Error: `Could not find service 'nosuchd' for host '${STANDALONE}'.` },
    })
    // No selection: every host of the vCenter (utils/esxi.get_hosts get_all_hosts).
    expect(await call('vmware_esxi.get_service_policy', ['ntpd'])).toEqual({
      ...Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, { ntpd: 'automatic' }])),
      [STANDALONE]: { ntpd: 'on' },
    })
    // host_name naming no host selects none (utils/esxi.get_hosts): {}.
    expect(await call('vmware_esxi.list_services', [], { host_name: 'no_host' })).toEqual({})
  })

  it('an unknown service or policy is refused, as ESXi refuses it', async () => {
    const unknown = await failure('vmware_esxi.service_start', ['nosuchd'], {
      host_name: STANDALONE,
    })
    expect(unknown?.code).toBe('BRINE_NOT_FOUND')
    expect(unknown?.message).toMatch(/host 'DC0_H0' has no service 'nosuchd'.*list_services/)
    const policy = await failure('vmware_esxi.service_policy', ['ntpd', 'sometimes'])
    expect(policy?.code).toBe('BRINE_ARGUMENT')
    expect(policy?.message).toMatch(/'startup_policy' one of on, off, automatic/)
    // The faults themselves (vSphere API: HostServiceSystem.UpdateServicePolicy NotFound for an
    // unknown id; a policy outside HostServicePolicy is an InvalidArgument).
    const faults = await readBack(vc, async (si) => {
      const host = (
        await retrieveAll(si, 'HostSystem', ['name', 'configManager.serviceSystem'])
      ).find((h) => h.props.name === STANDALONE)!
      const system = host.props['configManager.serviceSystem']
      const fault = (args: Record<string, unknown>) =>
        callVim(si, 'probing', 'UpdateServicePolicy', { _this: system, ...args }).then(
          () => 'accepted',
          (e: { faultType?: string }) => e.faultType,
        )
      return [
        await fault({ id: 'ntpd', policy: 'sometimes' }),
        await fault({ id: 'x', policy: 'on' }),
      ]
    })
    expect(faults).toEqual(['InvalidArgument', 'NotFound'])
  })
})

describe('DNS, NTP and the host clock through vCenter (modules/esxi.py get_dns_config, *_ntp_config, get_host_datetime)', () => {
  it('get_dns_config reports config.network.dnsConfig in saltext’s shape', async () => {
    // test_get_dns_config: ip, host_name, domain_name set; host_name="no_host" → {}.
    const dns = (await call('vmware_esxi.get_dns_config', [], CLUSTER)) as Record<string, unknown>
    const raw = await readBack(vc, (si) =>
      retrieveAll(si, 'HostSystem', ['name', 'config.network.dnsConfig']),
    )
    expect(Object.keys(dns).sort()).toEqual(CLUSTER_HOSTS)
    for (const host of CLUSTER_HOSTS) {
      const config = raw.find((h) => h.props.name === host)!.props['config.network.dnsConfig'] as {
        hostName: string
        domainName: string
        virtualNicDevice: string
        address: string | string[]
      }
      expect(dns[host]).toEqual({
        dhcp: true,
        virtual_nic: config.virtualNicDevice,
        host_name: config.hostName,
        domain_name: config.domainName,
        ip: ([] as string[]).concat(config.address),
      })
    }
    expect(
      await call('vmware_esxi.get_dns_config', [], { ...CLUSTER, host_name: 'no_host' }),
    ).toEqual({})
  })

  it('set_ntp_config replaces each selected host’s servers; get_ntp_config reads them back', async () => {
    // test_ntp_config: the keys, ntp_servers [] at first, then set and read back, then [].
    const before = (await call('vmware_esxi.get_ntp_config', [], CLUSTER)) as Record<
      string,
      unknown
    >
    for (const host of CLUSTER_HOSTS)
      expect(before[host]).toEqual({
        time_zone: 'UTC',
        time_zone_name: 'UTC',
        time_zone_description: 'UTC',
        time_zone_gmt_offset: 0,
        ntp_servers: [],
        ntp_config_file: null,
      })
    const servers = ['192.174.1.100', '192.174.1.200']
    expect(await call('vmware_esxi.set_ntp_config', [servers, 'DC0', 'DC0_C0'])).toEqual(
      Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, true])),
    )
    const after = (await call('vmware_esxi.get_ntp_config', [], CLUSTER)) as Record<
      string,
      { ntp_servers: string[] }
    >
    for (const host of CLUSTER_HOSTS) expect(after[host]?.ntp_servers).toEqual(servers)
    const raw = await rawNtpServers(vc)
    expect(pick(raw, [...CLUSTER_HOSTS, STANDALONE])).toEqual({
      DC0_C0_H0: servers,
      DC0_C0_H1: servers,
      DC0_C0_H2: servers,
      DC0_H0: [],
    })
    // One server is still a list.
    await call('vmware_esxi.set_ntp_config', [['pool.ntp.org']], { host_name: 'DC0_C0_H0' })
    expect((await rawNtpServers(vc)).DC0_C0_H0).toEqual(['pool.ntp.org'])
    await call('vmware_esxi.set_ntp_config', [[]], CLUSTER)
    expect(pick(await rawNtpServers(vc), CLUSTER_HOSTS)).toEqual(
      Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, []])),
    )
    // modules/esxi.py: "'ntp_servers' must be a list."
    const notList = await failure('vmware_esxi.set_ntp_config', ['192.174.1.100'])
    expect(notList?.code).toBe('BRINE_ARGUMENT')
    expect(notList?.message).toContain('ntp_servers')
    // HostDateTimeSystem.UpdateDateTimeConfig refuses a time zone the host does not know.
    const fault = await readBack(vc, async (si) => {
      const [host] = await retrieveAll(si, 'HostSystem', ['configManager.dateTimeSystem'])
      return callVim(si, 'probing', 'UpdateDateTimeConfig', {
        _this: host!.props['configManager.dateTimeSystem'],
        config: { _type: 'HostDateTimeConfig', timeZone: 'Mars/Olympus' },
      }).then(
        () => 'accepted',
        (e: { faultType?: string }) => e.faultType,
      )
    })
    expect(fault).toBe('InvalidArgument')
  })

  it('get_host_datetime(host_name) answers the host clock as Python’s ctime()', async () => {
    const clock = (await call('vmware_esxi.get_host_datetime', [STANDALONE])) as Record<
      string,
      string
    >
    expect(Object.keys(clock)).toEqual([STANDALONE])
    // ctime: 'Fri Nov 27 21:42:19 2026' (day of month padded with a space).
    expect(clock[STANDALONE]).toMatch(
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}$/,
    )
    expect(Number.isNaN(Date.parse(`${clock[STANDALONE]} UTC`))).toBe(false)
    const all = (await call('vmware_esxi.get_host_datetime', [], {
      datacenter_name: 'DC0',
    })) as object
    expect(Object.keys(all).sort()).toEqual([...CLUSTER_HOSTS, STANDALONE])
  })
})

describe('firewall writes through vCenter (modules/esxi.py set_firewall_config, set_all_firewall_configs)', () => {
  it('sets a ruleset on a cluster’s hosts only, returning [{host: [ruleset]}]; read back both ways', async () => {
    // test_firewall_config: esxupdate, enabled, all_ip True with an address and a network.
    const config = {
      name: 'esxupdate',
      enabled: true,
      allowed_hosts: {
        all_ip: true,
        ip_address: ['169.199.100.11'],
        ip_network: ['169.199.200.0/24'],
      },
    }
    const set = (await call('vmware_esxi.set_firewall_config', [config], CLUSTER)) as Array<
      Record<string, Array<Record<string, unknown>>>
    >
    expect(set).toHaveLength(3)
    expect(set.map((r) => Object.keys(r)[0])).toEqual(CLUSTER_HOSTS)
    for (const result of set)
      expect(Object.values(result)[0]).toEqual([
        expect.objectContaining({
          key: 'esxupdate',
          enabled: true,
          allowed_hosts: {
            all_ip: true,
            ip_address: ['169.199.100.11'],
            ip_network: ['169.199.200.0/24'],
          },
        }),
      ])
    const raw = await rawRuleset(vc, 'esxupdate')
    for (const host of CLUSTER_HOSTS) {
      // firewallSystem.firewallInfo (saltext reads it) and config.firewall agree.
      expect(raw[host]?.system, host).toEqual(raw[host]?.config)
      expect(raw[host]?.system).toMatchObject({
        enabled: true,
        allowedHosts: { allIp: 'true', ipAddress: '169.199.100.11' },
      })
    }
    // The standalone host's firewall is its own: unchanged.
    expect(raw[STANDALONE]?.system).toMatchObject({
      enabled: false,
      allowedHosts: { allIp: 'true' },
    })
    expect(raw[STANDALONE]?.system).not.toHaveProperty('allowedHosts.ipAddress')

    // What a config leaves out is kept: enabled only.
    await call('vmware_esxi.set_firewall_config', [{ name: 'esxupdate', enabled: false }], {
      host_name: 'DC0_C0_H0',
    })
    expect(
      await call('vmware_esxi.get_firewall_config', ['esxupdate'], { host_name: 'DC0_C0_H0' }),
    ).toEqual({
      DC0_C0_H0: [
        expect.objectContaining({
          enabled: false,
          allowed_hosts: {
            all_ip: true,
            ip_address: ['169.199.100.11'],
            ip_network: ['169.199.200.0/24'],
          },
        }),
      ],
    })

    // set_all_firewall_configs: one result per host and ruleset (test_firewall_config's second step).
    const all = (await call(
      'vmware_esxi.set_all_firewall_configs',
      [
        [
          {
            name: 'esxupdate',
            enabled: false,
            allowed_hosts: { all_ip: false, ip_address: [], ip_network: [] },
          },
          { name: 'sshServer', enabled: true },
        ],
      ],
      CLUSTER,
    )) as Array<Array<Record<string, Array<Record<string, unknown>>>>>
    expect(all).toHaveLength(6)
    expect(all[0]).toEqual([
      {
        DC0_C0_H0: [
          expect.objectContaining({
            key: 'esxupdate',
            enabled: false,
            allowed_hosts: { all_ip: false, ip_address: [], ip_network: [] },
          }),
        ],
      },
    ])
    expect(all[1]).toEqual([
      { DC0_C0_H0: [expect.objectContaining({ key: 'sshServer', enabled: true })] },
    ])
    const after = await rawRuleset(vc, 'esxupdate')
    for (const host of CLUSTER_HOSTS)
      expect(after[host]?.config).toMatchObject({
        enabled: false,
        allowedHosts: { allIp: 'false' },
      })
  })

  it('refuses an unknown ruleset and addresses that are not IP addresses, changing nothing', async () => {
    const unknown = await failure(
      'vmware_esxi.set_firewall_config',
      [{ name: 'noSuchRule', enabled: true }],
      {
        host_name: STANDALONE,
      },
    )
    expect(unknown?.code).toBe('BRINE_NOT_FOUND')
    expect(unknown?.message).toMatch(/host 'DC0_H0' has no firewall ruleset 'noSuchRule'/)
    const before = await rawRuleset(vc, 'syslog')
    // An address ESXi refuses leaves the ruleset as it was, enabled included.
    const badIp = await failure(
      'vmware_esxi.set_firewall_config',
      [{ name: 'syslog', enabled: true, allowed_hosts: { ip_address: ['10.0.0.300'] } }],
      { host_name: STANDALONE },
    )
    expect(badIp?.code).toBe('BRINE_ARGUMENT')
    expect(badIp?.message).toMatch(/allowed_hosts.*'syslog'.*InvalidArgument/)
    const badNet = await failure(
      'vmware_esxi.set_firewall_config',
      [{ name: 'syslog', allowed_hosts: { ip_network: ['10.0.0.0'] } }],
      { host_name: STANDALONE },
    )
    expect(badNet?.code).toBe('BRINE_ARGUMENT')
    expect(badNet?.message).toContain('ip_network')
    const prefix = await failure(
      'vmware_esxi.set_firewall_config',
      [{ name: 'syslog', allowed_hosts: { ip_network: ['10.0.0.0/40'] } }],
      { host_name: STANDALONE },
    )
    expect(prefix?.code).toBe('BRINE_ARGUMENT')
    expect(await rawRuleset(vc, 'syslog')).toEqual(before)
  })
})

describe('vmware_esxi.ntp_config (states/esxi.py ntp_config)', () => {
  it('test mode predicts and changes nothing; apply; again no changes; service_restart is always a change', async () => {
    const args = {
      name: 'ntp',
      service_running: true,
      ntp_servers: ['10.1.1.1', '10.1.1.2'],
      service_policy: 'on',
      ...CLUSTER,
    }
    const rawBefore = await rawService(vc, 'ntpd')
    const predicted = await viaVc.state('vmware_esxi.ntp_config', [], args, true)
    expect(predicted.result).toBeNull()
    expect(predicted.comment).toBe('NTP state will change.')
    for (const host of CLUSTER_HOSTS)
      expect(predicted.changes[host]).toEqual({
        ntp_servers: { old: [], new: ['10.1.1.1', '10.1.1.2'] },
        service_running: { old: false, new: true },
        service_policy: { old: rawBefore[host]?.policy, new: 'on' },
      })
    expect(await rawService(vc, 'ntpd')).toEqual(rawBefore)
    expect(pick(await rawNtpServers(vc), CLUSTER_HOSTS)).toEqual(
      Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, []])),
    )

    const applied = await viaVc.state('vmware_esxi.ntp_config', [], args)
    expect(applied.result).toBe(true)
    expect(applied.changes).toEqual(predicted.changes)
    const raw = await rawService(vc, 'ntpd')
    for (const host of CLUSTER_HOSTS)
      expect(raw[host]).toMatchObject({ running: 'true', policy: 'on' })
    expect(raw[STANDALONE]?.running).toBe('false')
    expect(pick(await rawNtpServers(vc), CLUSTER_HOSTS)).toEqual(
      Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, ['10.1.1.1', '10.1.1.2']])),
    )

    // The same servers in another order are the same set (saltext compares sets).
    const again = await viaVc.state('vmware_esxi.ntp_config', [], {
      ...args,
      ntp_servers: ['10.1.1.2', '10.1.1.1'],
    })
    expect(again).toMatchObject({
      result: true,
      changes: {},
      comment: 'NTP is already in the desired state.',
    })
    expect(await viaVc.state('vmware_esxi.ntp_config', [], args, true)).toMatchObject({
      result: true,
      changes: {},
    })

    const restart = await viaVc.state('vmware_esxi.ntp_config', [], {
      ...args,
      service_restart: true,
      host_name: 'DC0_C0_H0',
    })
    expect(restart.changes).toEqual({
      DC0_C0_H0: { service_restart: { old: '', new: 'NTP Daemon Restarted.' } },
    })
    // Stop it again, with the policy given as YAML's unquoted off (a boolean).
    const stopped = await viaVc.state('vmware_esxi.ntp_config', [], {
      name: 'ntp',
      service_running: false,
      service_policy: false,
      ...CLUSTER,
    })
    expect(stopped.changes.DC0_C0_H1).toEqual({
      service_running: { old: true, new: false },
      service_policy: { old: 'on', new: 'off' },
    })
    for (const host of CLUSTER_HOSTS)
      expect((await rawService(vc, 'ntpd'))[host]).toMatchObject({
        running: 'false',
        policy: 'off',
      })
  })
})

describe('vmware_esxi.firewall_config (states/esxi.py firewall_config)', () => {
  it('test mode predicts (less=True: only what differs), apply, again no changes; a missing ruleset fails', async () => {
    const value = {
      fw: [
        {
          name: 'ftpClient',
          enabled: true,
          allowed_hosts: { all_ip: false, ip_address: ['10.2.0.1'] },
        },
      ],
    }
    const args = { name: 'fw', value, host_name: 'DC0_C0_H2' }
    const before = await rawRuleset(vc, 'ftpClient')
    const predicted = await viaVc.state('vmware_esxi.firewall_config', [], args, true)
    expect(predicted).toMatchObject({ result: null, comment: 'These options are set to change.' })
    expect(predicted.changes).toEqual({
      DC0_C0_H2: {
        ftpClient: {
          enabled: 'enabled will be set to True',
          all_ip: 'all_ip will be set to False',
          ip_address: "ip_address will be set to ['10.2.0.1']",
        },
      },
    })
    const less = await viaVc.state('vmware_esxi.firewall_config', [], { ...args, less: true }, true)
    expect(less.changes).toEqual({
      DC0_C0_H2: { ftpClient: { enabled: false, all_ip: true, ip_address: [] } },
    })
    expect(await rawRuleset(vc, 'ftpClient')).toEqual(before)

    const applied = await viaVc.state('vmware_esxi.firewall_config', [], args)
    expect(applied).toMatchObject({
      result: true,
      comment: 'Configurations have successfully been changed.',
      changes: {
        new: {
          DC0_C0_H2: {
            ftpClient: {
              enabled: true,
              allowed_hosts: { all_ip: false, ip_address: ['10.2.0.1'] },
            },
          },
        },
        old: {
          DC0_C0_H2: {
            ftpClient: { enabled: false, allowed_hosts: { all_ip: true, ip_address: [] } },
          },
        },
      },
    })
    expect((await rawRuleset(vc, 'ftpClient')).DC0_C0_H2?.config).toMatchObject({
      enabled: true,
      allowedHosts: { allIp: 'false', ipAddress: '10.2.0.1' },
    })
    expect((await rawRuleset(vc, 'ftpClient')).DC0_C0_H1).toEqual(before.DC0_C0_H1)
    expect(await viaVc.state('vmware_esxi.firewall_config', [], args)).toMatchObject({
      result: true,
      changes: {},
    })
    expect(await viaVc.state('vmware_esxi.firewall_config', [], args, true)).toMatchObject({
      result: true,
      changes: {},
    })

    // utils/esxi.get_missing_firewall_rules: "<rule> ruleset does not exist on ESXi server <host>."
    const missing = await viaVc.state('vmware_esxi.firewall_config', [], {
      name: 'fw',
      value: { fw: [{ name: 'noSuchRule', enabled: true }] },
      host_name: 'DC0_C0_H2',
    })
    expect(missing).toMatchObject({
      result: false,
      changes: {},
      comment: 'noSuchRule ruleset does not exist on ESXi server DC0_C0_H2.',
    })
  })
})

describe('vmware_esxi.firewall_configs (states/esxi.py firewall_configs)', () => {
  it('drift report in test mode, apply (allowed hosts too), again no changes; drift_level 1', async () => {
    // The docstring's example: sshServer limited to addresses and a network, sshClient enabled.
    const config = [
      {
        name: 'sshServer',
        enabled: true,
        allowed_host: {
          ip_address: ['192.168.0.253', '192.168.10.1'],
          ip_network: ['192.168.0.0/24'],
        },
      },
      { name: 'sshClient', enabled: true },
    ]
    const args = { name: 'rules', config, ...CLUSTER }
    const before = await rawRuleset(vc, 'sshServer')
    const predicted = await viaVc.state('vmware_esxi.firewall_configs', [], args, true)
    expect(predicted.result).toBeNull()
    // drift_report at level 0: {host: {old: {rule: differing leaves}, new: {…}}}.
    expect(predicted.changes.DC0_C0_H0).toEqual({
      old: {
        sshServer: { allowed_host: { all_ip: true, ip_address: [], ip_network: [] } },
        sshClient: { enabled: false },
      },
      new: {
        sshServer: {
          allowed_host: {
            all_ip: false,
            ip_address: ['192.168.0.253', '192.168.10.1'],
            ip_network: ['192.168.0.0/24'],
          },
        },
        sshClient: { enabled: true },
      },
    })
    expect(await rawRuleset(vc, 'sshServer')).toEqual(before)

    const applied = await viaVc.state('vmware_esxi.firewall_configs', [], args)
    expect(applied.result).toBe(true)
    expect(applied.changes).toEqual(predicted.changes)
    expect(applied.comment).toContain(
      "SUCCESS: Rule 'sshServer' has been changed successfully for host DC0_C0_H0.",
    )
    const raw = await rawRuleset(vc, 'sshServer')
    for (const host of CLUSTER_HOSTS)
      expect(raw[host]?.config).toMatchObject({
        enabled: true,
        allowedHosts: {
          allIp: 'false',
          ipAddress: ['192.168.0.253', '192.168.10.1'],
          ipNetwork: { network: '192.168.0.0', prefixLength: '24' },
        },
      })
    expect(raw[STANDALONE]).toEqual(before[STANDALONE])
    expect(await viaVc.state('vmware_esxi.firewall_configs', [], args)).toMatchObject({
      result: true,
      changes: {},
    })

    // drift_level 1: {host: {rule: {old, new}}}; back to all hosts allowed.
    const open = await viaVc.state(
      'vmware_esxi.firewall_configs',
      [],
      {
        name: 'rules',
        config: [{ name: 'sshServer', enabled: true }],
        host_name: 'DC0_C0_H0',
        drift_level: 1,
      },
      true,
    )
    expect(open.changes).toEqual({
      DC0_C0_H0: {
        sshServer: {
          old: {
            allowed_host: {
              all_ip: false,
              ip_address: ['192.168.0.253', '192.168.10.1'],
              ip_network: ['192.168.0.0/24'],
            },
          },
          new: { allowed_host: { all_ip: true, ip_address: [], ip_network: [] } },
        },
      },
    })
    // A ruleset the host lacks fails that rule and the state; test mode predicts it.
    const lacking = {
      name: 'rules',
      config: [{ name: 'noSuchRule', enabled: true }],
      host_name: 'DC0_C0_H0',
    }
    expect(await viaVc.state('vmware_esxi.firewall_configs', [], lacking, true)).toMatchObject({
      result: false,
      comment: 'noSuchRule ruleset does not exist on ESXi server DC0_C0_H0.',
    })
    const missing = await viaVc.state('vmware_esxi.firewall_configs', [], lacking)
    expect(missing.result).toBe(false)
    expect(missing.comment).toMatch(
      /^FAILURE: Error occurred while setting rule 'noSuchRule' for host DC0_C0_H0: /,
    )
  })
})

describe('on a direct ESXi connection', () => {
  it('services, NTP, DNS and firewall act on the host itself; the states are idempotent', async () => {
    const host = Object.keys(
      (await viaEsx.call('vmware_esxi.list_services', ['TSM-SSH'])) as object,
    )
    expect(host).toHaveLength(1)
    const name = host[0]!
    expect(await viaEsx.call('vmware_esxi.service_start', ['TSM-SSH'])).toBe(true)
    expect((await rawService(esx, 'TSM-SSH'))[name]?.running).toBe('true')
    expect(await viaEsx.call('vmware_esxi.get_service_running', ['SSH'])).toEqual({
      [name]: { SSH: true },
    })
    await viaEsx.call('vmware_esxi.service_stop', ['TSM-SSH'])
    expect((await rawService(esx, 'TSM-SSH'))[name]?.running).toBe('false')

    expect(await viaEsx.call('vmware_esxi.get_dns_config')).toEqual({
      [name]: expect.objectContaining({ host_name: expect.any(String), ip: expect.any(Array) }),
    })

    const args = { name: 'ntp', service_running: true, ntp_servers: ['10.9.9.9'] }
    expect(await viaEsx.state('vmware_esxi.ntp_config', [], args, true)).toMatchObject({
      result: null,
    })
    expect((await rawNtpServers(esx))[name]).toEqual([])
    expect(await viaEsx.state('vmware_esxi.ntp_config', [], args)).toMatchObject({
      result: true,
      changes: {
        [name]: {
          ntp_servers: { old: [], new: ['10.9.9.9'] },
          service_running: { old: false, new: true },
        },
      },
    })
    expect((await rawNtpServers(esx))[name]).toEqual(['10.9.9.9'])
    expect(await viaEsx.state('vmware_esxi.ntp_config', [], args)).toMatchObject({ changes: {} })

    const fw = { name: 'fw', value: { fw: [{ name: 'vMotion', enabled: false }] } }
    expect(await viaEsx.state('vmware_esxi.firewall_config', [], fw, true)).toMatchObject({
      result: null,
    })
    expect((await rawRuleset(esx, 'vMotion'))[name]?.config).toMatchObject({ enabled: true })
    expect(await viaEsx.state('vmware_esxi.firewall_config', [], fw)).toMatchObject({
      changes: { new: { [name]: { vMotion: { enabled: false } } } },
    })
    expect((await rawRuleset(esx, 'vMotion'))[name]?.config).toMatchObject({ enabled: false })
    expect(await viaEsx.state('vmware_esxi.firewall_config', [], fw)).toMatchObject({ changes: {} })
    expect(Object.keys((await viaEsx.call('vmware_esxi.get_host_datetime')) as object)).toEqual([
      name,
    ])
  })

  it('service policy and restart, set_all_firewall_configs and firewall_configs on the host itself', async () => {
    const name = ((await viaEsx.call('vmware_esxi.list_hosts')) as string[])[0]!
    expect(await viaEsx.call('vmware_esxi.service_policy', ['snmpd', 'automatic'])).toBe(true)
    expect(await viaEsx.call('vmware_esxi.get_service_policy', ['snmpd'])).toEqual({
      [name]: { snmpd: 'automatic' },
    })
    expect(await viaEsx.call('vmware_esxi.service_restart', ['snmpd'])).toBe(true)
    expect((await rawService(esx, 'snmpd'))[name]).toMatchObject({
      running: 'true',
      policy: 'automatic',
    })

    const all = await viaEsx.call('vmware_esxi.set_all_firewall_configs', [
      [
        { name: 'nfsClient', enabled: true },
        { name: 'syslog', allowed_hosts: { all_ip: false, ip_network: ['10.4.0.0/16'] } },
      ],
    ])
    expect(all).toEqual([
      [{ [name]: [expect.objectContaining({ key: 'nfsClient', enabled: true })] }],
      [
        {
          [name]: [
            expect.objectContaining({
              key: 'syslog',
              allowed_hosts: { all_ip: false, ip_address: [], ip_network: ['10.4.0.0/16'] },
            }),
          ],
        },
      ],
    ])
    expect((await rawRuleset(esx, 'syslog'))[name]?.config).toMatchObject({
      allowedHosts: { allIp: 'false', ipNetwork: { network: '10.4.0.0', prefixLength: '16' } },
    })

    const rules = { name: 'rules', config: [{ name: 'nfsClient', enabled: false }] }
    expect(await viaEsx.state('vmware_esxi.firewall_configs', [], rules, true)).toMatchObject({
      result: null,
      changes: {
        [name]: { old: { nfsClient: { enabled: true } }, new: { nfsClient: { enabled: false } } },
      },
    })
    expect((await rawRuleset(esx, 'nfsClient'))[name]?.config).toMatchObject({ enabled: true })
    expect(await viaEsx.state('vmware_esxi.firewall_configs', [], rules)).toMatchObject({
      result: true,
    })
    expect((await rawRuleset(esx, 'nfsClient'))[name]?.config).toMatchObject({ enabled: false })
    expect(await viaEsx.state('vmware_esxi.firewall_configs', [], rules)).toMatchObject({
      result: true,
      changes: {},
    })
  })
})

describe('hosts added later get their own systems', () => {
  it('a host added to a cluster has services, a clock and a firewall of its own', async () => {
    await call('vmware_host.add', [], {
      name: 'esx-svc.example.com',
      datacenter: 'DC0',
      cluster: 'DC0_C0',
      password: 'Esx-Pa55word-svc',
    })
    const added = { host_name: 'esx-svc.example.com' }
    expect(await call('vmware_esxi.list_services', ['ntpd'], added)).toEqual({
      'esx-svc.example.com': { ntpd: { state: 'stopped', startup_policy: 'off' } },
    })
    await call('vmware_esxi.set_ntp_config', [['10.3.3.3']], added)
    expect((await rawNtpServers(vc))['esx-svc.example.com']).toEqual(['10.3.3.3'])
    await call('vmware_esxi.set_firewall_config', [{ name: 'dns', enabled: false }], added)
    const raw = await rawRuleset(vc, 'dns')
    expect(raw['esx-svc.example.com']?.config).toMatchObject({ enabled: false })
    expect(raw.DC0_C0_H0?.config).toMatchObject({ enabled: true })
  })

  it('a standalone host added has them too; removing a host removes them', async () => {
    await call('vmware_host.add', [], {
      name: 'esx-svc-standalone.example.com',
      datacenter: 'DC0',
      password: 'Esx-Pa55word-svc',
    })
    const added = { host_name: 'esx-svc-standalone.example.com' }
    await call('vmware_esxi.service_start', ['TSM'], added)
    expect((await rawService(vc, 'TSM'))['esx-svc-standalone.example.com']?.running).toBe('true')
    const systems = await readBack(vc, async (si) => {
      const host = (
        await retrieveAll(si, 'HostSystem', [
          'name',
          'configManager.serviceSystem',
          'configManager.dateTimeSystem',
          'configManager.firewallSystem',
        ])
      ).find((h) => h.props.name === 'esx-svc-standalone.example.com')!
      return (
        [
          ['serviceSystem', 'serviceInfo'],
          ['dateTimeSystem', 'dateTimeInfo'],
          ['firewallSystem', 'firewallInfo'],
        ] as const
      ).map(([m, path]) => ({
        ref: host.props[`configManager.${m}`] as ManagedObjectReference,
        path,
      }))
    })
    const read = (si: ServiceInstance) =>
      Promise.all(
        systems.map(({ ref, path }) =>
          retrieveObjectProperties(si, ref, [path]).then(
            (props) => (props[path] ? 'there' : 'empty'),
            (e: { faultType?: string }) => e.faultType,
          ),
        ),
      )
    expect(await readBack(vc, read)).toEqual(['there', 'there', 'there'])
    await call('vmware_host.remove', [], { name: 'esx-svc-standalone.example.com' })
    const gone = await readBack(vc, read)
    expect(gone).toEqual([
      'ManagedObjectNotFound',
      'ManagedObjectNotFound',
      'ManagedObjectNotFound',
    ])
  })
})

describe('the README’s SLS (test/fixtures/esxi-services/host-services.sls)', () => {
  it('applies against the vCenter vcsim, then again with no changes', async () => {
    const fixtures = join(import.meta.dirname, 'fixtures', 'esxi-services')
    const rt = vmwareRuntime(vc, 'esxi-sls', [fixtures], { 'saltext.vmware': vcOpts() })
    try {
      const apply = async () =>
        Object.values(
          (await rt.call('state.sls', { kwargs: { mods: 'host-services' } })) as Record<
            string,
            StateReturn
          >,
        )
      const first = await apply()
      expect(first.map((r) => [r.name, r.result])).toEqual([
        ['cluster ntp', true],
        ['cluster firewall', true],
        ['standalone ssh', true],
      ])
      const raw = await rawRuleset(vc, 'sshServer')
      expect(raw.DC0_C0_H1?.config).toMatchObject({
        enabled: true,
        allowedHosts: { allIp: 'false', ipNetwork: { network: '10.0.0.0', prefixLength: '24' } },
      })
      expect(raw.DC0_H0?.config).toMatchObject({ enabled: false })
      expect((await rawNtpServers(vc)).DC0_C0_H2).toEqual(['0.pool.ntp.org', '1.pool.ntp.org'])
      const second = await apply()
      expect(second.map((r) => [r.name, r.result, r.changes])).toEqual([
        ['cluster ntp', true, {}],
        ['cluster firewall', true, {}],
        ['standalone ssh', true, {}],
      ])
    } finally {
      await rt.close()
    }
  })
})

describe('secrets', () => {
  it('vCenter’s password shows in no result, state output or error of these functions', async () => {
    const shown: unknown[] = [
      await call('vmware_esxi.list_services', [], CLUSTER),
      await call('vmware_esxi.get_ntp_config'),
      await call('vmware_esxi.set_firewall_config', [{ name: 'sshClient', enabled: true }], {
        host_name: STANDALONE,
      }),
      await viaVc.state('vmware_esxi.ntp_config', [], { name: 'n', service_running: false }, true),
      await viaVc.state('vmware_esxi.firewall_configs', [], {
        name: 'f',
        config: [{ name: 'noSuchRule', enabled: true }],
        host_name: STANDALONE,
      }),
    ]
    for (const [fun, args] of [
      ['vmware_esxi.service_start', ['nosuchd']],
      [
        'vmware_esxi.set_firewall_config',
        [{ name: 'syslog', allowed_hosts: { ip_address: ['x'] } }],
      ],
      ['vmware_esxi.set_firewall_config', [{ name: 'noSuchRule', enabled: false }]],
    ] as const) {
      const error = await failure(fun, [...args], { host_name: STANDALONE })
      expect(error, fun).toBeDefined()
      shown.push(error?.message, error?.stack, (error as { cause?: unknown })?.cause)
    }
    const text = JSON.stringify(shown, (_key, value) =>
      value instanceof Error ? `${value.message} ${value.stack}` : value,
    )
    expect(text).toContain('nosuchd')
    expect(text).not.toContain(VC_PASSWORD)
  })
})

// pyVmomi (Debian's python3-pyvmomi) reads what brine reads and makes saltext-vmware's own
// calls; brine then reads what pyVmomi wrote. Skipped where /usr/bin/python3 has no pyVmomi.
const pyVmomi = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import pyVmomi'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

describe('cross-check with pyVmomi (saltext’s client)', () => {
  it.skipIf(!pyVmomi)(
    'pyVmomi reads what brine reports, and brine reads what saltext’s calls wrote',
    async () => {
      const brineFacts = async (host: string) => ({
        services: (
          (await call('vmware_esxi.list_services', [], { host_name: host })) as Record<
            string,
            unknown
          >
        )[host],
        ntp: (
          (await call('vmware_esxi.get_ntp_config', [], { host_name: host })) as Record<
            string,
            { ntp_servers: string[]; time_zone: string }
          >
        )[host],
        ssh: (
          (await call('vmware_esxi.get_firewall_config', ['sshServer'], {
            host_name: host,
          })) as Record<string, Array<{ enabled: boolean; allowed_hosts: Record<string, unknown> }>>
        )[host]![0]!,
      })
      const target = 'DC0_C0_H1'
      const before = await brineFacts(target)
      const url = new URL(vc.url)
      const out = JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [join(import.meta.dirname, 'fixtures', 'esxi-services', 'pyvmomi_saltext.py'), target],
          {
            encoding: 'utf8',
            env: {
              VCSIM_HOST: url.hostname,
              VCSIM_PORT: url.port,
              VCSIM_USER: vc.user,
              VCSIM_PASSWORD: vc.password,
            },
          },
        ),
      ) as Record<'before' | 'after', Record<string, Record<string, unknown>>>
      // pyVmomi's facts are saltext's list_services, get_ntp_config and get_firewall_config fields.
      const expectSame = (
        brine: Awaited<ReturnType<typeof brineFacts>>,
        py: Record<string, unknown>,
      ) => {
        const { enabled, ...allowedHosts } = py.sshServer as { enabled: boolean }
        expect(brine.services).toEqual(py.services)
        expect(brine.ntp).toMatchObject({ ntp_servers: py.ntp_servers, time_zone: py.time_zone })
        expect(brine.ssh).toMatchObject({ enabled, allowed_hosts: allowedHosts })
      }
      expectSame(before, out.before[target]!)
      const after = await brineFacts(target)
      expectSame(after, out.after[target]!)
      expect(after.services).toMatchObject({
        'TSM-SSH': { state: 'running', startup_policy: 'automatic' },
      })
      expect(after.ntp?.ntp_servers).toEqual(['10.7.7.7'])
      expect(after.ssh).toMatchObject({
        enabled: true,
        allowed_hosts: { all_ip: false, ip_address: ['10.7.0.1'], ip_network: ['10.7.8.0/22'] },
      })
      // Only that host changed.
      expect(out.after.DC0_C0_H0).toEqual(out.before.DC0_C0_H0)
    },
  )
})
