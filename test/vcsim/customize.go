package main

// Guest customization as vCenter does it, where vcsim 0.24.2 falls short (vSphere API
// reference: CustomizationSpecManager, VirtualMachine.CloneVM_Task / CustomizeVM_Task,
// CustomizationEvent and its subtypes):
//
//   - CustomizationSpecManager keeps specs: CreateCustomizationSpec (AlreadyExists for a taken
//     name), GetCustomizationSpec and OverwriteCustomizationSpec (NotFound; ConcurrentAccess
//     when the item's info.changeVersion is not the stored one), DeleteCustomizationSpec
//     (NotFound), DoesCustomizationSpecExist, and the `info` property lists them. vCenter sets
//     info.changeVersion and info.lastUpdateTime on each write. 0.24.2 has no
//     DeleteCustomizationSpec (MethodNotFound) and never versions an item.
//   - CloneVM_Task applies spec.customization: the clone gets config.tools.pendingCustomization
//     and the customization runs in the guest at its next power-on. A spec whose nicSettingMap
//     does not match the VM's NICs fails the task with NicSettingMismatch (a CustomizationFault,
//     which CloneVM_Task throws). spec.powerOn powers the clone on. 0.24.2 ignores both.
//   - At that power-on (however the VM is powered on) vCenter posts
//     CustomizationStartedEvent, then CustomizationSucceeded with the guest reporting the new
//     identity (guest.hostName, guest.net[].ipAddress, guest.ipAddress, the NICs' DNS settings),
//     or a CustomizationFailed subtype when the guest cannot apply it: "Sysprep failed to run
//     in the guest during customization. This will most likely have been caused by the fact
//     that the wrong sysprep was used for the guest" (CustomizationSysprepFailed: a Sysprep
//     identity on a guest whose guestId is not Windows), and CustomizationLinuxIdentityFailed
//     for a Linux identity on a Windows guest. Either way pendingCustomization is cleared.
//     0.24.2 applies the identity without any event and never fails.
//   - CustomizeVM_Task records the spec the same way (InvalidPowerState when the VM is on,
//     CustomizationPending when one is pending, NicSettingMismatch), so the power-on above
//     applies it with its events.
//
// The spec a VM waits for is kept here, by VM, and nowhere in vcsim's own state; its effects are
// only the documented properties above.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// custSpecManager embeds the simulator's object by value (the property collector finds the mo
// type through the first struct field) and keeps the specs itself.
type custSpecManager struct {
	simulator.CustomizationSpecManager
	mu    sync.Mutex
	items []types.CustomizationSpecItem
}

var custSpecManagerRef = types.ManagedObjectReference{Type: "CustomizationSpecManager", Value: "CustomizationSpecManager"}

func init() {
	simulator.RegisterEndpoint(func(_ *simulator.Service, r *simulator.Registry) {
		if m, ok := r.Get(custSpecManagerRef).(*simulator.CustomizationSpecManager); ok {
			items := append([]types.CustomizationSpecItem(nil), simulator.DefaultCustomizationSpec...)
			for i := range items {
				items[i].Info.ChangeVersion = "1"
			}
			r.Put(&custSpecManager{CustomizationSpecManager: *m, items: items})
		}
		r.AddHandler(custPowerWatch{})
	})
}

// custPowerWatch runs a VM's pending customization when the VM's power state becomes
// poweredOn, however it was powered on (PowerOnVM_Task, a clone's powerOn, PowerOnMultiVM_Task).
type custPowerWatch struct{}

func (custPowerWatch) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "custPowerWatch", Value: "custPowerWatch"}
}

func (custPowerWatch) PutObject(mo.Reference) {}

func (custPowerWatch) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	for _, change := range changes {
		if change.Name == "runtime.powerState" && change.Val == types.VirtualMachinePowerStatePoweredOn {
			if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok {
				custRun(vm)
			}
			return
		}
	}
}

func (custPowerWatch) RemoveObject(ref types.ManagedObjectReference) {
	custPending.Lock()
	delete(custPending.specs, ref)
	custPending.Unlock()
}

