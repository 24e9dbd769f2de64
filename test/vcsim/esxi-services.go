package main

// Gaps of vcsim 0.24.2 that vmware_esxi's services, date/time and firewall functions reach.
// Each copies what the vSphere API reference documents for an ESXi host:
//   - HostServiceSystem: 0.24.2 names "serviceSystem" in every host's configManager, but no such
//     object exists (ManagedObjectNotFound). ESXi has one per host; serviceInfo.service lists
//     its services (key, label, required, running, ruleset, policy). StartService,
//     StopService and RestartService change `running` (RestartService of a stopped service
//     starts it); UpdateServicePolicy sets `policy`, one of on, off, automatic
//     (HostServicePolicy). An id that is no service of the host faults NotFound; another
//     policy faults InvalidArgument (invalidProperty "policy").
//   - HostDateTimeSystem: the same gap ("dateTimeSystem"). dateTimeInfo reports the time zone
//     (ESXi runs on UTC) and ntpConfig; UpdateDateTimeConfig keeps the ntpConfig given (its
//     server list replaces the old one) and a time zone ESXi knows (UTC; another faults
//     InvalidArgument, invalidProperty "timeZone"); QueryDateTime answers the host's clock.
//   - HostFirewallSystem: 0.24.2 gives every host a shallow copy of one template, so all hosts
//     share one ruleset array (enabling a ruleset on one host enables it on all), and its
//     firewallInfo is not the host's config.firewall. ESXi has one firewall per host, which
//     both firewallInfo and the host's config.firewall report. EnableRuleset and
//     DisableRuleset change one host's ruleset; UpdateRuleset (0.24.2: MethodNotFound) sets
//     its allowedHosts. An id that is no ruleset of the host faults NotFound; an ipAddress or
//     ipNetwork that is no IP address (or a prefix length out of range) faults InvalidArgument.
// Each host, those of the model and those added later (AddHost_Task, AddStandaloneHost_Task),
// gets its own three objects: a registry handler sees every HostSystem put in the inventory.

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		watcher := &svcHostWatcher{registry: r, systems: map[types.ManagedObjectReference][]types.ManagedObjectReference{}}
		for _, obj := range r.All("HostSystem") {
			if host, ok := obj.(*simulator.HostSystem); ok {
				watcher.equip(host)
			}
		}
		r.AddHandler(watcher)
	})
}

// svcHostWatcher gives each HostSystem put in the registry its service, date/time and
// firewall systems, and removes them with the host.
type svcHostWatcher struct {
	registry *simulator.Registry
	mu       sync.Mutex
	systems  map[types.ManagedObjectReference][]types.ManagedObjectReference // host → its systems
}

func (w *svcHostWatcher) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "svcHostWatcher", Value: "svc-host-watcher"}
}

func (w *svcHostWatcher) PutObject(obj mo.Reference) {
	if host, ok := obj.(*simulator.HostSystem); ok {
		w.equip(host)
	}
}

func (w *svcHostWatcher) UpdateObject(mo.Reference, []types.PropertyChange) {}

func (w *svcHostWatcher) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "HostSystem" {
		return
	}
	w.mu.Lock()
	systems := w.systems[ref]
	delete(w.systems, ref)
	w.mu.Unlock()
	for _, system := range systems {
		w.registry.Remove(system)
	}
}

func (w *svcHostWatcher) equip(host *simulator.HostSystem) {
	w.mu.Lock()
	_, done := w.systems[host.Self]
	if !done {
		w.systems[host.Self] = nil
	}
	w.mu.Unlock()
	if done || host.Config == nil {
		return
	}
	// The vSphere type in each reference (the registry would name the Go type).
	services := &svcServiceSystem{}
	services.Self.Type = "HostServiceSystem"
	services.ServiceInfo.Service = svcEsxiServices()
	serviceRef := w.registry.Put(services).Reference()

	clock := &svcDateTimeSystem{}
	clock.Self.Type = "HostDateTimeSystem"
	clock.DateTimeInfo = types.HostDateTimeInfo{
		TimeZone:  svcUTC,
		NtpConfig: &types.HostNtpConfig{},
	}
	clockRef := w.registry.Put(clock).Reference()

	// The firewall system reports the host's own config.firewall: one firewall per host.
	info := svcCopyFirewall(host.Config.Firewall)
	host.Config.Firewall = &info
	firewall := &svcFirewallSystem{host: &host.HostSystem}
	firewall.Self.Type = "HostFirewallSystem"
	firewall.FirewallInfo = host.Config.Firewall
	if old := host.ConfigManager.FirewallSystem; old != nil {
		firewall.Self = *old // replaces 0.24.2's shared-ruleset object under the same reference
	}
	firewallRef := w.registry.Put(firewall).Reference()

	host.ConfigManager.ServiceSystem = &serviceRef
	host.ConfigManager.DateTimeSystem = &clockRef
	host.ConfigManager.FirewallSystem = &firewallRef
	w.mu.Lock()
	w.systems[host.Self] = []types.ManagedObjectReference{serviceRef, clockRef, firewallRef}
	w.mu.Unlock()
}

