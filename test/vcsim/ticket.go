package main

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// hostThumbprint is the SHA-1 thumbprint tickets name for their host: the simulator's own
// certificate (its simulated hosts have none).
var hostThumbprint string

func setHostThumbprint(der []byte) {
	sum := sha1.Sum(der)
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = fmt.Sprintf("%02X", b)
	}
	hostThumbprint = strings.Join(pairs, ":")
}

// ticketPorts are the ports a host serves each console ticket type on.
var ticketPorts = map[string]int32{"mks": 902, "webmks": 443, "device": 902, "webRemoteDevice": 443, "guestIntegrity": 443}

// acquireTicket answers VirtualMachine.AcquireTicket (0.24.2: MethodNotFound) as vCenter
// does: a one-time ticket naming the VM's host, the port for the ticket type, the VM's
// configuration file and the host's thumbprint. A VM that is not powered on answers
// InvalidState; an unknown ticket type InvalidArgument. False leaves the request to vcsim.
func acquireTicket(w http.ResponseWriter, body []byte) bool {
	var req struct {
		Call struct {
			This       types.ManagedObjectReference `xml:"_this"`
			TicketType string                       `xml:"ticketType"`
		} `xml:"Body>AcquireTicket"`
	}
	if xml.Unmarshal(body, &req) != nil {
		return false
	}
	vm, ok := simulator.Map.Get(req.Call.This).(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	port, known := ticketPorts[req.Call.TicketType]
	if !known {
		writeFault(w, "A specified parameter was not correct: ticketType",
			`<InvalidArgumentFault xmlns="urn:vim25" xsi:type="InvalidArgument"><invalidProperty>ticketType</invalidProperty></InvalidArgumentFault>`)
		return true
	}
	var powerState types.VirtualMachinePowerState
	var hostName, cfgFile string
	simulator.Map.WithLock(vm, func() {
		powerState = vm.Runtime.PowerState
		if vm.Config != nil {
			cfgFile = vm.Config.Files.VmPathName
		}
		if vm.Runtime.Host != nil {
			if host, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem); ok {
				hostName = host.Name
			}
		}
	})
	if powerState != types.VirtualMachinePowerStatePoweredOn {
		writeFault(w, "The operation is not allowed in the current state.",
			`<InvalidStateFault xmlns="urn:vim25" xsi:type="InvalidState"></InvalidStateFault>`)
		return true
	}
	secret := make([]byte, 20)
	if _, err := rand.Read(secret); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return true
	}
	var inner strings.Builder
	inner.WriteString(`<returnval>`)
	writeElement(&inner, "ticket", hex.EncodeToString(secret))
	writeElement(&inner, "cfgFile", cfgFile)
	writeElement(&inner, "host", hostName)
	writeElement(&inner, "port", fmt.Sprint(port))
	writeElement(&inner, "sslThumbprint", hostThumbprint)
	inner.WriteString(`</returnval>`)
	writeResponse(w, "AcquireTicketResponse", inner.String())
	return true
}

func writeElement(b *strings.Builder, name, text string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}

// writeFault answers a SOAP fault whose detail is `detail` (an element in urn:vim25).
func writeFault(w http.ResponseWriter, message, detail string) {
	var escaped strings.Builder
	_ = xml.EscapeText(&escaped, []byte(message))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail>%s</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
		escaped.String(), detail)
}
