#!/usr/bin/env bash
# Builds test/vcsim (govmomi's simulator behind brine's small main) from Debian's packages.
# Prints the binary's path. The binary is cached outside the tracked tree
# ($BRINE_CACHE_DIR, default ~/.cache/brine) and rebuilt when a test/vcsim/*.go file changes.
# VCSIM_BIN, when set, is used as it is.
set -euo pipefail

if [[ -n "${VCSIM_BIN:-}" ]]; then
  [[ -x "$VCSIM_BIN" ]] || { echo "build-vcsim: VCSIM_BIN=$VCSIM_BIN is not an executable file" >&2; exit 1; }
  echo "$VCSIM_BIN"
  exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/test/vcsim"
gocode=/usr/share/gocode
cache="${BRINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/brine}"
hash=$(cat "$src"/*.go | sha256sum | cut -c1-16)
bin="$cache/vcsim-$hash"

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1 || [[ ! -d "$gocode/src/github.com/vmware/govmomi/simulator" ]]; then
  cat >&2 <<MSG
build-vcsim: cannot build the vCenter simulator.
  It needs Debian's packages golang-go and golang-github-vmware-govmomi-dev:
    apt-get install -y golang-go golang-github-vmware-govmomi-dev
  or set VCSIM_BIN to a vcsim binary built elsewhere.
MSG
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/brine-vcsim" "$cache"
cp "$src"/*.go "$work/src/brine-vcsim/"
(
  cd "$work/src/brine-vcsim"
  GO111MODULE=off GOPATH="$work:$gocode" GOCACHE="$cache/go-build" \
    go build -o "$bin.tmp" . >&2
)
mv "$bin.tmp" "$bin"
echo "$bin"
