// fs.promises, read when an OVF is: importing node:fs/promises loads node:readline, ~1 ms
// of every vSphere call's start (this file is part of brine/vsphere).
import { createReadStream, promises as fsp } from 'node:fs'
import { basename, dirname, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { log } from '../core/log.ts'
import { callVim, runTask } from './call.ts'
import { typedPrimitive } from './codec.ts'
import { VsphereError } from './errors.ts'
import { retrieveObjectProperties } from './property-collector.ts'
import type { ServiceInstance } from './service-instance.ts'
import { withTransferTransport } from './transfer.ts'
import { normalizeThumbprint } from './transport.ts'
import type { ManagedObjectReference } from './types.ts'

/**
 * Deploying an OVF or OVA: OvfManager.CreateImportSpec turns the descriptor into an import
 * spec for this vCenter, ResourcePool.ImportVApp creates the VM and an HttpNfcLease, each disk
 * (or ISO) named by the spec is uploaded to the lease's device URL with the session cookie,
 * progress is reported to the lease, and the lease is completed, or aborted on any failure so
 * that vCenter removes the half-imported VM.
 *
 * An OVA is read as a tar stream twice (descriptor, then the files in archive order, as the
 * OVA format requires them to be): nothing is unpacked to disk.
 */

export interface OvfPackage {
  /** The .ovf or .ova file. */
  path: string
  descriptor: string
  /** Stream the files the import spec asks for, in package order, to `upload`. */
  each(
    wanted: Set<string>,
    upload: (name: string, size: number, body: Readable) => Promise<void>,
  ): Promise<void>
}

export async function openOvfPackage(path: string): Promise<OvfPackage> {
  const isOva = path.toLowerCase().endsWith('.ova')
  if (!isOva) {
    const descriptor = await fsp.readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw ovfError(`cannot read OVF descriptor ${path}: ${error.code ?? error.message}`)
    })
    return {
      path,
      descriptor,
      async each(wanted, upload) {
        const dir = resolve(dirname(path))
        for (const name of wanted) {
          const file = resolve(dir, name)
          // A descriptor names files next to it; never one elsewhere on this machine.
          if (!file.startsWith(dir + sep))
            throw ovfError(`${path} references ${name}, which is outside its folder: refused`)
          const info = await fsp.stat(file).catch(() => {
            throw ovfError(`${path} references ${name}, which is not next to it`)
          })
          const body = createReadStream(file)
          try {
            await upload(name, info.size, body)
          } finally {
            body.destroy()
          }
        }
      },
    }
  }
  let descriptor: string | undefined
  await walkTar(path, async (name, _size, body) => {
    if (descriptor === undefined && name.toLowerCase().endsWith('.ovf')) {
      descriptor = await text(body)
      return false
    }
    body.resume()
    return true
  })
  if (descriptor === undefined) throw ovfError(`${path} holds no .ovf descriptor (is it an OVA?)`)
  return {
    path,
    descriptor,
    async each(wanted, upload) {
      const seen = new Set<string>()
      await walkTar(path, async (name, size, body) => {
        const key = name.replace(/^\.\//, '')
        if (wanted.has(key)) {
          seen.add(key)
          await upload(key, size, body)
        } else body.resume()
        return seen.size < wanted.size
      })
      const missing = [...wanted].filter((n) => !seen.has(n))
      if (missing.length)
        throw ovfError(`${path} lacks ${missing.join(', ')} named by its descriptor`)
    },
  }
}

