# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by bench/run.sh, cost.sh, tcp_tap.sh, gso_fe.sh, vxlan.sh and afxdp.sh: process
# handling, CPU placement and load, what each leaves for its report,
# OVS-DPDK start-up, the testpmd frontend, and the parsers for their rate
# output.
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

# save_cmds KEY NAMES...: the command lines of a run, $W made generic, to
# $OUT/cmds/KEY-NAME.cmd for the report.
save_cmds() {
	local k=$1 n; shift
	mkdir -p "$OUT/cmds"
	for n in "$@"; do [ -f "$W/$n.cmd" ] && sed "s#$W#\$W#g" "$W/$n.cmd" >"$OUT/cmds/$k-$n.cmd"; done
	return 0
}

# keep_logs KEY OVSDIR NAMES...: the tails of a failed run's $W/NAME.log
# to $OUT/failed/KEY-NAME.log, and OVS's own log (OVSDIR/vswitchd.log,
# where its start-up failures are told) to KEY-ovs.log.
keep_logs() {
	local k=$1 od=$2 n; shift 2
	mkdir -p "$OUT/failed"
	for n in "$@"; do [ -f "$W/$n.log" ] && tail -200 "$W/$n.log" >"$OUT/failed/$k-$n.log"; done
	[ -f "$od/vswitchd.log" ] && tail -200 "$od/vswitchd.log" >"$OUT/failed/$k-ovs.log"
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

# Reps a side and one-second stats periods a run, the first WARMUP of them
# left out; run.sh passes its own on to tcp_tap.sh, gso_fe.sh and vxlan.sh.
REPS=${BENCH_REPS:-5}; SECS=${BENCH_SECONDS:-6}; WARMUP=${BENCH_WARMUP:-1}

# ---- CPUs -----------------------------------------------------------------
# The switch or backend under test polls on CPU 0, whatever feeds it
# (frontends, iperf3) on the last CPU, so that the two do not take turns
# on one CPU (on a single CPU they must).
CPU_BE=0
CPU_FE=$(( $(nproc) - 1 ))
[ "$CPU_FE" -ge 1 ] || CPU_FE=0

# cpu_snap: "cpuN busy total" per CPU from /proc/stat (busy: user, nice,
# system, irq, softirq; total adds idle, iowait, steal).
cpu_snap() { awk '/^cpu[0-9]/ { print $1, $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# cpu_busy A B N: CPU N's busy fraction between snapshots A and B.
cpu_busy() {
	awk -v c="cpu$3" '$1 == c { if (NR == FNR) { b = $2; t = $3 } else { b = $2 - b; t = $3 - t } }
		END { if (t > 0) printf "%.2f", b / t; else print "-" }' "$1" "$2"
}

# rep_order REP SETUPS: the setups in their order on odd reps, reversed on
# even ones, so that no setup always runs first (or after the same one).
rep_order() {
	if [ $(($1 % 2)) = 1 ]; then echo "$2"; else tr ' ' '\n' <<<"$2" | tac | tr '\n' ' '; fi
}

# each_run FN "ITEMS" "SETUPS": FN SETUP ITEM REP for every rep, item and
# setup, the setups in rep_order: the loop of every side-by-side script.
each_run() {
	local fn=$1 items=$2 setups=$3 rep it s
	for ((rep = 1; rep <= REPS; rep++)); do
		for it in $items; do
			for s in $(rep_order "$rep" "$setups"); do "$fn" "$s" "$it" "$rep"; done
		done
	done
}

# ---- placement (issue 23) -------------------------------------------------
# The host moves the two vCPUs between cores that share a cache and cores
# that do not, within a second, and every row's rate follows (bench/notes.md).
# vhu-c2c (bench/c2c_probe.c) times a cache line's round trip between
# CPU_BE and CPU_FE; a run is labelled by the probes before and after it.
VHU_C2C=${VHU_C2C:-$VHU_BUILD/bench/vhu-c2c}
C2C_FAST=${BENCH_C2C_FAST:-250}   # ns a round trip: a shared cache below this
C2C_SLOW=${BENCH_C2C_SLOW:-350}   # and none above this

# c2c: one probe, ns a round trip, or "-" when it cannot run.
c2c() {
	[ -x "$VHU_C2C" ] && [ "$CPU_BE" != "$CPU_FE" ] || { echo -; return; }
	timeout -k 1 3 "$VHU_C2C" -a "$CPU_BE" -b "$CPU_FE" -t "${BENCH_C2C_SECONDS:-0.1}" 2>/dev/null || echo -
}

# c2c_tick: one short probe taken while a run is going, at a real-time
# priority so that it runs at once rather than when the pollers yield
# (they never do), "-" when it cannot. On 2026-12-07 the placement changed
# every 0.2-3 s (bench/cache_lines.md), so probes only around a run missed
# most changes: measure() takes one every poll (0.2 s), and each period
# is labelled by the probes inside it (period_labels). 5 ms of both CPUs a
# poll, the same for both sides of a row.
c2c_tick() {
	[ -x "$VHU_C2C" ] && [ "$CPU_BE" != "$CPU_FE" ] || { echo -; return; }
	timeout -k 1 2 chrt -f 1 "$VHU_C2C" -a "$CPU_BE" -b "$CPU_FE" -t 0.005 2>/dev/null || echo -
}

# period_labels PROBES: from steady_periods' lines on stdin, lines
# "PERIOD MPPS LABEL PROBES LOW-HIGH" (the probes' count and range in ns).
# PROBES holds "N NS" lines: a probe taken when N periods had printed,
# so inside period N + 1 ("-" for one that failed: left out). A period is
# fast or slow when it holds at least one probe and all of them say so,
# mixed otherwise, unknown with none.
period_labels() {
	awk -v fast="$C2C_FAST" -v slow="$C2C_SLOW" -v pf="$1" '
		BEGIN {
			while ((getline l < pf) > 0) {
				split(l, a, " "); k = a[1] + 1
				if (a[2] !~ /^[0-9.]+$/) continue
				np[k]++
				if (!(k in lo) || a[2] + 0 < lo[k]) lo[k] = a[2] + 0
				if (a[2] + 0 > hi[k]) hi[k] = a[2] + 0
				if (a[2] + 0 < fast) nf[k]++; else if (a[2] + 0 > slow) ns[k]++
			}
		}
		{
			i = $1; l = "unknown"
			if (np[i]) l = nf[i] == np[i] ? "fast" : (ns[i] == np[i] ? "slow" : "mixed")
			printf "%d %s %s %d %s\n", i, $2, l, np[i], (i in lo) ? lo[i] "-" hi[i] : "-"
		}'
}

# placement NS...: fast or slow when every probe says so, mixed when they
# disagree or one falls between the two bounds, unknown without probes.
placement() {
	local x f=0 s=0 m=0
	for x in "$@"; do
		case $x in ''|-|*[!0-9.]*) echo unknown; return ;; esac
		if awk -v x="$x" -v b="$C2C_FAST" 'BEGIN { exit !(x < b) }'; then f=1
		elif awk -v x="$x" -v b="$C2C_SLOW" 'BEGIN { exit !(x > b) }'; then s=1
		else m=1; fi
	done
	if [ $m = 1 ] || [ $((f + s)) = 2 ]; then echo mixed
	elif [ $f = 1 ]; then echo fast
	elif [ $s = 1 ]; then echo slow
	else echo unknown; fi
}

# rate_jump: whether the rates on stdin (steady_window's) span more than BENCH_JUMP (1.6) x: the placement changed during the run
# (the two placements are 2-3x apart for every row that crosses cores).
rate_jump() {
	awk -v j="${BENCH_JUMP:-1.6}" '$1 > 0 { if (!n++ || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
		END { exit !(n > 1 && hi > lo * j) }'
}

# ---- what a bench script leaves for its report ----------------------------
# Each leaves in $OUT its runs (NAME_raw.csv, a line a run), the env file
# below, and the report's section with its CSV (NAME.md, NAME.csv).

# env_write NAME SECONDS T0 DIR... <LINES: $OUT/NAME.env, the KEY=VALUE
# lines its report reads: the shape of the runs (SECONDS as the report
# means them) and whether DPDK had hugepages; the script's own LINES;
# then seconds since T0, the date, and the commit measured, "+uncommitted"
# when the DIRs the numbers depend on differ from it.
env_write() {
	local name=$1 secs=$2 t0=$3; shift 3
	{
		printf 'reps=%s\nseconds=%s\nwarmup=%s\nhugepages=%s\n' "$REPS" "$secs" "$WARMUP" "$HUGE"
		cat
		echo "duration_s=$(( $(date +%s) - t0 ))"
		echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
		echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- "$@" 2>/dev/null || echo "+uncommitted")"
	} >"$OUT/$name.env"
}

