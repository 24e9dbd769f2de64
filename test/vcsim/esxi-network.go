package main

// VMkernel adapters and vMotion, as vSphere documents them (vSphere Web Services API
// reference: HostNetworkSystem, HostVirtualNicManager, HostVMotionSystem). vcsim 0.24.2 lacks:
//   - HostNetworkSystem.AddVirtualNic / UpdateVirtualNic / RemoveVirtualNic (MethodNotFound).
//     ESXi names a new adapter vmkN (the lowest N free) and returns the name; it keeps the
//     adapter in the host's config.network.vnic and the network system's networkInfo.vnic. A
//     standard port group carries one VMkernel adapter (AlreadyExists); an unknown port group,
//     distributed switch or distributed port group, or a switch the host is not a member of,
//     is NotFound; a malformed IPv4 address, subnet mask or gateway, an MTU outside 1280-9000,
//     an unknown TCP/IP stack, or a change of an adapter's stack is InvalidArgument; an
//     unknown device is NotFound.
//   - HostVirtualNicManager (the hosts' configManager.virtualNicManager names an object that
//     does not exist, the same on every host): info.netConfig per nic type (vmotion,
//     management, vsan, …) with the candidate adapters and the selected ones (keys
//     "<nicType>.<vnic key>"), QueryNetConfig, SelectVnicForNicType and
//     DeselectVnicForNicType (an unknown nic type or device, or deselecting an adapter that is
//     not selected: InvalidArgument). The host's
//     config.virtualNicManagerInfo reads the same.
//   - HostVMotionSystem (configManager.vmotionSystem, likewise missing): netConfig with the
//     candidates and the selected adapter (the vmotion nic type's first selection), SelectVnic
//     (that adapter alone carries vMotion; an unknown device: InvalidArgument) and DeselectVnic
//     (no adapter carries vMotion). The host's config.vmotion reads the same.
//   (Distributed switch host members: esxi-network-dvs.go.)

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vnicMu guards every host's adapters and selections; the objects below lock it (they are
// sync.Lockers, so vcsim's dispatch and property reads take it too). Order: vnicMu, then hosts.
var vnicMu sync.Mutex

type vnicHost struct {
	host     *simulator.HostSystem
	network  *vnicNetworkSystem
	manager  *vnicManager
	vmotion  *vnicVMotionSystem
	nicTypes []string
	selected map[string][]string // nic type → devices
}

var (
	vnicHosts   = map[string]*vnicHost{} // host moref value →
	vnicMacSeq  = 0
	vnicPortSeq = 100
)

type vnicNetworkSystem struct {
	simulator.HostNetworkSystem
	state *vnicHost
}

func (*vnicNetworkSystem) Lock()   { vnicMu.Lock() }
func (*vnicNetworkSystem) Unlock() { vnicMu.Unlock() }

type vnicManager struct {
	mo.HostVirtualNicManager
	state *vnicHost
}

func (*vnicManager) Lock()   { vnicMu.Lock() }
func (*vnicManager) Unlock() { vnicMu.Unlock() }

type vnicVMotionSystem struct {
	mo.HostVMotionSystem
	state *vnicHost
}

func (*vnicVMotionSystem) Lock()   { vnicMu.Lock() }
func (*vnicVMotionSystem) Unlock() { vnicMu.Unlock() }

