package main

// Gaps of vcsim 0.24.2 that saltext-vmware's esxi.py configuration functions reach, emulated as
// the vSphere API reference documents them (also esxi-config-firmware.go, esxi-config-hosts.go
// and esxi-config-accounts.go):
//   - HostImageConfigManager (vcsim names one per host that does not exist):
//     HostImageConfigGetAcceptance answers the host's acceptance level ("partner" on a new
//     host); UpdateHostImageAcceptanceLevel takes vmware_certified, vmware_accepted, partner or
//     community (InvalidArgument newAcceptanceLevel otherwise) and refuses (HostConfigFault) a
//     level stricter than an installed VIB's, as esxcli's AcceptanceLevelError does;
//     FetchSoftwarePackages lists the installed VIBs and HostImageConfigGetProfile the image
//     profile.
//   - Each host, also one added later, gets its own image config manager and firmware system
//     (vcsim's hosts all name the same ones, which do not exist).

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// cfgLevels are the acceptance levels, most trusted first.
var cfgLevels = []string{"vmware_certified", "vmware_accepted", "partner", "community"}

func cfgLevelRank(level string) int {
	for i, l := range cfgLevels {
		if l == level {
			return i
		}
	}
	return -1
}

// cfgFactorySettings is the advanced options of a new host, copied before any host exists.
var cfgFactorySettings = cfgCopySettings(esx.Setting)

func cfgCopySettings(in []types.BaseOptionValue) []types.BaseOptionValue {
	out := make([]types.BaseOptionValue, 0, len(in))
	for _, o := range in {
		v := *o.GetOptionValue()
		out = append(out, &v)
	}
	return out
}

var cfgStore = struct {
	sync.Mutex
	acceptance map[types.ManagedObjectReference]string // host → level
	downloads  map[string][]byte                       // URL path → bundle
	uploads    map[string][]byte                       // URL path → uploaded bundle
	attached   map[types.ManagedObjectReference]bool   // hosts given managers
	service    *simulator.Service
}{
	acceptance: map[types.ManagedObjectReference]string{},
	downloads:  map[string][]byte{},
	uploads:    map[string][]byte{},
	attached:   map[types.ManagedObjectReference]bool{},
}

type cfgImageConfigManager struct {
	mo.HostImageConfigManager
	host types.ManagedObjectReference
}

type cfgFirmwareSystem struct {
	mo.HostFirmwareSystem
	host types.ManagedObjectReference
}

func init() {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		cfgStore.Lock()
		cfgStore.service = s
		cfgStore.Unlock()
		cfgAttachManagers()
		s.HandleFunc("/downloads/", cfgServeDownload)
		s.HandleFunc("/tmp/", cfgServeUpload)
	})
}

// cfgAttachManagers gives each host of the model its own image config manager and firmware
// system; hosts put in the registry later (AddHost_Task) get theirs on the next request.
func cfgAttachManagers() {
	for _, obj := range simulator.Map.All("HostSystem") {
		cfgAttach(obj.Reference())
	}
	simulator.Map.AddHandler(cfgNewHosts{})
}

// cfgNewHosts queues the hosts put in the registry.
type cfgNewHosts struct{}

var cfgPending struct {
	sync.Mutex
	hosts []types.ManagedObjectReference
}

func (cfgNewHosts) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "BrineEsxiConfigHosts", Value: "brine-esxi-config-hosts"}
}
func (cfgNewHosts) PutObject(o mo.Reference) {
	if ref := o.Reference(); ref.Type == "HostSystem" {
		cfgPending.Lock()
		cfgPending.hosts = append(cfgPending.hosts, ref)
		cfgPending.Unlock()
	}
}
func (cfgNewHosts) UpdateObject(mo.Reference, []types.PropertyChange) {}
func (cfgNewHosts) RemoveObject(types.ManagedObjectReference)         {}

func cfgAttachPending() {
	cfgPending.Lock()
	hosts := cfgPending.hosts
	cfgPending.hosts = nil
	cfgPending.Unlock()
	for _, ref := range hosts {
		cfgAttach(ref)
	}
}

