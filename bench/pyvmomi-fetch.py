"""pyVmomi yardstick for bench/run.ts: login time and one RetrievePropertiesEx of name,
runtime.powerState and config.uuid over a ContainerView of all VMs. Prints JSON (ms).
Usage: pyvmomi-fetch.py <host> <port> <user> <password> <cafile> <rounds>"""
import json
import ssl
import sys
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

host, port, user, pwd, cafile, rounds = sys.argv[1:7]
context = ssl.create_default_context(cafile=cafile)

login_ms = []
for _ in range(int(rounds)):
    t = time.perf_counter()
    si = SmartConnect(host=host, port=int(port), user=user, pwd=pwd, sslContext=context)
    login_ms.append((time.perf_counter() - t) * 1000)
    Disconnect(si)

si = SmartConnect(host=host, port=int(port), user=user, pwd=pwd, sslContext=context)
content = si.RetrieveContent()
view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
spec = vmodl.query.PropertyCollector.FilterSpec(
    objectSet=[vmodl.query.PropertyCollector.ObjectSpec(
        obj=view, skip=True,
        selectSet=[vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)])],
    propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "runtime.powerState", "config.uuid"])])
fetch_ms = []
count = 0
for _ in range(int(rounds)):
    t = time.perf_counter()
    result = content.propertyCollector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
    rows = [(o.obj._moId, {p.name: p.val for p in o.propSet}) for o in result.objects]
    fetch_ms.append((time.perf_counter() - t) * 1000)
    count = len(rows)
view.Destroy()
Disconnect(si)
print(json.dumps({"login_ms": min(login_ms), "fetch_ms": min(fetch_ms), "count": count}))
