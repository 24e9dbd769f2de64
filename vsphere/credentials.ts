import { log } from '../core/log.ts'
import type { ConnectionOptions } from './connection-params.ts'
import { VsphereError } from './errors.ts'

/**
 * Where vSphere credentials come from, compatible with saltext-vmware:
 * `saltext.vmware: { host, user, password, ssl_thumbprint, port, ca_file, insecure,
 * <profile>: {…}, esxi_host: { <name>: { user, password, ssl_thumbprint } } }`, looked up in
 * the config file (opts), then grains, then pillar; the legacy `vmware_config` key with a
 * deprecation warning; and `SALTEXT_VMWARE_HOST|USER|PASSWORD`, which override their field.
 */
export interface CredentialSources {
  env: Record<string, string | undefined>
  opts: Record<string, unknown>
  pillar: Record<string, unknown>
}

export interface CredentialLookup {
  profile?: string | undefined
  /** Credentials of this ESXi host (from `esxi_host`), not of vCenter. */
  esxiHost?: string | undefined
}

export class CredentialsError extends VsphereError {
  static override readonly kind: string = 'CredentialsError'
  readonly missing: string[]
  constructor(message: string, missing: string[] = []) {
    super(message, { code: 'BRINE_VIM_CREDENTIALS' })
    this.missing = missing
  }
}

type Config = Record<string, unknown>

/** Connection options for `profile` (or the default), before any network I/O. */
export function resolveVsphereConnection(
  sources: CredentialSources,
  lookup: CredentialLookup = {},
): ConnectionOptions {
  const found = findConfig(sources)
  const root = found?.config ?? {}
  const where = found ? `${found.key} in ${found.source}` : 'saltext.vmware'
  let section: Config = root
  if (lookup.profile) {
    const profile = root[lookup.profile]
    if (!isConfig(profile)) {
      const profiles = Object.keys(root).filter((key) => isConfig(root[key]) && key !== 'esxi_host')
      throw new CredentialsError(
        `vSphere profile '${lookup.profile}' is not configured under ${where}${profiles.length ? `; profiles: ${profiles.join(', ')}` : ''}. Add saltext.vmware:${lookup.profile}: {host, user, password} to the config file or pillar.`,
      )
    }
    section = profile
  }

  let options: Record<string, unknown>
  if (lookup.esxiHost) {
    const hosts = section.esxi_host
    const host = isConfig(hosts) ? hosts[lookup.esxiHost] : undefined
    if (!isConfig(host)) {
      throw new CredentialsError(
        `ESXi host '${lookup.esxiHost}' has no credentials under ${where}:esxi_host.`,
      )
    }
    options = { ...host, host: lookup.esxiHost }
  } else {
    options = { ...section }
    // Environment overrides each field on its own, profile or not (saltext-vmware's rule).
    for (const [field, variable] of [
      ['host', 'SALTEXT_VMWARE_HOST'],
      ['user', 'SALTEXT_VMWARE_USER'],
      ['password', 'SALTEXT_VMWARE_PASSWORD'],
    ] as const) {
      const value = sources.env[variable]
      if (value) options[field] = value
    }
  }

  const missing = ['host', 'user', 'password'].filter(
    (key) => typeof options[key] !== 'string' || options[key] === '',
  )
  if (missing.length) {
    const subject = lookup.esxiHost
      ? `ESXi host '${lookup.esxiHost}'`
      : lookup.profile
        ? `profile '${lookup.profile}'`
        : 'the default profile'
    const prefix = lookup.profile ? `saltext.vmware:${lookup.profile}` : 'saltext.vmware'
    throw new CredentialsError(
      `vSphere credentials incomplete for ${subject}: missing ${missing.join(', ')}. Set ${missing.map((key) => `${prefix}:${key}`).join(', ')} in the config file or pillar${lookup.esxiHost ? '' : `, or ${missing.map((key) => `SALTEXT_VMWARE_${key.toUpperCase()}`).join(', ')}`}.`,
      missing,
    )
  }
  const insecure = options.insecure === true || options.verify_ssl === false
  return {
    server: String(options.host),
    user: String(options.user),
    password: String(options.password),
    port:
      typeof options.port === 'number'
        ? options.port
        : options.port
          ? Number(options.port)
          : undefined,
    thumbprint: typeof options.ssl_thumbprint === 'string' ? options.ssl_thumbprint : undefined,
    caFile: typeof options.ca_file === 'string' ? options.ca_file : undefined,
    insecure,
    label: lookup.esxiHost ? `esxi:${lookup.esxiHost}` : (lookup.profile ?? 'default'),
  }
}

function findConfig(
  sources: CredentialSources,
): { config: Config; key: string; source: string } | undefined {
  const places: Array<[string, Record<string, unknown>]> = [
    ['the config file', sources.opts],
    ['grains', isConfig(sources.opts.grains) ? sources.opts.grains : {}],
    ['pillar', sources.pillar],
  ]
  for (const [source, place] of places) {
    const config = lookupKey(place, 'saltext.vmware')
    if (config) return { config, key: 'saltext.vmware', source }
  }
  for (const [source, place] of places) {
    const config = lookupKey(place, 'vmware_config')
    if (config) {
      log.warn('config', 'vmware_config (in %s) is deprecated: rename it to saltext.vmware', source)
      return { config, key: 'vmware_config', source }
    }
  }
  return undefined
}

/** `saltext.vmware` as a literal key (Salt's way) or nested `saltext: { vmware: … }`. */
function lookupKey(place: Record<string, unknown>, key: string): Config | undefined {
  const direct = place[key]
  if (isConfig(direct) && Object.keys(direct).length) return direct
  const [head, tail] = key.split('.')
  if (tail) {
    const nested = place[head!]
    const value = isConfig(nested) ? nested[tail] : undefined
    if (isConfig(value) && Object.keys(value).length) return value
  }
  return undefined
}

function isConfig(value: unknown): value is Config {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
