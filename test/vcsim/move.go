package main

import (
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// moveIntoFolder runs Folder.MoveIntoFolder_Task as vCenter does: each entity stays in the
// inventory and its `parent` changes, which a PropertyCollector reports as one modify of
// `parent` (and of the two folders' `childEntity`). vcsim 0.24.2 removes the entity from its
// registry and puts it back, reporting leave and enter, and in one UpdateSet the enter comes
// before the leave, so a client applying the updates in order loses the entity. Requests that
// vcsim refuses (NotSupported: a type the folder cannot hold, a parent that is not a folder)
// are left to vcsim.
func moveIntoFolder(w http.ResponseWriter, body []byte) bool {
	var req struct {
		Call struct {
			This types.ManagedObjectReference   `xml:"_this"`
			List []types.ManagedObjectReference `xml:"list"`
		} `xml:"Body>MoveIntoFolder_Task"`
	}
	if xml.Unmarshal(body, &req) != nil {
		return false
	}
	target, ok := simulator.Map.Get(req.Call.This).(*simulator.Folder)
	if !ok || len(req.Call.List) == 0 {
		return false
	}
	type move struct {
		entity mo.Entity
		from   *simulator.Folder
	}
	var moves []move
	for _, ref := range req.Call.List {
		entity, ok := simulator.Map.Get(ref).(mo.Entity)
		if !ok || entity.Entity().Parent == nil || !hasChildType(target, ref.Type) {
			return false
		}
		from, ok := simulator.Map.Get(*entity.Entity().Parent).(*simulator.Folder)
		if !ok {
			return false
		}
		moves = append(moves, move{entity, from})
	}
	task := simulator.CreateTask(target, "moveIntoFolder", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		for _, m := range moves {
			ref := m.entity.Reference()
			if m.from.Self == target.Self {
				continue
			}
			simulator.Map.RemoveReference(m.from, &m.from.ChildEntity, ref)
			simulator.Map.AddReference(target, &target.ChildEntity, ref)
			simulator.Map.Update(m.entity, []types.PropertyChange{{Name: "parent", Val: target.Self}})
		}
		return nil, nil
	})
	writeResponse(w, "MoveIntoFolder_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Run().Value))
	return true
}

func hasChildType(folder *simulator.Folder, kind string) bool {
	for _, t := range folder.ChildType {
		if t == kind {
			return true
		}
	}
	return false
}