// Get answers property reads: `info` lists the stored specs.
func (m *custSpecManager) Get() mo.Reference {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &mo.CustomizationSpecManager{Self: m.Self, EncryptionKey: m.EncryptionKey}
	for _, item := range m.items {
		out.Info = append(out.Info, item.Info)
	}
	return out
}

func (m *custSpecManager) find(name string) int {
	for i, item := range m.items {
		if item.Info.Name == name {
			return i
		}
	}
	return -1
}

func (m *custSpecManager) DoesCustomizationSpecExist(req *types.DoesCustomizationSpecExist) soap.HasFault {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &methods.DoesCustomizationSpecExistBody{Res: &types.DoesCustomizationSpecExistResponse{Returnval: m.find(req.Name) >= 0}}
}

func (m *custSpecManager) GetCustomizationSpec(req *types.GetCustomizationSpec) soap.HasFault {
	m.mu.Lock()
	defer m.mu.Unlock()
	body := new(methods.GetCustomizationSpecBody)
	if i := m.find(req.Name); i >= 0 {
		body.Res = &types.GetCustomizationSpecResponse{Returnval: m.items[i]}
	} else {
		body.Fault_ = simulator.Fault(fmt.Sprintf("The customization specification %s does not exist.", req.Name), &types.NotFound{})
	}
	return body
}

func (m *custSpecManager) CreateCustomizationSpec(req *types.CreateCustomizationSpec) soap.HasFault {
	m.mu.Lock()
	defer m.mu.Unlock()
	body := new(methods.CreateCustomizationSpecBody)
	if req.Item.Info.Name == "" {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "item.info.name"})
		return body
	}
	if m.find(req.Item.Info.Name) >= 0 {
		body.Fault_ = simulator.Fault(fmt.Sprintf("The specified key, name, or identifier '%s' already exists.", req.Item.Info.Name), &types.AlreadyExists{Name: req.Item.Info.Name})
		return body
	}
	item := req.Item
	item.Info.ChangeVersion = "1"
	now := time.Now()
	item.Info.LastUpdateTime = &now
	m.items = append(m.items, item)
	body.Res = new(types.CreateCustomizationSpecResponse)
	return body
}

func (m *custSpecManager) OverwriteCustomizationSpec(req *types.OverwriteCustomizationSpec) soap.HasFault {
	m.mu.Lock()
	defer m.mu.Unlock()
	body := new(methods.OverwriteCustomizationSpecBody)
	i := m.find(req.Item.Info.Name)
	if i < 0 {
		body.Fault_ = simulator.Fault(fmt.Sprintf("The customization specification %s does not exist.", req.Item.Info.Name), &types.NotFound{})
		return body
	}
	stored := m.items[i].Info.ChangeVersion
	if v := req.Item.Info.ChangeVersion; v != "" && v != stored {
		body.Fault_ = simulator.Fault("The customization specification was changed by another client.", &types.ConcurrentAccess{})
		return body
	}
	item := req.Item
	n, _ := strconv.Atoi(stored)
	item.Info.ChangeVersion = strconv.Itoa(n + 1)
	now := time.Now()
	item.Info.LastUpdateTime = &now
	m.items[i] = item
	body.Res = new(types.OverwriteCustomizationSpecResponse)
	return body
}

func (m *custSpecManager) DeleteCustomizationSpec(req *types.DeleteCustomizationSpec) soap.HasFault {
	m.mu.Lock()
	defer m.mu.Unlock()
	body := new(methods.DeleteCustomizationSpecBody)
	i := m.find(req.Name)
	if i < 0 {
		body.Fault_ = simulator.Fault(fmt.Sprintf("The customization specification %s does not exist.", req.Name), &types.NotFound{})
		return body
	}
	m.items = append(m.items[:i], m.items[i+1:]...)
	body.Res = new(types.DeleteCustomizationSpecResponse)
	return body
}

// custPending holds, by VM, the customization that runs at the VM's next power-on.
var custPending = struct {
	sync.Mutex
	specs map[types.ManagedObjectReference]types.CustomizationSpec
}{specs: map[types.ManagedObjectReference]types.CustomizationSpec{}}

