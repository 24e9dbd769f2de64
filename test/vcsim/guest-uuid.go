package main

// SearchIndex.FindAllByUuid (vSphere API reference): every VM (vmSearch true) whose BIOS UUID
// (config.uuid), or instance UUID with instanceUuid true, is the one given, or every host whose
// hardware UUID is; limited to one datacenter's inventory when `datacenter` is given. Several
// VMs can share a BIOS UUID (a copied VM keeps it); an instance UUID is unique in a vCenter.
// vcsim 0.24.2 lacks FindAllByUuid (MethodNotFound), and its FindByUuid ignores `datacenter`.

import (
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type guestSearchIndex struct {
	simulator.SearchIndex
}

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		ref := types.ManagedObjectReference{Type: "SearchIndex", Value: "SearchIndex"}
		if index, ok := r.Get(ref).(*simulator.SearchIndex); ok {
			r.Put(&guestSearchIndex{SearchIndex: *index})
		}
	})
}

// guestDatacenterOf is the datacenter an entity lies in (nil when none).
func guestDatacenterOf(entity mo.Entity) *types.ManagedObjectReference {
	for depth := 0; entity != nil && depth < 64; depth++ {
		if entity.Reference().Type == "Datacenter" {
			ref := entity.Reference()
			return &ref
		}
		parent := entity.Entity().Parent
		if parent == nil {
			return nil
		}
		entity, _ = simulator.Map.Get(*parent).(mo.Entity)
	}
	return nil
}

func (s *guestSearchIndex) FindAllByUuid(req *types.FindAllByUuid) soap.HasFault {
	body := &methods.FindAllByUuidBody{Res: new(types.FindAllByUuidResponse)}
	if req.Datacenter != nil {
		if _, ok := simulator.Map.Get(*req.Datacenter).(*simulator.Datacenter); !ok {
			body.Res = nil
			body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: *req.Datacenter})
			return body
		}
	}
	instance := req.InstanceUuid != nil && *req.InstanceUuid
	kind := "HostSystem"
	if req.VmSearch {
		kind = "VirtualMachine"
	}
	for _, entity := range simulator.Map.All(kind) {
		match := false
		simulator.Map.WithLock(entity, func() {
			switch e := entity.(type) {
			case *simulator.VirtualMachine:
				if e.Config != nil {
					uuid := e.Config.Uuid
					if instance {
						uuid = e.Config.InstanceUuid
					}
					match = strings.EqualFold(uuid, req.Uuid)
				}
			case *simulator.HostSystem:
				match = e.Summary.Hardware != nil && strings.EqualFold(e.Summary.Hardware.Uuid, req.Uuid)
			}
		})
		if !match {
			continue
		}
		if req.Datacenter != nil {
			if dc := guestDatacenterOf(entity); dc == nil || *dc != *req.Datacenter {
				continue
			}
		}
		body.Res.Returnval = append(body.Res.Returnval, entity.Reference())
	}
	return body
}
