// The main job: build a small lab on a local vcsim from the SLS and pillar files in
// examples/ with the real `brine` command, apply it again (nothing may change), and show it.
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
  console.log(
    `\nfirst apply exit ${first.code}, second apply exit ${second.code}, second apply ${unchanged ? 'changed nothing' : 'CHANGED SOMETHING'}`,
  )
  if (first.code !== 0 || second.code !== 0 || !unchanged) exitCode = 1
} finally {
  await vcsim.stop()
}
process.exitCode = exitCode
