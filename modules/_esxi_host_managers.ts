// Reading and calling the per-host managers (configManager.serviceSystem, dateTimeSystem,
// firewallSystem) for vmware_esxi's services, time and firewall groups.
import { type CallContext, ModuleError } from 'brine/loader'
import {
  type Entity,
  type ManagedObjectReference,
  propertiesOf,
  retrieveProperties,
} from 'brine/vsphere'
import { type Selection, selectHosts } from './_esxi.ts'

export type Manager = 'serviceSystem' | 'dateTimeSystem' | 'firewallSystem'

/**
 * The selected hosts, each with `path` read from its configManager.<manager> (one
 * PropertyCollector call for the hosts, one for their managers). A host without that manager
 * has `value` undefined.
 */
export async function readManagers(
  ctx: CallContext,
  sel: Selection,
  manager: Manager,
  path: string,
): Promise<Array<{ host: Entity; ref?: ManagedObjectReference; value?: unknown }>> {
  const hosts = await selectHosts(ctx, sel, [`configManager.${manager}`])
  const refs = hosts.map(
    (host) => host.props[`configManager.${manager}`] as ManagedObjectReference | undefined,
  )
  const present = refs.filter((ref): ref is ManagedObjectReference => ref !== undefined)
  const values = new Map<string, unknown>()
  if (present.length) {
    const objects = await retrieveProperties(
      ctx.serviceInstance,
      [
        {
          propSet: [{ type: present[0]!.type, pathSet: [path] }],
          objectSet: present.map((obj) => ({ obj })),
        },
      ],
      { signal: ctx.signal },
    )
    for (const object of objects) values.set(object.obj.value, propertiesOf(object)[path])
  }
  return hosts.map((host, i) => {
    const ref = refs[i]
    return ref ? { host, ref, value: values.get(ref.value) } : { host }
  })
}

/** A fault named by the server (NotFound, InvalidArgument) as a ModuleError that says the fix. */
export function explain(
  error: unknown,
  faults: Record<string, () => [message: string, code: string]>,
): unknown {
  const faultType = (error as { faultType?: string }).faultType
  const known = faultType ? faults[faultType] : undefined
  if (!known) return error
  const [message, code] = known()
  return new ModuleError(message, { code, cause: error })
}
