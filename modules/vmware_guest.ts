// Guest operations through VMware Tools: run a program, upload and download files, list and
// end processes (vSphere's GuestOperationsManager; the calls themselves in _guest_ops.ts).
import { createReadStream } from 'node:fs'
import { stat, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import { download, guestArgs, guestCall, listProcesses, openGuest, transfer } from './_guest_ops.ts'

/** Files a program's output goes to, in the temporary directory it runs in. */
const OUTPUT = { stdout: 'brine-stdout.txt', stderr: 'brine-stderr.txt' }

export default defineModule({
  doc:
    'Guest operations through VMware Tools (GuestOperationsManager): run a program and get ' +
    'its exit code (and output), upload and download files, list processes. Every function ' +
    'takes the guest account (username, password: a Secret, never shown).',
  vsphere: true,
  functions: {
    run: defineFunction({
      doc:
        'Run a program in the guest (StartProgramInGuest) and wait, up to `timeout` seconds, ' +
        'for it to exit (ListProcessesInGuest): {name, pid, exit_code, start_time, end_time}. ' +
        'On Linux guests VMware Tools run `<program_path> <arguments>` with /bin/sh, so ' +
        'arguments may use shell syntax. capture_output=True runs it in a temporary directory ' +
        'made in the guest, redirects its output there (arguments get `>brine-stdout.txt ' +
        '2>brine-stderr.txt`: a shell must read them, as on Linux, or cmd.exe /c on Windows), ' +
        'answers stdout and stderr, and removes the directory. wait=False answers the pid at once.',
      args: () => ({
        ...guestArgs,
        program_path: z.string().min(1).describe('absolute path of the program in the guest'),
        arguments: z.string().default('').describe('its command line arguments'),
        working_directory: z.string().optional().describe('guest directory to run it in'),
        env: z
          .record(z.string(), z.coerce.string())
          .default({})
          .describe('environment variables {NAME: value}'),
        capture_output: z.boolean().default(false).describe('answer its stdout and stderr'),
        wait: z.boolean().default(true).describe('wait for it to exit'),
        timeout: z.coerce.number().min(0).default(300).describe('seconds to wait for its exit'),
      }),
      run: async (ctx, args) => {
        if (args.capture_output && args.working_directory !== undefined)
          throw new ModuleError(
            'vmware_guest.run: capture_output=True runs the program in a temporary directory ' +
              'of its own: leave working_directory out (or cd in the arguments)',
            { code: 'BRINE_ARGUMENT' },
          )
        if (args.capture_output && !args.wait)
          throw new ModuleError('vmware_guest.run: capture_output=True needs wait=True', {
            code: 'BRINE_ARGUMENT',
          })
        const guest = await openGuest(ctx, args)
        const vmName = guest.vm.name
        if (ctx.test)
          return {
            name: vmName,
            pid: null,
            comment: `would run ${args.program_path} in VM '${vmName}'`,
          }
        const dir = args.capture_output
          ? await guestCall<string>(ctx, guest, 'CreateTemporaryDirectoryInGuest', {
              _this: guest.fileManager,
              vm: guest.vm.obj,
              auth: guest.auth,
              prefix: 'brine-',
              suffix: '',
            })
          : undefined
        try {
          const pid = Number(
            await guestCall<number | string>(ctx, guest, 'StartProgramInGuest', {
              _this: guest.processManager,
              vm: guest.vm.obj,
              auth: guest.auth,
              spec: {
                _type: 'GuestProgramSpec',
                programPath: args.program_path,
                arguments: dir
                  ? `${args.arguments} >${OUTPUT.stdout} 2>${OUTPUT.stderr}`.trimStart()
                  : args.arguments,
                workingDirectory: dir ?? args.working_directory,
                envVariables: Object.entries(args.env).map(([k, v]) => `${k}=${v}`),
              },
            }),
          )
          if (!args.wait) return { name: vmName, pid, exit_code: null }
          const deadline = Date.now() + args.timeout * 1000
          let pause = 100
          for (;;) {
            const [process] = await listProcesses(ctx, guest, [pid])
            if (process?.end_time) {
              const output = dir
                ? {
                    stdout: (await download(ctx, guest, `${dir}/${OUTPUT.stdout}`)).toString(
                      'utf8',
                    ),
                    stderr: (await download(ctx, guest, `${dir}/${OUTPUT.stderr}`)).toString(
                      'utf8',
                    ),
                  }
                : {}
              return {
                name: vmName,
                pid,
                exit_code: process.exit_code,
                start_time: process.start_time,
                end_time: process.end_time,
                ...output,
              }
            }
            if (!process)
              throw new ModuleError(
                `VM '${vmName}': process ${pid} is no longer listed by the guest; its exit code is lost`,
                { code: 'BRINE_NOT_FOUND' },
              )
            if (Date.now() >= deadline)
              throw new ModuleError(
                `VM '${vmName}': ${args.program_path} (pid ${pid}) is still running after ` +
                  `${args.timeout} s; it keeps running in the guest: follow it with ` +
                  'vmware_guest.list_processes, or wait longer (timeout=)',
                { code: 'BRINE_TIMEOUT' },
              )
            ctx.progress(0, `waiting for ${args.program_path} (pid ${pid}) in VM '${vmName}'`)
            await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), undefined, {
              signal: ctx.signal,
            })
            pause = Math.min(pause * 2, 1000)
          }
        } finally {
          if (dir)
            await guestCall(ctx, guest, 'DeleteDirectoryInGuest', {
              _this: guest.fileManager,
              vm: guest.vm.obj,
              auth: guest.auth,
              directoryPath: dir,
              recursive: true,
            }).catch(() => {})
        }
      },
    }),
    upload: defineFunction({
      doc:
        'Copy a local file into the guest (InitiateFileTransferToGuest, then an HTTPS PUT): ' +
        '{name, path, size}. An existing guest file needs overwrite=True.',
      args: () => ({
        ...guestArgs,
        source: z.string().min(1).describe('local file'),
        destination: z.string().min(1).describe('absolute path in the guest'),
        overwrite: z.boolean().default(false).describe('replace an existing guest file'),
      }),
      run: async (ctx, args) => {
        const file = await stat(args.source).catch((error: NodeJS.ErrnoException) => {
          throw new ModuleError(
            `vmware_guest.upload: cannot read source '${args.source}': ${error.code ?? error.message}`,
            { code: 'BRINE_ARGUMENT' },
          )
        })
        if (!file.isFile())
          throw new ModuleError(`vmware_guest.upload: source '${args.source}' is not a file`, {
            code: 'BRINE_ARGUMENT',
          })
        const size = file.size
        const guest = await openGuest(ctx, args)
        if (ctx.test)
          return {
            name: guest.vm.name,
            path: args.destination,
            size,
            comment: 'would upload',
          }
        const url = await guestCall<string>(ctx, guest, 'InitiateFileTransferToGuest', {
          _this: guest.fileManager,
          vm: guest.vm.obj,
          auth: guest.auth,
          guestFilePath: args.destination,
          fileAttributes: { _type: 'GuestFileAttributes' },
          fileSize: size,
          overwrite: args.overwrite,
        })
        await transfer(
          ctx.serviceInstance,
          url,
          'PUT',
          `uploading ${args.source} to ${args.destination} in VM '${guest.vm.name}'`,
          ctx.signal,
          // Streamed from the file: an ISO or an archive is never held in memory.
          { body: createReadStream(args.source), size },
        )
        return { name: guest.vm.name, path: args.destination, size }
      },
    }),
    download: defineFunction({
      doc:
        'Copy a guest file here (InitiateFileTransferFromGuest, then an HTTPS GET) into ' +
        '`destination`: {name, path, size, destination}; without destination its text is ' +
        'answered as `content`.',
      args: () => ({
        ...guestArgs,
        source: z.string().min(1).describe('absolute path in the guest'),
        destination: z.string().min(1).optional().describe('local file to write'),
      }),
      run: async (ctx, args) => {
        const guest = await openGuest(ctx, args)
        const bytes = await download(ctx, guest, args.source)
        if (args.destination === undefined)
          return {
            name: guest.vm.name,
            path: args.source,
            size: bytes.length,
            content: bytes.toString('utf8'),
          }
        if (!ctx.test) await writeFile(args.destination, bytes)
        return {
          name: guest.vm.name,
          path: args.source,
          size: bytes.length,
          destination: args.destination,
        }
      },
    }),
    terminate_process: defineFunction({
      doc:
        'End a process of the guest (TerminateProcessInGuest) and answer it as ' +
        'list_processes does, read back after the call.',
      args: () => ({ ...guestArgs, pid: z.coerce.number().int().describe('the process id') }),
      run: async (ctx, args) => {
        const guest = await openGuest(ctx, args)
        const [before] = await listProcesses(ctx, guest, [args.pid])
        if (!before)
          throw new ModuleError(`VM '${guest.vm.name}': no process ${args.pid} in the guest`, {
            code: 'BRINE_NOT_FOUND',
          })
        if (ctx.test || before.end_time) return { ...before, terminated: false }
        await guestCall(ctx, guest, 'TerminateProcessInGuest', {
          _this: guest.processManager,
          vm: guest.vm.obj,
          auth: guest.auth,
          pid: args.pid,
        })
        // The guest reports the end once the process is gone: look until it does (bounded).
        for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
          const [after] = await listProcesses(ctx, guest, [args.pid])
          if (!after || after.end_time || pause >= 1000)
            return { ...(after ?? before), terminated: true }
          await sleep(pause, undefined, { signal: ctx.signal })
        }
      },
    }),
    list_processes: defineFunction({
      doc:
        'Processes of the guest (ListProcessesInGuest; all, or the pids given): pid, name, ' +
        'owner, cmd_line, start_time, and for those that exited end_time and exit_code.',
      args: () => ({
        ...guestArgs,
        pids: z.array(z.coerce.number().int()).optional().describe('only these pids'),
      }),
      run: async (ctx, args) => {
        const guest = await openGuest(ctx, args)
        return listProcesses(ctx, guest, args.pids)
      },
    }),
  },
})
