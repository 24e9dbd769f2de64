// saltext-vmware's state module for ESXi hosts (states/esxi.py, __virtualname__ vmware_esxi):
// the states brine has, the same definitions as vmware_host's. saltext's other esxi states
// (role_present/absent, VMkernel adapters, lockdown, NTP, firewall_config(s), password, vSAN,
// vMotion) are not in brine yet.
import { defineModule } from 'brine/loader'
import host from './vmware_host.ts'

const { maintenance_mode, advanced_configs, user_present, user_absent } = host.functions

export default defineModule({
  doc: "saltext-vmware's vmware_esxi states that brine has (vmware_host's functions).",
  vsphere: true,
  functions: { maintenance_mode, advanced_configs, user_present, user_absent },
})
