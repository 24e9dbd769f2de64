import { setLogLevel, setLogSink } from '../../core/log.ts'
import { resolveConnectionParams } from '../../vsphere/connection-params.ts'
import { withSession } from '../../vsphere/one-shot.ts'
import type { ServiceInstance } from '../../vsphere/service-instance.ts'
import { observeSoapCalls } from '../../vsphere/soap-observers.ts'
import type { Vcsim } from './vcsim.ts'

/** Run `fn` and record the SOAP methods it called, from the [soap] debug log. */
export async function soapCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
  const calls: string[] = []
  const restore = setLogSink((line) => {
    const match = /^\[debug\] \[soap\] (\w+) \d+/.exec(line)
    if (match?.[1]) calls.push(match[1])
  })
  setLogLevel('debug', ['soap'])
  try {
    return { result: await fn(), calls }
  } finally {
    setLogLevel('warning')
    restore()
  }
}

/**
 * The answers (method and body) of every SOAP call a one-shot session of `user` on `vcsim`
 * makes while `fn` runs with it.
 */
export async function sessionAnswers(
  vcsim: Vcsim,
  user: string,
  fn: (si: ServiceInstance) => Promise<unknown>,
): Promise<Array<{ method: string; xml: string }>> {
  const answers: Array<{ method: string; xml: string }> = []
  const stop = observeSoapCalls((call) => answers.push({ method: call.method, xml: call.response }))
  try {
    const params = resolveConnectionParams({
      server: vcsim.url,
      user,
      password: 'pw',
      caFile: vcsim.caFile,
    })
    await withSession(params, fn)
  } finally {
    stop()
  }
  return answers
}
