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
// logins refused by lockdown, to a managed object of this file: vcsim still checks the session,
// locks the object and encodes the faults.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
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

// ---- disks ----

type storageLun struct {
	canonical string
	gb        int64
}

// storageDatastoreLuns turns each datastore the model created into a VMFS volume on a LUN of
// its own (datastore moref value → LUN).
func storageDatastoreLuns(r *simulator.Registry) map[string]storageLun {
	out := map[string]storageLun{}
	var stores []*simulator.Datastore
	for _, obj := range r.All("Datastore") {
		if ds, ok := obj.(*simulator.Datastore); ok {
			stores = append(stores, ds)
		}
	}
	sort.Slice(stores, func(i, j int) bool { return stores[i].Self.Value < stores[j].Self.Value })
	for i, ds := range stores {
		local, ok := ds.Info.(*types.LocalDatastoreInfo)
		if !ok {
			continue
		}
		lun := storageLun{canonical: fmt.Sprintf("naa.6000c29%019x%06x", 0, i+1), gb: 500}
		capacity := ds.Summary.Capacity
		if capacity == 0 {
			capacity = lun.gb << 30
		}
		ds.Info = &types.VmfsDatastoreInfo{
			DatastoreInfo: local.DatastoreInfo,
			Vmfs: &types.HostVmfsVolume{
				HostFileSystemVolume: types.HostFileSystemVolume{Type: "VMFS", Name: ds.Name, Capacity: capacity},
				BlockSizeMb:          1,
				MaxBlocks:            63963136,
				MajorVersion:         6,
				Version:              "6.82",
				Uuid:                 fmt.Sprintf("5f1e0c3a-%08x-0000-000c29000000", i+1),
				Extent:               []types.HostScsiDiskPartition{{DiskName: lun.canonical, Partition: 1}},
			},
		}
		ds.Summary.Type = "VMFS"
		out[ds.Self.Value] = lun
	}
	return out
}

func storageDisk(canonical, path string, gb int64, ssd, local bool) (*types.HostScsiDisk, types.HostMultipathInfoLogicalUnit) {
	uuid := strings.TrimPrefix(canonical, "naa.")
	key := "key-vim.host.ScsiDisk-" + uuid
	kind := "HDD"
	if ssd {
		kind = "SSD"
	}
	disk := &types.HostScsiDisk{
		ScsiLun: types.ScsiLun{
			HostDevice:       types.HostDevice{DeviceName: "/vmfs/devices/disks/" + canonical, DeviceType: "disk"},
			Key:              key,
			Uuid:             uuid,
			Descriptor:       []types.ScsiLunDescriptor{{Quality: "highQuality", Id: canonical}},
			CanonicalName:    canonical,
			DisplayName:      fmt.Sprintf("Local %s Disk (%s)", kind, canonical),
			LunType:          "disk",
			Vendor:           "ATA",
			Model:            "vcsim " + kind,
			Revision:         "1.0",
			ScsiLevel:        6,
			SerialNumber:     uuid,
			OperationalState: []string{"ok"},
			VStorageSupport:  "vStorageUnsupported",
		},
		Capacity:   types.HostDiskDimensionsLba{BlockSize: 512, Block: gb << 21},
		DevicePath: "/vmfs/devices/disks/" + canonical,
		Ssd:        types.NewBool(ssd),
		LocalDisk:  types.NewBool(local),
	}
	unit := types.HostMultipathInfoLogicalUnit{
		Key: "key-vim.host.MultipathInfo.LogicalUnit-" + uuid,
		Id:  uuid,
		Lun: key,
		Path: []types.HostMultipathInfoPath{{
			Key:           "key-vim.host.MultipathInfo.Path-" + path,
			Name:          path,
			PathState:     "active",
			State:         "active",
			IsWorkingPath: types.NewBool(true),
			Adapter:       "key-vim.host.ParallelScsiHba-vmhba0",
			Lun:           "key-vim.host.MultipathInfo.LogicalUnit-" + uuid,
			Transport:     &types.HostParallelScsiTargetTransport{},
		}},
		Policy: &types.HostMultipathInfoFixedLogicalUnitPolicy{
			HostMultipathInfoLogicalUnitPolicy: types.HostMultipathInfoLogicalUnitPolicy{Policy: "VMW_PSP_FIXED"},
			Prefer:                             path,
		},
	}
	return disk, unit
}

