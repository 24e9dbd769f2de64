import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, extname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { type CallContext, ModuleError } from 'brine/loader'
import {
  type ContentLibraryClient,
  callVim,
  createContentLibraryClient,
  ENTITY_TYPES,
  type Entity,
  EntityNotFoundError,
  getEntity,
  type Library,
  type LibraryFile,
  type LibraryItem,
  listEntities,
  type ManagedObjectReference,
  retrieveObjectProperties,
  runTask,
  type UploadFile,
} from 'brine/vsphere'
import { extract } from 'tar-stream'
import { findCluster, findDatacenter, findInDatacenter, folderAt } from './_vmware.ts'

/** Run `fn` with a content library REST session, always closed afterwards. */
export async function withLibraries<T>(
  ctx: CallContext,
  fn: (client: ContentLibraryClient) => Promise<T>,
): Promise<T> {
  const client = await createContentLibraryClient(ctx.serviceInstance)
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

/** A library by id or name; undefined when there is none. Two of one name: BRINE_AMBIGUOUS. */
export async function findLibrary(
  client: ContentLibraryClient,
  nameOrId: string,
): Promise<Library | undefined> {
  const all = await client.listLibraries()
  const byId = all.find((l) => l.id === nameOrId)
  if (byId) return byId
  const named = all.filter((l) => l.name === nameOrId)
  if (named.length > 1)
    throw new ModuleError(
      `${named.length} content libraries are named '${nameOrId}'; give the library's id`,
      { code: 'BRINE_AMBIGUOUS' },
    )
  return named[0]
}

export async function libraryNamed(
  client: ContentLibraryClient,
  nameOrId: string,
): Promise<Library> {
  const found = await findLibrary(client, nameOrId)
  if (!found)
    throw new ModuleError(`content library '${nameOrId}' not found`, { code: 'BRINE_NOT_FOUND' })
  return found
}

/** An item of a library by id or name (names are unique within a library). */
export async function findItem(
  client: ContentLibraryClient,
  library: Library,
  nameOrId: string,
): Promise<LibraryItem | undefined> {
  const items = await client.listItems(library.id)
  return items.find((i) => i.id === nameOrId) ?? items.find((i) => i.name === nameOrId)
}

export async function itemNamed(
  client: ContentLibraryClient,
  library: Library,
  nameOrId: string,
): Promise<LibraryItem> {
  const found = await findItem(client, library, nameOrId)
  if (!found)
    throw new ModuleError(`item '${nameOrId}' not found in content library '${library.name}'`, {
      code: 'BRINE_NOT_FOUND',
    })
  return found
}

/** brine's view of a library: what a user sets, and what vCenter reports. */
export function describeLibrary(l: Library) {
  return {
    id: l.id,
    name: l.name,
    type: l.type,
    description: l.description ?? '',
    datastores: l.storage_backings.flatMap((b) => (b.datastore_id ? [b.datastore_id] : [])),
    ...(l.subscription_info
      ? {
          subscription_url: l.subscription_info.subscription_url,
          on_demand: l.subscription_info.on_demand ?? false,
          automatic_sync: l.subscription_info.automatic_sync_enabled ?? false,
        }
      : {}),
    published: l.publish_info?.published ?? false,
    ...(l.publish_info?.publish_url ? { publish_url: l.publish_info.publish_url } : {}),
    ...(l.last_sync_time ? { last_sync_time: l.last_sync_time } : {}),
    ...(l.creation_time ? { creation_time: l.creation_time } : {}),
  }
}

export function describeItem(item: LibraryItem, library: Library) {
  return {
    id: item.id,
    name: item.name,
    library: library.name,
    library_id: library.id,
    type: item.type ?? '',
    description: item.description ?? '',
    size: item.size ?? 0,
    ...(item.content_version ? { content_version: item.content_version } : {}),
    ...(item.last_sync_time ? { last_sync_time: item.last_sync_time } : {}),
  }
}

export function describeFile(f: LibraryFile) {
  return {
    name: f.name,
    size: f.size ?? 0,
    ...(f.checksum_info
      ? { checksum: f.checksum_info.checksum.toLowerCase(), algorithm: f.checksum_info.algorithm }
      : {}),
  }
}

// Local files

/** The item type a local file makes: `ovf` (.ovf, .ova) or `iso` (.iso). */
export function itemTypeOf(path: string): 'ovf' | 'iso' | undefined {
  const ext = extname(path).toLowerCase()
  return ext === '.ovf' || ext === '.ova' ? 'ovf' : ext === '.iso' ? 'iso' : undefined
}

export interface LocalFile extends UploadFile {
  /** SHA-1 of the bytes, lower-case hex (the algorithm vCenter reports for library files). */
  sha1: string
  path: string
}

export interface LocalPackage {
  type: 'ovf' | 'iso'
  files: LocalFile[]
  /** Remove what reading the package unpacked (an OVA's members). */
  dispose(): Promise<void>
}

/** Hash one file with `algorithm` (lower-case hex). */
export async function digestOf(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm.toLowerCase().replace(/^sha(\d)/, 'sha$1'))
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}

