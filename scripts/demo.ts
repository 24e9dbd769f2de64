// The main job: build a small lab on a local vcsim from the SLS and pillar files in
// examples/ with the real `brine` command, apply it again (nothing may change), and show it:
// the inventory, the ESXi configuration of the cluster's hosts (NTP, firewall, a vMotion
// VMkernel adapter, lockdown), and a VM deployed from a content library item with guest
// customization, waited for until its guest reports the address it was given.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startVcsim } from '../test/helpers/vcsim.ts'

const root = join(import.meta.dirname, '..')
const bin = join(root, 'bin', 'brine.js')

function brine(title: string, args: string[], config: string): { code: number; stdout: string } {
  console.log(`\n=== ${title}\n$ brine ${args.join(' ')}`)
  const result = spawnSync(process.execPath, [bin, '--config', config, ...args], {
    cwd: root, // the pillar names the content library image relative to the checkout
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  process.stdout.write(result.stdout)
  return { code: result.status ?? 1, stdout: result.stdout }
}

const vcsim = await startVcsim()
let exitCode = 0
try {
  const dir = mkdtempSync(join(tmpdir(), 'brine-demo-'))
  const config = join(dir, 'brine.yaml')
  writeFileSync(
    config,
    [
      'id: lab01',
      `file_roots: [${join(root, 'examples', 'salt')}]`,
      `pillar_roots: [${join(root, 'examples', 'pillar')}]`,
      'saltext.vmware:',
      `  host: ${vcsim.url}`,
      '  user: administrator@vsphere.local',
      '  password: demo-password',
      `  ca_file: ${vcsim.caFile}`,
      '',
    ].join('\n'),
  )
  console.log(`vcsim at ${vcsim.url} (TLS verified with its CA ${vcsim.caFile})`)
  const first = brine(
    'Apply the lab (highstate from examples/salt/top.sls)',
    ['--state-output', 'mixed', 'state.apply'],
    config,
  )
  const second = brine(
    'Apply it again: nothing should change',
    ['--state-output', 'terse', '--retcode-passthrough', 'state.apply'],
    config,
  )
  const unchanged = /Succeeded: \d+\n/.test(second.stdout) && !/changed=/.test(second.stdout)
  brine('The VMs', ['vmware_vm.list', 'datacenter=DC0', 'folder=apps/web'], config)
  brine('web01, described', ['vmware_vm.info', 'web01'], config)
  brine('Its tags', ['vmware_tag.list_attached', 'vm', 'web01'], config)
  brine('The lab cluster’s DRS and HA', ['vmware_cluster.get', 'LabCluster', 'LabDC'], config)
  const cluster = ['datacenter_name=DC0', 'cluster_name=DC0_C0']
  brine('NTP of the cluster’s hosts', ['vmware_esxi.get_ntp_config', ...cluster], config)
  brine('Their VMkernel adapters', ['vmware_esxi.get_vmkernel_adapters', ...cluster], config)
  brine('The standalone host, locked down', ['vmware_esxi.in_lockdown_mode', 'DC0_H0'], config)
  brine('The content library', ['vmware_content_library.list_items', 'golden-images'], config)
  const app = brine(
    'app01, deployed from the library and customized',
    ['--out', 'json', 'vmware_vm.wait_for_ip', 'app01', 'timeout=60'],
    config,
  )
  const customized = /"ip_address": "10\.0\.0\.31"/.test(app.stdout)
  console.log(
    `\nfirst apply exit ${first.code}, second apply exit ${second.code}, second apply ${unchanged ? 'changed nothing' : 'CHANGED SOMETHING'}, app01 ${customized ? 'has its customized address' : 'DOES NOT HAVE ITS CUSTOMIZED ADDRESS'}`,
  )
  if (first.code !== 0 || second.code !== 0 || !unchanged || !customized) exitCode = 1
} finally {
  await vcsim.stop()
}
process.exitCode = exitCode
