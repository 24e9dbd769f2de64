// vmware_esxi's services, acceptance level, DNS/NTP/date-time and firewall writes (saltext-vmware's modules/esxi.py), spread into
// vmware_esxi.ts's functions.
export const functions = {}
