// Observers of every SOAP call a process makes: method, request and answer sizes in bytes.
// Tests count round trips and bytes with them (a lookup must cost the same on 50 VMs as on
// 5,000); nothing is computed while no one observes.

export interface SoapCallRecord {
  method: string
  /** The request body (secrets included: for tests, never for output). */
  request: string
  requestBytes: number
  /** The answer body, as received (for tests, never for output). */
  response: string
  responseBytes: number
}

export type SoapObserver = (call: SoapCallRecord) => void

export const soapObservers = new Set<SoapObserver>()

/** Call `observer` after every SOAP answer until the returned function is called. */
export function observeSoapCalls(observer: SoapObserver): () => void {
  soapObservers.add(observer)
  return () => soapObservers.delete(observer)
}

export function notifySoapCall(method: string, request: string, response: string): void {
  const record: SoapCallRecord = {
    method,
    request,
    requestBytes: Buffer.byteLength(request),
    response,
    responseBytes: Buffer.byteLength(response),
  }
  for (const observer of soapObservers) observer(record)
}