// storageGiveDisks gives host number n its own device list: the template's LUNs, its free local
// disks and a LUN per VMFS datastore it mounts.
func storageGiveDisks(r *simulator.Registry, h *simulator.HostSystem, n int, luns map[string]storageLun) {
	if h.ConfigManager.StorageSystem == nil {
		return
	}
	var system *mo.HostStorageSystem
	switch s := r.Get(*h.ConfigManager.StorageSystem).(type) {
	case *simulator.HostStorageSystem:
		system = &s.HostStorageSystem
	case *partitionedStorageSystem:
		system = &s.HostStorageSystem.HostStorageSystem
	default:
		return
	}
	template := system.StorageDeviceInfo
	if template == nil {
		return
	}
	info := *template
	info.ScsiLun = append([]types.BaseScsiLun(nil), template.ScsiLun...)
	multipath := types.HostMultipathInfo{}
	if template.MultipathInfo != nil {
		multipath.Lun = append(multipath.Lun, template.MultipathInfo.Lun...)
	}
	add := func(canonical, path string, gb int64, ssd, local bool) {
		disk, unit := storageDisk(canonical, path, gb, ssd, local)
		info.ScsiLun = append(info.ScsiLun, disk)
		multipath.Lun = append(multipath.Lun, unit)
	}
	add(fmt.Sprintf("naa.5000c5%04x%06x", n+1, 1), "vmhba0:C0:T1:L0", 200, true, true)
	add(fmt.Sprintf("naa.5000c5%04x%06x", n+1, 2), "vmhba0:C0:T2:L0", 1024, false, true)
	add(fmt.Sprintf("naa.5000c5%04x%06x", n+1, 3), "vmhba0:C0:T3:L0", 1024, false, true)
	for i, ds := range h.Datastore {
		if lun, ok := luns[ds.Value]; ok {
			add(lun.canonical, fmt.Sprintf("vmhba0:C0:T%d:L%d", 10+i, i+1), lun.gb, false, false)
		}
	}
	info.MultipathInfo = &multipath
	system.StorageDeviceInfo = &info
	if h.Config != nil {
		h.Config.StorageDevice = &info
	}
}

// storageHostDisks is the host's HostScsiDisks, from its own device list.
func storageHostDisks(h *simulator.HostSystem) []*types.HostScsiDisk {
	var out []*types.HostScsiDisk
	if h.Config == nil || h.Config.StorageDevice == nil {
		return out
	}
	for _, lun := range h.Config.StorageDevice.ScsiLun {
		if disk, ok := lun.(*types.HostScsiDisk); ok {
			out = append(out, disk)
		}
	}
	return out
}

// storageVmfsDisks: the canonical names of the disks holding a VMFS volume the host mounts.
func storageVmfsDisks(h *simulator.HostSystem) map[string]bool {
	out := map[string]bool{}
	for _, ref := range h.Datastore {
		ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
		if !ok {
			continue
		}
		if info, ok := ds.Info.(*types.VmfsDatastoreInfo); ok && info.Vmfs != nil {
			for _, e := range info.Vmfs.Extent {
				out[e.DiskName] = true
			}
		}
	}
	return out
}

// ---- vSAN ----

type vsanHostSystem struct {
	mo.HostVsanSystem
	host types.ManagedObjectReference
}

func storageGiveVsanSystem(r *simulator.Registry, h *simulator.HostSystem) {
	if h.Config == nil {
		return
	}
	if h.Config.VsanHostConfig == nil {
		h.Config.VsanHostConfig = &types.VsanHostConfigInfo{Enabled: types.NewBool(false)}
	}
	cfg := h.Config.VsanHostConfig
	self := h.Self
	cfg.HostSystem = &self
	if cfg.StorageInfo == nil {
		cfg.StorageInfo = &types.VsanHostConfigInfoStorageInfo{AutoClaimStorage: types.NewBool(false)}
	}
	s := &vsanHostSystem{host: h.Self}
	s.Self = types.ManagedObjectReference{Type: "HostVsanSystem", Value: "vsanSystem-" + h.Self.Value}
	s.Config = *cfg
	r.Put(s)
	ref := s.Self
	h.ConfigManager.VsanSystem = &ref
}

