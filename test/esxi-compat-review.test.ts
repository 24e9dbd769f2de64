// Fixes from the review of vmware_esxi against saltext-vmware (issue 15), each asserting the
// shape saltext gives. Sources: saltstack/salt-ext-modules-vmware (commit cb32a1f),
// src/saltext/vmware/modules/esxi.py, states/esxi.py, utils/common.py.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '../loader/runtime.ts'
import { listDisksOf } from '../modules/_esxi_storage.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { callersOf, vmwareRuntime } from './helpers/vmware-runtime.ts'

describe('list_disks on a multipath LUN', () => {
  // utils/common.py:963 keys each LUN by the address of every path
  // (`{p.name.split(",")[0]: l.lun for p in l.path}`); modules/esxi.py:3824 turns that map
  // around (`{lun.canonicalName: scsi_addr for scsi_addr, lun in …}`), so the last path's
  // address is reported, and utils/common.py get_disks picks a disk by any path's address.
  const host = {
    obj: { type: 'HostSystem', value: 'host-1' },
    name: 'h1',
    props: {
      'config.storageDevice.scsiLun': [
        { _type: 'HostScsiDisk', key: 'lun-a', canonicalName: 'naa.a' },
        { _type: 'HostScsiDisk', key: 'lun-b', canonicalName: 'naa.b' },
        { _type: 'HostCdrom', key: 'lun-c', canonicalName: 'mpx.cd' },
      ],
      'config.storageDevice.multipathInfo.lun': [
        {
          lun: 'lun-a',
          path: [{ name: 'vmhba1:C0:T0:L0,extra' }, { name: 'vmhba2:C0:T0:L0' }],
        },
        { lun: 'lun-b', path: { name: 'vmhba1:C0:T1:L0' } },
        { lun: 'lun-c', path: { name: 'vmhba0:C0:T0:L0' } },
      ],
    },
  }

  it('reports the last path’s address, as saltext’s reversed map does', () => {
    expect(listDisksOf(host)).toEqual([
      { id: 'naa.a', scsi_address: 'vmhba2:C0:T0:L0' },
      { id: 'naa.b', scsi_address: 'vmhba1:C0:T1:L0' },
    ])
  })

  it('picks a disk by the address of any of its paths', () => {
    expect(listDisksOf(host, undefined, ['vmhba1:C0:T0:L0'])).toEqual([
      { id: 'naa.a', scsi_address: 'vmhba2:C0:T0:L0' },
    ])
    expect(listDisksOf(host, undefined, ['vmhba2:C0:T0:L0'])).toEqual([
      { id: 'naa.a', scsi_address: 'vmhba2:C0:T0:L0' },
    ])
    // A CD-ROM is no HostScsiDisk: never listed, even by its address.
    expect(listDisksOf(host, undefined, ['vmhba0:C0:T0:L0'])).toEqual([])
    expect(listDisksOf(host, ['naa.b'], ['vmhba2:C0:T0:L0']).map((d) => d.id)).toEqual([
      'naa.a',
      'naa.b',
    ])
  })
})

describe('against vcsim', () => {
  let vc: Vcsim
  let rt: Runtime
  beforeAll(async () => {
    vc = await startVcsim()
    rt = vmwareRuntime(vc, 'compat-review')
  })
  afterAll(async () => {
    await rt?.close()
    await vc?.stop()
  })
  const { call, state } = callersOf(() => rt)

  it('get_dns_config and get_ntp_config give every key saltext gives, None where unset', async () => {
    // modules/esxi.py:1643-1649: dhcp, virtual_nic, host_name, domain_name, ip, always set
    // (None where the host leaves the value unset).
    const dns = (await call('vmware_esxi.get_dns_config', [], {
      host_name: 'DC0_C0_H0',
      datacenter_name: 'DC0',
    })) as Record<string, Record<string, unknown>>
    expect(Object.keys(dns)).toEqual(['DC0_C0_H0'])
    expect(Object.keys(dns.DC0_C0_H0!).sort()).toEqual(
      ['dhcp', 'domain_name', 'host_name', 'ip', 'virtual_nic'].sort(),
    )
    for (const key of ['host_name', 'domain_name', 'virtual_nic'])
      expect(dns.DC0_C0_H0![key] === null || typeof dns.DC0_C0_H0![key] === 'string').toBe(true)
    expect(typeof dns.DC0_C0_H0!.dhcp).toBe('boolean')
    expect(Array.isArray(dns.DC0_C0_H0!.ip)).toBe(true)
    // modules/esxi.py:1697-1708: the six keys of each host with a date/time system.
    const ntp = (await call('vmware_esxi.get_ntp_config', [], {
      host_name: 'DC0_C0_H0',
    })) as Record<string, Record<string, unknown>>
    expect(Object.keys(ntp.DC0_C0_H0!).sort()).toEqual(
      [
        'ntp_config_file',
        'ntp_servers',
        'time_zone',
        'time_zone_description',
        'time_zone_gmt_offset',
        'time_zone_name',
      ].sort(),
    )
    expect(Array.isArray(ntp.DC0_C0_H0!.ntp_servers)).toBe(true)
  })

  it('vmkernel_adapter_present words a failure as saltext does ("erred on …")', async () => {
    // states/esxi.py:332-341: "vmkernel adapter 'vmk1' created on -, updated on -." then
    // "erred on <hosts>. Sample exception - <error>" and result False.
    const ret = await state('vmware_esxi.vmkernel_adapter_present', [], {
      name: 'vmk1',
      port_group_name: 'VM Network',
      vswitch_name: 'noSuchSwitch',
      network_type: 'dhcp',
      host_name: 'DC0_C0_H0',
      datacenter_name: 'DC0',
    })
    expect(ret.result).toBe(false)
    expect(ret.changes).toEqual({})
    expect(ret.comment).toMatch(
      /^vmkernel adapter 'vmk1' created on -, updated on -\. erred on DC0_C0_H0\. Sample exception - vswitch_name: /,
    )
    // Nothing was created: read back on a session of its own.
    const vnics = await withSession(
      resolveConnectionParams({
        server: vc.url,
        user: 'reader',
        password: 'pw',
        caFile: vc.caFile,
      }),
      async (si) => {
        const hosts = await retrieveAll(si, 'HostSystem', ['name', 'config.network.vnic'])
        const h = hosts.find((x) => x.props.name === 'DC0_C0_H0')!
        const raw = h.props['config.network.vnic'] as { device: string }[] | { device: string }
        return (Array.isArray(raw) ? raw : [raw]).map((v) => v.device)
      },
    )
    expect(vnics).not.toContain('vmk1')
  })
})
