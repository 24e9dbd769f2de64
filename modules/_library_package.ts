import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, extname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ModuleError } from 'brine/loader'
import type { LibraryFile, UploadFile } from 'brine/vsphere'

/*
 * The local files an item upload sends (an ISO; an OVF and what it references; an OVA's
 * members), hashed, and whether a library item already holds them.
 */

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
  // Required here, by the one call that unpacks an OVA: tar-stream and its dependencies cost
  // every vmware_content_library call ~9 ms to load (issue 21). The loader runs a module as
  // CommonJS and gives it `require` (loader/evaluate.ts); a module has no `import()`.
  const { extract } = require('tar-stream') as typeof import('tar-stream')
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
