// Grains: the core grains against the machine's own facts (read here independently), Salt's
// os-release cases, the grains module's functions, and that a call that does not read grains
// never computes them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { coreGrains, linuxCpuData, linuxMemData, SALT_VERSION_STAND_IN } from '../core/grains.ts'
import { linuxDistribution, osReleaseInfo, parseOsRelease } from '../core/os-release.ts'
import { defaultOpts } from '../loader/opts.ts'
import { Runtime } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import { runNode } from './helpers/cli.ts'

const root = join(import.meta.dirname, '..')
const tmp = mkdtempSync(join(tmpdir(), 'brine-grains-'))

const runtime = (overrides: Partial<Opts> = {}) =>
  new Runtime({
    opts: defaultOpts({ id: 'minion1', file_roots: [], pillar_roots: [], ...overrides }),
    pillar: {},
    moduleDirs: [join(root, 'modules')],
    stateDirs: [],
    signal: new AbortController().signal,
  })

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

describe('core grains: this machine, read independently', () => {
  const grains = coreGrains({ id: 'minion1' })

  it('kernel, architecture, CPUs and memory as node:os and /proc report them', () => {
    expect(grains.kernel).toBe(os.type())
    expect(grains.kernelrelease).toBe(os.release())
    expect(grains.kernelversion).toBe(os.version())
    expect(grains.nodename).toBe(os.hostname())
    expect(grains.cpuarch).toBe(os.machine())
    expect(grains.num_cpus).toBe(os.cpus().length)
    // Salt: MemTotal (kB) // 1024; os.totalmem() is MemTotal in bytes.
    expect(grains.mem_total).toBe(Math.floor(os.totalmem() / 1024 / 1024))
    expect(grains.cpu_model).toBe(os.cpus()[0]?.model)
    const swap = /^SwapTotal:\s+(\d+)/m.exec(readOr('/proc/meminfo') ?? '')
    if (swap) expect(grains.swap_total).toBe(Math.floor(Number(swap[1]) / 1024))
  })

  it('the distribution from /etc/os-release', () => {
    const text = readOr('/etc/os-release') ?? readOr('/usr/lib/os-release')
    if (text === undefined) return expect(grains.os).toBeTypeOf('string')
    const field = (name: string) =>
      new RegExp(`^${name}=["']?(.*?)["']?$`, 'm').exec(text)?.[1] ?? undefined
    expect(grains.osfullname).toBe(field('NAME'))
    if (!readOr('/etc/lsb-release') && field('VERSION_ID')) {
      expect(grains.osrelease).toBe(field('VERSION_ID'))
      const major = Number(field('VERSION_ID')!.split('.')[0])
      if (Number.isInteger(major)) expect(grains.osmajorrelease).toBe(major)
    }
    if (field('ID') === 'debian') {
      expect(grains).toMatchObject({ os: 'Debian', os_family: 'Debian' })
      expect(grains.osfinger).toBe(`Debian-${field('VERSION_ID')}`)
      expect(grains.oscodename).toBe(field('VERSION_CODENAME'))
    }
  })

  it('names and addresses as node:os reports them', () => {
    const hostname = os.hostname()
    expect(grains.localhost).toBe(hostname)
    expect(String(grains.fqdn).startsWith(hostname.split('.')[0]!)).toBe(true)
    expect(grains.host).toBe(String(grains.fqdn).split('.')[0])
    const interfaces = os.networkInterfaces()
    const v4 = Object.values(interfaces)
      .flat()
      .filter((a) => a?.family === 'IPv4')
      .map((a) => a!.address)
    expect([...(grains.ipv4 as string[])].sort()).toEqual([...new Set(v4)].sort())
    for (const [name, addresses] of Object.entries(interfaces)) {
      const mine = (family: string) =>
        (addresses ?? []).filter((a) => a.family === family).map((a) => a.address)
      expect((grains.ip4_interfaces as Record<string, string[]>)[name]).toEqual(mine('IPv4'))
      expect((grains.ip6_interfaces as Record<string, string[]>)[name]).toEqual(mine('IPv6'))
      expect((grains.hwaddr_interfaces as Record<string, string>)[name]).toBe(
        readOr(`/sys/class/net/${name}/address`)?.trim() ?? addresses?.[0]?.mac,
      )
    }
    // Salt sorts addresses as ipaddress objects: 127.0.0.1 before 192.0.2.2, numerically.
    const numeric = (grains.ipv4 as string[]).map((a) =>
      a.split('.').reduce((n, part) => n * 256 + Number(part), 0),
    )
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b))
  })

  it('the process: user, pid, shell, path; the id from the options', () => {
    expect(grains.username).toBe(os.userInfo().username)
    expect(grains.uid).toBe(process.getuid?.())
    expect(grains.gid).toBe(process.getgid?.())
    expect(grains.pid).toBe(process.pid)
    expect(grains.shell).toBe(process.env.SHELL ?? '/bin/sh')
    expect(grains.path).toBe((process.env.PATH ?? '').trim())
    expect(grains.id).toBe('minion1')
    expect(grains.saltversion).toBe(SALT_VERSION_STAND_IN)
    expect(grains.saltversioninfo).toEqual(SALT_VERSION_STAND_IN.split('.').map(Number))
    expect(grains.nodeversion).toBe(process.versions.node)
    expect(typeof grains.virtual).toBe('string')
  })

  it("the config's grains: win over core grains, the grains file beside the config comes between", () => {
    const dir = mkdtempSync(join(tmp, 'conf-'))
    writeFileSync(join(dir, 'minion'), '')
    writeFileSync(join(dir, 'grains'), 'roles: [web]\nos: FromFile\nrack: r1\n')
    const merged = coreGrains({
      id: 'x',
      conf_file: join(dir, 'minion'),
      grains: { os: 'FromConfig', datacenter: 'DC0' },
    })
    expect(merged).toMatchObject({
      os: 'FromConfig',
      roles: ['web'],
      rack: 'r1',
      datacenter: 'DC0',
      kernel: os.type(),
    })
    // A config directory (salt-call -c DIR) reads DIR/grains too.
    expect(coreGrains({ id: 'x', conf_file: dir }).rack).toBe('r1')
  })
})

