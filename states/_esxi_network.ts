// vmware_esxi's vmkernel_adapter_present/absent and vmotion_configured states (saltext-vmware's states/esxi.py), spread into
// vmware_esxi.ts's functions.
export const states = {}
