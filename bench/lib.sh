# SPDX-License-Identifier: BSD-3-Clause
# Sourced by bench/run.sh: process handling, the frontends and backends of
# each scenario, and the parsers for their rate output.
# (Not executable: bench/run.sh is the entry point.)

# Ours, from the build the caller names (ROOT is set by the sourcing script).
VHU_BUILD=${VHU_BUILD:-$ROOT/build}
VHU_FWD=$VHU_BUILD/tools/vhu-fwd/vhu-fwd
VHU_SWITCH=$VHU_BUILD/switch/vhu-switch/vhu-switch
VHU_CTL=$VHU_BUILD/switch/vhu-ctl/vhu-ctl

# ---- processes ---------------------------------------------------------
# Every process is started by bg(), bounded by `timeout`, and remembered by
# PID; cleanup() ends them by PID (TERM, then KILL) and removes the DPDK
# runtime files of our own --file-prefix values. Nothing is killed by name.
_pids=()
_prefixes=()

log() { echo "bench: $*" >&2; }
strip_ansi() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }

# bg NAME SECS CMD...: CMD in the background under `timeout -k 3 SECS`,
# output to $W/NAME.log; sets PID_NAME (the timeout process). The command
# line goes to $W/NAME.cmd for the report.
bg() {
	local n=$1 secs=$2; shift 2
	printf '%q ' "$@" | sed 's/ $//' >"$W/$n.cmd"
	timeout -k 3 "$secs" "$@" >"$W/$n.log" 2>&1 </dev/null &
	_pids+=($!)
	printf -v "PID_$n" '%s' "$!"
}

pid_of() { local v="PID_$1"; echo "${!v:-}"; }

# child PID: the process `timeout` started (what we measure).
child() {
	local c
	c=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 1
	c=${c%% *}; [ -n "$c" ] && echo "$c"
}

# stop NAME [SIG]: signal the process, wait at most 10 s, then KILL.
stop() {
	local p; p=$(pid_of "$1"); [ -n "$p" ] || return 0
	local c; c=$(child "$p")
	[ -n "$c" ] && kill "-${2:-INT}" "$c" 2>/dev/null
	kill "-${2:-TERM}" "$p" 2>/dev/null
	local i
	for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	[ -n "$c" ] && kill -9 "$c" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

wait_pid() { local p; p=$(pid_of "$1"); [ -n "$p" ] && wait "$p" 2>/dev/null; return 0; }

cleanup() {
	local p pf
	for p in "${_pids[@]}"; do kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${_pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
	[ -n "${OVS_PIDS:-}" ] && for p in $OVS_PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	# DPDK leaves its hugepage files behind when killed; they are ours
	# only if they carry one of our prefixes.
	for pf in "${_prefixes[@]}"; do
		rm -f /dev/hugepages/"$pf"map_* 2>/dev/null
		rm -rf "/var/run/dpdk/$pf" 2>/dev/null
	done
	[ -n "${W:-}" ] && [ -z "${BENCH_KEEP:-}" ] && rm -rf "$W"
	return 0
}

# wait_for SECS CMD...: poll CMD every 0.1 s.
wait_for() {
	local t=$1; shift; local end=$(( $(date +%s%N) + t * 1000000000 ))
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ---- hugepages (PEERS.md), decided once per suite -----------------------
setup_hugepages() {
	HUGE=0
	if [ "$(id -u)" = 0 ] && [ -z "${BENCH_NO_HUGE:-}" ]; then
		local cur; cur=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
		[ "$cur" -ge 1024 ] || echo 1024 >/proc/sys/vm/nr_hugepages 2>/dev/null
		mkdir -p /dev/hugepages
		mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null
		# A run needs at most 256 MiB (frontend) + 512 MiB (OVS), 384
		# pages. Other test runs share the pool: if fewer than 512 are
		# free, grow it (up to 2048 pages, 4 GiB of this 24 GiB machine)
		# rather than fall back to --no-huge halfway through the suite.
		local free; free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
		if [ "${free:-0}" -lt 512 ]; then
			cur=$(cat /proc/sys/vm/nr_hugepages)
			local want=$((cur + 512 - free)); [ "$want" -le 2048 ] || want=2048
			[ "$want" -gt "$cur" ] && echo "$want" >/proc/sys/vm/nr_hugepages 2>/dev/null
			free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
		fi
		if mountpoint -q /dev/hugepages && [ "${free:-0}" -ge 400 ]; then HUGE=1; fi
	fi
}

# mem_opts: EAL memory options for a testpmd (hugepages or --no-huge).
mem_opts() {
	if [ "$HUGE" = 1 ]; then MEM=(-m 256); MBUFS=(--total-num-mbufs=32768)
	else MEM=(--no-huge -m 512); MBUFS=(--total-num-mbufs=16384); fi
}

# prefix NAME: sets PFX to a unique DPDK --file-prefix, remembered for
# cleanup (not in a subshell: the list must survive).
_n=0
prefix() { PFX="vhub$$$1$_n"; _n=$((_n + 1)); _prefixes+=("$PFX"); }

# ---- the frontend (shared with bench/cost.sh) ------------------------------
# Needs CPU_BE, CPU_FE, MEM, MBUFS.
M0=02:00:00:00:0b:00 M1=02:00:00:00:0b:01
# The frontend's ring size (set explicitly) and burst (testpmd's default):
# the bounds of the loss check.
RING=256 BURST=32

devargs() {
	case $1 in
	split-mrg)     echo "queue_size=$RING,packed_vq=0,mrg_rxbuf=1,in_order=0" ;;
	split-nomrg)   echo "queue_size=$RING,packed_vq=0,mrg_rxbuf=0,in_order=0" ;;
	split-inorder) echo "queue_size=$RING,packed_vq=0,mrg_rxbuf=1,in_order=1" ;;
	packed)        echo "queue_size=$RING,packed_vq=1,mrg_rxbuf=1,in_order=0" ;;
	*) echo "bench: unknown ring $1" >&2; exit 2 ;;
	esac
}

