// vmware_esxi's lockdown, vSAN, disks and LUNs (saltext-vmware's modules/esxi.py), spread into
// vmware_esxi.ts's functions.
export const functions = {}
