import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http'

/**
 * An HTTP proxy between brine and a plain-HTTP vcsim (`startVcsim({ tls: false })`, brine
 * with `insecure: true`) that injects faults into chosen SOAP calls. Every call passes
 * through unchanged unless a fault is armed for its method:
 *
 * - `dropAnswer(method)`: forward the request (vcsim runs it), then cut the client's
 *   connection instead of answering: the answer is lost.
 * - `before(method, action)`: run `action` (e.g. terminate the session on vcsim), then forward
 *   (and with `edit`, answer with `edit(answer body)`).
 * - `rewriteAnswer(method, edit)`: forward, then answer with `edit(answer body)` (e.g. a task
 *   that vcsim finished at once shown as still running: its success update is then lost).
 * - `hold(method)`: keep the request without forwarding until `release()`; `seen` resolves
 *   when it arrived (to abort the call while it is in flight).
 *
 * Each fault fires once, on the next request of that method whose body matches `match`.
 */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>/sdk` */
  url: string
  /** SOAP methods seen, in order. */
  calls: string[]
  dropAnswer(method: string, match?: (body: string) => boolean): void
  rewriteAnswer(
    method: string,
    edit: (answer: string) => string,
    match?: (body: string) => boolean,
  ): void
  before(
    method: string,
    action: () => Promise<void>,
    match?: (body: string) => boolean,
    edit?: (answer: string) => string,
  ): void
  hold(method: string, match?: (body: string) => boolean): { seen: Promise<void>; release(): void }
  close(): Promise<void>
}

interface Fault {
  method: string
  match: (body: string) => boolean
  run: (forward: () => void, drop: () => void) => void
  dropAfterForward?: boolean
  edit?: (answer: string) => string
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target)
  const agent = new Agent({ keepAlive: true })
  const faults: Fault[] = []
  const calls: string[] = []

  const take = (method: string, body: string): Fault | undefined => {
    const index = faults.findIndex((fault) => fault.method === method && fault.match(body))
    return index < 0 ? undefined : faults.splice(index, 1)[0]
  }

  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const text = body.toString('utf8')
      const method = /Body>\s*<(?:\w+:)?(\w+)/.exec(text)?.[1] ?? 'unknown'
      calls.push(method)
      const fault = take(method, text)
      const drop = () => req.socket.destroy()
      const forward = (dropAnswer = false, edit?: (answer: string) => string) => {
        const headers = { ...req.headers, host: upstream.host }
        const out = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            path: req.url,
            method: req.method,
            headers,
            agent,
          },
          (answer) => {
            const answerChunks: Buffer[] = []
            answer.on('data', (chunk: Buffer) => answerChunks.push(chunk))
            answer.on('end', () => {
              if (dropAnswer) return drop()
              let answerBody = Buffer.concat(answerChunks)
              const headers = { ...answer.headers }
              if (edit) {
                answerBody = Buffer.from(edit(answerBody.toString('utf8')))
                delete headers['content-length']
                delete headers['transfer-encoding']
                headers['content-length'] = String(answerBody.length)
              }
              res.writeHead(answer.statusCode ?? 502, headers)
              res.end(answerBody)
            })
          },
        )
        out.on('error', drop)
        out.end(body)
      }
      if (!fault) return forward()
      fault.run(
        () => forward(fault.dropAfterForward, fault.edit),
        () => drop(),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const always = () => true

  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    calls,
    dropAnswer(method, match = always) {
      faults.push({ method, match, dropAfterForward: true, run: (forward) => forward() })
    },
    rewriteAnswer(method, edit, match = always) {
      faults.push({ method, match, edit, run: (forward) => forward() })
    },
    before(method, action, match = always, edit = undefined) {
      faults.push({
        method,
        match,
        edit,
        run: (forward, drop) => {
          action().then(forward, drop)
        },
      })
    },
    hold(method, match = always) {
      let seen!: () => void
      const seenPromise = new Promise<void>((resolve) => {
        seen = resolve
      })
      let release: (() => void) | undefined
      let released = false
      faults.push({
        method,
        match,
        run: (forward) => {
          release = forward
          seen()
          if (released) forward()
        },
      })
      return {
        seen: seenPromise,
        release() {
          released = true
          release?.()
        },
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
