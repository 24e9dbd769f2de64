package main

// Distributed switch host members, as vCenter keeps them (vSphere Web Services API reference:
// DistributedVirtualSwitch.ReconfigureDvs_Task, DistributedVirtualSwitchHostMemberConfigSpec,
// DVSConfigInfo.host). vcsim 0.24.2 only keeps summary.hostMember; vCenter keeps each member
// in config.host (its pnic backing, maxProxySwitchPorts), edits a member (0.24.2:
// NotSupported), refuses adding a physical NIC that a standard switch or another member uses
// (ResourceInUse) or that the host lacks (NotFound), refuses removing a host whose VMkernel
// adapter or VM uses the switch (ResourceInUse) or that is no member (NotFound), and on
// removal takes the switch's port groups off the host (0.24.2 leaves them). A task either
// applies the whole reconfiguration or none of it.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	vxml "github.com/vmware/govmomi/vim25/xml"
)

// vnicDvsHosts answers a ReconfigureDvs_Task that changes host members (see above);
// false leaves any other request to main.go and vcsim.
func vnicDvsHosts(w http.ResponseWriter, body []byte) bool {
	if !bytes.Contains(body, []byte("<ReconfigureDvs_Task")) || !bytes.Contains(body, []byte("operation>")) {
		return false
	}
	var env struct {
		Body struct {
			Req types.ReconfigureDvs_Task `xml:"ReconfigureDvs_Task"`
		} `xml:"Body"`
	}
	dec := vxml.NewDecoder(bytes.NewReader(body))
	dec.TypeFunc = types.TypeFunc()
	if dec.Decode(&env) != nil || env.Body.Req.Spec == nil {
		return false
	}
	dvs, ok := simulator.Map.Get(env.Body.Req.This).(*simulator.DistributedVirtualSwitch)
	if !ok {
		return false
	}
	members := env.Body.Req.Spec.GetDVSConfigSpec().Host
	var simple struct {
		Spec dvsSpec `xml:"Body>ReconfigureDvs_Task>spec"`
	}
	_ = xml.Unmarshal(body, &simple)
	task := simulator.CreateTask(dvs, "reconfigureDvs", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		vnicMu.Lock()
		var fault types.BaseMethodFault
		simulator.Map.WithLock(dvs, func() { fault = vnicApplyMembers(dvs, members) })
		vnicMu.Unlock()
		if fault != nil {
			return nil, fault
		}
		applyDvsSpec(dvs, simple.Spec)
		return nil, nil
	})
	writeResponse(w, "ReconfigureDvs_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Run().Value))
	return true
}

func vnicPnics(backing types.BaseDistributedVirtualSwitchHostMemberBacking) []string {
	var out []string
	if b, ok := backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking); ok {
		for _, spec := range b.PnicSpec {
			out = append(out, spec.PnicDevice)
		}
	}
	return out
}

// vnicPnicFault: a pnic the host lacks, or one a standard switch or another DVS member uses.
func vnicPnicFault(dvs *simulator.DistributedVirtualSwitch, host *simulator.HostSystem, pnics []string) types.BaseMethodFault {
	for _, device := range pnics {
		found := false
		for _, pnic := range host.Config.Network.Pnic {
			found = found || pnic.Device == device
		}
		if !found {
			return &types.NotFound{}
		}
		key := "key-vim.host.PhysicalNic-" + device
		vswitches := host.Config.Network.Vswitch
		if state := vnicHosts[host.Self.Value]; state != nil {
			vswitches = append(append([]types.HostVirtualSwitch{}, vswitches...), state.network.NetworkInfo.Vswitch...)
		}
		for _, vswitch := range vswitches {
			for _, used := range vswitch.Pnic {
				if used == key || used == device {
					return &types.ResourceInUse{Type: "PhysicalNic", Name: device}
				}
			}
		}
		for _, other := range vnicSwitches() {
			if other == dvs {
				continue
			}
			for _, member := range vnicConfig(other).Host {
				if member.Config.Host != nil && *member.Config.Host == host.Self {
					for _, used := range vnicPnics(member.Config.Backing) {
						if used == device {
							return &types.ResourceInUse{Type: "PhysicalNic", Name: device}
						}
					}
				}
			}
		}
	}
	return nil
}

func vnicConfig(dvs *simulator.DistributedVirtualSwitch) *types.DVSConfigInfo {
	return dvs.Config.GetDVSConfigInfo()
}

