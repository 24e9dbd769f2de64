import {
  type CallContext,
  defineFunction,
  defineModule,
  ModuleError,
  Secret,
  z,
} from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type Entity,
  getEntity,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
  typedPrimitive,
} from 'brine/vsphere'
import { findCluster, findDatacenter, folderAt, isTrue, names } from './_vmware.ts'

const HOST_PROPS = [
  'runtime.connectionState',
  'runtime.powerState',
  'runtime.inMaintenanceMode',
  'summary.hardware.numCpuCores',
  'summary.hardware.memorySize',
  'config.product.fullName',
  'parent',
]

async function findHost(
  ctx: CallContext,
  name: string,
  props: string[] = HOST_PROPS,
  path = false,
): Promise<Entity> {
  return getEntity(ctx.serviceInstance, ENTITY_TYPES.host, name, {
    props,
    path,
    signal: ctx.signal,
  })
}

function describeHost(host: Entity, path?: string) {
  const p = host.props
  return {
    name: host.name,
    id: host.obj.value,
    connection_state: p['runtime.connectionState'],
    power_state: p['runtime.powerState'],
    maintenance_mode: p['runtime.inMaintenanceMode'] === true,
    cpu_cores: p['summary.hardware.numCpuCores'],
    memory_mb:
      typeof p['summary.hardware.memorySize'] === 'number'
        ? Math.round((p['summary.hardware.memorySize'] as number) / 1024 / 1024)
        : undefined,
    product: p['config.product.fullName'],
    parent: (p.parent as ManagedObjectReference | undefined)?.value,
    ...(path ? { path } : {}),
  }
}

const host = z.string().min(1).describe('host name or id')
const maintenanceArgs = {
  name: host,
  timeout: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('seconds vCenter may take (0: no limit)'),
}

/** A manager of the host (configManager.<which>): firewallSystem, advancedOption, … */
async function hostManager(
  ctx: CallContext,
  name: string,
  which: string,
): Promise<{ host: Entity; manager: ManagedObjectReference }> {
  const found = await findHost(ctx, name, [`configManager.${which}`])
  const manager = found.props[`configManager.${which}`] as ManagedObjectReference | undefined
  if (!manager)
    throw new ModuleError(`host '${found.name}' has no ${which}`, { code: 'BRINE_UNSUPPORTED' })
  return { host: found, manager }
}

async function rulesets(ctx: CallContext, name: string) {
  const { host: found, manager } = await hostManager(ctx, name, 'firewallSystem')
  const { firewallInfo } = await retrieveObjectProperties(
    ctx.serviceInstance,
    manager,
    ['firewallInfo'],
    { signal: ctx.signal },
  )
  const list = (
    (
      firewallInfo as
        | { ruleset?: Array<{ key: string; label?: string; enabled: boolean; required: boolean }> }
        | undefined
    )?.ruleset ?? []
  ).map((r) => ({
    key: r.key,
    label: r.label ?? r.key,
    enabled: r.enabled,
    required: r.required,
  }))
  return { host: found, manager, list }
}

/** Enter or exit maintenance mode; a host already there is left alone (changed: false). */
async function setMaintenance(
  ctx: CallContext,
  name: string,
  timeout: number,
  enter: boolean,
  extra: { evacuatePoweredOffVms?: boolean; maintenanceSpec?: Record<string, unknown> } = {},
) {
  const found = await findHost(ctx, name)
  if ((found.props['runtime.inMaintenanceMode'] === true) === enter)
    return { name: found.name, maintenance_mode: enter, changed: false }
  const what = enter
    ? `putting host '${found.name}' in maintenance mode`
    : `taking host '${found.name}' out of maintenance mode`
  await runTask(
    ctx.serviceInstance,
    what,
    enter ? 'EnterMaintenanceMode_Task' : 'ExitMaintenanceMode_Task',
    enter
      ? {
          _this: found.obj,
          timeout,
          evacuatePoweredOffVms: extra.evacuatePoweredOffVms,
          maintenanceSpec: extra.maintenanceSpec && {
            _type: 'HostMaintenanceSpec',
            ...extra.maintenanceSpec,
          },
        }
      : { _this: found.obj, timeout },
    { signal: ctx.signal },
  )
  return { name: found.name, maintenance_mode: enter, changed: true }
}

