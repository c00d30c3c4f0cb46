# Sourced by bench/run.sh: process handling, the frontends and backends of
# each scenario, and the parsers for their rate output.
# (Not executable: bench/run.sh is the entry point.)

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
