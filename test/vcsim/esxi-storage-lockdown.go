package main

// Lockdown mode and HostAccessManager (see esxi-storage.go for the vSphere behaviour copied).

import (
	"bytes"
	"encoding/xml"
	"regexp"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// lockdownGate answers, for the host (or session manager) whose moref value it carries, the
// calls routeLockdown sends it.
type lockdownGate struct {
	mo.HostVsanSystem // any mo type with Self: the gate is never read as properties
}

func (g *lockdownGate) target() *simulator.HostSystem {
	h, _ := simulator.Map.Get(types.ManagedObjectReference{Type: "HostSystem", Value: g.Self.Value}).(*simulator.HostSystem)
	return h
}

// lockdownAccessManager is a host's HostAccessManager: its lockdownMode mirrors the host's
// config.lockdownMode; exceptions are the users still allowed to log in directly.
type lockdownAccessManager struct {
	mo.HostAccessManager
	host       types.ManagedObjectReference
	exceptions []string
}

func lockdownGiveAccessManager(r *simulator.Registry, h *simulator.HostSystem) {
	m := &lockdownAccessManager{host: h.Self}
	m.Self = types.ManagedObjectReference{Type: "HostAccessManager", Value: "hostAccessManager-" + h.Self.Value}
	m.LockdownMode = types.HostLockdownModeLockdownDisabled
	if h.Config != nil && h.Config.LockdownMode != "" {
		m.LockdownMode = h.Config.LockdownMode
	}
	r.Put(m)
	ref := m.Self
	h.ConfigManager.HostAccessManager = &ref
}

func lockdownAccessManagerOf(h *simulator.HostSystem) *lockdownAccessManager {
	if h.ConfigManager.HostAccessManager == nil {
		return nil
	}
	m, _ := simulator.Map.Get(*h.ConfigManager.HostAccessManager).(*lockdownAccessManager)
	return m
}

func (m *lockdownAccessManager) ChangeLockdownMode(req *types.ChangeLockdownMode) soap.HasFault {
	body := new(methods.ChangeLockdownModeBody)
	h, _ := simulator.Map.Get(m.host).(*simulator.HostSystem)
	switch req.Mode {
	case types.HostLockdownModeLockdownDisabled, types.HostLockdownModeLockdownNormal, types.HostLockdownModeLockdownStrict:
	default:
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "mode"})
		return body
	}
	m.LockdownMode = req.Mode // vcsim holds this object's lock during the call
	if h != nil {
		lockdownSetMode(h, req.Mode, false)
	}
	body.Res = new(types.ChangeLockdownModeResponse)
	return body
}

func (m *lockdownAccessManager) QueryLockdownExceptions(req *types.QueryLockdownExceptions) soap.HasFault {
	return &methods.QueryLockdownExceptionsBody{
		Res: &types.QueryLockdownExceptionsResponse{Returnval: append([]string(nil), m.exceptions...)},
	}
}

func (m *lockdownAccessManager) UpdateLockdownExceptions(req *types.UpdateLockdownExceptions) soap.HasFault {
	m.exceptions = append([]string(nil), req.Users...)
	return &methods.UpdateLockdownExceptionsBody{Res: new(types.UpdateLockdownExceptionsResponse)}
}

func lockdownSet(h *simulator.HostSystem, on bool) {
	mode := types.HostLockdownModeLockdownDisabled
	if on {
		mode = types.HostLockdownModeLockdownNormal
	}
	lockdownSetMode(h, mode, true)
}

// lockdownSetMode sets the host's lockdown state (and its access manager's, with mirror).
func lockdownSetMode(h *simulator.HostSystem, mode types.HostLockdownMode, mirror bool) {
	on := mode != types.HostLockdownModeLockdownDisabled
	if m := lockdownAccessManagerOf(h); m != nil && mirror {
		simulator.Map.WithLock(m, func() { m.LockdownMode = mode })
	}
	simulator.Map.WithLock(h, func() {
		h.Config.AdminDisabled = types.NewBool(on)
		h.Config.LockdownMode = mode
	})
	simulator.Map.Update(h, []types.PropertyChange{
		{Name: "config.adminDisabled", Val: on},
		{Name: "config.lockdownMode", Val: mode},
	})
}

