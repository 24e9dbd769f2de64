import { defineFunction, defineModule, Secret, z } from 'brine/loader'
import { callVim, retrieveObjectProperties } from 'brine/vsphere'
import { connected } from './_vmware.ts'

interface LicenseInfo {
  licenseKey: string
  editionKey: string
  name: string
  total: number
  used?: number
  costUnit: string
}

/**
 * Only the last block of a key is shown: a license key is a secret. Keys passed in are also
 * registered with the redactor, so no log or output shows them whole.
 */
function masked(key: string): string {
  new Secret(key)
  return key.replace(/^(?:[^-]+-){4}/, '*****-*****-*****-*****-')
}

async function installedKeys(
  ctx: Parameters<Parameters<typeof defineFunction>[0]['run']>[0],
): Promise<LicenseInfo[]> {
  const si = await connected(ctx)
  const { licenses } = await retrieveObjectProperties(
    si,
    si.content.licenseManager as never,
    ['licenses'],
    { signal: ctx.signal },
  )
  return (licenses as LicenseInfo[] | undefined) ?? []
}

export default defineModule({
  doc: 'vCenter licenses (keys are shown masked).',
  functions: {
    list: defineFunction({
      doc: 'List licenses: masked key, name, edition, total, used.',
      args: {},
      vsphere: true,
      run: async (ctx) =>
        (await installedKeys(ctx)).map((l) => ({
          key: masked(String(l.licenseKey)),
          name: l.name,
          edition: l.editionKey,
          total: Number(l.total),
          used: l.used === undefined ? null : Number(l.used),
          cost_unit: l.costUnit,
        })),
    }),
    has: defineFunction({
      doc: 'Whether this exact license key is installed (compared whole, answered yes or no).',
      args: { key: z.string().min(5).describe('the license key') },
      vsphere: true,
      run: async (ctx, { key }) => {
        masked(key)
        return (await installedKeys(ctx)).some((l) => l.licenseKey === key)
      },
    }),
    add: defineFunction({
      doc: 'Add a license key.',
      args: { key: z.string().min(5).describe('the license key') },
      vsphere: true,
      run: async (ctx, { key }) => {
        const si = await connected(ctx)
        const info = await callVim<LicenseInfo>(si, `adding license ${masked(key)}`, 'AddLicense', {
          _this: si.content.licenseManager,
          licenseKey: key,
        })
        return { key: masked(key), name: info?.name, edition: info?.editionKey }
      },
    }),
    remove: defineFunction({
      doc: 'Remove a license key.',
      args: { key: z.string().min(5).describe('the license key') },
      vsphere: true,
      run: async (ctx, { key }) => {
        const si = await connected(ctx)
        await callVim(si, `removing license ${masked(key)}`, 'RemoveLicense', {
          _this: si.content.licenseManager,
          licenseKey: key,
        })
        return { key: masked(key), removed: true }
      },
    }),
  },
})
