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
  findDatacenter,
  folderSegments,
  names,
  requiredAliased,
  rootFolderOf,
  walkFolders,
} from './_vmware.ts'

// saltext-vmware's names and positional order (folder_name, dc_name, type) first; brine's
// earlier names (path, datacenter) follow as aliases, checked to agree when both are given.
const target = {
  folder_name: z
    .string()
    .min(1)
    .optional()
    .describe('folder path below the datacenter’s tree root, e.g. web/prod'),
  dc_name: names.datacenter.optional(),
  type: names.folderType,
}
const targetAliases = {
  path: z.string().min(1).optional().describe('alias of folder_name'),
  datacenter: names.datacenter.optional().describe('alias of dc_name'),
}

function resolveTarget(args: {
  folder_name?: string | undefined
  dc_name?: string | undefined
  path?: string | undefined
  datacenter?: string | undefined
  type: string
}) {
  return {
    path: requiredAliased({ folder_name: args.folder_name, path: args.path }),
    datacenter: requiredAliased({ dc_name: args.dc_name, datacenter: args.datacenter }),
    type: args.type,
  }
}

export default defineModule({
  doc: 'Folders of the vm, host, datastore and network trees; paths such as web/prod are relative to the tree root.',
  vsphere: true,
  functions: {
    list: defineFunction({
      doc:
        'Folder names, as saltext-vmware lists them (the tree roots included), in one datacenter ' +
        'or everywhere; with details=True, rows of {name, id, type tree, inventory path}.',
      args: () => ({
        datacenter: names.datacenter.optional(),
        type: z
          .enum(['vm', 'host', 'datastore', 'network'])
          .optional()
          .describe('only this tree (default: all)'),
        details: z.boolean().default(false).describe('rows with id, type tree and path'),
      }),
      run: async (ctx, { datacenter, type, details }) => {
        const si = ctx.serviceInstance
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
        const wanted = rows
          .filter((row) => !type || row.type === type)
          .sort((a, b) => a.path.localeCompare(b.path))
        return details ? wanted : wanted.map((row) => row.name)
      },
    }),
    create: defineFunction({
      doc:
        'Create a folder path, making missing parents (like mkdir -p): saltext-vmware’s ' +
        '{status: "created"}, plus the path, id and the folders created.',
      args: () => ({ ...target, ...targetAliases }),
      run: async (ctx, args) => {
        const { path, datacenter, type } = resolveTarget(args)
        const si = ctx.serviceInstance
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
        return {
          status: 'created',
          path: folderSegments(path).join('/'),
          id: parent.value,
          created,
        }
      },
    }),
    rename: defineFunction({
      doc: 'Rename the last folder of a path: {status: "renamed"}, plus the new path and id.',
      args: () => ({
        folder_name: target.folder_name,
        new_folder_name: z.string().min(1).optional().describe('the new name'),
        dc_name: target.dc_name,
        type: target.type,
        ...targetAliases,
        new_name: z.string().min(1).optional().describe('alias of new_folder_name'),
      }),
      run: async (ctx, args) => {
        const { path, datacenter, type } = resolveTarget(args)
        const new_name = requiredAliased({
          new_folder_name: args.new_folder_name,
          new_name: args.new_name,
        })
        const folder = await existingFolder(ctx, datacenter, type, path)
        await runTask(
          ctx.serviceInstance,
          `renaming folder '${path}' to '${new_name}'`,
          'Rename_Task',
          { _this: folder, newName: new_name },
          { signal: ctx.signal },
        )
        return {
          status: 'renamed',
          path: [...folderSegments(path).slice(0, -1), new_name].join('/'),
          id: folder.value,
        }
      },
    }),
    move: defineFunction({
      doc:
        'Move a folder under another folder of the same tree ("" or / for the tree root): ' +
        '{status: "moved"}, plus the new path and id.',
      args: () => ({
        folder_name: target.folder_name,
        destination_folder_name: z.string().optional().describe('destination folder path'),
        dc_name: target.dc_name,
        type: target.type,
        ...targetAliases,
        destination: z.string().optional().describe('alias of destination_folder_name'),
      }),
      run: async (ctx, args) => {
        const { path, datacenter, type } = resolveTarget(args)
        const destination = requiredAliased({
          destination_folder_name: args.destination_folder_name,
          destination: args.destination,
        })
        const folder = await existingFolder(ctx, datacenter, type, path)
        const target = folderSegments(destination).length
          ? await existingFolder(ctx, datacenter, type, destination)
          : (await rootFolderOf(ctx, datacenter, type)).folder
        await runTask(
          ctx.serviceInstance,
          `moving folder '${path}' to '${destination || '/'}'`,
          'MoveIntoFolder_Task',
          { _this: target, list: [folder] },
          { signal: ctx.signal },
        )
        const name = folderSegments(path).at(-1)!
        return {
          status: 'moved',
          path: [...folderSegments(destination), name].join('/'),
          id: folder.value,
        }
      },
    }),
    destroy: defineFunction({
      doc: 'Destroy a folder and everything in it: {status: "destroyed"}, plus the path and id.',
      args: () => ({ ...target, ...targetAliases }),
      run: async (ctx, args) => {
        const { path, datacenter, type } = resolveTarget(args)
        const folder = await existingFolder(ctx, datacenter, type, path)
        await runTask(
          ctx.serviceInstance,
          `destroying folder '${path}'`,
          'Destroy_Task',
          { _this: folder },
          { signal: ctx.signal },
        )
        return {
          status: 'destroyed',
          path: folderSegments(path).join('/'),
          id: folder.value,
          destroyed: true,
        }
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
