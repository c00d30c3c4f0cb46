#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu benchmark suite (make bench): libvhu's tools against the real peers on
# the same frontend, dpdk-testpmd virtio-user, one forwarding core a side.
#
#   dequeue        testpmd txonly -> vhu-fwd rxonly   | net_vhost rxonly
#   enqueue        vhu-fwd txonly | net_vhost txonly  -> testpmd rxonly
#   loopback       testpmd 2 ports io --tx-first <-> vhu-fwd io (2 sockets)
#                  | net_vhost io (2 vdevs)
#   switch-normal  the same loop through vhu-switch (MAC learning)
#                  | OVS-DPDK, NORMAL action
#   switch-p2p     vhu-switch, port flows in_port=a->b, b->a
#                  | OVS-DPDK, in_port=1->2, 2->1 flows
#   switch-zc      switch-normal with vhu-switch --zero-copy (one copy from
#                  guest to guest; switch-normal runs --no-zero-copy)
#                  | OVS-DPDK, NORMAL action (not in the default set:
#                  BENCH_SCENARIOS or BENCH_ROWS)
# each at BENCH_SIZES (64 1518) on BENCH_RINGS (split-mrg split-nomrg
# split-inorder packed). Per row: BENCH_REPS runs a side, alternating
# ours/peer (the order flips every rep), the receiving side's rate averaged
# over the steady part of each run, the median over the reps, and ours/peer.
# Each run is labelled with the placement the host gave the two vCPUs
# (lib.sh's c2c, before and after it, and c2c_tick every 0.2 s through
# it): fast (a shared cache, round trip under BENCH_C2C_FAST=250 ns), slow
# (over BENCH_C2C_SLOW=350 ns) or mixed (the probes disagree, one falls
# between, or the rate jumped by more than BENCH_JUMP=1.6x within the
# run). The placement changes within seconds, so each one-second stats
# period is labelled too, by the probes inside it (periods.csv), and the
# report gives each row's ratio per placement over those periods
# (BENCH_SAMPLE=0: no probes through runs, per rep as before).
# For vhu-fwd's runs, raw.csv's be_idle: the share of its polling time,
# over its own steady periods, in polls that moved no packet (lib.sh's
# fwd_idle); near 1, the frontend set the pace (the report's note gives
# it per placement).
# Plus CPU per packet of the backend process and VmRSS of vhu-switch vs
# ovs-vswitchd with 64 idle vhost-user ports, and (bench/cost.sh)
# instructions a packet of each backend under callgrind.
#
# Every run is checked, and a run that fails a check is not used (its row
# is then "partial" and left out of the geometric mean):
#   short     fewer steady samples than asked (SECS - WARMUP)
#   features  the frontend's negotiated features (and, for ours, the
#             backend's own log) do not match the row's ring (mrg_rxbuf,
#             in_order, packed)
#   count     loss or duplicates: per hop (frontend tx -> backend rx,
#             backend tx -> frontend rx) the downstream count may not
#             exceed the upstream one, nor the backend forward more than it
#             took; dequeue may fall short by RING + BURST (the ring when
#             the frontend stopped, one burst), enqueue by one ring more
#             (virtio's dev_start flush), a loop by the 2 x BURST packets
#             --tx-first put in it. Backend totals: vhu-fwd's total: line,
#             testpmd's final port statistics, vhu-ctl stats, OVS's
#             pmd-stats-show (received only); the frontend's: its final
#             port statistics. This is also the check of the dequeue rate
#             against the sender's tx count.
#   sender    dequeue: the backend's steady rate above 1.10 x the
#             sender's peak Tx-pps print (a receiver cannot outrun it)
#
# Environment:
#   BENCH_REPS (5)  BENCH_SECONDS (6: one-second stats periods a run from
#   the first with traffic)  BENCH_WARMUP (1: of those, dropped at the start)
#   BENCH_QUICK=1 (1 rep, 3 rows, output in bench/quick/)
#   BENCH_OUT=DIR (all output there instead, docs/ untouched: tiny runs)
#   BENCH_ROWS="scenario:size:ring ..."  BENCH_SCENARIOS BENCH_SIZES
#   BENCH_RINGS (subsets)  BENCH_MEM=0 (skip the memory test)
#   BENCH_COST=0 (skip bench/cost.sh)  BENCH_TCP=0 (skip bench/tcp_tap.sh,
#   TCP between namespaces behind tap ports)  BENCH_GSO=0 (skip
#   bench/gso_fe.sh, 64 KiB TSO frames between two vhu-fe)  BENCH_VXLAN=0
#   (skip bench/vxlan.sh, VM to VM across a VXLAN tunnel)  BENCH_AFXDP=0
#   (skip bench/afxdp.sh, vhost-user to AF_XDP and back)  BENCH_NO_HUGE=1
#   BENCH_KEEP=1 (keep the work dir)  VHU_BUILD (build)
#   BENCH_FWD_EXTRA (vhu-fwd options, for runs that must fail a check)
# The full matrix at the defaults: 40 rows x 10 runs of about 11 s, some 75
# minutes, plus cost.sh's few minutes.
# Output: docs/benchmarks.md, docs/benchmarks.png, bench/results.csv,
# bench/raw.csv (every run), bench/cost.csv. Exit status 0 unless the suite itself broke;
# rows that fail are reported as such.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
. "$BENCH/lib.sh"

