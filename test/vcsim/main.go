// Command vcsim starts govmomi's vCenter simulator for brine's tests and benchmarks.
//
// Debian's golang-github-vmware-govmomi-dev ships the simulator library but no vcsim main,
// so brine keeps this one. It exits when its standard input closes, so a test runner that
// dies never leaves it behind.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	useTLS := flag.Bool("tls", true, "serve HTTPS")
	certDir := flag.String("cert-dir", "", "directory holding cert.pem/key.pem; generated there when missing")
	username := flag.String("username", "", "only accept this user name (empty: any non-empty user)")
	password := flag.String("password", "", "only accept this password (with -username)")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHost := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vms := flag.Int("vm", 2, "virtual machines per resource pool")
	pools := flag.Int("pool", 0, "child resource pools per cluster")
	folders := flag.Int("folder", 0, "datacenters placed inside folders")
	datastores := flag.Int("ds", 1, "datastores")
	idle := flag.Duration("idle-timeout", 0, "session idle timeout (0: sessions never expire)")
	delay := flag.Int("delay", 0, "delay in milliseconds added to every SOAP call")
	urlFile := flag.String("url-file", "", "write the service URL to this file once listening")
	esx := flag.Bool("esx", false, "simulate one ESXi host instead of a vCenter (ignores the model sizes)")
	flag.Parse()

	simulator.SessionIdleTimeout = *idle

	// NAS datastores are simulated as directories named by their local path, resolved against
	// the working directory: a private one, removed on exit (see CreateNasDatastore below).
	nasDir, err := ioutil.TempDir("", "brine-vcsim-nas-")
	if err != nil {
		log.Fatalf("vcsim: %v", err)
	}
	defer os.RemoveAll(nasDir)
	if err := os.Chdir(nasDir); err != nil {
		log.Fatalf("vcsim: %v", err)
	}

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	} else {
		model.Datacenter = *dc
		model.Cluster = *cluster
		model.ClusterHost = *clusterHost
		model.Host = *standalone
		model.Pool = *pools
		model.Folder = *folders
	}
	model.Machine = *vms
	model.Datastore = *datastores
	model.DelayConfig.Delay = *delay

	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: creating the model: %v", err)
	}
	defer model.Remove()
	countInventoryChanges()

	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen}
	if *username != "" {
		model.Service.Listen.User = url.UserPassword(*username, *password)
	}
	if *useTLS {
		cert, err := loadOrCreateCert(*certDir)
		if err != nil {
			log.Fatalf("vcsim: TLS certificate: %v", err)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		setHostThumbprint(cert.Certificate[0])
	}

	server := model.Service.NewServer()
	defer server.Close()
	// Set before the URL is published, so no request has been served yet.
	server.Config.Handler = extendSimulator(server.Config.Handler)

	serviceURL := *server.URL
	serviceURL.User = nil
	if *urlFile != "" {
		tmp := *urlFile + ".tmp"
		if err := ioutil.WriteFile(tmp, []byte(serviceURL.String()), 0o600); err != nil {
			log.Fatalf("vcsim: writing %s: %v", *urlFile, err)
		}
		if err := os.Rename(tmp, *urlFile); err != nil {
			log.Fatalf("vcsim: writing %s: %v", *urlFile, err)
		}
	}
	fmt.Printf("vcsim listening on %s\n", serviceURL.String())

	done := make(chan struct{}, 1)
	go func() {
		// Stdin closes when the parent goes away: no orphan simulator.
		_, _ = io.Copy(ioutil.Discard, os.Stdin)
		done <- struct{}{}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
}

// loadOrCreateCert reuses dir/cert.pem and dir/key.pem, so a restarted simulator keeps its
// certificate (and the tests their thumbprint); otherwise it creates a self-signed ECDSA
// certificate for 127.0.0.1, ::1 and localhost and writes it there.
func loadOrCreateCert(dir string) (tls.Certificate, error) {
	if dir == "" {
		var err error
		if dir, err = ioutil.TempDir("", "vcsim-cert-"); err != nil {
			return tls.Certificate{}, err
		}
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		return cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim.brine.test", Organization: []string{"brine test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := ioutil.WriteFile(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	if err := ioutil.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// extendSimulator fills gaps of vcsim 0.24.2 where vCenter behaves differently:
//   - CreateDatacenter with a name already in the folder answers DuplicateName;
//   - CreateClusterEx and ReconfigureComputeResource_Task apply drsConfig and dasConfig
//     (0.24.2 keeps DRS on, HA off, whatever the spec says);
//   - RelocateVM_Task moves the VM in the VM lists of its hosts, pools and datastores (0.24.2
//     changes only the VM's own properties, so listing a host's VMs shows the old placement);
//   - CreateDVS_Task and ReconfigureDvs_Task apply the description and maxMtu of a
//     VMwareDVSConfigSpec (0.24.2 drops maxMtu, and ignores both on reconfiguration);
//   - datastore maintenance mode (DatastoreEnterMaintenanceMode, DatastoreExitMaintenanceMode_Task)
//     is emulated: 0.24.2 answers MethodNotFound;
//   - CreateNasDatastore finds its mount point: a directory named by localPath is made in
//     the simulator's private working directory (0.24.2 needs an existing local directory);
//   - DisconnectHost_Task and ReconnectHost_Task change the host's connection state;
//   - UpdateUser answers UpdateUserResponse (0.24.2 answers CreateUserResponse);
//   - long-lived ContainerViews hold objects that were linked after being put in the registry
//     (a new datacenter's folders, a new cluster's root pool; updates.go);
//   - MoveIntoFolder_Task changes the entities' parent (0.24.2 removes and re-adds them,
//     reporting enter before leave; move.go);
//   - WaitForUpdatesEx with maxWaitSeconds 0 answers at once when nothing changed (0.24.2
//     waits for its 250 ms tick first; updates.go);
//   - VirtualMachine.AcquireTicket issues console tickets (0.24.2: MethodNotFound; ticket.go);
//   - Destroy_Task on a cluster removes it (0.24.2 answers MethodNotFound);
//   - Destroy_Task on a standalone host's ComputeResource removes it with its host (0.24.2:
//     MethodNotFound), and on a clustered host in maintenance mode removes it from the
//     cluster (0.24.2 looks for it in the host folder and leaves it in the cluster);
//   - guest customization: stored specs, CloneVM_Task's customization and powerOn, and the
//     customization run at power-on with vCenter's events (customize.go).
func extendSimulator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := ioutil.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		addLateObjectsToViews()
		vnicAttach(body) // esxi-network.go: VMkernel adapters, vMotion, DVS host members
		if vnicDvsHosts(w, body) {
			return
		}
		applyClusterExtras(body) // saltext-infra.go: HA/DRS settings applyClusterSpec leaves out
		// esxi-storage.go: lockdown calls; logins refused in lockdown
		body = routeLockdown(body)
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		if fillHostFacts(w, body) { // saltext-net.go: host capabilities, vSAN status
			return
		}
		if guestShutdownNeedsTools(w, body) { // guest-tools.go: ShutdownGuest without Tools
			return
		}
		if fillGuestShutdown(w, body) { // saltext-vm.go: a guest that ignores ShutdownGuest
			return
		}
		if custHandle(next, w, r, body) { // customize.go: customization specs, clone/power-on customization
			return
		}
		if esxiConfigRequest(w, body) { // esxi-config*.go: host power, MoveInto, AddHost thumbprints, VIBs, passwords
			return
		}
		if hwReconfigure(w, body) { // hw-devices.go: ReconfigVM_Task specs vCenter refuses
			return
		}
		switch {
		case bytes.Contains(body, []byte("<CreateDatacenter")):
			var req struct {
				Call struct {
					This types.ManagedObjectReference `xml:"_this"`
					Name string                       `xml:"name"`
				} `xml:"Body>CreateDatacenter"`
			}
			if xml.Unmarshal(body, &req) == nil && req.Call.Name != "" {
				if dup := childNamed(req.Call.This, req.Call.Name); dup != nil {
					writeDuplicateName(w, req.Call.Name, *dup)
					return
				}
			}
		case bytes.Contains(body, []byte("<CreateClusterEx")):
			var req struct {
				Call struct {
					Spec clusterSpec `xml:"spec"`
				} `xml:"Body>CreateClusterEx"`
			}
			_ = xml.Unmarshal(body, &req)
			recorder := httptest.NewRecorder()
			next.ServeHTTP(recorder, r)
			if m := returnval.FindSubmatch(recorder.Body.Bytes()); m != nil && recorder.Code == http.StatusOK {
				applyClusterSpec(types.ManagedObjectReference{Type: "ClusterComputeResource", Value: string(m[1])}, req.Call.Spec)
			}
			replay(w, recorder, recorder.Body.Bytes())
			return
		case bytes.Contains(body, []byte("<ReconfigureComputeResource_Task")):
			var req struct {
				Call struct {
					This types.ManagedObjectReference `xml:"_this"`
					Spec clusterSpec                  `xml:"spec"`
				} `xml:"Body>ReconfigureComputeResource_Task"`
			}
			if xml.Unmarshal(body, &req) == nil {
				applyClusterSpec(req.Call.This, req.Call.Spec)
			}
		case bytes.Contains(body, []byte("<RelocateVM_Task")):
			if this, ok := thisOf(body); ok {
				if vm, ok := simulator.Map.Get(this).(*simulator.VirtualMachine); ok {
					before := placementOf(vm)
					next.ServeHTTP(w, r)
					movePlacement(vm, before, placementOf(vm))
					return
				}
			}
		case bytes.Contains(body, []byte("<CreateDVS_Task")):
			var req struct {
				Call struct {
					Spec struct {
						Config dvsSpec `xml:"configSpec"`
					} `xml:"spec"`
				} `xml:"Body>CreateDVS_Task"`
			}
			if xml.Unmarshal(body, &req) == nil && req.Call.Spec.Config.Name != "" {
				next.ServeHTTP(w, r)
				for _, obj := range simulator.Map.All("VmwareDistributedVirtualSwitch") {
					if dvs, ok := obj.(*simulator.DistributedVirtualSwitch); ok && dvs.Name == req.Call.Spec.Config.Name {
						applyDvsSpec(dvs, req.Call.Spec.Config)
					}
				}
				return
			}
		case bytes.Contains(body, []byte("<ReconfigureDvs_Task")):
			var req struct {
				Call struct {
					This types.ManagedObjectReference `xml:"_this"`
					Spec dvsSpec                      `xml:"spec"`
				} `xml:"Body>ReconfigureDvs_Task"`
			}
			if xml.Unmarshal(body, &req) == nil {
				if dvs, ok := simulator.Map.Get(req.Call.This).(*simulator.DistributedVirtualSwitch); ok {
					next.ServeHTTP(w, r)
					applyDvsSpec(dvs, req.Call.Spec)
					return
				}
			}
		case bytes.Contains(body, []byte("<UpdateUser")):
			recorder := httptest.NewRecorder()
			next.ServeHTTP(recorder, r)
			replay(w, recorder, bytes.Replace(recorder.Body.Bytes(), []byte("CreateUserResponse"), []byte("UpdateUserResponse"), -1))
			return
		case bytes.Contains(body, []byte("<DatastoreEnterMaintenanceMode")), bytes.Contains(body, []byte("<DatastoreExitMaintenanceMode_Task")):
			if this, ok := thisOf(body); ok {
				enter := bytes.Contains(body, []byte("<DatastoreEnterMaintenanceMode"))
				if datastoreMaintenance(w, this, enter) {
					return
				}
			}
		case bytes.Contains(body, []byte("<CreateNasDatastore")):
			var req struct {
				Call struct {
					Spec struct {
						LocalPath string `xml:"localPath"`
					} `xml:"spec"`
				} `xml:"Body>CreateNasDatastore"`
			}
			// vCenter mounts remoteHost:remotePath and names the datastore localPath; vcsim
			// stats localPath as a directory, so the mount point is made here.
			if xml.Unmarshal(body, &req) == nil && localName.MatchString(req.Call.Spec.LocalPath) {
				_ = os.MkdirAll(req.Call.Spec.LocalPath, 0o755)
			}
		case bytes.Contains(body, []byte("<DisconnectHost_Task")), bytes.Contains(body, []byte("<ReconnectHost_Task")):
			if this, ok := thisOf(body); ok {
				element, state := "ReconnectHost_TaskResponse", types.HostSystemConnectionStateConnected
				if bytes.Contains(body, []byte("<DisconnectHost_Task")) {
					element, state = "DisconnectHost_TaskResponse", types.HostSystemConnectionStateDisconnected
				}
				if hostConnection(w, this, element, state) {
					return
				}
			}
		case bytes.Contains(body, []byte("<MoveIntoFolder_Task")):
			if moveIntoFolder(w, body) {
				return
			}
		case bytes.Contains(body, []byte("<WaitForUpdatesEx")):
			waitForUpdatesNow(next, w, r, body)
			return
		case bytes.Contains(body, []byte("<AcquireTicket")):
			if acquireTicket(w, body) {
				return
			}
		case bytes.Contains(body, []byte("<Destroy_Task")):
			if this, ok := thisOf(body); ok {
				switch this.Type {
				case "ClusterComputeResource":
					if destroyCluster(w, this) {
						return
					}
				case "ComputeResource", "HostSystem":
					if removeHost(w, this) {
						return
					}
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// localName is a datastore name usable as a directory name here (no separators, no dots only).
var localName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_. -]*$`)

var returnval = regexp.MustCompile(`<returnval type="ClusterComputeResource">([^<]+)</returnval>`)

type clusterSpec struct {
	Drs *struct {
		Enabled                   *bool  `xml:"enabled"`
		EnableVmBehaviorOverrides *bool  `xml:"enableVmBehaviorOverrides"`
		DefaultVmBehavior         string `xml:"defaultVmBehavior"`
		VmotionRate               *int32 `xml:"vmotionRate"`
	} `xml:"drsConfig"`
	Das *struct {
		Enabled                 *bool  `xml:"enabled"`
		HostMonitoring          string `xml:"hostMonitoring"`
		FailoverLevel           *int32 `xml:"failoverLevel"`
		AdmissionControlEnabled *bool  `xml:"admissionControlEnabled"`
	} `xml:"dasConfig"`
}

func applyClusterSpec(ref types.ManagedObjectReference, spec clusterSpec) {
	cluster, ok := simulator.Map.Get(ref).(*simulator.ClusterComputeResource)
	if !ok {
		return
	}
	simulator.Map.WithLock(cluster, func() {
		cfg, ok := cluster.ConfigurationEx.(*types.ClusterConfigInfoEx)
		if !ok {
			return
		}
		if d := spec.Drs; d != nil {
			if d.Enabled != nil {
				cfg.DrsConfig.Enabled = d.Enabled
			}
			if d.EnableVmBehaviorOverrides != nil {
				cfg.DrsConfig.EnableVmBehaviorOverrides = d.EnableVmBehaviorOverrides
			}
			if d.DefaultVmBehavior != "" {
				cfg.DrsConfig.DefaultVmBehavior = types.DrsBehavior(d.DefaultVmBehavior)
			}
			if d.VmotionRate != nil {
				cfg.DrsConfig.VmotionRate = *d.VmotionRate
			}
		}
		if a := spec.Das; a != nil {
			if a.Enabled != nil {
				cfg.DasConfig.Enabled = a.Enabled
			}
			if a.HostMonitoring != "" {
				cfg.DasConfig.HostMonitoring = a.HostMonitoring
			}
			if a.FailoverLevel != nil {
				cfg.DasConfig.FailoverLevel = *a.FailoverLevel
			}
			if a.AdmissionControlEnabled != nil {
				cfg.DasConfig.AdmissionControlEnabled = a.AdmissionControlEnabled
			}
		}
	})
}

// destroyCluster runs Destroy_Task for a cluster without hosts; false leaves the request to vcsim.
func destroyCluster(w http.ResponseWriter, ref types.ManagedObjectReference) bool {
	cluster, ok := simulator.Map.Get(ref).(*simulator.ClusterComputeResource)
	if !ok || len(cluster.Host) > 0 {
		return false
	}
	task := simulator.CreateTask(cluster, "destroy", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if parent, ok := simulator.Map.Get(*cluster.Parent).(*simulator.Folder); ok {
			simulator.Map.RemoveReference(parent, &parent.ChildEntity, cluster.Self)
		}
		if cluster.ResourcePool != nil {
			simulator.Map.Remove(*cluster.ResourcePool)
		}
		simulator.Map.Remove(cluster.Self)
		return nil, nil
	})
	writeTaskResponse(w, task.Run())
	return true
}

// removeHost runs Destroy_Task for a standalone host's ComputeResource or a clustered
// HostSystem as vCenter does: VMs on the host refuse it (ResourceInUse), a clustered host
// must be in maintenance mode (InvalidState). False leaves the request to vcsim.
func removeHost(w http.ResponseWriter, ref types.ManagedObjectReference) bool {
	var host *simulator.HostSystem
	var cluster *simulator.ClusterComputeResource
	var compute *mo.ComputeResource
	switch obj := simulator.Map.Get(ref).(type) {
	case *mo.ComputeResource:
		if len(obj.Host) != 1 {
			return false
		}
		compute = obj
		host, _ = simulator.Map.Get(obj.Host[0]).(*simulator.HostSystem)
	case *simulator.HostSystem:
		if obj.Parent == nil || obj.Parent.Type != "ClusterComputeResource" {
			return false
		}
		host = obj
		cluster, _ = simulator.Map.Get(*obj.Parent).(*simulator.ClusterComputeResource)
	}
	if host == nil || (compute == nil && cluster == nil) {
		return false
	}
	task := simulator.CreateTask(simulator.Map.Get(ref), "destroy", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if len(host.Vm) > 0 {
			return nil, &types.ResourceInUse{Type: "VirtualMachine", Name: host.Name}
		}
		if cluster != nil {
			if !host.Runtime.InMaintenanceMode {
				return nil, &types.InvalidState{}
			}
			simulator.Map.RemoveReference(cluster, &cluster.Host, host.Self)
		} else {
			if parent, ok := simulator.Map.Get(*compute.Parent).(*simulator.Folder); ok {
				simulator.Map.RemoveReference(parent, &parent.ChildEntity, compute.Self)
			}
			if compute.ResourcePool != nil {
				simulator.Map.Remove(*compute.ResourcePool)
			}
			simulator.Map.Remove(compute.Self)
		}
		simulator.Map.Remove(host.Self)
		return nil, nil
	})
	writeTaskResponse(w, task.Run())
	return true
}

func writeTaskResponse(w http.ResponseWriter, task types.ManagedObjectReference) {
	writeResponse(w, "Destroy_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Value))
}

// hostConnection runs DisconnectHost_Task / ReconnectHost_Task (0.24.2: MethodNotFound).
func hostConnection(w http.ResponseWriter, ref types.ManagedObjectReference, element string, state types.HostSystemConnectionState) bool {
	host, ok := simulator.Map.Get(ref).(*simulator.HostSystem)
	if !ok {
		return false
	}
	task := simulator.CreateTask(host, string(state), func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		simulator.Map.Update(host, []types.PropertyChange{
			{Name: "runtime.connectionState", Val: state},
			{Name: "summary.runtime.connectionState", Val: state},
		})
		return nil, nil
	})
	writeResponse(w, element, fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Run().Value))
	return true
}

func writeResponse(w http.ResponseWriter, element, inner string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><%s xmlns="urn:vim25">%s</%s></soapenv:Body></soapenv:Envelope>`, element, inner, element)
}

// datastoreMaintenance answers DatastoreEnterMaintenanceMode / DatastoreExitMaintenanceMode_Task
// (0.24.2: MethodNotFound). Entering with VMs on the datastore and no Storage DRS to move them
// answers a StoragePlacementResult whose drsFault lists the VMs, leaving the datastore as it was.
func datastoreMaintenance(w http.ResponseWriter, ref types.ManagedObjectReference, enter bool) bool {
	ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
	if !ok {
		return false
	}
	if !enter {
		task := simulator.CreateTask(ds, "datastoreExitMaintenanceMode", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			simulator.Map.WithLock(ds, func() { ds.Summary.MaintenanceMode = "normal" })
			return nil, nil
		})
		writeResponse(w, "DatastoreExitMaintenanceMode_TaskResponse", fmt.Sprintf(`<returnval type="Task">%s</returnval>`, task.Run().Value))
		return true
	}
	var vms []types.ManagedObjectReference
	simulator.Map.WithLock(ds, func() { vms = append(vms, ds.Vm...) })
	if len(vms) == 0 {
		simulator.Map.WithLock(ds, func() { ds.Summary.MaintenanceMode = "inMaintenance" })
		writeResponse(w, "DatastoreEnterMaintenanceModeResponse", "<returnval></returnval>")
		return true
	}
	var faults bytes.Buffer
	for _, vm := range vms {
		fmt.Fprintf(&faults, `<faultsByVm><vm type="VirtualMachine">%s</vm><fault><fault xsi:type="InvalidState"></fault><localizedMessage>Storage DRS is not enabled: the virtual machine cannot be moved off the datastore.</localizedMessage></fault></faultsByVm>`, vm.Value)
	}
	writeResponse(w, "DatastoreEnterMaintenanceModeResponse", fmt.Sprintf(`<returnval><drsFault><reason>Storage DRS cannot move the virtual machines on datastore %s.</reason>%s</drsFault></returnval>`, ds.Name, faults.String()))
	return true
}

type dvsSpec struct {
	Name        string  `xml:"name"`
	Description *string `xml:"description"`
	MaxMtu      *int32  `xml:"maxMtu"`
}

func applyDvsSpec(dvs *simulator.DistributedVirtualSwitch, spec dvsSpec) {
	simulator.Map.WithLock(dvs, func() {
		config, ok := dvs.Config.(*types.VMwareDVSConfigInfo)
		if !ok {
			return
		}
		if spec.Description != nil {
			config.Description = *spec.Description
			dvs.Summary.Description = *spec.Description
		}
		if spec.MaxMtu != nil {
			config.MaxMtu = *spec.MaxMtu
		}
	})
}

type placement struct {
	host       *types.ManagedObjectReference
	pool       *types.ManagedObjectReference
	datastores []types.ManagedObjectReference
}

func placementOf(vm *simulator.VirtualMachine) placement {
	var p placement
	simulator.Map.WithLock(vm, func() {
		if vm.Runtime.Host != nil {
			h := *vm.Runtime.Host
			p.host = &h
		}
		if vm.ResourcePool != nil {
			rp := *vm.ResourcePool
			p.pool = &rp
		}
		p.datastores = append(p.datastores, vm.Datastore...)
	})
	return p
}

// movePlacement updates the back references (host.vm, pool.vm, datastore.vm) after a relocation.
func movePlacement(vm *simulator.VirtualMachine, before, after placement) {
	move := func(from, to *types.ManagedObjectReference, list func(mo.Reference) *[]types.ManagedObjectReference) {
		if from == nil || to == nil || *from == *to {
			return
		}
		if obj := simulator.Map.Get(*from); obj != nil {
			if field := list(obj); field != nil {
				simulator.Map.RemoveReference(obj, field, vm.Self)
			}
		}
		if obj := simulator.Map.Get(*to); obj != nil {
			if field := list(obj); field != nil {
				simulator.Map.AddReference(obj, field, vm.Self)
			}
		}
	}
	vms := func(obj mo.Reference) *[]types.ManagedObjectReference {
		switch o := obj.(type) {
		case *simulator.HostSystem:
			return &o.Vm
		case *simulator.ResourcePool:
			return &o.Vm
		case *simulator.Datastore:
			return &o.Vm
		}
		return nil
	}
	move(before.host, after.host, vms)
	move(before.pool, after.pool, vms)
	if len(before.datastores) == 1 && len(after.datastores) == 1 {
		move(&before.datastores[0], &after.datastores[0], vms)
	}
}

// thisOf reads the `_this` of the SOAP call in body (whatever the method).
func thisOf(body []byte) (types.ManagedObjectReference, bool) {
	var req struct {
		Body struct {
			Call struct {
				This types.ManagedObjectReference `xml:"_this"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &req) != nil || req.Body.Call.This.Value == "" {
		return types.ManagedObjectReference{}, false
	}
	return req.Body.Call.This, true
}

// replay sends a recorded response on with `body` (the recorded one, or an edited copy).
func replay(w http.ResponseWriter, recorder *httptest.ResponseRecorder, body []byte) {
	for key, values := range recorder.Header() {
		w.Header()[key] = values
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(recorder.Code)
	_, _ = w.Write(body)
}

func childNamed(folderRef types.ManagedObjectReference, name string) *types.ManagedObjectReference {
	folder, ok := simulator.Map.Get(folderRef).(*simulator.Folder)
	if !ok {
		return nil
	}
	for _, child := range folder.ChildEntity {
		if entity, ok := simulator.Map.Get(child).(mo.Entity); ok && entity.Entity().Name == name {
			ref := child
			return &ref
		}
	}
	return nil
}

func writeDuplicateName(w http.ResponseWriter, name string, object types.ManagedObjectReference) {
	var escaped bytes.Buffer
	_ = xml.EscapeText(&escaped, []byte(name))
	writeFault(w, fmt.Sprintf("The name '%s' already exists.", name),
		fmt.Sprintf(`<DuplicateNameFault xmlns="urn:vim25" xsi:type="DuplicateName"><name>%s</name><object type="%s">%s</object></DuplicateNameFault>`,
			escaped.String(), object.Type, object.Value))
}
