#!/bin/sh
# Installs the pod-ipam executable into /opt/cni/bin (or DIR) so that a container runtime
# finds it by the name in "ipam": {"type": "pod-ipam"}.
#
#   scripts/install.sh [DIR]
#
# Atomic: the file is copied to a temp name in DIR, flushed to disk, checked to run on this
# host, and only then renamed over DIR/pod-ipam. A runtime starting pod-ipam at any moment
# runs either the old executable or the new one, never a half-written file.
#
# POD_IPAM_BINARY overrides the source (default: dist/pod-ipam next to this script; the
# DaemonSet in conf-examples/ sets it to the copy inside its image).
set -eu

dest_dir=${1:-/opt/cni/bin}
src=${POD_IPAM_BINARY:-$(cd "$(dirname "$0")/.." && pwd)/dist/pod-ipam}

if [ ! -f "$src" ]; then
  echo "install.sh: $src not found; run 'npm run build' first (or set POD_IPAM_BINARY)" >&2
  exit 1
fi
mkdir -p "$dest_dir"
tmp=$(mktemp "$dest_dir/.pod-ipam.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM
cp "$src" "$tmp"
chmod 0755 "$tmp"
sync "$tmp" 2>/dev/null || sync
# Refuse to install something that does not start here (wrong architecture, missing libc).
version=$(CNI_COMMAND=VERSION "$tmp" </dev/null 2>&1) || true
case "$version" in
  *'"supportedVersions"'*) ;;
  *)
    echo "install.sh: $src does not run on this host as a CNI plugin; its answer to VERSION was:" >&2
    printf '%s\n' "$version" | head -n 3 >&2
    exit 1
    ;;
esac
mv -f "$tmp" "$dest_dir/pod-ipam"
trap - EXIT INT TERM
echo "installed $dest_dir/pod-ipam ($version)"
