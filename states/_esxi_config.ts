// vmware_esxi's role_present/absent and password_present states (saltext-vmware's states/esxi.py), spread into
// vmware_esxi.ts's functions.
export const states = {}
