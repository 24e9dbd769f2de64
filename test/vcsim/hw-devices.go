package main

// Gaps of vcsim 0.24.2's VirtualMachine.ReconfigVM_Task, filled as vSphere behaves (vSphere API
// reference: VirtualMachine.ReconfigVM_Task, VirtualMachineConfigSpec, VirtualDeviceConfigSpec,
// and the faults listed there). 0.24.2 applies any spec; vCenter refuses, as a failed task:
//   - a disk edit that makes the disk smaller: InvalidDeviceOperation ("Invalid operation for
//     device '<index>'."; disks only grow, and later govmomi releases raise the same fault);
//   - numCPUs or memoryMB changed on a powered-on VM when the VM does not allow it (more CPUs
//     without cpuHotAddEnabled, fewer without cpuHotRemoveEnabled, more memory without
//     memoryHotAddEnabled, less memory ever), and cpuHotAddEnabled, cpuHotRemoveEnabled or
//     memoryHotAddEnabled changed while powered on (they "can only be set when the virtual
//     machine is powered-off"): InvalidPowerState, "The attempted operation cannot be
//     performed in the current state (Powered on).";
//   - a device on a controller key that is no controller of the VM: InvalidController;
//   - a unit number outside the controller's range (SCSI 0-15 without 7, the controller's own;
//     NVMe 0-14; SATA/AHCI 0-29; IDE 0-1) or already used by another device on that
//     controller (0.24.2 compares only devices of the same type): InvalidDeviceSpec;
//   - a fifth SCSI, NVMe or SATA controller, or a bus number outside 0-3 or already used by a
//     controller of the same kind: InvalidDeviceSpec;
//   - a CD-ROM backed by an ISO file that is not on the datastore: FileNotFound (0.24.2 keeps
//     any file name).
// A spec that passes these checks goes on to vcsim unchanged.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	vimxml "github.com/vmware/govmomi/vim25/xml"
)

// hwReconfigure answers a ReconfigVM_Task that vCenter would refuse with a failed task, as
// vCenter does. False leaves the request to vcsim.
func hwReconfigure(w http.ResponseWriter, body []byte) bool {
	if !bytes.Contains(body, []byte("<ReconfigVM_Task")) {
		return false
	}
	var env struct {
		Body struct {
			Req *types.ReconfigVM_Task `xml:"ReconfigVM_Task"`
		} `xml:"Body"`
	}
	dec := vimxml.NewDecoder(bytes.NewReader(body))
	dec.TypeFunc = types.TypeFunc()
	if dec.Decode(&env) != nil || env.Body.Req == nil {
		return false
	}
	vm, ok := simulator.Map.Get(env.Body.Req.This).(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	var fault types.BaseMethodFault
	var message string
	simulator.Map.WithLock(vm, func() {
		if vm.Config == nil || vm.Config.Template {
			return
		}
		fault, message = hwPowerCheck(vm, &env.Body.Req.Spec)
		if fault == nil {
			fault, message = hwDeviceCheck(vm, &env.Body.Req.Spec)
		}
	})
	if fault == nil {
		return false
	}
	task := simulator.CreateTask(vm, "reconfigVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, fault
	})
	ref := task.Run()
	// vcsim words a task's error as the fault's Go type; vCenter's message instead.
	simulator.Map.Update(task, []types.PropertyChange{
		{Name: "info.error", Val: &types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}},
	})
	writeResponse(w, "ReconfigVM_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, ref.Value))
	return true
}

func hwPowerCheck(vm *simulator.VirtualMachine, spec *types.VirtualMachineConfigSpec) (types.BaseMethodFault, string) {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return nil, ""
	}
	cfg := vm.Config
	flagChanged := func(wanted, current *bool) bool {
		return wanted != nil && *wanted != (current != nil && *current)
	}
	isSet := func(b *bool) bool { return b != nil && *b }
	hw := cfg.Hardware
	refused := flagChanged(spec.CpuHotAddEnabled, cfg.CpuHotAddEnabled) ||
		flagChanged(spec.CpuHotRemoveEnabled, cfg.CpuHotRemoveEnabled) ||
		flagChanged(spec.MemoryHotAddEnabled, cfg.MemoryHotAddEnabled) ||
		(spec.NumCPUs > hw.NumCPU && !isSet(cfg.CpuHotAddEnabled)) ||
		(spec.NumCPUs != 0 && spec.NumCPUs < hw.NumCPU && !isSet(cfg.CpuHotRemoveEnabled)) ||
		(spec.MemoryMB > int64(hw.MemoryMB) && !isSet(cfg.MemoryHotAddEnabled)) ||
		(spec.MemoryMB != 0 && spec.MemoryMB < int64(hw.MemoryMB))
	if !refused {
		return nil, ""
	}
	return &types.InvalidPowerState{
		RequestedState: types.VirtualMachinePowerStatePoweredOff,
		ExistingState:  types.VirtualMachinePowerStatePoweredOn,
	}, "The attempted operation cannot be performed in the current state (Powered on)."
}

// hwUnits is the unit numbers a device can use on a controller (-1: no limit checked) and
// the unit the controller itself holds (SCSI 7), by controller kind.
func hwUnits(controller types.BaseVirtualDevice) (max int32, reserved int32) {
	switch controller.(type) {
	case types.BaseVirtualSCSIController:
		return 15, 7
	case *types.VirtualNVMEController:
		return 14, -1
	case types.BaseVirtualSATAController:
		return 29, -1
	case *types.VirtualIDEController:
		return 1, -1
	}
	return -1, -1
}