if [ -n "${BENCH_QUICK:-}" ] && [ "$BENCH_QUICK" != 0 ]; then
	QUICK=1
	# Fewer and shorter runs than lib.sh's defaults: a smoke test.
	REPS=${BENCH_REPS:-1}; SECS=${BENCH_SECONDS:-4}
	OUT=$BENCH/quick; DOC=$OUT/benchmarks.md; CSV=$OUT/results.csv
	ROWS_DEFAULT="dequeue:64:split-mrg loopback:64:split-mrg switch-normal:64:packed"
else
	QUICK=0
	OUT=$BENCH; DOC=$ROOT/docs/benchmarks.md; CSV=$BENCH/results.csv
	ROWS_DEFAULT=""
fi
if [ -n "${BENCH_OUT:-}" ]; then
	OUT=$BENCH_OUT; DOC=$OUT/benchmarks.md; CSV=$OUT/results.csv
fi
PNG=${DOC%.md}.png
RAW=$OUT/raw.csv
PERIODS=$OUT/periods.csv   # each steady stats period and its placement
SCENARIOS=${BENCH_SCENARIOS:-dequeue enqueue loopback switch-normal switch-p2p}
SIZES=${BENCH_SIZES:-64 1518}
RINGS=${BENCH_RINGS:-split-mrg split-nomrg split-inorder packed}
ROWS=${BENCH_ROWS:-$ROWS_DEFAULT}

for c in dpdk-testpmd taskset timeout python3; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (make bench installs the peers)" >&2; exit 1; }
done
for b in "$VHU_FWD" "$VHU_SWITCH" "$VHU_CTL"; do
	[ -x "$b" ] || { echo "bench: $b is not built; run make build" >&2; exit 1; }
done