// Salt's tests/pytests/unit/grains/test_core.py: the os-release data of each distribution and
// the grains Salt expects from it (_run_os_grains_tests, lsb_release unavailable as in Salt's
// onedir packages). osrelease_info is a tuple there, a list here.
describe("os grains from os-release: Salt's own cases", () => {
  const cases: Array<[string, Record<string, string>, Record<string, unknown>]> = [
    [
      'test_debian_12_os_grains',
      {
        PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
        NAME: 'Debian GNU/Linux',
        VERSION_ID: '12',
        VERSION: '12 (bookworm)',
        VERSION_CODENAME: 'bookworm',
        ID: 'debian',
      },
      {
        os: 'Debian',
        os_family: 'Debian',
        oscodename: 'bookworm',
        osfullname: 'Debian GNU/Linux',
        osrelease: '12',
        osrelease_info: [12],
        osmajorrelease: 12,
        osfinger: 'Debian-12',
      },
    ],
    [
      'test_rocky_8_os_grains',
      {
        NAME: 'Rocky Linux',
        VERSION: '8.5 (Green Obsidian)',
        ID: 'rocky',
        ID_LIKE: 'rhel centos fedora',
        VERSION_ID: '8.5',
        PRETTY_NAME: 'Rocky Linux 8.5 (Green Obsidian)',
        CPE_NAME: 'cpe:/o:rocky:rocky:8.5:GA',
      },
      {
        os: 'Rocky',
        os_family: 'RedHat',
        oscodename: 'Green Obsidian',
        osfullname: 'Rocky Linux',
        osrelease: '8.5',
        osrelease_info: [8, 5],
        osmajorrelease: 8,
        osfinger: 'Rocky Linux-8',
      },
    ],
    [
      'test_almalinux_8_os_grains',
      {
        NAME: 'AlmaLinux',
        ID: 'almalinux',
        PRETTY_NAME: 'AlmaLinux 8.5 (Arctic Sphynx)',
        VERSION: '8.5 (Arctic Sphynx)',
        ID_LIKE: 'rhel centos fedora',
        VERSION_ID: '8.5',
        CPE_NAME: 'cpe:/o:almalinux:almalinux:8::baseos',
      },
      {
        os: 'AlmaLinux',
        os_family: 'RedHat',
        oscodename: 'Arctic Sphynx',
        osfullname: 'AlmaLinux',
        osrelease: '8.5',
        osrelease_info: [8, 5],
        osmajorrelease: 8,
        osfinger: 'AlmaLinux-8',
      },
    ],
    [
      'test_ubuntu_focal_os_grains',
      {
        NAME: 'Ubuntu',
        VERSION: '20.04.3 LTS (Focal Fossa)',
        ID: 'ubuntu',
        ID_LIKE: 'debian',
        PRETTY_NAME: 'Ubuntu 20.04.3 LTS',
        VERSION_ID: '20.04',
        VERSION_CODENAME: 'focal',
        UBUNTU_CODENAME: 'focal',
      },
      {
        os: 'Ubuntu',
        os_family: 'Debian',
        oscodename: 'focal',
        osfullname: 'Ubuntu',
        osrelease: '20.04',
        osrelease_info: [20, 4],
        osmajorrelease: 20,
        osfinger: 'Ubuntu-20.04',
      },
    ],
    [
      'test_linux_mint_una_os_grains',
      {
        NAME: 'Linux Mint',
        VERSION: '20.3 (Una)',
        ID: 'linuxmint',
        ID_LIKE: 'ubuntu',
        PRETTY_NAME: 'Linux Mint 20.3',
        VERSION_ID: '20.3',
        VERSION_CODENAME: 'una',
        UBUNTU_CODENAME: 'focal',
      },
      {
        os: 'Mint',
        os_family: 'Debian',
        oscodename: 'una',
        osfullname: 'Linux Mint',
        osrelease: '20.3',
        osrelease_info: [20, 3],
        osmajorrelease: 20,
        osfinger: 'Linux Mint-20',
      },
    ],
    [
      'test_pop_focal_os_grains',
      {
        NAME: 'Pop!_OS',
        VERSION: '20.04 LTS',
        ID: 'pop',
        ID_LIKE: 'ubuntu debian',
        PRETTY_NAME: 'Pop!_OS 20.04 LTS',
        VERSION_ID: '20.04',
        VERSION_CODENAME: 'focal',
        UBUNTU_CODENAME: 'focal',
      },
      {
        os: 'Pop',
        os_family: 'Debian',
        oscodename: 'focal',
        osfullname: 'Pop!_OS',
        osrelease: '20.04',
        osrelease_info: [20, 4],
        osmajorrelease: 20,
        osfinger: 'Pop!_OS-20.04',
      },
    ],
    [
      'test_astralinuxse_os_grains',
      {
        PRETTY_NAME: 'Astra Linux (Smolensk 1.6)',
        NAME: 'Astra Linux (Smolensk)',
        ID: 'astra',
        ID_LIKE: 'debian',
        VARIANT_ID: 'smolensk',
        VARIANT: 'Smolensk',
        VERSION_ID: '1.6',
      },
      {
        os: 'AstraLinuxSE',
        os_family: 'Debian',
        oscodename: 'smolensk',
        osfullname: 'Astra Linux (Smolensk)',
        osrelease: '1.6',
        osrelease_info: [1, 6],
        osmajorrelease: 1,
        osfinger: 'Astra Linux (Smolensk)-1',
      },
    ],
    [
      'test_mendel_os_grains',
      {
        PRETTY_NAME: 'Mendel GNU/Linux 5 (Eagle)',
        NAME: 'Mendel GNU/Linux',
        ID: 'mendel',
        ID_LIKE: 'debian',
        VERSION_CODENAME: 'eagle',
      },
      {
        os: 'Mendel',
        os_family: 'Debian',
        oscodename: 'eagle',
        osfullname: 'Mendel GNU/Linux',
        osrelease: '5',
        osrelease_info: [5],
        osmajorrelease: 5,
        osfinger: 'Mendel GNU/Linux-5',
      },
    ],
    [
      'test_centos_stream_8_os_grains',
      {
        NAME: 'CentOS Stream',
        VERSION: '8',
        VERSION_ID: '8',
        PRETTY_NAME: 'CentOS Stream 8',
        ID: 'centos',
        CPE_NAME: 'cpe:/o:centos:centos:8',
      },
      {
        os: 'CentOS Stream',
        os_family: 'RedHat',
        oscodename: 'CentOS Stream 8',
        osfullname: 'CentOS Stream',
        osrelease: '8',
        osrelease_info: [8],
        osmajorrelease: 8,
        osfinger: 'CentOS Stream-8',
      },
    ],
    [
      'test_alinux2_os_grains',
      {
        NAME: 'Alibaba Cloud Linux (Aliyun Linux)',
        VERSION: '2.1903 LTS (Hunting Beagle)',
        VERSION_ID: '2.1903',
        PRETTY_NAME: 'Alibaba Cloud Linux (Aliyun Linux) 2.1903 LTS (Hunting Beagle)',
        ID: 'alinux',
      },
      {
        os: 'Alinux',
        os_family: 'RedHat',
        oscodename: 'Alibaba Cloud Linux (Aliyun Linux) 2.1903 LTS (Hunting Beagle)',
        osfullname: 'Alibaba Cloud Linux (Aliyun Linux)',
        osrelease: '2.1903',
        osrelease_info: [2, 1903],
        osmajorrelease: 2,
        osfinger: 'Alibaba Cloud Linux (Aliyun Linux)-2',
      },
    ],
    [
      'test_suse_os_grains_sles12sp1',
      {
        NAME: 'SLES',
        VERSION: '12-SP1',
        VERSION_ID: '12.1',
        PRETTY_NAME: 'SUSE Linux Enterprise Server 12 SP1',
        ID: 'sles',
        CPE_NAME: 'cpe:/o:suse:sles:12:sp1',
      },
      {
        os: 'SUSE',
        os_family: 'Suse',
        oscodename: 'SUSE Linux Enterprise Server 12 SP1',
        osfullname: 'SLES',
        osrelease: '12.1',
        osrelease_info: [12, 1],
        osmajorrelease: 12,
        osfinger: 'SLES-12',
      },
    ],
    [
      'test_suse_os_grains_opensuse_leap_42_1',
      {
        NAME: 'openSUSE Leap',
        VERSION: '42.1',
        VERSION_ID: '42.1',
        PRETTY_NAME: 'openSUSE Leap 42.1 (x86_64)',
        ID: 'opensuse',
        CPE_NAME: 'cpe:/o:opensuse:opensuse:42.1',
      },
      {
        os: 'SUSE',
        os_family: 'Suse',
        oscodename: 'openSUSE Leap 42.1 (x86_64)',
        osfullname: 'Leap',
        osrelease: '42.1',
        osrelease_info: [42, 1],
        osmajorrelease: 42,
        osfinger: 'Leap-42',
      },
    ],
    [
      'test_suse_os_grains_tumbleweed',
      {
        NAME: 'openSUSE',
        VERSION: 'Tumbleweed',
        VERSION_ID: '20160504',
        PRETTY_NAME: 'openSUSE Tumbleweed (20160504) (x86_64)',
        ID: 'opensuse',
        CPE_NAME: 'cpe:/o:opensuse:opensuse:20160504',
      },
      {
        os: 'SUSE',
        os_family: 'Suse',
        oscodename: 'openSUSE Tumbleweed (20160504) (x86_64)',
        osfullname: 'Tumbleweed',
        osrelease: '20160504',
        osrelease_info: [20160504],
        osmajorrelease: 20160504,
        osfinger: 'Tumbleweed-20160504',
      },
    ],
  ]
  for (const [name, data, expected] of cases) {
    it(name, () => {
      // The file as it is written, through the parser.
      const text = Object.entries(data)
        .map(([key, value]) => `${key}="${value}"`)
        .join('\n')
      const grains = linuxDistribution(parseOsRelease(text))
      const all = {
        ...grains,
        ...osReleaseInfo(
          grains.os as string,
          grains.osfullname as string,
          grains.osrelease as string,
        ),
      }
      const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, all[key]]))
      expect(picked).toEqual(expected)
    })
  }

  it('CentOS Linux 8 takes its full release from /etc/centos-release (test_centos_8_os_grains)', () => {
    const grains = linuxDistribution(
      parseOsRelease(
        'NAME="CentOS Linux"\nVERSION="8 (Core)"\nVERSION_ID="8"\nPRETTY_NAME="CentOS Linux 8 (Core)"\nID="centos"\nCPE_NAME="cpe:/o:centos:centos:8"\n',
      ),
      undefined,
      () => 'CentOS Linux release 8.1.1911 (Core)\n',
    )
    expect(grains).toMatchObject({
      os: 'CentOS',
      os_family: 'RedHat',
      oscodename: 'CentOS Linux 8 (Core)',
      osrelease: '8.1.1911',
    })
  })

  it('/etc/lsb-release wins over os-release for the lsb_distrib_* grains (Ubuntu ships both)', () => {
    const grains = linuxDistribution(
      parseOsRelease('NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n'),
      'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.3 LTS"\n',
    )
    expect(grains).toMatchObject({
      lsb_distrib_id: 'Ubuntu',
      lsb_distrib_release: '22.04',
      lsb_distrib_codename: 'jammy',
      lsb_distrib_description: 'Ubuntu 22.04.3 LTS',
      osrelease: '22.04',
      oscodename: 'jammy',
    })
  })

  it('parses quotes and shell escapes as platform.freedesktop_os_release does', () => {
    expect(parseOsRelease(`NAME='My "OS"'\nPRETTY_NAME="a \\$b \\\\c"\n`)).toMatchObject({
      NAME: 'My "OS"',
      PRETTY_NAME: 'a $b \\c',
      ID: 'linux',
    })
  })
})