// taskEntity: vSphere's vSAN tasks run on the host (a task's entity is a managed entity).
func (s *vsanHostSystem) taskEntity() mo.Reference {
	if h := s.hostSystem(); h != nil {
		return h
	}
	return s
}

func (s *vsanHostSystem) hostSystem() *simulator.HostSystem {
	h, _ := simulator.Map.Get(s.host).(*simulator.HostSystem)
	return h
}

// withHost runs fn on the host's vSAN config under the host's lock, then mirrors it into this
// object's config and tells property collectors about the change.
func (s *vsanHostSystem) withHost(fn func(h *simulator.HostSystem, cfg *types.VsanHostConfigInfo)) {
	h := s.hostSystem()
	if h == nil {
		return
	}
	simulator.Map.WithLock(h, func() { fn(h, h.Config.VsanHostConfig) })
	s.Config = *h.Config.VsanHostConfig
	simulator.Map.Update(h, []types.PropertyChange{{Name: "config.vsanHostConfig", Val: *h.Config.VsanHostConfig}})
}

func (s *vsanHostSystem) UpdateVsanTask(req *types.UpdateVsan_Task) soap.HasFault {
	task := simulator.CreateTask(s.taskEntity(), "updateVsan", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		s.withHost(func(_ *simulator.HostSystem, cfg *types.VsanHostConfigInfo) {
			if req.Config.Enabled != nil {
				cfg.Enabled = types.NewBool(*req.Config.Enabled)
			}
			if req.Config.StorageInfo != nil && req.Config.StorageInfo.AutoClaimStorage != nil {
				cfg.StorageInfo.AutoClaimStorage = types.NewBool(*req.Config.StorageInfo.AutoClaimStorage)
			}
		})
		return nil, nil
	})
	return &methods.UpdateVsan_TaskBody{Res: &types.UpdateVsan_TaskResponse{Returnval: task.Run()}}
}

// claimed: canonical name → vSAN uuid of every disk in a disk group.
func vsanClaimed(cfg *types.VsanHostConfigInfo) map[string]string {
	out := map[string]string{}
	if cfg.StorageInfo == nil {
		return out
	}
	for _, m := range cfg.StorageInfo.DiskMapping {
		out[m.Ssd.CanonicalName] = vsanUuid(m.Ssd.CanonicalName)
		for _, d := range m.NonSsd {
			out[d.CanonicalName] = vsanUuid(d.CanonicalName)
		}
	}
	return out
}

func vsanUuid(canonical string) string {
	id := strings.TrimPrefix(canonical, "naa.")
	for len(id) < 32 {
		id = "0" + id
	}
	id = id[len(id)-32:]
	return fmt.Sprintf("%s-%s-%s-%s-%s", id[0:8], id[8:12], id[12:16], id[16:20], id[20:32])
}

// vsanIneligible is why a disk cannot be claimed, or nil: it holds partitions (VMFS, or the
// boot disk's) or is not local.
func vsanIneligible(h *simulator.HostSystem, disk *types.HostScsiDisk, vmfs map[string]bool) types.BaseMethodFault {
	if vmfs[disk.CanonicalName] || strings.HasPrefix(disk.CanonicalName, "mpx.") {
		return &types.DiskHasPartitions{VsanDiskFault: types.VsanDiskFault{Device: disk.CanonicalName}}
	}
	if disk.LocalDisk != nil && !*disk.LocalDisk {
		return &types.DiskIsNonLocal{VsanDiskFault: types.VsanDiskFault{Device: disk.CanonicalName}}
	}
	return nil
}

