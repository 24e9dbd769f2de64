package main

// Gaps of vcsim 0.24.2 that saltext-vmware's esxi.py configuration functions reach, emulated as
// the vSphere API reference documents them:
//   - HostImageConfigManager (vcsim names one per host that does not exist):
//     HostImageConfigGetAcceptance answers the host's acceptance level ("partner" on a new
//     host); UpdateHostImageAcceptanceLevel takes vmware_certified, vmware_accepted, partner or
//     community (InvalidArgument newAcceptanceLevel otherwise) and refuses (HostConfigFault) a
//     level stricter than an installed VIB's, as esxcli's AcceptanceLevelError does;
//     FetchSoftwarePackages lists the installed VIBs and HostImageConfigGetProfile the image
//     profile.
//   - HostFirmwareSystem (absent): BackupFirmwareConfiguration writes a configuration bundle
//     (a .tgz holding the host's uuid and build, its acceptance level and its advanced
//     options) and answers the URL it downloads from, `http://*/downloads/<uuid>/configBundle-
//     <host>.tgz` (`*` standing for the host's address); QueryFirmwareConfigUploadURL answers
//     where a bundle is PUT (HTTP basic authentication with the host's credentials);
//     RestoreFirmwareConfiguration applies the uploaded bundle and reboots the host: it needs
//     maintenance mode (InvalidState), an uploaded bundle (FileNotFound), a readable one
//     (InvalidBundle), and one from this host unless force (MismatchedBundle);
//     ResetFirmwareToFactoryDefaults (maintenance mode too) restores the factory acceptance
//     level and advanced options and reboots. One simulator plays every host of a vCenter,
//     so each host's upload path names its moref.
//   - HostSystem power operations (MethodNotFound in 0.24.2): RebootHost_Task and
//     ShutdownHost_Task need maintenance mode unless force (InvalidState); a reboot powers off
//     the host's VMs and sets a new boot time, a shutdown leaves the host poweredOff (and, seen
//     from vCenter, notResponding). PowerDownHostToStandBy_Task puts a host that runs no VM in
//     standBy (InvalidState while VMs run: vcsim has no DRS to move them);
//     PowerUpHostFromStandBy_Task wakes a host in standBy (InvalidState otherwise) and is
//     vCenter's to do (NotSupported on a host's own endpoint). A host that is not connected
//     answers HostNotConnected.
//   - ClusterComputeResource.MoveInto_Task (MethodNotFound in 0.24.2): moves hosts of the same
//     datacenter (InvalidArgument otherwise) into the cluster; a host of another cluster must be
//     in maintenance mode (InvalidState); a standalone host's ComputeResource goes away; the
//     host's VMs move to the cluster's root resource pool.
//   - Local account passwords (vcsim accepts any password): a password given to CreateUser or
//     UpdateUser is the one Login then accepts for that user (InvalidLogin otherwise), and
//     the one -username/-password set is replaced when that user's changes; UpdateUser of a
//     user that does not exist answers UserNotFound, as ESXi does.
//   - AddHost_Task and AddStandaloneHost_Task with an sslThumbprint: vCenter connects to the
//     host (hostName:port) and compares its certificate; a mismatch answers SSLVerifyFault
//     naming the host's thumbprint, an unreachable host HostConnectFault. Without a
//     thumbprint vcsim's own behaviour (no check) is kept.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
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

// --- HostFirmwareSystem ---

type cfgBundleState struct {
	Host       string          `json:"host"`
	Uuid       string          `json:"uuid"`
	Build      string          `json:"build"`
	Acceptance string          `json:"acceptanceLevel"`
	Options    []cfgOptionJSON `json:"advancedOptions"`
}

type cfgOptionJSON struct {
	Key   string      `json:"key"`
	Type  string      `json:"type"`
	Value interface{} `json:"value"`
}

// cfgOptions is the host's advanced option manager and its Setting field, whatever type
// embeds vcsim's OptionManager.
func cfgOptions(host *simulator.HostSystem) (mo.Reference, reflect.Value) {
	if host.ConfigManager.AdvancedOption == nil {
		return nil, reflect.Value{}
	}
	obj := simulator.Map.Get(*host.ConfigManager.AdvancedOption)
	if obj == nil {
		return nil, reflect.Value{}
	}
	field := reflect.ValueOf(obj).Elem().FieldByName("Setting")
	if !field.IsValid() || field.Type() != reflect.TypeOf([]types.BaseOptionValue(nil)) {
		return nil, reflect.Value{}
	}
	return obj, field
}

