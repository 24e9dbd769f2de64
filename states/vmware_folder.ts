import { type CallContext, defineFunction, defineModule, z } from 'brine/loader'
import { folderSegments, requiredAliased, walkFolders } from '../modules/_vmware.ts'

const folderType = z
  .enum(['vm', 'host', 'datastore', 'network'])
  .default('vm')
  .describe('folder tree')
const dcName = z.string().min(1).optional()
const args = {
  name: z.string().min(1).describe('folder path below the tree root, e.g. web/prod'),
  datacenter: dcName.describe('datacenter name or id'),
  type: folderType,
  dc_name: dcName.describe('alias of datacenter (saltext-vmware’s name)'),
}

type Ret = {
  name: string
  result: boolean | null
  changes: Record<string, unknown>
  comment: string
}

async function present(
  ctx: CallContext,
  name: string,
  datacenter: string,
  type: string,
): Promise<Ret> {
  const walk = await walkFolders(ctx, datacenter, type, name)
  if (walk.missing.length === 0)
    return { name, result: true, changes: {}, comment: `Folder '${name}' is already present.` }
  const changes = { created: { old: null, new: walk.missing } }
  if (ctx.test)
    return {
      name,
      result: null,
      changes,
      comment: `Folder '${name}' would be created (${walk.missing.join('/')}).`,
    }
  await ctx.salt('vmware_folder.create', { path: name, datacenter, type })
  return { name, result: true, changes, comment: `Folder '${name}' created.` }
}

async function absent(
  ctx: CallContext,
  name: string,
  datacenter: string,
  type: string,
): Promise<Ret> {
  const walk = await walkFolders(ctx, datacenter, type, name)
  if (walk.missing.length)
    return { name, result: true, changes: {}, comment: `Folder '${name}' does not exist.` }
  const changes = { folder: { old: name, new: null } }
  if (ctx.test)
    return { name, result: null, changes, comment: `Folder '${name}' would be destroyed.` }
  await ctx.salt('vmware_folder.destroy', { path: name, datacenter, type })
  return { name, result: true, changes, comment: `Folder '${name}' destroyed.` }
}

const exists = async (ctx: CallContext, datacenter: string, type: string, path: string) =>
  (await walkFolders(ctx, datacenter, type, path)).missing.length === 0

const datacenterOf = (a: { datacenter?: string | undefined; dc_name?: string | undefined }) =>
  requiredAliased({ dc_name: a.dc_name, datacenter: a.datacenter })

export default defineModule({
  doc:
    'Folders, idempotently (saltext-vmware’s folder states manage, rename and move are not: ' +
    'here a second run changes nothing). Folder names are paths from the tree root.',
  vsphere: true,
  functions: {
    present: defineFunction({
      doc: 'Make sure the folder path exists (creating missing parents).',
      args,
      run: (ctx, a) => present(ctx, a.name, datacenterOf(a), a.type),
    }),
    absent: defineFunction({
      doc: 'Make sure the folder (and what it holds) does not exist.',
      args,
      run: (ctx, a) => absent(ctx, a.name, datacenterOf(a), a.type),
    }),
    manage: defineFunction({
      doc: 'saltext-vmware’s manage: task create is present, task destroy is absent.',
      args: () => ({
        name: args.name,
        task: z.enum(['create', 'destroy']).describe('create or destroy'),
        dc_name: dcName.describe('datacenter name or id'),
        type: folderType,
        datacenter: dcName.describe('alias of dc_name'),
      }),
      run: (ctx, a) =>
        a.task === 'create'
          ? present(ctx, a.name, datacenterOf(a), a.type)
          : absent(ctx, a.name, datacenterOf(a), a.type),
    }),
    rename: defineFunction({
      doc:
        'Rename the last folder of the path `name` to new_folder_name; done already when only ' +
        'the new name exists; fails when neither does.',
      args: () => ({
        name: args.name,
        new_folder_name: z.string().min(1).describe('the new name'),
        dc_name: dcName.describe('datacenter name or id'),
        type: folderType,
        datacenter: dcName.describe('alias of dc_name'),
      }),
      run: async (ctx, a) => {
        const { name, new_folder_name, type } = a
        const datacenter = datacenterOf(a)
        const renamed = [...folderSegments(name).slice(0, -1), new_folder_name].join('/')
        if (!(await exists(ctx, datacenter, type, name))) {
          if (await exists(ctx, datacenter, type, renamed))
            return {
              name,
              result: true,
              changes: {},
              comment: `Folder '${name}' is already renamed to '${renamed}'.`,
            }
          return {
            name,
            result: false,
            changes: {},
            comment: `Folder '${name}' not found in the ${type} tree of datacenter '${datacenter}', nor '${renamed}'.`,
          }
        }
        const changes = { folder: { old: name, new: renamed } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Folder '${name}' would be renamed to '${renamed}'.`,
          }
        await ctx.salt('vmware_folder.rename', {
          path: name,
          new_name: new_folder_name,
          datacenter,
          type,
        })
        return { name, result: true, changes, comment: `Folder '${name}' renamed to '${renamed}'.` }
      },
    }),
    move: defineFunction({
      doc:
        'Move the folder `name` under destination_folder_name (a path; "" or / for the tree root); ' +
        'done already when it is there and not at `name`.',
      args: () => ({
        name: args.name,
        destination_folder_name: z.string().describe('destination folder path'),
        dc_name: dcName.describe('datacenter name or id'),
        type: folderType,
        datacenter: dcName.describe('alias of dc_name'),
      }),
      run: async (ctx, a) => {
        const { name, destination_folder_name: destination, type } = a
        const datacenter = datacenterOf(a)
        const moved = [...folderSegments(destination), folderSegments(name).at(-1)!].join('/')
        const here = await exists(ctx, datacenter, type, name)
        if (
          moved === folderSegments(name).join('/') ||
          (!here && (await exists(ctx, datacenter, type, moved)))
        )
          return {
            name,
            result: true,
            changes: {},
            comment: `Folder '${name}' is already in '${destination || '/'}'.`,
          }
        if (!here)
          return {
            name,
            result: false,
            changes: {},
            comment: `Folder '${name}' not found in the ${type} tree of datacenter '${datacenter}'.`,
          }
        if (
          folderSegments(destination).length &&
          !(await exists(ctx, datacenter, type, destination))
        )
          return {
            name,
            result: false,
            changes: {},
            comment: `Destination folder '${destination}' not found in the ${type} tree of datacenter '${datacenter}'.`,
          }
        const changes = { folder: { old: name, new: moved } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Folder '${name}' would be moved to '${moved}'.`,
          }
        await ctx.salt('vmware_folder.move', { path: name, destination, datacenter, type })
        return { name, result: true, changes, comment: `Folder '${name}' moved to '${moved}'.` }
      },
    }),
  },
})
