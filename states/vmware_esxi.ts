// saltext-vmware's state module for ESXi hosts (states/esxi.py, __virtualname__ vmware_esxi).
// maintenance_mode, advanced_configs and user_present/absent are vmware_host's definitions;
// the others live by area in the _esxi_*.ts files beside this one (the same areas as
// modules/_esxi_*.ts) and are spread in here.
import { defineModule } from 'brine/loader'
import { states as configStates } from './_esxi_config.ts'
import { states as networkStates } from './_esxi_network.ts'
import { states as servicesStates } from './_esxi_services.ts'
import { states as storageStates } from './_esxi_storage.ts'
import host from './vmware_host.ts'

const { maintenance_mode, advanced_configs, user_present, user_absent } = host.functions

export default defineModule({
  doc: "saltext-vmware's vmware_esxi states.",
  vsphere: true,
  functions: {
    maintenance_mode,
    advanced_configs,
    user_present,
    user_absent,
    ...servicesStates,
    ...networkStates,
    ...storageStates,
    ...configStates,
  },
})
