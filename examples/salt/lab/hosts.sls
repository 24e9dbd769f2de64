{#- ESXi host configuration of the lab cluster's hosts, with saltext-vmware's vmware_esxi
    states: NTP (and the ntpd service), SSH (brine's service_configured: saltext has no service
    state), the firewall, a VMkernel adapter carrying vMotion, and lockdown of the standalone
    host. #}
{% set h = pillar['lab']['hosts'] %}
lab_ntp:
  vmware_esxi.ntp_config:
    - service_running: True
    - service_policy: 'on'
    - ntp_servers: {{ h.ntp_servers | json }}
    - datacenter_name: {{ h.datacenter }}
    - cluster_name: {{ h.cluster }}

lab_ssh:
  vmware_esxi.service_configured:
    - name: TSM-SSH
    - running: True
    - startup_policy: 'on'
    - datacenter_name: {{ h.datacenter }}
    - cluster_name: {{ h.cluster }}

lab_firewall:
  vmware_esxi.firewall_configs:
    - config:
      - name: sshServer
        enabled: True
        allowed_host:
          ip_network: {{ h.ssh_from | json }}
      - name: ntpClient
        enabled: True
    - datacenter_name: {{ h.datacenter }}
    - cluster_name: {{ h.cluster }}

lab_vmotion_adapter:
  vmware_esxi.vmkernel_adapter_present:
    - name: vmk1
    - port_group_name: {{ h.vmotion.port_group }}
    - vswitch_name: {{ h.vmotion.vswitch }}
    - network_type: dhcp
    - mtu: 9000
    - datacenter_name: {{ h.datacenter }}
    - cluster_name: {{ h.cluster }}

lab_vmotion:
  vmware_esxi.vmotion_configured:
    - enabled: True
    - device: vmk1
    - datacenter_name: {{ h.datacenter }}
    - cluster_name: {{ h.cluster }}
    - require:
      - vmware_esxi: lab_vmotion_adapter

lab_lockdown:
  vmware_esxi.lockdown_mode:
    - name: {{ h.lockdown_host }}
    - enter_lockdown_mode: True
