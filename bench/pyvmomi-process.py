"""pyVmomi yardstick for bench/startup.ts: one whole process, as a shell loop would run it.
  pyvmomi-process.py datacenters <host> <port> <user> <password> <cafile>
    logs in, lists the datacenters' names, logs out;
  pyvmomi-process.py vms <host> <port> <user> <password> <cafile>
    logs in, fetches name and config.template of every VM in one RetrievePropertiesEx over a
    ContainerView, prints the non-template names' count, logs out."""
import ssl
import sys

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

what, host, port, user, pwd, cafile = sys.argv[1:7]
si = SmartConnect(host=host, port=int(port), user=user, pwd=pwd,
                  sslContext=ssl.create_default_context(cafile=cafile))
content = si.RetrieveContent()
kind = vim.Datacenter if what == "datacenters" else vim.VirtualMachine
paths = ["name"] if what == "datacenters" else ["name", "config.template"]
view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
spec = vmodl.query.PropertyCollector.FilterSpec(
    objectSet=[vmodl.query.PropertyCollector.ObjectSpec(
        obj=view, skip=True,
        selectSet=[vmodl.query.PropertyCollector.TraversalSpec(
            name="view", path="view", skip=False, type=vim.view.ContainerView)])],
    propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths)])
result = content.propertyCollector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
names = []
while result:
    for obj in result.objects:
        props = {p.name: p.val for p in obj.propSet}
        if not props.get("config.template"):
            names.append(props["name"])
    result = content.propertyCollector.ContinueRetrievePropertiesEx(result.token) if result.token else None
view.Destroy()
Disconnect(si)
print(len(names))
