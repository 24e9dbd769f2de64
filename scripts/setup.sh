#!/usr/bin/env bash
# Installs what brine needs on a fresh Debian machine and builds vcsim:
#   Debian packages golang-go, golang-github-vmware-govmomi-dev (vcsim), python3-pyvmomi
#   (the benchmark's yardstick) and build-essential + python3 (node-gyp compiles
#   better-sqlite3 when no prebuilt binary can be fetched), postgresql (the console token
#   store's PostgreSQL tests start throwaway clusters with its initdb), with apt-get when run
#   as root;
#   npm dependencies (npm ci; puppeteer never downloads a browser);
#   the vcsim binary (scripts/build-vcsim.sh, cached outside the tree).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(golang-go golang-github-vmware-govmomi-dev python3-pyvmomi build-essential python3 postgresql)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

export PUPPETEER_SKIP_DOWNLOAD=true
npm ci --no-audit --no-fund
npm run build
bash scripts/build-vcsim.sh >/dev/null
echo "setup: ready (vcsim: $(bash scripts/build-vcsim.sh))"
