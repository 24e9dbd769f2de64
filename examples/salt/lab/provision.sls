{#- A VM provisioned from a content library item: the library, the image uploaded into it,
    and a VM deployed from it with guest customization (static address), powered on, the
    state waiting until the guest reports its IP. #}
{% set p = pillar['lab']['provision'] %}
lab_library:
  vmware_content_library.library_present:
    - name: {{ p.library }}
    - datastore: {{ p.datastore }}
    - description: Golden images for the lab

lab_image:
  vmware_content_library.item_present:
    - name: {{ p.item }}
    - library: {{ p.library }}
    - path: {{ p.image }}
    - require:
      - vmware_content_library: lab_library

{{ p.vm }}_vm:
  vmware_vm.present:
    - name: {{ p.vm }}
    - datacenter: {{ p.datacenter }}
    - cluster: {{ p.cluster }}
    - content_library_item:
        library: {{ p.library }}
        item: {{ p.item }}
    - customization:
        linux:
          hostname: {{ p.vm }}
          domain: {{ p.domain }}
        nics:
          - ip: {{ p.ip }}
            netmask: 255.255.255.0
            gateway: {{ p.gateway }}
        dns_servers: {{ p.dns | json }}
    - power_on: True
    - wait_for_ip: 300
    - require:
      - vmware_content_library: lab_image
