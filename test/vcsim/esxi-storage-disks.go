package main

// Per-host disks and VMFS LUNs (see esxi-storage.go for the vSphere behaviour copied).

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

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