# fe NAME SECS MODE SIZE RING SOCK [SOCK2]: the virtio-user frontend.
# --no-flush-rx: testpmd would otherwise drop what a txonly backend sent
# before forwarding started without counting it (the loss check).
fe() {
	local n=$1 secs=$2 mode=$3 size=$4 ring=$5 s1=$6 s2=${7:-} da; da=$(devargs "$ring")
	local vdev=(--vdev "net_virtio_user0,path=$s1,queues=1,$da${s2:+,mac=$M0}") app=()
	if [ -n "$s2" ]; then
		vdev+=(--vdev "net_virtio_user1,path=$s2,queues=1,$da,mac=$M1")
		app=(--tx-first --eth-peer=0,$M1 --eth-peer=1,$M0)
	fi
	prefix fe
	bg "$n" "$secs" dpdk-testpmd --lcores "0@$CPU_BE,1@$CPU_FE" --no-pci \
		--file-prefix="$PFX" --single-file-segments --iova-mode=va "${MEM[@]}" "${vdev[@]}" \
		--log-level=pmd.net.virtio.init:debug -- \
		--nb-cores=1 --forward-mode="$mode" --stats-period 1 --txpkts="$size" "${MBUFS[@]}" "${app[@]}" \
		--no-flush-rx
}

# ---- CPU cost -------------------------------------------------------------
# cpu_ticks PID: utime+stime of the whole process (all threads), in ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# ---- parsers ----------------------------------------------------------------
# Rates per stats period, one per line, for the receiving side.
# tp_rates LOG PORTS: testpmd's "Rx-pps" of the given ports (comma list),
# summed per stats print.
tp_rates() {
	strip_ansi <"$1" | awk -v ports="$2" '
		BEGIN { n = split(ports, a, ","); for (i = 1; i <= n; i++) want[a[i]] = 1 }
		/NIC statistics for port/ { port = $(NF-1); seen[port]++; k = seen[port] }
		/Rx-pps:/ && (port in want) { sum[k] += $2; if (k > max) max = k }
		END { for (i = 1; i <= max; i++) printf "%.6f\n", sum[i] / 1e6 }'
}
# fwd_rates LOG rx|tx: vhu-fwd's stats lines.
fwd_rates() { sed -n "s/^stats: .* $2-mpps \([0-9.]*\).*/\1/p" "$1"; }

