// The main job until the `brine` CLI exists: start a local vcsim, connect over verified HTTPS,
// list its inventory with one PropertyCollector call per type, and log out.

import { startVcsim } from '../test/helpers/vcsim.ts'
import { resolveConnectionParams } from '../vsphere/connection-params.ts'
import { withSession } from '../vsphere/one-shot.ts'
import { retrieveAll } from '../vsphere/property-collector.ts'

const vcsim = await startVcsim()
try {
  const params = resolveConnectionParams({
    server: vcsim.url,
    user: vcsim.user,
    password: vcsim.password,
    caFile: vcsim.caFile,
  })
  await withSession(params, async (si) => {
    const { about } = si.content
    console.log(
      `Connected to ${about.fullName} at ${vcsim.url} (API ${si.version}) as ${si.userSession?.userName}`,
    )
    console.log(`TLS verified against ${vcsim.caFile} (SHA-256 ${vcsim.thumbprintSha256})\n`)

    const kinds: Array<[string, string[]]> = [
      ['Datacenter', ['name']],
      ['ClusterComputeResource', ['name', 'summary.numHosts']],
      ['HostSystem', ['name', 'runtime.connectionState']],
      ['Datastore', ['name', 'summary.type']],
      ['VirtualMachine', ['name', 'runtime.powerState', 'config.uuid']],
    ]
    for (const [type, paths] of kinds) {
      const objects = await retrieveAll(si, type, paths)
      console.log(`${type} (${objects.length})`)
      for (const { obj, props } of objects.sort((a, b) =>
        String(a.props.name).localeCompare(String(b.props.name)),
      )) {
        const details = paths
          .slice(1)
          .map((path) => `${path}=${props[path]}`)
          .join('  ')
        console.log(`  ${String(props.name).padEnd(18)} ${obj.value.padEnd(12)} ${details}`)
      }
    }
  })
  console.log('\nLogged out; vcsim stopped.')
} finally {
  await vcsim.stop()
}
