import { spawn } from 'node:child_process'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { formatOutput } from '../cli/output.ts'
import { connectConsole, validateToken } from '../console/service.ts'
import { SqliteConsoleStore } from '../console/sqlite-store.ts'
import { Issued } from '../core/secret.ts'
import type { Runtime } from '../loader/runtime.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { ServiceInstance } from '../vsphere/service-instance.ts'
import { bin, cliDirFor, runCli } from './helpers/cli.ts'
import { runtimeCalls } from './helpers/runtime-calls.ts'
import { startVcsim, type Vcsim } from './helpers/vcsim.ts'
import { vmwareRuntime } from './helpers/vmware-runtime.ts'

let vcsim: Vcsim
let rt: Runtime
let si: ServiceInstance
let dataDir: string
beforeAll(async () => {
  vcsim = await startVcsim()
  dataDir = join(mkdtempSync(join(tmpdir(), 'brine-console-vc-')), 'data')
  rt = vmwareRuntime(vcsim, 'console', [], {
    data_dir: dataDir,
    console_proxy_url: 'wss://console.example.com/console',
  })
  si = await ServiceInstance.connect(
    resolveConnectionParams({
      server: vcsim.url,
      user: vcsim.user,
      password: vcsim.password,
      caFile: vcsim.caFile,
    }),
  )
})
afterAll(async () => {
  await si?.logout()
  await rt?.close()
  await vcsim?.stop()
})

const { call, failure } = runtimeCalls(() => rt)
const vmRef = async (name: string) => {
  const vms = (await call('vmware_vm.info', { name })) as { id: string }
  return { type: 'VirtualMachine', value: vms.id }
}

