// saltext-vmware's name for the storage-policy state module (states/storage_policies.py,
// __virtualname__ storage_policy): the same definition as vmware_storage_policies.
export { default } from './vmware_storage_policies.ts'