func cfgEncodeValue(v interface{}) cfgOptionJSON {
	switch x := v.(type) {
	case string:
		return cfgOptionJSON{Type: "string", Value: x}
	case bool:
		return cfgOptionJSON{Type: "bool", Value: x}
	case int32:
		return cfgOptionJSON{Type: "int32", Value: strconv.FormatInt(int64(x), 10)}
	case int64:
		return cfgOptionJSON{Type: "int64", Value: strconv.FormatInt(x, 10)}
	case int:
		return cfgOptionJSON{Type: "int64", Value: strconv.Itoa(x)}
	case float64:
		return cfgOptionJSON{Type: "float64", Value: x}
	}
	return cfgOptionJSON{Type: "string", Value: fmt.Sprint(v)}
}

func cfgDecodeValue(o cfgOptionJSON) interface{} {
	switch o.Type {
	case "bool":
		b, _ := o.Value.(bool)
		return b
	case "int32":
		n, _ := strconv.ParseInt(fmt.Sprint(o.Value), 10, 32)
		return int32(n)
	case "int64":
		n, _ := strconv.ParseInt(fmt.Sprint(o.Value), 10, 64)
		return n
	case "float64":
		f, _ := o.Value.(float64)
		return f
	}
	return fmt.Sprint(o.Value)
}

func cfgHostState(host *simulator.HostSystem) cfgBundleState {
	state := cfgBundleState{Host: host.Name, Uuid: host.Summary.Hardware.Uuid}
	if host.Config != nil {
		state.Build = host.Config.Product.Build
	}
	cfgStore.Lock()
	state.Acceptance = cfgStore.acceptance[host.Self]
	cfgStore.Unlock()
	if obj, field := cfgOptions(host); obj != nil {
		simulator.Map.WithLock(obj, func() {
			for _, o := range field.Interface().([]types.BaseOptionValue) {
				v := o.GetOptionValue()
				enc := cfgEncodeValue(v.Value)
				enc.Key = v.Key
				state.Options = append(state.Options, enc)
			}
		})
	}
	return state
}

// cfgApply sets the host's acceptance level and advanced options to those of state.
func cfgApply(host *simulator.HostSystem, acceptance string, options []types.BaseOptionValue) {
	cfgStore.Lock()
	cfgStore.acceptance[host.Self] = acceptance
	cfgStore.Unlock()
	if obj, field := cfgOptions(host); obj != nil {
		simulator.Map.WithLock(obj, func() { field.Set(reflect.ValueOf(options)) })
	}
	// Restoring and resetting reboot the host.
	now := time.Now()
	simulator.Map.Update(host, []types.PropertyChange{{Name: "runtime.bootTime", Val: now}})
}

func cfgBundle(state cfgBundleState) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	data, _ := json.MarshalIndent(state, "", "  ")
	manifest := []byte(fmt.Sprintf("UUID=%s\nBUILD=%s\nHOST=%s\n", state.Uuid, state.Build, state.Host))
	for _, f := range []struct {
		name string
		data []byte
	}{{"Manifest.txt", manifest}, {"state.json", data}} {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: time.Now()})
		_, _ = tw.Write(f.data)
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func cfgReadBundle(data []byte) (cfgBundleState, error) {
	var state cfgBundleState
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return state, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			return state, fmt.Errorf("no state.json in the bundle: %v", err)
		}
		if h.Name == "state.json" {
			content, err := ioutil.ReadAll(tr)
			if err != nil {
				return state, err
			}
			return state, json.Unmarshal(content, &state)
		}
	}
}

func cfgUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func cfgUploadPath(host types.ManagedObjectReference) string {
	return "/tmp/configBundle-" + host.Value + ".tgz"
}

