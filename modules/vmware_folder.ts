import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  inventoryPaths,
  listEntities,
  type ManagedObjectReference,
  runTask,
} from 'brine/vsphere'
import {
  connected,
  findDatacenter,
  folderSegments,
  names,
  rootFolderOf,
  walkFolders,
} from './_vmware.ts'

const path = z
  .string()
  .min(1)
  .describe('folder path below the datacenter’s tree root, e.g. web/prod')

export default defineModule({
  doc: 'Folders of the vm, host, datastore and network trees; paths such as web/prod are relative to the tree root.',
  functions: {
    list: defineFunction({
      doc: 'List folders (name, id, type tree, inventory path), in one datacenter or everywhere.',
      args: { datacenter: names.datacenter.optional(), type: names.folderType.optional() },
      vsphere: true,
      run: async (ctx, { datacenter, type }) => {
        const si = await connected(ctx)
        const dc = datacenter ? await findDatacenter(ctx, datacenter) : undefined
        const folders = await listEntities(si, ENTITY_TYPES.folder, {
          within: dc?.obj,
          props: ['childType'],
          signal: ctx.signal,
        })
        const paths = await inventoryPaths(
          si,
          folders.map((f) => f.obj),
        )
        const rows = folders.map((folder) => {
          const kinds = (folder.props.childType as string[] | undefined) ?? []
          const kind = kinds.includes('VirtualMachine')
            ? 'vm'
            : kinds.includes('ComputeResource')
              ? 'host'
              : kinds.includes('Datastore')
                ? 'datastore'
                : kinds.includes('Network')
                  ? 'network'
                  : 'datacenter'
          return {
            name: folder.name,
            id: folder.obj.value,
            type: kind,
            path: paths.get(folder.obj.value) ?? '',
          }
        })
        return rows
          .filter((row) => !type || row.type === type)
          .sort((a, b) => a.path.localeCompare(b.path))
      },
    }),
    create: defineFunction({
      doc: 'Create a folder path, making missing parents (like mkdir -p). Returns the folders created.',
      args: { path, datacenter: names.datacenter, type: names.folderType },
      vsphere: true,
      run: async (ctx, { path, datacenter, type }) => {
        const si = await connected(ctx)
        const walk = await walkFolders(ctx, datacenter, type, path)
        let parent = walk.found.at(-1)?.obj ?? walk.root
        const created: string[] = []
        for (const segment of walk.missing) {
          parent = await callVim<ManagedObjectReference>(
            si,
            `creating folder '${segment}' in ${type} tree of datacenter '${walk.dc.name}'`,
            'CreateFolder',
            { _this: parent, name: segment },
            { signal: ctx.signal },
          )
          created.push(segment)
        }
        return { path: folderSegments(path).join('/'), id: parent.value, created }
      },
    }),
    rename: defineFunction({
      doc: 'Rename the last folder of a path.',
      args: {
        path,
        new_name: z.string().min(1).describe('the new name'),
        datacenter: names.datacenter,
        type: names.folderType,
      },
      vsphere: true,
      run: async (ctx, { path, new_name, datacenter, type }) => {
        const folder = await existingFolder(ctx, datacenter, type, path)
        await runTask(
          await connected(ctx),
          `renaming folder '${path}' to '${new_name}'`,
          'Rename_Task',
          { _this: folder, newName: new_name },
          { signal: ctx.signal },
        )
        return {
          path: [...folderSegments(path).slice(0, -1), new_name].join('/'),
          id: folder.value,
        }
      },
    }),
    move: defineFunction({
      doc: 'Move a folder under another folder of the same tree ("" or / for the tree root).',
      args: {
        path,
        destination: z.string().describe('destination folder path'),
        datacenter: names.datacenter,
        type: names.folderType,
      },
      vsphere: true,
      run: async (ctx, { path, destination, datacenter, type }) => {
        const folder = await existingFolder(ctx, datacenter, type, path)
        const target = folderSegments(destination).length
          ? await existingFolder(ctx, datacenter, type, destination)
          : (await rootFolderOf(ctx, datacenter, type)).folder
        await runTask(
          await connected(ctx),
          `moving folder '${path}' to '${destination || '/'}'`,
          'MoveIntoFolder_Task',
          { _this: target, list: [folder] },
          { signal: ctx.signal },
        )
        const name = folderSegments(path).at(-1)!
        return { path: [...folderSegments(destination), name].join('/'), id: folder.value }
      },
    }),
    destroy: defineFunction({
      doc: 'Destroy a folder and everything in it.',
      args: { path, datacenter: names.datacenter, type: names.folderType },
      vsphere: true,
      run: async (ctx, { path, datacenter, type }) => {
        const folder = await existingFolder(ctx, datacenter, type, path)
        await runTask(
          await connected(ctx),
          `destroying folder '${path}'`,
          'Destroy_Task',
          { _this: folder },
          { signal: ctx.signal },
        )
        return { path: folderSegments(path).join('/'), id: folder.value, destroyed: true }
      },
    }),
  },
})

async function existingFolder(
  ctx: Parameters<typeof walkFolders>[0],
  datacenter: string,
  type: string,
  path: string,
): Promise<ManagedObjectReference> {
  const walk = await walkFolders(ctx, datacenter, type, path)
  if (walk.missing.length || walk.found.length === 0) {
    const have = walk.found.map((f) => f.name).join('/')
    throw new ModuleError(
      `folder '${path}' not found in the ${type} tree of datacenter '${walk.dc.name}' (exists up to: ${have || 'the root'})`,
      {
        code: 'BRINE_NOT_FOUND',
      },
    )
  }
  return walk.found.at(-1)!.obj
}