func (s *vsanHostSystem) QueryDisksForVsan(req *types.QueryDisksForVsan) soap.HasFault {
	body := &methods.QueryDisksForVsanBody{Res: new(types.QueryDisksForVsanResponse)}
	h := s.hostSystem()
	if h == nil {
		return body
	}
	want := map[string]bool{}
	for _, name := range req.CanonicalName {
		want[name] = true
	}
	simulator.Map.WithLock(h, func() {
		claimed := vsanClaimed(h.Config.VsanHostConfig)
		vmfs := storageVmfsDisks(h)
		for _, disk := range storageHostDisks(h) {
			if len(want) > 0 && !want[disk.CanonicalName] {
				continue
			}
			result := types.VsanHostDiskResult{Disk: *disk, State: "eligible", Degraded: types.NewBool(false)}
			if uuid, ok := claimed[disk.CanonicalName]; ok {
				result.State, result.VsanUuid = "inUse", uuid
			} else if fault := vsanIneligible(h, disk, vmfs); fault != nil {
				result.State = "ineligible"
				result.Error = &types.LocalizedMethodFault{Fault: fault, LocalizedMessage: fmt.Sprintf("%T", fault)}
			}
			body.Res.Returnval = append(body.Res.Returnval, result)
		}
	})
	return body
}

// vsanClaim records the mappings in the host's config and marks their disks as vSAN's.
func vsanClaim(h *simulator.HostSystem, cfg *types.VsanHostConfigInfo, mappings []types.VsanHostDiskMapping) []types.VsanHostDiskMapResult {
	var results []types.VsanHostDiskMapResult
	for _, m := range mappings {
		result := types.VsanHostDiskMapResult{Mapping: m}
		for _, d := range append([]types.HostScsiDisk{m.Ssd}, m.NonSsd...) {
			uuid := vsanUuid(d.CanonicalName)
			for _, disk := range storageHostDisks(h) {
				if disk.CanonicalName == d.CanonicalName {
					disk.VsanDiskInfo = &types.VsanHostVsanDiskInfo{VsanUuid: uuid, FormatVersion: 5}
					d = *disk
				}
			}
			result.DiskResult = append(result.DiskResult, types.VsanHostDiskResult{Disk: d, State: "inUse", VsanUuid: uuid, Degraded: types.NewBool(false)})
		}
		// An SSD already caching a group takes the new capacity disks into that group.
		merged := false
		for i := range cfg.StorageInfo.DiskMapping {
			if cfg.StorageInfo.DiskMapping[i].Ssd.CanonicalName == m.Ssd.CanonicalName {
				cfg.StorageInfo.DiskMapping[i].NonSsd = append(cfg.StorageInfo.DiskMapping[i].NonSsd, m.NonSsd...)
				merged = true
			}
		}
		if !merged {
			cfg.StorageInfo.DiskMapping = append(cfg.StorageInfo.DiskMapping, m)
		}
		results = append(results, result)
	}
	return results
}

// vsanDisksOf resolves the disks given by canonical name against the host's own, refusing
// duplicates.
func vsanDisksOf(h *simulator.HostSystem, given []types.HostScsiDisk) ([]*types.HostScsiDisk, types.BaseMethodFault) {
	seen := map[string]bool{}
	var out []*types.HostScsiDisk
	for _, g := range given {
		if seen[g.CanonicalName] {
			return nil, &types.DuplicateDisks{VsanDiskFault: types.VsanDiskFault{Device: g.CanonicalName}}
		}
		seen[g.CanonicalName] = true
		found := false
		for _, disk := range storageHostDisks(h) {
			if disk.CanonicalName == g.CanonicalName {
				out, found = append(out, disk), true
			}
		}
		if !found {
			return nil, &types.NotFound{}
		}
	}
	return out, nil
}

const vsanMaxCapacityDisks = 7

