// The distribution grains of Salt's core grains (salt/grains/core.py: _os_release_to_grains,
// _legacy_linux_distribution_data, _osrelease_data) from os-release and lsb-release texts.
// Pure functions of those texts: core/grains.ts reads the files.

/**
 * An os-release file as Python's platform.freedesktop_os_release reads it: NAME, ID and
 * PRETTY_NAME default to Linux/linux/Linux; quotes and shell escapes are removed.
 */
export function parseOsRelease(text: string): Record<string, string> {
  const data: Record<string, string> = { NAME: 'Linux', ID: 'linux', PRETTY_NAME: 'Linux' }
  for (const line of text.split('\n')) {
    const match = /^(\w+)=(?:'|")?(.*?)(?:'|")?$/.exec(line.trim())
    if (match) data[match[1]!] = match[2]!.replace(/\\([$"'\\`])/g, '$1')
  }
  return data
}

// Salt's _OS_NAME_MAP: the first ten characters (no spaces, lower case) of osfullname → os.
const OS_NAME_MAP: Record<string, string> = {
  redhatente: 'RedHat',
  gentoobase: 'Gentoo',
  archarm: 'Arch ARM',
  arch: 'Arch',
  debian: 'Debian',
  Junos: 'Junos',
  raspbian: 'Raspbian',
  fedoraremi: 'Fedora',
  chapeau: 'Chapeau',
  korora: 'Korora',
  amazonami: 'Amazon',
  alt: 'ALT',
  enterprise: 'OEL',
  oracleserv: 'OEL',
  cloudserve: 'CloudLinux',
  cloudlinux: 'CloudLinux',
  almalinux: 'AlmaLinux',
  pidora: 'Fedora',
  scientific: 'ScientificLinux',
  synology: 'Synology',
  nilrt: 'NILinuxRT',
  poky: 'Poky',
  manjaro: 'Manjaro',
  manjarolin: 'Manjaro',
  univention: 'Univention',
  antergos: 'Antergos',
  sles: 'SUSE',
  void: 'Void',
  slesexpand: 'RES',
  linuxmint: 'Mint',
  neon: 'KDE neon',
  pop: 'Pop',
  rocky: 'Rocky',
  alibabaclo: 'Alinux',
  mendel: 'Mendel',
}

// Salt's _ID_AND_NAME_TO_OS_NAME_MAP.
const ID_AND_NAME_TO_OS: Record<string, string> = {
  'astra\0Astra Linux (Orel)': 'AstraLinuxCE',
  'astra\0Astra Linux (Smolensk)': 'AstraLinuxSE',
  'pop\0Pop!_OS': 'Pop',
}

/** Salt's _derive_os_grain: the traditional short `os` name from the full name. */
export function deriveOsGrain(osfullname: string, osId?: string): string {
  const mapped = ID_AND_NAME_TO_OS[`${osId}\0${osfullname}`]
  if (mapped) return mapped
  const distroname = osfullname.replace(/\W(?:gnu\/)?linux/gi, '').trim()
  const shortname = distroname.replaceAll(' ', '').toLowerCase().slice(0, 10)
  return OS_NAME_MAP[shortname] ?? distroname
}

// Salt's _OS_FAMILY_MAP: the os grain → os_family (else os_family is the os grain itself).
const OS_FAMILY_MAP: Record<string, string> = {
  Ubuntu: 'Debian',
  Fedora: 'RedHat',
  Chapeau: 'RedHat',
  Korora: 'RedHat',
  FedBerry: 'RedHat',
  CentOS: 'RedHat',
  'CentOS Stream': 'RedHat',
  GoOSe: 'RedHat',
  Scientific: 'RedHat',
  Amazon: 'RedHat',
  CloudLinux: 'RedHat',
  AlmaLinux: 'RedHat',
  OVS: 'RedHat',
  OEL: 'RedHat',
  XCP: 'RedHat',
  'XCP-ng': 'RedHat',
  XenServer: 'RedHat',
  RES: 'RedHat',
  Sangoma: 'RedHat',
  'VMware Photon OS': 'RedHat',
  Mandrake: 'Mandriva',
  Mint: 'Debian',
  VMwareESX: 'VMware',
  Bluewhite64: 'Bluewhite',
  Slamd64: 'Slackware',
  SLES: 'Suse',
  'SUSE Enterprise Server': 'Suse',
  'SUSE  Enterprise Server': 'Suse',
  SLED: 'Suse',
  openSUSE: 'Suse',
  SUSE: 'Suse',
  'openSUSE Leap': 'Suse',
  'openSUSE Tumbleweed': 'Suse',
  SLES_SAP: 'Suse',
  'Arch ARM': 'Arch',
  Manjaro: 'Arch',
  'Manjaro ARM': 'Arch',
  Antergos: 'Arch',
  EndeavourOS: 'Arch',
  ALT: 'RedHat',
  Trisquel: 'Debian',
  GCEL: 'Debian',
  Linaro: 'Debian',
  'elementary OS': 'Debian',
  elementary: 'Debian',
  Univention: 'Debian',
  ScientificLinux: 'RedHat',
  Raspbian: 'Debian',
  Devuan: 'Debian',
  antiX: 'Debian',
  Kali: 'Debian',
  'Parrot OS': 'Debian',
  neon: 'Debian',
  Cumulus: 'Debian',
  Deepin: 'Debian',
  NILinuxRT: 'NILinuxRT',
  'KDE neon': 'Debian',
  Void: 'Void',
  IDMS: 'Debian',
  Funtoo: 'Gentoo',
  TurnKey: 'Debian',
  Pop: 'Debian',
  Rocky: 'RedHat',
  AstraLinuxCE: 'Debian',
  AstraLinuxSE: 'Debian',
  Alinux: 'RedHat',
  Mendel: 'Debian',
  OSMC: 'Debian',
}

/**
 * Salt's distribution grains as its packages compute them: os from os-release's NAME and ID,
 * then _legacy_linux_distribution_data, which Salt's onedir builds always reach (they lack
 * the lsb_release Python module): the lsb_distrib_* grains from /etc/lsb-release, else from
 * os-release (SUSE's CPE_NAME quirks included); osrelease and oscodename from them (the
 * codename in brackets for Rocky, AlmaLinux and Astra SE; CentOS Linux 7/8's full release
 * from /etc/centos-release); os_family from Salt's map of the os grain.
 */
export function linuxDistribution(
  osRelease: Record<string, string>,
  lsbReleaseText?: string,
  centosRelease?: () => string | undefined,
): Record<string, unknown> {
  const id = osRelease.ID ?? 'linux'
  const name = osRelease.NAME ?? 'Linux'
  const grains: Record<string, unknown> = {
    ...lsbRelease(lsbReleaseText),
    os: deriveOsGrain(name, id),
    osfullname: name.trim(),
  }
  if (grains.lsb_distrib_id === undefined) {
    grains.lsb_distrib_id = name.trim()
    if (osRelease.VERSION_ID) grains.lsb_distrib_release = osRelease.VERSION_ID
    if (osRelease.VERSION_CODENAME) grains.lsb_distrib_codename = osRelease.VERSION_CODENAME
    else if (osRelease.PRETTY_NAME) grains.lsb_distrib_codename = osRelease.PRETTY_NAME
    const cpe = parseCpeName(osRelease.CPE_NAME)
    if (['suse', 'opensuse'].includes((cpe.vendor ?? '').toLowerCase())) {
      grains.os = 'SUSE'
      if (osRelease.NAME === 'openSUSE Leap') grains.osfullname = 'Leap'
      else if (osRelease.VERSION === 'Tumbleweed') grains.osfullname = 'Tumbleweed'
      if (cpe.version && cpe.vendor === 'opensuse') grains.lsb_distrib_release = cpe.version
    }
    if (id === 'mendel') {
      const words = (osRelease.PRETTY_NAME ?? '').split(/\s+/)
      if (words.length >= 3) grains.lsb_distrib_release = words[2]
    }
  }
  // What the `distro` package answers for version and codename (its os-release reading).
  const distroRelease = osRelease.VERSION_ID ?? ''
  const distroCodename =
    osRelease.VERSION_CODENAME ??
    osRelease.UBUNTU_CODENAME ??
    /\((.+)\)/.exec(osRelease.VERSION ?? '')?.[1] ??
    ''
  const lsbCodename = String(grains.lsb_distrib_codename ?? '')
  let release = grains.lsb_distrib_release as string | undefined
  if (['CentOS Linux 7', 'CentOS Linux 8'].some((centos) => lsbCodename.includes(centos))) {
    // Salt's workaround for CentOS's os-release without the minor release (bugs.centos.org 8359)
    release = /\d+(\.\d+)+/.exec(centosRelease?.() ?? '')?.[0] ?? distroRelease
  }
  grains.osrelease = (release ?? distroRelease).trim()
  let codename = lsbCodename
  if (
    codename &&
    ['Rocky', 'AlmaLinux', 'AstraLinuxSE'].some((os) => String(grains.os).includes(os))
  ) {
    const inner = codename.split('(')[1]?.split(')')[0]
    if (inner !== undefined)
      codename = grains.os === 'AstraLinuxSE' ? (inner.split(/\s+/)[0] ?? '').toLowerCase() : inner
    grains.lsb_distrib_codename = codename
  }
  grains.oscodename = codename.trim() || distroCodename
  if (String(grains.oscodename).includes('Red Hat')) grains.oscodename = distroCodename
  grains.os_family = OS_FAMILY_MAP[String(grains.os)] ?? grains.os
  if (grains.osrelease === '') delete grains.osrelease
  return grains
}

/** Salt's _parse_cpe_name: vendor, product and version of an os-release CPE_NAME. */
function parseCpeName(cpe: string | undefined): Record<string, string | undefined> {
  const parts = (cpe ?? '').split(':')
  if (parts.length <= 4 || parts[0] !== 'cpe') return {}
  if (parts[1]!.startsWith('/')) return { vendor: parts[2], product: parts[3], version: parts[4] }
  if (parts[1] === '2.3' && parts.length >= 6) {
    const value = (part: string | undefined) => (part === '*' ? undefined : part)
    return { vendor: value(parts[3]), product: value(parts[4]), version: value(parts[5]) }
  }
  return {}
}

/** /etc/lsb-release as Salt's _parse_lsb_release reads it: lsb_distrib_{id,release,…}. */
function lsbRelease(text: string | undefined): Record<string, string> {
  const grains: Record<string, string> = {}
  for (const line of (text ?? '').split('\n')) {
    const match =
      /^(DISTRIB_(?:ID|RELEASE|CODENAME|DESCRIPTION))=(?:'|")?([\w\s.\-_]+)(?:'|")?/.exec(line)
    if (match) grains[`lsb_${match[1]!.toLowerCase()}`] = match[2]!.trimEnd()
  }
  return grains
}

/** Salt's _osrelease_data: osrelease_info, osmajorrelease, osfinger. */
export function osReleaseInfo(
  osName: string,
  osfullname: string,
  osrelease: string,
): Record<string, unknown> {
  const info: (string | number)[] = osrelease
    .split('.')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part))
  const grains: Record<string, unknown> = { osrelease_info: info }
  if (typeof info[0] === 'number') grains.osmajorrelease = info[0]
  const name = ['Debian', 'FreeBSD', 'OpenBSD', 'NetBSD', 'Mac', 'Raspbian'].includes(osName)
    ? osName
    : osfullname
  grains.osfinger = `${name}-${['Ubuntu', 'Pop'].includes(osName) ? osrelease : info[0]}`
  return grains
}
