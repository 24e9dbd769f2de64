package main

// Guest operations (vSphere API reference, GuestOperationsManager, GuestProcessManager,
// GuestFileManager) for VMs that are not container-backed. vSphere runs them through VMware
// Tools, as the guest account given in each call's NamePasswordAuthentication: a VM that is
// not powered on faults with InvalidPowerState, a guest whose Tools are not running with
// GuestOperationsUnavailable, a wrong user or password with InvalidGuestLogin.
// StartProgramInGuest answers the new process's pid; ListProcessesInGuest answers the
// processes (the pids asked for, or all) with name, owner, command line, start time and, once
// they exited, end time and exit code (vSphere keeps exited processes listed for a while).
// InitiateFileTransferToGuest/FromGuest answer a URL on which the client PUTs (GETs) the
// file's bytes over HTTPS: host "*" stands for the host the client connected to. A file that is
// there and overwrite=false is FileAlreadyExists, a missing file FileNotFound.
// vcsim 0.24.2 has no process operations and runs file transfers only for container-backed VMs
// (GuestOperationsUnavailable for all others); container-backed VMs keep its behaviour.
//
// The emulation (file operations in guest-files.go): the guest account is extraConfig
// guestinfo.vcsim.guest-user and guestinfo.vcsim.guest-password (default root / vmware). The guest's file system is a
// directory per VM under the simulator's private working directory: a guest path /a/b is
// <dir>/a/b (".." cannot leave it). A program runs as a real process of the simulator's own
// user, as VMware Tools on Linux runs it: `/bin/sh -c "<programPath> <arguments>"`, in its
// working directory (a guest path, default "/": the guest directory), with PATH, HOME (the
// guest directory) and the spec's envVariables. Its own reads and writes use the host's paths:
// programs are given paths relative to their working directory. Processes are killed when
// the VM powers off. Transfer URLs are https://*/guestFile?id=<vm>&token=<one-time token>, served
// by the simulator's HTTPS endpoint (the form vCenter and ESXi answer).

import (
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type guestProcess struct {
	info types.GuestProcessInfo
	cmd  *exec.Cmd
}

type guestMachine struct {
	mu    sync.Mutex
	procs []*guestProcess
}

var (
	guestMachines sync.Map // VM id → *guestMachine
	guestRootDir  string
)

func guestMachineOf(vm string) *guestMachine {
	m, _ := guestMachines.LoadOrStore(vm, &guestMachine{})
	return m.(*guestMachine)
}

// guestRoot is the VM's guest file system, created on first use.
func guestRoot(vm string) (string, error) {
	dir := filepath.Join(guestRootDir, vm)
	return dir, os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
}

// guestFile maps an absolute guest path into the VM's guest directory.
func guestFile(vm, guestPath string) (string, types.BaseMethodFault) {
	if !strings.HasPrefix(guestPath, "/") {
		return "", &types.InvalidArgument{InvalidProperty: "guestFilePath"}
	}
	root, err := guestRoot(vm)
	if err != nil {
		return "", &types.GuestOperationsFault{}
	}
	return filepath.Join(root, filepath.FromSlash(path.Clean(guestPath))), nil
}

// guestPathOf is the guest path of a file inside the VM's guest directory.
func guestPathOf(vm, file string) string {
	root, _ := guestRoot(vm)
	rel, _ := filepath.Rel(root, file)
	return "/" + filepath.ToSlash(rel)
}

// guestCheck applies vSphere's preconditions of every guest operation; it answers the
// guest user.
func guestCheck(ref types.ManagedObjectReference, auth types.BaseGuestAuthentication) (string, types.BaseMethodFault) {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return "", &types.ManagedObjectNotFound{Obj: ref}
	}
	var fault types.BaseMethodFault
	user := ""
	simulator.Map.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			fault = &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: vm.Runtime.PowerState}
			return
		}
		if !guestToolsRunning(vm) {
			fault = &types.GuestOperationsUnavailable{}
			return
		}
		wantUser, wantPassword := guestOption(vm, "guestinfo.vcsim.guest-user"), guestOption(vm, "guestinfo.vcsim.guest-password")
		if wantUser == "" {
			wantUser = "root"
		}
		if wantPassword == "" {
			wantPassword = "vmware"
		}
		creds, ok := auth.(*types.NamePasswordAuthentication)
		if !ok || creds.Username != wantUser || creds.Password != wantPassword {
			fault = &types.InvalidGuestLogin{}
			return
		}
		user = creds.Username
	})
	return user, fault
}

// guestContainerBacked: vcsim runs guest operations of container-backed VMs itself.
func guestContainerBacked(ref types.ManagedObjectReference) bool {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	return ok && guestOption(vm, "RUN.container") != ""
}

