package main

// HostFirmwareSystem (absent in vcsim 0.24.2), as the vSphere API reference documents it:
// BackupFirmwareConfiguration writes a configuration bundle (a .tgz holding the host's uuid and
// build, its acceptance level and its advanced options) and answers the URL it downloads from,
// `http://*/downloads/<uuid>/configBundle-<host>.tgz` (`*` standing for the host's address);
// QueryFirmwareConfigUploadURL answers where a bundle is PUT (HTTP basic authentication with
// the host's credentials); RestoreFirmwareConfiguration applies the uploaded bundle and reboots
// the host: it needs maintenance mode (InvalidState), an uploaded bundle (FileNotFound), a
// readable one (InvalidBundle), and one from this host unless force (MismatchedBundle);
// ResetFirmwareToFactoryDefaults (maintenance mode too) restores the factory acceptance level
// and advanced options and reboots. One simulator plays every host of a vCenter, so each
// host's upload path names its moref.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

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
