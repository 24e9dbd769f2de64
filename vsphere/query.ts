import { callVim } from './call.ts'
import { VsphereError } from './errors.ts'
import {
  findByInventoryPath,
  propertiesOf,
  retrieveAll,
  retrieveObjectProperties,
  retrieveProperties,
} from './property-collector.ts'
import type { ServiceInstance } from './service-instance.ts'
import type { TaggingClient } from './tagging.ts'
import type { ManagedObjectReference } from './types.ts'

/**
 * The inventory query engine: "the newest template whose name starts with Centos and whose
 * dept attribute matches ST.*". A search runs in two phases, so that its cost on a vCenter of
 * 5,000 VMs is the names of 5,000 VMs plus the heavy properties of the few that are left:
 *
 * 1. One PropertyCollector read over a container view fetches the cheap properties of every
 *    object of the type (`name`, the vm/template flag `config.template`, the power state when
 *    filtered on) and the cheap filters run here: the type split, the name regex, the power
 *    state, and the objects SearchIndex.FindAllByIp found. `parent` is the view's root
 *    (SearchIndex.FindByInventoryPath) and `ip` a FindAllByIp lookup: both on the server.
 * 2. One RetrievePropertiesEx whose objectSet lists the candidates left, by reference (no
 *    view), fetches the heavy properties (`customValue`, `guest.ipAddress`, the dates) and
 *    their filters run here; then the tagging API is asked about the candidates still left.
 *
 * The dates (`config.createDate`, `config.modified`, `runtime.bootTime`) are phase 2: each is
 * small, but phase 1's answer is the one that grows with the inventory, a date narrows nothing
 * a cheap filter has not already narrowed more cheaply, and latest/earliest only compare the
 * matches. When nothing in phase 1 can drop a candidate (no cheap filter, no type split),
 * phase 2 would read every object anyway: then the heavy properties come with the names in
 * the phase-1 read, and phase 2 is only the tag lookup, if any.
 *
 * Every search explains itself: the criteria as understood, what each phase read, which
 * filters it ran on the server and which here, on how many candidates, and for each candidate
 * which criterion passed or failed and why.
 *
 * Adding a searchable type is one entry in SEARCHABLE: its managed object type, the cheap
 * properties to fetch, the property that dates it (if any), the one holding its power state
 * and IP (if any), and an optional predicate that splits types sharing a managed object type
 * (VMs and templates).
 */

export interface SearchableType {
  vimType: string
  /** Cheap properties every search of this type fetches in phase 1 (those `is` reads). */
  props: string[]
  /** Date properties, the first present on an object wins (createDate is vSphere ≥ 6.7). */
  date?: string[]
  /** A cheap property (phase 1). */
  powerState?: string
  /** A heavy property (phase 2) when the IP is filtered here. */
  ip?: string
  /** True when an object of vimType belongs to this type. */
  is?: (props: Record<string, unknown>) => boolean
}

const VM_PROPS = ['config.template']

export const SEARCHABLE: Record<string, SearchableType> = {
  vm: {
    vimType: 'VirtualMachine',
    props: VM_PROPS,
    date: ['config.createDate', 'config.modified'],
    powerState: 'runtime.powerState',
    ip: 'guest.ipAddress',
    is: (p) => p['config.template'] !== true && p['config.template'] !== 'true',
  },
  template: {
    vimType: 'VirtualMachine',
    props: VM_PROPS,
    date: ['config.createDate', 'config.modified'],
    is: (p) => p['config.template'] === true || p['config.template'] === 'true',
  },
  host: {
    vimType: 'HostSystem',
    props: [],
    date: ['runtime.bootTime'],
    powerState: 'runtime.powerState',
  },
  cluster: { vimType: 'ClusterComputeResource', props: [] },
  datacenter: { vimType: 'Datacenter', props: [] },
  datastore: { vimType: 'Datastore', props: [] },
  folder: { vimType: 'Folder', props: [] },
  network: { vimType: 'Network', props: [] },
  resourcepool: { vimType: 'ResourcePool', props: [] },
}

export interface MetadataFilter {
  /** Custom attribute or tag category name. */
  key: string
  /** Regex the attribute value or tag name must match (default: any value). */
  value?: string | undefined
  /** attribute (custom attribute) or tag. Default attribute. */
  type?: 'attribute' | 'tag' | undefined
  /** Attributes only: true = defined for all object types (global), false = for this type. */
  global?: boolean | undefined
}

export interface SearchFilters {
  /** Regex on the name. */
  name?: string | undefined
  /** Comparison on the type's date, e.g. "> 2020-02-02" or "<= 2024-01-01T12:00:00Z". */
  date?: string | undefined
  latest?: boolean | undefined
  earliest?: boolean | undefined
  /** Exact IP address (pushed to the server). */
  ip?: string | undefined
  /** Inventory path of the container to search in, e.g. "DC0/vm/web" (pushed to the server). */
  parent?: string | undefined
  power_state?: string | undefined
}

export interface SearchOptions {
  filters?: SearchFilters
  metadata?: MetadataFilter[]
  /** auto: server where possible, client for the rest; server: refuse what the server cannot do. */
  strategy?: 'auto' | 'client' | 'server'
  signal?: AbortSignal | undefined
  /** Needed for tag filters (REST). */
  tagging?: () => Promise<TaggingClient>
}

