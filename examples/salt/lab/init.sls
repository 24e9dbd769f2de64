include:
  - .infra
  - .compute
  - .hosts
  - .provision
