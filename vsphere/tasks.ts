import { setTimeout as sleep } from 'node:timers/promises'
import { inspectPoint } from '../core/inspect.ts'
import { log } from '../core/log.ts'
import {
  ManagedObjectNotFoundError,
  NotAuthenticatedError,
  TaskFailedError,
  TransportError,
  VsphereError,
} from './errors.ts'
import { describeFault } from './faults.ts'
import {
  createObjectCollector,
  destroyCollector,
  retrieveObjectProperties,
} from './property-collector.ts'
import { isAbort, isReconnectProxy } from './reconnect-proxy.ts'
import type { InvokeOptions, ServiceInstance } from './service-instance.ts'
import type { ManagedObjectReference, TaskInfo, UpdateSet } from './types.ts'

export interface WaitForTaskOptions extends InvokeOptions {
  /** Called with the task's progress (0–100) whenever the server reports a change. */
  onProgress?: ((progress: number, info: TaskInfo) => void) | undefined
  /** Longest wait of one WaitForUpdatesEx call, in seconds. Default 60 (kept under the request timeout). */
  maxWaitSeconds?: number | undefined
}

/**
 * Wait for a vCenter task the way govmomi does: a private PropertyCollector with a filter on
 * `Task.info`, then WaitForUpdatesEx until the state is success or error. Works whether the
 * server finishes tasks synchronously (vcsim 0.24.2) or asynchronously (vCenter).
 * Aborting the signal cancels the task on the server (CancelTask) and rejects.
 * Resolves with TaskInfo.result; a failed task rejects with TaskFailedError carrying its fault.
 */
export async function waitForTask(
  si: ServiceInstance,
  task: ManagedObjectReference,
  options: WaitForTaskOptions = {},
): Promise<unknown> {
  const info = await waitForTaskInfo(si, task, options)
  if (info.state === 'error') {
    const fault = info.error?.fault ?? { _type: 'SystemError' }
    throw new TaskFailedError(
      `task ${info.descriptionId || info.name || task.value}${info.entityName ? ` on ${info.entityName}` : ''}: ${describeFault(info.name ?? 'task', info.entity, fault, info.error?.localizedMessage)}`,
      {
        faultType: fault._type,
        method: info.name ?? info.descriptionId,
        moref: info.entity,
        faultString: info.error?.localizedMessage,
        fault,
      },
      task,
    )
  }
  return info.result
}

/** Consecutive failed waits (lost answers, a replaced session) before waitForTask gives up. */
const MAX_RECOVERIES = 3

/**
 * Like `waitForTask`, but resolves with the final TaskInfo whatever its state.
 *
 * The collector lives on one session and its calls go to that session itself, never through
 * a ReconnectProxy's retry (an update set whose answer was lost cannot be asked for again,
 * and a collector does not survive its session). Every wait is bounded: by `maxWaitSeconds`
 * on the server and the request timeout here. When a wait ends without an update (nothing
 * changed, the answer was lost, the session or the collector is gone), Task.info is read
 * again with RetrievePropertiesEx, so a task that finished meanwhile is seen at once; then a
 * new collector is made if needed, on the session `si` gives now (a ReconnectProxy replaces
 * a dead one).
 */
