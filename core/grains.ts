// Salt's core grains (salt/grains/core.py, salt/grains/minion_process.py, salt/grains/extra.py),
// computed from what the machine says about itself: node:os, /etc/os-release, /proc and /sys.
// No child processes: where Salt runs a command (dpkg, dmidecode, systemd-detect-virt) the
// grain comes from a file instead, or keeps Salt's default. The machine's facts are read once
// per process, on first use (a test.ping never pays for them).
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import { basename, dirname, join, delimiter as pathDelimiter } from 'node:path'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { nodeCrypto } from './builtins.ts'
import { linuxDistribution, osReleaseInfo, parseOsRelease } from './os-release.ts'

/**
 * The Salt release whose behaviour brine follows, reported as the `saltversion` grain:
 * formulas gate features on `saltversioninfo` (`{% if grains.saltversioninfo >= [3006] %}`),
 * and brine answers as the Salt it imitates (with `nodeversion` for the runtime it really has).
 */
export const SALT_VERSION_STAND_IN = '3007.0'

export interface GrainsOptions {
  /** The minion id (the `id` grain). */
  id: string
  /** The config's `grains:` mapping, applied on top of everything else. */
  grains?: unknown
  /** The config file (or directory): Salt keeps the `grains` file beside it. */
  conf_file?: unknown
  /** Where the grains file goes when there is no config file. */
  data_dir?: unknown
}

let machine: Record<string, unknown> | undefined

/**
 * The grains of this minion: the machine's core grains, then the grains file, then the
 * config's `grains:` (later wins, key by key, as Salt's `grains_data.update(...)`). A new
 * object each call; the machine's part is read once per process.
 */
export function coreGrains(opts: GrainsOptions): Record<string, unknown> {
  machine ??= readMachineGrains()
  const grains: Record<string, unknown> = structuredClone(machine)
  grains.id = opts.id
  grains.server_id = serverId(opts.id)
  Object.assign(grains, readGrainsFile({ conf_file: opts.conf_file, data_dir: opts.data_dir }))
  if (isMapping(opts.grains)) Object.assign(grains, opts.grains)
  return grains
}

/**
 * The grains file: `grains` beside the config file (in a config directory: in it), where
 * Salt's grains.setval writes; without a config file, `<data_dir>/grains`.
 */
export function grainsFilePath(opts: Readonly<Record<string, unknown>>): string {
  const confFile = opts.conf_file
  if (typeof confFile === 'string' && confFile !== '') {
    let dir = dirname(confFile)
    try {
      if (statSync(confFile).isDirectory()) dir = confFile
    } catch {
      // a config dir without its minion file: conf_file names the file, its folder holds grains
    }
    return join(dir, 'grains')
  }
  const dataDir =
    typeof opts.data_dir === 'string'
      ? opts.data_dir
      : (process.env.BRINE_DATA_DIR ??
        join(process.env.XDG_DATA_HOME ?? join(os.homedir(), '.local', 'share'), 'brine'))
  return join(dataDir, 'grains')
}

/** The grains file's mapping; no file (or no mapping in it) is no grains. */
export function readGrainsFile(opts: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const text = readText(grainsFilePath(opts))
  if (text === undefined) return {}
  try {
    const data = parseYaml(text, { version: '1.1', schema: 'yaml-1.1' })
    return isMapping(data) ? data : {}
  } catch {
    return {}
  }
}

/** Replace the grains file (block-style YAML, as Salt's safe_dump); returns its path. */
export function writeGrainsFile(
  opts: Readonly<Record<string, unknown>>,
  grains: Record<string, unknown>,
): string {
  const path = grainsFilePath(opts)
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, stringifyYaml(grains, { version: '1.1' }))
  renameSync(temporary, path)
  return path
}

// --- the machine ---

