import { inspectPoint } from '../core/inspect.ts'
import { log } from '../core/log.ts'
import { TaskFailedError, TransportError } from './errors.ts'
import { describeFault } from './faults.ts'
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

/** Like `waitForTask`, but resolves with the final TaskInfo whatever its state. */
export async function waitForTaskInfo(
  si: ServiceInstance,
  task: ManagedObjectReference,
  options: WaitForTaskOptions = {},
): Promise<TaskInfo> {
  const { signal, onProgress } = options
  const { content, params } = await si.ready()
  const maxWaitSeconds = Math.min(
    options.maxWaitSeconds ?? 60,
    Math.floor(params.requestTimeoutMs / 1000) - 5,
  )
  const collector = await si.invoke<ManagedObjectReference>(
    'CreatePropertyCollector',
    { _this: content.propertyCollector },
    { signal },
  )
  try {
    await si.invoke(
      'CreateFilter',
      {
        _this: collector,
        spec: { propSet: [{ type: 'Task', pathSet: ['info'] }], objectSet: [{ obj: task }] },
        partialUpdates: false,
      },
      { signal },
    )
    let version = ''
    let lastProgress = -1
    for (;;) {
      signal?.throwIfAborted()
      const updates = await si.invoke<UpdateSet | undefined>(
        'WaitForUpdatesEx',
        { _this: collector, version, options: { maxWaitSeconds: Math.max(maxWaitSeconds, 1) } },
        { signal },
      )
      if (!updates) continue
      version = updates.version
      const info = latestInfo(updates)
      if (!info) continue
      inspectPoint('TASK1', `${task.value} ${info.descriptionId ?? ''}`, () => ({
        state: info.state,
        progress: info.progress,
        error: info.error,
      }))
      if (onProgress && info.progress !== undefined && info.progress !== lastProgress) {
        lastProgress = info.progress
        onProgress(info.progress, info)
      }
      if (info.state === 'success' || info.state === 'error') {
        if (info.state === 'success' && onProgress && lastProgress !== 100) onProgress(100, info)
        return info
      }
    }
  } catch (error) {
    if (signal?.aborted) {
      await cancelTask(si, task)
      throw signal.reason instanceof Error
        ? signal.reason
        : new Error(`waiting for ${task.value} was aborted`, { cause: error })
    }
    throw error
  } finally {
    await si.invoke('DestroyPropertyCollector', { _this: collector }).catch((error: unknown) => {
      if (!(error instanceof TransportError))
        log.debug('task', 'DestroyPropertyCollector failed: %s', (error as Error).message)
    })
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
