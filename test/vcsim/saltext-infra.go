package main

// Gaps of vcsim 0.24.2 that saltext-vmware's cluster and license functions reach:
//   - LicenseAssignmentManager answers only QueryAssignedLicenses, and always with the
//     evaluation license; vCenter also assigns a license to an entity (UpdateAssignedLicense:
//     a host or cluster by its moref value, vCenter by its instance uuid; the key must be
//     installed) and takes it back (RemoveAssignedLicense), and QueryAssignedLicenses then
//     reports the assigned key.
//   - ReconfigureComputeResource_Task applies neither DRS nor HA advanced options, nor HA's VM
//     monitoring, component protection, default VM settings or admission control policy;
//     vCenter keeps each setting given and leaves the others (modify: true), options merged
//     by key. (main.go's applyClusterSpec applies the simple DRS/HA fields.)

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// The simulator's type is embedded by value: vcsim's registry reaches managed objects'
// embedded mo types through value embedding (FindAllByIp and other searches walk every
// object); a pointer here made them panic.
type licenseAssignmentManager struct {
	simulator.LicenseAssignmentManager
	mu       sync.Mutex
	assigned map[string]string // entity id → license key
}

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		lm := licenseManager()
		if lm == nil || lm.LicenseAssignmentManager == nil {
			return // an ESXi model has no assignment manager
		}
		if m, ok := r.Get(*lm.LicenseAssignmentManager).(*simulator.LicenseAssignmentManager); ok {
			r.Put(&licenseAssignmentManager{LicenseAssignmentManager: *m, assigned: map[string]string{}})
		}
	})
}

var serviceInstanceRef = types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}

func serviceContent() *types.ServiceContent {
	if si, ok := simulator.Map.Get(serviceInstanceRef).(*simulator.ServiceInstance); ok {
		return &si.Content
	}
	return nil
}

func licenseManager() *simulator.LicenseManager {
	if c := serviceContent(); c != nil && c.LicenseManager != nil {
		lm, _ := simulator.Map.Get(*c.LicenseManager).(*simulator.LicenseManager)
		return lm
	}
	return nil
}

// installedLicense is the LicenseManager's entry for key, if installed.
func installedLicense(key string) (types.LicenseManagerLicenseInfo, bool) {
	if m := licenseManager(); m != nil {
		for _, l := range m.Licenses {
			if l.LicenseKey == key {
				return l, true
			}
		}
	}
	return types.LicenseManagerLicenseInfo{}, false
}

// licensable is vCenter's instance uuid, or the moref value of a host or cluster.
func licensable(id string) (string, bool) {
	if c := serviceContent(); c != nil && id == c.About.InstanceUuid {
		return "vCenter", true
	}
	for _, kind := range []string{"HostSystem", "ClusterComputeResource"} {
		if e, ok := simulator.Map.Get(types.ManagedObjectReference{Type: kind, Value: id}).(mo.Entity); ok {
			return e.Entity().Name, true
		}
	}
	return "", false
}

func (m *licenseAssignmentManager) UpdateAssignedLicense(req *types.UpdateAssignedLicense) soap.HasFault {
	body := new(methods.UpdateAssignedLicenseBody)
	if _, ok := licensable(req.Entity); !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "entity"})
		return body
	}
	info, ok := installedLicense(req.LicenseKey)
	if !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "licenseKey"})
		return body
	}
	m.mu.Lock()
	m.assigned[req.Entity] = req.LicenseKey
	m.mu.Unlock()
	body.Res = &types.UpdateAssignedLicenseResponse{Returnval: info}
	return body
}

func (m *licenseAssignmentManager) RemoveAssignedLicense(req *types.RemoveAssignedLicense) soap.HasFault {
	body := new(methods.RemoveAssignedLicenseBody)
	if _, ok := licensable(req.EntityId); !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "entityId"})
		return body
	}
	m.mu.Lock()
	delete(m.assigned, req.EntityId)
	m.mu.Unlock()
	body.Res = new(types.RemoveAssignedLicenseResponse)
	return body
}

