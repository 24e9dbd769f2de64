// The inventory query engine: "the newest template whose name starts with Centos and whose
// dept attribute matches ST.*". A search runs in two phases, so that its cost on a vCenter of
// 5,000 VMs is the names of 5,000 VMs plus the heavy properties of the few that are left:
//
// 1. One PropertyCollector read over a container view fetches the cheap properties of every
//    object of the type (`name`, the vm/template flag `config.template`, the power state when
//    filtered on) and the cheap filters run here: the type split, the name regex, the power
//    state, and the objects SearchIndex.FindAllByIp found. `parent` is the view's root
//    (SearchIndex.FindByInventoryPath) and `ip` a FindAllByIp lookup: both on the server.
// 2. One RetrievePropertiesEx whose objectSet lists the candidates left, by reference (no
//    view), fetches the heavy properties (`customValue`, `guest.ipAddress`, the dates) and
//    their filters run here; then the tagging API is asked about the candidates still left.
//
// The dates (`config.createDate`, `config.modified`, `runtime.bootTime`) are phase 2: each is
// small, but phase 1's answer is the one that grows with the inventory, a date narrows nothing
// a cheap filter has not already narrowed more cheaply, and latest/earliest only compare the
// matches. When nothing in phase 1 can drop a candidate (no cheap filter, no type split),
// phase 2 would read every object anyway: then the heavy properties come with the names in
// the phase-1 read, and phase 2 is only the tag lookup, if any.
//
// Every search explains itself: the criteria as understood, what each phase read, which
// filters it ran on the server and which here, on how many candidates, and for each candidate
// which criterion passed or failed and why.
//
// Adding a searchable type is one entry in SEARCHABLE: its managed object type, the cheap
// properties to fetch, the property that dates it (if any), the one holding its power state
// and IP (if any), and an optional predicate that splits types sharing a managed object type
// (VMs and templates).
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
import type { Tag, TaggingClient } from './tagging.ts'
import type { ManagedObjectReference } from './types.ts'

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

/** A candidate: its properties from both phases and its entry in the explanation. */
interface Candidate {
  obj: ManagedObjectReference
  name: string
  props: Record<string, unknown>
  entry: Explanation['candidates'][number]
}

/** A filter run on one candidate, on properties one of the phases read. */
interface Filter {
  /** As the phase's explanation names it. */
  label: string
  /** Ran on the server (its answer is only looked up here). */
  server?: boolean
  /** The properties it reads. */
  props: string[]
  run: (c: Candidate) => void
}

/**
 * Up to this many candidates left (or as many as the categories have tags), the tagging API
 * is asked for the tags of each candidate: answers that do not grow with the inventory. With
 * more, each tag of the categories is asked for its objects instead (fewer calls).
 */
const TAG_LOOKUPS_PER_CANDIDATE = 32
const TAG_LOOKUP_CONCURRENCY = 8

