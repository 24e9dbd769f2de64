package main

// Guest file operations of the guest-operations emulation (see guest-ops.go for the vSphere
// behaviour copied): GuestFileManager's InitiateFileTransferToGuest/FromGuest, whose URLs
// (https://*/guestFile?id=<vm>&token=<one-time token>) this file serves over the simulator's
// HTTPS endpoint, CreateTemporaryDirectoryInGuest and DeleteDirectoryInGuest, on the VM's
// guest directory.

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type guestTransfer struct {
	file   string
	upload bool
	vm     string
}

var guestTransfers sync.Map // token → guestTransfer

type guestFileManager struct {
	simulator.GuestFileManager
}

func guestToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// guestCheckedFile is guestCheck (the VM, its tools and the credentials, faulting as
// vSphere does), then guestFile (the guest path on this host): what every file call does first.
func guestCheckedFile(vm types.ManagedObjectReference, auth types.BaseGuestAuthentication, guestPath string) (string, types.BaseMethodFault) {
	if _, fault := guestCheck(vm, auth); fault != nil {
		return "", fault
	}
	return guestFile(vm.Value, guestPath)
}

func guestTransferURL(vm, token string) string {
	return "https://*/guestFile?id=" + vm + "&token=" + token
}

func (m *guestFileManager) InitiateFileTransferToGuest(ctx *simulator.Context, req *types.InitiateFileTransferToGuest) soap.HasFault {
	if guestContainerBacked(req.Vm) {
		return m.GuestFileManager.InitiateFileTransferToGuest(ctx, req)
	}
	body := new(methods.InitiateFileTransferToGuestBody)
	file, fault := guestCheckedFile(req.Vm, req.Auth, req.GuestFilePath)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	if info, err := os.Stat(filepath.Dir(file)); err != nil || !info.IsDir() {
		body.Fault_ = simulator.Fault("", &types.FileNotFound{FileFault: types.FileFault{File: path.Dir(req.GuestFilePath)}})
		return body
	}
	if info, err := os.Stat(file); err == nil {
		if info.IsDir() || !req.Overwrite {
			body.Fault_ = simulator.Fault("", &types.FileAlreadyExists{FileFault: types.FileFault{File: req.GuestFilePath}})
			return body
		}
	}
	token := guestToken()
	guestTransfers.Store(token, guestTransfer{file: file, upload: true, vm: req.Vm.Value})
	body.Res = &types.InitiateFileTransferToGuestResponse{Returnval: guestTransferURL(req.Vm.Value, token)}
	return body
}

func (m *guestFileManager) InitiateFileTransferFromGuest(ctx *simulator.Context, req *types.InitiateFileTransferFromGuest) soap.HasFault {
	if guestContainerBacked(req.Vm) {
		return m.GuestFileManager.InitiateFileTransferFromGuest(ctx, req)
	}
	body := new(methods.InitiateFileTransferFromGuestBody)
	file, fault := guestCheckedFile(req.Vm, req.Auth, req.GuestFilePath)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	info, err := os.Stat(file)
	if err != nil || info.IsDir() {
		body.Fault_ = simulator.Fault("", &types.FileNotFound{FileFault: types.FileFault{File: req.GuestFilePath}})
		return body
	}
	token := guestToken()
	guestTransfers.Store(token, guestTransfer{file: file, vm: req.Vm.Value})
	modified := info.ModTime()
	body.Res = &types.InitiateFileTransferFromGuestResponse{Returnval: types.FileTransferInformation{
		Attributes: &types.GuestPosixFileAttributes{
			GuestFileAttributes: types.GuestFileAttributes{ModificationTime: &modified},
			Permissions:         int64(info.Mode().Perm()),
		},
		Size: info.Size(),
		Url:  guestTransferURL(req.Vm.Value, token),
	}}
	return body
}

func (m *guestFileManager) CreateTemporaryDirectoryInGuest(req *types.CreateTemporaryDirectoryInGuest) soap.HasFault {
	body := new(methods.CreateTemporaryDirectoryInGuestBody)
	if _, fault := guestCheck(req.Vm, req.Auth); fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	parent := req.DirectoryPath
	if parent == "" {
		parent = "/tmp"
	}
	dir, fault := guestFile(req.Vm.Value, parent)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	created, err := os.MkdirTemp(dir, req.Prefix+"*"+req.Suffix)
	if err != nil {
		body.Fault_ = simulator.Fault("", &types.FileNotFound{FileFault: types.FileFault{File: parent}})
		return body
	}
	body.Res = &types.CreateTemporaryDirectoryInGuestResponse{Returnval: guestPathOf(req.Vm.Value, created)}
	return body
}

func (m *guestFileManager) DeleteDirectoryInGuest(req *types.DeleteDirectoryInGuest) soap.HasFault {
	body := new(methods.DeleteDirectoryInGuestBody)
	dir, fault := guestCheckedFile(req.Vm, req.Auth, req.DirectoryPath)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	root, _ := guestRoot(req.Vm.Value)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() || dir == root {
		body.Fault_ = simulator.Fault("", &types.FileNotFound{FileFault: types.FileFault{File: req.DirectoryPath}})
		return body
	}
	remove := os.Remove
	if req.Recursive {
		remove = os.RemoveAll
	}
	if err := remove(dir); err != nil {
		body.Fault_ = simulator.Fault("", &types.DirectoryNotEmpty{FileFault: types.FileFault{File: req.DirectoryPath}})
		return body
	}
	body.Res = new(types.DeleteDirectoryInGuestResponse)
	return body
}

// guestServeFile answers the PUT (upload) or GET (download) of a transfer URL, once per token.
func guestServeFile(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	value, ok := guestTransfers.LoadAndDelete(token)
	if !ok || value.(guestTransfer).vm != r.URL.Query().Get("id") {
		http.Error(w, "unknown or used transfer token", http.StatusNotFound)
		return
	}
	transfer := value.(guestTransfer)
	switch {
	case transfer.upload && r.Method == http.MethodPut:
		out, err := os.Create(transfer.file)
		if err == nil {
			_, err = io.Copy(out, r.Body)
			if closeErr := out.Close(); err == nil {
				err = closeErr
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	case !transfer.upload && r.Method == http.MethodGet:
		http.ServeFile(w, r, transfer.file)
	default:
		http.Error(w, "method not allowed for this transfer", http.StatusMethodNotAllowed)
	}
}
