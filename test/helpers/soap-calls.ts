import { setLogLevel, setLogSink } from '../../core/log.ts'

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
