import type { ServiceInstance } from './service-instance.ts'
import { Transport } from './transport.ts'

/** `https://*` or `https://*:port` at the start of a URL vCenter handed out. */
const ANY_HOST = /^(https?:\/\/)\*(?::\d+)?(?=\/)/

/**
 * A file transfer to a URL vCenter handed out (an OVF lease's device URL, a guest file's
 * transfer URL). Host `*` means the endpoint the session is connected to: the session's own
 * transport (`local`); another host (an ESXi host) gets a one-connection transport of its own
 * with the session's TLS settings, and the thumbprint vCenter vouched for when it gave one,
 * closed when `fn` is done.
 */
export async function withTransferTransport<T>(
  si: ServiceInstance,
  url: string,
  thumbprint: string | undefined,
  fn: (transport: Transport, target: URL, local: boolean) => Promise<T>,
): Promise<T> {
  const local = ANY_HOST.test(url)
  const target = new URL(local ? url.replace(ANY_HOST, `$1${si.params.url.host}`) : url)
  const transport = local
    ? si.transport
    : new Transport({
        url: new URL(target.origin),
        ca: si.params.ca,
        thumbprint,
        insecure: si.params.insecure,
        connectTimeoutMs: si.params.connectTimeoutMs,
        requestTimeoutMs: si.params.requestTimeoutMs,
        userAgent: si.params.userAgent,
        connections: 1,
      })
  try {
    return await fn(transport, target, local)
  } finally {
    if (!local) await transport.close()
  }
}