describe('VirtualMachine.AcquireTicket (vcsim extended)', () => {
  it('issues a one-time WebMKS or MKS ticket naming host, port, config file and thumbprint', async () => {
    const vm = await vmRef('DC0_H0_VM0')
    const webmks = (await si.invoke('AcquireTicket', {
      _this: vm,
      ticketType: 'webmks',
    })) as Record<string, unknown>
    expect(webmks).toMatchObject({
      host: 'DC0_H0',
      port: 443,
      cfgFile: '[LocalDS_0] DC0_H0_VM0/DC0_H0_VM0.vmx',
      sslThumbprint: vcsim.thumbprintSha1,
    })
    expect(webmks.ticket).toMatch(/^[0-9a-f]{40}$/)
    const mks = (await si.invoke('AcquireTicket', { _this: vm, ticketType: 'mks' })) as Record<
      string,
      unknown
    >
    expect(mks).toMatchObject({ host: 'DC0_H0', port: 902 })
    expect(mks.ticket).not.toBe(webmks.ticket)

    const bad = await si
      .invoke('AcquireTicket', { _this: vm, ticketType: 'telepathy' })
      .catch((e: unknown) => e as { faultType: string })
    expect(bad).toMatchObject({ faultType: 'InvalidArgument' })
  })

  it('refuses a VM that is not powered on (InvalidState)', async () => {
    await call('vmware_vm.power_state', { name: 'DC0_H0_VM1', state: 'off' })
    try {
      const off = await si
        .invoke('AcquireTicket', { _this: await vmRef('DC0_H0_VM1'), ticketType: 'webmks' })
        .catch((e: unknown) => e as Error & { faultType: string })
      expect(off).toMatchObject({ faultType: 'InvalidState' })
      const error = await failure('vmware_vm.console', { name: 'DC0_H0_VM1' })
      expect(error?.code).toBe('BRINE_INVALID_STATE')
      expect(error?.message).toMatch(/DC0_H0_VM1' is poweredOff: a console needs it powered on/)
    } finally {
      await call('vmware_vm.power_state', { name: 'DC0_H0_VM1', state: 'on' })
    }
  })
})

describe('vmware_vm.console and the console module', () => {
  it('stores a record for the VM, answers its token once, and the record opens the ticket’s target', async () => {
    const out = (await call('vmware_vm.console', { name: 'DC0_C0_RP0_VM0' })) as Record<
      string,
      unknown
    >
    const info = (await call('vmware_vm.info', { name: 'DC0_C0_RP0_VM0' })) as { uuid: string }
    expect(out).toMatchObject({
      name: 'DC0_C0_RP0_VM0',
      port: 443,
      mode: 'webmks',
      tls: true,
      connected: false,
      expired: false,
    })
    expect(out.host).toMatch(/^DC0_C0_H\d$/)
    expect(out.token).toBeInstanceOf(Issued)
    const token = (out.token as Issued).reveal()
    expect((out.access_url as Issued).reveal()).toBe(
      `wss://console.example.com/console?token=${token}`,
    )
    expect(Date.parse(String(out.expires)) - Date.parse(String(out.created))).toBe(600_000)
    // Only the outputter shows it, twice (token and URL); anything else sees [issued].
    expect(formatOutput(out, 'json', false).split(token)).toHaveLength(3)
    expect(JSON.stringify(out)).toContain('"token":"[issued]"')
    expect(inspect(out)).not.toContain(token)

    // The record is in the SQLite file under data_dir; another connection opens it.
    const file = join(dataDir, 'console-tokens.sqlite')
    expect(existsSync(file)).toBe(true)
    const other = new SqliteConsoleStore(file)
    try {
      const record = await validateToken(other, token)
      expect(record.id).toBe(out.id)
      expect(record.instanceUuid).toBe(out.instance_uuid)
      expect(record.instanceUuid).not.toBe(info.uuid) // the instance UUID, not the BIOS UUID
      const opened = await connectConsole(other, token)
      expect(opened.target).toMatchObject({
        host: out.host,
        port: 443,
        sslThumbprint: vcsim.thumbprintSha1,
        cfgFile: '[LocalDS_0] DC0_C0_RP0_VM0/DC0_C0_RP0_VM0.vmx',
      })
      expect(opened.target.url).toBe(`wss://${out.host}:443/ticket/${opened.target.ticket}`)
      expect(await call('console.free_ports', { instance: out.instance_uuid })).toEqual([])
      await opened.release()
      expect(await call('console.free_ports', { instance: out.instance_uuid })).toEqual([
        { host: out.host, port: 443 },
      ])
      // The database holds neither the token nor the vCenter ticket.
      await other.close()
      const bytes = Buffer.concat(
        ['', '-wal'].filter((s) => existsSync(file + s)).map((s) => readFileSync(file + s)),
      )
      expect(bytes.includes(token)).toBe(false)
      expect(bytes.includes(opened.target.ticket)).toBe(false)
    } finally {
      await other.close()
    }

    expect(await call('console.validate', { token })).toMatchObject({ valid: true, id: out.id })
    const listed = (await call('console.list', { instance: out.instance_uuid })) as unknown[]
    expect(listed).toEqual([expect.objectContaining({ id: out.id, connected: false })])
    expect(JSON.stringify(listed)).not.toContain(token)
    expect(await call('console.revoke', { id: out.id })).toEqual({ id: out.id, revoked: true })
    expect((await failure('console.validate', { token }))?.code).toBe('BRINE_CONSOLE_TOKEN')
    expect((await failure('console.revoke', { id: out.id }))?.code).toBe('BRINE_NOT_FOUND')
    expect(await call('console.cleanup')).toEqual({ deleted: 0, more: false })
  })

  it('honours ttl= and mks mode; get_mks_ticket answers saltext-vmware’s shape', async () => {
    const out = (await call('vmware_vm.console', {
      name: 'DC0_H0_VM0',
      mode: 'mks',
      ttl: 30,
    })) as Record<string, unknown>
    expect(out).toMatchObject({ port: 902, mode: 'mks' })
    expect(Date.parse(String(out.expires)) - Date.parse(String(out.created))).toBe(30_000)

    const ticket = (await call('vmware_vm.get_mks_ticket', {
      vm_name: 'DC0_H0_VM0',
      ticket_type: 'webmks',
    })) as Record<string, unknown>
    expect(ticket).toMatchObject({
      cfgFile: '[LocalDS_0] DC0_H0_VM0/DC0_H0_VM0.vmx',
      host: 'DC0_H0',
      port: 443,
      sslThumbprint: vcsim.thumbprintSha1,
    })
    expect((ticket.ticket as Issued).reveal()).toMatch(/^[0-9a-f]{40}$/)
    expect((ticket.url as Issued).reveal()).toBe(
      `wss://DC0_H0:443/ticket/${(ticket.ticket as Issued).reveal()}`,
    )
    const mks = (await call('vmware_vm.get_mks_ticket', {
      vm_name: 'DC0_H0_VM0',
      ticket_type: 'mks',
    })) as Record<string, unknown>
    expect(mks).toMatchObject({ port: 902, url: null })
    expect(
      (await failure('vmware_vm.get_mks_ticket', { vm_name: 'nope', ticket_type: 'mks' }))?.code,
    ).toBe('BRINE_NOT_FOUND')
  })
})

describe('console from the CLI', () => {
  it('shows the token once; a second process validates it; no log or later output shows it', async () => {
    const cwd = cliDirFor(vcsim, join(tmpdir(), 'brine-console-cli-'))
    appendFileSync(join(cwd, 'brine.yaml'), `\ndata_dir: ${join(cwd, 'data')}\n`)
    mkdirSync(join(cwd, 'sub'))
    writeFileSync(join(cwd, 'sub', 'brine.yaml'), 'data_dir: ../data\n')
    const issued = await runCli(['call', 'vmware_vm.console', 'DC0_H0_VM0', '--out', 'json'], {
      cwd,
      env: { BRINE_DEBUG: 'soap' },
    })
    expect(issued.code).toBe(0)
    const out = JSON.parse(issued.stdout).local as { token: string; access_url: string; id: string }
    expect(out.token).toMatch(/^brc_[A-Za-z0-9_-]{43}$/)
    expect(out.access_url).toBe(`ws://127.0.0.1:6090/console?token=${out.token}`)
    // The SOAP trace shows the AcquireTicket answer with its ticket masked; never the token.
    expect(issued.stderr).toContain('AcquireTicketResponse')
    expect(issued.stderr).toContain('<ticket>***</ticket>')
    expect(issued.stderr).not.toContain(out.token)

    const validated = await runCli(['call', 'console.validate', out.token, '--out', 'json'], {
      cwd,
    })
    expect(validated.code).toBe(0)
    expect(JSON.parse(validated.stdout).local).toMatchObject({ valid: true, id: out.id })
    expect(validated.stdout + validated.stderr).not.toContain(out.token)

    // `-` reads the token from stdin (keeps it out of ps); data_dir is relative to the config file.
    const fromStdin = await runCli(
      ['call', 'console.validate', '-', '--config', 'sub/brine.yaml'],
      {
        cwd,
        stdin: `${out.token}\n`,
      },
    )
    expect(fromStdin.stderr).toBe('')
    expect(fromStdin.stdout).toContain(out.id)

    const listed = await runCli(['call', 'console.list'], { cwd })
    expect(listed.stdout).toContain(out.id)
    expect(listed.stdout).not.toContain(out.token)

    const revoked = await runCli(['call', 'console.revoke', out.id], { cwd })
    expect(revoked.code).toBe(0)
    const invalid = await runCli(['call', 'console.validate', out.token], { cwd })
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toBe('Error: console token is not valid: unknown or revoked.\n')

    // brine console serve, another process, validates the tokens of this one: a console
    // issued by the CLI gets through to its target (DC0_H0 resolves nowhere: 502, port
    // freed), a made-up token gets 401; SIGTERM ends it with 0.
    const fresh = JSON.parse(
      (await runCli(['call', 'vmware_vm.console', 'DC0_H0_VM0', '--out', 'json'], { cwd })).stdout,
    ).local as { token: string; instance_uuid: string }
    const serve = spawn(process.execPath, [bin, 'console', 'serve', '--listen', '127.0.0.1:0'], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    })
    let serveErr = ''
    serve.stderr.on('data', (chunk) => {
      serveErr += chunk
    })
    await expect
      .poll(() => /listening on (\S+)/.exec(serveErr)?.[1], { timeout: 10_000 })
      .toBeTruthy()
    const proxyUrl = /listening on (\S+)/.exec(serveErr)?.[1] as string
    const status = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${proxyUrl}?token=${token}`)
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
        ws.once('open', () => resolve(101))
        ws.once('error', reject)
      })
    expect(await status(fresh.token)).toBe(502)
    expect(await status(`brc_${'A'.repeat(43)}`)).toBe(401)
    const free = await runCli(
      ['call', 'console.free_ports', fresh.instance_uuid, '--out', 'json'],
      { cwd },
    )
    expect(JSON.parse(free.stdout).local).toEqual([{ host: 'DC0_H0', port: 443 }])
    const exited = new Promise<number | null>((resolve) => serve.once('close', resolve))
    serve.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(serveErr).not.toContain(fresh.token)
    expect(serveErr).toMatch(/refused .*DC0_H0:443: target: /)

    writeFileSync(join(cwd, 'memory.yaml'), 'console_tokens_backend: memory\n')
    const memoryServe = await runCli(['console', 'serve', '--config', join(cwd, 'memory.yaml')], {
      cwd,
    })
    expect(memoryServe.code).toBe(2)
    expect(memoryServe.stderr).toMatch(
      /console serve needs console_tokens_backend sqlite or postgresql/,
    )

    writeFileSync(join(cwd, 'bad.yaml'), 'console_tokens_backend: redis\n')
    const badOption = await runCli(['call', 'console.list', '--config', join(cwd, 'bad.yaml')], {
      cwd,
    })
    expect(badOption.code).toBe(2)
    expect(badOption.stderr).toMatch(
      /console_tokens_backend is 'redis'; it must be one of sqlite, postgresql, memory/,
    )
  })
})