W=$(mktemp -d /tmp/vhu-bench.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT" "$OUT/cmds" "$(dirname "$DOC")"
rm -rf "$OUT"/cmds/*.cmd "$OUT/failed"
HZ=$(getconf CLK_TCK)
PERF_CYCLES=0
if command -v perf >/dev/null && perf stat -x, -e cycles true 2>&1 | grep -q '^[0-9]\+,.*cycles'; then PERF_CYCLES=1; fi
setup_hugepages
mem_opts
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "work dir $W; hugepages $HUGE; perf cycles $PERF_CYCLES; reps $REPS x ${SECS}s (warm-up $WARMUP)"

# be_vhost NAME SECS MODE SIZE SOCK [SOCK2]: DPDK's net_vhost in testpmd,
# its forwarding lcore on CPU_BE (PEERS.md: '0@1,1@0').
be_vhost() {
	local n=$1 secs=$2 mode=$3 size=$4 s1=$5 s2=${6:-}
	local vdev=(--vdev "net_vhost0,iface=$s1,queues=1")
	[ -n "$s2" ] && vdev+=(--vdev "net_vhost1,iface=$s2,queues=1")
	prefix be
	bg "$n" "$secs" dpdk-testpmd --lcores "0@$CPU_FE,1@$CPU_BE" --no-pci \
		--file-prefix="$PFX" "${MEM[@]}" "${vdev[@]}" -- \
		--nb-cores=1 --forward-mode="$mode" --stats-period 1 --txpkts="$size" "${MBUFS[@]}"
}

# be_fwd NAME SECS MODE SIZE SOCK [SOCK2]: vhu-fwd pinned to CPU_BE.
be_fwd() {
	local n=$1 secs=$2 mode=$3 size=$4 s1=$5 s2=${6:-}
	# BENCH_FWD_EXTRA: options appended for the must-fail runs of the
	# checks (e.g. --disable-features mrg_rxbuf, --duration 2).
	bg "$n" "$secs" taskset -c "$CPU_BE" "$VHU_FWD" --socket "$s1" ${s2:+--socket "$s2"} \
		--mode "$mode" --pkt-size "$size" --stats-period 1 --duration "$secs" ${BENCH_FWD_EXTRA:-}
}

# ovs_start DIR FLOWS NPORTS BOUND: OVS-DPDK as the peer of the switch
# rows, its DPDK main lcore on the frontend's CPU, NPORTS dpdkvhostuser
# ports vhu0.. (ofport 1..); FLOWS=p2p cross-connects ports 1 and 2.
ovs_start() {
	local d=$1 flows=$2 np=$3 bound=$4
	ovs_up "$d" "$bound" "$CPU_FE" "" && ovs_vhost_ports "$d" "$np" dpdkvhostuser || return 1
	if [ "$flows" = p2p ]; then
		ovs-ofctl add-flow br0 in_port=1,actions=output:2 &&
		ovs-ofctl add-flow br0 in_port=2,actions=output:1 || return 1
		ovs-ofctl dump-flows br0 >"$W/flows.txt" 2>&1
	fi
	return 0
}

# keep_failed NAME: the logs of a failed run, to $OUT/failed/NAME-*.log.
keep_failed() {
	local f; mkdir -p "$OUT/failed"
	for f in be fe ovs-start be-stats; do
		[ -f "$W/$f.log" ] && strip_ansi <"$W/$f.log" | tail -1000 >"$OUT/failed/$1-$f.log"
	done
	[ -f "$W/be.log.ovs" ] && tail -100 "$W/be.log.ovs" >"$OUT/failed/$1-ovs.log"
	rm -f "$W/be.log.ovs" "$W/fe.log" "$W/ovs-start.log"
}

# rates SRC: the receiving side's Mpps per stats period (fwd:be = vhu-fwd
# stats lines in be.log; tp:LOG:PORTS = testpmd Rx-pps summed over PORTS).
rates() {
	case $1 in
	fwd:be) fwd_rates "$W/be.log" rx ;;
	tp:*)   local x=${1#tp:}; tp_rates "$W/${x%%:*}.log" "${x#*:}" ;;
	esac
}

# measure SRC BE_PID: waits until the receiving side has printed SECS
# periods since traffic started (the first WARMUP are the warm-up),
# bounded by SECS + 20 s. Over the periods after
# the warm-up, the backend's CPU: CPU_UTIL (CPUs busy, /proc/PID/stat) and,
# with perf counters, CPU_CYC (cycles per second, perf stat -e cycles).
measure() {
	local src=$1 pid=$2 end=$(( $(date +%s) + SECS + 20 )) n nr a="" t0 perf_pid=""
	CPU_UTIL=- CPU_CYC=-
	: >"$W/probes"
	while [ "$(date +%s)" -lt "$end" ] && kill -0 "$PID_fe" 2>/dev/null; do
		sleep 0.2
		read -r n nr < <(rates "$src" | awk '$1 > 0 && !s { s = NR } END { print (s ? NR - s + 1 : 0), NR }')
		# The placement, sampled through the run (lib.sh's c2c_tick).
		[ "${BENCH_SAMPLE:-1}" = 1 ] && echo "$nr $(c2c_tick)" >>"$W/probes"
		if [ -z "$a" ] && [ "$n" -ge $((WARMUP + 1)) ] && [ -n "$pid" ]; then
			a=$(cpu_ticks "$pid"); t0=$(date +%s%N)
			if [ "$PERF_CYCLES" = 1 ]; then
				timeout -k 2 $((SECS + 20)) perf stat -x, -e cycles -p "$pid" -o "$W/perf.txt" &
				perf_pid=$!; _pids+=("$perf_pid")
			fi
		fi
		[ "$n" -ge "$SECS" ] && break
	done
	if [ -n "$a" ]; then
		local b t1; b=$(cpu_ticks "$pid"); t1=$(date +%s%N)
		[ -n "$b" ] && CPU_UTIL=$(awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v hz="$HZ" \
			'BEGIN { printf "%.3f", (b - a) / hz / ((t1 - t0) / 1e9) }')
		if [ -n "$perf_pid" ]; then
			kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null
			CPU_CYC=$(awk -F, -v w="$(( (t1 - t0) ))" '$3 ~ /cycles/ && $1 ~ /^[0-9]+$/ { printf "%.0f", $1 / (w / 1e9) }' "$W/perf.txt")
			[ -n "$CPU_CYC" ] || CPU_CYC=-
		fi
	fi
}

# run_one SIDE SCEN SIZE RING: one run; writes "mpps nsamples util cycps
# status features" to $W/result (not run in a subshell, so that cleanup
# knows every PID it started).
run_one() {
	local side=$1 sc=$2 size=$3 ring=$4
	rm -f "$W"/{be,fe,vswitchd,ovsdb,ovs-start}.log "$W/be-stats.log"
	CHK="- - - -" RUN_JUMP=0 BE_IDLE=-
	local r="$W/r" bound=$((SECS + 40)) rates="" be_pid="" feat="" status=ok
	rm -rf "$r"; mkdir -p "$r"
	local s1=$r/s1 s2=$r/s2
	local rx="fe:0"
	case $sc/$side in
	dequeue/ours)
		be_fwd be "$bound" rxonly "$size" "$s1"; rx="fwd:be" ;;
	dequeue/peer)
		be_vhost be "$bound" rxonly "$size" "$s1"; rx="tp:be:0" ;;
	enqueue/ours)
		be_fwd be "$bound" txonly "$size" "$s1"; rx="tp:fe:0" ;;
	enqueue/peer)
		be_vhost be "$bound" txonly "$size" "$s1"; rx="tp:fe:0" ;;
	loopback/ours)
		be_fwd be "$bound" io "$size" "$s1" "$s2"; rx="tp:fe:0,1" ;;
	loopback/peer)
		be_vhost be "$bound" io "$size" "$s1" "$s2"; rx="tp:fe:0,1" ;;
	switch-*/ours)
		mkdir -p "$r/sw"
		local flows=()
		[ "$sc" = switch-p2p ] && flows=(--flow in_port=a,actions=output:b --flow in_port=b,actions=output:a)
		local zc=--no-zero-copy
		[ "$sc" = switch-zc ] && zc=--zero-copy
		bg be "$bound" "$VHU_SWITCH" --control "$r/ctl" --socket-dir "$r/sw" --pmd-cpus "$CPU_BE" \
			"$zc" --port vhost-user:a --port vhost-user:b "${flows[@]}"
		s1=$r/sw/a s2=$r/sw/b; rx="tp:fe:0,1" ;;
	switch-*/peer)
		if [ "$HAVE_OVS" = 0 ]; then echo "- 0 - - noovs -" >"$W/result"; return; fi
		local ovs_flows=${sc#switch-}
		[ "$ovs_flows" = zc ] && ovs_flows=normal
		ovs_start "$r/ovs" "$ovs_flows" 2 "$bound" >"$W/ovs-start.log" 2>&1 || {
			ovs_down; cp "$W/vswitchd.log" "$W/be.log.ovs" 2>/dev/null
			keep_failed "$sc-$size-$ring-$side"
			echo "- 0 - - ovsfail -" >"$W/result"; return; }
		s1=$r/ovs/vhu0 s2=$r/ovs/vhu1; rx="tp:fe:0,1"
		PID_be=$PID_vswitchd ;;
	esac
	wait_for 20 test -S "$s1" || status=nosock
	[ -z "${s2:-}" ] || [ "$sc" = dequeue ] || [ "$sc" = enqueue ] || wait_for 10 test -S "$s2" || status=nosock
	if [ "$status" = ok ]; then
		local fmode=io
		case $sc in dequeue) fmode=txonly ;; enqueue) fmode=rxonly ;; esac
		case $sc in
		dequeue|enqueue) fe fe "$bound" "$fmode" "$size" "$ring" "$s1" ;;
		*)               fe fe "$bound" "$fmode" "$size" "$ring" "$s1" "$s2" ;;
		esac
		wait_for 3 child "$PID_be" >/dev/null && be_pid=$(child "$PID_be")
		measure "$rx" "$be_pid"
		stop fe
		# The backend's counters once the frontend is gone (the
		# switches are asked before they are stopped).
		case $sc/$side in
		switch-*/ours) "$VHU_CTL" --control "$r/ctl" stats >"$W/be-stats.log" 2>&1 ;;
		switch-*/peer) ovs-appctl -t "$r/ovs/vswitchd.ctl" dpif-netdev/pmd-stats-show >"$W/be-stats.log" 2>&1 ;;
		esac
	fi
	[ "$rep" = 1 ] && [ "$size" = 64 ] && save_cmds "$sc-$side-$ring" be fe ovsdb vswitchd
	# Features libvhu negotiated (ours), from the backend's log.
	if [ "$side" = ours ]; then
		case $sc in
		switch-*) feat=$(sed -n 's/.*port a: .*features \[\(.*\)\].*/\1/p' "$W/be.log" | head -1) ;;
		*)        feat=$(sed -n 's/.*vhu-fwd: device up: .*\[\(.*\)\]$/\1/p' "$W/be.log" | head -1) ;;
		esac
	fi
	if [ "$side" = peer ] && [[ $sc == switch-* ]]; then
		"${V[@]}" list Interface >"$W/ovs-if.txt" 2>&1 || true
		ovs_down
		[ -f "$r/ovs/vswitchd.log" ] && cp "$r/ovs/vswitchd.log" "$W/be.log.ovs"
	else
		stop be
	fi
	# The receiving side's log, parsed once.
	local rs st; rs=$(rates "$rx")
	st=$(steady <<<"$rs")
	steady_periods <<<"$rs" | period_labels "$W/probes" >"$W/periods"
	# How idle vhu-fwd was over its own steady periods (lib.sh's fwd_idle).
	if [ "$side" = ours ]; then
		local dir=rx pr=""
		case $sc in enqueue) dir=tx ;; switch-*) dir="" ;; esac
		[ -n "$dir" ] && pr=$(fwd_rates "$W/be.log" "$dir" | steady_periods |
			awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) print a, b }')
		[ -n "$pr" ] && BE_IDLE=$(fwd_idle "$W/be.log" $pr)
		BE_IDLE=${BE_IDLE:--}
	fi
	# A jump in the rate within the window: the placement changed.
	RUN_JUMP=0
	steady_window <<<"$rs" | rate_jump && RUN_JUMP=1
	local util=${CPU_UTIL:--} cyc=${CPU_CYC:--}
	if [ -z "$st" ]; then
		[ "$status" = ok ] && status=norate
		st="- 0"
	fi
	checks "$side" "$sc" "$ring" "$rx" "$st"
	[ "$status" = ok ] && status=$CHK_STATUS
	[ "$status" = ok ] || keep_failed "$sc-$size-$ring-$side-$rep"
	rm -f "$W/be.log.ovs"
	echo "$st $util $cyc $status ${feat:--}" >"$W/result"
}