func lockdownOn(h *simulator.HostSystem) bool {
	return h.Config != nil && h.Config.AdminDisabled != nil && *h.Config.AdminDisabled
}

func (g *lockdownGate) EnterLockdownMode(req *types.EnterLockdownMode) soap.HasFault {
	body := new(methods.EnterLockdownModeBody)
	h := g.target()
	switch {
	case h == nil:
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "HostSystem", Value: g.Self.Value}})
	case h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected:
		body.Fault_ = simulator.Fault("", &types.HostNotConnected{})
	case lockdownOn(h):
		body.Fault_ = simulator.Fault("The host is already in lockdown mode.", &types.AdminDisabled{})
	default:
		lockdownSet(h, true)
		body.Res = new(types.EnterLockdownModeResponse)
	}
	return body
}

func (g *lockdownGate) ExitLockdownMode(req *types.ExitLockdownMode) soap.HasFault {
	body := new(methods.ExitLockdownModeBody)
	h := g.target()
	switch {
	case h == nil:
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "HostSystem", Value: g.Self.Value}})
	case h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected:
		body.Fault_ = simulator.Fault("", &types.HostNotConnected{})
	case !lockdownOn(h):
		body.Fault_ = simulator.Fault("The host is not in lockdown mode.", &types.AdminNotDisabled{})
	default:
		lockdownSet(h, false)
		body.Res = new(types.ExitLockdownModeResponse)
	}
	return body
}

// Login reaches the gate only while the ESXi host is in lockdown mode.
func (g *lockdownGate) Login(req *types.Login) soap.HasFault {
	body := new(methods.LoginBody)
	body.Fault_ = simulator.Fault("Permission to perform this operation was denied.", &types.NoPermission{
		Object:      types.ManagedObjectReference{Type: "SessionManager", Value: g.Self.Value},
		PrivilegeId: "System.Anonymous",
	})
	return body
}

func lockdownGateFor(value string) {
	ref := types.ManagedObjectReference{Type: storageGateType, Value: value}
	if simulator.Map.Get(ref) == nil {
		g := &lockdownGate{}
		g.Self = ref
		simulator.Map.Put(g)
	}
}

var lockdownThis = regexp.MustCompile(`(<_this[^>]*\btype=")(HostSystem|SessionManager)("[^>]*>)([^<]*)(</_this>)`)

// routeLockdown rewrites the request body so that vcsim dispatches EnterLockdownMode and
// ExitLockdownMode on a host, and a Login to an ESXi host in lockdown mode, to a lockdownGate.
// Other requests are returned unchanged.
func routeLockdown(body []byte) []byte {
	switch {
	case bytes.Contains(body, []byte("<EnterLockdownMode")) || bytes.Contains(body, []byte("<ExitLockdownMode")):
	case bytes.Contains(body, []byte("Login")) && lockdownLogin(body):
	default:
		return body
	}
	m := lockdownThis.FindSubmatch(body)
	if m == nil {
		return body
	}
	lockdownGateFor(string(m[4]))
	return lockdownThis.ReplaceAll(body, []byte("${1}"+storageGateType+"${3}${4}${5}"))
}

// lockdownLogin: the body is a SessionManager.Login to the ESXi model while its host is in
// lockdown mode.
func lockdownLogin(body []byte) bool {
	var req struct {
		Call *struct {
			UserName string `xml:"userName"`
		} `xml:"Body>Login"`
	}
	if xml.Unmarshal(body, &req) != nil || req.Call == nil {
		return false
	}
	if c := serviceContent(); c == nil || c.About.ApiType != "HostAgent" {
		return false
	}
	for _, obj := range simulator.Map.All("HostSystem") {
		h, ok := obj.(*simulator.HostSystem)
		if !ok || !lockdownOn(h) {
			continue
		}
		if m := lockdownAccessManagerOf(h); m != nil {
			for _, user := range m.exceptions {
				if user == req.Call.UserName {
					return false // an exception user keeps direct access
				}
			}
		}
		return true
	}
	return false
}
