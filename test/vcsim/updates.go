package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// WaitForUpdatesEx with maxWaitSeconds 0: the vSphere API reference says such a call "does one
// update calculation and returns any results" at once (like CheckForUpdates). vcsim 0.24.2
// first waits for its 250 ms tick, so every poll of an unchanged inventory costs a quarter of a
// second. Here, when nothing in the inventory changed since the collector's last completed
// call, the answer is given at once: the one vcsim gives after its tick, no update (an empty
// returnval). The session and the collector are checked first by reading the collector's
// `filter` property through vcsim itself, so a dead session or a destroyed collector gets
// vcsim's own fault. Anything else goes to vcsim unchanged.

// inventoryChanges counts every object put, updated or removed in vcsim's registry.
var inventoryChanges uint64

type changeCounter struct{}

func (changeCounter) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "BrineChangeCounter", Value: "brine-change-counter"}
}
func (changeCounter) PutObject(o mo.Reference) {
	atomic.AddUint64(&inventoryChanges, 1)
	latePuts.Lock()
	latePuts.refs = append(latePuts.refs, o.Reference())
	latePuts.Unlock()
}
func (changeCounter) UpdateObject(mo.Reference, []types.PropertyChange) {
	atomic.AddUint64(&inventoryChanges, 1)
}
func (changeCounter) RemoveObject(ref types.ManagedObjectReference) {
	atomic.AddUint64(&inventoryChanges, 1)
	dropQueuedModifies(ref)
}

// dropQueuedModifies: vCenter reports an object that was modified and then destroyed between
// two WaitForUpdates calls as a leave. vcsim 0.24.2 keeps the queued modify and, reaching it,
// looks the object up in its registry, finds nothing and panics (the client sees its
// connection dropped, and the updates are lost). So when an object leaves the registry, the
// modifies still queued for it in every property collector are dropped; the leave stays.
func dropQueuedModifies(ref types.ManagedObjectReference) {
	for _, handler := range registryHandlers() {
		pc, ok := handler.(*simulator.PropertyCollector)
		if !ok {
			continue
		}
		fields := reflect.ValueOf(pc).Elem()
		lock := (*sync.Mutex)(unsafe.Pointer(fields.FieldByName("mu").UnsafeAddr()))
		queued := (*[]types.ObjectUpdate)(unsafe.Pointer(fields.FieldByName("updates").UnsafeAddr()))
		lock.Lock()
		kept := (*queued)[:0]
		for _, update := range *queued {
			if update.Obj != ref || update.Kind != types.ObjectUpdateKindModify {
				kept = append(kept, update)
			}
		}
		*queued = kept
		lock.Unlock()
	}
}

// countInventoryChanges registers the counter; call once the model exists.
func countInventoryChanges() { simulator.Map.AddHandler(changeCounter{}) }

// ContainerView membership: a vCenter ContainerView holds every entity below its container,
// whenever it was created. vcsim 0.24.2 adds a new object to the existing views only when the
// object is already linked below the view's root at the moment it is put in the registry; a
// new datacenter's four folders, a new cluster's root resource pool and such are put before
// they are linked, so a long-lived view (the inventory index's) never holds them. Before each
// request, the objects put since the previous one are offered to every view again, now that
// they are linked (ContainerView.PutObject adds each one at most once, if it belongs).
var latePuts struct {
	sync.Mutex
	refs []types.ManagedObjectReference
}

func addLateObjectsToViews() {
	latePuts.Lock()
	refs := latePuts.refs
	latePuts.refs = nil
	latePuts.Unlock()
	if len(refs) == 0 {
		return
	}
	for _, view := range containerViews() {
		held := make(map[types.ManagedObjectReference]bool, len(view.View))
		for _, ref := range view.View {
			held[ref] = true
		}
		for _, ref := range refs {
			if held[ref] {
				continue
			}
			if obj := simulator.Map.Get(ref); obj != nil {
				view.PutObject(obj)
				held[ref] = true
			}
		}
	}
}