# ring_bits_ok RING HEX: the feature word has the row's mrg_rxbuf (15),
# packed (34) and in_order (35) bits, and none it should not.
ring_bits_ok() {
	local f=$((16#$2)) want
	case $1 in
	split-mrg)     want="1 0 0" ;;
	split-nomrg)   want="0 0 0" ;;
	split-inorder) want="1 0 1" ;;
	packed)        want="1 1 0" ;;
	esac
	[ "$(( f >> 15 & 1 )) $(( f >> 34 & 1 )) $(( f >> 35 & 1 ))" = "$want" ]
}

# ring_names_ok RING NAMES: the same on vhu-fwd's/vhu-switch's names.
ring_names_ok() {
	local n=" ${2//,/ } " m=0 p=0 o=0
	[[ $n == *" mrg_rxbuf "* ]] && m=1
	[[ $n == *" packed "* ]] && p=1
	[[ $n == *" in_order "* ]] && o=1
	ring_bits_ok "$1" "$(printf '%x' $(( m << 15 | p << 34 | o << 35 )))"
}

# checks SIDE SCEN RING RXSRC "MPPS N": the checks of a run (header).
# Sets CHK_STATUS (ok or the first failed check) and CHK (the values, for
# raw.csv: sender Mpps, frontend rx/tx, backend rx/tx, frontend features).
checks() {
	local side=$1 sc=$2 ring=$3 src=$4 mpps=${5% *} ns=${5#* } f fw
	local fe_c be_c snd=-
	CHK_STATUS=ok
	[ "$ns" -ge $((SECS - WARMUP)) ] || CHK_STATUS=short
	fw=$(fe_features "$W/fe.log" | tr '\n' ' ')
	local ndev=2; case $sc in dequeue|enqueue) ndev=1 ;; esac
	[ "$(wc -w <<<"$fw")" -ge "$ndev" ] || { [ "$CHK_STATUS" = ok ] && CHK_STATUS=features; }
	for f in $fw; do
		ring_bits_ok "$ring" "$f" || { [ "$CHK_STATUS" = ok ] && CHK_STATUS=features; }
	done
	if [ "$side" = ours ] && ! ring_names_ok "$ring" "${feat:-}"; then
		[ "$CHK_STATUS" = ok ] && CHK_STATUS=features
	fi
	fe_c=$(tp_totals "$W/fe.log")
	case $sc/$side in
	*/ours) case $sc in switch-*) be_c=$(sw_totals "$W/be-stats.log") ;;
		*) be_c=$(fwd_totals "$W/be.log") ;; esac ;;
	switch-*/peer) be_c=$(ovs_pmd_totals "$W/be-stats.log") ;;
	*/peer) be_c=$(tp_totals "$W/be.log") ;;
	esac
	if [ -z "$fe_c" ] || [ -z "$be_c" ]; then
		[ "$CHK_STATUS" = ok ] && CHK_STATUS=nocount
		fe_c=${fe_c:-"- -"} be_c=${be_c:-"- -"}
	elif ! count_ok "$sc" $fe_c $be_c; then
		[ "$CHK_STATUS" = ok ] && CHK_STATUS=count
	fi
	if [ "$sc" = dequeue ] && [ "$mpps" != - ]; then
		# The receiver cannot outrun its only sender. testpmd prints
		# every 1 or 2 s (its period check races its 1 s sleep), so its
		# Tx-pps is an average over up to two of the receiver's periods:
		# 10% on its peak print for that. The totals are checked exactly
		# (count). snd: the sender's mean print after its first non-zero.
		local sr; sr=$(tp_rates_dir "$W/fe.log" 0 tx | awk '$1 > 0 || s { s = 1; print }')
		snd=$(awk '{ t += $1; n++ } END { if (n) printf "%.4f", t / n }' <<<"$sr")
		local pk; pk=$(sort -g <<<"$sr" | tail -1)
		if [ -z "$snd" ] || ! awk -v r="$mpps" -v pk="$pk" 'BEGIN { exit !(r <= pk * 1.10) }'; then
			[ "$CHK_STATUS" = ok ] && CHK_STATUS=sender
		fi
		snd=${snd:--}
	fi
	CHK="$snd ${fe_c// /,} ${be_c// /,} ${fw// /;}"
	CHK=${CHK%;}
	[ -n "$fw" ] || CHK="$CHK-"
}