// vnicAttach gives each host (also one added later) its own network system, virtual NIC
// manager and vMotion system. Called before each request that may reach one (the scan of the
// registry is skipped for the others: a large inventory's VM calls).
func vnicAttach(body []byte) {
	relevant := false
	for _, word := range []string{"HostSystem", "HostNetworkSystem", "HostVirtualNicManager", "HostVMotionSystem", "ReconfigureDvs_Task"} {
		relevant = relevant || bytes.Contains(body, []byte(word))
	}
	if !relevant {
		return
	}
	vnicMu.Lock()
	defer vnicMu.Unlock()
	for _, obj := range simulator.Map.All("HostSystem") {
		host, ok := obj.(*simulator.HostSystem)
		if !ok || vnicHosts[host.Self.Value] != nil || host.ConfigManager.NetworkSystem == nil {
			continue
		}
		current, ok := simulator.Map.Get(*host.ConfigManager.NetworkSystem).(*simulator.HostNetworkSystem)
		if !ok {
			continue
		}
		state := &vnicHost{host: host, selected: map[string][]string{}}
		state.network = &vnicNetworkSystem{HostNetworkSystem: *current, state: state}
		state.network.Host = &host.HostSystem
		simulator.Map.Put(state.network)

		state.manager = &vnicManager{state: state}
		state.manager.Self = types.ManagedObjectReference{Type: "HostVirtualNicManager", Value: "vnic-mgr-" + host.Self.Value}
		state.vmotion = &vnicVMotionSystem{state: state}
		state.vmotion.Self = types.ManagedObjectReference{Type: "HostVMotionSystem", Value: "vmotion-system-" + host.Self.Value}
		simulator.Map.Put(state.manager)
		simulator.Map.Put(state.vmotion)

		simulator.Map.WithLock(host, func() {
			managerRef, vmotionRef := state.manager.Self, state.vmotion.Self
			host.ConfigManager.VirtualNicManager = &managerRef
			host.ConfigManager.VmotionSystem = &vmotionRef
			if info := host.Config.VirtualNicManagerInfo; info != nil {
				for _, nc := range info.NetConfig {
					state.nicTypes = append(state.nicTypes, nc.NicType)
					for _, key := range nc.SelectedVnic {
						device := key[strings.LastIndex(key, "-")+1:]
						if vnicIndex(host, device) >= 0 {
							state.selected[nc.NicType] = append(state.selected[nc.NicType], device)
						}
					}
				}
			}
			if host.Config.Vmotion == nil {
				host.Config.Vmotion = &types.HostVMotionInfo{}
			}
		})
		if len(state.nicTypes) == 0 {
			state.nicTypes = []string{"faultToleranceLogging", "management", "vSphereProvisioning", "vSphereReplication", "vSphereReplicationNFC", "vmotion", "vsan", "vsanWitness"}
		}
		vnicHosts[host.Self.Value] = state
		vnicSync(state)
	}
}

func vnicIndex(host *simulator.HostSystem, device string) int {
	for i, nic := range host.Config.Network.Vnic {
		if nic.Device == device {
			return i
		}
	}
	return -1
}

// vnicSync publishes the host's adapters and selections everywhere vSphere shows them.
// Called with vnicMu held.
func vnicSync(s *vnicHost) {
	var vnics []types.HostVirtualNic
	simulator.Map.WithLock(s.host, func() {
		vnics = append(vnics, s.host.Config.Network.Vnic...)
	})
	candidates := func(prefix string) []types.HostVirtualNic {
		out := make([]types.HostVirtualNic, len(vnics))
		for i, nic := range vnics {
			out[i] = nic
			out[i].Key = prefix + nic.Key
		}
		return out
	}
	keyOf := func(device string) string {
		for _, nic := range vnics {
			if nic.Device == device {
				return nic.Key
			}
		}
		return ""
	}
	info := types.HostVirtualNicManagerInfo{}
	for _, nicType := range s.nicTypes {
		nc := types.VirtualNicManagerNetConfig{NicType: nicType, MultiSelectAllowed: true, CandidateVnic: candidates(nicType + ".")}
		for _, device := range s.selected[nicType] {
			nc.SelectedVnic = append(nc.SelectedVnic, nicType+"."+keyOf(device))
		}
		info.NetConfig = append(info.NetConfig, nc)
	}
	vmotion := &types.HostVMotionNetConfig{CandidateVnic: candidates("VMotionConfig.vmotion.")}
	if devices := s.selected["vmotion"]; len(devices) > 0 {
		vmotion.SelectedVnic = "VMotionConfig.vmotion." + keyOf(devices[0])
	}
	s.manager.Info = info
	s.vmotion.NetConfig = vmotion
	s.network.NetworkInfo.Vnic = vnics
	simulator.Map.WithLock(s.host, func() {
		copied := info
		s.host.Config.VirtualNicManagerInfo = &copied
		s.host.Config.Vmotion.NetConfig = vmotion
	})
}

func vnicFault(fault types.BaseMethodFault) *soap.Fault { return simulator.Fault("", fault) }

func vnicInvalid(property string) *soap.Fault {
	return vnicFault(&types.InvalidArgument{InvalidProperty: property})
}