func (f *cfgFirmwareSystem) BackupFirmwareConfiguration(req *types.BackupFirmwareConfiguration) soap.HasFault {
	body := new(methods.BackupFirmwareConfigurationBody)
	host := cfgHost(f.host)
	if host == nil {
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: f.host})
		return body
	}
	path := fmt.Sprintf("/downloads/%s/configBundle-%s.tgz", cfgUUID(), host.Name)
	bundle := cfgBundle(cfgHostState(host))
	cfgStore.Lock()
	cfgStore.downloads[path] = bundle
	cfgStore.Unlock()
	body.Res = &types.BackupFirmwareConfigurationResponse{Returnval: "http://*" + path}
	return body
}

func (f *cfgFirmwareSystem) QueryFirmwareConfigUploadURL(req *types.QueryFirmwareConfigUploadURL) soap.HasFault {
	return &methods.QueryFirmwareConfigUploadURLBody{Res: &types.QueryFirmwareConfigUploadURLResponse{Returnval: "http://*" + cfgUploadPath(f.host)}}
}

func (f *cfgFirmwareSystem) RestoreFirmwareConfiguration(req *types.RestoreFirmwareConfiguration) soap.HasFault {
	body := new(methods.RestoreFirmwareConfigurationBody)
	host := cfgHost(f.host)
	if host == nil {
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: f.host})
		return body
	}
	if !host.Runtime.InMaintenanceMode {
		body.Fault_ = simulator.Fault("The host must be in maintenance mode to restore its configuration.", &types.InvalidState{})
		return body
	}
	path := cfgUploadPath(f.host)
	cfgStore.Lock()
	data, ok := cfgStore.uploads[path]
	cfgStore.Unlock()
	if !ok {
		body.Fault_ = simulator.Fault("No configuration bundle was uploaded.", &types.FileNotFound{FileFault: types.FileFault{File: path}})
		return body
	}
	state, err := cfgReadBundle(data)
	if err != nil {
		body.Fault_ = simulator.Fault("The configuration bundle is not valid: "+err.Error(), &types.InvalidBundle{})
		return body
	}
	if state.Uuid != host.Summary.Hardware.Uuid && !req.Force {
		build, _ := strconv.Atoi(state.Build)
		hostBuild, _ := strconv.Atoi(host.Config.Product.Build)
		body.Fault_ = simulator.Fault("The bundle was taken from another host.", &types.MismatchedBundle{
			BundleUuid: state.Uuid, HostUuid: host.Summary.Hardware.Uuid,
			BundleBuildNumber: int32(build), HostBuildNumber: int32(hostBuild),
		})
		return body
	}
	options := make([]types.BaseOptionValue, 0, len(state.Options))
	for _, o := range state.Options {
		options = append(options, &types.OptionValue{Key: o.Key, Value: cfgDecodeValue(o)})
	}
	level := state.Acceptance
	if cfgLevelRank(level) < 0 {
		level = "partner"
	}
	cfgApply(host, level, options)
	cfgStore.Lock()
	delete(cfgStore.uploads, path)
	cfgStore.Unlock()
	body.Res = new(types.RestoreFirmwareConfigurationResponse)
	return body
}

func (f *cfgFirmwareSystem) ResetFirmwareToFactoryDefaults(req *types.ResetFirmwareToFactoryDefaults) soap.HasFault {
	body := new(methods.ResetFirmwareToFactoryDefaultsBody)
	host := cfgHost(f.host)
	if host == nil {
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: f.host})
		return body
	}
	if !host.Runtime.InMaintenanceMode {
		body.Fault_ = simulator.Fault("The host must be in maintenance mode to reset its configuration.", &types.InvalidState{})
		return body
	}
	cfgApply(host, "partner", cfgCopySettings(cfgFactorySettings))
	body.Res = new(types.ResetFirmwareToFactoryDefaultsResponse)
	return body
}

// cfgServeDownload serves a bundle BackupFirmwareConfiguration wrote.
func cfgServeDownload(w http.ResponseWriter, r *http.Request) {
	cfgStore.Lock()
	data, ok := cfgStore.downloads[r.URL.Path]
	cfgStore.Unlock()
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}

