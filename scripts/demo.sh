#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make demo: vhu-switch with two vhost-user ports and two in-tree frontends
# (vhu-fe, no VM) sending each other checksummed frames for about ten
# seconds. Shows the ports, live per-port counters once a second, the MAC
# table and a summary. Runs unattended; everything it starts is stopped.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SW=$B/switch/vhu-switch/vhu-switch CTL=$B/switch/vhu-ctl/vhu-ctl FE=$B/tools/vhu-fe/vhu-fe
for x in "$SW" "$CTL" "$FE"; do [ -x "$x" ] || { echo "demo: $x is not built (make build)"; exit 1; }; done
D=$(mktemp -d /tmp/vhu-demo.XXXXXX)
pids=()
finish() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$D"
}
trap finish EXIT
ctl() { "$CTL" --control "$D/ctl" "$@"; }

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b SECS=10
echo "== vhu-switch: ports vm-a and vm-b (sockets in $D)"
"$SW" --control "$D/ctl" --socket-dir "$D" --port vhost-user:vm-a --port vhost-user:vm-b 2>"$D/switch.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$D/ctl" ] && [ -S "$D/vm-b" ] && break; sleep 0.1; done
[ -S "$D/ctl" ] || { cat "$D/switch.log"; echo "demo: the switch did not start"; exit 1; }
echo "== two frontends: $MA on vm-a <-> $MB on vm-b, 50 kpps each way, ${SECS} s"
"$FE" --socket "$D/vm-a" --mac $MA --dst-mac $MB --pps 50000 --duration $SECS >"$D/fe-a.out" 2>"$D/fe-a.err" &
pids+=($!)
"$FE" --socket "$D/vm-b" --mac $MB --dst-mac $MA --pps 50000 --duration $SECS >"$D/fe-b.out" 2>"$D/fe-b.err" &
pids+=($!)
sleep 1
ctl show
for i in $(seq $((SECS - 1))); do
	echo "-- t=${i}s"
	ctl stats | awk '{ printf "%-12s rx %9s  tx %9s  tx-dropped %s\n", $2, $4, $12, $16 }'
	sleep 1
done
echo "== MAC table"
ctl fdb
wait "${pids[1]}" "${pids[2]}"
echo "== summary"
echo "vm-a frontend: $(sed 's/^fe: total: //' "$D/fe-a.out" | tail -1)"
echo "vm-b frontend: $(sed 's/^fe: total: //' "$D/fe-b.out" | tail -1)"
ctl stats
bad=$(cat "$D/fe-a.out" "$D/fe-b.out" | sed -n 's/.* bad \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
if [ "$bad" = 0 ]; then echo "demo: every frame received was checked whole: none bad"; else echo "demo: $bad bad frames"; exit 1; fi