# not_run NAME ROW TITLE WHY: no run at all. The section (NAME.md, headed
# TITLE) says WHY, so that an old one is not reported, and NAME's CSVs
# go; ROW names the row for the log. Exits 0.
not_run() {
	log "$1: $4; no $2 row"
	rm -f "$OUT/$1_raw.csv" "$OUT/$1.csv"
	printf '## %s\n\nNot run: %s.\n' "$3" "$4" >"$OUT/$1.md"
	exit 0
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

# ---- OVS-DPDK (PEERS.md's recipe) ------------------------------------------
OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
HAVE_OVS=1; [ -x "$OVS_VSWITCHD" ] && command -v ovs-vsctl >/dev/null || HAVE_OVS=0

# ovs_up DIR BOUND LCORE PIN [OTHER_CONFIG...]: ovsdb-server and
# ovs-vswitchd-dpdk, each in the foreground of its own timeout (bg), state
# in DIR; OVS's PMD on CPU_BE, DPDK's main lcore on CPU LCORE, the whole
# ovs-vswitchd under taskset -c PIN unless PIN is empty (tap ports are
# polled by its main thread, not by the PMD), in network namespace OVS_NS
# when that is set (the interfaces it is to own are there). OTHER_CONFIG (key=value) go
# in before ovs-vswitchd starts: userspace-tso-enable is read only then.
# Sets V, ovs-vsctl on this database. No bridge yet.
ovs_up() {
	local d=$1 bound=$2 lcore=$3 pin=$4 pinned=(); shift 4
	mkdir -p "$d"
	export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d
	ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema || return 1
	bg ovsdb "$bound" ovsdb-server --remote=punix:"$d/db.sock" --pidfile="$d/ovsdb.pid" \
		--unixctl="$d/ovsdb.ctl" "$d/conf.db"
	wait_for 10 test -S "$d/db.sock" || { log "ovsdb-server did not start"; return 1; }
	V=(ovs-vsctl --timeout=30 --db=unix:"$d/db.sock")
	prefix ovs
	local extra="--no-pci --file-prefix=$PFX" mem=(other_config:dpdk-socket-mem=512)
	[ "$HUGE" = 1 ] || { extra+=" --no-huge -m 1024"; mem=(); }
	[ -n "$pin" ] && pinned=(taskset -c "$pin")
	[ -n "${OVS_NS:-}" ] && pinned=(ip netns exec "$OVS_NS" "${pinned[@]}")
	"${V[@]}" --no-wait init
	"${V[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:dpdk-lcore-mask=$((1 << lcore)) other_config:pmd-cpu-mask=$((1 << CPU_BE)) \
		"${mem[@]}" other_config:dpdk-extra="$extra" "$@" || return 1
	bg vswitchd "$bound" "${pinned[@]}" "$OVS_VSWITCHD" unix:"$d/db.sock" --pidfile="$d/vswitchd.pid" \
		--log-file="$d/vswitchd.log" --unixctl="$d/vswitchd.ctl"
}

# ovs_vhost_ports DIR NPORTS TYPE: bridge br0 (netdev) with NPORTS ports
# vhu0.. (ofport 1..) of TYPE dpdkvhostuser (OVS listens on DIR/vhuN; the
# first two sockets are waited for) or dpdkvhostuserclient (OVS connects
# to DIR/vhuN and retries until the frontend listens: nothing to wait for).
ovs_vhost_ports() {
	local d=$1 np=$2 type=$3 i
	local add=(-- add-br br0 -- set bridge br0 datapath_type=netdev)
	for ((i = 0; i < np; i++)); do
		add+=(-- add-port br0 "vhu$i" -- set Interface "vhu$i" type="$type" ofport_request=$((i + 1)))
		[ "$type" = dpdkvhostuserclient ] && add+=(options:vhost-server-path="$d/vhu$i")
	done
	"${V[@]}" "${add[@]}" >"$W/vsctl.log" 2>&1 || { log "ovs-vsctl add-br/add-port failed"; cat "$W/vsctl.log" >&2; return 1; }
	[ "$type" = dpdkvhostuserclient ] && return 0
	for ((i = 0; i < np && i < 2; i++)); do
		wait_for 20 test -S "$d/vhu$i" || { log "OVS socket vhu$i did not appear"; return 1; }
	done
}

# ovs_down: ovs-vswitchd before its database, which it would otherwise
# retry while it shuts down.
ovs_down() { stop vswitchd; stop ovsdb; }

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

# steady_periods: from rates on stdin (Mpps per period), "PERIOD MPPS"
# (PERIOD counts from 1, the first line) for those of the steady window:
# the SECS periods from the first non-zero one, less the first WARMUP
# (traffic starts mid-period, and the rings fill). Later periods are
# ignored (for a backend that counts, the one in which the frontend was
# stopped is partial).
steady_periods() {
	awk -v warm="$WARMUP" -v secs="$SECS" '
		{ r[NR] = $1 + 0 }
		END {
			s = 0; for (i = 1; i <= NR; i++) if (r[i] > 0) { s = i; break }
			if (!s) exit
			e = s + secs - 1; if (e > NR) e = NR
			for (i = s + warm; i <= e; i++) print i, r[i]
		}'
}

# steady_window: the rates alone of steady_periods.
steady_window() { steady_periods | awk '{ print $2 }'; }

# steady: the mean over the steady window, "mpps nsamples", or nothing.
steady() {
	steady_window | awk '{ t += $1; n++ } END { if (n) printf "%.4f %d\n", t / n, n }'
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
# fwd_idle LOG FIRST LAST: the share of vhu-fwd's polling time spent in
# rounds that moved no packet (0-1; idle-cycles over busy- plus
# idle-cycles) from the end of its stats period FIRST - 1 to the end of
# LAST (the cumulative counts of its stats lines), or nothing. Near 1: the
# frontend, not the backend, set the pace of those periods.
fwd_idle() {
	awk -v a="$2" -v b="$3" '/^stats: / { n++
			for (i = 1; i < NF; i++) { if ($i == "busy-cycles") u[n] = $(i+1); if ($i == "idle-cycles") q[n] = $(i+1) } }
		END { u[0] = q[0] = 0; t = (u[b] + q[b]) - (u[a-1] + q[a-1])
			if (b <= n && a >= 1 && t > 0) printf "%.3f", (q[b] - q[a-1]) / t }' "$1"
}
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

# sw_counts FILE PORT:FIELD...: those counters of a `vhu-ctl stats --json`
# answer, "-" for each when it cannot be read.
sw_counts() {
	python3 -c '
import json, sys
try:
    ps = {p["name"]: p for p in json.load(open(sys.argv[1]))["ports"]}
    print(*[str(ps[p].get(k, "-")) for p, k in (a.split(":") for a in sys.argv[2:])])
except Exception:
    print(*["-"] * (len(sys.argv) - 2))' "$@"
}

# nsx NS CMD...: CMD in network namespace NS.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ifstat NS IF FIELD: a counter of IF in NS (sysfs of that namespace).
ifstat() { nsx "$1" cat "/sys/class/net/$2/statistics/$3" 2>/dev/null || echo 0; }
