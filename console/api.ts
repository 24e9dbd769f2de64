// What reloadable modules import as `brine/console`: one instance per process (see
// loader/host-modules.ts), so every module generation shares the open stores.
export { MemoryConsoleStore } from './memory-store.ts'
export { PostgresConsoleStore } from './postgres-store.ts'
export * from './service.ts'
export { SqliteConsoleStore } from './sqlite-store.ts'
export * from './store.ts'
export { hashToken, looksLikeToken } from './tokens.ts'
