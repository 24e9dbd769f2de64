// The floor of a stored-session `vmware_datacenter.list` or `vmware_vm.list` for any Node
// program (bench/startup.ts): Node's start, node:https with the CA file, and the two round
// trips such a call needs on a stored session (its validation, SessionManager.currentSession,
// then the datacenters' names by a traversal of folders, or every VM's name and
// config.template through the view of all VMs brine keeps with the session), the SOAP
// written by hand and the answer read with a regex. No config, no loader, no decoding, no
// output format: what brine adds is the difference, in time and in peak memory.
//   node node-floor.cjs <url> <cafile> <session-file> [datacenters|vms]
'use strict'
const { readFileSync } = require('node:fs')
const https = require('node:https')

const [url, caFile, sessionFile, what = 'datacenters'] = process.argv.slice(2)
// The session file brine stored (vsphere/session-store.ts): cookie, version, ServiceContent,
// the views kept with the session.
const { cookie, version, content, views } = JSON.parse(readFileSync(sessionFile, 'utf8'))
if (what === 'vms' && !views?.VirtualMachine)
  throw new Error(
    'the stored session keeps no view of the VMs: run brine vmware_vm.list on it first',
  )
const agent = new https.Agent({ keepAlive: true, ca: readFileSync(caFile) })
const envelope = (body) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
const retrieve = (spec) =>
  envelope(
    `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">${content.propertyCollector.value}</_this><specSet>${spec}</specSet><options/></RetrievePropertiesEx>`,
  )

function post(body) {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'text/xml; charset="utf-8"',
          soapaction: `urn:vim25/${version}`,
          cookie: `vmware_soap_session=${cookie}`,
        },
      },
      (response) => {
        const chunks = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      },
    )
    request.on('error', reject)
    request.end(body)
  })
}

;(async () => {
  const session = await post(
    retrieve(
      `<propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type="SessionManager">${content.sessionManager.value}</obj></objectSet>`,
    ),
  )
  if (!session.includes('<userName>')) throw new Error('the stored session is not valid')
  if (what === 'vms') {
    const answer = await post(
      retrieve(
        `<propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>config.template</pathSet></propSet><objectSet><obj type="ContainerView">${views.VirtualMachine}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet>`,
      ),
    )
    // All in one answer: vcsim sends 5,000 VMs' two properties at once (brine's list
    // continues a paged answer; this floor needs none).
    if (answer.includes('<token>')) throw new Error('the answer is paged: the floor reads one page')
    let out = ''
    for (const [, body] of answer.matchAll(/<objects>(.*?)<\/objects>/gs)) {
      if (/<name>config\.template<\/name><val[^>]*>true</.test(body)) continue
      out += `- ${/<name>name<\/name><val[^>]*>([^<]*)</.exec(body)[1]}\n`
    }
    process.stdout.write(out)
  } else {
    const answer = await post(
      retrieve(
        `<propSet><type>Datacenter</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">${content.rootFolder.value}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>folders</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>folders</name></selectSet></selectSet></objectSet>`,
      ),
    )
    for (const [, name] of answer.matchAll(/<val [^>]*>([^<]*)<\/val>/g)) console.log(`- ${name}`)
  }
  agent.destroy()
})()
