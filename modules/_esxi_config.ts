// vmware_esxi's configuration backup/restore/reset, packages, power state, add/move hosts (saltext-vmware's modules/esxi.py), spread into
// vmware_esxi.ts's functions.
export const functions = {}
