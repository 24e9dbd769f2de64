// vmware_esxi's lockdown_mode and vsan_config states (saltext-vmware's states/esxi.py), spread into
// vmware_esxi.ts's functions.
export const states = {}
