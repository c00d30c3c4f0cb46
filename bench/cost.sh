#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/cost.sh [CSV]: instructions a packet of each backend, counted by
# valgrind's callgrind (deterministic: unlike rates on this machine it does
# not depend on where the host placed the vCPUs, and the frontend does not
# bound it). Called by bench/run.sh; runs alone too.
#
# Per row (BENCH_COST_ROWS, "scenario:size:ring", scenario dequeue or
# loopback): the backend, vhu-fwd (ours) or dpdk-testpmd with net_vhost
# (peer, --no-huge: its memory is plain mmap, which valgrind follows), runs
# under callgrind on CPU_BE; the same virtio-user testpmd frontend as
# bench/run.sh runs natively (txonly for dequeue, io --tx-first over two
# devices for loopback). Under valgrind the backend is far slower than the
# frontend, so it finds full bursts and its idle polling is negligible.
# Once it has counted packets for a few seconds, its counters are zeroed
# (callgrind_control -z) right after one of its stats prints and dumped
# (-d) right after a print BENCH_COST_SECONDS later: instructions in the
# whole process (all threads) / packets it dequeued between those prints.
# The two prints are taken the same way, so the lag of each control
# command cancels to first order. Whatever else the count takes in only
# adds to it: polls of a ring the frontend had not refilled yet (its
# thread descheduled for a time slice while the slow backend drains the
# ring in a fraction of one), the stats thread. So each side runs
# BENCH_COST_REPS times (2) and the report gives the minimum, with the
# maximum beside it.
#
# Output CSV: scenario,size,ring,side,rep,instructions,packets,ir_per_pkt,status
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
. "$BENCH/lib.sh"
CSV=${1:-$BENCH/cost.csv}
SECS=${BENCH_COST_SECONDS:-10}
REPS=${BENCH_COST_REPS:-2}
ROWS=${BENCH_COST_ROWS:-"dequeue:64:split-mrg dequeue:64:packed loopback:64:split-mrg loopback:64:packed"}

echo "scenario,size,ring,side,rep,instructions,packets,ir_per_pkt,status" >"$CSV"
for c in valgrind callgrind_control dpdk-testpmd taskset timeout; do
	command -v "$c" >/dev/null || { log "cost: $c is missing, no instruction counts"; exit 0; }
done
[ -x "$VHU_FWD" ] || { echo "cost: $VHU_FWD is not built" >&2; exit 1; }

