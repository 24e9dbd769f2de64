import { callVim } from './call.ts'
import { VsphereError } from './errors.ts'
import { findByInventoryPath, retrieveAll, retrieveObjectProperties } from './property-collector.ts'
import type { ServiceInstance } from './service-instance.ts'
import type { TaggingClient } from './tagging.ts'
import type { ManagedObjectReference } from './types.ts'

/**
 * The inventory query engine: "the newest template whose name starts with Centos and whose
 * dept attribute matches ST.*". A search fetches the properties its filters need for every
 * candidate in one PropertyCollector round trip and filters here (regexes allowed), after
 * narrowing the candidates on the server where the API can: `parent` becomes the container
 * view's root (SearchIndex.FindByInventoryPath), `ip` a SearchIndex.FindAllByIp lookup.
 * Every search explains itself: the criteria as understood, which ran where, and for each
 * candidate which criterion passed or failed and why.
 *
 * Adding a searchable type is one entry in SEARCHABLE: its managed object type, the
 * properties to fetch, the property that dates it (if any), the one holding its power state
 * and IP (if any), and an optional predicate that splits types sharing a managed object type
 * (VMs and templates).
 */

export interface SearchableType {
  vimType: string
  /** Properties every search of this type fetches (those `is` reads); filters add theirs. */
  props: string[]
  /** Date properties, the first present on an object wins (createDate is vSphere ≥ 6.7). */
  date?: string[]
  powerState?: string
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

export interface Explanation {
  type: string
  criteria: string[]
  server: string[]
  client: string[]
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
  const explanation: Explanation = { type, criteria: [], server: [], client: [], candidates: [] }

  // Understand the criteria first: a bad regex or date fails before any request.
  const nameRe = filters.name !== undefined ? compileRegex('name filter', filters.name) : undefined
  if (nameRe) explanation.criteria.push(`name matches /${filters.name}/`)
  const date = filters.date !== undefined ? parseDate(filters.date) : undefined
  if ((date || filters.latest || filters.earliest) && !spec.date)
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

  // Server side: narrow the candidates where the API allows.
  const { content } = await si.ready()
  let root: ManagedObjectReference | undefined
  if (filters.parent !== undefined) {
    const found = await findByInventoryPath(si, filters.parent.replace(/^\/+/, ''))
    if (!found)
      throw new QueryError(
        `parent '${filters.parent}' is not an inventory path here (e.g. DC0/vm/web)`,
        'BRINE_NOT_FOUND',
      )
    root = found
    explanation.server.push(`parent: container view rooted at ${found.type}:${found.value}`)
  }
  let ipSet: Set<string> | undefined
  if (filters.ip !== undefined && strategy !== 'client') {
    const found = asArray(
      await callVim<ManagedObjectReference[] | ManagedObjectReference | undefined>(
        si,
        `searching ${type}s by IP ${filters.ip}`,
        'FindAllByIp',
        { _this: content.searchIndex, ip: filters.ip, vmSearch: spec.vimType === 'VirtualMachine' },
        { signal: options.signal },
      ),
    )
    ipSet = new Set(found.map((r) => r.value))
    explanation.server.push(`ip: SearchIndex.FindAllByIp → ${found.length} object(s)`)
  }
  if (strategy === 'server') {
    const clientOnly = [
      nameRe && 'name (regex)',
      date && 'date',
      (filters.latest || filters.earliest) && 'latest/earliest',
      filters.power_state !== undefined && 'power_state',
      meta.length > 0 && 'metadata',
    ].filter(Boolean)
    if (clientOnly.length)
      throw new QueryError(
        `strategy=server cannot run ${clientOnly.join(', ')}: the vSphere API filters only parent and ip on the server; use strategy=auto`,
        'BRINE_ARGUMENT',
      )
  }

  const attrs = meta.filter((m) => m.type === 'attribute')
  const tags = meta.filter((m) => m.type === 'tag')
  // Only what the filters need, plus what tells the type apart (VMs from templates).
  const props = [
    ...new Set([
      ...spec.props,
      ...(date || filters.latest || filters.earliest ? (spec.date ?? []) : []),
      ...(filters.power_state !== undefined && spec.powerState ? [spec.powerState] : []),
      ...(filters.ip !== undefined && !ipSet && spec.ip ? [spec.ip] : []),
      ...(attrs.length ? ['customValue'] : []),
    ]),
  ]
  const objects = await retrieveAll(si, spec.vimType, ['name', ...props], {
    root,
    signal: options.signal,
  })
  explanation.server.push(
    `one PropertyCollector retrieval of ${spec.vimType} (${['name', ...props].join(', ')}): ${objects.length} object(s)`,
  )