async function localFile(path: string, name: string): Promise<LocalFile> {
  const info = await stat(path)
  const sha1 = await digestOf(path, 'sha1')
  return {
    name,
    path,
    size: info.size,
    sha1,
    checksum: { algorithm: 'SHA1', checksum: sha1 },
    open: () => createReadStream(path),
  }
}

/** The files an OVF descriptor references (`<File ovf:href=…>` in its References). */
export function ovfReferences(descriptor: string): string[] {
  const refs = descriptor.match(/<(?:\w+:)?References\b[\s\S]*?<\/(?:\w+:)?References>/)?.[0] ?? ''
  return [...refs.matchAll(/<(?:\w+:)?File\b[^>]*?\b(?:\w+:)?href="([^"]+)"/g)].map((m) => m[1]!)
}

/**
 * The files an upload sends, hashed: an ISO alone; an OVF with the files its descriptor
 * references next to it (and its .mf manifest and .cert when present); an OVA's members,
 * unpacked to a private temporary folder first (as govc's library.import does: vCenter keeps
 * an OVF template as its files).
 */
export async function readLocalPackage(
  path: string,
  type: 'ovf' | 'iso',
  fun: string,
): Promise<LocalPackage> {
  const full = resolve(path)
  await stat(full).catch(() => {
    throw new ModuleError(`${fun}: file '${path}' not found (give a file on this machine)`, {
      code: 'BRINE_ARGUMENT',
    })
  })
  const none = async () => {}
  if (type === 'iso') return { type, files: [await localFile(full, basename(full))], dispose: none }
  if (extname(full).toLowerCase() === '.ova') {
    const dir = await mkdtemp(join(tmpdir(), 'brine-ova-'))
    try {
      const names = await unpackOva(full, dir)
      if (!names.some((n) => n.toLowerCase().endsWith('.ovf')))
        throw new ModuleError(`${fun}: '${path}' holds no .ovf descriptor (is it an OVA?)`, {
          code: 'BRINE_OVF',
        })
      const files = await Promise.all(names.map((n) => localFile(join(dir, n), n)))
      return { type, files, dispose: () => rm(dir, { recursive: true, force: true }) }
    } catch (error) {
      await rm(dir, { recursive: true, force: true })
      throw error
    }
  }
  const dir = dirname(full)
  const descriptor = await readFile(full, 'utf8')
  const stem = basename(full).replace(/\.ovf$/i, '')
  const extras: string[] = []
  for (const extra of [`${stem}.mf`, `${stem}.cert`])
    if (
      await stat(join(dir, extra)).then(
        () => true,
        () => false,
      )
    )
      extras.push(extra)
  const names = [basename(full), ...ovfReferences(descriptor), ...extras]
  const files = await Promise.all(
    names.map(async (name) => {
      const file = resolve(dir, name)
      // A descriptor names files next to it; never one elsewhere on this machine.
      if (!file.startsWith(dir + sep))
        throw new ModuleError(`${fun}: ${path} references ${name}, outside its folder: refused`, {
          code: 'BRINE_OVF',
        })
      return localFile(file, name).catch((error: unknown) => {
        if (error instanceof ModuleError) throw error
        throw new ModuleError(`${fun}: ${path} references ${name}, which is not next to it`, {
          code: 'BRINE_OVF',
        })
      })
    }),
  )
  return { type, files, dispose: none }
}

