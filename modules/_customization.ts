// Guest customization: the argument model shared by vmware_customization, vmware_vm.clone,
// deploy_template and the vmware_vm.present state, its translation into a vim25
// CustomizationSpec, the reverse (a stored spec described in the same model, secrets left
// out), and the specs stored in vCenter. How a customization went: _customization_events.ts.
import { type CallContext, lazy, ModuleError, Secret, z } from 'brine/loader'
import { callVim, type ManagedObjectReference, retrieveObjectProperties } from 'brine/vsphere'
import { asList } from './_vmware.ts'

const secret = (what: string) => z.string().min(1).meta({ secret: true }).describe(what)

const linuxSchema = lazy(() =>
  z
    .object({
      hostname: z
        .string()
        .min(1)
        .optional()
        .describe('host name (default: the VM name; a trailing * makes it a prefix: web* → web-1)'),
      domain: z.string().min(1).describe('DNS domain of the guest'),
      time_zone: z.string().min(1).optional().describe('tz database name, e.g. Europe/Berlin'),
      hw_clock_utc: z.boolean().optional().describe('the hardware clock is in UTC'),
    })
    .strict(),
)

const windowsSchema = lazy(() =>
  z
    .object({
      computer_name: z
        .string()
        .min(1)
        .optional()
        .describe('NetBIOS computer name (default: the VM name; a trailing * makes it a prefix)'),
      full_name: z.string().min(1).default('Administrator').describe('registered user name'),
      org_name: z.string().min(1).default('Organization').describe('registered organization'),
      product_key: secret('Windows product key (never logged or shown)').optional(),
      admin_password: secret('Administrator password (never logged or shown)').optional(),
      time_zone: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .describe('Microsoft time zone index, e.g. 85 (GMT), 110 (W. Europe), 4 (Pacific)'),
      workgroup: z.string().min(1).optional().describe('workgroup to join'),
      join_domain: z.string().min(1).optional().describe('Active Directory domain to join'),
      domain_user: z.string().min(1).optional().describe('account that joins the domain'),
      domain_password: secret('password of domain_user (never logged or shown)').optional(),
      run_once: z.array(z.string().min(1)).optional().describe('commands run at first logon'),
    })
    .strict(),
)

const nicSchema = lazy(() =>
  z
    .object({
      dhcp: z.boolean().optional().describe('address by DHCP'),
      ip: z.string().min(1).optional().describe('static IPv4 address'),
      netmask: z.string().min(1).optional().describe('subnet mask, e.g. 255.255.255.0'),
      gateway: z
        .union([z.string().min(1), z.array(z.string().min(1))])
        .optional()
        .describe('default gateway(s)'),
    })
    .strict(),
)

/** The customization model's fields: vmware_customization.create takes them at the top level. */
export const customizationFields = lazy(() => ({
  linux: linuxSchema()
    .optional()
    .describe('Linux identity {hostname, domain, time_zone, hw_clock_utc}'),
  windows: windowsSchema()
    .optional()
    .describe(
      'Windows (sysprep) identity {computer_name, full_name, org_name, product_key, admin_password, ' +
        'time_zone, workgroup | join_domain + domain_user + domain_password, run_once}',
    ),
  nics: z
    .array(nicSchema())
    .optional()
    .describe('one entry per network adapter, in order: {ip, netmask, gateway} or {dhcp: True}'),
  dns_servers: z.array(z.string().min(1)).optional().describe('DNS servers'),
  dns_suffixes: z.array(z.string().min(1)).optional().describe('DNS search suffixes'),
}))

export const customizationSchema = lazy(() => z.object(customizationFields()).strict())
export type Customization = z.infer<ReturnType<typeof customizationSchema>>

/** The arguments vmware_vm.clone, deploy_template and present take to customize a new VM. */
export const customizationArgs = lazy(() => ({
  customization_spec: z
    .string()
    .min(1)
    .optional()
    .describe('name of a customization spec stored in vCenter (vmware_customization.list)'),
  customization: customizationSchema()
    .optional()
    .describe('customization from arguments: {linux | windows, nics, dns_servers, dns_suffixes}'),
  customization_timeout: z.coerce
    .number()
    .int()
    .min(0)
    .default(1800)
    .describe(
      'seconds to wait for the guest to report the customization after power-on (0: do not wait)',
    ),
}))

