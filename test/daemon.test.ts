import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callDaemon } from '../cli/daemon-client.ts'
import { bin, type CliResult, isolatedCliEnv, runCli, startNode } from './helpers/cli.ts'
import { type DaemonProcess, eventually, startDaemon } from './helpers/daemon.ts'
import { sessionsOf } from './helpers/sessions.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'

const fixtures = join(import.meta.dirname, 'fixtures')
const tmp = mkdtempSync(join(tmpdir(), 'brine-daemon-'))
const mods = join(tmp, 'mods')
const runtimeDir = join(tmp, 'rt')
let vcsim: Vcsim
let env: Record<string, string | undefined>

const USER = 'daemon-user'
const LAB_USER = 'daemon-lab'

const brine = (args: string[], extra: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: tmp, env: { ...env, ...extra } })
const viaDaemon = (args: string[]) => brine(args, { BRINE_DAEMON: 'always' })
const inProcess = (args: string[]) => brine(args, { BRINE_DAEMON: 'never' })

/** Highstate times differ on every run (as in test/cli-state.test.ts). */
const normalize = (result: CliResult) => ({
  code: result.code,
  stdout: result.stdout
    .replace(/(Started: ).*/g, '$1<time>')
    .replace(/(Duration: ).*/g, '$1<ms>')
    .replace(/^Total run time: .*$/gm, 'Total run time: <ms>')
    .replace(/("start_time": )".*"/g, '$1<time>')
    .replace(/("duration": )[\d.]+/g, '$1<ms>'),
  stderr: result.stderr,
})

function writeModule(version: string): void {
  writeFileSync(
    join(mods, 'daemonmod.ts'),
    `import { defineModule, defineFunction } from 'brine/loader'\nexport default defineModule({ functions: { version: defineFunction({ doc: 'the version', args: {}, run: () => '${version}' }) } })\n`,
  )
}

beforeAll(async () => {
  vcsim = await startVcsim()
  mkdirSync(mods)
  writeModule('one')
  const config = join(tmp, 'brine.yaml')
  writeFileSync(
    config,
    [
      `data_dir: ${join(tmp, 'data')}`,
      `module_dirs: [${mods}]`,
      `file_roots: [${join(fixtures, 'states')}]`,
      `pillar_roots: [${join(fixtures, 'pillar-basic')}]`,
      'id: daemon-minion',
      'saltext.vmware:',
      `  host: ${vcsim.url}`,
      `  user: ${USER}`,
      '  password: pw',
      `  ca_file: ${vcsim.caFile}`,
      '  lab:',
      `    host: ${vcsim.url}`,
      `    user: ${LAB_USER}`,
      '    password: pw',
      `    ca_file: ${vcsim.caFile}`,
      '',
    ].join('\n'),
  )
  env = isolatedCliEnv(tmp, { BRINE_CONFIG: config, BRINE_RUNTIME_DIR: runtimeDir })
})
afterAll(async () => {
  await vcsim?.stop()
})

