#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/tcp_tap.sh [DIR]: TCP between two network namespaces, each behind a
# port of the switch under test (issue 16). Called by bench/run.sh; runs
# alone too (as root, and under flock /tmp/vhu-peer.lock like every peer run).
#
#   vhu     vhu-switch, two tap ports (its default offloads), PMD on CPU_BE
#   ovs     OVS-DPDK, netdev bridge, two type=tap ports,
#           other_config:userspace-tso-enable=true (read at start-up only,
#           so set before ovs-vswitchd starts); the whole ovs-vswitchd on
#           CPU_BE: tap ports are not PMD ports, OVS's main thread polls
#           them, and it would otherwise float onto the iperf3 CPU
#   bridge  the kernel's reference: a Linux bridge in a third namespace and
#           two veth pairs; no forwarding thread, the kernel forwards in
#           the sender's context
#
# Per run: the switch and namespaces are created afresh; 169.254.30.1/16 in
# namespace A, 169.254.30.2/16 in B (MTU 1500); iperf3 -s -1 in B, iperf3
# -c -t (SECS - WARMUP) -O WARMUP -J in A, both pinned to CPU_FE; rate =
# the receiver's bits/s over the measured seconds (iperf3's
# end.sum_received, the omitted warm-up excluded). BENCH_REPS runs a setup,
# interleaved (vhu ovs bridge, then bridge ovs vhu, ...).
#
# Every run is checked, and a run that fails is not used:
#   iperf   iperf3 failed or its JSON has no received sum
#   short   the measured seconds fall short of SECS - WARMUP by over 10%
#   path    the sender's interface sent, or the receiver's received, fewer
#           bytes than iperf3 counted (the data did not take this path)
#   setup   the switch, its taps, or the namespaces could not be set up
#   noovs   OVS-DPDK is not installed
# Whether TSO was on at the sender's interface (ethtool -k), for
# vhu-switch its offload counters (tx_ol_whole, tx_ol_segmented, tx_ol_csum
# summed over the ports), and how busy each CPU was over the measured
# seconds (/proc/stat: whether iperf3's CPU, not the switch, set the pace)
# are recorded beside each run.
#
# Environment: BENCH_REPS (5) BENCH_SECONDS (6) BENCH_WARMUP (1), as
# bench/run.sh; BENCH_TCP_SETUPS ("vhu ovs bridge", a subset);
# BENCH_KEEP=1 (keep the work dir); VHU_BUILD (build).
# Output in DIR (default BENCH_OUT, else bench/): tcp_tap_raw.csv (every
# run), tcp_tap.csv (one line per comparison, results.csv's columns),
# tcp_tap.md (the report's section, bench/report.py includes it), failed
# runs' logs in failed/tcp-*.log.
# Everything this creates (namespaces, taps, veths, the bridge, OVS state)
# is removed on exit, failure and interrupt included.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
. "$BENCH/lib.sh"
OUT=${1:-${BENCH_OUT:-$BENCH}}
SETUPS=${BENCH_TCP_SETUPS:-vhu ovs bridge}
RAW=$OUT/tcp_tap_raw.csv
MEAS=$((SECS - WARMUP))
[ "$MEAS" -ge 1 ] || { echo "tcp_tap: BENCH_SECONDS must exceed BENCH_WARMUP" >&2; exit 2; }

mkdir -p "$OUT"
skip_all() { not_run tcp_tap TCP "TCP between namespaces behind tap ports" "$1"; }
[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, taps)"
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
for c in ip iperf3 taskset timeout python3 ethtool; do
	command -v "$c" >/dev/null || skip_all "$c is missing (make bench installs it)"
done
[ -x "$VHU_SWITCH" ] && [ -x "$VHU_CTL" ] || { echo "tcp_tap: vhu-switch is not built; run make build" >&2; exit 1; }

# Names of our own, so that cleanup removes nothing else (15 characters at
# most for an interface).
TAG=vt$$
NSA=vhutcp-$$-a NSB=vhutcp-$$-b NSBR=vhutcp-$$-br
IFA=${TAG}a IFB=${TAG}b
IPA=169.254.30.1 IPB=169.254.30.2

