/**
 * The part of the vim25 schema the decoder needs: for the data types brine reads, which fields
 * are arrays and which are numbers, booleans, dates or other data types. A generic XML parser
 * cannot tell a one-element array from a scalar, nor `"5"` from `5`; this table can.
 *
 * A field type is a primitive (`string`, `int`, `long`, `boolean`, `dateTime`, `anyType`,
 * `MoRef`) or a data type named here; a `[]` suffix marks an array. Values that carry an
 * `xsi:type` (every `anyType` position) describe themselves and need no entry.
 * Adding a type: one line here, named as in the vSphere API reference.
 */
export type FieldTypes = Record<string, string>

const MOREF_FIELDS = (...names: string[]): FieldTypes =>
  Object.fromEntries(names.map((name) => [name, 'MoRef']))

export const DATA_TYPES: Record<string, FieldTypes> = {
  ServiceContent: {
    ...MOREF_FIELDS(
      'rootFolder',
      'propertyCollector',
      'viewManager',
      'setting',
      'userDirectory',
      'sessionManager',
      'authorizationManager',
      'serviceManager',
      'perfManager',
      'scheduledTaskManager',
      'alarmManager',
      'eventManager',
      'taskManager',
      'extensionManager',
      'customizationSpecManager',
      'customFieldsManager',
      'accountManager',
      'diagnosticManager',
      'licenseManager',
      'searchIndex',
      'fileManager',
      'datastoreNamespaceManager',
      'virtualDiskManager',
      'virtualizationManager',
      'snmpSystem',
      'vmProvisioningChecker',
      'vmCompatibilityChecker',
      'ovfManager',
      'ipPoolManager',
      'dvSwitchManager',
      'hostProfileManager',
      'clusterProfileManager',
      'complianceManager',
      'localizationManager',
      'storageResourceManager',
      'guestOperationsManager',
      'overheadMemoryManager',
      'certificateManager',
      'ioFilterManager',
      'vStorageObjectManager',
      'hostSpecManager',
      'cryptoManager',
      'healthUpdateManager',
      'failoverClusterConfigurator',
      'failoverClusterManager',
    ),
    about: 'AboutInfo',
  },
  AboutInfo: {},
  UserSession: {
    loginTime: 'dateTime',
    lastActiveTime: 'dateTime',
    extensionSession: 'boolean',
    callCount: 'long',
  },
  RetrieveResult: { objects: 'ObjectContent[]' },
  ObjectContent: {
    obj: 'MoRef',
    propSet: 'DynamicProperty[]',
    missingSet: 'MissingProperty[]',
  },
  DynamicProperty: { val: 'anyType' },
  MissingProperty: { fault: 'LocalizedMethodFault' },
  // `DataObject`: always an object (with `_type` from xsi:type), even when sent empty.
  LocalizedMethodFault: { fault: 'DataObject' },
  TaskInfo: {
    task: 'MoRef',
    entity: 'MoRef',
    locked: 'MoRef[]',
    cancelled: 'boolean',
    cancelable: 'boolean',
    error: 'LocalizedMethodFault',
    result: 'anyType',
    progress: 'int',
    queueTime: 'dateTime',
    startTime: 'dateTime',
    completeTime: 'dateTime',
    eventChainId: 'int',
    parentTaskKey: 'string',
    rootTaskKey: 'string',
    activationId: 'string',
  },
  UpdateSet: { filterSet: 'PropertyFilterUpdate[]', truncated: 'boolean' },
  PropertyFilterUpdate: {
    filter: 'MoRef',
    objectSet: 'ObjectUpdate[]',
    missingSet: 'MissingObject[]',
  },
  ObjectUpdate: {
    obj: 'MoRef',
    changeSet: 'PropertyChange[]',
    missingSet: 'MissingProperty[]',
  },
  MissingObject: { obj: 'MoRef', fault: 'LocalizedMethodFault' },
  PropertyChange: { val: 'anyType' },
  // Cluster configuration
  ClusterConfigInfoEx: {
    dasConfig: 'ClusterDasConfigInfo',
    drsConfig: 'ClusterDrsConfigInfo',
    rule: 'ClusterRuleInfo[]',
  },
  ClusterDrsConfigInfo: {
    enabled: 'boolean',
    enableVmBehaviorOverrides: 'boolean',
    vmotionRate: 'int',
    scaleDescendantsShares: 'string',
    option: 'OptionValue[]',
  },
  ClusterDasConfigInfo: {
    enabled: 'boolean',
    failoverLevel: 'int',
    admissionControlEnabled: 'boolean',
    admissionControlPolicy: 'DataObject',
    option: 'OptionValue[]',
    hBDatastoreCandidatePolicy: 'string',
  },
  OptionValue: { value: 'anyType' },
  // Resource pools
  ResourceConfigSpec: {
    entity: 'MoRef',
    lastModified: 'dateTime',
    cpuAllocation: 'ResourceAllocationInfo',
    memoryAllocation: 'ResourceAllocationInfo',
  },
  ResourceAllocationInfo: {
    reservation: 'long',
    expandableReservation: 'boolean',
    limit: 'long',
    shares: 'SharesInfo',
    overheadLimit: 'long',
  },
  SharesInfo: { shares: 'int' },
  // Distributed switches
  VMwareDVSConfigInfo: {
    numStandalonePorts: 'int',
    numPorts: 'int',
    maxPorts: 'int',
    maxMtu: 'int',
    createTime: 'dateTime',
    host: 'DistributedVirtualSwitchHostMember[]',
  },
  DVSConfigInfo: {
    numStandalonePorts: 'int',
    numPorts: 'int',
    maxPorts: 'int',
    createTime: 'dateTime',
  },
  DVPortgroupConfigInfo: {
    numPorts: 'int',
    distributedVirtualSwitch: 'MoRef',
    defaultPortConfig: 'DataObject',
    autoExpand: 'boolean',
  },
  VMwareDVSPortSetting: { vlan: 'DataObject' },
  VmwareDistributedVirtualSwitchVlanIdSpec: { inherited: 'boolean', vlanId: 'int' },
  VmwareDistributedVirtualSwitchTrunkVlanSpec: { inherited: 'boolean', vlanId: 'NumericRange[]' },
  NumericRange: { start: 'int', end: 'int' },
  // Host networking
  HostNetworkInfo: {
    vswitch: 'HostVirtualSwitch[]',
    portgroup: 'HostPortGroup[]',
    pnic: 'PhysicalNic[]',
    vnic: 'HostVirtualNic[]',
  },
  HostVirtualSwitch: {
    numPorts: 'int',
    numPortsAvailable: 'int',
    mtu: 'int',
    portgroup: 'string[]',
    pnic: 'string[]',
    spec: 'HostVirtualSwitchSpec',
  },
  HostVirtualSwitchSpec: { numPorts: 'int', mtu: 'int' },
  HostPortGroup: { spec: 'HostPortGroupSpec' },
  HostPortGroupSpec: { vlanId: 'int' },
  // Licenses and custom fields
  LicenseManagerLicenseInfo: {
    total: 'int',
    used: 'int',
    properties: 'KeyAnyValue[]',
    labels: 'KeyValue[]',
  },
  KeyAnyValue: { value: 'anyType' },
  CustomFieldDef: { key: 'int' },
  CustomFieldStringValue: { key: 'int' },
  // Virtual machines
  VirtualMachineSnapshotInfo: {
    currentSnapshot: 'MoRef',
    rootSnapshotList: 'VirtualMachineSnapshotTree[]',
  },
  VirtualMachineSnapshotTree: {
    snapshot: 'MoRef',
    vm: 'MoRef',
    createTime: 'dateTime',
    quiesced: 'boolean',
    id: 'int',
    childSnapshotList: 'VirtualMachineSnapshotTree[]',
    replaySupported: 'boolean',
  },
  // Faults brine inspects
  NotAuthenticated: { object: 'MoRef' },
  NoPermission: { object: 'MoRef' },
  ManagedObjectNotFound: { obj: 'MoRef' },
  DuplicateName: { object: 'MoRef' },
  InvalidName: { entity: 'MoRef' },
}

