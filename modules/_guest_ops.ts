// The guest operations vmware_guest.ts makes: the guest account, calls to the
// GuestOperationsManager's process and file managers with their faults explained, and file
// transfers over HTTPS.
import type { Readable } from 'node:stream'
import { type CallContext, ModuleError, Secret, z } from 'brine/loader'
import {
  type Entity,
  type ManagedObjectReference,
  retrieveObjectProperties,
  type ServiceInstance,
  VimFaultError,
  withTransferTransport,
} from 'brine/vsphere'
import { findGuestVm, type GuestVmArgs, guestVmArgs } from './_vm_guest.ts'
import { asList } from './_vmware.ts'

/** The guest account every function takes; the password is a Secret from the start. */
export const guestArgs = {
  ...guestVmArgs(),
  username: z.string().min(1).describe('guest OS user'),
  password: z
    .string()
    .min(1)
    .meta({ secret: true })
    .describe('guest OS password (never logged or shown)'),
}

export interface GuestCall {
  vm: Entity
  /** NamePasswordAuthentication, the password a Secret (revealed only by the codec). */
  auth: Record<string, unknown>
  processManager: ManagedObjectReference
  fileManager: ManagedObjectReference
  username: string
}

/**
 * The VM (powered on: a guest operation needs a running guest) and the guest operation
 * managers, with the guest account as vSphere's NamePasswordAuthentication.
 */
export async function openGuest(
  ctx: CallContext,
  args: GuestVmArgs & { username: string; password: string },
): Promise<GuestCall> {
  const si = ctx.serviceInstance
  const password = new Secret(args.password)
  const vm = await findGuestVm(ctx, args, ['runtime.powerState'])
  const power = String(vm.props['runtime.powerState'])
  if (power !== 'poweredOn')
    throw new ModuleError(
      `VM '${vm.name}' is ${power}: guest operations need it powered on with VMware Tools ` +
        'running; power it on (vmware_vm.power_state) and wait for its Tools (vmware_vm.wait_for_tools)',
      { code: 'BRINE_INVALID_STATE' },
    )
  const { content } = await si.ready()
  const managers = await retrieveObjectProperties(
    si,
    content.guestOperationsManager as ManagedObjectReference,
    ['processManager', 'fileManager'],
    { signal: ctx.signal },
  )
  return {
    vm,
    username: args.username,
    auth: {
      _type: 'NamePasswordAuthentication',
      interactiveSession: false,
      username: args.username,
      password,
    },
    processManager: managers.processManager as ManagedObjectReference,
    fileManager: managers.fileManager as ManagedObjectReference,
  }
}

/** A guest operation; its faults become errors that say what to do. */
export async function guestCall<T>(
  ctx: CallContext,
  guest: GuestCall,
  method: string,
  args: Record<string, unknown>,
): Promise<T> {
  try {
    return await ctx.serviceInstance.invoke<T>(method, args, { signal: ctx.signal })
  } catch (error) {
    if (!(error instanceof VimFaultError)) throw error
    const vm = guest.vm.name
    if (error.faultType === 'GuestOperationsUnavailable')
      throw new ModuleError(
        `VM '${vm}': guest operations are unavailable: VMware Tools are not running in the ` +
          'guest. Start them (or wait: vmware_vm.wait_for_tools) and try again',
        { code: 'BRINE_VIM_GUEST_OPERATIONS_UNAVAILABLE', cause: error },
      )
    if (error.faultType === 'InvalidGuestLogin')
      throw new ModuleError(
        `VM '${vm}': the guest refused the login of user '${guest.username}': check ` +
          'username= and password= (an account of the guest OS, not of vCenter)',
        { code: 'BRINE_VIM_INVALID_GUEST_LOGIN', cause: error },
      )
    if (error.faultType === 'FileNotFound' || error.faultType === 'FileAlreadyExists')
      throw new ModuleError(
        `VM '${vm}': ${method}: ${error.faultType === 'FileNotFound' ? 'no such file or directory' : 'the file exists (pass overwrite=True)'} in the guest: ${String((error.fault as { file?: unknown } | undefined)?.file ?? '')}`,
        {
          code:
            error.faultType === 'FileNotFound'
              ? 'BRINE_NOT_FOUND'
              : 'BRINE_VIM_FILE_ALREADY_EXISTS',
          cause: error,
        },
      )
    throw error
  }
}

/**
 * PUT or GET a guest file transfer URL. Host `*` is the endpoint brine is connected to (its
 * transport, TLS as configured); another host (an ESXi host) gets a connection of its own,
 * verified with the same CA settings. The URL's token is the credential: no session cookie.
 */
export async function transfer(
  si: ServiceInstance,
  url: string,
  method: 'PUT' | 'GET',
  what: string,
  signal: AbortSignal | undefined,
  upload?: { body: Readable; size: number },
): Promise<Buffer> {
  const token = new URL(url.replace('://*', '://localhost')).searchParams.get('token')
  if (token) new Secret(token)
  return withTransferTransport(si, url, undefined, async (transport, target) => {
    const response = await transport.send({
      path: target.pathname + target.search,
      method,
      headers: upload
        ? { 'content-type': 'application/octet-stream', 'content-length': String(upload.size) }
        : {},
      ...(upload ? { body: upload.body } : {}),
      bytes: true,
      signal,
    })
    if (response.statusCode >= 300)
      throw new ModuleError(`${what} failed with HTTP ${response.statusCode}`, {
        code: 'BRINE_VIM_TRANSPORT_HTTP_STATUS',
      })
    return response.bytes ?? Buffer.alloc(0)
  })
}

interface ProcessInfo {
  name: string
  pid: number | string
  owner: string
  cmdLine: string
  startTime: Date | string
  endTime?: Date | string
  exitCode?: number | string
}

const iso = (value: Date | string | undefined) =>
  value === undefined ? null : value instanceof Date ? value.toISOString() : String(value)

function describeProcess(p: ProcessInfo) {
  const ended = p.endTime !== undefined
  return {
    pid: Number(p.pid),
    name: p.name,
    owner: p.owner,
    cmd_line: p.cmdLine,
    start_time: iso(p.startTime),
    end_time: iso(p.endTime),
    // exitCode is left out when it is 0.
    exit_code: ended ? Number(p.exitCode ?? 0) : null,
  }
}

export async function listProcesses(ctx: CallContext, guest: GuestCall, pids?: number[]) {
  const list = await guestCall<ProcessInfo[] | ProcessInfo | undefined>(
    ctx,
    guest,
    'ListProcessesInGuest',
    { _this: guest.processManager, vm: guest.vm.obj, auth: guest.auth, pids },
  )
  return asList(list).map(describeProcess)
}

export async function download(ctx: CallContext, guest: GuestCall, path: string): Promise<Buffer> {
  const info = await guestCall<{ url: string; size: number | string }>(
    ctx,
    guest,
    'InitiateFileTransferFromGuest',
    { _this: guest.fileManager, vm: guest.vm.obj, auth: guest.auth, guestFilePath: path },
  )
  return transfer(
    ctx.serviceInstance,
    info.url,
    'GET',
    `downloading ${path} from VM '${guest.vm.name}'`,
    ctx.signal,
  )
}
