import { defineFunction, defineModule, z } from 'brine/loader'
import { describeFile, findItem, findLibrary, withLibraries } from '../modules/_content_library.ts'
import {
  itemTypeOf,
  type LocalFile,
  readLocalPackage,
  sameContent,
} from '../modules/_library_package.ts'
import { diff, names, stateReturn } from '../modules/_vmware.ts'
import type vmware_content_library from '../modules/vmware_content_library.ts'

/**
 * Content libraries and their items as desired state. A library is matched by name (or id);
 * its type (local or subscribed), datastore and subscription URL are fixed at creation (a
 * difference is reported, never "fixed" by deleting a library full of items); its description
 * (and a subscribed library's on_demand and automatic_sync) are brought in line. A
 * subscription password cannot be read back, so it is not compared. An item is matched by name in its library and holds the files of a local
 * OVF/OVA/ISO: same names, sizes and checksums, or it is uploaded again (a changed item is
 * replaced: deleted and uploaded, so it gets a new id).
 */

const fileView = (files: LocalFile[]) =>
  files.map((f) => ({ name: f.name, size: f.size, checksum: f.sha1 }))

const library_present = defineFunction({
  doc:
    'Make sure a content library exists: local, or subscribed to subscription_url ' +
    '(arguments as vmware_content_library.create_library); the description is kept in line.',
  args: () => ({
    name: z.string().min(1).describe('library name'),
    datastore: z.string().min(1).describe('datastore name or id (used when creating)'),
    datacenter: names.datacenter.optional(),
    description: z.string().optional().describe('description (left out: not compared)'),
    published: z.boolean().optional().describe('publish a local library (when creating)'),
    subscription_url: z.string().url().optional().describe('subscribe to this library'),
    on_demand: z.boolean().optional(),
    automatic_sync: z.boolean().optional(),
    user_name: z.string().min(1).optional(),
    password: z.string().min(1).optional().meta({ secret: true }),
    ssl_thumbprint: z.string().optional(),
  }),
  run: (ctx, args) =>
    withLibraries(ctx, async (c) => {
      const { name } = args
      const found = await findLibrary(c, name)
      const wantedType = args.subscription_url ? 'SUBSCRIBED' : 'LOCAL'
      if (!found) {
        const created = {
          name,
          type: wantedType,
          datastore: args.datastore,
          ...(args.subscription_url ? { subscription_url: args.subscription_url } : {}),
          description: args.description ?? '',
        }
        if (ctx.test)
          return stateReturn(name, null, `Content library '${name}' would be created`, {
            old: null,
            new: created,
          })
        const { password, ...rest } = args
        const made = await ctx
          .module<typeof vmware_content_library>('vmware_content_library')
          .create_library({ ...rest, ...(password === undefined ? {} : { password }) })
        return stateReturn(name, true, `Content library '${name}' created`, {
          old: null,
          new: { ...created, id: made.id },
        })
      }
      if (found.type !== wantedType)
        return stateReturn(
          name,
          false,
          `Content library '${name}' exists as ${found.type}, not ${wantedType}; a library's type is fixed: delete it (library_absent) to recreate it`,
        )
      const url = found.subscription_info?.subscription_url
      if (args.subscription_url && url !== args.subscription_url)
        return stateReturn(
          name,
          false,
          `Content library '${name}' subscribes to ${url}, not ${args.subscription_url}; delete it (library_absent) to subscribe elsewhere`,
        )
      const sub = found.subscription_info
      const current = {
        description: found.description ?? '',
        ...(sub
          ? {
              on_demand: sub.on_demand ?? false,
              automatic_sync: sub.automatic_sync_enabled ?? false,
            }
          : {}),
      }
      const changes = diff(current, {
        description: args.description,
        ...(sub ? { on_demand: args.on_demand, automatic_sync: args.automatic_sync } : {}),
      })
      if (!Object.keys(changes).length)
        return stateReturn(name, true, `Content library '${name}' is in the desired state`)
      const change = {
        old: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.old])),
        new: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.new])),
      }
      if (ctx.test)
        return stateReturn(name, null, `Content library '${name}' would be updated`, change)
      const { on_demand, automatic_sync, description } = change.new as {
        on_demand?: boolean
        automatic_sync?: boolean
        description?: string
      }
      await c.updateLibrary(found, {
        ...(description === undefined ? {} : { description }),
        ...(sub && (on_demand !== undefined || automatic_sync !== undefined)
          ? {
              subscription_info: {
                authentication_method: sub.authentication_method,
                ...(on_demand === undefined ? {} : { on_demand }),
                ...(automatic_sync === undefined ? {} : { automatic_sync_enabled: automatic_sync }),
              },
            }
          : {}),
      })
      return stateReturn(name, true, `Content library '${name}' updated`, change)
    }),
})

