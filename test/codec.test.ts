import { describe, expect, it } from 'vitest'
import { Secret } from '../core/secret.ts'
import { encodeRequest, isMoref, moref, typed, typedPrimitive } from '../vsphere/codec.ts'
import { createResponseDecoder, decodeResponse } from '../vsphere/decoder.ts'

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`

describe('encodeRequest', () => {
  it('writes _this as a typed moref, escapes text, reveals secrets only here', () => {
    const xml = encodeRequest('Login', {
      _this: moref('SessionManager', 'SessionManager'),
      userName: 'a<b>&"c',
      password: new Secret('s3cr&t'),
      locale: undefined,
    })
    expect(xml).toContain(
      '<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>',
    )
    expect(xml).toContain('<userName>a&lt;b&gt;&amp;&quot;c</userName>')
    expect(xml).toContain('<password>s3cr&amp;t</password>')
    expect(xml).not.toContain('locale')
  })

  it('sets xsi:type on data objects with _type and repeats array elements', () => {
    const xml = encodeRequest('RetrievePropertiesEx', {
      _this: moref('PropertyCollector', 'propertyCollector'),
      specSet: [
        {
          propSet: [{ type: 'VirtualMachine', pathSet: ['name', 'config.uuid'] }],
          objectSet: [
            {
              obj: moref('ContainerView', 'session[1]2'),
              skip: true,
              selectSet: [
                {
                  _type: 'TraversalSpec',
                  name: 'view',
                  type: 'ContainerView',
                  path: 'view',
                  skip: false,
                },
              ],
            },
          ],
        },
      ],
      options: { maxObjects: 100 },
    })
    expect(xml).toContain('<pathSet>name</pathSet><pathSet>config.uuid</pathSet>')
    expect(xml).toContain('<selectSet xsi:type="TraversalSpec"><name>view</name>')
    expect(xml).toContain('<obj type="ContainerView">session[1]2</obj><skip>true</skip>')
    expect(xml).toContain('<options><maxObjects>100</maxObjects></options>')
  })
})

describe('typed anyType values', () => {
  it('picks xsi:types for JavaScript primitives: int, long, double, boolean, string', () => {
    expect(typedPrimitive(7)).toEqual({ _type: 'xsd:int', _value: 7 })
    expect(typedPrimitive(2 ** 40)).toEqual({ _type: 'xsd:long', _value: 2 ** 40 })
    expect(typedPrimitive(1.5)).toEqual({ _type: 'xsd:double', _value: 1.5 })
    expect(typedPrimitive(false)).toEqual({ _type: 'xsd:boolean', _value: false })
    expect(typedPrimitive('x')).toEqual({ _type: 'xsd:string', _value: 'x' })
  })

  it('sends primitives in anyType positions with their xsi:type', () => {
    const xml = encodeRequest('UpdateOptions', {
      _this: moref('OptionManager', 'x'),
      changedValue: [{ key: 'a', value: typed(7, 'xsd:int') }],
    })
    expect(xml).toContain(
      '<changedValue><key>a</key><value xsi:type="xsd:int">7</value></changedValue>',
    )
  })
})

describe('decodeResponse', () => {
  it('normalizes one-element arrays and types values by xsi:type', () => {
    const xml = envelope(
      '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj>' +
        '<propSet><name>name</name><val xsi:type="xsd:string">web &amp; db</val></propSet>' +
        '<propSet><name>summary.config.numCpu</name><val xsi:type="xsd:int">4</val></propSet>' +
        '<propSet><name>config.template</name><val xsi:type="xsd:boolean">false</val></propSet>' +
        '<propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet>' +
        '<propSet><name>parent</name><val type="Folder" xsi:type="ManagedObjectReference">group-v3</val></propSet>' +
        '<propSet><name>datastore</name><val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Datastore" xsi:type="ManagedObjectReference">ds-1</ManagedObjectReference></val></propSet>' +
        '<propSet><name>tags</name><val xsi:type="ArrayOfString"></val></propSet>' +
        '<propSet><name>runtime.bootTime</name><val xsi:type="xsd:dateTime">2026-01-02T03:04:05Z</val></propSet>' +
        '</objects></returnval></RetrievePropertiesExResponse>',
    )
    const decoded = decodeResponse('RetrievePropertiesEx', xml)
    expect(decoded.kind).toBe('result')
    const result = (
      decoded as {
        value: {
          objects: Array<{
            obj: unknown
            propSet: Array<{ name: string; val: unknown }>
            missingSet: unknown[]
          }>
        }
      }
    ).value
    expect(result.objects).toHaveLength(1)
    const [object] = result.objects
    expect(object?.obj).toEqual({ type: 'VirtualMachine', value: 'vm-1' })
    expect(object?.missingSet).toEqual([])
    const props = Object.fromEntries(object?.propSet.map((p) => [p.name, p.val]) ?? [])
    expect(props).toEqual({
      name: 'web & db',
      'summary.config.numCpu': 4,
      'config.template': false,
      'runtime.powerState': 'poweredOn',
      parent: { type: 'Folder', value: 'group-v3' },
      datastore: [{ type: 'Datastore', value: 'ds-1' }],
      tags: [],
      'runtime.bootTime': new Date('2026-01-02T03:04:05Z'),
    })
  })

  it('decodes a faulted missingSet and an empty result', () => {
    const xml = envelope(
      '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="SessionManager">SessionManager</obj>' +
        '<missingSet><path>currentSession</path><fault><fault xsi:type="NotAuthenticated"><object type="SessionManager">SessionManager</object><privilegeId>System.View</privilegeId></fault><localizedMessage></localizedMessage></fault></missingSet>' +
        '</objects></returnval></RetrievePropertiesExResponse>',
    )
    const decoded = decodeResponse('RetrievePropertiesEx', xml) as {
      value: { objects: Array<{ missingSet: Array<{ fault: { fault: unknown } }> }> }
    }
    expect(decoded.value.objects[0]?.missingSet[0]?.fault.fault).toEqual({
      _type: 'NotAuthenticated',
      object: { type: 'SessionManager', value: 'SessionManager' },
      privilegeId: 'System.View',
    })
    const empty = decodeResponse(
      'RetrievePropertiesEx',
      envelope('<RetrievePropertiesExResponse xmlns="urn:vim25"></RetrievePropertiesExResponse>'),
    )
    expect(empty).toEqual({ kind: 'result', value: undefined })
    const list = decodeResponse(
      'RetrieveProperties',
      envelope('<RetrievePropertiesResponse xmlns="urn:vim25"></RetrievePropertiesResponse>'),
    )
    expect(list).toEqual({ kind: 'result', value: [] })
  })

  it('decodes SOAP faults with their type from xsi:type', () => {
    const xml = envelope(
      '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Cannot complete login due to an incorrect user name or password.</faultstring>' +
        '<detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault></detail></soapenv:Fault>',
    )
    expect(decodeResponse('Login', xml)).toEqual({
      kind: 'fault',
      faultType: 'InvalidLogin',
      faultString: 'Cannot complete login due to an incorrect user name or password.',
      fault: { _type: 'InvalidLogin' },
    })
  })

  it('types UserSession and task morefs by method', () => {
    const login = decodeResponse(
      'Login',
      envelope(
        '<LoginResponse xmlns="urn:vim25"><returnval><key>52a</key><userName>u</userName><fullName>U</fullName><loginTime>2026-11-21T10:00:00Z</loginTime><lastActiveTime>2026-11-21T10:00:00Z</lastActiveTime><locale>en_US</locale><messageLocale>en_US</messageLocale><extensionSession>false</extensionSession><callCount>3</callCount></returnval></LoginResponse>',
      ),
    ) as { value: Record<string, unknown> }
    expect(login.value.loginTime).toEqual(new Date('2026-11-21T10:00:00Z'))
    expect(login.value.extensionSession).toBe(false)
    expect(login.value.callCount).toBe(3)
    const task = decodeResponse(
      'PowerOnVM_Task',
      envelope(
        '<PowerOnVM_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-9</returnval></PowerOnVM_TaskResponse>',
      ),
    )
    expect(task).toEqual({ kind: 'result', value: { type: 'Task', value: 'task-9' } })
  })

  it('keeps an empty fault an object, and repeated unknown elements an array', () => {
    const xml = envelope(
      '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj>' +
        '<missingSet><path>config</path><fault><fault xsi:type="NoPermission"/></fault></missingSet>' +
        '</objects></returnval></RetrievePropertiesExResponse>',
    )
    const decoded = decodeResponse('RetrievePropertiesEx', xml) as {
      value: {
        objects: Array<{ propSet: unknown[]; missingSet: Array<{ fault: { fault: unknown } }> }>
      }
    }
    expect(decoded.value.objects[0]?.propSet).toEqual([])
    expect(decoded.value.objects[0]?.missingSet[0]?.fault.fault).toEqual({ _type: 'NoPermission' })

    const generic = decodeResponse(
      'QueryThings',
      envelope(
        '<QueryThingsResponse xmlns="urn:vim25"><returnval><item>a</item><item>b</item><item>c</item><ref type="Folder">f-1</ref></returnval></QueryThingsResponse>',
      ),
    )
    expect(generic).toEqual({
      kind: 'result',
      value: { item: ['a', 'b', 'c'], ref: { type: 'Folder', value: 'f-1' } },
    })
  })

  it('keeps an announced data object without fields an object, and an announced enum text', () => {
    const decoded = decodeResponse(
      'QueryThings',
      envelope(
        '<QueryThingsResponse xmlns="urn:vim25"><returnval>' +
          '<bootOrder xsi:type="VirtualMachineBootOptionsBootableCdromDevice"></bootOrder>' +
          '<bootOrder xsi:type="VirtualMachineBootOptionsBootableDiskDevice"><deviceKey>2000</deviceKey></bootOrder>' +
          '<state xsi:type="VirtualMachinePowerState">poweredOn</state>' +
          '</returnval></QueryThingsResponse>',
      ),
    )
    expect(decoded).toEqual({
      kind: 'result',
      value: {
        bootOrder: [
          { _type: 'VirtualMachineBootOptionsBootableCdromDevice' },
          { _type: 'VirtualMachineBootOptionsBootableDiskDevice', deviceKey: expect.anything() },
        ],
        state: 'poweredOn',
      },
    })
  })

  it('rejects a body that is not a SOAP envelope or not XML', () => {
    expect(() => decodeResponse('Login', '<html>proxy error</html>')).toThrow(/not a SOAP envelope/)
    expect(() => decodeResponse('Login', '<soapenv:Envelope><unclosed>')).toThrow(
      /not well-formed XML/,
    )
  })

  it('recognizes morefs only by their exact shape', () => {
    expect(isMoref({ type: 'Folder', value: 'group-d1' })).toBe(true)
    expect(isMoref({ type: 'Folder', value: 'group-d1', extra: 1 })).toBe(false)
    expect(isMoref('group-d1')).toBe(false)
  })
})

/** `xml` decoded by a streaming decoder fed its bytes in pieces cut at `cuts`. */
function decodedInPieces(method: string, xml: string, cuts: readonly number[]) {
  const bytes = Buffer.from(xml, 'utf8')
  const decoder = createResponseDecoder(method)
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    decoder.write(bytes.subarray(from, cut))
    from = cut
  }
  return decoder.end()
}

describe('createResponseDecoder (fed as the answer arrives)', () => {
  const answers: Array<[string, string]> = [
    [
      'RetrievePropertiesEx',
      envelope(
        '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj>' +
          '<propSet><name>name</name><val xsi:type="xsd:string">wéb &amp; db ✓ 😀 &#x1F600;</val></propSet>' +
          '<propSet><name>summary.config.numCpu</name><val xsi:type="xsd:int">4</val></propSet>' +
          '<propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet>' +
          '<propSet><name>datastore</name><val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Datastore" xsi:type="ManagedObjectReference">ds-1</ManagedObjectReference><ManagedObjectReference type="Datastore" xsi:type="ManagedObjectReference">ds-2</ManagedObjectReference></val></propSet>' +
          '<propSet><name>runtime.bootTime</name><val xsi:type="xsd:dateTime">2026-01-02T03:04:05Z</val></propSet>' +
          '</objects><objects><obj type="VirtualMachine">vm-2</obj>' +
          '<missingSet><path>config</path><fault><fault xsi:type="NoPermission"/></fault></missingSet>' +
          '</objects></returnval></RetrievePropertiesExResponse>',
      ),
    ],
    [
      'Login',
      envelope(
        '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Cannot complete login due to an incorrect user name or password.</faultstring>' +
          '<detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault></detail></soapenv:Fault>',
      ),
    ],
    [
      'QueryThings',
      envelope(
        '<QueryThingsResponse xmlns="urn:vim25"><returnval><!-- c --><item>a</item><item><![CDATA[<b>]]></item><item>c</item><ref type="Folder">f-1</ref>' +
          '<bootOrder xsi:type="VirtualMachineBootOptionsBootableCdromDevice"></bootOrder></returnval></QueryThingsResponse>',
      ),
    ],
  ]

  // Every single cut, and one-byte pieces: the value must be the whole-string decode's.
  it.each(answers)('%s: the value of the whole text, however the bytes are cut', (method, xml) => {
    const whole = decodeResponse(method, xml)
    const length = Buffer.byteLength(xml)
    expect(
      decodedInPieces(
        method,
        xml,
        Array.from({ length: length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual(whole)
    for (let cut = 1; cut < length; cut++)
      expect(decodedInPieces(method, xml, [cut]), `cut at ${cut}`).toEqual(whole)
  })

  it('builds data objects in place: _type first, then fields as sent, absent schema arrays last', () => {
    const [, xml] = answers[0]!
    const value = (decodedInPieces('RetrievePropertiesEx', xml, [100, 200]) as { value: unknown })
      .value as { objects: Array<Record<string, unknown>> }
    expect(Object.keys(value.objects[0]!)).toEqual(['obj', 'propSet', 'missingSet'])
    expect(value.objects[0]!.missingSet).toEqual([])
    expect(Object.keys(value.objects[1]!)).toEqual(['obj', 'missingSet', 'propSet'])
    const fault = decodeResponse(
      'QueryThings',
      envelope(
        '<QueryThingsResponse xmlns="urn:vim25"><returnval><f xsi:type="HostFirewallRuleset"><key>ssh</key><enabled>true</enabled></f></returnval></QueryThingsResponse>',
      ),
    ) as { value: { f: Record<string, unknown> } }
    expect(Object.keys(fault.value.f)).toEqual(['_type', 'key', 'enabled', 'rule'])
    expect(fault.value.f).toEqual({
      _type: 'HostFirewallRuleset',
      key: 'ssh',
      enabled: true,
      rule: [],
    })
  })

  it('refuses a body that is not well-formed as soon as the bad part arrives', () => {
    const decoder = createResponseDecoder('Login')
    decoder.write(Buffer.from('<soapenv:Envelope><a>'))
    expect(() => decoder.write(Buffer.from('</b>'))).toThrow(
      /Login: the response is not well-formed XML: end tag <\/b> closes <a>/,
    )
    const unclosed = createResponseDecoder('Login')
    unclosed.write(Buffer.from('<soapenv:Envelope><unclosed>'))
    expect(() => unclosed.end()).toThrow(/not well-formed XML: unclosed element <unclosed>/)
    const html = createResponseDecoder('Login')
    html.write(Buffer.from('<html>proxy '))
    html.write(Buffer.from('error</html>'))
    expect(() => html.end()).toThrow(/not a SOAP envelope/)
  })
})