const passes = (c: Candidate) => c.entry.checks.every((k) => k.ok)
const check = (c: Candidate, criterion: string, ok: boolean, why: string) => {
  c.entry.checks.push({ criterion, ok, why })
}
const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
const unique = (list: string[]) => [...new Set(list)]

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/** Run a search; see the module comment. */
export async function search(
  si: ServiceInstance,
  type: string,
  options: SearchOptions = {},
): Promise<SearchResult> {
  const spec = SEARCHABLE[type]
  if (!spec)
    throw new QueryError(
      `cannot search type '${type}': searchable types are ${Object.keys(SEARCHABLE).join(', ')}`,
      'BRINE_ARGUMENT',
    )
  const filters = options.filters ?? {}
  const metadata = options.metadata ?? []
  const strategy = options.strategy ?? 'auto'
  const signal = options.signal
  const explanation: Explanation = {
    type,
    criteria: [],
    server: [],
    client: [],
    phases: [],
    candidates: [],
  }

  // Understand the criteria first: a bad regex or date fails before any request.
  const nameRe = filters.name !== undefined ? compileRegex('name filter', filters.name) : undefined
  if (nameRe) explanation.criteria.push(`name matches /${filters.name}/`)
  const date = filters.date !== undefined ? parseDate(filters.date) : undefined
  const ordered = Boolean(filters.latest || filters.earliest)
  if ((date || ordered) && !spec.date)
    throw new QueryError(`type '${type}' has no date to filter or order by`, 'BRINE_ARGUMENT')
  if (filters.latest && filters.earliest)
    throw new QueryError('latest and earliest exclude each other', 'BRINE_ARGUMENT')
  if (date)
    explanation.criteria.push(
      `date ${date.op} ${date.when.toISOString()} (${spec.date!.join(' or ')})`,
    )
  if (filters.power_state !== undefined) {
    if (!spec.powerState)
      throw new QueryError(`type '${type}' has no power state`, 'BRINE_ARGUMENT')
    explanation.criteria.push(`power state is ${filters.power_state}`)
  }
  if (filters.ip !== undefined) {
    if (!spec.ip)
      throw new QueryError(`type '${type}' has no IP address to filter on`, 'BRINE_ARGUMENT')
    explanation.criteria.push(`IP address is ${filters.ip}`)
  }
  if (filters.parent !== undefined) explanation.criteria.push(`inside ${filters.parent}`)
  const meta = metadata.map((m) => ({
    ...m,
    type: m.type ?? 'attribute',
    re:
      m.value !== undefined
        ? compileRegex(`${m.type ?? 'attribute'} '${m.key}' value`, m.value)
        : undefined,
  }))
  for (const m of meta)
    explanation.criteria.push(
      `${m.type} '${m.key}'${m.re ? ` matches /${m.value}/` : ' is set'}${m.global === undefined ? '' : m.global ? ' (global attribute)' : ` (attribute for ${spec.vimType})`}`,
    )
  if (filters.latest) explanation.criteria.push('then the latest by date')
  if (filters.earliest) explanation.criteria.push('then the earliest by date')

  // On the server: narrow the candidates where the API allows.
  const { content } = await si.ready()
  const narrowed: string[] = []
  let root: ManagedObjectReference | undefined
  if (filters.parent !== undefined) {
    const found = await findByInventoryPath(si, filters.parent.replace(/^\/+/, ''), { signal })
    if (!found)
      throw new QueryError(
        `parent '${filters.parent}' is not an inventory path here (e.g. DC0/vm/web)`,
        'BRINE_NOT_FOUND',
      )
    root = found
    narrowed.push(`parent: container view rooted at ${found.type}:${found.value}`)
  }
  let ipSet: Set<string> | undefined
  if (filters.ip !== undefined && strategy !== 'client') {
    const found = asArray(
      await callVim<ManagedObjectReference[] | ManagedObjectReference | undefined>(
        si,
        `searching ${type}s by IP ${filters.ip}`,
        'FindAllByIp',
        { _this: content.searchIndex, ip: filters.ip, vmSearch: spec.vimType === 'VirtualMachine' },
        { signal },
      ),
    )
    ipSet = new Set(found.map((r) => r.value))
    narrowed.push(`ip: SearchIndex.FindAllByIp → ${found.length} object(s)`)
  }
  explanation.server.push(...narrowed)
  if (strategy === 'server') {
    const clientOnly = [
      nameRe && 'name (regex)',
      date && 'date',
      ordered && 'latest/earliest',
      filters.power_state !== undefined && 'power_state',
      meta.length > 0 && 'metadata',
    ].filter(Boolean)
    if (clientOnly.length)
      throw new QueryError(
        `strategy=server cannot run ${clientOnly.join(', ')}: the vSphere API filters only parent and ip on the server; use strategy=auto`,
        'BRINE_ARGUMENT',
      )
  }

  // Metadata definitions before the inventory: an unknown attribute or category fails first.
  const attrs = meta.filter((m) => m.type === 'attribute')
  const tags = meta.filter((m) => m.type === 'tag')
  let fields = new Map<number, { name: string; global: boolean }>()
  if (attrs.length) {
    if (!content.customFieldsManager)
      throw new QueryError(
        'attribute filters need vCenter (no CustomFieldsManager here)',
        'BRINE_UNSUPPORTED',
      )
    const defs = asArray(
      (await retrieveObjectProperties(si, content.customFieldsManager, ['field'], { signal }))
        .field as Array<{ key: number; name: string; managedObjectType?: string }> | undefined,
    )
    fields = new Map(
      defs.map((d) => [Number(d.key), { name: String(d.name), global: !d.managedObjectType }]),
    )
    for (const a of attrs)
      if (![...fields.values()].some((f) => f.name === a.key))
        throw new QueryError(
          `custom attribute '${a.key}' is not defined (vmware_custom_attribute.list shows them)`,
          'BRINE_NOT_FOUND',
        )
  }
  let tagging: TaggingClient | undefined
  const tagsById = new Map<string, Tag>()
  const categoryIds = new Map<string, string>() // category name → id
  if (tags.length) {
    if (!options.tagging)
      throw new QueryError('tag filters need the tagging service', 'BRINE_UNSUPPORTED')
    tagging = await options.tagging()
    const categories = await tagging.listCategories()
    for (const t of tags) {
      const category = categories.find((c) => c.name === t.key)
      if (!category)
        throw new QueryError(`tag category '${t.key}' does not exist`, 'BRINE_NOT_FOUND')
      categoryIds.set(t.key, category.id)
    }
    for (const tag of await tagging.listTags()) tagsById.set(tag.id, tag)
  }

  // The filters: cheap ones run in phase 1, heavy ones in phase 2.
  const cheap: Filter[] = []
  const heavy: Filter[] = []
  if (nameRe)
    cheap.push({
      label: 'name',
      props: [],
      run: (c) => {
        const ok = nameRe.test(c.name)
        check(c, 'name', ok, `'${c.name}' ${ok ? 'matches' : 'does not match'} /${filters.name}/`)
      },
    })
  if (filters.power_state !== undefined)
    cheap.push({
      label: 'power_state',
      props: [spec.powerState!],
      run: (c) => {
        const state = String(c.props[spec.powerState!] ?? '')
        check(
          c,
          'power_state',
          state === filters.power_state,
          `power state is ${state || 'unknown'}`,
        )
      },
    })
  if (ipSet) {
    const found = ipSet
    cheap.push({
      label: 'ip',
      server: true,
      props: [],
      run: (c) => {
        const ok = found.has(c.obj.value)
        check(c, 'ip', ok, `${ok ? 'found' : 'not found'} by IP ${filters.ip}`)
      },
    })
  }
  if (date)
    heavy.push({
      label: 'date',
      props: spec.date!,
      run: (c) => {
        const dated = dateOf(spec, c.props)
        if (!dated) return check(c, 'date', false, `no ${spec.date!.join(' or ')}`)
        const ok = compare(dated.when.getTime(), date.op, date.when.getTime())
        check(
          c,
          'date',
          ok,
          `${dated.prop} ${dated.when.toISOString()} ${ok ? 'is' : 'is not'} ${date.op} ${date.when.toISOString()}`,
        )
      },
    })
  if (filters.ip !== undefined && !ipSet)
    heavy.push({
      label: 'ip',
      props: [spec.ip!],
      run: (c) => {
        const ip = String(c.props[spec.ip!] ?? '')
        check(c, 'ip', ip === filters.ip, `IP address is ${ip || 'unknown'}`)
      },
    })
  for (const m of attrs)
    heavy.push({
      label: `attribute '${m.key}'`,
      props: ['customValue'],
      run: (c) => {
        const label = `attribute '${m.key}'`
        const values = asArray(
          c.props.customValue as Array<{ key: number; value?: string }> | undefined,
        )
        const entry = values.find((v) => fields.get(Number(v.key))?.name === m.key)
        const def = entry ? fields.get(Number(entry.key)) : undefined
        if (!entry) check(c, label, false, 'not set')
        else if (m.global !== undefined && def?.global !== m.global)
          check(
            c,
            label,
            false,
            def?.global ? 'is a global attribute' : `is an attribute for ${spec.vimType}`,
          )
        else if (m.re) {
          const ok = m.re.test(entry.value ?? '')
          check(
            c,
            label,
            ok,
            `value '${entry.value ?? ''}' ${ok ? 'matches' : 'does not match'} /${m.value}/`,
          )
        } else check(c, label, true, `set to '${entry.value ?? ''}'`)
      },
    })
  const heavyProps = unique([
    ...heavy.flatMap((f) => f.props),
    ...(ordered ? (spec.date ?? []) : []),
  ])
  // Nothing in phase 1 can drop a candidate: phase 2 would read every object, so phase 1
  // reads the heavy properties with the names.
  const merged = !spec.is && cheap.length === 0 && heavyProps.length > 0

  explanation.client.push(
    ...([
      nameRe && 'name',
      date && 'date',
      filters.power_state !== undefined && 'power_state',
      filters.ip !== undefined && !ipSet && 'ip',
      meta.length > 0 && 'metadata',
      ordered && (filters.latest ? 'latest' : 'earliest'),
    ].filter(Boolean) as string[]),
  )

  // Phase 1: the cheap properties of every object of the type, over a container view.
  const phase1Filters = merged ? [...cheap, ...heavy] : cheap
  const phase1Props = unique([
    'name',
    ...spec.props,
    ...cheap.flatMap((f) => f.props),
    ...(merged ? heavyProps : []),
  ])
  const objects = await retrieveAll(si, spec.vimType, phase1Props, { root, signal })
  const read1 = `${phase1Props.join(', ')} of every ${spec.vimType} in a container view${merged ? ' (with the heavy properties: no cheap filter could leave fewer candidates for phase 2)' : ''}`
  explanation.server.push(
    `phase 1: one PropertyCollector read of ${read1}: ${objects.length} object(s)`,
  )
  const all: Candidate[] = []
  for (const o of objects) {
    if (spec.is && !spec.is(o.props)) continue
    const name = String(o.props.name)
    const entry = { name, id: o.obj.value, matched: false, checks: [] as Check[] }
    explanation.candidates.push(entry)
    const c: Candidate = { obj: o.obj, name, props: o.props, entry }
    for (const f of phase1Filters) f.run(c)
    all.push(c)
  }
  let left = all.filter(passes)
  explanation.phases.push({
    phase: 1,
    read: [read1],
    server: narrowed,
    client: [
      ...(spec.is ? [`${type}s only (${spec.props.join(', ')}): ${all.length} of them`] : []),
      ...phase1Filters.filter((f) => !f.server).map((f) => f.label),
    ],
    candidates: objects.length,
    left: left.length,
  })

  // Phase 2: the heavy properties of the candidates left, listed by reference; then tags.
  const phase2Filters = merged ? [] : heavy
  const phase2Props = merged ? [] : heavyProps
  if (phase2Props.length || tags.length) {
    const phase2: Phase = {
      phase: 2,
      read: [],
      server: [],
      client: [...phase2Filters.map((f) => f.label), ...tags.map((t) => `tag '${t.key}'`)],
      candidates: left.length,
      left: 0,
    }
    explanation.phases.push(phase2)
    if (phase2Props.length) {
      let read2: string
      if (!left.length) read2 = `${phase2Props.join(', ')}: not read, no candidate left`
      else {
        const objects2 = await retrieveProperties(
          si,
          [
            {
              propSet: [{ type: spec.vimType, pathSet: phase2Props }],
              objectSet: left.map((c) => ({ obj: c.obj })),
              reportMissingObjectsInResults: true,
            },
          ],
          { signal },
        )
        const byId = new Map(
          objects2
            .filter(
              (o) => !o.missingSet.some((m) => m.fault.fault._type === 'ManagedObjectNotFound'),
            )
            .map((o) => [o.obj.value, propertiesOf(o)]),
        )
        for (const c of left) {
          const props = byId.get(c.obj.value)
          if (!props) {
            check(c, 'exists', false, 'removed between phase 1 and phase 2')
            continue
          }
          Object.assign(c.props, props)
          for (const f of phase2Filters) f.run(c)
        }
        read2 = `${phase2Props.join(', ')} of the ${count(left.length, 'candidate')} left, listed by reference (no view)`
        explanation.server.push(`phase 2: one PropertyCollector read of ${read2}`)
      }
      phase2.read.push(read2)
      left = left.filter(passes)
    }
    if (tags.length) {
      const text = await lookUpTags(tagging!, left, tags, categoryIds, tagsById, signal)
      explanation.server.push(text)
      phase2.server.push(text)
      left = left.filter(passes)
    }
    phase2.left = left.length
  }
  // latest/earliest pick among the matches, by the dates the last phase read.
  if (ordered) explanation.phases.at(-1)!.client.push(filters.latest ? 'latest' : 'earliest')

  const matched: Array<SearchItem & { when?: Date }> = []
  for (const c of all) {
    c.entry.matched = passes(c)
    if (!c.entry.matched) continue
    const dated = spec.date ? dateOf(spec, c.props) : undefined
    matched.push({
      name: c.name,
      id: c.obj.value,
      type,
      props: usedProps(c.props, spec, dated),
      ...(dated ? { when: dated.when } : {}),
    })
  }

  let items: Array<SearchItem & { when?: Date }> = matched.sort((a, b) =>
    a.name.localeCompare(b.name),
  )
  if (ordered && items.length) {
    const withDate = items.filter((i) => i.when)
    if (!withDate.length)
      explanation.picked = `none of the ${items.length} match(es) has a date: nothing picked`
    const pick = withDate.reduce<(typeof items)[number] | undefined>((best, i) => {
      if (!best) return i
      const newer = i.when!.getTime() > best.when!.getTime()
      return filters.latest ? (newer ? i : best) : newer ? best : i
    }, undefined)
    items = pick ? [pick] : []
    if (pick) {
      explanation.picked = `${filters.latest ? 'latest' : 'earliest'} of ${matched.length}: '${pick.name}' (${pick.when!.toISOString()})`
      for (const c of explanation.candidates)
        if (c.matched && c.id !== pick.id) {
          c.matched = false
          c.checks.push({
            criterion: filters.latest ? 'latest' : 'earliest',
            ok: false,
            why: `'${pick.name}' is ${filters.latest ? 'newer' : 'older'}`,
          })
        }
    }
  }
  return { items: items.map(({ when: _when, ...item }) => item), explanation }
}

