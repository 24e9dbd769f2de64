package main

// Storage policies (PBM, served at /pbm). govmomi 0.24.2's simulator answers
// PbmQueryProfile, PbmRetrieveContent, PbmCreate and PbmDelete but not PbmUpdate, which
// vCenter uses to change a policy in place (keeping its id, so VMs stay associated).
// This file adds PbmUpdate to the simulator's profile manager.

import (
	"reflect"
	"time"
	"unsafe"

	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmsim "github.com/vmware/govmomi/pbm/simulator"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type profileManager struct {
	*pbmsim.ProfileManager
}

func (m *profileManager) PbmUpdate(ctx *simulator.Context, req *pbmtypes.PbmUpdate) soap.HasFault {
	body := new(pbmmethods.PbmUpdateBody)
	found := m.ProfileManager.PbmRetrieveContent(&pbmtypes.PbmRetrieveContent{
		ProfileIds: []pbmtypes.PbmProfileId{req.ProfileId},
	}).(*pbmmethods.PbmRetrieveContentBody)
	if found.Fault_ != nil {
		body.Fault_ = found.Fault_
		return body
	}
	profile, ok := found.Res.Returnval[0].(*pbmtypes.PbmCapabilityProfile)
	if !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "profileId"})
		return body
	}
	spec := req.UpdateSpec
	if spec.Name != "" {
		profile.Name = spec.Name
	}
	if spec.Description != "" {
		profile.Description = spec.Description
	}
	if spec.Constraints != nil {
		profile.Constraints = spec.Constraints
	}
	profile.LastUpdatedTime = time.Now()
	profile.LastUpdatedBy = ctx.Session.UserName
	profile.GenerationId++
	body.Res = new(pbmtypes.PbmUpdateResponse)
	return body
}

func init() {
	// Runs after pbm/simulator's own endpoint (package inits precede main's), so /pbm exists.
	simulator.RegisterEndpoint(func(s *simulator.Service, _ *simulator.Registry) {
		field := reflect.ValueOf(s).Elem().FieldByName("sdk")
		sdk := *(*map[string]*simulator.Registry)(unsafe.Pointer(field.UnsafeAddr()))
		registry, ok := sdk["/pbm"]
		if !ok {
			return
		}
		ref := types.ManagedObjectReference{Type: "PbmProfileProfileManager", Value: "ProfileManager"}
		if pm, ok := registry.Get(ref).(*pbmsim.ProfileManager); ok {
			registry.Put(&profileManager{pm})
		}
	})
}
