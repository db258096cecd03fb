# Runs in each container (busybox sh; $0 is the container's name).
ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1 > "/shared/$0.ip.tmp"
mv "/shared/$0.ip.tmp" "/shared/$0.ip"
n=0
while [ "$(ls /shared/*.ip | wc -l)" -lt 3 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
for f in /shared/*.ip; do
  if ping -c 1 -W 3 "$(cat "$f")" >/dev/null; then echo "ok $(cat "$f")"; else echo "fail $(cat "$f")"; fi
done > "/shared/$0.ping"
# Stay up until every container has pinged: one that exits early is removed, and the
# others' pings to it would fail.
mv "/shared/$0.ping" "/shared/$0.pinged"
n=0
while [ "$(ls /shared/*.pinged | wc -l)" -lt 3 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