  // Metadata lookups: attribute definitions, and the objects carrying each tag.
  let fields = new Map<number, { name: string; global: boolean }>()
  if (attrs.length) {
    if (!content.customFieldsManager)
      throw new QueryError(
        'attribute filters need vCenter (no CustomFieldsManager here)',
        'BRINE_UNSUPPORTED',
      )
    const defs = asArray(
      (
        await retrieveObjectProperties(si, content.customFieldsManager, ['field'], {
          signal: options.signal,
        })
      ).field as Array<{ key: number; name: string; managedObjectType?: string }> | undefined,
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
  const tagged = new Map<string, Map<string, string[]>>() // category → object id → tag names
  if (tags.length) {
    if (!options.tagging)
      throw new QueryError('tag filters need the tagging service', 'BRINE_UNSUPPORTED')
    const client = await options.tagging()
    const categories = await client.listCategories()
    const allTags = await client.listTags()
    for (const t of tags) {
      const category = categories.find((c) => c.name === t.key)
      if (!category)
        throw new QueryError(`tag category '${t.key}' does not exist`, 'BRINE_NOT_FOUND')
      const byObject = new Map<string, string[]>()
      for (const tag of allTags.filter((x) => x.category_id === category.id))
        for (const obj of await client.attachedObjects(tag.id))
          byObject.set(obj.value, [...(byObject.get(obj.value) ?? []), tag.name])
      tagged.set(t.key, byObject)
    }
    explanation.server.push(
      `tags: attached objects of ${tags.map((t) => `'${t.key}'`).join(', ')} (REST)`,
    )
  }

  const clientCriteria = [
    nameRe && 'name',
    date && 'date',
    filters.power_state !== undefined && 'power_state',
    filters.ip !== undefined && strategy === 'client' && 'ip',
    meta.length > 0 && 'metadata',
    (filters.latest || filters.earliest) && (filters.latest ? 'latest' : 'earliest'),
  ].filter(Boolean) as string[]
  explanation.client.push(...clientCriteria)

  const matched: Array<SearchItem & { when?: Date }> = []
  for (const o of objects) {
    if (spec.is && !spec.is(o.props)) continue
    const name = String(o.props.name)
    const checks: Check[] = []
    const check = (criterion: string, ok: boolean, why: string) =>
      checks.push({ criterion, ok, why })
    if (nameRe)
      check(
        'name',
        nameRe.test(name),
        `'${name}' ${nameRe.test(name) ? 'matches' : 'does not match'} /${filters.name}/`,
      )
    const dated = spec.date ? dateOf(spec, o.props) : undefined
    if (date) {
      if (!dated) check('date', false, `no ${spec.date!.join(' or ')}`)
      else {
        const ok = compare(dated.when.getTime(), date.op, date.when.getTime())
        check(
          'date',
          ok,
          `${dated.prop} ${dated.when.toISOString()} ${ok ? 'is' : 'is not'} ${date.op} ${date.when.toISOString()}`,
        )
      }
    }
    if (filters.power_state !== undefined) {
      const state = String(o.props[spec.powerState!] ?? '')
      check('power_state', state === filters.power_state, `power state is ${state || 'unknown'}`)
    }
    if (filters.ip !== undefined) {
      if (ipSet)
        check(
          'ip',
          ipSet.has(o.obj.value),
          ipSet.has(o.obj.value) ? `found by IP ${filters.ip}` : `not found by IP ${filters.ip}`,
        )
      else {
        const ip = String(o.props[spec.ip!] ?? '')
        check('ip', ip === filters.ip, `IP address is ${ip || 'unknown'}`)
      }
    }
    for (const m of meta) {
      const label = `${m.type} '${m.key}'`
      if (m.type === 'attribute') {
        const values = asArray(
          o.props.customValue as Array<{ key: number; value?: string }> | undefined,
        )
        const entry = values.find((v) => fields.get(Number(v.key))?.name === m.key)
        const def = entry ? fields.get(Number(entry.key)) : undefined
        if (!entry) check(label, false, 'not set')
        else if (m.global !== undefined && def?.global !== m.global)
          check(
            label,
            false,
            def?.global ? 'is a global attribute' : `is an attribute for ${spec.vimType}`,
          )
        else if (m.re)
          check(
            label,
            m.re.test(entry.value ?? ''),
            `value '${entry.value ?? ''}' ${m.re.test(entry.value ?? '') ? 'matches' : 'does not match'} /${m.value}/`,
          )
        else check(label, true, `set to '${entry.value ?? ''}'`)
      } else {
        const names = tagged.get(m.key)?.get(o.obj.value) ?? []
        if (!names.length) check(label, false, 'no tag of this category attached')
        else if (m.re) {
          const hit = names.find((n) => m.re!.test(n))
          check(
            label,
            hit !== undefined,
            hit
              ? `tag '${hit}' matches /${m.value}/`
              : `tags ${names.map((n) => `'${n}'`).join(', ')} do not match /${m.value}/`,
          )
        } else check(label, true, `tagged ${names.map((n) => `'${n}'`).join(', ')}`)
      }
    }
    const ok = checks.every((c) => c.ok)
    explanation.candidates.push({ name, id: o.obj.value, matched: ok, checks })
    if (ok)
      matched.push({
        name,
        id: o.obj.value,
        type,
        props: usedProps(o.props, spec, dated),
        ...(dated ? { when: dated.when } : {}),
      })
  }

  let items: Array<SearchItem & { when?: Date }> = matched.sort((a, b) =>
    a.name.localeCompare(b.name),
  )
  if ((filters.latest || filters.earliest) && items.length) {
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