export async function waitForTaskInfo(
  si: ServiceInstance,
  task: ManagedObjectReference,
  options: WaitForTaskOptions = {},
): Promise<TaskInfo> {
  const { signal } = options
  let session = await si.ready()
  // A wait must end well within the request timeout: at most half of it (0, one calculation
  // and a short pause between polls, when the timeout is a second or two).
  const maxWaitSeconds = Math.max(
    Math.min(options.maxWaitSeconds ?? 60, Math.floor(session.params.requestTimeoutMs / 2000)),
    0,
  )
  const finished = progressReporter(task, options.onProgress)
  let collector: ManagedObjectReference | undefined
  let owner = session
  let version = ''
  let failures = 0
  const dropCollector = async () => {
    if (!collector) return
    const stale = collector
    collector = undefined
    await destroyCollector(owner, stale)
  }
  try {
    for (;;) {
      signal?.throwIfAborted()
      try {
        if (!collector) {
          session = await si.ready()
          collector = await createObjectCollector(session, task, ['info'], signal)
          owner = session
          version = ''
        }
        const updates = await owner.invoke<UpdateSet | undefined>(
          'WaitForUpdatesEx',
          { _this: collector, version, options: { maxWaitSeconds } },
          { signal },
        )
        failures = 0
        if (updates) {
          version = updates.version
          const info = latestInfo(updates)
          if (info && finished(info)) return info
          continue
        }
        // Nothing changed within maxWaitSeconds: read Task.info once to be sure.
      } catch (error) {
        if (isAbort(error, signal) || !isRecoverable(error) || ++failures > MAX_RECOVERIES)
          throw error
        log.debug(
          'task',
          'waiting for %s: %s; reading Task.info again',
          task.value,
          (error as Error).message,
        )
        // A collector of a dead session is gone with it; another one is destroyed.
        if (error instanceof NotAuthenticatedError || error instanceof ManagedObjectNotFoundError)
          collector = undefined
        await dropCollector()
        // Make a ReconnectProxy check the session before the next call (a dead one is replaced).
        if (error instanceof TransportError && isReconnectProxy(si)) owner.valid = false
      }
      const info = await readTaskInfo(si, task, signal)
      if (finished(info)) return info
      if (maxWaitSeconds === 0) await sleep(250, undefined, { signal })
    }
  } catch (error) {
    if (signal?.aborted) {
      await cancelTask(owner, task)
      throw signal.reason instanceof Error
        ? signal.reason
        : new Error(`waiting for ${task.value} was aborted`, { cause: error })
    }
    throw error
  } finally {
    await dropCollector()
  }
}

/** Ask the server to cancel a task; a task that already ended or cannot be cancelled is left alone. */
export async function cancelTask(si: ServiceInstance, task: ManagedObjectReference): Promise<void> {
  try {
    await si.invoke('CancelTask', { _this: task }, { signal: AbortSignal.timeout(10_000) })
  } catch (error) {
    log.debug('task', 'CancelTask on %s: %s', task.value, (error as Error).message)
  }
}

/** Tracks progress; true when `info` is final (success or error). */
function progressReporter(
  task: ManagedObjectReference,
  onProgress: WaitForTaskOptions['onProgress'],
): (info: TaskInfo) => boolean {
  let lastProgress = -1
  return (info) => {
    inspectPoint('TASK1', `${task.value} ${info.descriptionId ?? ''}`, () => ({
      state: info.state,
      progress: info.progress,
      error: info.error,
    }))
    if (onProgress && info.progress !== undefined && info.progress !== lastProgress) {
      lastProgress = info.progress
      onProgress(info.progress, info)
    }
    if (info.state !== 'success' && info.state !== 'error') return false
    if (info.state === 'success' && onProgress && lastProgress !== 100) {
      lastProgress = 100
      onProgress(100, info)
    }
    return true
  }
}

/** A private PropertyCollector with a filter on the task's `info`, on `session` itself. */
/** Task.info read directly (through a ReconnectProxy's retry: a read can be sent again). */
async function readTaskInfo(
  si: ServiceInstance,
  task: ManagedObjectReference,
  signal: AbortSignal | undefined,
): Promise<TaskInfo> {
  const props = await retrieveObjectProperties(si, task, ['info'], { signal })
  const info = props.info
  if (!info || typeof info !== 'object')
    throw new VsphereError(`task ${task.value}: vCenter no longer reports its info.`, {
      code: 'BRINE_VIM_TASK_GONE',
    })
  return info as TaskInfo
}

function isRecoverable(error: unknown): boolean {
  if (error instanceof NotAuthenticatedError || error instanceof ManagedObjectNotFoundError)
    return true
  return (
    error instanceof TransportError &&
    [
      'CONNECTION_DROPPED',
      'REQUEST_TIMEOUT',
      'NETWORK',
      'CONNECTION_REFUSED',
      'CONNECT_TIMEOUT',
      'BAD_RESPONSE',
      'HTTP_STATUS',
    ].includes(error.failure)
  )
}

function latestInfo(updates: UpdateSet): TaskInfo | undefined {
  let info: TaskInfo | undefined
  for (const filter of updates.filterSet) {
    for (const object of filter.objectSet) {
      for (const change of object.changeSet) {
        if (change.name === 'info' && change.val && typeof change.val === 'object')
          info = change.val as TaskInfo
      }
    }
  }
  return info
}
