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