const argumentError = (message: string) => new ModuleError(message, { code: 'BRINE_ARGUMENT' })

/** A CustomizationName: fixed, the VM's name (none given), or a prefix (`web*`). */
function customizationName(name: string | undefined) {
  if (name === undefined) return { _type: 'CustomizationVirtualMachineName' }
  if (name.endsWith('*') && name.length > 1)
    return { _type: 'CustomizationPrefixName', base: name.slice(0, -1) }
  return { _type: 'CustomizationFixedName', name }
}

const password = (value: string) => ({ value: new Secret(value), plainText: true })

function linuxIdentity(linux: NonNullable<Customization['linux']>) {
  // CustomizationLinuxPrep, WSDL order.
  return {
    _type: 'CustomizationLinuxPrep',
    hostName: customizationName(linux.hostname),
    domain: linux.domain,
    timeZone: linux.time_zone,
    hwClockUTC: linux.hw_clock_utc,
  }
}

function windowsIdentity(windows: NonNullable<Customization['windows']>) {
  const where = 'customization windows'
  if (windows.workgroup && windows.join_domain)
    throw argumentError(`${where}: give workgroup or join_domain, not both`)
  if (windows.join_domain && !(windows.domain_user && windows.domain_password))
    throw argumentError(
      `${where}: join_domain '${windows.join_domain}' needs domain_user and domain_password`,
    )
  if (!windows.join_domain && (windows.domain_user || windows.domain_password))
    throw argumentError(`${where}: domain_user and domain_password go with join_domain`)
  // CustomizationSysprep and its parts, WSDL order.
  return {
    _type: 'CustomizationSysprep',
    guiUnattended: {
      password: windows.admin_password === undefined ? undefined : password(windows.admin_password),
      timeZone: windows.time_zone ?? 85,
      autoLogon: false,
      autoLogonCount: 1,
    },
    userData: {
      fullName: windows.full_name,
      orgName: windows.org_name,
      computerName: customizationName(windows.computer_name),
      productId: windows.product_key === undefined ? '' : new Secret(windows.product_key),
    },
    guiRunOnce: windows.run_once?.length ? { commandList: windows.run_once } : undefined,
    identification: windows.join_domain
      ? {
          joinDomain: windows.join_domain,
          domainAdmin: windows.domain_user,
          domainAdminPassword: password(windows.domain_password!),
        }
      : { joinWorkgroup: windows.workgroup ?? 'WORKGROUP' },
  }
}

function adapterMapping(
  nic: z.infer<ReturnType<typeof nicSchema>>,
  index: number,
  windowsDns: string[] | undefined,
) {
  const where = `customization nics[${index}]`
  if (nic.dhcp && (nic.ip || nic.netmask || nic.gateway))
    throw argumentError(`${where}: give {dhcp: True} or {ip, netmask, gateway}, not both`)
  if (!nic.dhcp && !(nic.ip && nic.netmask))
    throw argumentError(`${where}: a static address needs ip and netmask (or give dhcp: True)`)
  // CustomizationAdapterMapping > CustomizationIPSettings, WSDL order.
  return {
    adapter: {
      ip: nic.dhcp
        ? { _type: 'CustomizationDhcpIpGenerator' }
        : { _type: 'CustomizationFixedIp', ipAddress: nic.ip },
      subnetMask: nic.dhcp ? undefined : nic.netmask,
      gateway: nic.gateway === undefined ? undefined : asList(nic.gateway),
      dnsServerList: windowsDns,
    },
  }
}

/**
 * The vim25 CustomizationSpec for a customization given as arguments. Passwords travel as
 * Secrets (revealed only by the SOAP encoder). Throws BRINE_ARGUMENT naming the field at fault.
 */
