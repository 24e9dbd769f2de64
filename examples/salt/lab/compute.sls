{% set lab = pillar['lab'] %}
{% set c = lab.compute %}
lab_folders:
  vmware_folder.present:
    - datacenter: {{ c.datacenter }}
    - names:
      - templates
      - apps/web

web_pool:
  vmware_resourcepool.present:
    - name: {{ c.pool }}
    - cluster: {{ c.cluster }}
    - datacenter: {{ c.datacenter }}
    - cpu: {{ c.pool_cpu | json }}
    - memory: {{ c.pool_memory | json }}

golden_template:
  vmware_vm.present:
    - name: {{ lab.template }}
    - datacenter: {{ c.datacenter }}
    - cluster: {{ c.cluster }}
    - folder: templates
    - num_cpu: 1
    - memory_mb: 1024
    - annotation: golden image, built by brine
    - is_template: true
    - require:
      - id: lab_folders

{% for name, spec in lab.vms.items() %}
{#- The VM's state has an ID no other state is named: `id: web01` would also match the
    states named web01 below (a recursion in Salt). #}
{{ name }}_vm:
  vmware_vm.present:
    - name: {{ name }}
    - datacenter: {{ c.datacenter }}
    - cluster: {{ c.cluster }}
    - pool: {{ c.pool }}
    - folder: apps/web
    - template: {{ lab.template }}
    - num_cpu: {{ spec.cpu }}
    - memory_mb: {{ spec.memory_mb }}
    - attributes:
        owner: web-team
    - require:
      - id: golden_template
      - id: web_pool

{{ name }}_tagged:
  vmware_tag.attached:
    - name: {{ name }}
    - object_type: vm
    - tag: {{ lab.tags.tag }}
    - category: {{ lab.tags.category }}
    - require:
      - id: {{ name }}_vm
      - sls: lab.infra

{{ name }}_running:
  vmware_vm.power_state:
    - name: {{ name }}
    - power: 'on'
    - require:
      - id: {{ name }}_vm
{% endfor %}