// custTypeFunc resolves vim25 type names, with or without a namespace prefix.
func custTypeFunc() func(string) (reflect.Type, bool) {
	vim := types.TypeFunc()
	return func(name string) (reflect.Type, bool) {
		if t, ok := vim(name); ok {
			return t, ok
		}
		if i := strings.IndexByte(name, ':'); i >= 0 {
			return vim(name[i+1:])
		}
		return nil, false
	}
}

// custHandle serves the calls above; false leaves the request to vcsim.
func custHandle(next http.Handler, w http.ResponseWriter, r *http.Request, body []byte) bool {
	switch {
	case bytesContain(body, "<CloneVM_Task"):
		return custClone(next, w, r, body)
	case bytesContain(body, "<CustomizeVM_Task"):
		return custCustomize(w, body)
	}
	return false
}

func bytesContain(body []byte, s string) bool { return strings.Contains(string(body), s) }

func custNicMismatch(vm *simulator.VirtualMachine, spec *types.CustomizationSpec) types.BaseMethodFault {
	if len(vm.Guest.Net) != len(spec.NicSettingMap) {
		return &types.NicSettingMismatch{
			NumberOfNicsInSpec: int32(len(spec.NicSettingMap)),
			NumberOfNicsInVM:   int32(len(vm.Guest.Net)),
		}
	}
	return nil
}

func custPend(vm *simulator.VirtualMachine, spec types.CustomizationSpec) {
	custPending.Lock()
	custPending.specs[vm.Self] = spec
	custPending.Unlock()
	simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.tools.pendingCustomization", Val: uuid.New().String()}})
}

var custTaskRef = regexp.MustCompile(`<returnval type="Task">([^<]+)</returnval>`)

func custClone(next http.Handler, w http.ResponseWriter, r *http.Request, body []byte) bool {
	method, err := simulator.UnmarshalBody(custTypeFunc(), body)
	if err != nil {
		return false
	}
	req, ok := method.Body.(*types.CloneVM_Task)
	if !ok || (req.Spec.Customization == nil && !req.Spec.PowerOn) {
		return false
	}
	source, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	if spec := req.Spec.Customization; spec != nil {
		if fault := custNicMismatch(source, spec); fault != nil {
			task := simulator.CreateTask(source, "cloneVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
				return nil, fault
			})
			writeResponse(w, "CloneVM_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Run().Value))
			return true
		}
	}
	recorder := httptest.NewRecorder()
	next.ServeHTTP(recorder, r)
	if m := custTaskRef.FindSubmatch(recorder.Body.Bytes()); m != nil {
		task, _ := simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: string(m[1])}).(*simulator.Task)
		if task != nil && task.Info.State == types.TaskInfoStateSuccess {
			if ref, ok := task.Info.Result.(types.ManagedObjectReference); ok {
				if clone, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok {
					if req.Spec.Customization != nil {
						custPend(clone, *req.Spec.Customization)
					}
					if req.Spec.PowerOn && !req.Spec.Template {
						custPowerOnClone(next, r, clone)
					}
				}
			}
		}
	}
	replay(w, recorder, recorder.Body.Bytes())
	return true
}

// custPowerOnClone powers a new clone on through vcsim itself, in the caller's session (its
// pending customization then runs: custPowerWatch).
func custPowerOnClone(next http.Handler, r *http.Request, vm *simulator.VirtualMachine) {
	call := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><PowerOnVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">%s</_this></PowerOnVM_Task></soapenv:Body></soapenv:Envelope>`, vm.Self.Value)
	power, err := http.NewRequest(http.MethodPost, r.URL.String(), strings.NewReader(call))
	if err != nil {
		return
	}
	power.Header = r.Header.Clone()
	power.Header.Del("Content-Length")
	power.Header.Set("SOAPAction", "urn:vim25/7.0")
	power.RequestURI = r.RequestURI
	power.RemoteAddr = r.RemoteAddr
	power.Host = r.Host
	next.ServeHTTP(httptest.NewRecorder(), power)
}

