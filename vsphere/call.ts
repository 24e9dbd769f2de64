// The one layer every vSphere module call goes through: it names what is being done
// ("creating datacenter 'DC1'") in every error, traces the call, and offers both forms of a
// task call: `startTask` returns a handle at once, `runTask` waits (progress, cancellation by
// the AbortSignal) and returns the task's result.
import { inspectPoint } from '../core/inspect.ts'
import { log } from '../core/log.ts'
import { VsphereError } from './errors.ts'
import type { InvokeOptions, ServiceInstance } from './service-instance.ts'
import { type WaitForTaskOptions, waitForTask } from './tasks.ts'
import type { ManagedObjectReference } from './types.ts'

export interface TaskHandle {
  task: ManagedObjectReference
  /** What the task does, for messages. */
  description: string
}

/** Invoke `method` on behalf of `what` ("creating datacenter 'DC1'"). */
export async function callVim<T>(
  si: ServiceInstance,
  what: string,
  method: string,
  args: Record<string, unknown>,
  options: InvokeOptions = {},
): Promise<T> {
  inspectPoint('CALL1', `${what}: ${method}`, () => args)
  log.debug('vsphere', '%s: %s', what, method)
  try {
    return await si.invoke<T>(method, args, options)
  } catch (error) {
    throw withContext(error, what)
  }
}

/** Start a task and return its handle without waiting. */
export async function startTask(
  si: ServiceInstance,
  what: string,
  method: string,
  args: Record<string, unknown>,
  options: InvokeOptions = {},
): Promise<TaskHandle> {
  const task = await callVim<ManagedObjectReference>(si, what, method, args, options)
  return { task, description: what }
}

/** Start a task and wait for it; resolves with the task's result (e.g. the new entity). */
export async function runTask<T = unknown>(
  si: ServiceInstance,
  what: string,
  method: string,
  args: Record<string, unknown>,
  options: WaitForTaskOptions = {},
): Promise<T> {
  const handle = await startTask(si, what, method, args, options)
  return waitForHandle<T>(si, handle, options)
}

/** Wait for a task handle; errors say what the task was doing. */
export async function waitForHandle<T = unknown>(
  si: ServiceInstance,
  handle: TaskHandle,
  options: WaitForTaskOptions = {},
): Promise<T> {
  try {
    return (await waitForTask(si, handle.task, options)) as T
  } catch (error) {
    throw withContext(error, handle.description)
  }
}

/** Prefix an error's message with what was being done, keeping its class and code. */
export function withContext(error: unknown, what: string): unknown {
  if (error instanceof VsphereError && !error.message.startsWith(`${what}: `)) {
    Object.defineProperty(error, 'message', {
      value: `${what}: ${error.message}`,
      configurable: true,
      writable: true,
    })
    ;(error as VsphereError & { context?: string }).context = what
  }
  return error
}
