#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/gso_fe.sh [DIR]: TCP-like 64 KiB GSO frames between two in-tree
# frontends (vhu-fe --tso) behind two vhost-user ports of the switch under
# test, Gbit/s of payload (issue 16). Meant to be called by bench/run.sh;
# runs alone too (as root, under flock /tmp/vhu-peer.lock like every peer run).
#
#   vhu  vhu-switch, two vhost-user ports, its default offloads, no flows
#        (learning; the receiver never sends, so frames to it are flooded
#        to its port, the only other one), PMD on CPU_BE
#   ovs  OVS-DPDK, netdev bridge (NORMAL action), two dpdkvhostuserclient
#        ports (vhu-fe --server listens), other_config:userspace-tso-enable
#        =true (read at start-up only, so set before ovs-vswitchd starts),
#        pmd-cpu-mask CPU_BE, dpdk-lcore-mask CPU_FE (as bench/run.sh's
#        switch rows)
#   ovs-srv  (not in the default set) the same with dpdkvhostuser ports,
#        as bench/run.sh's rows: OVS 3.1 asks DPDK for linear buffers
#        without external ones on those, and DPDK then withdraws
#        HOST_TSO4 ("disabling host segmentation offloading support"), so
#        every run ends notso; kept to show it
#
# Both frontends on CPU_FE: the receiver (vhu-fe --duration 0) connects
# first, then the sender sends for SECS s as fast as its ring takes them,
# frames of 65000 bytes (64946 of TCP payload) with gso_size MSS 1448,
# ring 1024. Rate: the receiver's frames taken whole and checked ("good")
# per stats second, over the SECS - WARMUP seconds after the first WARMUP
# ones, times 64946 * 8 bits.
# Modes (BENCH_GSO_MODES, default "noverify verify"): verify = vhu-fe's
# full check (the sender computes, the receiver recomputes an FNV over
# every payload byte: at 64 KiB that, not the switch, sets the pace on a
# shared CPU); noverify = vhu-fe --no-verify (headers and lengths checked;
# the sender neither writes nor sums the payload, the receiver does not
# read it: the frontends' CPU is left for the rings' copies, so that the
# switch, not the frontends, sets the pace).
#
# Every run is checked, and a run that fails is not used:
#   setup   the switch, its sockets or a frontend's connection failed
#   notso   a frontend did not get the offloads (sender HOST_TSO4+CSUM,
#           receiver GUEST_TSO4+GUEST_CSUM); that is a result of its own
#   fe      a frontend exited non-zero or counted bad frames
#   short   fewer stats seconds with traffic than SECS
#   path    the switch forwarded fewer frames than the receiver counted
#           good (vhu: port b's tx_packets and tx_ol_whole; OVS: the PMD's
#           packets received), or none whole (vhu: tx_ol_whole)
#   noovs   OVS-DPDK is not installed
# Recorded beside each run: the features each frontend got, the sender's
# tx-full bursts, the switch's drops toward the receiver, how busy each
# CPU was over the measured seconds (/proc/stat).
#
# Environment: BENCH_REPS (5) BENCH_SECONDS (6) BENCH_WARMUP (1) as
# bench/run.sh; BENCH_GSO_SETUPS ("vhu ovs"); BENCH_GSO_MODES;
# BENCH_KEEP=1 (keep the work dir); VHU_BUILD (build).
# Output in DIR (default BENCH_OUT, else bench/): gso_fe_raw.csv (every
# run), gso_fe.csv (one line per mode), gso_fe.md (the report's section),
# gso_fe.env, failed runs' logs in failed/gso-*.log, the first rep's
# commands in cmds/gso-*.cmd. Everything this creates (processes, OVS
# state, sockets, DPDK runtime files) is removed on exit, failure and
# interrupt included.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
. "$BENCH/lib.sh"
OUT=${1:-${BENCH_OUT:-$BENCH}}
SETUPS=${BENCH_GSO_SETUPS:-vhu ovs}
MODES=${BENCH_GSO_MODES:-noverify verify}
VHU_FE=$VHU_BUILD/tools/vhu-fe/vhu-fe
RAW=$OUT/gso_fe_raw.csv
MEAS=$((SECS - WARMUP))
SIZE=65000 MSS=1448 FERING=1024
PAYLOAD=$((SIZE - 54))
MA=02:00:00:00:0c:0a MB=02:00:00:00:0c:0b
[ "$MEAS" -ge 1 ] || { echo "gso_fe: BENCH_SECONDS must exceed BENCH_WARMUP" >&2; exit 2; }

