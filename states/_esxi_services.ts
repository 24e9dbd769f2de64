// vmware_esxi's ntp_config, firewall_config and firewall_configs states (saltext-vmware's states/esxi.py), spread into
// vmware_esxi.ts's functions.
export const states = {}