// svcEsxiServices is the service list of an ESXi 7.0 host as installed (key, label, default
// policy, running, firewall rulesets the service opens).
func svcEsxiServices() []types.HostService {
	service := func(key, label, policy string, running bool, rulesets ...string) types.HostService {
		return types.HostService{Key: key, Label: label, Policy: policy, Running: running, Ruleset: rulesets}
	}
	syslog := service("vmsyslogd", "Syslog Server", "on", true)
	syslog.Required = true
	return []types.HostService{
		service("DCUI", "Direct Console UI", "on", true),
		service("TSM", "ESXi Shell", "off", false),
		service("TSM-SSH", "SSH", "off", false, "sshServer"),
		service("lbtd", "Load-Based Teaming Daemon", "on", true),
		service("lwsmd", "Active Directory Service", "off", false, "activeDirectoryAll"),
		service("ntpd", "NTP Daemon", "off", false, "ntpClient"),
		service("pcscd", "PC/SC Smart Card Daemon", "off", false),
		service("sfcbd-watchdog", "CIM Server", "on", true, "CIMHttpServer", "CIMHttpsServer", "CIMSLP"),
		service("snmpd", "SNMP Server", "on", false, "snmp"),
		syslog,
		service("vpxa", "VMware vCenter Agent", "on", true, "vpxHeartbeats"),
		service("xorg", "X.Org Server", "on", false),
	}
}

var svcUTC = types.HostDateTimeSystemTimeZone{Key: "UTC", Name: "UTC", Description: "UTC", GmtOffset: 0}

// svcCopyFirewall is a deep copy of info (0.24.2's template when nil), so no two hosts share
// a ruleset.
func svcCopyFirewall(info *types.HostFirewallInfo) types.HostFirewallInfo {
	if info == nil {
		info = &esx.HostFirewallInfo
	}
	out := *info
	out.Ruleset = make([]types.HostFirewallRuleset, len(info.Ruleset))
	for i, r := range info.Ruleset {
		r.Rule = append([]types.HostFirewallRule(nil), r.Rule...)
		if r.AllowedHosts != nil {
			hosts := svcCopyIpList(*r.AllowedHosts)
			r.AllowedHosts = &hosts
		}
		out.Ruleset[i] = r
	}
	return out
}

func svcCopyIpList(list types.HostFirewallRulesetIpList) types.HostFirewallRulesetIpList {
	list.IpAddress = append([]string(nil), list.IpAddress...)
	list.IpNetwork = append([]types.HostFirewallRulesetIpNetwork(nil), list.IpNetwork...)
	return list
}

type svcServiceSystem struct {
	mo.HostServiceSystem
}

func (s *svcServiceSystem) service(id string) *types.HostService {
	for i := range s.ServiceInfo.Service {
		if s.ServiceInfo.Service[i].Key == id {
			return &s.ServiceInfo.Service[i]
		}
	}
	return nil
}

func svcNotFound(what, id string) *soap.Fault {
	return simulator.Fault(fmt.Sprintf("The object or item referred to could not be found: %s '%s'", what, id), &types.NotFound{})
}

func (s *svcServiceSystem) StartService(req *types.StartService) soap.HasFault {
	body := new(methods.StartServiceBody)
	if svc := s.service(req.Id); svc != nil {
		svc.Running = true
		body.Res = new(types.StartServiceResponse)
	} else {
		body.Fault_ = svcNotFound("service", req.Id)
	}
	return body
}

func (s *svcServiceSystem) StopService(req *types.StopService) soap.HasFault {
	body := new(methods.StopServiceBody)
	if svc := s.service(req.Id); svc != nil {
		svc.Running = false
		body.Res = new(types.StopServiceResponse)
	} else {
		body.Fault_ = svcNotFound("service", req.Id)
	}
	return body
}

func (s *svcServiceSystem) RestartService(req *types.RestartService) soap.HasFault {
	body := new(methods.RestartServiceBody)
	if svc := s.service(req.Id); svc != nil {
		svc.Running = true
		body.Res = new(types.RestartServiceResponse)
	} else {
		body.Fault_ = svcNotFound("service", req.Id)
	}
	return body
}

