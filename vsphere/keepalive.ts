import { log } from '../core/log.ts'
import type { ServiceInstance } from './service-instance.ts'

/**
 * Ping the session with CurrentTime every `intervalMs` (govmomi's keepalive, default there
 * 10 min against vCenter's 30 min idle timeout). The timer never keeps the process alive.
 * The first failure marks the session invalid and stops the pings: the session cache then
 * replaces it on the next checkout, instead of a background loop logging in by itself.
 * Returns the function that stops it.
 */
export function startKeepalive(si: ServiceInstance, intervalMs: number): () => void {
  let running = false
  const timer = setInterval(async () => {
    if (running || si.closed) return
    running = true
    try {
      await si.currentTime({ signal: AbortSignal.timeout(Math.max(intervalMs, 5_000)) })
      si.lastValidatedAt = Date.now()
    } catch (error) {
      si.valid = false
      clearInterval(timer)
      log.warn(
        'session',
        'keepalive to %s failed, session marked invalid: %s',
        si.params.url.host,
        (error as Error).message,
      )
    } finally {
      running = false
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