export function buildCustomizationSpec(customization: Customization) {
  const { linux, windows } = customization
  if (!linux === !windows)
    throw argumentError('customization needs linux= or windows= (one of them)')
  const nics = customization.nics ?? [{ dhcp: true }]
  if (nics.length === 0) throw argumentError('customization nics: give one entry per adapter')
  // Windows takes its DNS servers per adapter; Linux globally (CustomizationGlobalIPSettings).
  const windowsDns = windows ? customization.dns_servers : undefined
  return {
    _type: 'CustomizationSpec',
    options: windows
      ? { _type: 'CustomizationWinOptions', changeSID: true, deleteAccounts: false }
      : { _type: 'CustomizationLinuxOptions' },
    identity: linux ? linuxIdentity(linux) : windowsIdentity(windows!),
    globalIPSettings: {
      dnsSuffixList: customization.dns_suffixes,
      dnsServerList: windows ? undefined : customization.dns_servers,
    },
    nicSettingMap: nics.map((nic, i) => adapterMapping(nic, i, windowsDns)),
  }
}

type Raw = Record<string, unknown>
const raw = (value: unknown): Raw => (value ?? {}) as Raw
const strings = (value: unknown): string[] =>
  asList(value as string | string[] | undefined).map(String)
const isTrue = (value: unknown) => value === true || value === 'true'

function describeName(name: unknown): string | undefined {
  const n = raw(name)
  if (n._type === 'CustomizationFixedName') return String(n.name)
  if (n._type === 'CustomizationPrefixName') return `${String(n.base)}*`
  return undefined
}

/**
 * A CustomizationSpec (as built here or as vCenter answers it) in the argument model, without
 * its secrets: `admin_password_set` / `domain_password_set` say whether one is there.
 */
export function describeCustomizationSpec(spec: unknown): Record<string, unknown> {
  const s = raw(spec)
  const identity = raw(s.identity)
  const global = raw(s.globalIPSettings)
  const mappings = asList(s.nicSettingMap as Raw | Raw[] | undefined).map((m) =>
    raw(raw(m).adapter),
  )
  const out: Record<string, unknown> = {}
  const compact = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
  if (identity._type === 'CustomizationLinuxPrep') {
    out.linux = compact({
      hostname: describeName(identity.hostName),
      domain: identity.domain === undefined ? undefined : String(identity.domain),
      time_zone: identity.timeZone === undefined ? undefined : String(identity.timeZone),
      hw_clock_utc: identity.hwClockUTC === undefined ? undefined : isTrue(identity.hwClockUTC),
    })
  } else if (identity._type === 'CustomizationSysprep') {
    const gui = raw(identity.guiUnattended)
    const user = raw(identity.userData)
    const id = raw(identity.identification)
    const runOnce = strings(raw(identity.guiRunOnce).commandList)
    out.windows = compact({
      computer_name: describeName(user.computerName),
      full_name: user.fullName === undefined ? undefined : String(user.fullName),
      org_name: user.orgName === undefined ? undefined : String(user.orgName),
      product_key_set: Boolean(user.productId && String(user.productId) !== ''),
      admin_password_set: gui.password !== undefined,
      time_zone: gui.timeZone === undefined ? undefined : Number(gui.timeZone),
      workgroup: id.joinWorkgroup === undefined ? undefined : String(id.joinWorkgroup),
      join_domain: id.joinDomain === undefined ? undefined : String(id.joinDomain),
      domain_user: id.domainAdmin === undefined ? undefined : String(id.domainAdmin),
      domain_password_set:
        id.joinDomain === undefined ? undefined : id.domainAdminPassword !== undefined,
      run_once: runOnce.length ? runOnce : undefined,
    })
  } else if (identity._type) {
    out.identity_type = identity._type
  }
  out.nics = mappings.map((a) => {
    const ip = raw(a.ip)
    if (ip._type === 'CustomizationFixedIp')
      return compact({
        ip: String(ip.ipAddress),
        netmask: a.subnetMask === undefined ? undefined : String(a.subnetMask),
        gateway: a.gateway === undefined ? undefined : strings(a.gateway),
      })
    if (ip._type === 'CustomizationDhcpIpGenerator') return { dhcp: true }
    return { ip_generator: String(ip._type ?? 'unknown') }
  })
  const dns = [
    ...strings(global.dnsServerList),
    ...mappings.flatMap((a) => strings(a.dnsServerList)),
  ]
  out.dns_servers = [...new Set(dns)]
  out.dns_suffixes = strings(global.dnsSuffixList)
  return out
}

