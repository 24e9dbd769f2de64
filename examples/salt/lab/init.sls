include:
  - .infra
  - .compute