// Salt's _linux_cpudata and _linux_memdata, on /proc texts of other architectures.
describe('/proc parsing as Salt', () => {
  it('counts processor lines; ARM and s390 forms', () => {
    expect(
      linuxCpuData(
        'processor\t: 0\nmodel name\t: X\nflags\t: a b\n\nprocessor\t: 1\nmodel name\t: X\n',
      ),
    ).toEqual({ num_cpus: 2, cpu_model: 'X', cpu_flags: ['a', 'b'] })
    expect(
      linuxCpuData('Processor\t: ARMv6-compatible processor rev 7 (v6l)\nFeatures\t: swp half\n'),
    ).toEqual({
      num_cpus: 1,
      cpu_model: 'ARMv6',
      cpu_flags: ['swp', 'half'],
    })
    expect(linuxCpuData('vendor_id       : IBM/S390\n# processors    : 2\n')).toMatchObject({
      num_cpus: 2,
      cpu_model: 'IBM/S390',
    })
    expect(linuxCpuData(undefined)).toEqual({ num_cpus: 0, cpu_model: 'Unknown', cpu_flags: [] })
  })

  it('memory in MiB, floor-divided', () => {
    expect(linuxMemData('MemTotal:       2048999 kB\nSwapTotal:       1023 kB\n')).toEqual({
      mem_total: 2000,
      swap_total: 0,
    })
  })
})

