// Where vSphere credentials come from, compatible with saltext-vmware:
// `saltext.vmware: { host, user, password, ssl_thumbprint, port, ca_file, insecure,
// <profile>: {…}, esxi_host: { <name>: { user, password, ssl_thumbprint } } }`, looked up in
// the config file (opts), then grains, then pillar; the legacy `vmware_config` key with a
// deprecation warning; and `SALTEXT_VMWARE_HOST|USER|PASSWORD`, which override their field.
// brine adds `connect_timeout` and `request_timeout` (seconds) and `max_response_size` (bytes,
// or `64 MiB`), read like the other keys (from the profile's section, or the host's entry).
// The config file's path, when there is one, is `opts.conf_file` (Salt's name).
import { log } from '../core/log.ts'
import {
  type ConnectionOptions,
  MAX_RESPONSE_BYTES,
  MAX_TIMEOUT_MS,
  resolveConnectionParams,
  typeName,
} from './connection-params.ts'
import { ConnectionParamsError, VsphereError } from './errors.ts'

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
  constructor(message: string, missing: string[] = [], code = 'BRINE_VIM_CREDENTIALS') {
    super(message, { code })
    this.missing = missing
  }
}

/**
 * A `saltext.vmware` value is wrong (a number where a string belongs, a bad port, a malformed
 * thumbprint, a ca_file that cannot be read…): a configuration error (`BRINE_CONFIG`, exit 2),
 * naming the key (`saltext.vmware:lab:port`) and where it came from (the config file's path,
 * pillar, grains, or the environment variable).
 */
export class VsphereConfigError extends CredentialsError {
  static override readonly kind: string = 'VsphereConfigError'
  /** The key's path, e.g. `saltext.vmware:lab:port`. */
  readonly key: string
  /** `the config file /etc/brine.yaml`, `pillar`, `grains` or `SALTEXT_VMWARE_HOST`. */
  readonly origin: string
  constructor(key: string, origin: string, message: string, options: { cause?: unknown } = {}) {
    super(message, [], 'BRINE_CONFIG')
    this.key = key
    this.origin = origin
    if (options.cause !== undefined) this.cause = options.cause
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
  const configOrigin = !found
    ? 'the config file or pillar'
    : found.source === 'the config file' && typeof sources.opts.conf_file === 'string'
      ? `the config file ${sources.opts.conf_file}`
      : found.source
  const where = found ? `${found.key} in ${configOrigin}` : 'saltext.vmware'
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
      const known = isConfig(hosts) ? Object.keys(hosts) : []
      const section = [found?.key ?? 'saltext.vmware', ...(lookup.profile ? [lookup.profile] : [])]
      throw new CredentialsError(
        `${INCOMPLETE} ESXi host '${lookup.esxiHost}' has no credentials under ${section.join(':')}:esxi_host (in ${configOrigin})${known.length ? `; hosts there: ${known.join(', ')}` : ''}. Add ${section.join(':')}:esxi_host:${lookup.esxiHost}: {user, password} to the config file or pillar.`,
        ['user', 'password'],
      )
    }
    // The entry's key is the host's address (saltext's rule); brine lets the entry give
    // another one (`host:`), for an inventory name that does not resolve.
    options = { host: lookup.esxiHost, ...host }
  } else {
    options = { ...section }
    // Environment overrides each field on its own, profile or not (saltext-vmware's rule).
    for (const [field, variable] of ENV_FIELDS) {
      const value = sources.env[variable]
      if (value) options[field] = value
    }
  }

  // Where each key came from, for errors: `saltext.vmware:lab:port (in the config file …)`.
  const keyPrefix = [
    found?.key ?? 'saltext.vmware',
    ...(lookup.profile ? [lookup.profile] : []),
    ...(lookup.esxiHost ? ['esxi_host', lookup.esxiHost] : []),
  ].join(':')
  const fromEnv = new Set<string>()
  if (!lookup.esxiHost) {
    for (const [field, variable] of ENV_FIELDS) if (sources.env[variable]) fromEnv.add(field)
  }
  const keyOf = (field: string) => `${keyPrefix}:${field}`
  const originOf = (field: string) => {
    const variable = ENV_FIELDS.find(([f]) => f === field)?.[1]
    return variable && fromEnv.has(field) ? variable : configOrigin
  }
  const described = (field: string) => {
    const origin = originOf(field)
    return origin.startsWith('SALTEXT_')
      ? `${origin} (${keyOf(field)})`
      : `${keyOf(field)} (in ${origin})`
  }
  const fail = (field: string, problem: string, cause?: unknown): never => {
    throw new VsphereConfigError(keyOf(field), originOf(field), `${described(field)} ${problem}`, {
      cause,
    })
  }

  // A YAML number or list where a string belongs is a typo, not a missing value.
  for (const field of ['host', 'user', 'password']) {
    const value = options[field]
    if (value === undefined || value === null || typeof value === 'string') continue
    fail(
      field,
      `must be a string, not ${typeName(value)}: quote it${field === 'password' ? '' : ` (${field}: "…")`}.`,
    )
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
      `${INCOMPLETE} vSphere credentials incomplete for ${subject}: missing ${missing.join(', ')}. Set ${missing.map((key) => `${prefix}:${key}`).join(', ')} in the config file or pillar${lookup.esxiHost ? '' : `, or ${missing.map((key) => `SALTEXT_VMWARE_${key.toUpperCase()}`).join(', ')}`}.`,
      missing,
    )
  }

  for (const field of ['insecure', 'verify_ssl']) {
    const value = options[field]
    if (value !== undefined && value !== null && typeof value !== 'boolean')
      fail(field, `must be true or false, not ${JSON.stringify(value)}.`)
  }
  for (const field of ['ssl_thumbprint', 'ca_file']) {
    const value = options[field]
    if (value !== undefined && value !== null && typeof value !== 'string')
      fail(
        field,
        `must be a string, not ${typeName(value)}: quote it${field === 'ssl_thumbprint' ? ' (ssl_thumbprint: "AB:CD:…")' : ''}.`,
      )
  }
  const insecure = options.insecure === true || options.verify_ssl === false
  const result: ConnectionOptions = {
    server: options.host as string,
    user: options.user as string,
    password: options.password as string,
    port: port(options.port, (problem) => fail('port', problem)),
    thumbprint: typeof options.ssl_thumbprint === 'string' ? options.ssl_thumbprint : undefined,
    caFile: typeof options.ca_file === 'string' ? options.ca_file : undefined,
    insecure,
    connectTimeoutMs: timeoutMs(options.connect_timeout, (problem) =>
      fail('connect_timeout', problem),
    ),
    requestTimeoutMs: timeoutMs(options.request_timeout, (problem) =>
      fail('request_timeout', problem),
    ),
    maxResponseBytes: byteSize(options.max_response_size, (problem) =>
      fail('max_response_size', problem),
    ),
    label: lookup.esxiHost ? `esxi:${lookup.esxiHost}` : (lookup.profile ?? 'default'),
  }

  // Everything else (host syntax, thumbprint format, insecure with a pin, a readable CA file)
  // is checked by resolveConnectionParams; here its errors name the key and where it came from.
  try {
    resolveConnectionParams(result)
  } catch (error) {
    if (!(error instanceof ConnectionParamsError)) throw error
    const field =
      error.param === 'insecure'
        ? options.insecure === true
          ? 'insecure'
          : 'verify_ssl'
        : (PARAM_KEYS[error.param] ?? error.param)
    fail(field, `is wrong: ${error.message}`, error)
  }
  return result
}