/** Visit the entries of a tar file; `visit` consumes or resumes the body, false stops. */
async function walkTar(
  path: string,
  visit: (name: string, size: number, body: Readable) => Promise<boolean>,
): Promise<void> {
  // Loaded here, not with the module: every vSphere call loads this file (tar-stream and
  // its streams are ~50 KB of the CLI bundle that only an OVA import runs). esbuild makes
  // this import() a lazy require in the CLI bundle, which has no import() (bin/brine.js),
  // and a chunk of the library's ESM bundle, whose namespace has only `default` (the
  // CommonJS exports): named exports are taken from there, as every form has it.
  const { extract } = (await import('tar-stream')).default
  const source = createReadStream(path)
  const tar = extract()
  const done = new Promise<void>((resolve, reject) => {
    tar.on('entry', (header, body, next) => {
      visit(header.name, header.size ?? 0, body as unknown as Readable).then(
        (more) => {
          if (more) next()
          else {
            source.destroy()
            resolve()
          }
        },
        (error: unknown) => {
          source.destroy()
          reject(error)
        },
      )
    })
    tar.on('finish', resolve)
    tar.on('error', (error: Error) =>
      reject(ovfError(`${path} is not a readable OVA (tar): ${error.message}`)),
    )
    source.on('error', (error: NodeJS.ErrnoException) =>
      reject(ovfError(`cannot read ${path}: ${error.code ?? error.message}`)),
    )
  })
  source.pipe(tar)
  try {
    await done
  } finally {
    source.destroy()
    tar.destroy()
  }
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export interface DeployOvfOptions {
  name: string
  pool: ManagedObjectReference
  datastore: ManagedObjectReference
  folder: ManagedObjectReference
  host?: ManagedObjectReference | undefined
  /** OVF network name → network moref. */
  networks?: Array<{ name: string; network: ManagedObjectReference }>
  diskProvisioning?: 'thin' | 'thick' | 'eagerZeroedThick' | undefined
  signal?: AbortSignal | undefined
  onProgress?: ((percent: number) => void) | undefined
}

interface ImportSpecResult {
  importSpec?: Record<string, unknown>
  fileItem?: FileItem | FileItem[]
  error?: Fault | Fault[]
  warning?: Fault | Fault[]
}
interface FileItem {
  deviceId: string
  path: string
  size?: number | string
  create?: boolean | string
}
interface Fault {
  localizedMessage?: string
  fault?: { _type?: string }
}
interface DeviceUrl {
  key: string
  importKey: string
  url: string
  sslThumbprint?: string
}

const ovfError = (message: string, code = 'BRINE_OVF') => new VsphereError(message, { code })

const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v]
const faultText = (f: Fault) => f.localizedMessage || f.fault?._type || 'unknown error'

/** Deploy `pkg` as VM `options.name`; resolves with the new VM. */
export async function deployOvf(
  si: ServiceInstance,
  pkg: OvfPackage,
  options: DeployOvfOptions,
): Promise<ManagedObjectReference> {
  const ovfManager = si.content.ovfManager
  if (!ovfManager) throw ovfError('this endpoint has no OvfManager', 'BRINE_UNSUPPORTED')
  const what = `deploying ${basename(pkg.path)} as VM '${options.name}'`
  const spec = await callVim<ImportSpecResult>(si, what, 'CreateImportSpec', {
    _this: ovfManager,
    ovfDescriptor: pkg.descriptor,
    resourcePool: options.pool,
    datastore: options.datastore,
    // OvfCreateImportSpecParams, WSDL order.
    cisp: {
      locale: '',
      deploymentOption: '',
      entityName: options.name,
      hostSystem: options.host,
      networkMapping: options.networks?.map((n) => ({ name: n.name, network: n.network })),
      diskProvisioning: options.diskProvisioning,
    },
  })
  const errors = asArray(spec.error)
  if (errors.length || !spec.importSpec)
    throw ovfError(
      `${what}: vCenter refused the descriptor: ${errors.map(faultText).join('; ') || 'no import spec'}`,
    )
  for (const warning of asArray(spec.warning))
    log.warn('vsphere', '%s: %s', what, faultText(warning))

  const lease = await callVim<ManagedObjectReference>(si, what, 'ImportVApp', {
    _this: options.pool,
    spec: retypeAnyValues(spec.importSpec),
    folder: options.folder,
    host: options.host,
  })
  let entity: ManagedObjectReference | undefined
  let percent = 0
  // The lease expires without progress reports (leaseTimeout, 5 min by default): report
  // regularly, not only between files, so a large disk does not outlive it.
  const keepalive = setInterval(() => {
    callVim(si, what, 'HttpNfcLeaseProgress', { _this: lease, percent }).catch(() => undefined)
  }, 30_000)
  keepalive.unref()
  try {
    const info = await leaseReady(si, lease, what, options.signal)
    entity = info.entity
    const files = asArray(spec.fileItem)
    const total = files.reduce((sum, f) => sum + Number(f.size ?? 0), 0) || 1
    let sent = 0
    const byPath = new Map(files.map((f) => [f.path, f]))
    await pkg.each(new Set(byPath.keys()), async (name, size, body) => {
      const item = byPath.get(name)!
      const target = info.urls.find((u) => u.importKey === item.deviceId)
      if (!target) throw ovfError(`${what}: the lease has no upload URL for ${name}`)
      await upload(si, target, item, size, body, `${what}: uploading ${name}`, options.signal)
      sent += size
      percent = Math.min(99, Math.floor((sent / total) * 100))
      options.onProgress?.(percent)
      await callVim(si, what, 'HttpNfcLeaseProgress', { _this: lease, percent })
    })
    await callVim(si, what, 'HttpNfcLeaseComplete', { _this: lease })
  } catch (error) {
    await callVim(si, `${what}: aborting the import`, 'HttpNfcLeaseAbort', { _this: lease }).catch(
      () => undefined,
    )
    // vCenter removes the half-imported VM on abort; where it is still there (vcsim), remove it.
    if (entity)
      await runTask(si, `${what}: removing the half-imported VM`, 'Destroy_Task', {
        _this: entity,
      }).catch(() => undefined)
    throw error
  } finally {
    clearInterval(keepalive)
  }
  options.onProgress?.(100)
  return entity
}