describe('grains module', () => {
  // Salt's tests/pytests/unit/modules/test_grains.py, test_filter_by: the same grains, set
  // through the config's grains: (which win over the machine's).
  const salt = runtime({ grains: { os_family: 'MockedOS', 1: '1', 2: '2', roles: ['A', 'B'] } })
  const filterBy = (lookup_dict: unknown, kwargs: Record<string, unknown> = {}) =>
    salt.call('grains.filter_by', { kwargs: { lookup_dict, ...kwargs } })

  it('filter_by as Salt: defaults, merge, globs, list grains, base (test_filter_by)', async () => {
    const dict1 = { A: 'B', C: { D: { E: 'F', G: 'H' } } }
    const dict2 = {
      default: { A: 'B', C: { D: 'E' } },
      1: { A: 'X' },
      2: { C: { D: 'H' } },
      MockedOS: { A: 'Z' },
    }
    const mdict1 = { D: { E: 'I' }, J: 'K' }
    expect(await filterBy(dict1, { grain: 'xxx' })).toBeNull()
    expect(await filterBy(dict1)).toBeNull()
    expect(await filterBy(dict1, { grain: 'xxx', default: 'C' })).toEqual({ D: { E: 'F', G: 'H' } })
    expect(await filterBy(dict1, { grain: 'xxx', merge: mdict1, default: 'C' })).toEqual({
      D: { E: 'I', G: 'H' },
      J: 'K',
    })
    expect(await filterBy(dict1, { grain: 'xxx', merge: mdict1, default: 'Z' })).toEqual(mdict1)
    expect(await filterBy(dict1, { grain: 'xxx', default: 'Z' })).toBeNull()
    await expect(filterBy(dict1, { grain: 'xxx', merge: ['foo'], default: 'C' })).rejects.toThrow(
      'filter_by merge argument must be a dictionary.',
    )
    await expect(filterBy(dict1, { merge: mdict1, default: 'A' })).rejects.toThrow(
      'not a dictionary',
    )
    const matching = { A: 'B', MockedOS: { D: { E: 'F', G: 'H' } } }
    expect(await filterBy(matching)).toEqual({ D: { E: 'F', G: 'H' } })
    expect(await filterBy(matching, { merge: mdict1, default: 'Z' })).toEqual({
      D: { E: 'I', G: 'H' },
      J: 'K',
    })
    expect(await filterBy(dict1, { grain: 'roles', default: 'C' })).toBe('B')
    expect(await filterBy({ Z: 'B', C: dict1.C }, { grain: 'roles', default: 'C' })).toEqual(
      dict1.C,
    )
    expect(await filterBy({ '*OS': 'B', C: dict1.C })).toBe('B')
    expect(await filterBy({ Z: 'B', '[BC]': dict1.C }, { grain: 'roles', default: 'Z' })).toEqual(
      dict1.C,
    )
    expect(await filterBy(dict2, { grain: 'xxx', default: 'xxx', base: 'default' })).toEqual(
      dict2.default,
    )
    expect(await filterBy(dict2, { default: 'xxx', base: 'default' })).toEqual({
      A: 'Z',
      C: { D: 'E' },
    })
    expect(await filterBy(dict2, { grain: '1', base: 'default' })).toEqual({
      A: 'X',
      C: { D: 'E' },
    })
    expect(await filterBy(dict2, { base: 'default', merge: { C: { D: 'J' } } })).toEqual({
      A: 'Z',
      C: { D: 'J' },
    })
  })

  it('filter_by positional order as the docstring examples (lookup_dict, grain, merge, default, base)', async () => {
    // salt/modules/grains.py filter_by docstring: "this one will render {D: {E: I, G: H}, J: K}"
    expect(
      await salt.call('grains.filter_by', {
        args: [{ A: 'B', C: { D: { E: 'F', G: 'H' } } }, 'xxx', { D: { E: 'I' }, J: 'K' }, 'C'],
      }),
    ).toEqual({ D: { E: 'I', G: 'H' }, J: 'K' })
    // "next one renders {A: {B: G}, D: J}"
    expect(
      await salt.call('grains.filter_by', {
        args: [
          { default: { A: { B: 'C' }, D: 'E' }, F: { A: { B: 'G' } }, H: { D: 'I' } },
          'xxx',
          { D: 'J' },
          'F',
          'default',
        ],
      }),
    ).toEqual({ A: { B: 'G' }, D: 'J' })
  })

  it('get with a:b paths, list indexes, delimiter= and default=; fetch is get', async () => {
    const rt = runtime({
      grains: { pkg: { apache: 'httpd' }, 'abc:def': { ghi: 1 }, roles: ['a', { db: 'x' }] },
    })
    const call = (fun: string, args: unknown[], kwargs: Record<string, unknown> = {}) =>
      rt.call(fun, { args, kwargs })
    expect(await call('grains.get', ['pkg:apache'])).toBe('httpd')
    expect(await call('grains.fetch', ['pkg:apache'])).toBe('httpd')
    expect(await call('grains.get', ['pkg:nginx'])).toBe('')
    expect(await call('grains.get', ['pkg:nginx', 'none'])).toBe('none')
    expect(await call('grains.get', ['abc:def|ghi'], { delimiter: '|' })).toBe(1)
    expect(await call('grains.get', ['roles:0'])).toBe('a')
    expect(await call('grains.get', ['roles:db'])).toBe('x')
    expect(await call('grains.get', ['id'])).toBe('minion1')
    expect(await call('grains.get', ['kernel'])).toBe(os.type())
  })

  it('item, has_value, equals, ls, items (sorted; sanitize=True)', async () => {
    const rt = runtime({ grains: { pkg: { apache: 'httpd' }, empty: '', zero: 0 } })
    expect(await rt.call('grains.item', { args: ['id', 'pkg:apache', 'missing'] })).toEqual({
      id: 'minion1',
      'pkg:apache': 'httpd',
      missing: '',
    })
    expect(await rt.call('grains.item', { args: ['missing'], kwargs: { default: 'd' } })).toEqual({
      missing: 'd',
    })
    expect(await rt.call('grains.has_value', { args: ['empty'] })).toBe(true)
    expect(await rt.call('grains.has_value', { args: ['pkg:nginx'] })).toBe(false)
    expect(await rt.call('grains.equals', { args: ['zero', 0] })).toBe(true)
    expect(await rt.call('grains.equals', { args: ['pkg:apache', 'httpd'] })).toBe(true)
    const names = (await rt.call('grains.ls')) as string[]
    expect(names).toEqual([...names].sort())
    expect(names).toEqual(expect.arrayContaining(['id', 'os', 'pkg', 'num_cpus']))
    const items = (await rt.call('grains.items')) as Record<string, unknown>
    expect(Object.keys(items)).toEqual(names)
    const hidden = (await rt.call('grains.items', { kwargs: { sanitize: true } })) as Record<
      string,
      unknown
    >
    expect(hidden).toMatchObject({
      id: 'MINION.DOMAINNAME',
      fqdn: 'MINION.DOMAINNAME',
      host: 'MINION',
      localhost: 'MINION',
      nodename: 'MINION',
      domain: 'DOMAINNAME',
    })
  })
})

