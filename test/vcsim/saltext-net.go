package main

import (
	"bytes"
	"net/http"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// fillHostFacts fills two gaps `vmware_esxi.get` meets. 0.24.2 gives its hosts no
// `capability` (nil), which vSphere always reports (HostCapability, API 2.5+): a host read that
// names `capability` first gives every host without one the capabilities an ESXi 6.5 host
// reports. And each host's configManager.vsanSystem names a HostVsanSystem that does not exist
// (ManagedObjectNotFound): QueryHostStatus is answered as vSphere answers it for a host that
// is not in a vSAN cluster (health "unknown", node state "disabled", no cluster or node UUID).
// True when the request was answered here.
func fillHostFacts(w http.ResponseWriter, body []byte) bool {
	if bytes.Contains(body, []byte("<QueryHostStatus")) {
		writeResponse(w, "QueryHostStatusResponse",
			`<returnval xsi:type="VsanHostClusterStatus"><health>unknown</health><nodeState><state>disabled</state></nodeState></returnval>`)
		return true
	}
	if bytes.Contains(body, []byte("<RetrievePropertiesEx")) && bytes.Contains(body, []byte("capability")) {
		for _, obj := range simulator.Map.All("HostSystem") {
			host, ok := obj.(*simulator.HostSystem)
			if !ok {
				continue
			}
			simulator.Map.WithLock(host, func() {
				if host.Capability == nil {
					host.Capability = esxiCapability()
				}
			})
		}
	}
	return false
}

// esxiCapability is what an ESXi 6.5 host reports as its HostCapability (a subset).
func esxiCapability() *types.HostCapability {
	yes := types.NewBool(true)
	no := types.NewBool(false)
	return &types.HostCapability{
		RecursiveResourcePoolsSupported:         true,
		CpuMemoryResourceConfigurationSupported: true,
		RebootSupported:                         true,
		ShutdownSupported:                       true,
		VmotionSupported:                        true,
		StandbySupported:                        true,
		IpmiSupported:                           yes,
		MaxSupportedVMs:                         0,
		MaxRunningVMs:                           0,
		MaxSupportedVcpus:                       0,
		MaxRegisteredVMs:                        1024,
		DatastorePrincipalSupported:             false,
		SanSupported:                            true,
		NfsSupported:                            true,
		IscsiSupported:                          true,
		VlanTaggingSupported:                    true,
		NicTeamingSupported:                     true,
		HighGuestMemSupported:                   true,
		MaintenanceModeSupported:                true,
		SuspendedRelocateSupported:              true,
		RestrictedSnapshotRelocateSupported:     true,
		PerVmSwapFiles:                          true,
		LocalSwapDatastoreSupported:             true,
		UnsharedSwapVMotionSupported:            true,
		BackgroundSnapshotsSupported:            false,
		PreAssignedPCIUnitNumbersSupported:      true,
		ScreenshotSupported:                     true,
		ScaledScreenshotSupported:               true,
		StorageVMotionSupported:                 yes,
		VmotionWithStorageVMotionSupported:      yes,
		VmotionAcrossNetworkSupported:           yes,
		MaxNumDisksSVMotion:                     248,
		HbrNicSelectionSupported:                yes,
		VrNfcNicSelectionSupported:              yes,
		RecordReplaySupported:                   no,
		FtSupported:                             no,
		ReplayCompatibilityIssues:               []string{"product"},
		FtCompatibilityIssues:                   []string{"haAgentIssue"},
		MaxVcpusPerFtVm:                         4,
		LoginBySSLThumbprintSupported:           yes,
		CloneFromSnapshotSupported:              yes,
		DeltaDiskBackingsSupported:              yes,
		PerVMNetworkTrafficShapingSupported:     no,
		TpmSupported:                            no,
		VirtualExecUsageSupported:               yes,
		StorageIORMSupported:                    yes,
		VmDirectPathGen2Supported:               no,
		SupportedVmfsMajorVersion:               []int32{5, 6},
		VStorageCapable:                         yes,
		SnapshotRelayoutSupported:               yes,
		FirewallIpRulesSupported:                yes,
		ServicePackageInfoSupported:             yes,
		MaxHostRunningVms:                       1024,
		MaxHostSupportedVcpus:                   4096,
		VmfsDatastoreMountCapable:               yes,
		NestedHVSupported:                       yes,
		VPMCSupported:                           yes,
		VsanSupported:                           yes,
		VFlashSupported:                         yes,
		Nfs41Supported:                          yes,
		VirtualVolumeDatastoreSupported:         yes,
		MarkAsSsdSupported:                      yes,
		MarkAsLocalSupported:                    yes,
	}
}
