import type { ConsoleConnection, ConsoleStore, DamagedRecord, FreePort } from './store.ts'

const keyOf = (r: { instanceUuid: string; host: string; port: number }) =>
  `${r.instanceUuid}\u0000${r.host}\u0000${r.port}`

/** A record as held here: with the heartbeat of its connection. */
type Held = Omit<ConsoleConnection, 'heartbeatAt'> & { beat: number }

/** A connection counts while its heartbeat is recent enough. */
const holds = (r: Held, staleBefore: number) => r.connected && r.beat >= staleBefore

/**
 * Console records in this process only (tests, ephemeral use): gone when the process ends.
 * Same rules as the SQLite store, with maps standing in for its indexes.
 */
export class MemoryConsoleStore implements ConsoleStore {
  readonly backend = 'memory'
  readonly location = ':memory:'
  private readonly byKey = new Map<string, Held>()
  private readonly byId = new Map<string, Held>()
  private readonly byHash = new Map<string, Held>()
  private readonly byInstance = new Map<string, Set<Held>>()

  async open(): Promise<void> {}

  async put(record: ConsoleConnection, staleBefore: number): Promise<boolean> {
    const previous = this.byKey.get(keyOf(record))
    if (previous && holds(previous, staleBefore)) return false
    if (previous) this.remove(previous)
    const copy: Held = {
      ...record,
      options: { ...record.options },
      connected: false,
      beat: 0,
    }
    this.byKey.set(keyOf(copy), copy)
    this.byId.set(copy.id, copy)
    this.byHash.set(copy.tokenHash, copy)
    const records = this.byInstance.get(copy.instanceUuid) ?? new Set<Held>()
    this.byInstance.set(copy.instanceUuid, records.add(copy))
    return true
  }

  async findByTokenHash(hash: string): Promise<ConsoleConnection | undefined> {
    return snapshot(this.byHash.get(hash))
  }

  async get(id: string): Promise<ConsoleConnection | undefined> {
    return snapshot(this.byId.get(id))
  }

  async list(instanceUuid?: string): Promise<Array<ConsoleConnection | DamagedRecord>> {
    return this.recordsOf(instanceUuid).map((r) => snapshot(r) as ConsoleConnection)
  }

  async freePorts(instanceUuid: string, now: number, staleBefore: number): Promise<FreePort[]> {
    return this.recordsOf(instanceUuid)
      .filter((r) => !holds(r, staleBefore) && r.expiresAt.getTime() > now)
      .map((r) => ({ host: r.host, port: r.port }))
  }

  async markConnected(id: string, now: number, staleBefore: number): Promise<boolean> {
    const record = this.byId.get(id)
    if (!record || holds(record, staleBefore) || record.expiresAt.getTime() <= now) return false
    record.connected = true
    record.beat = now
    return true
  }

  async heartbeat(id: string, now: number, previous: number): Promise<boolean> {
    const record = this.byId.get(id)
    if (!record?.connected || record.beat !== previous) return false
    record.beat = now
    return true
  }

  async markDisconnected(id: string): Promise<void> {
    const record = this.byId.get(id)
    if (record) record.connected = false
  }

  async delete(id: string): Promise<boolean> {
    const record = this.byId.get(id)
    if (record) this.remove(record)
    return record !== undefined
  }

  async deleteExpired(now: number, limit: number, staleBefore: number): Promise<number> {
    const expired = [...this.byId.values()]
      .filter((r) => r.expiresAt.getTime() <= now && !holds(r, staleBefore))
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())
      .slice(0, limit)
    for (const record of expired) this.remove(record)
    return expired.length
  }

  async close(): Promise<void> {}

  /** Records of one instance (from its index) or all, in key order. */
  private recordsOf(instanceUuid: string | undefined): Held[] {
    const records =
      instanceUuid === undefined
        ? [...this.byKey.values()]
        : [...(this.byInstance.get(instanceUuid) ?? [])]
    return records.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
  }

  private remove(record: Held): void {
    this.byKey.delete(keyOf(record))
    this.byId.delete(record.id)
    this.byHash.delete(record.tokenHash)
    const records = this.byInstance.get(record.instanceUuid)
    records?.delete(record)
    if (records?.size === 0) this.byInstance.delete(record.instanceUuid)
  }
}

function snapshot(record: Held | undefined): ConsoleConnection | undefined {
  if (!record) return undefined
  const { beat, ...rest } = record
  return { ...rest, options: { ...record.options }, heartbeatAt: new Date(beat) }
}