// hwKind names the controller families that have bus numbers 0-3, at most four controllers each.
func hwKind(device types.BaseVirtualDevice) string {
	switch device.(type) {
	case types.BaseVirtualSCSIController:
		return "scsi"
	case *types.VirtualNVMEController:
		return "nvme"
	case types.BaseVirtualSATAController:
		return "sata"
	}
	return ""
}

func hwDeviceCheck(vm *simulator.VirtualMachine, spec *types.VirtualMachineConfigSpec) (types.BaseMethodFault, string) {
	devices := append(object.VirtualDeviceList{}, vm.Config.Hardware.Device...)
	for i, change := range spec.DeviceChange {
		dspec := change.GetVirtualDeviceConfigSpec()
		if dspec.Device == nil {
			continue
		}
		device := dspec.Device.GetVirtualDevice()
		index := int32(i)
		moved := true // an added device, or an edited one put on another controller or unit
		invalid := func() (types.BaseMethodFault, string) {
			return &types.InvalidDeviceSpec{DeviceIndex: index}, fmt.Sprintf("Invalid configuration for device '%d'.", index)
		}
		switch dspec.Operation {
		case types.VirtualDeviceConfigSpecOperationRemove:
			devices = hwWithout(devices, device.Key)
			continue
		case types.VirtualDeviceConfigSpecOperationEdit:
			old := devices.FindByKey(device.Key)
			if old != nil {
				moved = !hwSameSlot(old.GetVirtualDevice(), device)
			}
			if oldDisk, ok := old.(*types.VirtualDisk); ok {
				if disk, ok := dspec.Device.(*types.VirtualDisk); ok && hwDiskBytes(disk) < hwDiskBytes(oldDisk) {
					return &types.InvalidDeviceOperation{InvalidDeviceSpec: types.InvalidDeviceSpec{DeviceIndex: index}},
						fmt.Sprintf("Invalid operation for device '%d'.", index)
				}
			}
			devices = hwWithout(devices, device.Key)
		}
		if kind := hwKind(dspec.Device); kind != "" && dspec.Operation == types.VirtualDeviceConfigSpecOperationAdd {
			bus := dspec.Device.(types.BaseVirtualController).GetVirtualController().BusNumber
			count := 0
			for _, d := range devices {
				if hwKind(d) == kind {
					count++
					if d.(types.BaseVirtualController).GetVirtualController().BusNumber == bus {
						return invalid()
					}
				}
			}
			if count >= 4 || bus < 0 || bus > 3 {
				return invalid()
			}
		}
		if cdrom, ok := dspec.Device.(*types.VirtualCdrom); ok {
			if iso, ok := cdrom.Backing.(*types.VirtualCdromIsoBackingInfo); ok && !hwFileExists(iso.FileName) {
				return &types.FileNotFound{FileFault: types.FileFault{File: iso.FileName}},
					fmt.Sprintf("File %s was not found", iso.FileName)
			}
		}
		if device.ControllerKey != 0 {
			controller := devices.FindByKey(device.ControllerKey)
			if _, ok := controller.(types.BaseVirtualController); !ok {
				return &types.InvalidController{InvalidDeviceSpec: types.InvalidDeviceSpec{DeviceIndex: index}, ControllerKey: device.ControllerKey},
					fmt.Sprintf("Device '%d' has a controller (%d) that is not valid.", index, device.ControllerKey)
			}
			if max, reserved := hwUnits(controller); moved && max >= 0 && device.UnitNumber != nil {
				unit := *device.UnitNumber
				if unit < 0 || unit > max || unit == reserved {
					return invalid()
				}
				for _, d := range devices {
					other := d.GetVirtualDevice()
					if other.ControllerKey == device.ControllerKey && other.UnitNumber != nil && *other.UnitNumber == unit {
						return invalid()
					}
				}
			}
		}
		devices = append(devices, dspec.Device)
	}
	return nil, ""
}

// hwSameSlot: is the edited device still on the controller and unit it was on?
func hwSameSlot(old, edited *types.VirtualDevice) bool {
	if old.ControllerKey != edited.ControllerKey {
		return false
	}
	if old.UnitNumber == nil || edited.UnitNumber == nil {
		return old.UnitNumber == edited.UnitNumber
	}
	return *old.UnitNumber == *edited.UnitNumber
}

func hwWithout(devices object.VirtualDeviceList, key int32) object.VirtualDeviceList {
	kept := object.VirtualDeviceList{}
	for _, d := range devices {
		if d.GetVirtualDevice().Key != key {
			kept = append(kept, d)
		}
	}
	return kept
}

func hwDiskBytes(disk *types.VirtualDisk) int64 {
	if disk.CapacityInBytes != 0 {
		return disk.CapacityInBytes
	}
	return disk.CapacityInKB * 1024
}

// hwFileExists: is "[datastore] path" a file on a datastore the simulator knows (vcsim keeps
// a datastore's files in the local directory its URL names)?
func hwFileExists(name string) bool {
	var path object.DatastorePath
	if !path.FromString(name) || path.Path == "" || strings.Contains(path.Path, "..") {
		return false
	}
	for _, obj := range simulator.Map.All("Datastore") {
		ds, ok := obj.(*simulator.Datastore)
		if !ok || ds.Name != path.Datastore {
			continue
		}
		info, err := os.Stat(filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(path.Path)))
		return err == nil && !info.IsDir()
	}
	return false
}