/** The wanted customization as describeCustomizationSpec shows a stored one (to compare them). */
export function comparableCustomization(customization: Customization) {
  return describeCustomizationSpec(buildCustomizationSpec(customization))
}

/**
 * What a state reports it will apply: the stored spec's name, or the customization described
 * without its secrets; undefined when none is asked for.
 */
export function customizationChange(args: {
  customization_spec?: string | undefined
  customization?: Customization | undefined
}): Record<string, unknown> | undefined {
  if (args.customization_spec !== undefined && args.customization !== undefined)
    throw argumentError('give customization_spec= (a stored spec) or customization=, not both')
  if (args.customization) return comparableCustomization(args.customization)
  if (args.customization_spec !== undefined) return { spec: args.customization_spec }
  return undefined
}

export function specManager(ctx: CallContext): ManagedObjectReference {
  const ref = ctx.serviceInstance.content.customizationSpecManager as
    | ManagedObjectReference
    | undefined
  if (!ref)
    throw new ModuleError(
      'this endpoint has no CustomizationSpecManager: customization specs live in vCenter, not on an ESXi host',
      { code: 'BRINE_INVALID_STATE' },
    )
  return ref
}

/** A stored CustomizationSpecItem ({info, spec}) by name, or undefined when there is none. */
export async function getStoredSpec(ctx: CallContext, name: string): Promise<Raw | undefined> {
  const manager = specManager(ctx)
  const exists = await callVim<boolean | string>(
    ctx.serviceInstance,
    `looking up customization spec '${name}'`,
    'DoesCustomizationSpecExist',
    { _this: manager, name },
    { signal: ctx.signal },
  )
  if (!isTrue(exists)) return undefined
  const item = await callVim<Raw>(
    ctx.serviceInstance,
    `reading customization spec '${name}'`,
    'GetCustomizationSpec',
    { _this: manager, name },
    { signal: ctx.signal },
  )
  guardSecrets(raw(item.spec))
  return item
}

/**
 * Turn the passwords and the product key of a spec vCenter answered (or the whole answer file
 * of a CustomizationSysprepText) into Secrets, in place:
 * from here on they are masked wherever they appear, and revealed only when the spec is sent.
 */
function guardSecrets(spec: Raw): void {
  const identity = raw(spec.identity)
  const guard = (holder: Raw, key: string) => {
    const value = holder[key]
    if (typeof value === 'string' && value !== '') holder[key] = new Secret(value)
  }
  if (identity.guiUnattended) guard(raw(raw(identity.guiUnattended).password), 'value')
  if (identity.identification) guard(raw(raw(identity.identification).domainAdminPassword), 'value')
  if (identity.userData) guard(raw(identity.userData), 'productId')
  // A Sysprep answer file holds them all in its text.
  if (identity._type === 'CustomizationSysprepText') guard(identity, 'value')
}

/** The stored specs' info (name, description, type, changeVersion, lastUpdateTime). */
export async function listStoredSpecs(ctx: CallContext): Promise<Raw[]> {
  const props = await retrieveObjectProperties(ctx.serviceInstance, specManager(ctx), ['info'], {
    signal: ctx.signal,
  })
  return asList(props.info as Raw | Raw[] | undefined)
}

/** The customization a clone or deploy asks for (a stored spec by name, or arguments), if any. */
export async function resolveCustomization(
  ctx: CallContext,
  args: { customization_spec?: string | undefined; customization?: Customization | undefined },
): Promise<Raw | undefined> {
  if (args.customization_spec !== undefined && args.customization !== undefined)
    throw argumentError('give customization_spec= (a stored spec) or customization=, not both')
  if (args.customization) return buildCustomizationSpec(args.customization)
  if (args.customization_spec === undefined) return undefined
  const item = await getStoredSpec(ctx, args.customization_spec)
  if (!item)
    throw new ModuleError(
      `customization spec '${args.customization_spec}' not found: vmware_customization.list shows the stored ones`,
      { code: 'BRINE_NOT_FOUND' },
    )
  return raw(item.spec)
}
