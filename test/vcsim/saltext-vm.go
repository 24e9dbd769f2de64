package main

// Gap of vcsim 0.24.2 that saltext-vmware's vmware_datastore.list_disk_partitions reaches:
// HostStorageSystem has no RetrieveDiskPartitionInfo. vSphere answers, for each device path
// of a disk of the host, its partition table (HostDiskPartitionInfo: a spec with the format,
// total sectors and partitions, and a layout of block ranges in which free space has type
// "none"), and NotFound for a path that is no disk of the host; UpdateDiskPartitions writes a
// disk's table (0.24.2 lacks both). vcsim's disks start without a partition table (its
// datastores are local directories): until one is written, a disk is answered as vSphere
// answers a blank disk: format "unknown", no partitions, the whole disk free.
//
// And one of ShutdownGuest: vSphere only asks the guest (through VMware Tools) to shut down and
// returns; the VM is off when the guest has stopped, or never when the guest ignores the
// request. 0.24.2 powers the VM off at once. A VM whose extraConfig has
// guestinfo.vcsim.guest-shutdown=ignore plays a guest that ignores it: ShutdownGuest succeeds
// and the VM stays on (other VMs keep 0.24.2's immediate power-off).

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"sort"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// partitionedStorageSystem embeds the simulator's object by value: the property collector
// finds an object's mo type by following first fields that are structs, not pointers.
type partitionedStorageSystem struct {
	simulator.HostStorageSystem
	mu     sync.Mutex
	tables map[string]types.HostDiskPartitionSpec // device path → partition table written
}

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		for _, entity := range r.All("HostSystem") {
			host, ok := entity.(*simulator.HostSystem)
			if !ok || host.ConfigManager.StorageSystem == nil {
				continue
			}
			if s, ok := r.Get(*host.ConfigManager.StorageSystem).(*simulator.HostStorageSystem); ok {
				r.Put(&partitionedStorageSystem{HostStorageSystem: *s, tables: map[string]types.HostDiskPartitionSpec{}})
			}
		}
	})
}

func (s *partitionedStorageSystem) diskAt(path string) *types.HostScsiDisk {
	if s.StorageDeviceInfo == nil {
		return nil
	}
	for _, lun := range s.StorageDeviceInfo.ScsiLun {
		if disk, ok := lun.(*types.HostScsiDisk); ok && disk.DevicePath == path {
			return disk
		}
	}
	return nil
}

func (s *partitionedStorageSystem) UpdateDiskPartitions(req *types.UpdateDiskPartitions) soap.HasFault {
	body := new(methods.UpdateDiskPartitionsBody)
	disk := s.diskAt(req.DevicePath)
	if disk == nil {
		body.Fault_ = simulator.Fault("", &types.NotFound{})
		return body
	}
	for _, p := range req.Spec.Partition {
		if p.StartSector < 0 || p.EndSector < p.StartSector || p.EndSector >= disk.Capacity.Block {
			body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "spec.partition"})
			return body
		}
	}
	spec := req.Spec
	spec.TotalSectors = disk.Capacity.Block
	s.mu.Lock()
	s.tables[req.DevicePath] = spec
	s.mu.Unlock()
	body.Res = new(types.UpdateDiskPartitionsResponse)
	return body
}

// layoutOf is a table's block ranges in disk order, the gaps as free space (type "none").
func layoutOf(spec types.HostDiskPartitionSpec, size types.HostDiskDimensionsLba) []types.HostDiskPartitionBlockRange {
	parts := append([]types.HostDiskPartitionAttributes(nil), spec.Partition...)
	sort.Slice(parts, func(i, j int) bool { return parts[i].StartSector < parts[j].StartSector })
	lba := func(block int64) types.HostDiskDimensionsLba {
		return types.HostDiskDimensionsLba{BlockSize: size.BlockSize, Block: block}
	}
	var ranges []types.HostDiskPartitionBlockRange
	next := int64(0)
	for _, p := range parts {
		if p.StartSector > next {
			ranges = append(ranges, types.HostDiskPartitionBlockRange{Type: "none", Start: lba(next), End: lba(p.StartSector - 1)})
		}
		ranges = append(ranges, types.HostDiskPartitionBlockRange{
			Partition: p.Partition, Type: p.Type, Start: lba(p.StartSector), End: lba(p.EndSector),
		})
		next = p.EndSector + 1
	}
	if next < size.Block {
		ranges = append(ranges, types.HostDiskPartitionBlockRange{Type: "none", Start: lba(next), End: lba(size.Block - 1)})
	}
	return ranges
}

func (s *partitionedStorageSystem) RetrieveDiskPartitionInfo(req *types.RetrieveDiskPartitionInfo) soap.HasFault {
	body := new(methods.RetrieveDiskPartitionInfoBody)
	res := new(types.RetrieveDiskPartitionInfoResponse)
	for _, path := range req.DevicePath {
		disk := s.diskAt(path)
		if disk == nil {
			body.Fault_ = simulator.Fault("", &types.NotFound{})
			return body
		}
		size := disk.Capacity
		s.mu.Lock()
		spec, written := s.tables[path]
		s.mu.Unlock()
		if !written {
			spec = types.HostDiskPartitionSpec{PartitionFormat: "unknown", TotalSectors: size.Block}
		}
		res.Returnval = append(res.Returnval, types.HostDiskPartitionInfo{
			DeviceName: path,
			Spec:       spec,
			Layout: types.HostDiskPartitionLayout{
				Total:     &types.HostDiskDimensionsLba{BlockSize: size.BlockSize, Block: size.Block},
				Partition: layoutOf(spec, size),
			},
		})
	}
	body.Res = res
	return body
}

// shutdownGuestTarget is the VM a ShutdownGuest request names, when body is one.
func shutdownGuestTarget(body []byte) (*simulator.VirtualMachine, bool) {
	if !bytes.Contains(body, []byte("<ShutdownGuest")) {
		return nil, false
	}
	var req struct {
		This types.ManagedObjectReference `xml:"Body>ShutdownGuest>_this"`
	}
	if xml.Unmarshal(body, &req) != nil {
		return nil, false
	}
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	return vm, ok
}

// fillGuestShutdown answers ShutdownGuest for a powered-on VM whose guest ignores it.
func fillGuestShutdown(w http.ResponseWriter, body []byte) bool {
	vm, ok := shutdownGuestTarget(body)
	if !ok {
		return false
	}
	ignores := false
	simulator.Map.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Config == nil {
			return
		}
		for _, option := range vm.Config.ExtraConfig {
			if o := option.GetOptionValue(); o.Key == "guestinfo.vcsim.guest-shutdown" && o.Value == "ignore" {
				ignores = true
			}
		}
	})
	if !ignores {
		return false
	}
	writeResponse(w, "ShutdownGuestResponse", "")
	return true
}