func guestStopProcesses(vm string) {
	m, ok := guestMachines.Load(vm)
	if !ok {
		return
	}
	machine := m.(*guestMachine)
	machine.mu.Lock()
	defer machine.mu.Unlock()
	for _, p := range machine.procs {
		if p.info.EndTime == nil && p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	machine.procs = nil
}

type guestProcessManager struct {
	simulator.GuestProcessManager
}

func init() {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		wd, err := os.Getwd()
		if err != nil {
			wd = os.TempDir()
		}
		guestRootDir = filepath.Join(wd, "brine-guests")
		if pm, ok := r.Get(types.ManagedObjectReference{Type: "GuestProcessManager", Value: "guestOperationsProcessManager"}).(*simulator.GuestProcessManager); ok {
			r.Put(&guestProcessManager{GuestProcessManager: *pm})
		}
		if fm, ok := r.Get(types.ManagedObjectReference{Type: "GuestFileManager", Value: "guestOperationsFileManager"}).(*simulator.GuestFileManager); ok {
			r.Put(&guestFileManager{GuestFileManager: *fm})
		}
		s.Handle("/guestFile", http.HandlerFunc(guestServeFile))
	})
}

func (m *guestProcessManager) StartProgramInGuest(req *types.StartProgramInGuest) soap.HasFault {
	body := new(methods.StartProgramInGuestBody)
	user, fault := guestCheck(req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	spec := req.Spec.GetGuestProgramSpec()
	if !strings.HasPrefix(spec.ProgramPath, "/") {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "spec.programPath"})
		return body
	}
	if _, err := os.Stat(spec.ProgramPath); err != nil {
		body.Fault_ = simulator.Fault("", &types.FileNotFound{FileFault: types.FileFault{File: spec.ProgramPath}})
		return body
	}
	workdir := spec.WorkingDirectory
	if workdir == "" {
		workdir = "/"
	}
	dir, fault := guestFile(req.Vm.Value, workdir)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		body.Fault_ = simulator.Fault("", &types.FileNotFound{FileFault: types.FileFault{File: workdir}})
		return body
	}
	root, _ := guestRoot(req.Vm.Value)
	cmdLine := strings.TrimSpace(spec.ProgramPath + " " + spec.Arguments)
	cmd := exec.Command("/bin/sh", "-c", cmdLine)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + root, "USER=" + user}, spec.EnvVariables...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		body.Fault_ = simulator.Fault(err.Error(), &types.GuestOperationsFault{})
		return body
	}
	machine := guestMachineOf(req.Vm.Value)
	process := &guestProcess{cmd: cmd, info: types.GuestProcessInfo{
		Name:      path.Base(spec.ProgramPath),
		Pid:       int64(cmd.Process.Pid),
		Owner:     user,
		CmdLine:   cmdLine,
		StartTime: time.Now(),
	}}
	machine.mu.Lock()
	machine.procs = append(machine.procs, process)
	machine.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		end := time.Now()
		machine.mu.Lock()
		process.info.EndTime = &end
		process.info.ExitCode = int32(cmd.ProcessState.ExitCode())
		machine.mu.Unlock()
	}()
	body.Res = &types.StartProgramInGuestResponse{Returnval: process.info.Pid}
	return body
}

func (m *guestProcessManager) ListProcessesInGuest(req *types.ListProcessesInGuest) soap.HasFault {
	body := new(methods.ListProcessesInGuestBody)
	if _, fault := guestCheck(req.Vm, req.Auth); fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	wanted := map[int64]bool{}
	for _, pid := range req.Pids {
		wanted[pid] = true
	}
	machine := guestMachineOf(req.Vm.Value)
	res := &types.ListProcessesInGuestResponse{}
	machine.mu.Lock()
	for _, p := range machine.procs {
		if len(wanted) == 0 || wanted[p.info.Pid] {
			res.Returnval = append(res.Returnval, p.info)
		}
	}
	machine.mu.Unlock()
	body.Res = res
	return body
}

func (m *guestProcessManager) TerminateProcessInGuest(req *types.TerminateProcessInGuest) soap.HasFault {
	body := new(methods.TerminateProcessInGuestBody)
	if _, fault := guestCheck(req.Vm, req.Auth); fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	machine := guestMachineOf(req.Vm.Value)
	machine.mu.Lock()
	defer machine.mu.Unlock()
	for _, p := range machine.procs {
		if p.info.Pid == req.Pid {
			if p.info.EndTime == nil {
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			}
			body.Res = new(types.TerminateProcessInGuestResponse)
			return body
		}
	}
	body.Fault_ = simulator.Fault("", &types.GuestProcessNotFound{Pid: req.Pid})
	return body
}
