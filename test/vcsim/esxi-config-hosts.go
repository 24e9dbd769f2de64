package main

// HostSystem and cluster operations vcsim 0.24.2 lacks, as the vSphere API reference documents
// them:
//   - Power operations (MethodNotFound in 0.24.2): RebootHost_Task and ShutdownHost_Task need
//     maintenance mode unless force (InvalidState); a reboot powers off the host's VMs and sets
//     a new boot time, a shutdown leaves the host poweredOff (and, seen from vCenter,
//     notResponding). PowerDownHostToStandBy_Task puts a host that runs no VM in standBy
//     (InvalidState while VMs run: vcsim has no DRS to move them); PowerUpHostFromStandBy_Task
//     wakes a host in standBy (InvalidState otherwise) and is vCenter's to do (NotSupported on
//     a host's own endpoint). A host that is not connected answers HostNotConnected.
//   - ClusterComputeResource.MoveInto_Task (MethodNotFound in 0.24.2): moves hosts of the same
//     datacenter (InvalidArgument otherwise) into the cluster; a host of another cluster must be
//     in maintenance mode (InvalidState); a standalone host's ComputeResource goes away; the
//     host's VMs move to the cluster's root resource pool.
//   - AddHost_Task and AddStandaloneHost_Task with an sslThumbprint: vCenter connects to the
//     host (hostName:port) and compares its certificate; a mismatch answers SSLVerifyFault
//     naming the host's thumbprint, an unreachable host HostConnectFault. Without a
//     thumbprint vcsim's own behaviour (no check) is kept.

import (
	"crypto/sha1"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func cfgPower(host *simulator.HostSystem, op string, force bool) (types.BaseMethodFault, string) {
	vpx := simulator.Map.IsVPX()
	if host.Runtime.ConnectionState != types.HostSystemConnectionStateConnected {
		return &types.HostNotConnected{}, fmt.Sprintf("Host %s is not connected.", host.Name)
	}
	power := host.Runtime.PowerState
	switch op {
	case "RebootHost_Task", "ShutdownHost_Task":
		if power != types.HostSystemPowerStatePoweredOn {
			return &types.InvalidState{}, fmt.Sprintf("Host %s is %s.", host.Name, power)
		}
		if !force && !host.Runtime.InMaintenanceMode {
			return &types.InvalidState{}, fmt.Sprintf("Host %s is not in maintenance mode.", host.Name)
		}
		cfgPowerOffVMs(host)
		if op == "RebootHost_Task" {
			simulator.Map.Update(host, []types.PropertyChange{{Name: "runtime.bootTime", Val: time.Now()}})
			return nil, ""
		}
		changes := []types.PropertyChange{
			{Name: "runtime.powerState", Val: types.HostSystemPowerStatePoweredOff},
			{Name: "summary.runtime.powerState", Val: types.HostSystemPowerStatePoweredOff},
		}
		if vpx {
			changes = append(changes,
				types.PropertyChange{Name: "runtime.connectionState", Val: types.HostSystemConnectionStateNotResponding},
				types.PropertyChange{Name: "summary.runtime.connectionState", Val: types.HostSystemConnectionStateNotResponding})
		}
		simulator.Map.Update(host, changes)
	case "PowerDownHostToStandBy_Task":
		if power != types.HostSystemPowerStatePoweredOn {
			return &types.InvalidState{}, fmt.Sprintf("Host %s is %s.", host.Name, power)
		}
		for _, ref := range host.Vm {
			if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
				return &types.InvalidState{}, fmt.Sprintf("Virtual machine %s runs on host %s and no DRS can move it.", vm.Name, host.Name)
			}
		}
		simulator.Map.Update(host, []types.PropertyChange{
			{Name: "runtime.powerState", Val: types.HostSystemPowerStateStandBy},
			{Name: "summary.runtime.powerState", Val: types.HostSystemPowerStateStandBy},
		})
	case "PowerUpHostFromStandBy_Task":
		if !vpx {
			return &types.NotSupported{}, "Only vCenter can wake a host from standby."
		}
		if power != types.HostSystemPowerStateStandBy {
			return &types.InvalidState{}, fmt.Sprintf("Host %s is %s, not in standby.", host.Name, power)
		}
		simulator.Map.Update(host, []types.PropertyChange{
			{Name: "runtime.powerState", Val: types.HostSystemPowerStatePoweredOn},
			{Name: "summary.runtime.powerState", Val: types.HostSystemPowerStatePoweredOn},
			{Name: "runtime.bootTime", Val: time.Now()},
		})
	}
	return nil, ""
}

func cfgPowerOffVMs(host *simulator.HostSystem) {
	for _, ref := range host.Vm {
		vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
		if !ok || vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			continue
		}
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff},
			{Name: "summary.runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff},
		})
	}
}

// cfgDatacenter is the datacenter holding an entity.
func cfgDatacenter(ref types.ManagedObjectReference) *types.ManagedObjectReference {
	for i := 0; i < 64; i++ {
		if ref.Type == "Datacenter" {
			return &ref
		}
		entity, ok := simulator.Map.Get(ref).(mo.Entity)
		if !ok || entity.Entity().Parent == nil {
			return nil
		}
		ref = *entity.Entity().Parent
	}
	return nil
}

