package main

// HostVsanSystem per host (see esxi-storage.go for the vSphere behaviour copied).

import (
	"fmt"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

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