/**
 * The tag filters on the candidates left: the tagging API is asked about those candidates
 * only (list-attached-tags per candidate) while they are few; with more candidates than
 * that, each tag of the filtered categories is asked for its objects. Returns what was asked.
 */
async function lookUpTags(
  client: TaggingClient,
  left: Candidate[],
  tags: Array<MetadataFilter & { re: RegExp | undefined }>,
  categoryIds: Map<string, string>,
  tagsById: Map<string, Tag>,
  signal: AbortSignal | undefined,
): Promise<string> {
  const keys = tags.map((t) => `'${t.key}'`).join(', ')
  if (!left.length) return `tags of ${keys}: not asked, no candidate left`
  signal?.throwIfAborted()
  const wantedCategories = new Set(categoryIds.values())
  const categoryTags = [...tagsById.values()].filter((t) => wantedCategories.has(t.category_id))
  const attached = new Map<string, Tag[]>() // object id → its tags in the filtered categories
  let text: string
  if (left.length <= Math.max(TAG_LOOKUPS_PER_CANDIDATE, categoryTags.length)) {
    const ids = await mapLimit(left, TAG_LOOKUP_CONCURRENCY, (c) => client.attachedTags(c.obj))
    for (const [i, c] of left.entries())
      attached.set(
        c.obj.value,
        ids[i]!.map((id) => tagsById.get(id)).filter(
          (t): t is Tag => t !== undefined && wantedCategories.has(t.category_id),
        ),
      )
    text = `tags of ${keys}: the attached tags of each of the ${count(left.length, 'candidate')} left (REST, ${count(left.length, 'call')})`
  } else {
    const wanted = new Set(left.map((c) => c.obj.value))
    for (const tag of categoryTags)
      for (const obj of await client.attachedObjects(tag.id))
        if (wanted.has(obj.value))
          attached.set(obj.value, [...(attached.get(obj.value) ?? []), tag])
    text = `tags of ${keys}: attached objects of each of their ${count(categoryTags.length, 'tag')}, fewer calls than asking each of the ${count(left.length, 'candidate')} left (REST, ${count(categoryTags.length, 'call')})`
  }
  for (const c of left)
    for (const m of tags) {
      const label = `tag '${m.key}'`
      const category = categoryIds.get(m.key)
      const names = (attached.get(c.obj.value) ?? [])
        .filter((t) => t.category_id === category)
        .map((t) => t.name)
      if (!names.length) check(c, label, false, 'no tag of this category attached')
      else if (m.re) {
        const hit = names.find((n) => m.re!.test(n))
        check(
          c,
          label,
          hit !== undefined,
          hit
            ? `tag '${hit}' matches /${m.value}/`
            : `tags ${names.map((n) => `'${n}'`).join(', ')} do not match /${m.value}/`,
        )
      } else check(c, label, true, `tagged ${names.map((n) => `'${n}'`).join(', ')}`)
    }
  return text
}

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
  for (const p of e.phases)
    lines.push(
      `  phase ${p.phase} on ${p.candidates} ${p.phase === 1 ? 'object(s)' : 'candidate(s)'}: read ${p.read.join('; ') || 'nothing'}; server: ${p.server.join('; ') || 'nothing'}; here: ${p.client.join(', ') || 'nothing'} → ${p.left} left`,
    )
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