func (s *vsanHostSystem) AddDisksTask(req *types.AddDisks_Task) soap.HasFault {
	task := simulator.CreateTask(s.taskEntity(), "addDisks", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		var fault types.BaseMethodFault
		var results []types.VsanHostDiskMapResult
		s.withHost(func(h *simulator.HostSystem, cfg *types.VsanHostConfigInfo) {
			disks, err := vsanDisksOf(h, req.Disk)
			if err != nil {
				fault = err
				return
			}
			claimed := vsanClaimed(cfg)
			vmfs := storageVmfsDisks(h)
			var ssds, hdds []types.HostScsiDisk
			for _, d := range disks {
				if _, ok := claimed[d.CanonicalName]; ok || vsanIneligible(h, d, vmfs) != nil {
					continue // ignored, as the reference says
				}
				if d.Ssd != nil && *d.Ssd {
					ssds = append(ssds, *d)
				} else {
					hdds = append(hdds, *d)
				}
			}
			var mappings []types.VsanHostDiskMapping
			switch {
			case len(ssds) > 0 && len(hdds) > 0: // hybrid groups: one SSD each, HDDs shared out
				for i, ssd := range ssds {
					m := types.VsanHostDiskMapping{Ssd: ssd}
					for j := i; j < len(hdds) && len(m.NonSsd) < vsanMaxCapacityDisks; j += len(ssds) {
						m.NonSsd = append(m.NonSsd, hdds[j])
					}
					if len(m.NonSsd) > 0 {
						mappings = append(mappings, m)
					}
				}
			case len(ssds) > 1: // all flash: the first SSD caches, the others hold capacity
				m := types.VsanHostDiskMapping{Ssd: ssds[0], NonSsd: ssds[1:]}
				mappings = append(mappings, m)
			case len(hdds) > 0 && len(cfg.StorageInfo.DiskMapping) > 0: // capacity for a group there
				group := cfg.StorageInfo.DiskMapping[0]
				room := vsanMaxCapacityDisks - len(group.NonSsd)
				if room > len(hdds) {
					room = len(hdds)
				}
				if room > 0 {
					mappings = append(mappings, types.VsanHostDiskMapping{Ssd: group.Ssd, NonSsd: hdds[:room]})
				}
			}
			if len(mappings) == 0 {
				device := ""
				if len(req.Disk) > 0 {
					device = req.Disk[0].CanonicalName
				}
				fault = &types.InsufficientDisks{VsanDiskFault: types.VsanDiskFault{Device: device}}
				return
			}
			results = vsanClaim(h, cfg, mappings)
		})
		if fault != nil {
			return nil, fault
		}
		return results, nil
	})
	return &methods.AddDisks_TaskBody{Res: &types.AddDisks_TaskResponse{Returnval: task.Run()}}
}

func (s *vsanHostSystem) InitializeDisksTask(req *types.InitializeDisks_Task) soap.HasFault {
	task := simulator.CreateTask(s.taskEntity(), "initializeDisks", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		var fault types.BaseMethodFault
		var results []types.VsanHostDiskMapResult
		s.withHost(func(h *simulator.HostSystem, cfg *types.VsanHostConfigInfo) {
			claimed := vsanClaimed(cfg)
			vmfs := storageVmfsDisks(h)
			var mappings []types.VsanHostDiskMapping
			for _, m := range req.Mapping {
				if len(m.NonSsd) == 0 {
					fault = &types.InsufficientDisks{VsanDiskFault: types.VsanDiskFault{Device: m.Ssd.CanonicalName}}
					return
				}
				disks, err := vsanDisksOf(h, append([]types.HostScsiDisk{m.Ssd}, m.NonSsd...))
				if err != nil {
					fault = err
					return
				}
				for _, d := range disks {
					if _, ok := claimed[d.CanonicalName]; ok {
						fault = &types.DiskHasPartitions{VsanDiskFault: types.VsanDiskFault{Device: d.CanonicalName}}
						return
					}
					if err := vsanIneligible(h, d, vmfs); err != nil {
						fault = err
						return
					}
				}
				if disks[0].Ssd == nil || !*disks[0].Ssd {
					fault = &types.VsanIncompatibleDiskMapping{VsanDiskFault: types.VsanDiskFault{Device: disks[0].CanonicalName}}
					return
				}
				mapping := types.VsanHostDiskMapping{Ssd: *disks[0]}
				for _, d := range disks[1:] {
					mapping.NonSsd = append(mapping.NonSsd, *d)
				}
				mappings = append(mappings, mapping)
			}
			results = vsanClaim(h, cfg, mappings)
		})
		if fault != nil {
			return nil, fault
		}
		return results, nil
	})
	return &methods.InitializeDisks_TaskBody{Res: &types.InitializeDisks_TaskResponse{Returnval: task.Run()}}
}