describe('brine daemon', () => {
  let daemon: DaemonProcess

  beforeAll(async () => {
    daemon = await startDaemon(
      { ...env, BRINE_DAEMON_DRAIN_TIMEOUT: '1' },
      { cwd: tmp, nodeArgs: ['--expose-gc'] },
    )
  })
  afterAll(async () => {
    if (daemon.child.exitCode === null) await daemon.stop()
  })

  it('keeps its socket in a 0700 directory, mode 0600', () => {
    expect(statSync(runtimeDir).mode & 0o777).toBe(0o700)
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o600)
  })

  it('gives the same output, exit code and stderr as in-process', {
    timeout: 300_000,
  }, async () => {
    const samples = [
      ['test.ping'],
      ['--out', 'json', 'test.arg', '1', 'two', 'k=v', 'flag=False'],
      ['--out', 'yaml', 'pillar.items'],
      ['test.exception', 'boom'],
      ['test.pingg'],
      ['vmware_datacenter.list'],
      ['--out', 'json', 'vmware_vm.info', 'DC0_H0_VM0'],
      ['vmware_vm.info', 'no-such-vm'],
      ['vmware_datacenter.list', 'profile=lab'],
      ['--out', 'json', '--retcode-passthrough', 'state.sls', 'requisites'],
      ['state.apply', 'order', 'test=True'],
      ['--state-output', 'terse', 'state.sls', 'highstate_golden'],
      ['state.sls', 'no-such-sls'],
      ['sys.doc', 'test.ping'],
      ['test.arg', 'pillar={"a": 1}'],
    ]
    const before = (await daemon.status()).calls.served
    for (const args of samples) {
      const [daemonRun, local] = [await viaDaemon(args), await inProcess(args)]
      expect(normalize(daemonRun), args.join(' ')).toEqual(normalize(local))
    }
    // Each went through the daemon (`daemon: always` fails without one).
    expect((await daemon.status()).calls.served - before).toBe(samples.length)
  })

  it('uses a module edited while it runs, and collects its old generation', async () => {
    expect((await viaDaemon(['daemonmod.version'])).stdout).toBe('local:\n    one\n')
    const old = (await daemon.status()).parts.loader as { modules: Record<string, number> }
    const oldId = old.modules.daemonmod!
    writeModule('two')
    // The watcher reloads it after a quiet period: the next calls see it once it has.
    await eventually(async () => {
      const { stdout } = await viaDaemon(['daemonmod.version'])
      return stdout === 'local:\n    two\n' ? true : undefined
    }, 'the edited module')
    const loader = await eventually(
      async () => {
        const part = (await daemon.status({ gc: true })).parts.loader as {
          modules: Record<string, number>
          retired_alive: number[]
        }
        return part.retired_alive.includes(oldId) ? undefined : part
      },
      `generation ${oldId} to be collected`,
      40,
    )
    expect(loader.modules.daemonmod).toBeGreaterThan(oldId)

    // A version that does not compile: the last good one keeps serving.
    writeFileSync(join(mods, 'daemonmod.ts'), 'export default {{{')
    await eventually(async () => {
      const part = (await daemon.status()).parts.loader as { failed_reloads?: object }
      return part.failed_reloads ? true : undefined
    }, 'the failed reload')
    expect((await viaDaemon(['daemonmod.version'])).stdout).toBe('local:\n    two\n')
    writeModule('two')
  })

  it('1,000 client calls leave one vCenter session per profile', async () => {
    // Real CLI processes, then the client code itself (callDaemon) for the bulk of them.
    for (const profile of ['', 'profile=lab']) {
      const result = await viaDaemon(['vmware_datacenter.list', ...(profile ? [profile] : [])])
      expect(result.code, result.stderr).toBe(0)
    }
    const config = env.BRINE_CONFIG!
    let ok = 0
    const call = async (i: number) => {
      const stdout = new PassThrough()
      const stderr = new PassThrough()
      let text = ''
      stdout.on('data', (chunk) => {
        text += chunk
      })
      const argv = ['--out', 'json', 'vmware_vm.info', `DC0_H0_VM${i % 2}`]
      if (i % 2) argv.push('profile=lab')
      const code = await callDaemon(
        argv,
        { config },
        { stdout, stderr },
        new AbortController().signal,
        { ...env, BRINE_DAEMON: 'always' } as Record<string, string>,
      )
      if (code === 0 && JSON.parse(text).local.name === `DC0_H0_VM${i % 2}`) ok++
    }
    const total = 998
    for (let i = 0; i < total; i += 10)
      await Promise.all(Array.from({ length: Math.min(10, total - i) }, (_, j) => call(i + j)))
    expect(ok).toBe(total)
    expect(await sessionsOf(vcsim, USER)).toHaveLength(1)
    expect(await sessionsOf(vcsim, LAB_USER)).toHaveLength(1)
    const sessions = (await daemon.status()).parts.sessions as {
      logins: number
      profiles: Record<string, { connected: boolean; index_size?: number }>
    }
    expect(sessions.logins).toBe(2)
    expect(sessions.profiles.default).toMatchObject({ connected: true })
    expect(sessions.profiles.lab).toMatchObject({ connected: true })
    expect(sessions.profiles.default!.index_size).toBeGreaterThan(0)
  })

  /** A client started through the daemon (daemon: always), still running. */
  const started = (args: string[]) =>
    startNode([bin, ...args], { cwd: tmp, env: { ...env, BRINE_DAEMON: 'always' } })

  it('^C in one client aborts its call only', async () => {
    const a = started(['test.sleep', '600'])
    const b = started(['test.sleep', '600'])
    const inFlight = async () => (await daemon.status()).calls.in_flight.map((c) => c.client_pid)
    await eventually(async () => {
      const pids = await inFlight()
      return pids.includes(a.child.pid!) && pids.includes(b.child.pid!) ? true : undefined
    }, 'both calls in flight')
    a.child.kill('SIGINT')
    const resultA = await a.done
    // As in-process: exit 130, the interruption named.
    expect(resultA.code).toBe(130)
    expect(resultA.stderr).toBe('Error: interrupted by SIGINT\n')
    expect(await inFlight()).toEqual([b.child.pid])
    // The daemon goes on serving others.
    expect((await viaDaemon(['test.ping'])).code).toBe(0)
    // A client that goes away (killed) aborts its call too.
    b.child.kill('SIGKILL')
    await b.done
    await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 'no call')
  })

  it('--timeout ends its own call only: the deadline runs in the daemon, for that call', async () => {
    const other = started(['test.sleep', '600'])
    const inFlight = async () => (await daemon.status()).calls.in_flight.map((c) => c.client_pid)
    await eventually(
      async () => ((await inFlight()).includes(other.child.pid!) ? true : undefined),
      'the other call in flight',
    )
    expect(await viaDaemon(['--timeout', '1', 'test.sleep', '600'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'Error: the call ran past --timeout 1 s and was aborted (vCenter tasks it started are cancelled)\n',
    })
    expect(await inFlight()).toEqual([other.child.pid])
    other.child.kill('SIGINT')
    expect((await other.done).code).toBe(130)
  })

  it('SIGTERM with a call in flight drains it, logs every session out, removes the socket', async () => {
    expect(await sessionsOf(vcsim, USER)).toHaveLength(1)
    const sleeper = viaDaemon(['test.sleep', '600'])
    await eventually(
      async () => ((await daemon.status()).calls.in_flight.length ? true : undefined),
      'the call in flight',
    )
    const code = await daemon.stop()
    expect(code).toBe(0)
    // The drain bound (BRINE_DAEMON_DRAIN_TIMEOUT, 1 s here) ran out: the call was aborted.
    const result = await sleeper
    expect(result.code).toBe(143)
    expect(result.stderr).toMatch(/^Error: interrupted by SIGTERM/)
    expect(await sessionsOf(vcsim, USER)).toEqual([])
    expect(await sessionsOf(vcsim, LAB_USER)).toEqual([])
    expect(() => statSync(daemon.socket)).toThrow(/ENOENT/)
    expect(daemon.log()).toMatch(
      /stopping socket[\s\S]*stopping sessions[\s\S]*sessions logged out[\s\S]*stopping config/,
    )
  })
})