func (m *licenseAssignmentManager) QueryAssignedLicenses(req *types.QueryAssignedLicenses) soap.HasFault {
	body := &methods.QueryAssignedLicensesBody{Res: new(types.QueryAssignedLicensesResponse)}
	m.mu.Lock()
	defer m.mu.Unlock()
	assignment := func(id string) types.LicenseAssignmentManagerLicenseAssignment {
		name, _ := licensable(id)
		license := simulator.EvalLicense
		if key, ok := m.assigned[id]; ok {
			if info, ok := installedLicense(key); ok {
				license = info
			}
		}
		return types.LicenseAssignmentManagerLicenseAssignment{EntityId: id, EntityDisplayName: name, AssignedLicense: license}
	}
	if req.EntityId != "" {
		if _, ok := licensable(req.EntityId); ok {
			body.Res.Returnval = append(body.Res.Returnval, assignment(req.EntityId))
		}
		return body
	}
	for id := range m.assigned {
		body.Res.Returnval = append(body.Res.Returnval, assignment(id))
	}
	return body
}

// clusterExtras is the part of a ClusterConfigSpecEx that applyClusterSpec leaves out.
type clusterExtras struct {
	Drs *struct {
		Option []optionXML `xml:"option"`
	} `xml:"drsConfig"`
	Das *struct {
		VmMonitoring          string `xml:"vmMonitoring"`
		VmComponentProtecting string `xml:"vmComponentProtecting"`
		Policy                *struct {
			Type              string                         `xml:"type,attr"`
			ResourceReduction *int32                         `xml:"resourceReductionToToleratePercent"`
			FailoverLevel     *int32                         `xml:"failoverLevel"`
			FailoverHosts     []types.ManagedObjectReference `xml:"failoverHosts"`
			Cpu               *int32                         `xml:"cpuFailoverResourcesPercent"`
			Memory            *int32                         `xml:"memoryFailoverResourcesPercent"`
			AutoCompute       *bool                          `xml:"autoComputePercentages"`
		} `xml:"admissionControlPolicy"`
		VmSettings *struct {
			RestartPriority        string `xml:"restartPriority"`
			RestartPriorityTimeout *int32 `xml:"restartPriorityTimeout"`
			IsolationResponse      string `xml:"isolationResponse"`
			Tools                  *struct {
				VmMonitoring     string `xml:"vmMonitoring"`
				FailureInterval  *int32 `xml:"failureInterval"`
				MinUpTime        *int32 `xml:"minUpTime"`
				MaxFailures      *int32 `xml:"maxFailures"`
				MaxFailureWindow *int32 `xml:"maxFailureWindow"`
			} `xml:"vmToolsMonitoringSettings"`
			Protection *struct {
				ForAPD     string `xml:"vmStorageProtectionForAPD"`
				APDTimeout *bool  `xml:"enableAPDTimeoutForHosts"`
				Delay      *int32 `xml:"vmTerminateDelayForAPDSec"`
				APDCleared string `xml:"vmReactionOnAPDCleared"`
				ForPDL     string `xml:"vmStorageProtectionForPDL"`
			} `xml:"vmComponentProtectionSettings"`
		} `xml:"defaultVmSettings"`
		Option []optionXML `xml:"option"`
	} `xml:"dasConfig"`
}

