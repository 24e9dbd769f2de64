package main

// VMware Tools and the guest's network identity, as vSphere reports them (vSphere API
// reference, GuestInfo): once a VM is powered on and its guest's Tools start,
// guest.toolsRunningStatus becomes guestToolsRunning (toolsStatus toolsOk, guestState
// running), and the guest then reports its IP address (guest.ipAddress, guest.net[].ipAddress);
// both go away when the VM powers off or suspends (guestToolsNotRunning, no address). Each
// step is a property change, so a PropertyCollector's WaitForUpdatesEx sees it. vcsim 0.24.2
// reports guestToolsNotRunning and no address whatever the power state (only container-backed
// VMs get an address).
//
// The emulation: every VM's guest has Tools, which come up right after the power-on (the
// change follows the power state's in the same update set), then its address: the one the
// guest already had (vcsim's customization, another gap fill, or the one it had before its
// last power-off: a static address survives a reboot), else a default derived from the VM's
// id (10.<n>.<n>.<n>, stable for the VM). A VM without a network adapter has no address.
// extraConfig guestinfo.vcsim.tools=notInstalled plays a guest without Tools: it never reports
// Tools or an address. ShutdownGuest needs running Tools: without them vSphere faults with
// ToolsUnavailable (0.24.2 powers the VM off whatever the Tools do).

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// guestLastAddress: VM id → the address its guest had when it last powered off.
var guestLastAddress sync.Map

type guestToolsHandler struct{}

func (guestToolsHandler) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "BrineGuestTools", Value: "brine-guest-tools"}
}
func (guestToolsHandler) PutObject(mo.Reference) {}

// RemoveObject: a destroyed VM's guest processes end with it.
func (guestToolsHandler) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type == "VirtualMachine" {
		guestStopProcesses(ref.Value)
		guestLastAddress.Delete(ref.Value)
	}
}

// UpdateObject follows every VM's power state. It runs in the goroutine that changed it, with
// the VM's lock held where vcsim holds it: it takes no lock of its own on the VM.
func (guestToolsHandler) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	if obj.Reference().Type != "VirtualMachine" {
		return
	}
	for _, change := range changes {
		if change.Name != "runtime.powerState" {
			continue
		}
		vm, ok := simulator.Map.Get(obj.Reference()).(*simulator.VirtualMachine)
		if !ok {
			return
		}
		if fmt.Sprint(change.Val) == string(types.VirtualMachinePowerStatePoweredOn) {
			guestUp(vm)
		} else {
			guestDown(vm)
		}
		return
	}
}

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		for _, entity := range r.All("VirtualMachine") {
			if vm, ok := entity.(*simulator.VirtualMachine); ok && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
				guestUp(vm)
			}
		}
		r.AddHandler(guestToolsHandler{})
	})
}

// guestOption is the last value of an extraConfig key (ReconfigVM_Task appends in vcsim).
func guestOption(vm *simulator.VirtualMachine, key string) string {
	value := ""
	if vm.Config == nil {
		return value
	}
	for _, option := range vm.Config.ExtraConfig {
		if o := option.GetOptionValue(); o.Key == key {
			value = fmt.Sprint(o.Value)
		}
	}
	return value
}

func guestToolsRunning(vm *simulator.VirtualMachine) bool {
	return vm.Guest != nil && vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
}

// guestDefaultAddress is 10.a.b.c from a hash of the VM's id: the same for the VM every time.
func guestDefaultAddress(vm *simulator.VirtualMachine) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(vm.Self.Value))
	n := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", (n>>16)%256, (n>>8)%256, 1+n%253)
}

func guestUp(vm *simulator.VirtualMachine) {
	if vm.Guest == nil || guestOption(vm, "guestinfo.vcsim.tools") == "notInstalled" {
		return
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		{Name: "guest.toolsVersionStatus2", Val: string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)},
		{Name: "guest.toolsVersion", Val: "12352"},
		{Name: "guest.guestState", Val: "running"},
		{Name: "summary.guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
		{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
	})
	if len(vm.Guest.Net) == 0 {
		return
	}
	address := vm.Guest.IpAddress
	if address == "" {
		if last, ok := guestLastAddress.Load(vm.Self.Value); ok {
			address = last.(string)
		} else {
			address = guestDefaultAddress(vm)
		}
	}
	nets := append([]types.GuestNicInfo(nil), vm.Guest.Net...)
	if len(nets[0].IpAddress) == 0 {
		nets[0].IpAddress = []string{address}
		nets[0].IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{{
			IpAddress: address, PrefixLength: 24, State: string(types.NetIpConfigInfoIpAddressStatusPreferred),
		}}}
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "guest.net", Val: nets},
		{Name: "guest.ipAddress", Val: address},
		{Name: "summary.guest.ipAddress", Val: address},
	})
}

func guestDown(vm *simulator.VirtualMachine) {
	guestStopProcesses(vm.Self.Value)
	if vm.Guest == nil || !guestToolsRunning(vm) {
		return
	}
	if vm.Guest.IpAddress != "" {
		guestLastAddress.Store(vm.Self.Value, vm.Guest.IpAddress)
	}
	nets := append([]types.GuestNicInfo(nil), vm.Guest.Net...)
	for i := range nets {
		nets[i].IpAddress = nil
		nets[i].IpConfig = nil
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
		{Name: "guest.guestState", Val: "notRunning"},
		{Name: "summary.guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
		{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
		{Name: "guest.net", Val: nets},
		{Name: "guest.ipAddress", Val: ""},
		{Name: "summary.guest.ipAddress", Val: ""},
	})
}

// guestShutdownNeedsTools answers ShutdownGuest of a powered-on VM whose Tools are not running
// with ToolsUnavailable, as vSphere does; anything else goes on to vcsim.
func guestShutdownNeedsTools(w http.ResponseWriter, body []byte) bool {
	vm, ok := shutdownGuestTarget(body)
	if !ok {
		return false
	}
	refuse := false
	simulator.Map.WithLock(vm, func() {
		refuse = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn && !guestToolsRunning(vm)
	})
	if !refuse {
		return false
	}
	writeFault(w, "VMware Tools is not running in the guest of "+vm.Name+".",
		`<ToolsUnavailableFault xmlns="urn:vim25" xsi:type="ToolsUnavailable"></ToolsUnavailableFault>`)
	return true
}