// cfgServeUpload takes a bundle PUT to a host's upload URL, with the host's credentials.
func cfgServeUpload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/tmp/configBundle-") {
		http.NotFound(w, r)
		return
	}
	user, pass, ok := r.BasicAuth()
	cfgStore.Lock()
	service := cfgStore.service
	cfgStore.Unlock()
	valid := ok && user != "" && pass != ""
	if ok && service != nil && service.Listen != nil && service.Listen.User != nil && service.Listen.User != simulator.DefaultLogin {
		want, _ := service.Listen.User.Password()
		valid = user == service.Listen.User.Username() && pass == want
	}
	if !valid {
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	data, err := ioutil.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	cfgStore.Lock()
	cfgStore.uploads[r.URL.Path] = data
	cfgStore.Unlock()
	w.WriteHeader(http.StatusOK)
}

// --- power operations, MoveInto_Task, AddHost thumbprints (called from main.go's handler) ---

// esxiConfigRequest answers the HostSystem and cluster methods above; false leaves the
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

var cfgPasswords = struct {
	sync.Mutex
	byUser map[string]string
}{byUser: map[string]string{}}

func cfgUserExists(id string) bool {
	dir := simulator.Map.UserDirectory()
	if dir == nil {
		return false
	}
	res, ok := dir.RetrieveUserGroups(&types.RetrieveUserGroups{SearchStr: id, ExactMatch: true, FindUsers: true}).(*methods.RetrieveUserGroupsBody)
	return ok && res.Res != nil && len(res.Res.Returnval) > 0
}

// cfgAccounts keeps the passwords CreateUser and UpdateUser set, and checks Login against them.
func cfgAccounts(w http.ResponseWriter, body []byte) bool {
	var req struct {
		Body struct {
			Login struct {
				UserName string `xml:"userName"`
				Password string `xml:"password"`
			} `xml:"Login"`
			Create *struct {
				User struct {
					Id       string  `xml:"id"`
					Password *string `xml:"password"`
				} `xml:"user"`
			} `xml:"CreateUser"`
			Update *struct {
				User struct {
					Id       string  `xml:"id"`
					Password *string `xml:"password"`
				} `xml:"user"`
			} `xml:"UpdateUser"`
			Remove *struct {
				UserName string `xml:"userName"`
			} `xml:"RemoveUser"`
		} `xml:"Body"`
	}
	switch {
	case bytes.Contains(body, []byte("<Login ")) || bytes.Contains(body, []byte("<Login>")):
		if xml.Unmarshal(body, &req) != nil {
			return false
		}
		cfgPasswords.Lock()
		want, known := cfgPasswords.byUser[req.Body.Login.UserName]
		cfgPasswords.Unlock()
		if known && want != req.Body.Login.Password {
			writeFault(w, "Cannot complete login due to an incorrect user name or password.", `<InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault>`)
			return true
		}
	case bytes.Contains(body, []byte("<CreateUser")):
		if xml.Unmarshal(body, &req) != nil || req.Body.Create == nil {
			return false
		}
		user := req.Body.Create.User
		if user.Password != nil && !cfgUserExists(user.Id) {
			cfgSetPassword(user.Id, *user.Password)
		}
	case bytes.Contains(body, []byte("<UpdateUser")):
		if xml.Unmarshal(body, &req) != nil || req.Body.Update == nil {
			return false
		}
		user := req.Body.Update.User
		if !cfgUserExists(user.Id) {
			writeFault(w, fmt.Sprintf("The user '%s' does not exist.", user.Id),
				fmt.Sprintf(`<UserNotFoundFault xmlns="urn:vim25" xsi:type="UserNotFound"><principal>%s</principal><unresolved>false</unresolved></UserNotFoundFault>`, xmlText(user.Id)))
			return true
		}
		if user.Password != nil {
			cfgSetPassword(user.Id, *user.Password)
		}
	case bytes.Contains(body, []byte("<RemoveUser")):
		if xml.Unmarshal(body, &req) == nil && req.Body.Remove != nil {
			cfgPasswords.Lock()
			delete(cfgPasswords.byUser, req.Body.Remove.UserName)
			cfgPasswords.Unlock()
		}
	}
	return false
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func cfgSetPassword(user, password string) {
	cfgPasswords.Lock()
	cfgPasswords.byUser[user] = password
	cfgPasswords.Unlock()
	cfgStore.Lock()
	service := cfgStore.service
	cfgStore.Unlock()
	if service != nil && service.Listen != nil && service.Listen.User != nil && service.Listen.User != simulator.DefaultLogin && service.Listen.User.Username() == user {
		service.Listen.User = url.UserPassword(user, password)
	}
}

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