// vnicApplyMembers checks every member change, then applies them all (vCenter's task either
// does the whole reconfiguration or none of it). Called with vnicMu held.
func vnicApplyMembers(dvs *simulator.DistributedVirtualSwitch, members []types.DistributedVirtualSwitchHostMemberConfigSpec) types.BaseMethodFault {
	config := vnicConfig(dvs)
	// Members vcsim added (the model's hosts) appear in config.host too.
	for _, ref := range dvs.Summary.HostMember {
		known := false
		for _, m := range config.Host {
			known = known || (m.Config.Host != nil && *m.Config.Host == ref)
		}
		if !known {
			host := ref
			config.Host = append(config.Host, types.DistributedVirtualSwitchHostMember{
				Config: types.DistributedVirtualSwitchHostMemberConfigInfo{Host: &host, MaxProxySwitchPorts: 512, Backing: &types.DistributedVirtualSwitchHostMemberPnicBacking{}},
				Status: "up",
			})
		}
	}
	memberIndex := func(ref types.ManagedObjectReference) int {
		for i, m := range config.Host {
			if m.Config.Host != nil && *m.Config.Host == ref {
				return i
			}
		}
		return -1
	}
	for _, spec := range members {
		host, ok := simulator.Map.Get(spec.Host).(*simulator.HostSystem)
		if !ok {
			return &types.ManagedObjectNotFound{Obj: spec.Host}
		}
		switch types.ConfigSpecOperation(spec.Operation) {
		case types.ConfigSpecOperationAdd:
			if memberIndex(spec.Host) >= 0 {
				return &types.AlreadyExists{Name: host.Name}
			}
			if fault := vnicPnicFault(dvs, host, vnicPnics(spec.Backing)); fault != nil {
				return fault
			}
		case types.ConfigSpecOperationEdit:
			if memberIndex(spec.Host) < 0 {
				return &types.NotFound{}
			}
			if fault := vnicPnicFault(dvs, host, vnicPnics(spec.Backing)); fault != nil {
				return fault
			}
		case types.ConfigSpecOperationRemove:
			if memberIndex(spec.Host) < 0 {
				return &types.NotFound{}
			}
			for _, nic := range host.Config.Network.Vnic {
				if conn := nic.Spec.DistributedVirtualPort; conn != nil && conn.SwitchUuid == dvs.Uuid {
					return &types.ResourceInUse{Type: "HostVirtualNic", Name: nic.Device}
				}
			}
			for _, ref := range host.Vm {
				if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok {
					if pg := simulator.FindReference(vm.Network, dvs.Portgroup...); pg != nil {
						return &types.ResourceInUse{Type: pg.Type, Name: pg.Value}
					}
				}
			}
		default:
			return &types.InvalidArgument{InvalidProperty: "host.operation"}
		}
	}
	for _, spec := range members {
		host := simulator.Map.Get(spec.Host).(*simulator.HostSystem)
		switch types.ConfigSpecOperation(spec.Operation) {
		case types.ConfigSpecOperationAdd:
			ref := spec.Host
			backing := spec.Backing
			if backing == nil {
				backing = &types.DistributedVirtualSwitchHostMemberPnicBacking{}
			}
			ports := spec.MaxProxySwitchPorts
			if ports == 0 {
				ports = 512
			}
			config.Host = append(config.Host, types.DistributedVirtualSwitchHostMember{
				Config: types.DistributedVirtualSwitchHostMemberConfigInfo{Host: &ref, MaxProxySwitchPorts: ports, Backing: backing},
				Status: "up",
			})
			dvs.Summary.HostMember = append(dvs.Summary.HostMember, ref)
			simulator.Map.WithLock(host, func() {
				for _, pg := range dvs.Portgroup {
					if simulator.FindReference(host.Network, pg) == nil {
						host.Network = append(host.Network, pg)
					}
				}
			})
			for _, pgRef := range dvs.Portgroup {
				if pg, ok := simulator.Map.Get(pgRef).(*simulator.DistributedVirtualPortgroup); ok && simulator.FindReference(pg.Host, ref) == nil {
					simulator.Map.WithLock(pg, func() { pg.Host = append(pg.Host, ref) })
				}
			}
		case types.ConfigSpecOperationEdit:
			i := memberIndex(spec.Host)
			if spec.Backing != nil {
				config.Host[i].Config.Backing = spec.Backing
			}
			if spec.MaxProxySwitchPorts != 0 {
				config.Host[i].Config.MaxProxySwitchPorts = spec.MaxProxySwitchPorts
			}
		case types.ConfigSpecOperationRemove:
			i := memberIndex(spec.Host)
			config.Host = append(config.Host[:i:i], config.Host[i+1:]...)
			var kept []types.ManagedObjectReference
			for _, ref := range dvs.Summary.HostMember {
				if ref != spec.Host {
					kept = append(kept, ref)
				}
			}
			dvs.Summary.HostMember = kept
			simulator.Map.WithLock(host, func() {
				var networks []types.ManagedObjectReference
				for _, ref := range host.Network {
					if simulator.FindReference(dvs.Portgroup, ref) == nil {
						networks = append(networks, ref)
					}
				}
				host.Network = networks
			})
			for _, pgRef := range dvs.Portgroup {
				if pg, ok := simulator.Map.Get(pgRef).(*simulator.DistributedVirtualPortgroup); ok {
					simulator.Map.WithLock(pg, func() {
						var hosts []types.ManagedObjectReference
						for _, ref := range pg.Host {
							if ref != spec.Host {
								hosts = append(hosts, ref)
							}
						}
						pg.Host = hosts
					})
				}
			}
		}
	}
	return nil
}

// vnicSwitches are the distributed switches, whatever type name their references carry.
func vnicSwitches() []*simulator.DistributedVirtualSwitch {
	var out []*simulator.DistributedVirtualSwitch
	for _, obj := range simulator.Map.All("") {
		if dvs, ok := obj.(*simulator.DistributedVirtualSwitch); ok {
			out = append(out, dvs)
		}
	}
	return out
}