func cfgMoveInto(w http.ResponseWriter, body []byte) bool {
	var req struct {
		Call struct {
			This types.ManagedObjectReference   `xml:"_this"`
			Host []types.ManagedObjectReference `xml:"host"`
		} `xml:"Body>MoveInto_Task"`
	}
	if xml.Unmarshal(body, &req) != nil {
		return false
	}
	cluster, ok := simulator.Map.Get(req.Call.This).(*simulator.ClusterComputeResource)
	if !ok {
		return false
	}
	cfgRunTask(w, cluster, "MoveInto_Task", func() (types.BaseMethodFault, string) {
		var hosts []*simulator.HostSystem
		dc := cfgDatacenter(cluster.Self)
		for _, ref := range req.Call.Host {
			host := cfgHost(ref)
			if host == nil || host.Parent == nil {
				return &types.InvalidArgument{InvalidProperty: "host"}, fmt.Sprintf("%s is not a host.", ref.Value)
			}
			if hdc := cfgDatacenter(host.Self); hdc == nil || dc == nil || *hdc != *dc {
				return &types.InvalidArgument{InvalidProperty: "host"}, fmt.Sprintf("Host %s is not in the datacenter of cluster %s.", host.Name, cluster.Name)
			}
			if host.Parent.Type == "ClusterComputeResource" && *host.Parent != cluster.Self && !host.Runtime.InMaintenanceMode {
				return &types.InvalidState{}, fmt.Sprintf("Host %s is in another cluster and not in maintenance mode.", host.Name)
			}
			hosts = append(hosts, host)
		}
		for _, host := range hosts {
			if *host.Parent != cluster.Self {
				cfgMoveHost(host, cluster)
			}
		}
		return nil, ""
	})
	return true
}

func cfgMoveHost(host *simulator.HostSystem, cluster *simulator.ClusterComputeResource) {
	root, _ := simulator.Map.Get(*cluster.ResourcePool).(*simulator.ResourcePool)
	from := *host.Parent
	switch old := simulator.Map.Get(from).(type) {
	case *mo.ComputeResource:
		// The standalone host's compute resource (and its pool) goes away.
		if old.Parent != nil {
			if folder, ok := simulator.Map.Get(*old.Parent).(*simulator.Folder); ok {
				simulator.Map.RemoveReference(folder, &folder.ChildEntity, old.Self)
			}
		}
		if old.ResourcePool != nil {
			simulator.Map.Remove(*old.ResourcePool)
		}
		simulator.Map.Remove(old.Self)
	case *simulator.ClusterComputeResource:
		simulator.Map.RemoveReference(old, &old.Host, host.Self)
	}
	if root != nil {
		for _, ref := range host.Vm {
			vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
			if !ok {
				continue
			}
			if vm.ResourcePool != nil {
				if pool, ok := simulator.Map.Get(*vm.ResourcePool).(*simulator.ResourcePool); ok {
					simulator.Map.RemoveReference(pool, &pool.Vm, ref)
				}
			}
			simulator.Map.AddReference(root, &root.Vm, ref)
			simulator.Map.Update(vm, []types.PropertyChange{{Name: "resourcePool", Val: root.Self}})
		}
	}
	simulator.Map.AddReference(cluster, &cluster.Host, host.Self)
	for _, ds := range host.Datastore {
		simulator.Map.AddReference(cluster, &cluster.Datastore, ds)
	}
	simulator.Map.Update(host, []types.PropertyChange{{Name: "parent", Val: cluster.Self}})
}

// cfgCheckThumbprint compares a given sslThumbprint with the certificate hostName:port serves.
func cfgCheckThumbprint(w http.ResponseWriter, body []byte, element string) bool {
	var req struct {
		Body struct {
			Call struct {
				Spec struct {
					HostName      string `xml:"hostName"`
					Port          int32  `xml:"port"`
					SslThumbprint string `xml:"sslThumbprint"`
				} `xml:"spec"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &req) != nil || req.Body.Call.Spec.SslThumbprint == "" {
		return false
	}
	spec := req.Body.Call.Spec
	port := spec.Port
	if port == 0 {
		port = 443
	}
	address := net.JoinHostPort(spec.HostName, strconv.Itoa(int(port)))
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", address, &tls.Config{InsecureSkipVerify: true})
	var fault types.BaseMethodFault
	message := ""
	if err != nil {
		fault = &types.HostConnectFault{}
		message = fmt.Sprintf("Cannot contact the specified host (%s).", spec.HostName)
	} else {
		sum := sha1.Sum(conn.ConnectionState().PeerCertificates[0].Raw)
		_ = conn.Close()
		pairs := make([]string, len(sum))
		for i, b := range sum {
			pairs[i] = fmt.Sprintf("%02X", b)
		}
		actual := strings.Join(pairs, ":")
		if strings.EqualFold(strings.ReplaceAll(actual, ":", ""), strings.ReplaceAll(spec.SslThumbprint, ":", "")) {
			return false
		}
		fault = &types.SSLVerifyFault{SelfSigned: true, Thumbprint: actual}
		message = fmt.Sprintf("Authenticity of the host's SSL certificate is not verified: its thumbprint is %s.", actual)
	}
	this, ok := thisOf(body)
	target := simulator.Map.Get(this)
	if !ok || target == nil {
		return false
	}
	cfgRunTask(w, target, element, func() (types.BaseMethodFault, string) { return fault, message })
	return true
}
