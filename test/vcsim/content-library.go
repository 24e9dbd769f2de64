package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Content library file checksums, sizes and update-session validation, as vCenter's
// content library service documents them (vSphere Automation API reference:
// content/library/item/file Info.checksum_info and Info.size; library/item Info.size;
// content/library/item/updatesession/file add (AddSpec.size, AddSpec.checksum_info) and
// validate (ValidationResult: has_errors, missing_files, invalid_files); update-session
// complete fails with NotAllowedInCurrentState when a file is missing or invalid).
//
// vcsim 0.24.2 stores uploaded files but reports no checksum_info, leaves the item's size at
// 0, answers validate with nothing, and completes any session. Here every file PUT to an
// upload endpoint is hashed (SHA-1, the algorithm vCenter reports) as it streams through;
// file listings and item reads carry the checksum and the sizes; validate compares what was
// received with the size and checksum the client announced in add; complete refuses a
// session validate finds errors in. Everything else is left to vcsim's vAPI handler.

const clRest = "/rest/com/vmware"

type clChecksum struct {
	Algorithm string `json:"algorithm"`
	Checksum  string `json:"checksum"`
}

// clAdded is a file announced in an update session (add), and what arrived for it.
type clAdded struct {
	session  string
	name     string
	size     *int64
	checksum *clChecksum
	received bool
	gotSize  int64
	gotSHA1  string
}

var clState = struct {
	sync.Mutex
	sessionItem map[string]string              // update session id → library item id
	files       map[string]*clAdded            // upload file id → file
	stored      map[string]map[string]clStored // item id → file name → what the item holds
}{
	sessionItem: map[string]string{},
	files:       map[string]*clAdded{},
	stored:      map[string]map[string]clStored{},
}

type clStored struct {
	size int64
	sha1 string
}

func init() {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		if !r.IsVPX() {
			return
		}
		vapi, _ := s.ServeMux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/rest/"}})
		handler := clServe(vapi)
		s.Handle(clRest+"/content/", handler)
		s.Handle(clRest+"/cis/data/", handler)
		// Both: a pattern ending in / alone would redirect the collection's own path.
		s.Handle("/rest/vcenter/vm-template/library-items", handler)
		s.Handle("/rest/vcenter/vm-template/library-items/", handler)
	})
}