const library_absent = defineFunction({
  doc: 'Make sure a content library (and so its items) does not exist.',
  args: () => ({ name: z.string().min(1).describe('library name or id') }),
  run: (ctx, { name }) =>
    withLibraries(ctx, async (c) => {
      const found = await findLibrary(c, name)
      if (!found) return stateReturn(name, true, `Content library '${name}' is already absent`)
      const changes = { old: { name: found.name, id: found.id, type: found.type }, new: null }
      if (ctx.test)
        return stateReturn(name, null, `Content library '${name}' would be deleted`, changes)
      await c.deleteLibrary(found)
      return stateReturn(name, true, `Content library '${name}' deleted`, changes)
    }),
})

const item_present = defineFunction({
  doc:
    'Make sure a library item holds the files of a local OVF (with its disks), OVA or ISO, ' +
    'compared by name, size and checksum; uploaded when missing, replaced when different.',
  args: () => ({
    name: z.string().min(1).describe('item name'),
    library: z.string().min(1).describe('content library name or id'),
    path: z.string().min(1).describe('.ovf, .ova or .iso file on this machine'),
    description: z.string().optional().describe('description (left out: not compared)'),
    type: z.enum(['ovf', 'iso']).optional().describe('item type (default: from the extension)'),
  }),
  run: (ctx, args) =>
    withLibraries(ctx, async (c) => {
      const { name } = args
      const type = args.type ?? itemTypeOf(args.path)
      if (!type)
        return stateReturn(
          name,
          false,
          `Cannot tell the item type of '${args.path}': give type: ovf or type: iso`,
        )
      const lib = await findLibrary(c, args.library)
      const pkg = await readLocalPackage(args.path, type, ctx.fun)
      try {
        const wanted = { name, type, files: fileView(pkg.files) }
        if (!lib) {
          if (ctx.test)
            return stateReturn(
              name,
              null,
              `Content library '${args.library}' does not exist (yet): item '${name}' would be uploaded once it does`,
              { old: null, new: wanted },
            )
          return stateReturn(
            name,
            false,
            `Content library '${args.library}' not found; create it first (library_present)`,
          )
        }
        const item = await findItem(c, lib, name)
        const module = ctx.module<typeof vmware_content_library>('vmware_content_library')
        const upload = () =>
          module.upload_item({
            library: lib.id,
            name,
            path: args.path,
            type,
            description: args.description ?? item?.description ?? '',
          })
        if (!item) {
          if (ctx.test)
            return stateReturn(name, null, `Item '${name}' would be uploaded to '${lib.name}'`, {
              old: null,
              new: wanted,
            })
          const made = await upload()
          return stateReturn(name, true, `Item '${name}' uploaded to '${lib.name}'`, {
            old: null,
            new: { ...wanted, id: made.id },
          })
        }
        const files = await c.listFiles(item.id)
        if (!(await sameContent(files, pkg.files))) {
          const changes = {
            old: { files: files.map(describeFile).map(({ algorithm: _a, ...f }) => f) },
            new: { files: wanted.files },
          }
          if (ctx.test)
            return stateReturn(
              name,
              null,
              `Item '${name}' differs from ${args.path}: it would be replaced`,
              changes,
            )
          await c.deleteItem(item.id)
          const made = await upload()
          return stateReturn(name, true, `Item '${name}' replaced (new id ${made.id})`, changes)
        }
        if (args.description === undefined || args.description === (item.description ?? ''))
          return stateReturn(name, true, `Item '${name}' is in the desired state`)
        const changes = {
          old: { description: item.description ?? '' },
          new: { description: args.description },
        }
        if (ctx.test) return stateReturn(name, null, `Item '${name}' would be updated`, changes)
        await c.updateItem(item.id, { description: args.description })
        return stateReturn(name, true, `Item '${name}' updated`, changes)
      } finally {
        await pkg.dispose()
      }
    }),
})

const item_absent = defineFunction({
  doc: 'Make sure a library item does not exist (a missing library holds no item).',
  args: () => ({
    name: z.string().min(1).describe('item name or id'),
    library: z.string().min(1).describe('content library name or id'),
  }),
  run: (ctx, { name, library }) =>
    withLibraries(ctx, async (c) => {
      const lib = await findLibrary(c, library)
      const item = lib ? await findItem(c, lib, name) : undefined
      if (!lib || !item) return stateReturn(name, true, `Item '${name}' is already absent`)
      const changes = { old: { name: item.name, id: item.id, library: lib.name }, new: null }
      if (ctx.test) return stateReturn(name, null, `Item '${name}' would be deleted`, changes)
      await c.deleteItem(item.id)
      return stateReturn(name, true, `Item '${name}' deleted`, changes)
    }),
})

export default defineModule({
  doc: 'Content libraries and library items as desired state.',
  vsphere: true,
  functions: { library_present, library_absent, item_present, item_absent },
})