function readMachineGrains(): Record<string, unknown> {
  const kernel = os.type()
  const grains: Record<string, unknown> = {
    num_gpus: 0,
    gpus: [],
    kernel,
    nodename: os.hostname(),
    kernelrelease: os.release(),
    kernelversion: os.version(),
    cpuarch: os.machine(),
  }
  if (kernel === 'Linux') {
    grains.init = linuxInitSystem()
    const osRelease = readText('/etc/os-release') ?? readText('/usr/lib/os-release')
    Object.assign(
      grains,
      linuxDistribution(parseOsRelease(osRelease ?? ''), readText('/etc/lsb-release'), () =>
        readText('/etc/centos-release'),
      ),
    )
    Object.assign(grains, linuxCpuData(readText('/proc/cpuinfo')))
    Object.assign(grains, linuxMemData(readText('/proc/meminfo')))
    Object.assign(grains, linuxHardwareData())
  } else {
    // Salt runs sysctl/sw_vers here; brine reports what node:os knows.
    grains.os = kernel === 'Darwin' ? 'MacOS' : kernel === 'Windows_NT' ? 'Windows' : kernel
    grains.os_family = grains.os
    grains.osfullname = grains.os
    grains.osrelease = os.release()
    const cpus = os.cpus()
    grains.num_cpus = cpus.length
    grains.cpu_model = cpus[0]?.model ?? 'Unknown'
    grains.cpu_flags = []
    grains.mem_total = Math.floor(os.totalmem() / 1024 / 1024)
    grains.swap_total = 0
  }
  grains.osarch = osArch(grains.os_family, os.machine())
  Object.assign(grains, virtualData(kernel, grains))
  grains.ps = grains.os_family === 'Windows' ? 'tasklist.exe' : 'ps -efHww'
  if (typeof grains.osrelease === 'string' && grains.osrelease !== '')
    Object.assign(
      grains,
      osReleaseInfo(String(grains.os), String(grains.osfullname), grains.osrelease),
    )
  Object.assign(grains, hostnameGrains())
  Object.assign(grains, interfaceGrains())
  const path = (process.env.PATH ?? '').trim()
  const user = userGrains()
  Object.assign(grains, {
    path,
    systempath: path.split(pathDelimiter),
    cwd: process.cwd(),
    shell: process.env.SHELL ?? '/bin/sh',
    machine_id: readText('/etc/machine-id')?.trim() ?? readText('/var/lib/dbus/machine-id')?.trim(),
    master: '',
    saltversion: SALT_VERSION_STAND_IN,
    saltversioninfo: SALT_VERSION_STAND_IN.split('.').map(Number),
    nodeversion: process.versions.node,
    ...user,
    pid: process.pid,
  })
  if (grains.machine_id === undefined) delete grains.machine_id
  return grains
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Salt's _osarch runs `dpkg --print-architecture` on Debian and rpm on RedHat/Suse; brine
 * maps the kernel's machine name the way those tools name it.
 */
function osArch(osFamily: unknown, cpuarch: string): string {
  if (osFamily === 'Debian') {
    const debian: Record<string, string> = {
      x86_64: 'amd64',
      aarch64: 'arm64',
      i686: 'i386',
      i386: 'i386',
      armv7l: 'armhf',
      ppc64le: 'ppc64el',
      s390x: 's390x',
    }
    return debian[cpuarch] ?? cpuarch
  }
  return cpuarch
}

/** Salt's _linux_init_system, from files only (no `which`). */
function linuxInitSystem(): string {
  if (existsSync('/run/systemd/system')) return 'systemd'
  const cmdline = readText('/proc/1/cmdline')
  if (cmdline === undefined) return 'unknown'
  const argv = cmdline.split('\0').filter(Boolean)
  const first = argv[0] ?? ''
  let target = first
  try {
    target = realpathSync(first.startsWith('/') ? first : `/sbin/${first}`)
  } catch {
    // not a path we can resolve: judge by the name
  }
  const name = basename(target)
  if (['systemd', 'upstart'].includes(name)) return name
  if (name === 'init') return 'sysvinit'
  if (['supervisord', 'dumb-init', 'tini'].includes(name)) return name
  if (name === 'runit' || argv.includes('/sbin/my_init')) return 'runit'
  return 'unknown'
}

// --- hardware ---

/** Salt's _linux_cpudata: num_cpus (processor lines), cpu_model, cpu_flags. */
export function linuxCpuData(cpuinfo: string | undefined): Record<string, unknown> {
  const grains: Record<string, unknown> = {}
  if (cpuinfo !== undefined) {
    let count = 0
    for (const line of cpuinfo.split('\n')) {
      const colon = line.indexOf(':')
      if (colon < 0) continue
      const key = line.slice(0, colon).trim()
      const value = line.slice(colon + 1).trim()
      if (key === 'processor') count++
      else if (key === '# processors') count = Number.parseInt(value, 10)
      else if (key === 'vendor_id' || key === 'model name' || key === 'cpu')
        grains.cpu_model = value
      else if (key === 'flags' || key === 'Features') grains.cpu_flags = value.split(/\s+/)
      else if (key === 'Processor') {
        grains.cpu_model = value.split('-')[0]
        count = 1
      }
    }
    grains.num_cpus = count
  }
  grains.num_cpus ??= 0
  grains.cpu_model ??= 'Unknown'
  grains.cpu_flags ??= []
  return grains
}

/** Salt's _linux_memdata: MemTotal and SwapTotal in MiB (floor division of kB by 1024). */
export function linuxMemData(meminfo: string | undefined): Record<string, number> {
  const grains = { mem_total: 0, swap_total: 0 }
  for (const line of (meminfo ?? '').split('\n')) {
    const [key, rest] = line.split(':')
    if (rest === undefined) continue
    const kb = Number.parseInt(rest.trim().split(/\s+/)[0] ?? '', 10)
    if (key?.trim() === 'MemTotal') grains.mem_total = Math.floor(kb / 1024)
    if (key?.trim() === 'SwapTotal') grains.swap_total = Math.floor(kb / 1024)
  }
  return grains
}

/** Salt's _hw_data on Linux: the firmware facts sysfs gives (requires CONFIG_DMIID). */
function linuxHardwareData(): Record<string, string> {
  const grains: Record<string, string> = {}
  const files: Record<string, string> = {
    biosversion: 'bios_version',
    biosvendor: 'bios_vendor',
    boardname: 'board_name',
    productname: 'product_name',
    manufacturer: 'sys_vendor',
    biosreleasedate: 'bios_date',
    uuid: 'product_uuid',
    serialnumber: 'product_serial',
  }
  for (const [key, file] of Object.entries(files)) {
    const value = readText(`/sys/class/dmi/id/${file}`)
    if (value !== undefined)
      grains[key] = key === 'uuid' ? value.trim().toLowerCase() : value.trim()
  }
  return grains
}

/**
 * Salt's _virtual, best effort: its commands (virt-what, systemd-detect-virt, dmidecode,
 * lspci) are not run; the file checks it makes after them are (OpenVZ, Xen, QEMU CPU, DMI
 * product name, the container of PID 1), plus the DMI vendor for VMware, KVM and VirtualBox
 * that dmidecode would have reported.
 */
function virtualData(kernel: string, known: Record<string, unknown>): Record<string, string> {
  const grains: Record<string, string> = { virtual: 'physical' }
  if (kernel !== 'Linux') return grains
  const dmi = `${known.manufacturer ?? ''} ${known.productname ?? ''}`
  if (/VMware/.test(dmi)) grains.virtual = 'VMware'
  else if (/QEMU|KVM|Bochs/.test(dmi)) grains.virtual = 'kvm'
  else if (/Microsoft/.test(dmi) && /Virtual Machine/.test(dmi)) grains.virtual = 'VirtualPC'
  try {
    const self = statSync('/')
    const init = statSync('/proc/1/root/.')
    if (self.ino !== init.ino || self.dev !== init.dev) grains.virtual_subtype = 'chroot'
  } catch {
    // /proc/1/root is not ours to read (another user's init): no verdict
  }
  if (existsSync('/proc/vz')) {
    if (existsSync('/proc/vz/version')) grains.virtual = 'openvzhn'
    else if (existsSync('/proc/vz/veinfo')) grains.virtual = 'openvzve'
  }
  const envId = /^envID:\s+(\d+)$/m.exec(readText('/proc/self/status') ?? '')
  if (envId) grains.virtual = Number(envId[1]) !== 0 ? 'openvzve' : 'openvzhn'
  if (existsSync('/proc/xen/xsd_kva')) grains.virtual_subtype = 'Xen Dom0'
  else if (existsSync('/sys/bus/xen/drivers/xenconsole')) grains.virtual_subtype = 'Xen PV DomU'
  if ((grains.virtual_subtype ?? '').toLowerCase().includes('dom')) grains.virtual = 'xen'
  if ((readText('/proc/cpuinfo') ?? '').includes('QEMU Virtual CPU')) grains.virtual = 'kvm'
  const product = readText('/sys/devices/virtual/dmi/id/product_name') ?? ''
  if (product.includes('VirtualBox')) grains.virtual = 'VirtualBox'
  else if (product.includes('RHEV Hypervisor')) {
    grains.virtual = 'kvm'
    grains.virtual_subtype = 'rhev'
  } else if (product.includes('oVirt Node')) {
    grains.virtual = 'kvm'
    grains.virtual_subtype = 'ovirt'
  } else if (product.includes('Google')) grains.virtual = 'gce'
  else if (product.includes('BHYVE')) grains.virtual = 'bhyve'
  const cgroup = readText('/proc/1/cgroup') ?? ''
  if (cgroup.includes(':/lxc/')) {
    grains.virtual = 'container'
    grains.virtual_subtype = 'LXC'
  } else if (cgroup.includes(':/kubepods/')) grains.virtual_subtype = 'kubernetes'
  else if (cgroup.includes(':/libpod_parent/')) grains.virtual_subtype = 'libpod'
  else if ([':/system.slice/docker', ':/docker/', ':/docker-ce/'].some((x) => cgroup.includes(x))) {
    grains.virtual = 'container'
    grains.virtual_subtype = 'Docker'
  }
  if (
    grains.virtual_subtype !== 'LXC' &&
    (readText('/proc/1/environ') ?? '').includes('container=lxc')
  ) {
    grains.virtual = 'container'
    grains.virtual_subtype = 'LXC'
  }
  if (grains.virtual_subtype && grains.virtual === 'physical') grains.virtual = 'virtual'
  return grains
}

// --- names and addresses ---

/**
 * Salt's hostname grains: localhost (gethostname), fqdn, host, domain. Salt asks getaddrinfo
 * for the canonical name; brine, which resolves nothing synchronously, takes the first name
 * of the /etc/hosts line that lists the host name (what the resolver's files source answers),
 * else the host name itself.
 */
function hostnameGrains(): Record<string, string> {
  const localhost = os.hostname()
  let fqdn = localhost
  for (const line of (readText('/etc/hosts') ?? '').split('\n')) {
    const names = line.replace(/#.*/, '').trim().split(/\s+/).slice(1)
    if (names.includes(localhost) && names[0]) {
      fqdn = names[0]
      break
    }
  }
  const dot = fqdn.indexOf('.')
  return {
    localhost,
    fqdn,
    host: dot < 0 ? fqdn : fqdn.slice(0, dot),
    domain: dot < 0 ? '' : fqdn.slice(dot + 1),
  }
}

/**
 * ipv4, ipv6 (loopback included, sorted as Python's ipaddress sorts), ip_interfaces,
 * ip4_interfaces, ip6_interfaces and hwaddr_interfaces. Interfaces without an address are
 * listed too (from /sys/class/net), with an empty list, as Salt's `ip addr` parsing does.
 */
function interfaceGrains(): Record<string, unknown> {
  const ifaces = os.networkInterfaces()
  const names = new Set(Object.keys(ifaces))
  try {
    for (const name of readdirSync('/sys/class/net')) names.add(name)
  } catch {
    // not Linux: the interfaces with addresses are all we know
  }
  const ip4: Record<string, string[]> = {}
  const ip6: Record<string, string[]> = {}
  const both: Record<string, string[]> = {}
  const hwaddr: Record<string, string> = {}
  for (const name of [...names].sort()) {
    const addresses = ifaces[name] ?? []
    ip4[name] = addresses.filter((a) => a.family === 'IPv4').map((a) => a.address)
    ip6[name] = addresses.filter((a) => a.family === 'IPv6').map((a) => a.address)
    both[name] = [...ip4[name], ...ip6[name]]
    const mac = readText(`/sys/class/net/${name}/address`)?.trim() ?? addresses[0]?.mac
    if (mac) hwaddr[name] = mac
  }
  return {
    ipv4: sortAddresses([...new Set(Object.values(ip4).flat())], 4),
    ipv6: sortAddresses([...new Set(Object.values(ip6).flat())], 6),
    ip_interfaces: both,
    ip4_interfaces: ip4,
    ip6_interfaces: ip6,
    hwaddr_interfaces: hwaddr,
  }
}

function sortAddresses(addresses: string[], family: 4 | 6): string[] {
  const value = family === 4 ? ipv4Value : ipv6Value
  return addresses.sort((a, b) => {
    const x = value(a)
    const y = value(b)
    return x < y ? -1 : x > y ? 1 : 0
  })
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((sum, part) => sum * 256n + BigInt(part), 0n)
}

function ipv6Value(address: string): bigint {
  const [head = '', tail] = address.split('::')
  const groups = (text: string) => (text ? text.split(':') : [])
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return all.reduce((sum, part) => sum * 65536n + BigInt(`0x${part || '0'}`), 0n)
}

/** Salt's get_server_id: sha256 of the id, as an integer, modulo 2**31. */
function serverId(id: string): number {
  const hash = BigInt(`0x${nodeCrypto().createHash('sha256').update(id).digest('hex')}`)
  return Number(hash % 2n ** 31n)
}

/** Salt's minion_process grains: uid, username, gid, groupname (the user's primary group). */
function userGrains(): Record<string, unknown> {
  let info: os.UserInfo<string> | undefined
  try {
    info = os.userInfo()
  } catch {
    // no passwd entry for this uid (a container run with --user 12345)
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : null
  const gid = typeof process.getgid === 'function' ? process.getgid() : null
  let groupname = ''
  for (const line of (readText('/etc/group') ?? '').split('\n')) {
    const [name, , id] = line.split(':')
    if (name && id !== undefined && Number(id) === (info?.gid ?? gid)) {
      groupname = name
      break
    }
  }
  return { uid, username: info?.username ?? String(uid ?? ''), gid, groupname }
}