// containerViews lists the live ContainerViews: they are among the registry's handlers.
func containerViews() []*simulator.ContainerView {
	var views []*simulator.ContainerView
	for _, handler := range registryHandlers() {
		if view, ok := handler.(*simulator.ContainerView); ok {
			views = append(views, view)
		}
	}
	return views
}

// registryHandlers copies the registry's handlers: its live ContainerViews and the property
// collectors that were asked for updates (vcsim keeps no other list of them; the field is
// unexported, hence reflect and unsafe).
func registryHandlers() []simulator.RegisterObject {
	registry := reflect.ValueOf(simulator.Map).Elem()
	lock := (*sync.Mutex)(unsafe.Pointer(registry.FieldByName("m").UnsafeAddr()))
	handlers := *(*map[types.ManagedObjectReference]simulator.RegisterObject)(unsafe.Pointer(registry.FieldByName("handlers").UnsafeAddr()))
	lock.Lock()
	defer lock.Unlock()
	list := make([]simulator.RegisterObject, 0, len(handlers))
	for _, handler := range handlers {
		list = append(list, handler)
	}
	return list
}

// seenByCollector: collector id → the change count when its last completed call started.
var seenByCollector sync.Map

type waitForUpdatesRequest struct {
	Call struct {
		This    types.ManagedObjectReference `xml:"_this"`
		Version string                       `xml:"version"`
		Options struct {
			MaxWaitSeconds *int32 `xml:"maxWaitSeconds"`
		} `xml:"options"`
	} `xml:"Body>WaitForUpdatesEx"`
}

// waitForUpdatesNow answers a WaitForUpdatesEx(maxWaitSeconds 0) at once when it can, and
// otherwise forwards it, noting the change count of a call that completed.
func waitForUpdatesNow(next http.Handler, w http.ResponseWriter, r *http.Request, body []byte) {
	var req waitForUpdatesRequest
	if xml.Unmarshal(body, &req) != nil || req.Call.This.Value == "" {
		next.ServeHTTP(w, r)
		return
	}
	collector := req.Call.This.Value
	count := atomic.LoadUint64(&inventoryChanges)
	oneShot := req.Call.Options.MaxWaitSeconds != nil && *req.Call.Options.MaxWaitSeconds == 0
	if seen, ok := seenByCollector.Load(collector); oneShot && req.Call.Version != "" && ok && seen.(uint64) == count {
		if collectorAlive(next, r, req.Call.This) {
			writeResponse(w, "WaitForUpdatesExResponse", "")
			return
		}
	}
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	answer := recorder.Body.Bytes()
	if recorder.Code == http.StatusOK && !bytes.Contains(answer, []byte(":Fault>")) {
		// A completed call drained every update queued before it started (or, for version "",
		// started listening then), so an unchanged count later means nothing is queued.
		seenByCollector.Store(collector, count)
	} else {
		seenByCollector.Delete(collector)
	}
	replay(w, recorder, answer)
}

// collectorAlive reads the collector's `filter` property with the caller's cookie: true when
// vcsim answers it (the session is logged in and the collector exists in it).
func collectorAlive(next http.Handler, r *http.Request, collector types.ManagedObjectReference) bool {
	var escaped bytes.Buffer
	_ = xml.EscapeText(&escaped, []byte(collector.Value))
	probe := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">%s</_this><specSet><propSet><type>PropertyCollector</type><pathSet>filter</pathSet></propSet><objectSet><obj type="PropertyCollector">%s</obj></objectSet></specSet><options></options></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>`,
		escaped.String(), escaped.String())
	request := r.Clone(r.Context())
	request.Body = ioutil.NopCloser(bytes.NewReader([]byte(probe)))
	request.ContentLength = int64(len(probe))
	request.Header.Set("SOAPAction", "urn:vim25/6.5")
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, request)
	return recorder.Code == http.StatusOK && !bytes.Contains(recorder.Body.Bytes(), []byte(":Fault>")) &&
		!bytes.Contains(recorder.Body.Bytes(), []byte("<missingSet>"))
}