func vnicIPv4(text string) bool {
	ip := net.ParseIP(text)
	return ip != nil && ip.To4() != nil && !ip.IsUnspecified()
}

func vnicMask(text string) bool {
	ip := net.ParseIP(text)
	if ip == nil || ip.To4() == nil {
		return false
	}
	ones, bits := net.IPMask(ip.To4()).Size()
	return bits == 32 && ones > 0
}

// vnicCheckSpec validates what ESXi validates in a HostVirtualNicSpec; nil when it is fine.
func vnicCheckSpec(s *vnicHost, nic *types.HostVirtualNicSpec, adding bool) *soap.Fault {
	if nic.Ip == nil && adding {
		return vnicInvalid("nic.ip")
	}
	if nic.Ip != nil && !nic.Ip.Dhcp {
		if !vnicIPv4(nic.Ip.IpAddress) {
			return vnicInvalid("nic.ip.ipAddress")
		}
		if !vnicMask(nic.Ip.SubnetMask) {
			return vnicInvalid("nic.ip.subnetMask")
		}
	}
	if nic.IpRouteSpec != nil && nic.IpRouteSpec.IpRouteConfig != nil {
		if gw := nic.IpRouteSpec.IpRouteConfig.GetHostIpRouteConfig().DefaultGateway; gw != "" && !vnicIPv4(gw) {
			return vnicInvalid("nic.ipRouteSpec.ipRouteConfig.defaultGateway")
		}
	}
	if nic.Mtu != 0 && (nic.Mtu < 1280 || nic.Mtu > 9000) {
		return vnicInvalid("nic.mtu")
	}
	if key := nic.NetStackInstanceKey; key != "" {
		known := false
		for _, stack := range s.host.Config.Network.NetStackInstance {
			known = known || stack.Key == key
		}
		if !known {
			return vnicInvalid("nic.netStackInstanceKey")
		}
	}
	return nil
}

// vnicPortgroupInUse names the adapter on a standard port group, if any.
func vnicPortgroupInUse(s *vnicHost, portgroup string, except string) bool {
	for _, nic := range s.host.Config.Network.Vnic {
		if nic.Device != except && nic.Spec.DistributedVirtualPort == nil && nic.Portgroup == portgroup {
			return true
		}
	}
	return false
}

func vnicStandardPortgroup(s *vnicHost, name string) bool {
	for _, pg := range s.network.NetworkInfo.Portgroup {
		if pg.Spec.Name == name {
			return true
		}
	}
	return false
}

// vnicConnectDvs checks a distributed port connection and fills in its port key.
func vnicConnectDvs(s *vnicHost, conn *types.DistributedVirtualSwitchPortConnection) *soap.Fault {
	for _, dvs := range vnicSwitches() {
		if dvs.Uuid != conn.SwitchUuid {
			continue
		}
		if simulator.FindReference(dvs.Summary.HostMember, s.host.Self) == nil {
			return vnicFault(&types.NotFound{}) // the host has no proxy switch of this DVS
		}
		for _, ref := range dvs.Portgroup {
			if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && pg.Key == conn.PortgroupKey {
				if conn.PortKey == "" {
					vnicPortSeq++
					conn.PortKey = strconv.Itoa(vnicPortSeq)
				}
				return nil
			}
		}
		return vnicFault(&types.NotFound{})
	}
	return vnicFault(&types.NotFound{})
}