/** Unpack the plain files of an OVA (tar) into `dir`; their names in archive order. */
async function unpackOva(path: string, dir: string): Promise<string[]> {
  const names: string[] = []
  const tar = extract()
  const done = new Promise<void>((resolveDone, reject) => {
    tar.on('entry', (header, body, next) => {
      const name = header.name.replace(/^\.\//, '')
      if (header.type !== 'file' || name.includes('/') || name.startsWith('.')) {
        body.resume()
        body.on('end', next)
        return
      }
      names.push(name)
      pipeline(body, createWriteStream(join(dir, name))).then(() => next(), reject)
    })
    tar.on('finish', resolveDone)
    tar.on('error', (error: Error) =>
      reject(
        new ModuleError(`'${path}' is not a readable OVA (tar): ${error.message}`, {
          code: 'BRINE_OVF',
        }),
      ),
    )
  })
  await pipeline(createReadStream(path), tar).catch(() => {})
  await done
  return names
}

/**
 * Does the item hold exactly these files, byte for byte? Sizes must match, and checksums where
 * vCenter reports one (hashed locally with vCenter's algorithm).
 */
export async function sameContent(remote: LibraryFile[], local: LocalFile[]): Promise<boolean> {
  if (remote.length !== local.length) return false
  for (const file of local) {
    const there = remote.find((r) => r.name === file.name)
    if (!there || (there.size !== undefined && there.size !== file.size)) return false
    const sum = there.checksum_info
    if (!sum) continue
    const mine =
      sum.algorithm.toUpperCase() === 'SHA1' ? file.sha1 : await digestOf(file.path, sum.algorithm)
    if (mine !== sum.checksum.toLowerCase()) return false
  }
  return true
}

// Placement of a deployed VM

export interface PlacementArgs {
  datacenter?: string | undefined
  folder?: string | undefined
  cluster?: string | undefined
  host?: string | undefined
  pool?: string | undefined
  datastore?: string | undefined
}

/** A compute resource (cluster or standalone host's) by reference, with its root pool. */
async function computeOf(ctx: CallContext, obj: ManagedObjectReference): Promise<Entity> {
  const props = await retrieveObjectProperties(ctx.serviceInstance, obj, ['name', 'resourcePool'], {
    signal: ctx.signal,
  })
  return { obj, name: String(props.name), props }
}

/**
 * Where a deployed VM goes: the datacenter (given, or the host's), its vm folder (or `folder`,
 * a path in it), a resource pool (`pool` in the cluster or host's compute resource, else that
 * compute resource's root pool; with neither cluster nor host, the datacenter's first), the
 * host when given, and the datastore when given.
 */
export async function deployPlacement(ctx: CallContext, args: PlacementArgs) {
  const si = ctx.serviceInstance
  const onHost = args.host
    ? await findInDatacenter(ctx, ENTITY_TYPES.host, args.host, args.datacenter, ['parent'], {
        path: true,
      })
    : undefined
  const datacenter = args.datacenter ?? onHost?.path?.split('/')[1]
  if (!datacenter)
    throw new ModuleError('a datacenter (or a host) is needed to place the VM: give datacenter=', {
      code: 'BRINE_ARGUMENT',
    })
  const dc = await findDatacenter(ctx, datacenter, ['vmFolder'])
  const folder = args.folder
    ? await folderAt(ctx, dc, 'vm', args.folder)
    : (dc.props.vmFolder as ManagedObjectReference)
  const compute = onHost
    ? await computeOf(ctx, onHost.props.parent as ManagedObjectReference)
    : args.cluster
      ? await findCluster(ctx, args.cluster, dc.obj.value, ['resourcePool'])
      : (
          await listEntities(si, 'ComputeResource', {
            within: dc.obj,
            props: ['resourcePool'],
            signal: ctx.signal,
          })
        )[0]
  if (!compute)
    throw new ModuleError(`datacenter '${dc.name}' has no cluster or host to run VMs`, {
      code: 'BRINE_NOT_FOUND',
    })
  const pool = args.pool
    ? (
        await getEntity(si, ENTITY_TYPES.resourcepool, args.pool, {
          within: compute.obj,
          withinLabel: `'${compute.name}'`,
          signal: ctx.signal,
        })
      ).obj
    : (compute.props.resourcePool as ManagedObjectReference)
  const datastore = args.datastore
    ? (
        await findInDatacenter(ctx, ENTITY_TYPES.datastore, args.datastore, dc.obj.value).catch(
          (error: unknown) => {
            if (error instanceof EntityNotFoundError)
              throw new ModuleError(
                `datastore '${args.datastore}' not found in datacenter '${dc.name}'`,
                { code: 'BRINE_NOT_FOUND' },
              )
            throw error
          },
        )
      ).obj
    : undefined
  return {
    dc,
    folder,
    pool,
    host: onHost?.obj,
    cluster: compute.obj.type === 'ClusterComputeResource' ? compute.obj : undefined,
    datastore,
  }
}

/** `{OVF network name: vSphere network name or id}` as vCenter's network mappings (ids). */
export async function networkMappings(
  ctx: CallContext,
  dc: { obj: ManagedObjectReference; name: string },
  networks: Record<string, string> | undefined,
): Promise<Array<{ key: string; value: string }>> {
  return Promise.all(
    Object.entries(networks ?? {}).map(async ([key, target]) => {
      const found = await getEntity(ctx.serviceInstance, 'Network', target, {
        within: dc.obj,
        signal: ctx.signal,
      }).catch((error: unknown) => {
        if (error instanceof EntityNotFoundError)
          throw new ModuleError(
            `network '${target}' (for OVF network '${key}') not found in datacenter '${dc.name}'`,
            { code: 'BRINE_NOT_FOUND' },
          )
        throw error
      })
      return { key, value: found.obj.value }
    }),
  )
}

// Guest customization after a deploy

/**
 * The vim25 CustomizationSpec for a deploy: a spec stored in vCenter by name
 * (CustomizationSpecManager.GetCustomizationSpec), or one built from `customization=`.
 */
export async function customizationFor(
  ctx: CallContext,
  args: { customization?: Record<string, unknown> | undefined; customization_spec?: string },
): Promise<Record<string, unknown> | undefined> {
  if (args.customization && args.customization_spec)
    throw new ModuleError(
      `${ctx.fun}: give customization= or customization_spec=, not both (the stored spec would be overridden)`,
      { code: 'BRINE_ARGUMENT' },
    )
  if (args.customization_spec) {
    const si = ctx.serviceInstance
    const manager = si.content.customizationSpecManager as ManagedObjectReference | undefined
    if (!manager)
      throw new ModuleError(`${ctx.fun}: this endpoint has no customization spec manager`, {
        code: 'BRINE_UNSUPPORTED',
      })
    const item = await callVim<{ spec: Record<string, unknown> }>(
      si,
      `reading customization spec '${args.customization_spec}'`,
      'GetCustomizationSpec',
      { _this: manager, name: args.customization_spec },
      { signal: ctx.signal },
    )
    return item.spec
  }
  if (args.customization)
    // The argument model and its builder are vm-customize's (modules/_customization.ts):
    // buildCustomizationSpec(args.customization) goes here once both are merged.
    throw new ModuleError(
      `${ctx.fun}: customization= needs the customization builder (modules/_customization.ts), not in this build; store the spec in vCenter and give customization_spec=`,
      { code: 'BRINE_UNSUPPORTED' },
    )
  return undefined
}

/** CustomizeVM_Task with an already-built spec (the VM must be powered off). */
export async function customizeVm(
  ctx: CallContext,
  vm: ManagedObjectReference,
  spec: Record<string, unknown>,
  label: string,
): Promise<void> {
  const what = `customizing VM '${label}'`
  await runTask(
    ctx.serviceInstance,
    what,
    'CustomizeVM_Task',
    { _this: vm, spec },
    {
      signal: ctx.signal,
      onProgress: (p) => ctx.progress(p, what),
    },
  )
}