/**
 * Local accounts live on each ESXi host and are managed through the host's own endpoint
 * (vCenter has no HostLocalAccountManager): the connection must be to the host itself.
 */
async function localAccounts(ctx: CallContext) {
  const si = ctx.serviceInstance
  const { accountManager, userDirectory } = si.content
  if (si.content.about.apiType !== 'HostAgent' || !accountManager)
    throw new ModuleError(
      'local users are managed on the ESXi host itself, not through vCenter: call this with a ' +
        'profile whose host is the ESXi host (profile=<name>)',
      { code: 'BRINE_UNSUPPORTED' },
    )
  const hostName = (await listEntities(si, ENTITY_TYPES.host, { signal: ctx.signal }))[0]?.name
  return {
    si,
    accountManager,
    userDirectory: userDirectory as ManagedObjectReference,
    host: hostName ?? si.params.url.hostname,
  }
}

async function localUsers(ctx: CallContext) {
  const { si, userDirectory, host } = await localAccounts(ctx)
  const found = await callVim<
    | Array<{
        principal: string
        fullName?: string
        group: boolean | string
        shellAccess?: boolean | string
      }>
    | undefined
  >(
    si,
    `listing local users of host '${host}'`,
    'RetrieveUserGroups',
    { _this: userDirectory, searchStr: '', exactMatch: false, findUsers: true, findGroups: false },
    { signal: ctx.signal },
  )
  const rows = found === undefined ? [] : Array.isArray(found) ? found : [found]
  return {
    host,
    users: rows
      .filter((u) => u.group !== true && u.group !== 'true')
      .map((u) => ({
        name: u.principal,
        description: u.fullName ?? '',
        // PosixUserSearchResult's (a real ESXi host's answer); vcsim's has none.
        shell_access: u.shellAccess === undefined ? undefined : isTrue(u.shellAccess),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }
}

const userName = z.string().min(1).describe('local user name')
/**
 * Connect to this ESXi host itself, with the profile's `esxi_host` credentials for it (the
 * runtime does the connecting: see loader/runtime.ts).
 */
const esxiHostName = z
  .string()
  .min(1)
  .optional()
  .describe('ESXi host to connect to directly, with its esxi_host credentials')

/** Disconnect or reconnect a host; one already in that state is left alone (changed: false). */
async function setConnection(
  ctx: CallContext,
  name: string,
  connect: boolean,
  credentials?: { userName: string; password: Secret },
) {
  const found = await findHost(ctx, name)
  const state = found.props['runtime.connectionState']
  if (!credentials && (state === 'connected') === connect)
    return { ...describeHost(found), changed: false }
  const what = connect ? `reconnecting host '${found.name}'` : `disconnecting host '${found.name}'`
  await runTask(
    ctx.serviceInstance,
    what,
    connect ? 'ReconnectHost_Task' : 'DisconnectHost_Task',
    connect ? { _this: found.obj, cnxSpec: credentials } : { _this: found.obj },
    { signal: ctx.signal },
  )
  return { ...describeHost(await findHost(ctx, found.obj.value)), changed: true }
}

export default defineModule({
  doc: 'ESXi hosts as vCenter sees them: inventory, add/remove, maintenance mode, firewall, advanced options.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc: 'List hosts (in a datacenter or cluster when given): name, id, states, CPU cores, memory.',
      args: () => ({ datacenter: names.datacenter.optional(), cluster: names.cluster.optional() }),
      run: async (ctx, { datacenter, cluster }) => {
        const within = cluster
          ? (await findCluster(ctx, cluster, datacenter)).obj
          : datacenter
            ? (await findDatacenter(ctx, datacenter)).obj
            : undefined
        const hosts = await listEntities(ctx.serviceInstance, ENTITY_TYPES.host, {
          within,
          props: HOST_PROPS,
          signal: ctx.signal,
        })
        return hosts.map((h) => describeHost(h)).sort((a, b) => a.name.localeCompare(b.name))
      },
    }),
    get: defineFunction({
      doc: 'Describe one host, with its inventory path.',
      args: () => ({ name: host }),
      run: async (ctx, { name }) => {
        const found = await findHost(ctx, name, HOST_PROPS, true)
        return describeHost(found, found.path)
      },
    }),
    add: defineFunction({
      doc:
        'Add an ESXi host to vCenter: into a cluster, or as a standalone host in a datacenter ' +
        '(optionally in a host folder). Pass the host’s SHA-1 thumbprint after checking it; ' +
        'without one vCenter refuses with SSLVerifyFault and the error names the thumbprint it saw.',
      args: () => ({
        name: z.string().min(1).describe('host name or address, as vCenter will reach it'),
        datacenter: names.datacenter,
        cluster: names.cluster.optional().describe('cluster to join (default: standalone)'),
        folder: z.string().optional().describe('host folder path for a standalone host'),
        user: z.string().min(1).default('root').describe('ESXi user'),
        password: z.string().min(1).describe('ESXi password (never logged or shown)'),
        thumbprint: z.string().optional().describe('the host certificate’s SHA-1 thumbprint'),
        port: z.coerce.number().int().min(1).max(65535).default(443).describe('ESXi port'),
        force: z
          .boolean()
          .default(false)
          .describe('take the host over even if another vCenter manages it'),
        connected: z.boolean().default(true).describe('connect it once added'),
      }),
      run: async (ctx, args) => {
        const si = ctx.serviceInstance
        const spec = {
          hostName: args.name,
          port: args.port,
          sslThumbprint: args.thumbprint,
          userName: args.user,
          password: new Secret(args.password),
          force: args.force,
        }
        const what = `adding host '${args.name}'`
        let added: ManagedObjectReference
        if (args.cluster) {
          if (args.folder)
            throw new ModuleError(
              'pass cluster= or folder=, not both (a clustered host has no folder)',
              {
                code: 'BRINE_ARGUMENT',
              },
            )
          const cluster = await findCluster(ctx, args.cluster, args.datacenter)
          added = await runTask(
            si,
            `${what} to cluster '${cluster.name}'`,
            'AddHost_Task',
            {
              _this: cluster.obj,
              spec,
              asConnected: args.connected,
            },
            { signal: ctx.signal },
          )
        } else {
          const dc = await findDatacenter(ctx, args.datacenter, ['hostFolder'])
          const folder = args.folder
            ? await folderAt(ctx, dc, 'host', args.folder)
            : (dc.props.hostFolder as ManagedObjectReference)
          added = await runTask(
            si,
            `${what} to datacenter '${dc.name}'`,
            'AddStandaloneHost_Task',
            {
              _this: folder,
              spec,
              addConnected: args.connected,
            },
            { signal: ctx.signal },
          )
        }
        return describeHost(await findHost(ctx, added.value))
      },
    }),
    remove: defineFunction({
      doc:
        'Remove a host from vCenter. A clustered host must be in maintenance mode first ' +
        '(maintenance=True enters it); a host running VMs is refused.',
      args: () => ({
        name: host,
        maintenance: z.boolean().default(false).describe('enter maintenance mode first if needed'),
      }),
      run: async (ctx, { name, maintenance }) => {
        const si = ctx.serviceInstance
        const found = await findHost(ctx, name)
        const parent = found.props.parent as ManagedObjectReference
        const clustered = parent.type === 'ClusterComputeResource'
        if (clustered && found.props['runtime.inMaintenanceMode'] !== true) {
          if (!maintenance)
            throw new ModuleError(
              `host '${found.name}' is in a cluster and not in maintenance mode: enter it first, or pass maintenance=True`,
              { code: 'BRINE_INVALID_STATE' },
            )
          await setMaintenance(ctx, found.obj.value, 0, true)
        }
        // A standalone host goes with its ComputeResource; a clustered one by itself.
        await runTask(
          si,
          `removing host '${found.name}'`,
          'Destroy_Task',
          {
            _this: clustered ? found.obj : parent,
          },
          { signal: ctx.signal },
        )
        return { name: found.name, id: found.obj.value, removed: true }
      },
    }),
    disconnect: defineFunction({
      doc: 'Disconnect a host from vCenter (it stays in the inventory; VMs keep running).',
      args: () => ({ name: host }),
      run: (ctx, { name }) => setConnection(ctx, name, false),
    }),
    reconnect: defineFunction({
      doc: 'Reconnect a host; with user/password when its credentials changed.',
      args: () => ({
        name: host,
        user: z
          .string()
          .min(1)
          .optional()
          .describe('ESXi user, when reconnecting with new credentials'),
        password: z.string().min(1).optional().describe('ESXi password (never logged or shown)'),
      }),
      run: (ctx, { name, user, password }) =>
        setConnection(
          ctx,
          name,
          true,
          password ? { userName: user ?? 'root', password: new Secret(password) } : undefined,
        ),
    }),
    list_users: defineFunction({
      doc: 'Local users of the ESXi host this profile (or esxi_host_name) connects to: [{name, description}].',
      args: () => ({ esxi_host_name: esxiHostName }),
      run: async (ctx) => (await localUsers(ctx)).users,
    }),
    add_user: defineFunction({
      doc: 'Create a local user on the ESXi host this profile connects to.',
      args: () => ({
        user: userName,
        password: z.string().min(1).describe('password (never logged or shown)'),
        description: z.string().optional().describe('description (full name)'),
        esxi_host_name: esxiHostName,
      }),
      run: async (ctx, { user, password, description }) => {
        const { si, accountManager, host: hostName } = await localAccounts(ctx)
        await callVim(si, `creating local user '${user}' on host '${hostName}'`, 'CreateUser', {
          _this: accountManager,
          user: { _type: 'HostAccountSpec', id: user, password: new Secret(password), description },
        })
        return { host: hostName, user, created: true }
      },
    }),
    update_user: defineFunction({
      doc: 'Change a local user’s password and/or description.',
      args: () => ({
        user: userName,
        password: z.string().min(1).optional().describe('new password'),
        description: z.string().optional().describe('new description'),
        esxi_host_name: esxiHostName,
      }),
      run: async (ctx, { user, password, description }) => {
        const { si, accountManager, host: hostName } = await localAccounts(ctx)
        if (!(await localUsers(ctx)).users.some((u) => u.name === user))
          throw new ModuleError(`local user '${user}' not found on host '${hostName}'`, {
            code: 'BRINE_NOT_FOUND',
          })
        await callVim(si, `updating local user '${user}' on host '${hostName}'`, 'UpdateUser', {
          _this: accountManager,
          user: {
            _type: 'HostAccountSpec',
            id: user,
            password: password === undefined ? undefined : new Secret(password),
            description,
          },
        })
        return { host: hostName, user, updated: true }
      },
    }),
    remove_user: defineFunction({
      doc: 'Delete a local user from the ESXi host this profile connects to.',
      args: () => ({ user: userName, esxi_host_name: esxiHostName }),
      run: async (ctx, { user }) => {
        const { si, accountManager, host: hostName } = await localAccounts(ctx)
        await callVim(si, `removing local user '${user}' from host '${hostName}'`, 'RemoveUser', {
          _this: accountManager,
          userName: user,
        })
        return { host: hostName, user, removed: true }
      },
    }),
    firewall_rulesets: defineFunction({
      doc: 'List a host’s firewall rulesets: key, label, enabled, required.',
      args: () => ({ name: host }),
      run: async (ctx, { name }) => (await rulesets(ctx, name)).list,
    }),
    firewall_ruleset: defineFunction({
      doc: 'Enable or disable a firewall ruleset (by key, e.g. sshServer).',
      args: () => ({
        name: host,
        ruleset: z.string().min(1).describe('ruleset key'),
        enabled: z.boolean().describe('enable or disable'),
      }),
      run: async (ctx, { name, ruleset, enabled }) => {
        const { host: found, manager, list } = await rulesets(ctx, name)
        const current = list.find((r) => r.key === ruleset)
        if (!current)
          throw new ModuleError(
            `firewall ruleset '${ruleset}' not found on host '${found.name}' (have: ${list.map((r) => r.key).join(', ')})`,
            { code: 'BRINE_NOT_FOUND' },
          )
        if (current.enabled === enabled) return { ...current, changed: false }
        await callVim(
          ctx.serviceInstance,
          `${enabled ? 'enabling' : 'disabling'} ruleset '${ruleset}' on host '${found.name}'`,
          enabled ? 'EnableRuleset' : 'DisableRuleset',
          { _this: manager, id: ruleset },
        )
        return { ...current, enabled, changed: true }
      },
    }),
    get_advanced: defineFunction({
      doc: 'Advanced options of a host whose key starts with `key` (e.g. Config.HostAgent): {key: value}.',
      args: () => ({ name: host, key: z.string().default('').describe('option key or prefix') }),
      run: async (ctx, { name, key }) => {
        const { host: found, manager } = await hostManager(ctx, name, 'advancedOption')
        const options = await callVim<Array<{ key: string; value: unknown }>>(
          ctx.serviceInstance,
          `reading advanced options '${key}' of host '${found.name}'`,
          'QueryOptions',
          { _this: manager, name: key },
        )
        return Object.fromEntries(options.map((o) => [o.key, o.value]))
      },
    }),
    set_advanced: defineFunction({
      doc: 'Set one advanced option of a host.',
      args: () => ({
        name: host,
        key: z.string().min(1).describe('option key'),
        value: z.union([z.string(), z.number(), z.boolean()]).describe('the value'),
      }),
      run: async (ctx, { name, key, value }) => {
        const { host: found, manager } = await hostManager(ctx, name, 'advancedOption')
        await callVim(
          ctx.serviceInstance,
          `setting advanced option '${key}' of host '${found.name}'`,
          'UpdateOptions',
          { _this: manager, changedValue: [{ key, value: typedPrimitive(value) }] },
        )
        return { name: found.name, key, value }
      },
    }),
    enter_maintenance_mode: defineFunction({
      doc: 'Put a host in maintenance mode (VMs must be moved or powered off first on a real vCenter).',
      args: () => ({
        ...maintenanceArgs,
        evacuate_powered_off_vms: z
          .boolean()
          .default(false)
          .describe('vCenter with DRS: move powered-off VMs away too'),
        maintenance_spec: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('HostMaintenanceSpec fields (e.g. vsanMode)'),
      }),
      run: (ctx, { name, timeout, evacuate_powered_off_vms, maintenance_spec }) =>
        setMaintenance(ctx, name, timeout, true, {
          evacuatePoweredOffVms: evacuate_powered_off_vms,
          ...(maintenance_spec ? { maintenanceSpec: maintenance_spec } : {}),
        }),
    }),
    exit_maintenance_mode: defineFunction({
      doc: 'Take a host out of maintenance mode.',
      args: () => maintenanceArgs,
      run: (ctx, { name, timeout }) => setMaintenance(ctx, name, timeout, false),
    }),
  },
})
