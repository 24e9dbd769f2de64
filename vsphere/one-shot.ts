import {
  type ConnectionOptions,
  type ResolvedConnectionParams,
  resolveConnectionParams,
} from './connection-params.ts'
import { ServiceInstance } from './service-instance.ts'

/**
 * Run `fn` with a fresh session and always log out afterwards: on success, on a throw, and
 * on abort. The logout uses its own timeout, so an aborted signal does not skip it.
 */
export async function withSession<T>(
  options: ConnectionOptions | ResolvedConnectionParams,
  fn: (si: ServiceInstance, signal: AbortSignal | undefined) => Promise<T>,
  { signal }: { signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const params = 'url' in options ? options : resolveConnectionParams(options)
  const si = await ServiceInstance.connect(params, { signal })
  try {
    await si.login({ signal })
    return await fn(si, signal)
  } finally {
    await si.logout()
  }
}