// Salt's tests/pytests/unit/modules/test_grains.py (test_append_*, test_set_*): the same
// starting grains, put in the grains file, and the same expectations, on the return and on
// what the grains become (read back through grains.get and the file itself).
describe('grains module: setting grains in the grains file', () => {
  function minion(start: Record<string, unknown>, config: Record<string, unknown> = {}) {
    const dir = mkdtempSync(join(tmp, 'setval-'))
    writeFileSync(join(dir, 'grains'), JSON.stringify(start))
    const rt = runtime({ conf_file: join(dir, 'minion'), grains: config })
    const call = (fun: string, args: unknown[], kwargs: Record<string, unknown> = {}) =>
      rt.call(`grains.${fun}`, { args, kwargs })
    const file = () => parseYaml(readFileSync(join(dir, 'grains'), 'utf8'))
    return { call, file }
  }

  it('append (test_append_not_a_list, _already_in_list, _ok, _nested_ok)', async () => {
    let m = minion({ b: 'bval' })
    expect(await m.call('append', ['b', 'd'])).toBe('The key b is not a valid list')
    m = minion({ a_list: ['a', 'b', 'c'], b: 'bval' })
    expect(await m.call('append', ['a_list', 'b'])).toBe('The val b was already in the list a_list')
    expect(await m.call('append', ['a_list', 'd'])).toEqual({ a_list: ['a', 'b', 'c', 'd'] })
    expect(m.file()).toEqual({ a_list: ['a', 'b', 'c', 'd'], b: 'bval' })
    expect(await m.call('get', ['a_list'])).toEqual(['a', 'b', 'c', 'd'])
    m = minion({ b: 'bval' })
    expect(await m.call('append', ['b', 'd'], { convert: true })).toEqual({ b: ['bval', 'd'] })
    m = minion({ a: { a_list: ['a', 'b', 'c'], b: 'bval' } })
    expect(await m.call('append', ['a:a_list', 'd'])).toEqual({
      a: { a_list: ['a', 'b', 'c', 'd'], b: 'bval' },
    })
    m = minion({ a: { b: 'bval' } })
    expect(await m.call('append', ['a:a_list', 'd'])).toEqual({ a: { a_list: ['d'], b: 'bval' } })
  })

  it('set (test_set_value_already_set, _fail_replacing_existing_complex_key, _nested_*)', async () => {
    let m = minion({ a: 12, c: 8 })
    expect(await m.call('set', ['a', 12])).toEqual({
      comment: 'Grain is already set',
      changes: {},
      result: true,
    })
    m = minion({ a: 'aval', c: 8 })
    expect(await m.call('set', ['a', ['item', 12]])).toMatchObject({
      result: false,
      comment:
        "The key 'a' exists and the given value is a dict or a list. Use 'force=True' to overwrite.",
    })
    m = minion({ a: ['item', 12], c: 8 })
    expect(await m.call('set', ['a', ['item', 14]])).toMatchObject({
      result: false,
      comment: "The key 'a' exists but is a dict or a list. Use 'force=True' to overwrite.",
    })
    m = minion({ a: 'aval', b: 'l1', c: 8 })
    expect(await m.call('set', ['b,l3', 'val3'], { delimiter: ',' })).toMatchObject({
      result: false,
      comment:
        "The key 'b' value is 'l1', which is different from the provided key 'l3'. Use 'force=True' to overwrite.",
    })
    m = minion({ a: 'aval', c: 8 })
    expect(await m.call('set', ['b,nested', 'val'], { delimiter: ',' })).toEqual({
      comment: '',
      changes: { b: { nested: 'val' } },
      result: true,
    })
    expect(m.file()).toEqual({ a: 'aval', b: { nested: 'val' }, c: 8 })
    expect(await m.call('set', ['b,b2', 'val2'], { delimiter: ',' })).toMatchObject({
      changes: { b: { nested: 'val', b2: 'val2' } },
    })
    expect(
      await m.call('set', ['b,nested', null], { delimiter: ',', destructive: true }),
    ).toMatchObject({
      changes: { b: { b2: 'val2' } },
    })
    m = minion({ a: 'aval', c: 8 })
    expect(await m.call('set', ['a', null], { force: true, destructive: true })).toMatchObject({
      result: true,
      changes: { a: null },
    })
    expect(m.file()).toEqual({ c: 8 })
    expect(await m.call('has_value', ['a'])).toBe(false)
  })

  it("setval, setvals, remove, delval, delkey; the config's grains: still win", async () => {
    const m = minion({ roles: ['web', 'db'] }, { site: 'from-config' })
    expect(await m.call('setval', ['site', 'from-file'])).toEqual({ site: 'from-file' })
    expect(await m.call('get', ['site'])).toBe('from-config')
    expect(await m.call('setvals', [{ k1: 'v1', k2: { x: 1 } }])).toEqual({
      k1: 'v1',
      k2: { x: 1 },
    })
    expect(await m.call('get', ['k2:x'])).toBe(1)
    expect(await m.call('remove', ['roles', 'db'])).toEqual({ roles: ['web'] })
    expect(await m.call('remove', ['roles', 'nope'])).toBe('The val nope was not in the list roles')
    expect(await m.call('delval', ['k1'])).toMatchObject({ result: true, changes: { k1: null } })
    expect(await m.call('get', ['k1'])).toBeNull()
    expect(await m.call('delkey', ['k1'])).toMatchObject({ result: true })
    expect(m.file()).toEqual({ roles: ['web'], site: 'from-file', k2: { x: 1 } })
  })
})

