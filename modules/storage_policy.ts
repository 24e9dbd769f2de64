// saltext-vmware's name for the storage-policy module (its __virtualname__ is storage_policy):
// the same definition as vmware_storage_policies, one implementation.
export { default } from './vmware_storage_policies.ts'
