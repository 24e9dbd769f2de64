base:
  '*':
    - lab