// ---- lockdown ----

// lockdownGate answers, for the host (or session manager) whose moref value it carries, the
// calls routeLockdown sends it.
type lockdownGate struct {
	mo.HostVsanSystem // any mo type with Self: the gate is never read as properties
}

func (g *lockdownGate) target() *simulator.HostSystem {
	h, _ := simulator.Map.Get(types.ManagedObjectReference{Type: "HostSystem", Value: g.Self.Value}).(*simulator.HostSystem)
	return h
}

// lockdownAccessManager is a host's HostAccessManager: its lockdownMode mirrors the host's
// config.lockdownMode; exceptions are the users still allowed to log in directly.
type lockdownAccessManager struct {
	mo.HostAccessManager
	host       types.ManagedObjectReference
	exceptions []string
}

func lockdownGiveAccessManager(r *simulator.Registry, h *simulator.HostSystem) {
	m := &lockdownAccessManager{host: h.Self}
	m.Self = types.ManagedObjectReference{Type: "HostAccessManager", Value: "hostAccessManager-" + h.Self.Value}
	m.LockdownMode = types.HostLockdownModeLockdownDisabled
	if h.Config != nil && h.Config.LockdownMode != "" {
		m.LockdownMode = h.Config.LockdownMode
	}
	r.Put(m)
	ref := m.Self
	h.ConfigManager.HostAccessManager = &ref
}

func lockdownAccessManagerOf(h *simulator.HostSystem) *lockdownAccessManager {
	if h.ConfigManager.HostAccessManager == nil {
		return nil
	}
	m, _ := simulator.Map.Get(*h.ConfigManager.HostAccessManager).(*lockdownAccessManager)
	return m
}

func (m *lockdownAccessManager) ChangeLockdownMode(req *types.ChangeLockdownMode) soap.HasFault {
	body := new(methods.ChangeLockdownModeBody)
	h, _ := simulator.Map.Get(m.host).(*simulator.HostSystem)
	switch req.Mode {
	case types.HostLockdownModeLockdownDisabled, types.HostLockdownModeLockdownNormal, types.HostLockdownModeLockdownStrict:
	default:
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "mode"})
		return body
	}
	m.LockdownMode = req.Mode // vcsim holds this object's lock during the call
	if h != nil {
		lockdownSetMode(h, req.Mode, false)
	}
	body.Res = new(types.ChangeLockdownModeResponse)
	return body
}

func (m *lockdownAccessManager) QueryLockdownExceptions(req *types.QueryLockdownExceptions) soap.HasFault {
	return &methods.QueryLockdownExceptionsBody{
		Res: &types.QueryLockdownExceptionsResponse{Returnval: append([]string(nil), m.exceptions...)},
	}
}

func (m *lockdownAccessManager) UpdateLockdownExceptions(req *types.UpdateLockdownExceptions) soap.HasFault {
	m.exceptions = append([]string(nil), req.Users...)
	return &methods.UpdateLockdownExceptionsBody{Res: new(types.UpdateLockdownExceptionsResponse)}
}

func lockdownSet(h *simulator.HostSystem, on bool) {
	mode := types.HostLockdownModeLockdownDisabled
	if on {
		mode = types.HostLockdownModeLockdownNormal
	}
	lockdownSetMode(h, mode, true)
}

// lockdownSetMode sets the host's lockdown state (and its access manager's, with mirror).
func lockdownSetMode(h *simulator.HostSystem, mode types.HostLockdownMode, mirror bool) {
	on := mode != types.HostLockdownModeLockdownDisabled
	if m := lockdownAccessManagerOf(h); m != nil && mirror {
		simulator.Map.WithLock(m, func() { m.LockdownMode = mode })
	}
	simulator.Map.WithLock(h, func() {
		h.Config.AdminDisabled = types.NewBool(on)
		h.Config.LockdownMode = mode
	})
	simulator.Map.Update(h, []types.PropertyChange{
		{Name: "config.adminDisabled", Val: on},
		{Name: "config.lockdownMode", Val: mode},
	})
}

