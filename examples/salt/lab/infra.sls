{% set lab = pillar['lab'] %}
lab_datacenter:
  vmware_datacenter.present:
    - name: {{ lab.datacenter }}

lab_cluster:
  vmware_cluster.present:
    - name: {{ lab.cluster.name }}
    - datacenter: {{ lab.datacenter }}
    - drs: {{ lab.cluster.drs | json }}
    - ha: {{ lab.cluster.ha | json }}
    - require:
      - vmware_datacenter: lab_datacenter

lab_tag_category:
  vmware_tag.category_present:
    - name: {{ lab.tags.category }}
    - cardinality: SINGLE

lab_tag:
  vmware_tag.tag_present:
    - name: {{ lab.tags.tag }}
    - category: {{ lab.tags.category }}
    - require:
      - vmware_tag: lab_tag_category