W=$(mktemp -d /tmp/vhu-cost.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM
setup_hugepages
mem_opts

# counts SIDE: the backend's cumulative dequeued packets, one per stats
# print (vhu-fwd's rx-pkts; testpmd's RX-packets summed over its ports).
counts() {
	if [ "$1" = ours ]; then
		sed -n 's/^stats: rx-pkts \([0-9]*\) .*/\1/p' "$W/be.log"
	else
		# A print counts once every port's block is whole (its Tx-pps
		# line is out): the log is read while testpmd writes it.
		strip_ansi <"$W/be.log" | awk '
			/NIC statistics for port/ { port = $(NF-1); seen[port]++; k = seen[port] }
			/Forward statistics/ { k = 0 }
			/RX-packets:/ && k { sum[k] += $2 }
			/Tx-pps:/ && k { done[port] = k }
			END { m = -1; for (p in done) if (m < 0 || done[p] < m) m = done[p]
			      for (i = 1; i <= m; i++) print sum[i] }'
	fi
}

# after_print SIDE SECS: returns once a new stats print appears (at most
# SECS), printing its count. Polls every 20 ms, so the lag is small and
# alike at both ends of the window.
after_print() {
	local n0 n end=$(( $(date +%s) + $2 ))
	n0=$(counts "$1" | wc -l)
	while [ "$(date +%s)" -lt "$end" ]; do
		n=$(counts "$1" | wc -l)
		[ "$n" -gt "$n0" ] && { counts "$1" | tail -1; return 0; }
		sleep 0.02
	done
	return 1
}

cost_one() { # SIDE SCEN SIZE RING
	local side=$1 sc=$2 size=$3 ring=$4 r=$W/r mode=rxonly
	rm -rf "$r" "$W"/cg.out* "$W"/{be,fe}.log; mkdir -p "$r"
	local s1=$r/s1 s2="" bound=$((SECS + 150)) vg status=ok
	[ "$sc" = loopback ] && { s2=$r/s2; mode=io; }
	vg=(valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$W/cg.out")
	if [ "$side" = ours ]; then
		bg be "$bound" taskset -c "$CPU_BE" "${vg[@]}" "$VHU_FWD" --socket "$s1" \
			${s2:+--socket "$s2"} --mode "$mode" --pkt-size "$size" --stats-period 1
	else
		local vdev=(--vdev "net_vhost0,iface=$s1,queues=1")
		[ -n "$s2" ] && vdev+=(--vdev "net_vhost1,iface=$s2,queues=1")
		prefix cg
		bg be "$bound" "${vg[@]}" dpdk-testpmd --lcores "0@$CPU_BE,1@$CPU_BE" --no-pci \
			--file-prefix="$PFX" --no-huge -m 512 "${vdev[@]}" -- --nb-cores=1 \
			--forward-mode="$mode" --stats-period 1 --total-num-mbufs=16384
	fi
	# EAL under valgrind takes a while to come up.
	wait_for 90 test -S "$s1" && { [ -z "$s2" ] || wait_for 30 test -S "$s2"; } || status=nosock
	local pid c0="" c1="" ir=""
	pid=$(child "$PID_be")
	if [ "$status" = ok ]; then
		if [ -n "$s2" ]; then fe fe "$bound" io "$size" "$ring" "$s1" "$s2"
		else fe fe "$bound" txonly "$size" "$ring" "$s1"; fi
		# Traffic for three prints first: the rings are set up.
		local end=$(( $(date +%s) + 60 ))
		while [ "$(counts "$side" | awk '$1 > 0' | wc -l)" -lt 3 ]; do
			[ "$(date +%s)" -lt "$end" ] || { status=notraffic; break; }
			sleep 0.2
		done
	fi
	if [ "$status" = ok ] && c0=$(after_print "$side" 5) &&
	   callgrind_control -z "$pid" >"$W/cgc.log" 2>&1; then
		sleep $((SECS - 1))
		if c1=$(after_print "$side" 5) && callgrind_control -d "$pid" >>"$W/cgc.log" 2>&1; then
			wait_for 10 test -s "$W/cg.out.1" &&
				ir=$(sed -n 's/^summary: \([0-9]*\)$/\1/p' "$W/cg.out.1" | head -1)
		fi
	fi
	[ "$status" = ok ] && [ -z "$ir" ] && status=nodump
	stop fe; stop be
	local pk=- per=-
	if [ "$status" = ok ]; then
		pk=$((c1 - c0))
		if [ "$pk" -gt 0 ]; then per=$(awk -v i="$ir" -v p="$pk" 'BEGIN { printf "%.0f", i / p }')
		else status=nopackets; fi
	fi
	[ "$status" = ok ] || { mkdir -p "$W/keep"; cp "$W/be.log" "$W/keep/$sc-$size-$ring-$side-be.log" 2>/dev/null; }
	echo "$sc,$size,$ring,$side,$rep,${ir:--},$pk,$per,$status" >>"$CSV"
	log "cost $sc $size $ring $side rep $rep: ${ir:--} instructions / $pk packets = $per ($status)"
}

for row in $ROWS; do
	IFS=: read -r sc size ring <<<"$row"
	for ((rep = 1; rep <= REPS; rep++)); do
		for side in ours peer; do cost_one "$side" "$sc" "$size" "$ring"; done
	done
done
[ -d "$W/keep" ] && { mkdir -p "$(dirname "$CSV")/failed"; cp "$W"/keep/* "$(dirname "$CSV")/failed/"; }
exit 0