# count_ok SCEN FE_RX FE_TX BE_RX BE_TX (header: "count").
count_ok() {
	local sc=$1 frx=$2 ftx=$3 brx=$4 btx=$5
	local d1=$((ftx - brx)) d2=$((btx - frx)) dbe=$((brx - btx))
	case $sc in
	dequeue)
		# What sat in the ring when the frontend stopped, one burst.
		[ "$d1" -ge 0 ] && [ "$d2" -eq 0 ] && [ "$d1" -le $((RING + BURST)) ] ;;
	enqueue)
		# And one ring more: virtio's dev_start drops, uncounted, what
		# the backend enqueued between queue setup and start.
		[ "$d1" -eq 0 ] && [ "$d2" -ge 0 ] && [ "$d2" -le $((2 * RING + BURST)) ] ;;
	*)	# A loop holds the two bursts of --tx-first and nothing more.
		[ "$d1" -ge 0 ] && [ "$d2" -ge 0 ] && [ "$dbe" -ge 0 ] &&
		[ $((d1 + d2 + dbe)) -le $((2 * BURST)) ] ;;
	esac
}

# ---- the matrix ---------------------------------------------------------------
rows=()
if [ -n "$ROWS" ]; then
	for x in $ROWS; do rows+=("${x//:/ }"); done