describe('grains in SLS templates', () => {
  it('state runs render {{ grains.… }} with the machine and config grains', async () => {
    const roots = mkdtempSync(join(tmp, 'sls-'))
    writeFileSync(
      join(roots, 'show.sls'),
      'show:\n  test.succeed_without_changes:\n    - name: "{{ grains.kernel }} {{ grains.num_cpus }} {{ grains.site }}"\n',
    )
    const rt = new Runtime({
      opts: defaultOpts({
        id: 'minion1',
        file_roots: [roots],
        pillar_roots: [],
        grains: { site: 'lab' },
      }),
      pillar: {},
      moduleDirs: [join(root, 'modules')],
      stateDirs: [join(root, 'states')],
      signal: new AbortController().signal,
    })
    const result = (await rt.call('state.sls', { args: ['show'] })) as Record<
      string,
      { name: string }
    >
    expect(Object.values(result).map((ret) => ret.name)).toEqual([
      `${os.type()} ${os.cpus().length} lab`,
    ])
  })
})

describe('grains are computed only when read', () => {
  // In a fresh process: a runtime that answers test.ping has read nothing of /proc or /etc;
  // the first grains call reads them; a second reads nothing more (once per process).
  it('test.ping pays nothing; the machine is read once', async () => {
    const script = `
      import fs from 'node:fs'
      import { syncBuiltinESMExports } from 'node:module'
      const reads = []
      const original = fs.readFileSync
      fs.readFileSync = (path, ...rest) => { reads.push(String(path)); return original(path, ...rest) }
      syncBuiltinESMExports()
      const { Runtime } = await import(${JSON.stringify(join(root, 'loader', 'runtime.ts'))})
      const { defaultOpts } = await import(${JSON.stringify(join(root, 'loader', 'opts.ts'))})
      const rt = new Runtime({ opts: defaultOpts({ id: 'probe' }), pillar: {}, moduleDirs: [${JSON.stringify(join(root, 'modules'))}], stateDirs: [], signal: new AbortController().signal })
      const machine = () => reads.filter((p) => /^\\/(proc|etc|sys)\\//.test(p)).length
      await rt.call('test.ping')
      const ping = machine()
      await rt.call('grains.get', { args: ['os'] })
      const first = machine()
      await rt.call('grains.items')
      await runtimeTwo()
      async function runtimeTwo() {
        const other = new Runtime({ opts: defaultOpts({ id: 'probe2' }), pillar: {}, moduleDirs: [${JSON.stringify(join(root, 'modules'))}], stateDirs: [], signal: new AbortController().signal })
        return other.call('grains.get', { args: ['id'] })
      }
      console.log(JSON.stringify({ ping, first, after: machine() }))
    `
    const { code, stdout, stderr } = await runNode(
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root },
    )
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const counts = JSON.parse(stdout)
    expect(counts.ping).toBe(0)
    expect(counts.first).toBeGreaterThan(0)
    expect(counts.after).toBe(counts.first)
  })
})