W=$(mktemp -d /tmp/vhu-tcp.XXXXXX)
tcp_cleanup() {
	cleanup
	local n
	for n in "$NSA" "$NSB" "$NSBR"; do ip netns del "$n" 2>/dev/null; done
	# A tap or veth that never left the root namespace.
	for n in "$IFA" "$IFB" "${IFA}p" "${IFB}p"; do ip link del "$n" 2>/dev/null; done
	return 0
}
trap tcp_cleanup EXIT
trap 'exit 130' INT TERM
setup_hugepages
rm -rf "$OUT"/failed/tcp-*.log "$OUT"/cmds/tcp-*.cmd
log "tcp_tap: work dir $W; setups $SETUPS; reps $REPS x ${MEAS}s (+${WARMUP}s omitted); switch on CPU $CPU_BE, iperf3 on CPU $CPU_FE"

# tso_of NS IF: on|off, the interface's tcp-segmentation-offload.
tso_of() {
	nsx "$1" ethtool -k "$2" 2>/dev/null | sed -n 's/^tcp-segmentation-offload: \([a-z]*\).*/\1/p'
}

# wait_link NAME: until the interface exists in the root namespace.
wait_link() { wait_for 20 ip link show "$1" >/dev/null; }

# to_ns IF NS ADDR: move the interface into NS and configure it there.
to_ns() {
	local ifc=$1 ns=$2 addr=$3
	if [ "$(ip -o link show "$ifc" 2>/dev/null)" ]; then
		ip link set "$ifc" netns "$ns" || return 1
	fi
	nsx "$ns" ip addr add "$addr/16" dev "$ifc" &&
	nsx "$ns" ip link set "$ifc" up &&
	nsx "$ns" ip link set lo up
}

# ovs_tap_start DIR BOUND: OVS-DPDK with userspace TSO, all of it on
# CPU_BE (its main thread polls the taps), then the netdev bridge with the
# two taps IFA and IFB (OVS creates them).
ovs_tap_start() {
	local d=$1 bound=$2
	ovs_up "$d" "$bound" "$CPU_BE" "$CPU_BE" other_config:userspace-tso-enable=true || return 1
	"${V[@]}" -- add-br br0 -- set bridge br0 datapath_type=netdev \
		-- add-port br0 "$IFA" -- set Interface "$IFA" type=tap \
		-- add-port br0 "$IFB" -- set Interface "$IFB" type=tap || return 1
	wait_link "$IFA" && wait_link "$IFB"
}

# bridge_start: NSBR with bridge br0, a veth pair from it to each of NSA
# and NSB (the namespace ends named IFA and IFB).
bridge_start() {
	ip netns add "$NSBR" &&
	nsx "$NSBR" ip link add br0 type bridge &&
	ip link add "$IFA" netns "$NSA" type veth peer name "${IFA}p" netns "$NSBR" &&
	ip link add "$IFB" netns "$NSB" type veth peer name "${IFB}p" netns "$NSBR" &&
	nsx "$NSBR" ip link set "${IFA}p" master br0 &&
	nsx "$NSBR" ip link set "${IFB}p" master br0 &&
	nsx "$NSBR" ip link set "${IFA}p" up &&
	nsx "$NSBR" ip link set "${IFB}p" up &&
	nsx "$NSBR" ip link set br0 up
}