describe('brine daemon: stopping and failures', () => {
  it('a second SIGTERM stops at once, still logging out', async () => {
    const daemon = await startDaemon({ ...env, BRINE_DAEMON_DRAIN_TIMEOUT: '600' }, { cwd: tmp })
    expect((await viaDaemon(['vmware_datacenter.list'])).code).toBe(0)
    expect(await sessionsOf(vcsim, USER)).toHaveLength(1)
    const sleeper = viaDaemon(['test.sleep', '600'])
    await eventually(
      async () => ((await daemon.status()).calls.in_flight.length ? true : undefined),
      'the call in flight',
    )
    daemon.child.kill('SIGTERM')
    await eventually(() => (/draining/.test(daemon.log()) ? true : undefined), 'the drain')
    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).toBe(0)
    expect((await sleeper).code).toBe(143)
    expect(await sessionsOf(vcsim, USER)).toEqual([])
  })

  it('a stale socket after SIGKILL is reported and the call runs in-process', async () => {
    const daemon = await startDaemon(env, { cwd: tmp })
    expect((await viaDaemon(['test.ping'])).code).toBe(0)
    // A call in flight when the daemon dies: its outcome is unknown, it is not run again.
    const sleeper = brine(['test.sleep', '600'])
    await eventually(
      async () => ((await daemon.status()).calls.in_flight.length ? true : undefined),
      'the call in flight',
    )
    daemon.child.kill('SIGKILL')
    await daemon.exited
    expect(await sleeper).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'Error: the brine daemon went away during the call (stopped or killed): its outcome is unknown, and it is not run again.\n',
    })
    expect(statSync(daemon.socket).isSocket()).toBe(true)

    const auto = await brine(['--out', 'json', 'vmware_datacenter.list'])
    expect(auto.code).toBe(0)
    expect(JSON.parse(auto.stdout).local).toContain('DC0')
    expect(auto.stderr).toBe(
      `[warning] [daemon] the daemon socket ${daemon.socket} is stale (no daemon listens on it: killed, or crashed); running in-process.\n`,
    )
    const always = await viaDaemon(['test.ping'])
    expect(always.code).toBe(1)
    expect(always.stdout).toBe('')
    expect(always.stderr).toMatch(/is stale .*daemon: always forbids running in-process/)
    // A new daemon replaces the stale socket.
    const next = await startDaemon(env, { cwd: tmp })
    expect(next.log()).toMatch(/removing the stale socket/)
    expect((await viaDaemon(['test.ping'])).stdout).toBe('local:\n    True\n')
    expect(await next.stop()).toBe(0)
  })

  it('does not use a socket in a directory others can reach', async () => {
    const daemon = await startDaemon(env, { cwd: tmp })
    chmodSync(runtimeDir, 0o755)
    const result = await brine(['test.ping'])
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(
      /^\[warning\] \[daemon\] the daemon directory .* has mode 755, open to other users; .*running in-process\.\n$/,
    )
    expect((await daemon.status()).calls.served).toBe(0)
    chmodSync(runtimeDir, 0o700)
    expect(await daemon.stop()).toBe(0)
  })

  it('serves only calls with its own options; others run in-process', async () => {
    const daemon = await startDaemon(env, { cwd: tmp })
    const other = await brine(['--id', 'another-minion', 'test.ping'])
    expect(other).toMatchObject({ code: 0, stdout: 'local:\n    True\n', stderr: '' })
    expect((await daemon.status()).calls.served).toBe(0)
    expect((await brine(['test.ping'])).code).toBe(0)
    expect((await daemon.status()).calls.served).toBe(1)
    expect(await daemon.stop()).toBe(0)
  })
})

