import { defineFunction, defineModule, z } from 'brine/loader'
import {
  type Customization,
  comparableCustomization,
  customizationFields,
} from '../modules/_customization.ts'
import type vmware_customization from '../modules/vmware_customization.ts'

/**
 * Customization specs stored in vCenter, idempotently. What is compared is the spec in the
 * argument model (vmware_customization.get): passwords and the product key only as whether one
 * is set, since vCenter never gives them back in clear; changing only a password needs
 * vmware_customization.create with overwrite=True.
 */
const COMPARED = ['description', 'linux', 'windows', 'nics', 'dns_servers', 'dns_suffixes']

export default defineModule({
  doc: 'Guest customization specs stored in vCenter: spec_present, spec_absent.',
  vsphere: true,
  functions: {
    spec_present: defineFunction({
      doc:
        'Make sure a customization spec of this name exists with these settings (created, or ' +
        'overwritten when it differs): the arguments of vmware_customization.create.',
      args: () => ({
        name: z.string().min(1).describe('customization spec name'),
        ...customizationFields(),
        description: z.string().default('').describe('description'),
      }),
      run: async (ctx, { name, description, ...fields }) => {
        const specs = ctx.module<typeof vmware_customization>('vmware_customization')
        const wanted: Record<string, unknown> = {
          description,
          ...comparableCustomization(fields as Customization),
        }
        const exists = (await specs.list()).some((s) => s.name === name)
        const current: Record<string, unknown> | undefined = exists
          ? await specs.get({ name })
          : undefined
        const changes: Record<string, { old: unknown; new: unknown }> = {}
        if (!current) changes.spec = { old: null, new: { name, ...wanted } }
        else
          for (const key of COMPARED)
            if (JSON.stringify(current[key] ?? null) !== JSON.stringify(wanted[key] ?? null))
              changes[key] = { old: current[key] ?? null, new: wanted[key] ?? null }
        if (!Object.keys(changes).length)
          return {
            name,
            result: true,
            changes: {},
            comment: `Customization spec '${name}' is already as wanted.`,
          }
        const verb = current ? 'updated' : 'created'
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Customization spec '${name}' would be ${verb}.`,
          }
        await specs.create({ name, description, ...fields, overwrite: Boolean(current) })
        return { name, result: true, changes, comment: `Customization spec '${name}' ${verb}.` }
      },
    }),
    spec_absent: defineFunction({
      doc: 'Make sure no customization spec of this name exists.',
      args: () => ({ name: z.string().min(1).describe('customization spec name') }),
      run: async (ctx, { name }) => {
        const specs = ctx.module<typeof vmware_customization>('vmware_customization')
        if (!(await specs.list()).some((s) => s.name === name))
          return {
            name,
            result: true,
            changes: {},
            comment: `Customization spec '${name}' does not exist.`,
          }
        const changes = { spec: { old: name, new: null } }
        if (ctx.test)
          return {
            name,
            result: null,
            changes,
            comment: `Customization spec '${name}' would be deleted.`,
          }
        await specs.delete({ name })
        return { name, result: true, changes, comment: `Customization spec '${name}' deleted.` }
      },
    }),
  },
})