func clServe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		action := r.URL.Query().Get("~action")
		switch {
		case strings.HasPrefix(p, clRest+"/cis/data/") && r.Method == http.MethodPut:
			clUpload(next, w, r)
		case p == clRest+"/content/library/item/update-session" && r.Method == http.MethodPost && (action == "" || action == "create"):
			clCreateSession(next, w, r)
		case strings.HasPrefix(p, clRest+"/content/library/item/updatesession/file/") && action == "add":
			clAdd(next, w, r)
		case strings.HasPrefix(p, clRest+"/content/library/item/updatesession/file/") && action == "validate":
			if clAuthorized(next, w, r) {
				clRespond(w, clValidate(clID(p)))
			}
		case strings.HasPrefix(p, clRest+"/content/library/item/update-session/") && action == "complete":
			if !clAuthorized(next, w, r) {
				return
			}
			if result := clValidate(clID(p)); result.HasErrors {
				clError(w, http.StatusBadRequest, "com.vmware.vapi.std.errors.not_allowed_in_current_state",
					"the update session has missing or invalid files: "+result.summary())
				return
			}
			clCommit(clID(p))
			next.ServeHTTP(w, r)
		case p == clRest+"/content/library/item/file" && r.Method == http.MethodGet:
			clRewrite(next, w, r, func(value json.RawMessage) interface{} {
				return clFilesWithChecksums(r.URL.Query().Get("library_item_id"), value)
			})
		case clLibraryPath(p) && r.Method == http.MethodPatch:
			clPatchLibrary(next, w, r)
		case clLibraryPath(p) && r.Method == http.MethodGet:
			clRewrite(next, w, r, func(value json.RawMessage) interface{} {
				return clLibraryWithSubscription(clID(p), value)
			})
		case strings.HasPrefix(p, clRest+"/content/library/item/id:") && r.Method == http.MethodGet:
			clRewrite(next, w, r, func(value json.RawMessage) interface{} {
				return clItemWithSize(clID(p), value)
			})
		case strings.HasPrefix(p, clRest+"/content/library/item/id:") && r.Method == http.MethodDelete:
			clState.Lock()
			delete(clState.stored, clID(p))
			clState.Unlock()
			next.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/rest/vcenter/vm-template/library-items/") && r.URL.Query().Get("action") == "deploy":
			clDeployTemplate(next, w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// clDeployTemplate: vCenter's vm-template/library-items deploy makes a virtual machine in the
// placement's resource pool (DeploySpec.placement; the host's or cluster's root pool when only
// those are given). vcsim 0.24.2 clones the library's template with CloneSpec.template true,
// so the "deployed VM" is another template (no pool, cannot power on); here it becomes a VM.
func clDeployTemplate(next http.Handler, w http.ResponseWriter, r *http.Request) {
	body, _ := ioutil.ReadAll(r.Body)
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	var req struct {
		Spec struct {
			Placement struct {
				Pool    string `json:"resource_pool"`
				Host    string `json:"host"`
				Cluster string `json:"cluster"`
			} `json:"placement"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(body, &req)
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	var res struct {
		Value string `json:"value"`
	}
	if recorder.Code == http.StatusOK && json.Unmarshal(recorder.Body.Bytes(), &res) == nil {
		vm, _ := simulator.Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: res.Value}).(*simulator.VirtualMachine)
		if vm != nil && vm.Config.Template {
			place := req.Spec.Placement
			var pool *types.ManagedObjectReference
			var host *types.ManagedObjectReference
			if place.Host != "" {
				host = &types.ManagedObjectReference{Type: "HostSystem", Value: place.Host}
			}
			switch {
			case place.Pool != "":
				pool = &types.ManagedObjectReference{Type: "ResourcePool", Value: place.Pool}
			case host != nil:
				if h, ok := simulator.Map.Get(*host).(*simulator.HostSystem); ok && h.Parent != nil {
					pool = clRootPool(*h.Parent)
				}
			case place.Cluster != "":
				pool = clRootPool(types.ManagedObjectReference{Type: "ClusterComputeResource", Value: place.Cluster})
			}
			if pool != nil {
				vm.MarkAsVirtualMachine(&types.MarkAsVirtualMachine{This: vm.Self, Pool: *pool, Host: host})
			}
		}
	}
	clReplay(w, recorder, recorder.Body.Bytes())
}

func clRootPool(compute types.ManagedObjectReference) *types.ManagedObjectReference {
	switch c := simulator.Map.Get(compute).(type) {
	case *simulator.ClusterComputeResource:
		return c.ResourcePool
	case *mo.ComputeResource:
		return c.ResourcePool
	}
	return nil
}

// clAuthorized asks vcsim whether the request's session is valid (its session read); when it
// is not, vcsim's answer (401) is sent and false returned.
func clAuthorized(next http.Handler, w http.ResponseWriter, r *http.Request) bool {
	probe := httptest.NewRequest(http.MethodGet, "/rest/com/vmware/cis/session", nil)
	probe.Header = r.Header.Clone()
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, probe)
	if recorder.Code == http.StatusOK {
		return true
	}
	clReplay(w, recorder, recorder.Body.Bytes())
	return false
}

// clLibraryPath: one library, under any of its three collections.
func clLibraryPath(p string) bool {
	for _, c := range []string{"/content/library/id:", "/content/local-library/id:", "/content/subscribed-library/id:"} {
		if strings.HasPrefix(p, clRest+c) {
			return true
		}
	}
	return false
}

// clSubscription holds the subscription settings a library update changed: vCenter's
// subscribed-library update (UpdateSpec.subscription_info: on_demand,
// automatic_sync_enabled) changes them; 0.24.2's update applies only name, description and
// version. Later reads of the library show them.
var clSubscription = struct {
	sync.Mutex
	byLibrary map[string]map[string]interface{}
}{byLibrary: map[string]map[string]interface{}{}}

func clPatchLibrary(next http.Handler, w http.ResponseWriter, r *http.Request) {
	body, _ := ioutil.ReadAll(r.Body)
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	var req struct {
		Spec struct {
			Subscription map[string]interface{} `json:"subscription_info"`
		} `json:"update_spec"`
	}
	_ = json.Unmarshal(body, &req)
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	if recorder.Code < 300 && req.Spec.Subscription != nil {
		clSubscription.Lock()
		id := clID(r.URL.Path)
		if clSubscription.byLibrary[id] == nil {
			clSubscription.byLibrary[id] = map[string]interface{}{}
		}
		for _, key := range []string{"on_demand", "automatic_sync_enabled"} {
			if v, ok := req.Spec.Subscription[key]; ok {
				clSubscription.byLibrary[id][key] = v
			}
		}
		clSubscription.Unlock()
	}
	clReplay(w, recorder, recorder.Body.Bytes())
}

func clLibraryWithSubscription(id string, value json.RawMessage) interface{} {
	var info map[string]interface{}
	if json.Unmarshal(value, &info) != nil {
		return value
	}
	sub, _ := info["subscription_info"].(map[string]interface{})
	clSubscription.Lock()
	defer clSubscription.Unlock()
	if sub != nil {
		for k, v := range clSubscription.byLibrary[id] {
			sub[k] = v
		}
	}
	return info
}

func clID(p string) string {
	return strings.TrimPrefix(path.Base(p), "id:")
}

func clUpload(next http.Handler, w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(r.URL.Path, "/")
	id := parts[len(parts)-2]
	var sum hash.Hash = sha1.New()
	counter := &clCounter{}
	r.Body = ioutil.NopCloser(io.TeeReader(r.Body, io.MultiWriter(sum, counter)))
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	if recorder.Code < 300 {
		clState.Lock()
		if f, ok := clState.files[id]; ok {
			f.received, f.gotSize, f.gotSHA1 = true, counter.n, hex.EncodeToString(sum.Sum(nil))
		}
		clState.Unlock()
	}
	clReplay(w, recorder, recorder.Body.Bytes())
}

type clCounter struct{ n int64 }

func (c *clCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func clCreateSession(next http.Handler, w http.ResponseWriter, r *http.Request) {
	body, _ := ioutil.ReadAll(r.Body)
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	var req struct {
		Spec struct {
			Item string `json:"library_item_id"`
		} `json:"create_spec"`
	}
	_ = json.Unmarshal(body, &req)
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	var res struct {
		Value string `json:"value"`
	}
	if recorder.Code < 300 && json.Unmarshal(recorder.Body.Bytes(), &res) == nil {
		clState.Lock()
		clState.sessionItem[res.Value] = req.Spec.Item
		clState.Unlock()
	}
	clReplay(w, recorder, recorder.Body.Bytes())
}

func clAdd(next http.Handler, w http.ResponseWriter, r *http.Request) {
	body, _ := ioutil.ReadAll(r.Body)
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	var req struct {
		Spec struct {
			Name     string      `json:"name"`
			Size     *int64      `json:"size"`
			Checksum *clChecksum `json:"checksum_info"`
		} `json:"file_spec"`
	}
	_ = json.Unmarshal(body, &req)
	if req.Spec.Checksum != nil && !strings.EqualFold(req.Spec.Checksum.Algorithm, "SHA1") {
		// vCenter takes SHA1, MD5, SHA256 and SHA512; this emulation checks SHA1 only, so a
		// test using another algorithm fails loudly instead of passing unchecked.
		clError(w, http.StatusBadRequest, "com.vmware.vapi.std.errors.invalid_argument",
			"checksum algorithm "+req.Spec.Checksum.Algorithm+" is not emulated (use SHA1)")
		return
	}
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	var res struct {
		Value struct {
			Upload *struct {
				URI string `json:"uri"`
			} `json:"upload_endpoint"`
		} `json:"value"`
	}
	if recorder.Code < 300 && json.Unmarshal(recorder.Body.Bytes(), &res) == nil && res.Value.Upload != nil {
		if u, err := url.Parse(res.Value.Upload.URI); err == nil {
			parts := strings.Split(u.Path, "/")
			clState.Lock()
			clState.files[parts[len(parts)-2]] = &clAdded{
				session:  clID(r.URL.Path),
				name:     req.Spec.Name,
				size:     req.Spec.Size,
				checksum: req.Spec.Checksum,
			}
			clState.Unlock()
		}
	}
	clReplay(w, recorder, recorder.Body.Bytes())
}

type clInvalid struct {
	Name  string `json:"name"`
	Error struct {
		ID             string   `json:"id"`
		DefaultMessage string   `json:"default_message"`
		Args           []string `json:"args"`
	} `json:"error_message"`
}

type clValidation struct {
	HasErrors    bool        `json:"has_errors"`
	MissingFiles []string    `json:"missing_files"`
	InvalidFiles []clInvalid `json:"invalid_files"`
}

func (v clValidation) summary() string {
	var parts []string
	for _, name := range v.MissingFiles {
		parts = append(parts, name+": not received")
	}
	for _, f := range v.InvalidFiles {
		parts = append(parts, f.Name+": "+f.Error.DefaultMessage)
	}
	return strings.Join(parts, "; ")
}

func clValidate(session string) clValidation {
	clState.Lock()
	defer clState.Unlock()
	result := clValidation{MissingFiles: []string{}, InvalidFiles: []clInvalid{}}
	for _, f := range clState.files {
		if f.session != session {
			continue
		}
		if !f.received {
			result.MissingFiles = append(result.MissingFiles, f.name)
			continue
		}
		message := ""
		if f.size != nil && *f.size != f.gotSize {
			message = "the file size does not match the size given when it was added"
		} else if f.checksum != nil && !strings.EqualFold(f.checksum.Checksum, f.gotSHA1) {
			message = "the file checksum does not match the checksum given when it was added"
		}
		if message != "" {
			invalid := clInvalid{Name: f.name}
			invalid.Error.ID = "com.vmware.vdcs.cls-main.invalid_file"
			invalid.Error.DefaultMessage = message
			result.InvalidFiles = append(result.InvalidFiles, invalid)
		}
	}
	result.HasErrors = len(result.MissingFiles) > 0 || len(result.InvalidFiles) > 0
	return result
}

// clCommit records what a completed session's files hold on their item.
func clCommit(session string) {
	clState.Lock()
	defer clState.Unlock()
	item := clState.sessionItem[session]
	if clState.stored[item] == nil {
		clState.stored[item] = map[string]clStored{}
	}
	for id, f := range clState.files {
		if f.session == session && f.received {
			clState.stored[item][f.name] = clStored{size: f.gotSize, sha1: f.gotSHA1}
			delete(clState.files, id)
		}
	}
}

func clFilesWithChecksums(item string, value json.RawMessage) interface{} {
	var files []map[string]interface{}
	if json.Unmarshal(value, &files) != nil {
		return value
	}
	clState.Lock()
	defer clState.Unlock()
	for _, f := range files {
		name, _ := f["name"].(string)
		if s, ok := clState.stored[item][name]; ok {
			f["checksum_info"] = clChecksum{Algorithm: "SHA1", Checksum: s.sha1}
		}
	}
	return files
}

func clItemWithSize(item string, value json.RawMessage) interface{} {
	var info map[string]interface{}
	if json.Unmarshal(value, &info) != nil {
		return value
	}
	clState.Lock()
	defer clState.Unlock()
	var size int64
	for _, s := range clState.stored[item] {
		size += s.size
	}
	info["size"] = size
	return info
}

// clRewrite serves the request with vcsim and rewrites the `value` of a 200 answer.
func clRewrite(next http.Handler, w http.ResponseWriter, r *http.Request, rewrite func(json.RawMessage) interface{}) {
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	var res struct {
		Value json.RawMessage `json:"value"`
	}
	if recorder.Code != http.StatusOK || json.Unmarshal(recorder.Body.Bytes(), &res) != nil || res.Value == nil {
		clReplay(w, recorder, recorder.Body.Bytes())
		return
	}
	clRespond(w, rewrite(res.Value))
}

func clRespond(w http.ResponseWriter, value interface{}) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Value interface{} `json:"value"`
	}{value})
}

func clError(w http.ResponseWriter, status int, kind string, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"type": kind,
		"value": map[string]interface{}{
			"messages": []map[string]interface{}{{"id": kind, "default_message": message, "args": []string{}}},
		},
	})
}

func clReplay(w http.ResponseWriter, recorder *httptest.ResponseRecorder, body []byte) {
	for k, v := range recorder.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(recorder.Code)
	_, _ = w.Write(body)
}