func lockdownOn(h *simulator.HostSystem) bool {
	return h.Config != nil && h.Config.AdminDisabled != nil && *h.Config.AdminDisabled
}

func (g *lockdownGate) EnterLockdownMode(req *types.EnterLockdownMode) soap.HasFault {
	body := new(methods.EnterLockdownModeBody)
	h := g.target()
	switch {
	case h == nil:
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "HostSystem", Value: g.Self.Value}})
	case h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected:
		body.Fault_ = simulator.Fault("", &types.HostNotConnected{})
	case lockdownOn(h):
		body.Fault_ = simulator.Fault("The host is already in lockdown mode.", &types.AdminDisabled{})
	default:
		lockdownSet(h, true)
		body.Res = new(types.EnterLockdownModeResponse)
	}
	return body
}

func (g *lockdownGate) ExitLockdownMode(req *types.ExitLockdownMode) soap.HasFault {
	body := new(methods.ExitLockdownModeBody)
	h := g.target()
	switch {
	case h == nil:
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "HostSystem", Value: g.Self.Value}})
	case h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected:
		body.Fault_ = simulator.Fault("", &types.HostNotConnected{})
	case !lockdownOn(h):
		body.Fault_ = simulator.Fault("The host is not in lockdown mode.", &types.AdminNotDisabled{})
	default:
		lockdownSet(h, false)
		body.Res = new(types.ExitLockdownModeResponse)
	}
	return body
}

// Login reaches the gate only while the ESXi host is in lockdown mode.
func (g *lockdownGate) Login(req *types.Login) soap.HasFault {
	body := new(methods.LoginBody)
	body.Fault_ = simulator.Fault("Permission to perform this operation was denied.", &types.NoPermission{
		Object:      types.ManagedObjectReference{Type: "SessionManager", Value: g.Self.Value},
		PrivilegeId: "System.Anonymous",
	})
	return body
}

func lockdownGateFor(value string) {
	ref := types.ManagedObjectReference{Type: storageGateType, Value: value}
	if simulator.Map.Get(ref) == nil {
		g := &lockdownGate{}
		g.Self = ref
		simulator.Map.Put(g)
	}
}

var lockdownThis = regexp.MustCompile(`(<_this[^>]*\btype=")(HostSystem|SessionManager)("[^>]*>)([^<]*)(</_this>)`)

// routeLockdown rewrites the request body so that vcsim dispatches EnterLockdownMode and
// ExitLockdownMode on a host, and a Login to an ESXi host in lockdown mode, to a lockdownGate.
// Other requests are returned unchanged.
func routeLockdown(body []byte) []byte {
	switch {
	case bytes.Contains(body, []byte("<EnterLockdownMode")) || bytes.Contains(body, []byte("<ExitLockdownMode")):
	case bytes.Contains(body, []byte("Login")) && lockdownLogin(body):
	default:
		return body
	}
	m := lockdownThis.FindSubmatch(body)
	if m == nil {
		return body
	}
	lockdownGateFor(string(m[4]))
	return lockdownThis.ReplaceAll(body, []byte("${1}"+storageGateType+"${3}${4}${5}"))
}

// lockdownLogin: the body is a SessionManager.Login to the ESXi model while its host is in
// lockdown mode.
func lockdownLogin(body []byte) bool {
	var req struct {
		Call *struct {
			UserName string `xml:"userName"`
		} `xml:"Body>Login"`
	}
	if xml.Unmarshal(body, &req) != nil || req.Call == nil {
		return false
	}
	if c := serviceContent(); c == nil || c.About.ApiType != "HostAgent" {
		return false
	}
	for _, obj := range simulator.Map.All("HostSystem") {
		h, ok := obj.(*simulator.HostSystem)
		if !ok || !lockdownOn(h) {
			continue
		}
		if m := lockdownAccessManagerOf(h); m != nil {
			for _, user := range m.exceptions {
				if user == req.Call.UserName {
					return false // an exception user keeps direct access
				}
			}
		}
		return true
	}
	return false
}
