# The lab brine builds: a new datacenter with a DRS/HA cluster, and, in the simulator's DC0
# (whose cluster has hosts), folders, a resource pool, a golden template and two web VMs
# cloned from it, tagged and powered on.
lab:
  datacenter: LabDC
  cluster:
    name: LabCluster
    drs: {enabled: true, automation_level: partiallyAutomated, migration_threshold: 2}
    ha: {enabled: true, admission_control: true, failover_level: 1}
  compute:
    datacenter: DC0
    cluster: DC0_C0
    pool: web-pool
    pool_cpu: {reservation: 1000, shares: high}
    pool_memory: {limit: 8192}
  template: golden-linux
  vms:
    web01: {cpu: 2, memory_mb: 2048}
    web02: {cpu: 2, memory_mb: 2048}
  tags:
    category: environment
    tag: lab
  # ESXi configuration of the hosts (lab/hosts.sls).
  hosts:
    datacenter: DC0
    cluster: DC0_C0
    ntp_servers: [0.pool.ntp.org, 1.pool.ntp.org]
    ssh_from: [10.0.0.0/24]
    vmotion: {port_group: VM Network, vswitch: vSwitch0}
    lockdown_host: DC0_H0
  # A VM from a content library item, customized, waited for (lab/provision.sls).
  provision:
    datacenter: DC0
    cluster: DC0_C0
    datastore: LocalDS_0
    library: golden-images
    item: tiny-linux
    image: test/fixtures/ovf/tiny.ovf   # a one-NIC OVF with its disk beside it
    vm: app01
    domain: lab.example
    ip: 10.0.0.31
    gateway: 10.0.0.1
    dns: [10.0.0.2]
