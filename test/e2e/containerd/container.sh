# Runs in each container (busybox sh; $0 is the container's name).
ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1 > "/shared/$0.ip.tmp"
mv "/shared/$0.ip.tmp" "/shared/$0.ip"
# No time bound of its own here: `timeout 90` around `ctr run` (inside.sh) is the hang guard.
while [ "$(ls /shared/*.ip | wc -l)" -lt 3 ]; do sleep 0.1; done
for f in /shared/*.ip; do
  # A loaded machine may drop the first echo request: ten tries before calling it a failure.
  verdict=fail
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if ping -c 1 -W 3 "$(cat "$f")" >/dev/null; then verdict=ok; break; fi
  done
  echo "$verdict $(cat "$f")"
done > "/shared/$0.ping"
# Stay up until every container has pinged: one that exits early is removed, and the
# others' pings to it would fail.
mv "/shared/$0.ping" "/shared/$0.pinged"
while [ "$(ls /shared/*.pinged | wc -l)" -lt 3 ]; do sleep 0.1; done