func custCustomize(w http.ResponseWriter, body []byte) bool {
	method, err := simulator.UnmarshalBody(custTypeFunc(), body)
	if err != nil {
		return false
	}
	req, ok := method.Body.(*types.CustomizeVM_Task)
	if !ok {
		return false
	}
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	task := simulator.CreateTask(vm, "customizeVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			return nil, &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOff, ExistingState: vm.Runtime.PowerState}
		}
		if vm.Config.Tools != nil && vm.Config.Tools.PendingCustomization != "" {
			return nil, &types.CustomizationPending{}
		}
		if fault := custNicMismatch(vm, &req.Spec); fault != nil {
			return nil, fault
		}
		custPend(vm, req.Spec)
		return nil, nil
	})
	writeResponse(w, "CustomizeVM_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Run().Value))
	return true
}

const (
	custLinuxLog   = "/var/log/vmware-imc/toolsDeployPkg.log"
	custWindowsLog = `C:\Windows\TEMP\vmware-imc\guestcust.log`
)

// custRun runs a powered-on VM's pending customization in its "guest", as VMware Tools do,
// and posts vCenter's events for it.
func custRun(vm *simulator.VirtualMachine) {
	custPending.Lock()
	spec, ok := custPending.specs[vm.Self]
	delete(custPending.specs, vm.Self)
	custPending.Unlock()
	if !ok {
		return
	}
	windowsGuest := strings.HasPrefix(strings.ToLower(vm.Config.GuestId), "win")
	logLocation := custLinuxLog
	if windowsGuest {
		logLocation = custWindowsLog
	}
	event := custEvent(vm, logLocation)
	custPost(&types.CustomizationStartedEvent{CustomizationEvent: event},
		fmt.Sprintf("Started customization of VM %s. Customization log located at %s in the guest OS.", vm.Name, logLocation))

	changes := []types.PropertyChange{{Name: "config.tools.pendingCustomization", Val: ""}}
	hostname := ""
	switch id := spec.Identity.(type) {
	case *types.CustomizationLinuxPrep:
		if windowsGuest {
			simulator.Map.Update(vm, changes)
			custPost(&types.CustomizationLinuxIdentityFailed{CustomizationFailed: types.CustomizationFailed{CustomizationEvent: event}},
				fmt.Sprintf("An error occurred while setting up Linux identity. See log file '%s' on guest OS for details.", logLocation))
			return
		}
		hostname = custName(vm, id.HostName)
	case *types.CustomizationSysprep, *types.CustomizationSysprepText:
		if !windowsGuest {
			simulator.Map.Update(vm, changes)
			custPost(&types.CustomizationSysprepFailed{CustomizationFailed: types.CustomizationFailed{CustomizationEvent: event}, SysprepVersion: "", SystemVersion: vm.Config.GuestId},
				fmt.Sprintf("The version of Sysprep provided for customizing VM %s does not match the version of guest OS %s. See the log file %s in the guest OS for more information.", vm.Name, vm.Config.GuestId, logLocation))
			return
		}
		if sysprep, ok := id.(*types.CustomizationSysprep); ok {
			hostname = custName(vm, sysprep.UserData.ComputerName)
		}
	}

	var domain string
	if linux, ok := spec.Identity.(*types.CustomizationLinuxPrep); ok {
		domain = linux.Domain
	}
	nics := append([]types.GuestNicInfo(nil), vm.Guest.Net...)
	address := ""
	for i, setting := range spec.NicSettingMap {
		if i >= len(nics) {
			break
		}
		nic := &nics[i]
		dns := &types.NetDnsConfigInfo{HostName: hostname, DomainName: domain}
		if setting.Adapter.DnsDomain != "" {
			dns.DomainName = setting.Adapter.DnsDomain
		}
		dns.IpAddress = append(append([]string(nil), spec.GlobalIPSettings.DnsServerList...), setting.Adapter.DnsServerList...)
		dns.SearchDomain = spec.GlobalIPSettings.DnsSuffixList
		nic.DnsConfig = dns
		switch ip := setting.Adapter.Ip.(type) {
		case *types.CustomizationFixedIp:
			nic.IpAddress = []string{ip.IpAddress}
			nic.IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{{
				IpAddress: ip.IpAddress, PrefixLength: custPrefix(setting.Adapter.SubnetMask), Origin: "manual", State: "preferred",
			}}}
			if address == "" {
				address = ip.IpAddress
			}
		case *types.CustomizationDhcpIpGenerator:
			// The address comes from the network's DHCP server: whatever the guest had stays.
			nic.IpConfig = &types.NetIpConfigInfo{Dhcp: &types.NetDhcpConfigInfo{Ipv4: &types.NetDhcpConfigInfoDhcpOptions{Enable: true}}}
		}
	}
	if len(spec.NicSettingMap) > 0 {
		changes = append(changes, types.PropertyChange{Name: "guest.net", Val: nics})
	}
	if hostname != "" {
		changes = append(changes,
			types.PropertyChange{Name: "guest.hostName", Val: hostname},
			types.PropertyChange{Name: "summary.guest.hostName", Val: hostname})
	}
	if address != "" {
		changes = append(changes,
			types.PropertyChange{Name: "guest.ipAddress", Val: address},
			types.PropertyChange{Name: "summary.guest.ipAddress", Val: address})
	}
	simulator.Map.Update(vm, changes)
	custPost(&types.CustomizationSucceeded{CustomizationEvent: event},
		fmt.Sprintf("Customization of VM %s succeeded. Customization log located at %s in the guest OS.", vm.Name, logLocation))
}