func cfgAttach(ref types.ManagedObjectReference) {
	host, ok := simulator.Map.Get(ref).(*simulator.HostSystem)
	if !ok {
		return
	}
	cfgStore.Lock()
	done := cfgStore.attached[host.Self]
	cfgStore.attached[host.Self] = true
	if !done {
		cfgStore.acceptance[host.Self] = "partner"
	}
	cfgStore.Unlock()
	if done {
		return
	}
	image := types.ManagedObjectReference{Type: "HostImageConfigManager", Value: "ha-image-config-manager"}
	firmware := types.ManagedObjectReference{Type: "HostFirmwareSystem", Value: "ha-firmwareSystem"}
	if !simulator.Map.IsESX() {
		image.Value = "imageConfigManager-" + host.Self.Value
		firmware.Value = "firmwareSystem-" + host.Self.Value
	}
	simulator.Map.Put(&cfgImageConfigManager{HostImageConfigManager: mo.HostImageConfigManager{Self: image}, host: host.Self})
	simulator.Map.Put(&cfgFirmwareSystem{HostFirmwareSystem: mo.HostFirmwareSystem{Self: firmware}, host: host.Self})
	simulator.Map.WithLock(host, func() {
		host.ConfigManager.ImageConfigManager = &image
		host.ConfigManager.FirmwareSystem = &firmware
	})
}

func cfgHost(ref types.ManagedObjectReference) *simulator.HostSystem {
	host, _ := simulator.Map.Get(ref).(*simulator.HostSystem)
	return host
}

// --- HostImageConfigManager ---

func (m *cfgImageConfigManager) HostImageConfigGetAcceptance(req *types.HostImageConfigGetAcceptance) soap.HasFault {
	cfgStore.Lock()
	level := cfgStore.acceptance[m.host]
	cfgStore.Unlock()
	return &methods.HostImageConfigGetAcceptanceBody{Res: &types.HostImageConfigGetAcceptanceResponse{Returnval: level}}
}

func (m *cfgImageConfigManager) UpdateHostImageAcceptanceLevel(req *types.UpdateHostImageAcceptanceLevel) soap.HasFault {
	body := new(methods.UpdateHostImageAcceptanceLevelBody)
	rank := cfgLevelRank(req.NewAcceptanceLevel)
	if rank < 0 {
		body.Fault_ = simulator.Fault(fmt.Sprintf("Invalid acceptance level '%s': one of %s", req.NewAcceptanceLevel, strings.Join(cfgLevels, ", ")),
			&types.InvalidArgument{InvalidProperty: "newAcceptanceLevel"})
		return body
	}
	for _, pkg := range cfgPackages() {
		if cfgLevelRank(pkg.AcceptanceLevel) > rank {
			body.Fault_ = simulator.Fault(fmt.Sprintf("[AcceptanceLevelError] VIB %s's acceptance level is %s, which is not compliant with the host acceptance level %s",
				pkg.Name, pkg.AcceptanceLevel, req.NewAcceptanceLevel), &types.HostConfigFault{})
			return body
		}
	}
	cfgStore.Lock()
	cfgStore.acceptance[m.host] = req.NewAcceptanceLevel
	cfgStore.Unlock()
	body.Res = new(types.UpdateHostImageAcceptanceLevelResponse)
	return body
}

func (m *cfgImageConfigManager) HostImageConfigGetProfile(req *types.HostImageConfigGetProfile) soap.HasFault {
	return &methods.HostImageConfigGetProfileBody{Res: &types.HostImageConfigGetProfileResponse{
		Returnval: types.HostImageProfileSummary{Name: "ESXi-6.5.0-20170702001-standard", Vendor: "VMware, Inc."},
	}}
}

// cfgPackages is a part of what an ESXi 6.5 host with a vendor agent installed lists.
func cfgPackages() []types.SoftwarePackage {
	created := func(s string) *time.Time {
		t, _ := time.Parse(time.RFC3339, s)
		return &t
	}
	yes, no := types.NewBool(true), types.NewBool(false)
	return []types.SoftwarePackage{
		{Name: "esx-base", Version: "6.5.0-0.23.5969303", Type: "bootbank", Vendor: "VMware", AcceptanceLevel: "vmware_certified",
			Summary: "ESXi: The core of ESXi", Description: "The base ESXi system: VMkernel, hostd and the system libraries.",
			CreationDate: created("2017-06-23T21:39:40Z"), MaintenanceModeRequired: yes},
		{Name: "esx-ui", Version: "1.21.0-5724747", Type: "bootbank", Vendor: "VMware", AcceptanceLevel: "vmware_certified",
			Summary: "VMware Host Client", Description: "An HTML5 client for managing a single ESXi host.",
			CreationDate: created("2017-06-07T10:11:20Z"), MaintenanceModeRequired: no},
		{Name: "vsan", Version: "6.5.0-0.23.5969303", Type: "bootbank", Vendor: "VMware", AcceptanceLevel: "vmware_certified",
			Summary: "ESXi VSAN", Description: "Virtual SAN for ESXi.",
			CreationDate: created("2017-06-23T21:39:40Z"), MaintenanceModeRequired: yes},
		{Name: "tools-light", Version: "6.5.0-0.23.5969300", Type: "bootbank", Vendor: "VMware", AcceptanceLevel: "vmware_certified",
			Summary: "VMware Tools for guests", Description: "VMware Tools ISO images for supported guest operating systems.",
			CreationDate: created("2017-06-23T21:35:12Z"), MaintenanceModeRequired: no},
		{Name: "nvme", Version: "1.2.0.32-4vmw.650.1.26.5969303", Type: "bootbank", Vendor: "VMware", AcceptanceLevel: "vmware_certified",
			Summary: "NVMe driver", Description: "Native driver for NVM Express controllers.",
			CreationDate: created("2017-06-23T21:36:01Z"), MaintenanceModeRequired: yes},
		{Name: "dcism", Version: "3.0.0.ESXi6-1184", Type: "bootbank", Vendor: "Dell", AcceptanceLevel: "partner",
			Summary: "iDRAC Service Module for VMware ESXi", Description: "Dell iDRAC Service Module: OS information and alerts for the iDRAC.",
			CreationDate: created("2017-05-04T08:23:54Z"), MaintenanceModeRequired: no},
	}
}

