// The daemon's shared shapes: its options and status, its parts, the context they share.
import type { Runtime, ServiceInstanceSource } from '../loader/runtime.ts'
import type { Opts } from '../loader/types.ts'
import type { ServiceInstance } from '../vsphere/service-instance.ts'
import type { DaemonPaths } from './daemon-paths.ts'
import type { OptsFlags } from './opts.ts'

/**
 * | option | type | default | env |
 * |---|---|---|---|
 * | daemon_drain_timeout | seconds to let calls in flight finish on SIGTERM | 30 | BRINE_DAEMON_DRAIN_TIMEOUT |
 * | daemon_keepalive | seconds between keepalives of idle sessions (0: none) | 300 | — |
 */
export interface DaemonOptions {
  flags: OptsFlags
  env: Record<string, string | undefined>
  cwd: string
  paths: DaemonPaths
  /** Told once the socket listens. */
  onReady?: (status: DaemonStatus) => void
}

export interface DaemonStatus {
  pid: number
  started: string
  socket: string
  stopping: boolean
  /** Bytes; after a collection when the status was asked for with `gc` (and --expose-gc). */
  memory: { heap_used: number; rss: number }
  parts: Record<string, unknown>
  calls: { in_flight: CallStatus[]; served: number }
}

export interface CallStatus {
  id: number
  fun: string
  client_pid: number
  age_s: number
}

/** One part of the daemon: started in order, stopped in reverse, each with its status. */
export interface Part {
  name: string
  start(): Promise<void>
  stop(): Promise<void>
  status(): unknown
}

export interface CallRecord {
  id: number
  fun: string
  clientPid: number
  started: number
  controller: AbortController
  done: Promise<void>
}

/** What the parts share, passed down rather than held in module state. */
export interface DaemonContext {
  options: DaemonOptions
  /** Daemon-wide: every call's signal follows it. Aborted when the drain ends or on a second SIGTERM. */
  controller: AbortController
  opts?: Opts
  fingerprint?: string
  pillar: {
    value: Record<string, unknown>
    warnings: string[]
    compiledAt: number
    compiles: number
  }
  runtime?: Runtime
  provider?: ServiceInstanceSource & { get(profile?: string): ServiceInstance }
  profiles: Map<string, number>
  calls: Map<number, CallRecord>
  served: number
  stopping: boolean
  recompilePillar?: () => Promise<void>
  /** Entries of the inventory index of a profile's session (none: not built). */
  indexSizeOf?: (proxy: ServiceInstance) => number | undefined
  requestStop?: (now: boolean) => void
  /** Ends the clients' connections (after the drain). */
  closeConnections?: () => void
}
