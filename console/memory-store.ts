import type { ConsoleConnection, ConsoleStore, DamagedRecord, FreePort } from './store.ts'

const keyOf = (r: { instanceUuid: string; host: string; port: number }) =>
  `${r.instanceUuid}\u0000${r.host}\u0000${r.port}`

/**
 * Console records in this process only (tests, ephemeral use): gone when the process ends.
 * Same rules as the SQLite store, with maps standing in for its indexes.
 */
export class MemoryConsoleStore implements ConsoleStore {
  readonly backend = 'memory'
  readonly location = ':memory:'
  private readonly byKey = new Map<string, ConsoleConnection>()
  private readonly byId = new Map<string, ConsoleConnection>()
  private readonly byHash = new Map<string, ConsoleConnection>()
  private readonly byInstance = new Map<string, Set<ConsoleConnection>>()

  put(record: ConsoleConnection): boolean {
    const previous = this.byKey.get(keyOf(record))
    if (previous?.connected) return false
    if (previous) this.remove(previous)
    const copy = { ...record, options: { ...record.options }, connected: false }
    this.byKey.set(keyOf(copy), copy)
    this.byId.set(copy.id, copy)
    this.byHash.set(copy.tokenHash, copy)
    const records = this.byInstance.get(copy.instanceUuid) ?? new Set<ConsoleConnection>()
    this.byInstance.set(copy.instanceUuid, records.add(copy))
    return true
  }

  findByTokenHash(hash: string): ConsoleConnection | undefined {
    return snapshot(this.byHash.get(hash))
  }

  get(id: string): ConsoleConnection | undefined {
    return snapshot(this.byId.get(id))
  }

  list(instanceUuid?: string): Array<ConsoleConnection | DamagedRecord> {
    return this.recordsOf(instanceUuid).map((r) => snapshot(r) as ConsoleConnection)
  }

  freePorts(instanceUuid: string, now: number): FreePort[] {
    return this.recordsOf(instanceUuid)
      .filter((r) => !r.connected && r.expiresAt.getTime() > now)
      .map((r) => ({ host: r.host, port: r.port }))
  }

  markConnected(id: string, now: number): boolean {
    const record = this.byId.get(id)
    if (!record || record.connected || record.expiresAt.getTime() <= now) return false
    record.connected = true
    return true
  }

  markDisconnected(id: string): void {
    const record = this.byId.get(id)
    if (record) record.connected = false
  }

  delete(id: string): boolean {
    const record = this.byId.get(id)
    if (record) this.remove(record)
    return record !== undefined
  }

  deleteExpired(now: number, limit: number): number {
    const expired = [...this.byId.values()]
      .filter((r) => r.expiresAt.getTime() <= now)
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())
      .slice(0, limit)
    for (const record of expired) this.remove(record)
    return expired.length
  }

  close(): void {}

  /** Records of one instance (from its index) or all, in key order. */
  private recordsOf(instanceUuid: string | undefined): ConsoleConnection[] {
    const records =
      instanceUuid === undefined
        ? [...this.byKey.values()]
        : [...(this.byInstance.get(instanceUuid) ?? [])]
    return records.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
  }

  private remove(record: ConsoleConnection): void {
    this.byKey.delete(keyOf(record))
    this.byId.delete(record.id)
    this.byHash.delete(record.tokenHash)
    const records = this.byInstance.get(record.instanceUuid)
    records?.delete(record)
    if (records?.size === 0) this.byInstance.delete(record.instanceUuid)
  }
}

function snapshot(record: ConsoleConnection | undefined): ConsoleConnection | undefined {
  return record && { ...record, options: { ...record.options } }
}
