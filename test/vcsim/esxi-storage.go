package main

// Gaps of vcsim 0.24.2 that saltext-vmware's lockdown, vSAN and disk functions reach. Each part
// copies what the vSphere API reference documents:
//
//   - Lockdown (HostSystem.EnterLockdownMode / ExitLockdownMode, VI API 2.5): entering sets
//     config.adminDisabled (and config.lockdownMode lockdownNormal); leaving clears them.
//     Entering a host already in lockdown fails with AdminDisabled, leaving one that is not with
//     AdminNotDisabled. While the host is in lockdown, direct logins to it are refused (all users,
//     root included: "direct authentication to the ESXi host is disabled"; only vCenter manages
//     it): on the ESXi model SessionManager.Login fails with NoPermission. Sessions opened before
//     stay valid; through vCenter the host stays manageable. 0.24.2 has neither method. A host
//     vCenter is not connected to cannot be configured: HostNotConnected.
//     HostAccessManager (vSphere API 6.0), which 0.24.2 names but lacks, is the newer door to
//     the same state: ChangeLockdownMode(mode) sets lockdownMode (lockdownNormal and
//     lockdownStrict set adminDisabled, lockdownDisabled clears it), and the users given to
//     UpdateLockdownExceptions (QueryLockdownExceptions reads them) may still log in directly.
//   - Disks: 0.24.2 gives every host one shared HostStorageDeviceInfo (a CD-ROM and the boot
//     disk). Here each host gets its own: those two, plus local disks that are free (one SSD of
//     200 GB, two HDDs of 1 TB; NAA canonical names unique per host), plus one LUN per datastore
//     it mounts, with a path in multipathInfo like every LUN. The datastores the model created
//     (local directories, LocalDatastoreInfo) are reported as vSphere reports a datastore on a
//     disk: VmfsDatastoreInfo whose vmfs.extent names that LUN (summary.type VMFS).
//   - HostVsanSystem (vSphere API 5.5): 0.24.2 names one that does not exist. Each host gets
//     its own, its config the host's config.vsanHostConfig: UpdateVsan_Task sets enabled;
//     QueryDisksForVsan reports each disk eligible, inUse (claimed by vSAN) or ineligible
//     (holding VMFS or the boot partitions: DiskHasPartitions); AddDisks_Task claims the
//     eligible disks of those given into disk groups (an SSD for cache, HDDs for capacity, at
//     most 7; "any ineligible disk ... will be ignored"), InsufficientDisks when no group can be
//     formed, DuplicateDisks for a disk given twice; InitializeDisks_Task claims explicit
//     mappings and fails with DiskHasPartitions for a disk claimed or in use. Claimed disks
//     persist in config.storageInfo.diskMapping and carry vsanDiskInfo.
//
// HostSystem and SessionManager cannot be replaced in vcsim's registry (vcsim type-asserts
// them), so routeLockdown (called from main.go's extendSimulator) sends the lockdown calls, and
// logins refused by lockdown, to a managed object of esxi-storage-lockdown.go: vcsim still
// checks the session, locks the object and encodes the faults.

import (
	"sort"

	"github.com/vmware/govmomi/simulator"
)

const storageGateType = "BrineLockdownGate"

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		hosts := []*simulator.HostSystem{}
		for _, obj := range r.All("HostSystem") {
			if h, ok := obj.(*simulator.HostSystem); ok {
				hosts = append(hosts, h)
			}
		}
		sort.Slice(hosts, func(i, j int) bool { return hosts[i].Self.Value < hosts[j].Self.Value })
		luns := storageDatastoreLuns(r)
		for i, h := range hosts {
			storageGiveDisks(r, h, i, luns)
			storageGiveVsanSystem(r, h)
			lockdownGiveAccessManager(r, h)
		}
	})
}