# run_tcp SETUP REP: one run; appends its line to RAW.
run_tcp() {
	local s=$1 rep=$2 r=$W/$1-$2 bound=$((SECS + 40)) status=ok
	local gbps=- secs=- bytes=- retr=- tso=- olw=- ols=- olc=- bbe=- bfe=-
	mkdir -p "$r"
	rm -f "$W"/{be,ovsdb,vswitchd,srv,cli}.{log,cmd}
	unset PID_be PID_ovsdb PID_vswitchd PID_srv PID_cli
	ip netns add "$NSA" && ip netns add "$NSB" || status=setup
	if [ "$status" = ok ]; then
		case $s in
		vhu)
			bg be "$bound" "$VHU_SWITCH" --control "$r/ctl" --socket-dir "$r" --pmd-cpus "$CPU_BE" \
				--port "tap:ta,ifname=$IFA" --port "tap:tb,ifname=$IFB"
			wait_for 10 test -S "$r/ctl" && wait_link "$IFA" && wait_link "$IFB" || status=setup ;;
		ovs)
			if [ "$HAVE_OVS" = 0 ]; then status=noovs
			else ovs_tap_start "$r/ovs" "$bound" >"$W/ovs-start.log" 2>&1 || status=setup; fi ;;
		bridge)
			bridge_start >"$W/bridge-start.log" 2>&1 || status=setup ;;
		esac
	fi
	if [ "$status" = ok ]; then
		to_ns "$IFA" "$NSA" "$IPA" && to_ns "$IFB" "$NSB" "$IPB" || status=setup
	fi
	if [ "$status" = ok ]; then
		tso=$(tso_of "$NSA" "$IFA"); tso=${tso:--}
		bg srv "$bound" ip netns exec "$NSB" taskset -c "$CPU_FE" iperf3 -s -1 -B "$IPB"
		wait_for 10 sh -c "ip netns exec '$NSB' ss -Hltn 'sport = :5201' | grep -q ." || status=setup
	fi
	if [ "$status" = ok ]; then
		bg cli "$bound" ip netns exec "$NSA" taskset -c "$CPU_FE" iperf3 -c "$IPB" \
			-t "$MEAS" -O "$WARMUP" -J
		# Each CPU's load over the measured seconds (past the omitted ones).
		sleep "$WARMUP"; cpu_snap >"$r/cpu0"
		wait_pid cli
		cpu_snap >"$r/cpu1"
		bbe=$(cpu_busy "$r/cpu0" "$r/cpu1" "$CPU_BE"); bfe=$(cpu_busy "$r/cpu0" "$r/cpu1" "$CPU_FE")
		read -r gbps secs bytes retr < <(python3 -c '
import json, sys
try:
    e = json.load(open(sys.argv[1]))["end"]
    rx, tx = e["sum_received"], e["sum_sent"]
    print("%.3f %.2f %d %d" % (rx["bits_per_second"] / 1e9, rx["seconds"], rx["bytes"], tx.get("retransmits", 0)))
except Exception:
    print("- - - -")' "$W/cli.log")
		if [ "$gbps" = - ]; then status=iperf
		elif ! awk -v s="$secs" -v m="$MEAS" 'BEGIN { exit !(s >= 0.9 * m) }'; then status=short
		elif [ "$(ifstat "$NSA" "$IFA" tx_bytes)" -lt "$bytes" ] ||
		     [ "$(ifstat "$NSB" "$IFB" rx_bytes)" -lt "$bytes" ]; then status=path
		fi
	fi
	# The switch's own view, asked before it is stopped.
	case $s in
	vhu)
		if [ -S "$r/ctl" ]; then
			"$VHU_CTL" --control "$r/ctl" stats --json >"$r/stats.json" 2>&1
			read -r olw ols olc < <(python3 -c '
import json, sys
try:
    ps = json.load(open(sys.argv[1]))["ports"]
    print(*[sum(p[k] for p in ps) if all(k in p for p in ps) else "-"
            for k in ("tx_ol_whole", "tx_ol_segmented", "tx_ol_csum")])
except Exception:
    print("- - -")' "$r/stats.json")
		fi
		stop be ;;
	ovs)
		[ -S "$r/ovs/vswitchd.ctl" ] && ovs-appctl -t "$r/ovs/vswitchd.ctl" dpif-netdev/pmd-stats-show >"$r/pmd-stats.txt" 2>&1
		ovs_down ;;
	esac
	stop srv; stop cli
	[ "$rep" = 1 ] && save_cmds "tcp-$s" be ovsdb vswitchd srv cli
	if [ "$status" != ok ] && [ "$status" != noovs ]; then
		keep_logs "tcp-$s-$rep" "$r/ovs" be vswitchd srv cli ovs-start bridge-start
	fi
	ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null; ip netns del "$NSBR" 2>/dev/null
	ip link del "$IFA" 2>/dev/null; ip link del "$IFB" 2>/dev/null
	echo "$s,$rep,$gbps,$secs,$bytes,$retr,$status,$tso,$olw,$ols,$olc,$bbe,$bfe" >>"$RAW"
	log "tcp_tap $s rep $rep: $gbps Gbit/s ($secs s, $retr retransmits, TSO $tso, ol whole/seg/csum $olw/$ols/$olc, CPU $CPU_BE/$CPU_FE busy $bbe/$bfe) $status"
}

T0=$(date +%s)
echo "setup,rep,gbps,seconds,bytes,retransmits,status,tso,ol_whole,ol_segmented,ol_csum,busy_cpu_switch,busy_cpu_iperf" >"$RAW"
for ((rep = 1; rep <= REPS; rep++)); do
	for s in $(rep_order "$rep" "$SETUPS"); do run_tcp "$s" "$rep"; done
done
env_write tcp_tap "$MEAS" "$T0" src include switch <<EOF
cpu_switch=$CPU_BE
cpu_iperf=$CPU_FE
iperf3=$(iperf3 --version | head -1 | cut -d' ' -f2)
EOF
python3 "$BENCH/tcp_tap_report.py" "$OUT"
