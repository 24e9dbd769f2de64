import { defineFunction, defineModule, z } from 'brine/loader'

/** Salt's test states, with Salt's results and comments in both modes. */
const name = z.string().describe('the state name')
/** Salt's test states take `comment:` through **kwargs (not nop). */
const comment = z.coerce.string().optional().describe('the comment (outside test mode)')
const pretended = { testing: { old: 'Unchanged', new: 'Something pretended to change' } }

export default defineModule({
  doc: 'States for testing state runs (Salt’s test states).',
  functions: {
    nop: defineFunction({
      doc: 'Do nothing: result True, no changes.',
      args: () => ({ name }),
      varargs: true,
      run: (_ctx, { name }) => ({ name, changes: {}, result: true, comment: 'Success!' }),
    }),
    succeed_without_changes: defineFunction({
      doc: 'Succeed without changes.',
      args: () => ({ name, comment }),
      varargs: true,
      run: (_ctx, { name, comment }) => ({
        name,
        changes: {},
        result: true,
        comment: comment ?? 'Success!',
      }),
    }),
    succeed_with_changes: defineFunction({
      doc: 'Succeed with pretended changes (result None in test mode).',
      args: () => ({ name, comment }),
      varargs: true,
      run: (ctx, { name, comment }) =>
        ctx.test
          ? {
              name,
              changes: pretended,
              result: null,
              comment: "If we weren't testing, this would be successful with changes",
            }
          : { name, changes: pretended, result: true, comment: comment ?? 'Success!' },
    }),
    fail_without_changes: defineFunction({
      doc: 'Fail without changes.',
      args: () => ({ name, comment }),
      varargs: true,
      run: (ctx, { name, comment }) =>
        ctx.test
          ? {
              name,
              changes: {},
              result: false,
              comment: "If we weren't testing, this would be a failure!",
            }
          : { name, changes: {}, result: false, comment: comment ?? 'Failure!' },
    }),
    fail_with_changes: defineFunction({
      doc: 'Fail with pretended changes (result None in test mode).',
      args: () => ({ name, comment }),
      varargs: true,
      run: (ctx, { name, comment }) =>
        ctx.test
          ? {
              name,
              changes: pretended,
              result: null,
              comment: "If we weren't testing, this would be failed with changes",
            }
          : { name, changes: pretended, result: false, comment: comment ?? 'Failure!' },
    }),
    configurable_test_state: defineFunction({
      doc: 'Return the given result, changes and comment (changes=True pretends a change; result may be True, False or None).',
      args: () => ({
        name,
        changes: z
          .union([z.boolean(), z.literal('Random'), z.record(z.string(), z.unknown())])
          .default(true)
          .describe('True, False, or a dict of changes'),
        result: z
          .union([z.boolean(), z.null(), z.literal('Random')])
          .default(true)
          .describe('True, False or None'),
        comment: z.string().default('').describe('the comment'),
        warnings: z
          .union([z.string(), z.array(z.string())])
          .optional()
          .describe('warnings to return'),
      }),
      run: (ctx, { name, changes, result, comment, warnings }) => {
        const pick = <T>(value: T | 'Random', options: T[]): T =>
          value === 'Random' ? options[Math.floor(Math.random() * options.length)]! : value
        const wanted = pick(changes, [true, false])
        const changeSet = wanted === true ? pretended : wanted === false ? {} : wanted
        const ret: Record<string, unknown> = {
          name,
          changes: changeSet,
          result: ctx.test
            ? Object.keys(changeSet).length
              ? null
              : true
            : pick(result, [true, false]),
          comment: comment || 'This is a test',
        }
        if (warnings) ret.warnings = Array.isArray(warnings) ? warnings : [warnings]
        return ret
      },
    }),
    show_notification: defineFunction({
      doc: 'Show a notification in the run’s output: result True, no changes.',
      args: () => ({ name, text: z.string().optional().describe('the text (default: the name)') }),
      run: (_ctx, { name, text }) => ({ name, changes: {}, result: true, comment: text ?? name }),
    }),
    mod_watch: defineFunction({
      doc: 'Called when a watched state changed: result True, "Watch statement fired." (result, comment and changes given to the state override them, as in Salt).',
      args: () => ({
        name,
        sfun: z.string().optional().describe('the watching function'),
        __reqs__: z
          .record(z.string(), z.array(z.record(z.string(), z.unknown())))
          .optional()
          .describe('the requisites that fired'),
      }),
      varargs: true,
      run: (_ctx, { name, __reqs__ }, extra) => {
        const given = extra.kwargs
        return {
          name,
          result: 'result' in given ? given.result : true,
          comment: 'comment' in given ? given.comment : 'Watch statement fired.',
          changes:
            'changes' in given
              ? given.changes
              : {
                  'Requisites with changes': (__reqs__?.watch ?? []).map(
                    (req) => `${String(req.state)}: ${String(req.__id__)}`,
                  ),
                },
        }
      },
    }),
  },
})