var custNameCounter struct {
	sync.Mutex
	n int
}

// custName is the host name a CustomizationName gives this VM (vSphere: fixed, the VM's name,
// or a prefix with a number that makes it unique).
func custName(vm *simulator.VirtualMachine, name types.BaseCustomizationName) string {
	switch n := name.(type) {
	case *types.CustomizationFixedName:
		return n.Name
	case *types.CustomizationVirtualMachineName:
		return vm.Name
	case *types.CustomizationPrefixName:
		custNameCounter.Lock()
		custNameCounter.n++
		i := custNameCounter.n
		custNameCounter.Unlock()
		return fmt.Sprintf("%s-%d", n.Base, i)
	}
	return ""
}

func custPrefix(mask string) int32 {
	var bits int32
	for _, part := range strings.Split(mask, ".") {
		v, err := strconv.Atoi(part)
		if err != nil {
			return 0
		}
		for ; v > 0; v = (v << 1) & 0xff {
			bits++
		}
	}
	return bits
}

// custEvent is the VmEvent part of a customization event for vm: the VM, its host and datacenter.
func custEvent(vm *simulator.VirtualMachine, logLocation string) types.CustomizationEvent {
	e := types.VmEvent{}
	e.Vm = &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: vm.Name}, Vm: vm.Self}
	if vm.Runtime.Host != nil {
		if host, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem); ok {
			e.Host = &types.HostEventArgument{EntityEventArgument: types.EntityEventArgument{Name: host.Name}, Host: host.Self}
		}
	}
	for parent := vm.Parent; parent != nil; {
		obj := simulator.Map.Get(*parent)
		if dc, ok := obj.(*simulator.Datacenter); ok {
			e.Datacenter = &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: dc.Name}, Datacenter: dc.Self}
			break
		}
		entity, ok := obj.(mo.Entity)
		if !ok {
			break
		}
		parent = entity.Entity().Parent
	}
	return types.CustomizationEvent{VmEvent: e, LogLocation: logLocation}
}

// custPost posts an event to the EventManager, as vCenter does for the guest's progress.
func custPost(event types.BaseEvent, message string) {
	event.GetEvent().FullFormattedMessage = message
	m := simulator.Map.EventManager()
	ctx := &simulator.Context{
		Context: context.Background(),
		Session: &simulator.Session{UserSession: types.UserSession{}, Registry: simulator.Map},
		Map:     simulator.Map,
	}
	simulator.Map.WithLock(m, func() {
		m.PostEvent(ctx, &types.PostEvent{EventToPost: event})
	})
}