else
	for sc in $SCENARIOS; do for size in $SIZES; do for ring in $RINGS; do rows+=("$sc $size $ring"); done; done; done
fi
echo "scenario,size,ring,side,rep,mpps,samples,cpu_util,cycles_per_s,status,features,sender_mpps,fe_rx_tx,be_rx_tx,fe_features,placement,c2c_ns,be_idle" >"$RAW"
echo "scenario,size,ring,side,rep,period,mpps,placement,probes,probe_ns" >"$PERIODS"
nrow=0
for row in "${rows[@]}"; do
	read -r sc size ring <<<"$row"
	nrow=$((nrow + 1))
	unsupported=0
	for ((rep = 1; rep <= REPS; rep++)); do
		for side in $(rep_order "$rep" "ours peer"); do
			[ "$unsupported" = 1 ] && continue
			c0=$(c2c)
			rm -f "$W/periods" "$W/probes"
			run_one "$side" "$sc" "$size" "$ring"
			c1=$(c2c)
			# Labelled by the probes around it and through it, mixed
			# when its rate jumped.
			pl=$(placement "$c0" $(awk '$2 != "-" { print $2 }' "$W/probes" 2>/dev/null) "$c1")
			[ "$RUN_JUMP" = 1 ] && [ "$pl" != unknown ] && pl=mixed
			read -r mpps ns util cyc status feat <"$W/result"
			# A side that did not negotiate the row's ring will not on
			# the next rep either (the row is partial as it is).
			[ "$status" = features ] && unsupported=1
			read -r snd fec bec few <<<"$CHK"
			echo "$sc,$size,$ring,$side,$rep,$mpps,$ns,$util,$cyc,$status,\"${feat}\",$snd,\"$fec\",\"$bec\",$few,$pl,$c0;$c1,${BE_IDLE:--}" >>"$RAW"
			[ "$status" = ok ] && [ -s "$W/periods" ] &&
				awk -v k="$sc,$size,$ring,$side,$rep" '{ print k "," $1 "," $2 "," $3 "," $4 "," $5 }' "$W/periods" >>"$PERIODS"
			log "[$nrow/${#rows[@]}] $sc $size $ring $side rep $rep: $mpps Mpps ($ns samples, cpu $util) $status (sender $snd, fe rx,tx $fec, be rx,tx $bec, features $few) placement $pl ($c0, $c1 ns)"
		done
	done