export interface Check {
  criterion: string
  ok: boolean
  why: string
}

export interface SearchItem {
  name: string
  id: string
  type: string
  props: Record<string, unknown>
}

/** One phase of a search: what it read, which filters it ran where, on how many candidates. */
export interface Phase {
  phase: 1 | 2
  /** The reads, e.g. "name, config.template of VirtualMachine over a container view". */
  read: string[]
  /** Filters the server ran for this phase. */
  server: string[]
  /** Filters run here on what the phase read. */
  client: string[]
  /** Candidates the phase ran on (phase 1: the objects of the managed object type read). */
  candidates: number
  /** Candidates left after it. */
  left: number
}

export interface Explanation {
  type: string
  criteria: string[]
  /** Everything that ran on the server, in order (both phases). */
  server: string[]
  /** The criteria that ran here (both phases). */
  client: string[]
  phases: Phase[]
  candidates: Array<{ name: string; id: string; matched: boolean; checks: Check[] }>
  picked?: string
}

export interface SearchResult {
  items: SearchItem[]
  explanation: Explanation
}

export class QueryError extends VsphereError {
  static override readonly kind: string = 'QueryError'
  readonly explanation: Explanation | undefined

  constructor(message: string, code: string, explanation?: Explanation) {
    super(explanation ? `${message}\n${formatExplanation(explanation)}` : message, { code })
    this.explanation = explanation
  }
}

const DATE_COMPARISON = /^\s*(>=|<=|>|<|=|==)\s*(\S.*?)\s*$/

function compileRegex(what: string, source: string): RegExp {
  try {
    return new RegExp(source)
  } catch (error) {
    throw new QueryError(
      `${what}: '${source}' is not a valid regular expression (${(error as Error).message})`,
      'BRINE_ARGUMENT',
    )
  }
}

function parseDate(text: string): { op: string; when: Date } {
  const m = DATE_COMPARISON.exec(text)
  const when = m ? new Date(m[2]!) : undefined
  if (!m || !when || Number.isNaN(when.getTime()))
    throw new QueryError(
      `date filter '${text}' is not understood: use an operator (>, >=, <, <=, =) and an ISO date, e.g. "> 2020-02-02"`,
      'BRINE_ARGUMENT',
    )
  return { op: m[1] === '==' ? '=' : m[1]!, when }
}

function compare(a: number, op: string, b: number): boolean {
  switch (op) {
    case '>':
      return a > b
    case '>=':
      return a >= b
    case '<':
      return a < b
    case '<=':
      return a <= b
    default:
      return a === b
  }
}

const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v]

function dateOf(
  spec: SearchableType,
  props: Record<string, unknown>,
): { prop: string; when: Date } | undefined {
  for (const prop of spec.date ?? []) {
    const v = props[prop]
    if (v === undefined || v === null || v === '') continue
    const when = v instanceof Date ? v : new Date(String(v))
    if (!Number.isNaN(when.getTime())) return { prop, when }
  }
  return undefined
}

@@SEARCH@@
function usedProps(
  props: Record<string, unknown>,
  spec: SearchableType,
  dated: { prop: string; when: Date } | undefined,
) {
  const out: Record<string, unknown> = {}
  if (spec.powerState && props[spec.powerState] !== undefined)
    out.power_state = props[spec.powerState]
  if (spec.ip && props[spec.ip] !== undefined) out.ip = props[spec.ip]
  if (dated) out.date = dated.when.toISOString()
  return out
}

/** The explanation as text, for error messages and the CLI. */
export function formatExplanation(e: Explanation): string {
  const lines = [
    `search ${e.type}: ${e.criteria.length ? e.criteria.join('; ') : 'no criteria (everything)'}`,
    `  on the server: ${e.server.join('; ') || 'nothing'}`,
    `  here: ${e.client.join(', ') || 'nothing'}`,
  ]
  const shown = e.candidates.slice(0, 20)
  for (const c of shown)
    lines.push(
      `  ${c.matched ? '✓' : '✗'} ${c.name} (${c.id}): ${c.checks.map((k) => `${k.criterion} ${k.ok ? 'ok' : 'failed'}: ${k.why}`).join('; ') || 'no criteria'}`,
    )
  if (e.candidates.length > shown.length)
    lines.push(`  … ${e.candidates.length - shown.length} more candidate(s)`)
  if (e.picked) lines.push(`  picked: ${e.picked}`)
  return lines.join('\n')
}

/** Exactly one match (after latest/earliest), else a QueryError carrying the explanation. */
export async function searchOne(
  si: ServiceInstance,
  type: string,
  options: SearchOptions = {},
): Promise<SearchItem> {
  const result = await search(si, type, options)
  if (result.items.length === 1) return result.items[0]!
  if (result.items.length === 0)
    throw new QueryError(`no ${type} found`, 'BRINE_NOT_FOUND', result.explanation)
  throw new QueryError(
    `${result.items.length} ${type}s match (${result.items.map((i) => i.name).join(', ')}): narrow the filters or add latest/earliest`,
    'BRINE_AMBIGUOUS',
    result.explanation,
  )
}