# steady: from rates on stdin (Mpps per period), the mean over the steady
# window: the SECS periods from the first non-zero one, less the first
# WARMUP (traffic starts mid-period, and the rings fill). Later periods are
# ignored (for a backend that counts, the one in which the frontend was
# stopped is partial). Prints "mpps nsamples" or nothing.
steady() {
	awk -v warm="$WARMUP" -v secs="$SECS" '
		{ r[NR] = $1 + 0 }
		END {
			s = 0; for (i = 1; i <= NR; i++) if (r[i] > 0) { s = i; break }
			if (!s) exit
			e = s + secs - 1; if (e > NR) e = NR
			b = s + warm
			if (b > e) exit
			t = 0; for (i = b; i <= e; i++) t += r[i]
			printf "%.4f %d\n", t / (e - b + 1), e - b + 1
		}'
}

# ---- counts and features for the checks of each run ---------------------------
# tp_rates_dir LOG PORTS rx|tx: as tp_rates, Rx-pps or Tx-pps.
tp_rates_dir() {
	strip_ansi <"$1" | awk -v ports="$2" -v key="$3" '
		BEGIN { n = split(ports, a, ","); for (i = 1; i <= n; i++) want[a[i]] = 1
			pat = key == "tx" ? "Tx-pps:" : "Rx-pps:" }
		/NIC statistics for port/ { port = $(NF-1); seen[port]++; k = seen[port] }
		index($0, pat) && (port in want) { sum[k] += $2; if (k > max) max = k }
		END { for (i = 1; i <= max; i++) printf "%.6f\n", sum[i] / 1e6 }'
}
# tp_totals LOG: "rx tx" summed over the ports of testpmd's final "Forward
# statistics for port N" blocks (printed when it is stopped), or nothing.
tp_totals() {
	strip_ansi <"$1" | awk '
		/Forward statistics for port/ { inb = 1; n++; next }
		/Accumulated forward statistics/ { inb = 0 }
		inb && /RX-packets:/ { rx += $2 }
		inb && /TX-packets:/ { tx += $2 }
		END { if (n) print rx + 0, tx + 0 }'
}
# fwd_totals LOG: "rx tx" from vhu-fwd's "total:" line, or nothing.
fwd_totals() { sed -n 's/^total: rx-pkts \([0-9]*\) tx-pkts \([0-9]*\) .*/\1 \2/p' "$1" | tail -1; }
# sw_totals FILE: "rx tx" summed over the ports of `vhu-ctl stats`.
sw_totals() {
	awk '/^port / { for (i = 3; i < NF; i++) { if ($i == "rx_packets") rx += $(i+1); if ($i == "tx_packets") tx += $(i+1) }; n++ }
		END { if (n) print rx + 0, tx + 0 }' "$1"
}
# fe_features LOG: the feature words the virtio-user frontend negotiated,
# one per device (DPDK's "features after negotiate = HEX" debug line of
# pmd.net.virtio.init, enabled in fe()): the same words either backend got.
fe_features() { strip_ansi <"$1" | sed -n 's/.*features after negotiate = \([0-9a-fA-F]*\).*/\1/p'; }
# ovs_pmd_totals FILE: "rx rx" from `ovs-appctl dpif-netdev/pmd-stats-show`
# ("packets received", summed over its threads). OVS 3.1 reads a vhost
# port's own counters from the live device, so they read 0 once the
# frontend has gone; the PMD's count stays. It has no transmit count: the
# received count stands in for it, so that downstream of OVS the frontend
# may not receive more than OVS took (duplicates), while OVS's own drops
# are not told apart from what the loop held.
ovs_pmd_totals() {
	awk '/packets received:/ { rx += $NF; n++ } END { if (n) print rx + 0, rx + 0 }' "$1"
}