done

# ---- memory: 64 idle vhost-user ports -------------------------------------------
MEMF=$OUT/memory.csv
echo "backend,ports,vmrss_kib,vmhwm_kib,note" >"$MEMF"
if [ "${BENCH_MEM:-1}" != 0 ]; then
	r=$W/mem; mkdir -p "$r/sw"
	ports=(); for ((i = 0; i < 64; i++)); do ports+=(--port "vhost-user:p$i"); done
	bg memsw 60 "$VHU_SWITCH" --control "$r/ctl" --socket-dir "$r/sw" --pmd-cpus "$CPU_BE" "${ports[@]}"
	if wait_for 20 test -S "$r/sw/p63"; then
		sleep 3; p=$(child "$PID_memsw")
		echo "vhu-switch,64,$(awk '/VmRSS/{r=$2} /VmHWM/{h=$2} END{print r","h}' "/proc/$p/status"),heap only" >>"$MEMF"
	else log "vhu-switch with 64 ports did not come up"; fi
	save_cmds mem-ours memsw
	stop memsw
	if [ "$HAVE_OVS" = 1 ]; then
		if ovs_start "$r/ovs" normal 64 120 >"$W/ovs-mem.log" 2>&1 && wait_for 30 test -S "$r/ovs/vhu63"; then
			sleep 3; p=$(child "$PID_vswitchd")
			hp=""; [ "$HUGE" = 1 ] && hp="plus 512 MiB hugepages (dpdk-socket-mem) not in VmRSS"
			echo "ovs-vswitchd,64,$(awk '/VmRSS/{r=$2} /VmHWM/{h=$2} END{print r","h}' "/proc/$p/status"),$hp" >>"$MEMF"
		else log "OVS with 64 ports did not come up"; cat "$W/ovs-mem.log" >&2; fi
		save_cmds mem-peer ovsdb vswitchd
		ovs_down
	fi
