package main

// Gap of vcsim 0.24.2 that saltext-vmware's vmware_datastore.list_disk_partitions reaches:
// HostStorageSystem has no RetrieveDiskPartitionInfo. vSphere answers, for each device path
// of a disk of the host, its partition table (HostDiskPartitionInfo: a spec with the format,
// total sectors and partitions, and a layout of block ranges in which free space has type
// "none"), and NotFound for a path that is no disk of the host. vcsim's disks hold no
// partition table (its datastores are local directories), so each is answered as vSphere
// answers a blank disk: format "unknown", no partitions, the whole disk free.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type partitionedStorageSystem struct {
	*simulator.HostStorageSystem
}

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		for _, entity := range r.All("HostSystem") {
			host, ok := entity.(*simulator.HostSystem)
			if !ok || host.ConfigManager.StorageSystem == nil {
				continue
			}
			if s, ok := r.Get(*host.ConfigManager.StorageSystem).(*simulator.HostStorageSystem); ok {
				r.Put(&partitionedStorageSystem{HostStorageSystem: s})
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
		res.Returnval = append(res.Returnval, types.HostDiskPartitionInfo{
			DeviceName: path,
			Spec:       types.HostDiskPartitionSpec{PartitionFormat: "unknown", TotalSectors: size.Block},
			Layout: types.HostDiskPartitionLayout{
				Total: &types.HostDiskDimensionsLba{BlockSize: size.BlockSize, Block: size.Block},
				Partition: []types.HostDiskPartitionBlockRange{{
					Type:  "none",
					Start: types.HostDiskDimensionsLba{BlockSize: size.BlockSize, Block: 0},
					End:   types.HostDiskDimensionsLba{BlockSize: size.BlockSize, Block: size.Block - 1},
				}},
			},
		})
	}
	body.Res = res
	return body
}
