#!/usr/bin/env bash
# Runs inside `unshare --mount --net --pid --fork --mount-proc` (test/e2e/containerd.test.ts):
# a private mount, network and PID namespace, so nothing it mounts, no link it creates and
# no process it starts outlives it (the kernel kills every process of the PID namespace
# when this script, its init, exits). $T is the test's temporary directory.
set -euo pipefail
T="$1"
NS="$2" # containerd namespace: also the name of the cgroups runc creates on the host

# CNI's fixed paths, private to this namespace: ctr reads /etc/cni/net.d and /opt/cni/bin,
# libcni caches results in /var/lib/cni, the runc shim keeps state under /run/containerd.
mount -t tmpfs tmpfs /opt
mkdir -p /opt/cni/bin
mount --bind "$T/cni-bin" /opt/cni/bin
[ -d /var/lib/cni ] && mount -t tmpfs tmpfs /var/lib/cni
mount -t tmpfs tmpfs /run
# /etc/cni may not exist on the host: an overlay over /etc (upper layer in a tmpfs) lets us
# create it without writing to the host's /etc.
mkdir -p "$T/overlay"
mount -t tmpfs tmpfs "$T/overlay"
mkdir -p "$T/overlay/upper" "$T/overlay/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/overlay/upper,workdir=$T/overlay/work" /etc
mkdir -p /etc/cni/net.d
mount --bind "$T/net.d" /etc/cni/net.d
ip link set lo up

containerd --config "$T/containerd.toml" >"$T/containerd.log" 2>&1 &
containerd_pid=$!
# Until containerd listens or has died (no time bound: the test's `unshare` timeout is the hang guard).
until [ -S "$T/containerd.sock" ] || ! kill -0 "$containerd_pid" 2>/dev/null; do sleep 0.1; done
[ -S "$T/containerd.sock" ] || { echo "containerd did not start: $(tail -5 "$T/containerd.log")" >&2; exit 1; }

# Three containers at once, each in the foreground of its own `ctr run --rm` (DEL is sent
# only when a foreground ctr sees its task exit). Each writes its address to the shared
# directory, waits for the others', pings them all, and exits.
pids=()
for c in c1 c2 c3; do
  timeout 90 ctr --address "$T/containerd.sock" --namespace "$NS" run --rm --cni --env PATH=/bin \
    --mount "type=bind,src=$T/shared,dst=/shared,options=rbind:rw" \
    --rootfs "$T/rootfs" "$c" sh -c "$(cat "$T/container.sh")" "$c" >"$T/$c.out" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