/** saltext-vmware's sentence (utils/connect.py, PR #305); brine's detail follows it. */
const INCOMPLETE = 'Cannot create service instance, VMware credentials incomplete.'

const ENV_FIELDS = [
  ['host', 'SALTEXT_VMWARE_HOST'],
  ['user', 'SALTEXT_VMWARE_USER'],
  ['password', 'SALTEXT_VMWARE_PASSWORD'],
] as const

/** resolveConnectionParams's option names → saltext.vmware keys. */
const PARAM_KEYS: Record<string, string> = {
  server: 'host',
  user: 'user',
  password: 'password',
  port: 'port',
  thumbprint: 'ssl_thumbprint',
  caFile: 'ca_file',
  connectTimeoutMs: 'connect_timeout',
  requestTimeoutMs: 'request_timeout',
  maxResponseBytes: 'max_response_size',
}

function port(value: unknown, fail: (problem: string) => never): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535)
    fail(`must be a number from 1 to 65535, not ${JSON.stringify(value)}.`)
  return number as number
}

function timeoutMs(value: unknown, fail: (problem: string) => never): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (
    typeof number !== 'number' ||
    !Number.isFinite(number) ||
    number <= 0 ||
    number * 1000 > MAX_TIMEOUT_MS
  )
    fail(
      `must be a number of seconds above 0 and at most ${MAX_TIMEOUT_MS / 1000} (a day), not ${JSON.stringify(value)}.`,
    )
  return (number as number) * 1000
}

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }

function byteSize(value: unknown, fail: (problem: string) => never): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  let bytes: number | undefined
  if (typeof value === 'number') bytes = value
  else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
    const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined
    if (match && unit !== undefined) bytes = Math.floor(Number(match[1]) * unit)
  }
  if (bytes === undefined || !Number.isInteger(bytes) || bytes < 1 || bytes > MAX_RESPONSE_BYTES)
    fail(
      `must be a number of bytes (or "64 MiB": KiB, MiB, GiB) from 1 to ${MAX_RESPONSE_BYTES} (about 512 MiB, the longest answer Node can decode), not ${JSON.stringify(value)}.`,
    )
  return bytes
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