describe('brine daemon: commands and pillar', () => {
  it('starts detached, shows its status, stops', async () => {
    const started = await brine(['daemon', 'start'])
    expect(started.code, started.stderr).toBe(0)
    expect(started.stdout).toMatch(/^brine daemon started: pid \d+, socket .*daemon\.sock, log /)
    const status = await brine(['--out', 'json', 'daemon', 'status'])
    expect(status.code, status.stderr).toBe(0)
    const { local } = JSON.parse(status.stdout)
    expect(Object.keys(local.parts)).toEqual([
      'config',
      'pillar',
      'loader',
      'sessions',
      'console cleanup',
      'socket',
    ])
    expect(local.parts.config.id).toBe('daemon-minion')
    expect((await brine(['daemon', 'start'])).stderr).toMatch(/a brine daemon already runs/)
    const stopped = await brine(['daemon', 'stop'])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stdout).toMatch(/^brine daemon stopped \(pid \d+\)\n$/)
    expect(() => statSync(join(runtimeDir, 'daemon.sock'))).toThrow(/ENOENT/)
    expect(await brine(['daemon', 'status'])).toMatchObject({ code: 1 })
    expect(await brine(['daemon', 'restart'])).toMatchObject({ code: 2 })
  })

  it('recompiles pillar when its files change, and on SIGHUP', async () => {
    const pillarRoot = join(tmp, 'pillar')
    mkdirSync(pillarRoot, { recursive: true })
    writeFileSync(join(pillarRoot, 'top.sls'), "base:\n  '*':\n    - data\n")
    writeFileSync(join(pillarRoot, 'data.sls'), 'color: red\n')
    const config = join(tmp, 'pillar.yaml')
    writeFileSync(config, `id: pillar-minion\npillar_roots: [${pillarRoot}]\n`)
    const pillarEnv = { ...env, BRINE_CONFIG: config }
    const daemon = await startDaemon(pillarEnv, { cwd: tmp })
    const color = async () =>
      (
        await runCli(['pillar.get', 'color'], {
          cwd: tmp,
          env: { ...pillarEnv, BRINE_DAEMON: 'always' },
        })
      ).stdout
    expect(await color()).toBe('local:\n    red\n')
    writeFileSync(join(pillarRoot, 'data.sls'), 'color: blue\n')
    await eventually(
      async () => ((await color()) === 'local:\n    blue\n' ? true : undefined),
      'blue',
    )
    const compiles = (await daemon.status()).parts.pillar as { compiles: number }
    daemon.child.kill('SIGHUP')
    await eventually(async () => {
      const pillar = (await daemon.status()).parts.pillar as { compiles: number }
      return pillar.compiles > compiles.compiles ? true : undefined
    }, 'a compile after SIGHUP')
    expect(await daemon.stop()).toBe(0)
  })
})
