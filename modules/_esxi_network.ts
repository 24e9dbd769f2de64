// vmware_esxi's VMkernel adapters and vMotion (saltext-vmware's modules/esxi.py), spread into
// vmware_esxi.ts's functions.
export const functions = {}
