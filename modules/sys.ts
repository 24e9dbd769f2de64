import { defineFunction, defineModule, z } from 'brine/loader'

const target = z.string().optional().describe('a module, a function, or a glob such as vmware_*')

export default defineModule({
  doc: 'Introspection of the loaded modules, as Salt’s sys module.',
  functions: {
    list_modules: defineFunction({
      doc: 'List the execution modules that are available.',
      args: () => ({}),
      run: (ctx) => ctx.sys.listModules(),
    }),
    list_functions: defineFunction({
      doc: 'List execution functions, all or those of a module or matching a glob.',
      args: () => ({ module: target }),
      run: (ctx, { module }) => ctx.sys.listFunctions(module),
    }),
    list_state_functions: defineFunction({
      doc: 'List state functions, all or those of a state module or matching a glob.',
      args: () => ({ module: target }),
      run: (ctx, { module }) => ctx.sys.listFunctions(module, true),
    }),
    doc: defineFunction({
      doc: 'Show the documentation of execution functions: all, a module’s, or one.',
      args: () => ({ target }),
      run: (ctx, { target }) => ctx.sys.doc(target),
    }),
    state_doc: defineFunction({
      doc: 'Show the documentation of state functions: all, a module’s, or one.',
      args: () => ({ target }),
      run: (ctx, { target }) => ctx.sys.doc(target, true),
    }),
    reload_modules: defineFunction({
      doc: 'Reload execution and state modules from their files (one module, or all).',
      args: () => ({
        module: z.string().optional().describe('the module to reload; all when absent'),
      }),
      run: async (ctx, { module }) => {
        await ctx.sys.reload(module)
        return true
      },
    }),
  },
})