func (s *svcServiceSystem) UpdateServicePolicy(req *types.UpdateServicePolicy) soap.HasFault {
	body := new(methods.UpdateServicePolicyBody)
	svc := s.service(req.Id)
	switch {
	case svc == nil:
		body.Fault_ = svcNotFound("service", req.Id)
	case req.Policy != "on" && req.Policy != "off" && req.Policy != "automatic":
		body.Fault_ = simulator.Fault("A specified parameter was not correct: policy", &types.InvalidArgument{InvalidProperty: "policy"})
	default:
		svc.Policy = req.Policy
		body.Res = new(types.UpdateServicePolicyResponse)
	}
	return body
}

type svcDateTimeSystem struct {
	mo.HostDateTimeSystem
}

func (s *svcDateTimeSystem) UpdateDateTimeConfig(req *types.UpdateDateTimeConfig) soap.HasFault {
	body := new(methods.UpdateDateTimeConfigBody)
	config := req.Config
	if config.TimeZone != "" && config.TimeZone != svcUTC.Key {
		body.Fault_ = simulator.Fault("A specified parameter was not correct: timeZone", &types.InvalidArgument{InvalidProperty: "timeZone"})
		return body
	}
	if config.NtpConfig != nil {
		s.DateTimeInfo.NtpConfig = &types.HostNtpConfig{
			Server:     append([]string(nil), config.NtpConfig.Server...),
			ConfigFile: append([]string(nil), config.NtpConfig.ConfigFile...),
		}
	}
	body.Res = new(types.UpdateDateTimeConfigResponse)
	return body
}

func (s *svcDateTimeSystem) QueryDateTime(*types.QueryDateTime) soap.HasFault {
	return &methods.QueryDateTimeBody{Res: &types.QueryDateTimeResponse{Returnval: time.Now().UTC()}}
}

// svcFirewallSystem is one host's firewall; FirewallInfo is the host's config.firewall.
type svcFirewallSystem struct {
	mo.HostFirewallSystem
	host *mo.HostSystem
}

// ruleset runs fn on the ruleset `id` with the host locked too (its config.firewall is this
// object's firewallInfo); false when the host has no such ruleset.
func (s *svcFirewallSystem) ruleset(id string, fn func(*types.HostFirewallRuleset)) bool {
	found := false
	simulator.Map.WithLock(s.host, func() {
		for i := range s.FirewallInfo.Ruleset {
			if s.FirewallInfo.Ruleset[i].Key == id {
				fn(&s.FirewallInfo.Ruleset[i])
				found = true
				return
			}
		}
	})
	return found
}

func (s *svcFirewallSystem) EnableRuleset(req *types.EnableRuleset) soap.HasFault {
	body := new(methods.EnableRulesetBody)
	if s.ruleset(req.Id, func(r *types.HostFirewallRuleset) { r.Enabled = true }) {
		body.Res = new(types.EnableRulesetResponse)
	} else {
		body.Fault_ = svcNotFound("ruleset", req.Id)
	}
	return body
}

func (s *svcFirewallSystem) DisableRuleset(req *types.DisableRuleset) soap.HasFault {
	body := new(methods.DisableRulesetBody)
	if s.ruleset(req.Id, func(r *types.HostFirewallRuleset) { r.Enabled = false }) {
		body.Res = new(types.DisableRulesetResponse)
	} else {
		body.Fault_ = svcNotFound("ruleset", req.Id)
	}
	return body
}

func (s *svcFirewallSystem) UpdateRuleset(req *types.UpdateRuleset) soap.HasFault {
	body := new(methods.UpdateRulesetBody)
	hosts := svcCopyIpList(req.Spec.AllowedHosts)
	for _, ip := range hosts.IpAddress {
		if net.ParseIP(ip) == nil {
			body.Fault_ = simulator.Fault("A specified parameter was not correct: spec.allowedHosts.ipAddress "+ip,
				&types.InvalidArgument{InvalidProperty: "spec.allowedHosts.ipAddress"})
			return body
		}
	}
	for _, network := range hosts.IpNetwork {
		ip := net.ParseIP(network.Network)
		bits := int32(128)
		if ip != nil && ip.To4() != nil {
			bits = 32
		}
		if ip == nil || network.PrefixLength < 0 || network.PrefixLength > bits {
			body.Fault_ = simulator.Fault(fmt.Sprintf("A specified parameter was not correct: spec.allowedHosts.ipNetwork %s/%d", network.Network, network.PrefixLength),
				&types.InvalidArgument{InvalidProperty: "spec.allowedHosts.ipNetwork"})
			return body
		}
	}
	if s.ruleset(req.Id, func(r *types.HostFirewallRuleset) { r.AllowedHosts = &hosts }) {
		body.Res = new(types.UpdateRulesetResponse)
	} else {
		body.Fault_ = svcNotFound("ruleset", req.Id)
	}
	return body
}
