/** Shared types of the vSphere client. Values are plain, JSON-friendly objects. */

/** A managed object reference: `{ type: 'Folder', value: 'group-d1' }`. */
export interface ManagedObjectReference {
  type: string
  value: string
}

/**
 * A data object sent with an explicit `xsi:type` (needed wherever the schema is polymorphic,
 * such as `selectSet`). Decoded data objects whose type the server announced carry it too.
 */
export interface DataObject {
  _type: string
  [field: string]: unknown
}

export interface AboutInfo {
  name: string
  fullName: string
  vendor: string
  version: string
  build: string
  apiType: string
  apiVersion: string
  instanceUuid?: string
  [field: string]: unknown
}

export interface ServiceContent {
  rootFolder: ManagedObjectReference
  propertyCollector: ManagedObjectReference
  viewManager?: ManagedObjectReference
  about: AboutInfo
  sessionManager?: ManagedObjectReference
  searchIndex: ManagedObjectReference
  taskManager?: ManagedObjectReference
  customFieldsManager?: ManagedObjectReference
  licenseManager?: ManagedObjectReference
  authorizationManager?: ManagedObjectReference
  ovfManager?: ManagedObjectReference
  accountManager?: ManagedObjectReference
  [field: string]: unknown
}

export interface UserSession {
  key: string
  userName: string
  fullName: string
  loginTime: Date
  lastActiveTime: Date
  locale: string
  messageLocale: string
  extensionSession?: boolean
  ipAddress?: string
  userAgent?: string
  callCount?: number
}

export interface LocalizedMethodFault {
  fault: DataObject
  localizedMessage?: string
}

export interface DynamicProperty {
  name: string
  val: unknown
}

export interface MissingProperty {
  path: string
  fault: LocalizedMethodFault
}

export interface ObjectContent {
  obj: ManagedObjectReference
  propSet: DynamicProperty[]
  missingSet: MissingProperty[]
}

export interface RetrieveResult {
  token?: string
  objects: ObjectContent[]
}

export type TaskState = 'queued' | 'running' | 'success' | 'error'

export interface TaskInfo {
  key: string
  task: ManagedObjectReference
  name?: string
  descriptionId: string
  entity?: ManagedObjectReference
  entityName?: string
  state: TaskState
  cancelled: boolean
  cancelable: boolean
  error?: LocalizedMethodFault
  result?: unknown
  progress?: number
  queueTime: Date
  startTime?: Date
  completeTime?: Date
}

export interface PropertyChange {
  name: string
  op: 'add' | 'remove' | 'assign' | 'indirectRemove'
  val?: unknown
}

export interface ObjectUpdate {
  kind: 'enter' | 'leave' | 'modify'
  obj: ManagedObjectReference
  changeSet: PropertyChange[]
  missingSet: MissingProperty[]
}

export interface PropertyFilterUpdate {
  filter: ManagedObjectReference
  objectSet: ObjectUpdate[]
}

export interface UpdateSet {
  version: string
  filterSet: PropertyFilterUpdate[]
  truncated?: boolean
}

/** PropertySpec, ObjectSpec and PropertyFilterSpec as sent to the PropertyCollector. */
export interface PropertySpec {
  type: string
  all?: boolean
  pathSet?: string[]
}

export interface SelectionSpec {
  _type: 'TraversalSpec' | 'SelectionSpec'
  name?: string
  type?: string
  path?: string
  skip?: boolean
  selectSet?: SelectionSpec[]
}

export interface ObjectSpec {
  obj: ManagedObjectReference
  skip?: boolean
  selectSet?: SelectionSpec[]
}

export interface PropertyFilterSpec {
  propSet: PropertySpec[]
  objectSet: ObjectSpec[]
  reportMissingObjectsInResults?: boolean
}
