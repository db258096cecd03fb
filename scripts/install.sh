#!/bin/sh
# Installs the pod-ipam executable into /opt/cni/bin (or DIR) so that a container runtime
# finds it by the name in "ipam": {"type": "pod-ipam"}.
#
#   scripts/install.sh [DIR]
#
# The work is done by the executable itself (`pod-ipam install`, the one implementation,
# also what the DaemonSets in conf-examples/ run): it copies itself to a temp name in DIR,
# flushes it, checks that the copy answers VERSION on this host, and only then renames it
# over DIR/pod-ipam. A runtime starting pod-ipam at any moment runs either the old
# executable or the new one, never a half-written file.
#
# POD_IPAM_BINARY overrides the file installed (default: dist/pod-ipam next to this script).
set -eu

dest_dir=${1:-/opt/cni/bin}
src=${POD_IPAM_BINARY:-$(cd "$(dirname "$0")/.." && pwd)/dist/pod-ipam}

if [ ! -f "$src" ]; then
  echo "install.sh: $src not found; run 'npm run build' first (or set POD_IPAM_BINARY)" >&2
  exit 1
fi
mkdir -p "$dest_dir"
dest_dir=$(cd "$dest_dir" && pwd)
case "$src" in /*) ;; *) src=$(pwd)/$src ;; esac
# A file that cannot start here cannot install itself either: say so plainly.
if ! "$src" --version >/dev/null 2>&1; then
  echo "install.sh: $src does not run on this host (wrong architecture or missing libc?)" >&2
  exit 1
fi
exec "$src" install --binary "$src" --cni-bin-dir "$dest_dir"