mkdir -p "$OUT"
skip_all() { not_run gso_fe GSO "64 KiB TSO frames between two in-tree frontends" "$1"; }
for c in taskset timeout python3; do
	command -v "$c" >/dev/null || skip_all "$c is missing"
done
[ -x "$VHU_SWITCH" ] && [ -x "$VHU_CTL" ] && [ -x "$VHU_FE" ] ||
	{ echo "gso_fe: vhu-switch or vhu-fe is not built; run make build" >&2; exit 1; }
"$VHU_FE" --help 2>&1 | grep -q -- --no-verify || case " $MODES " in
	*" noverify "*) echo "gso_fe: $VHU_FE has no --no-verify" >&2; exit 1 ;; esac

W=$(mktemp -d /tmp/vhu-gso.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM
setup_hugepages
MHZ=$(awk '/^cpu MHz/ { print $4; exit }' /proc/cpuinfo)
rm -rf "$OUT"/failed/gso-*.log "$OUT"/cmds/gso-*.cmd
log "gso_fe: work dir $W; setups $SETUPS; modes $MODES; reps $REPS x ${MEAS}s (+${WARMUP}s warm-up); switch PMD on CPU $CPU_BE, both vhu-fe on CPU $CPU_FE"

# ovs_vhost_start DIR BOUND TYPE: OVS-DPDK with userspace TSO, set up as
# bench/run.sh's switch rows, with two vhost-user ports vhu0 and vhu1 of
# TYPE (ovs_vhost_ports).
ovs_vhost_start() {
	ovs_up "$1" "$2" "$CPU_FE" "" other_config:userspace-tso-enable=true &&
	ovs_vhost_ports "$1" 2 "$3"
}

# feats LOG: the feature word vhu-fe got, hex without 0x, or nothing.
feats() { sed -n 's/^vhu-fe: connected to .*, features 0x\([0-9a-f]*\)$/\1/p' "$1" | head -1; }
# has_bits HEX BIT...: whether every bit is set.
has_bits() {
	local f=$((16#${1:-0})) b; shift
	for b in "$@"; do [ $(( (f >> b) & 1 )) = 1 ] || return 1; done
}
# fe_total LOG FIELD: a field of vhu-fe's "fe: total:" line.
fe_total() { awk -v k="$2" '/^fe: total:/ { for (i = 3; i < NF; i++) if ($i == k) v = $(i + 1) } END { print v }' "$1"; }
# window LOG: "good frames" over the measured stats seconds of the
# receiver (the WARMUP seconds from the first with traffic left out, then
# MEAS), and the number of seconds with traffic; "- N" when too few.
window() {
	awk -v warm="$WARMUP" -v meas="$MEAS" '
		/^fe: stats:/ { for (i = 3; i < NF; i++) if ($i == "good") g[++n] = $(i + 1) }
		END {
			prev = 0; s = 0; busy = 0
			for (i = 1; i <= n; i++) { d[i] = g[i] - prev; prev = g[i]; if (d[i] > 0) { busy++; if (!s) s = i } }
			if (!s || s + warm + meas - 1 > n) { print "-", busy; exit }
			t = 0; for (i = s + warm; i < s + warm + meas; i++) t += d[i]
			print t, busy
		}' "$1"
}

# run_gso SETUP MODE REP: one run; appends its line to RAW.
run_gso() {
	local s=$1 mode=$2 rep=$3 r=$W/$1-$2-$3 bound=$((SECS + 40)) status=ok
	local gbps=- kpps=- frames=- sent=- txfull=- drops=- fwd=- whole=- ftx=- frx=- bbe=- bfe=- cyc=-
	local s1 s2 nv=() srv=() rc_tx=0
	[ "$mode" = noverify ] && nv=(--no-verify)
	mkdir -p "$r"
	rm -f "$W"/{be,ovsdb,vswitchd,rx,tx,ovs-start}.{log,cmd}
	unset PID_be PID_ovsdb PID_vswitchd PID_rx PID_tx
	case $s in
	vhu)
		bg be "$bound" "$VHU_SWITCH" --control "$r/ctl" --socket-dir "$r" --pmd-cpus "$CPU_BE" \
			--port vhost-user:a --port vhost-user:b
		s1=$r/a s2=$r/b
		wait_for 10 test -S "$r/ctl" && wait_for 10 test -S "$s1" && wait_for 10 test -S "$s2" || status=setup ;;
	ovs|ovs-srv)
		s1=$r/ovs/vhu0 s2=$r/ovs/vhu1
		local type=dpdkvhostuser
		[ "$s" = ovs ] && type=dpdkvhostuserclient srv=(--server)
		if [ "$HAVE_OVS" = 0 ]; then status=noovs
		else ovs_vhost_start "$r/ovs" "$bound" "$type" >"$W/ovs-start.log" 2>&1 || status=setup; fi ;;
	esac
	if [ "$status" = ok ]; then
		# The receiver lingers past the sender's end; stopped below.
		bg rx "$bound" taskset -c "$CPU_FE" "$VHU_FE" --socket "$s2" --mac "$MB" --dst-mac "$MA" \
			--tso "$MSS" --pkt-size "$SIZE" --ring "$FERING" --duration 0 --linger $((SECS + 30)) \
			--stats-period 1 "${nv[@]}" "${srv[@]}"
		wait_for 15 grep -q '^vhu-fe: connected' "$W/rx.log" || status=setup
	fi
	if [ "$status" = ok ]; then
		bg tx "$bound" taskset -c "$CPU_FE" "$VHU_FE" --socket "$s1" --mac "$MA" --dst-mac "$MB" \
			--tso "$MSS" --pkt-size "$SIZE" --ring "$FERING" --duration "$SECS" --linger 0.5 \
			--stats-period 1 "${nv[@]}" "${srv[@]}"
		wait_for 15 grep -q '^vhu-fe: connected' "$W/tx.log" || status=setup
	fi
	if [ "$status" = ok ]; then
		sleep "$WARMUP"; cpu_snap >"$r/cpu0"
		sleep "$MEAS"; cpu_snap >"$r/cpu1"
		bbe=$(cpu_busy "$r/cpu0" "$r/cpu1" "$CPU_BE"); bfe=$(cpu_busy "$r/cpu0" "$r/cpu1" "$CPU_FE")
		wait "$(pid_of tx)"; rc_tx=$?
		sleep 1 # what is still in the switch and the rings reaches the receiver
		# The switch's view while both frontends are still connected
		# (OVS reads a vhost port's counters from the live device).
		case $s in
		vhu)
			"$VHU_CTL" --control "$r/ctl" stats --json >"$r/stats.json" 2>&1
			read -r fwd whole drops < <(python3 -c '
import json, sys
try:
    b = [p for p in json.load(open(sys.argv[1]))["ports"] if p["name"] == "b"][0]
    print(b["tx_packets"], b["tx_ol_whole"], b["tx_dropped"])
except Exception:
    print("- - -")' "$r/stats.json") ;;
		ovs|ovs-srv)
			ovs-appctl -t "$r/ovs/vswitchd.ctl" dpif-netdev/pmd-stats-show >"$r/pmd-stats.txt" 2>&1
			"${V[@]}" get Interface vhu1 statistics >"$r/vhu1-stats.txt" 2>&1
			"${V[@]}" list Interface >"$r/ovs-if.txt" 2>&1
			read -r fwd _ < <(ovs_pmd_totals "$r/pmd-stats.txt"); fwd=${fwd:--}
			drops=$(sed -n 's/.*tx_dropped=\([0-9]*\).*/\1/p' "$r/vhu1-stats.txt"); drops=${drops:--}
			# OVS's own count: TSC cycles of PMD iterations that
			# had packets, per packet, over its life (this run's).
			cyc=$(sed -n 's/^ *avg processing cycles per packet: \([0-9]*\).*/\1/p' "$r/pmd-stats.txt" | head -1)
			cyc=${cyc:--} ;;
		esac
		# The receiver's verdict is its log's (stop() reaps it).
		stop rx
		ftx=$(feats "$W/tx.log"); frx=$(feats "$W/rx.log")
		sent=$(fe_total "$W/tx.log" sent); txfull=$(fe_total "$W/tx.log" tx-full)
		local good bad; good=$(fe_total "$W/rx.log" good); bad=$(fe_total "$W/rx.log" bad)
		read -r frames _ < <(window "$W/rx.log")
		if [ "$frames" != - ]; then
			kpps=$(awk -v f="$frames" -v m="$MEAS" 'BEGIN { printf "%.2f", f / m / 1e3 }')
			gbps=$(awk -v f="$frames" -v m="$MEAS" -v p="$PAYLOAD" 'BEGIN { printf "%.3f", f * p * 8 / m / 1e9 }')
			# vhu-switch counts no cycles: its CPU's busy share of the
			# measured seconds at the nominal clock, per frame (an upper
			# bound: the PMD's idle spins before a nap count as busy).
			[ "$s" = vhu ] && [ "$bbe" != - ] && cyc=$(awk -v b="$bbe" -v m="$MEAS" -v f="$frames" -v hz="$MHZ" \
				'BEGIN { if (f > 0 && hz > 0) printf "%.0f", b * m * hz * 1e6 / f; else print "-" }')
		fi
		if ! has_bits "$ftx" 0 11 || ! has_bits "$frx" 1 7; then status=notso
		elif [ "$rc_tx" != 0 ] || [ -z "$good" ] || [ "${bad:-1}" != 0 ]; then status=fe
		elif [ "$frames" = - ]; then status=short
		elif [ "$fwd" = - ] || [ "$fwd" -lt "$good" ] ||
		     { [ "$s" = vhu ] && { [ "$whole" = - ] || [ "$whole" -lt "$good" ]; }; }; then status=path
		fi
	fi
	case $s in
	vhu) stop rx; stop tx; stop be ;;
	ovs|ovs-srv) stop rx; stop tx; ovs_down ;;
	esac
	[ "$rep" = 1 ] && save_cmds "gso-$s-$mode" be ovsdb vswitchd rx tx
	if [ "$status" != ok ] && [ "$status" != noovs ]; then
		keep_logs "gso-$s-$mode-$rep" "$r/ovs" be vswitchd rx tx ovs-start
	fi
	[ -n "${BENCH_KEEP:-}" ] && cp "$W"/{rx,tx,be}.log "$r"/ 2>/dev/null
	echo "$s,$mode,$rep,$gbps,$kpps,$frames,$sent,$txfull,$fwd,$whole,$drops,$status,${ftx:--},${frx:--},$bbe,$bfe,$cyc" >>"$RAW"
	log "gso_fe $s $mode rep $rep: $gbps Gbit/s ($kpps kfps; sent $sent, tx-full $txfull, switch fwd $fwd whole $whole drops $drops; features tx ${ftx:--} rx ${frx:--}; CPU $CPU_BE/$CPU_FE busy $bbe/$bfe, switch cycles/frame $cyc) $status"
}

T0=$(date +%s)
echo "setup,mode,rep,gbps,kfps,frames,sent,tx_full,switch_fwd,switch_whole,switch_drops,status,features_tx,features_rx,busy_cpu_switch,busy_cpu_fe,switch_cycles_per_frame" >"$RAW"
each_run run_gso "$MODES" "$SETUPS"
env_write gso_fe "$MEAS" "$T0" src include switch tools <<EOF
size=$SIZE
mss=$MSS
ring=$FERING
cpu_switch=$CPU_BE
cpu_fe=$CPU_FE
cpu_mhz=$MHZ
cpu_model=$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)
ovs=$(dpkg-query -W -f '${Version}' openvswitch-switch-dpdk 2>/dev/null)
EOF
python3 "$BENCH/gso_fe_report.py" "$OUT"