// --- the requests answered before vcsim sees them (called from main.go's handler) ---

// esxiConfigRequest answers host power operations, MoveInto_Task, AddHost thumbprint checks,
// FetchSoftwarePackages and the account calls of esxi-config-accounts.go; false leaves the
// request to vcsim.
func esxiConfigRequest(w http.ResponseWriter, body []byte) bool {
	cfgAttachPending()
	var element string
	for _, name := range []string{"RebootHost_Task", "ShutdownHost_Task", "PowerDownHostToStandBy_Task", "PowerUpHostFromStandBy_Task", "MoveInto_Task", "AddHost_Task", "AddStandaloneHost_Task"} {
		if bytes.Contains(body, []byte("<"+name)) {
			element = name
			break
		}
	}
	if element == "" {
		return cfgFetchPackages(w, body) || cfgAccounts(w, body)
	}
	switch element {
	case "MoveInto_Task":
		return cfgMoveInto(w, body)
	case "AddHost_Task", "AddStandaloneHost_Task":
		return cfgCheckThumbprint(w, body, element)
	}
	var req struct {
		Body struct {
			Call struct {
				This  types.ManagedObjectReference `xml:"_this"`
				Force bool                         `xml:"force"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &req) != nil {
		return false
	}
	host := cfgHost(req.Body.Call.This)
	if host == nil {
		return false
	}
	force := req.Body.Call.Force
	cfgRunTask(w, host, element, func() (types.BaseMethodFault, string) { return cfgPower(host, element, force) })
	return true
}

// cfgRunTask runs a task of obj whose fault, if any, carries message (vcsim's says only the
// fault's Go type) and writes the <element>Response naming it.
func cfgRunTask(w http.ResponseWriter, obj mo.Reference, element string, run func() (types.BaseMethodFault, string)) {
	message := ""
	task := simulator.CreateTask(obj, strings.TrimSuffix(element, "_Task"), func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		fault, text := run()
		message = text
		return nil, fault
	})
	ref := task.Run()
	if message != "" {
		if t, ok := simulator.Map.Get(ref).(*simulator.Task); ok {
			simulator.Map.WithLock(t, func() {
				if t.Info.Error != nil {
					t.Info.Error.LocalizedMessage = message
				}
			})
		}
	}
	writeResponse(w, element+"Response", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, ref.Value))
}

// cfgFetchPackages answers FetchSoftwarePackages (0.24.2 has no request type for it, so
// vcsim cannot dispatch it to the manager).
func cfgFetchPackages(w http.ResponseWriter, body []byte) bool {
	if !bytes.Contains(body, []byte("<FetchSoftwarePackages")) {
		return false
	}
	this, ok := thisOf(body)
	if !ok {
		return false
	}
	if _, ok := simulator.Map.Get(this).(*cfgImageConfigManager); !ok {
		return false
	}
	var inner bytes.Buffer
	for _, pkg := range cfgPackages() {
		out, err := xml.Marshal(struct {
			XMLName xml.Name `xml:"returnval"`
			types.SoftwarePackage
		}{SoftwarePackage: pkg})
		if err == nil {
			inner.Write(out)
		}
	}
	writeResponse(w, "FetchSoftwarePackagesResponse", inner.String())
	return true
}