func (n *vnicNetworkSystem) AddVirtualNic(req *types.AddVirtualNic) soap.HasFault {
	body := new(methods.AddVirtualNicBody)
	s := n.state
	spec := req.Nic
	if fault := vnicCheckSpec(s, &spec, true); fault != nil {
		body.Fault_ = fault
		return body
	}
	if spec.DistributedVirtualPort != nil {
		if req.Portgroup != "" {
			body.Fault_ = vnicInvalid("portgroup")
			return body
		}
		conn := *spec.DistributedVirtualPort
		if fault := vnicConnectDvs(s, &conn); fault != nil {
			body.Fault_ = fault
			return body
		}
		spec.DistributedVirtualPort = &conn
	} else {
		if !vnicStandardPortgroup(s, req.Portgroup) {
			body.Fault_ = vnicFault(&types.NotFound{})
			return body
		}
		if vnicPortgroupInUse(s, req.Portgroup, "") {
			body.Fault_ = vnicFault(&types.AlreadyExists{Name: req.Portgroup})
			return body
		}
		spec.Portgroup = req.Portgroup
	}
	if spec.Mtu == 0 {
		spec.Mtu = 1500
	}
	if spec.NetStackInstanceKey == "" {
		spec.NetStackInstanceKey = "defaultTcpipStack"
	}
	if spec.Ip.Dhcp {
		spec.Ip.IpAddress, spec.Ip.SubnetMask = "", ""
	}
	vnicMacSeq++
	spec.Mac = fmt.Sprintf("00:50:56:6%x:%02x:%02x", (vnicMacSeq>>16)&0xf, (vnicMacSeq>>8)&0xff, vnicMacSeq&0xff)
	var device string
	simulator.Map.WithLock(s.host, func() {
		for i := 0; ; i++ {
			if device = "vmk" + strconv.Itoa(i); vnicIndex(s.host, device) < 0 {
				break
			}
		}
		nic := types.HostVirtualNic{Device: device, Key: "key-vim.host.VirtualNic-" + device, Portgroup: spec.Portgroup, Spec: spec}
		if spec.DistributedVirtualPort == nil {
			nic.Port = "key-vim.host.PortGroup.Port-" + strconv.Itoa(vnicMacSeq+33554436)
		}
		s.host.Config.Network.Vnic = append(s.host.Config.Network.Vnic, nic)
	})
	vnicSync(s)
	body.Res = &types.AddVirtualNicResponse{Returnval: device}
	return body
}

func (n *vnicNetworkSystem) UpdateVirtualNic(req *types.UpdateVirtualNic) soap.HasFault {
	body := new(methods.UpdateVirtualNicBody)
	s := n.state
	i := vnicIndex(s.host, req.Device)
	if i < 0 {
		body.Fault_ = vnicFault(&types.NotFound{})
		return body
	}
	spec := req.Nic
	if fault := vnicCheckSpec(s, &spec, false); fault != nil {
		body.Fault_ = fault
		return body
	}
	current := s.host.Config.Network.Vnic[i]
	if spec.NetStackInstanceKey != "" && spec.NetStackInstanceKey != current.Spec.NetStackInstanceKey {
		body.Fault_ = vnicInvalid("nic.netStackInstanceKey") // an adapter's stack is fixed at creation
		return body
	}
	next := current
	switch {
	case spec.DistributedVirtualPort != nil:
		conn := *spec.DistributedVirtualPort
		if cur := current.Spec.DistributedVirtualPort; cur != nil && cur.SwitchUuid == conn.SwitchUuid && cur.PortgroupKey == conn.PortgroupKey && conn.PortKey == "" {
			conn.PortKey = cur.PortKey
		}
		if fault := vnicConnectDvs(s, &conn); fault != nil {
			body.Fault_ = fault
			return body
		}
		next.Spec.DistributedVirtualPort, next.Spec.Portgroup, next.Portgroup, next.Port = &conn, "", "", ""
	case spec.Portgroup != "":
		if !vnicStandardPortgroup(s, spec.Portgroup) {
			body.Fault_ = vnicFault(&types.NotFound{})
			return body
		}
		if vnicPortgroupInUse(s, spec.Portgroup, req.Device) {
			body.Fault_ = vnicFault(&types.AlreadyExists{Name: spec.Portgroup})
			return body
		}
		if next.Port == "" {
			next.Port = "key-vim.host.PortGroup.Port-" + strconv.Itoa(33554436+i)
		}
		next.Spec.DistributedVirtualPort, next.Spec.Portgroup, next.Portgroup = nil, spec.Portgroup, spec.Portgroup
	}
	if spec.Ip != nil {
		ip := *spec.Ip
		if ip.Dhcp {
			ip.IpAddress, ip.SubnetMask = "", ""
		}
		next.Spec.Ip = &ip
	}
	if spec.Mtu != 0 {
		next.Spec.Mtu = spec.Mtu
	}
	if spec.IpRouteSpec != nil {
		next.Spec.IpRouteSpec = spec.IpRouteSpec
	}
	simulator.Map.WithLock(s.host, func() { s.host.Config.Network.Vnic[i] = next })
	vnicSync(s)
	body.Res = new(types.UpdateVirtualNicResponse)
	return body
}