/**
 * Send one file to its lease URL. `*` in the URL is the endpoint brine is connected to (the
 * session cookie goes along); another host is an ESXi host, reached on its own connection
 * pinned to the thumbprint the lease gives, with no vCenter cookie (the URL's ticket is the
 * credential). Disks are POSTed as streamVmdk; files the spec creates (ISOs) are PUT.
 */
async function upload(
  si: ServiceInstance,
  target: DeviceUrl,
  item: FileItem,
  size: number,
  body: Readable,
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const create = item.create === true || item.create === 'true'
  const headers: Record<string, string> = {
    'content-type': create ? 'application/octet-stream' : 'application/x-vnd.vmware-streamVmdk',
    'content-length': String(size),
    ...(create ? { overwrite: 't' } : {}),
  }
  const thumbprint = target.sslThumbprint ? normalizeThumbprint(target.sslThumbprint) : undefined
  await withTransferTransport(si, target.url, thumbprint, async (transport, url, local) => {
    const cookie = si.cookie?.reveal()
    if (local && cookie) headers.cookie = `vmware_soap_session=${cookie}`
    const response = await transport.send({
      path: url.pathname + url.search,
      method: create ? 'PUT' : 'POST',
      headers,
      body,
      signal,
    })
    if (response.statusCode >= 300)
      throw ovfError(`${what} failed with HTTP ${response.statusCode}`)
  })
}

/**
 * The import spec comes back decoded; values in anyType positions (extraConfig option values)
 * lost their xsi:type on the way. Give them one again before the spec is sent to ImportVApp.
 */
function retypeAnyValues(spec: Record<string, unknown>): Record<string, unknown> {
  const visit = (node: unknown, key: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => visit(n, key))
    if (!node || typeof node !== 'object') return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      if (
        key === 'extraConfig' &&
        k === 'value' &&
        (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      )
        out[k] = typedPrimitive(v)
      else out[k] = visit(v, k)
    }
    return out
  }
  return visit(spec, '') as Record<string, unknown>
}

/** Wait until the lease is ready (or failed); its VM and upload URLs. */
async function leaseReady(
  si: ServiceInstance,
  lease: ManagedObjectReference,
  what: string,
  signal: AbortSignal | undefined,
): Promise<{ entity: ManagedObjectReference; urls: DeviceUrl[] }> {
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted()
    const props = await retrieveObjectProperties(si, lease, ['state', 'info', 'error'], { signal })
    if (props.state === 'ready') {
      const info = props.info as {
        entity: ManagedObjectReference
        deviceUrl?: DeviceUrl | DeviceUrl[]
      }
      return { entity: info.entity, urls: asArray(info.deviceUrl) }
    }
    if (props.state === 'error')
      throw ovfError(`${what}: the import lease failed: ${faultText((props.error ?? {}) as Fault)}`)
    await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)))
  }
}

/** Read an OVF/OVA and deploy it (the module layer's entry point, { code: 'BRINE_OVF' }). */
export async function deployOvfFile(
  si: ServiceInstance,
  path: string,
  options: DeployOvfOptions,
): Promise<ManagedObjectReference> {
  return deployOvf(si, await openOvfPackage(path), options)
}