/** Arrays that always come back as `ArrayOf…` or repeated elements where a list is expected. */
export const ARRAY_ELEMENT_TYPES: Record<string, string> = {
  ArrayOfManagedObjectReference: 'MoRef',
  ArrayOfString: 'string',
  ArrayOfInt: 'int',
  ArrayOfLong: 'long',
  ArrayOfShort: 'int',
  ArrayOfByte: 'int',
  ArrayOfBoolean: 'boolean',
  ArrayOfDouble: 'double',
  ArrayOfFloat: 'double',
  ArrayOfDateTime: 'dateTime',
}

/** What each method returns; methods not listed decode generically. Task methods return MoRef. */
export const METHOD_RESULTS: Record<string, string> = {
  RetrieveServiceContent: 'ServiceContent',
  Login: 'UserSession',
  LoginByToken: 'UserSession',
  SessionIsActive: 'boolean',
  CurrentTime: 'dateTime',
  RetrievePropertiesEx: 'RetrieveResult',
  ContinueRetrievePropertiesEx: 'RetrieveResult',
  RetrieveProperties: 'ObjectContent[]',
  CreateContainerView: 'MoRef',
  CreatePropertyCollector: 'MoRef',
  CreateFilter: 'MoRef',
  FindByInventoryPath: 'MoRef',
  FindByUuid: 'MoRef',
  FindAllByUuid: 'MoRef[]',
  WaitForUpdatesEx: 'UpdateSet',
  CreateFolder: 'MoRef',
  CreateDatacenter: 'MoRef',
  CreateClusterEx: 'MoRef',
  AcquireCloneTicket: 'string',
}