func (n *vnicNetworkSystem) RemoveVirtualNic(req *types.RemoveVirtualNic) soap.HasFault {
	body := new(methods.RemoveVirtualNicBody)
	s := n.state
	i := vnicIndex(s.host, req.Device)
	if i < 0 {
		body.Fault_ = vnicFault(&types.NotFound{})
		return body
	}
	simulator.Map.WithLock(s.host, func() {
		vnics := s.host.Config.Network.Vnic
		s.host.Config.Network.Vnic = append(append([]types.HostVirtualNic{}, vnics[:i]...), vnics[i+1:]...)
	})
	for nicType, devices := range s.selected {
		s.selected[nicType] = vnicWithout(devices, req.Device)
	}
	vnicSync(s)
	body.Res = new(types.RemoveVirtualNicResponse)
	return body
}

func vnicWithout(devices []string, device string) []string {
	var out []string
	for _, d := range devices {
		if d != device {
			out = append(out, d)
		}
	}
	return out
}

func (s *vnicHost) knownNicType(nicType string) bool {
	for _, t := range s.nicTypes {
		if t == nicType {
			return true
		}
	}
	return false
}

func (m *vnicManager) QueryNetConfig(req *types.QueryNetConfig) soap.HasFault {
	body := new(methods.QueryNetConfigBody)
	for _, nc := range m.Info.NetConfig {
		if nc.NicType == req.NicType {
			config := nc
			body.Res = &types.QueryNetConfigResponse{Returnval: &config}
			return body
		}
	}
	body.Fault_ = vnicInvalid("nicType")
	return body
}

func (m *vnicManager) SelectVnicForNicType(req *types.SelectVnicForNicType) soap.HasFault {
	body := new(methods.SelectVnicForNicTypeBody)
	if fault := m.state.select_(req.NicType, req.Device, "nicType"); fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = new(types.SelectVnicForNicTypeResponse)
	return body
}

func (m *vnicManager) DeselectVnicForNicType(req *types.DeselectVnicForNicType) soap.HasFault {
	body := new(methods.DeselectVnicForNicTypeBody)
	s := m.state
	if !s.knownNicType(req.NicType) {
		body.Fault_ = vnicInvalid("nicType")
		return body
	}
	selected := false
	for _, device := range s.selected[req.NicType] {
		selected = selected || device == req.Device
	}
	if vnicIndex(s.host, req.Device) < 0 || !selected {
		body.Fault_ = vnicInvalid("device") // no such adapter, or not selected for nicType
		return body
	}
	s.selected[req.NicType] = vnicWithout(s.selected[req.NicType], req.Device)
	vnicSync(s)
	body.Res = new(types.DeselectVnicForNicTypeResponse)
	return body
}

// select_ adds device to nicType's selection (kept sorted, as ESXi lists them).
func (s *vnicHost) select_(nicType, device, property string) *soap.Fault {
	if !s.knownNicType(nicType) {
		return vnicInvalid(property)
	}
	if vnicIndex(s.host, device) < 0 {
		return vnicInvalid("device")
	}
	devices := vnicWithout(s.selected[nicType], device)
	devices = append(devices, device)
	sort.Strings(devices)
	s.selected[nicType] = devices
	vnicSync(s)
	return nil
}

// SelectVnic makes device the one adapter carrying vMotion (netConfig.selectedVnic is one value).
func (v *vnicVMotionSystem) SelectVnic(req *types.SelectVnic) soap.HasFault {
	body := new(methods.SelectVnicBody)
	if vnicIndex(v.state.host, req.Device) < 0 {
		body.Fault_ = vnicInvalid("device")
		return body
	}
	v.state.selected["vmotion"] = []string{req.Device}
	vnicSync(v.state)
	body.Res = new(types.SelectVnicResponse)
	return body
}

func (v *vnicVMotionSystem) DeselectVnic(req *types.DeselectVnic) soap.HasFault {
	v.state.selected["vmotion"] = nil
	vnicSync(v.state)
	return &methods.DeselectVnicBody{Res: new(types.DeselectVnicResponse)}
}
