"""pyVmomi yardstick for bench/scale.ts: the naive find-by-name of one VM, as Ansible's vmware
modules and most scripts do it: a ContainerView of all VMs, the name of every VM in one
RetrievePropertiesEx, then that one VM's CPU, memory, power state and devices. Timed after the
login, best of <rounds>. Prints JSON (ms).
Usage: pyvmomi-find.py <host> <port> <user> <password> <cafile> <rounds> <vm name>"""
import json
import ssl
import sys
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

host, port, user, pwd, cafile, rounds, wanted = sys.argv[1:8]
context = ssl.create_default_context(cafile=cafile)
si = SmartConnect(host=host, port=int(port), user=user, pwd=pwd, sslContext=context)
content = si.RetrieveContent()
collector = content.propertyCollector
PFC = vmodl.query.PropertyCollector


def find_and_read():
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        spec = PFC.FilterSpec(
            objectSet=[PFC.ObjectSpec(obj=view, skip=True, selectSet=[
                PFC.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)])],
            propSet=[PFC.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])])
        result = collector.RetrievePropertiesEx([spec], PFC.RetrieveOptions())
        vm = next(o.obj for o in result.objects if o.propSet[0].val == wanted)
    finally:
        view.Destroy()
    spec = PFC.FilterSpec(
        objectSet=[PFC.ObjectSpec(obj=vm)],
        propSet=[PFC.PropertySpec(type=vim.VirtualMachine, pathSet=[
            "name", "config.hardware.numCPU", "config.hardware.memoryMB",
            "runtime.powerState", "config.hardware.device"])])
    return collector.RetrievePropertiesEx([spec], PFC.RetrieveOptions()).objects[0]


times = []
for _ in range(int(rounds)):
    t = time.perf_counter()
    find_and_read()
    times.append((time.perf_counter() - t) * 1000)
Disconnect(si)
print(json.dumps({"find_ms": min(times)}))