type optionXML struct {
	Key   string `xml:"key"`
	Value struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"value"`
}

// value is the option's value in its xsi:type, as vCenter stores it.
func (o optionXML) value() types.AnyType {
	text := o.Value.Text
	switch o.Value.Type {
	case "xsd:int", "xsd:short", "xsd:byte":
		if n, err := strconv.ParseInt(text, 10, 32); err == nil {
			return int32(n)
		}
	case "xsd:long":
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	case "xsd:boolean":
		return text == "true" || text == "1"
	case "xsd:double", "xsd:float":
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	}
	return text
}

func mergeOptions(current []types.BaseOptionValue, given []optionXML) []types.BaseOptionValue {
	for _, o := range given {
		replaced := false
		for i, c := range current {
			if c.GetOptionValue().Key == o.Key {
				current[i] = &types.OptionValue{Key: o.Key, Value: o.value()}
				replaced = true
			}
		}
		if !replaced {
			current = append(current, &types.OptionValue{Key: o.Key, Value: o.value()})
		}
	}
	return current
}

func setInt(dst *int32, src *int32) {
	if src != nil {
		*dst = *src
	}
}

func setText(dst *string, src string) {
	if src != "" {
		*dst = src
	}
}

// applyClusterExtras applies clusterExtras of a ReconfigureComputeResource_Task before vcsim
// runs the task (as applyClusterSpec does for the simple fields).
func applyClusterExtras(body []byte) {
	if !bytes.Contains(body, []byte("<ReconfigureComputeResource_Task")) {
		return
	}
	var req struct {
		Call struct {
			This types.ManagedObjectReference `xml:"_this"`
			Spec clusterExtras                `xml:"spec"`
		} `xml:"Body>ReconfigureComputeResource_Task"`
	}
	if xml.Unmarshal(body, &req) != nil {
		return
	}
	cluster, ok := simulator.Map.Get(req.Call.This).(*simulator.ClusterComputeResource)
	if !ok {
		return
	}
	spec := req.Call.Spec
	simulator.Map.WithLock(cluster, func() {
		cfg, ok := cluster.ConfigurationEx.(*types.ClusterConfigInfoEx)
		if !ok {
			return
		}
		if d := spec.Drs; d != nil && len(d.Option) > 0 {
			cfg.DrsConfig.Option = mergeOptions(cfg.DrsConfig.Option, d.Option)
		}
		a := spec.Das
		if a == nil {
			return
		}
		das := &cfg.DasConfig
		setText(&das.VmMonitoring, a.VmMonitoring)
		setText(&das.VmComponentProtecting, a.VmComponentProtecting)
		if len(a.Option) > 0 {
			das.Option = mergeOptions(das.Option, a.Option)
		}
		if p := a.Policy; p != nil {
			base := types.ClusterDasAdmissionControlPolicy{ResourceReductionToToleratePercent: p.ResourceReduction}
			level := int32(1)
			setInt(&level, p.FailoverLevel)
			switch p.Type {
			case "ClusterFailoverLevelAdmissionControlPolicy":
				das.AdmissionControlPolicy = &types.ClusterFailoverLevelAdmissionControlPolicy{ClusterDasAdmissionControlPolicy: base, FailoverLevel: level}
			case "ClusterFailoverHostAdmissionControlPolicy":
				das.AdmissionControlPolicy = &types.ClusterFailoverHostAdmissionControlPolicy{ClusterDasAdmissionControlPolicy: base, FailoverHosts: p.FailoverHosts, FailoverLevel: level}
			case "ClusterFailoverResourcesAdmissionControlPolicy":
				policy := &types.ClusterFailoverResourcesAdmissionControlPolicy{ClusterDasAdmissionControlPolicy: base, FailoverLevel: level, AutoComputePercentages: p.AutoCompute}
				setInt(&policy.CpuFailoverResourcesPercent, p.Cpu)
				setInt(&policy.MemoryFailoverResourcesPercent, p.Memory)
				das.AdmissionControlPolicy = policy
			}
		}
		if v := a.VmSettings; v != nil {
			if das.DefaultVmSettings == nil {
				das.DefaultVmSettings = new(types.ClusterDasVmSettings)
			}
			vm := das.DefaultVmSettings
			setText(&vm.RestartPriority, v.RestartPriority)
			setInt(&vm.RestartPriorityTimeout, v.RestartPriorityTimeout)
			setText(&vm.IsolationResponse, v.IsolationResponse)
			if t := v.Tools; t != nil {
				if vm.VmToolsMonitoringSettings == nil {
					vm.VmToolsMonitoringSettings = new(types.ClusterVmToolsMonitoringSettings)
				}
				tools := vm.VmToolsMonitoringSettings
				setText(&tools.VmMonitoring, t.VmMonitoring)
				setInt(&tools.FailureInterval, t.FailureInterval)
				setInt(&tools.MinUpTime, t.MinUpTime)
				setInt(&tools.MaxFailures, t.MaxFailures)
				setInt(&tools.MaxFailureWindow, t.MaxFailureWindow)
			}
			if c := v.Protection; c != nil {
				if vm.VmComponentProtectionSettings == nil {
					vm.VmComponentProtectionSettings = new(types.ClusterVmComponentProtectionSettings)
				}
				protection := vm.VmComponentProtectionSettings
				setText(&protection.VmStorageProtectionForAPD, c.ForAPD)
				if c.APDTimeout != nil {
					protection.EnableAPDTimeoutForHosts = c.APDTimeout
				}
				setInt(&protection.VmTerminateDelayForAPDSec, c.Delay)
				setText(&protection.VmReactionOnAPDCleared, c.APDCleared)
				setText(&protection.VmStorageProtectionForPDL, c.ForPDL)
			}
		}
	})
}