fi

# ---- instructions a packet (callgrind) -----------------------------------------
COSTF=$OUT/cost.csv
if [ "${BENCH_COST:-1}" != 0 ]; then
	[ "$QUICK" = 1 ] && export BENCH_COST_ROWS=${BENCH_COST_ROWS:-dequeue:64:split-mrg}
	VHU_BUILD=$VHU_BUILD bash "$BENCH/cost.sh" "$COSTF" || log "cost.sh failed"
else
	rm -f "$COSTF"
fi

# ---- TCP between namespaces behind tap ports ---------------------------------
if [ "${BENCH_TCP:-1}" != 0 ]; then
	BENCH_REPS=$REPS BENCH_SECONDS=$SECS BENCH_WARMUP=$WARMUP VHU_BUILD=$VHU_BUILD \
		bash "$BENCH/tcp_tap.sh" "$OUT" || log "tcp_tap.sh failed"
else
	rm -f "$OUT"/tcp_tap{.md,.csv,_raw.csv,.env}
fi

# ---- 64 KiB TSO frames between two in-tree frontends --------------------------
if [ "${BENCH_GSO:-1}" != 0 ]; then
	BENCH_REPS=$REPS BENCH_SECONDS=$SECS BENCH_WARMUP=$WARMUP VHU_BUILD=$VHU_BUILD \
		bash "$BENCH/gso_fe.sh" "$OUT" || log "gso_fe.sh failed"
else
	rm -f "$OUT"/gso_fe{.md,.csv,_raw.csv,.env}
fi

# ---- VM to VM across a VXLAN tunnel --------------------------------------------
if [ "${BENCH_VXLAN:-1}" != 0 ]; then
	BENCH_REPS=$REPS BENCH_SECONDS=$SECS BENCH_WARMUP=$WARMUP VHU_BUILD=$VHU_BUILD \
		bash "$BENCH/vxlan.sh" "$OUT" || log "vxlan.sh failed"
else
	rm -f "$OUT"/vxlan{.md,.csv,_raw.csv,.env}
fi

# ---- vhost-user to AF_XDP and back ---------------------------------------------
if [ "${BENCH_AFXDP:-1}" != 0 ]; then
	BENCH_REPS=$REPS BENCH_SECONDS=$SECS BENCH_WARMUP=$WARMUP VHU_BUILD=$VHU_BUILD \
		bash "$BENCH/afxdp.sh" "$OUT" || log "afxdp.sh failed"
else
	rm -f "$OUT"/afxdp{.md,.csv,_raw.csv,.env}
fi

# ---- report -------------------------------------------------------------------
T_END=$(date +%s)
env_write meta "$SECS" "$T_START" src include tools <<EOF
nproc=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mhz=$(awk '/^cpu MHz/ {print $4; exit}' /proc/cpuinfo)
kernel=$(uname -r)
dpdk=$(dpkg-query -W -f '${Version}' dpdk 2>/dev/null)
ovs=$(dpkg-query -W -f '${Version}' openvswitch-switch-dpdk 2>/dev/null)
qemu=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null)
perf_cycles=$PERF_CYCLES
quick=$QUICK
load_start=$LOAD_START
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
EOF
python3 "$BENCH/report.py" --raw "$RAW" --mem "$MEMF" --meta "$OUT/meta.env" --cmds "$OUT/cmds" \
	--csv "$CSV" --md "$DOC" --png "$PNG" --plot "$BENCH/plot.gp" --cost "$COSTF" \
	--tcp "$OUT/tcp_tap.md" --gso "$OUT/gso_fe.md" --vxlan "$OUT/vxlan.md" \
	--afxdp "$OUT/afxdp.md" || exit 1
log "done in $((T_END - T_START)) s: $DOC, $CSV"
