# SPDX-License-Identifier: BSD-3-Clause
# Sourced by tests/peers/*.sh. Conventions: exit 0 pass, 77 skip (after
# `skip "why"`), anything else fail. Print "RESULT ..." lines for figures
# the runner should show. Every process a test starts is stopped on exit;
# our own programs (started with bg from $VHU_BUILD) are stopped with SIGINT
# and must exit 0 without leaking packet segments (a pool destroyed with
# segments in use), and no sanitizer may have written a report: else a test
# that passed fails (see cleanup).
set -u
VHU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VHU_BUILD=${VHU_BUILD:-$VHU_ROOT/build}
VHU_FWD=$VHU_BUILD/tools/vhu-fwd/vhu-fwd
VHU_SWITCH=$VHU_BUILD/switch/vhu-switch/vhu-switch
VHU_CTL=$VHU_BUILD/switch/vhu-ctl/vhu-ctl
VHU_CACHE=${VHU_CACHE:-$VHU_ROOT/build/cache}
mkdir -p "$VHU_CACHE"
T=$(mktemp -d /tmp/vhu-test.XXXXXX)
_pids=()     # every bg process
_own=()      # "PID NAME" of our own programs among them, in start order
_signalled=" " _judged=" "  # "PID:SIG" the test sent / pids already judged

# Sanitized processes write their reports to files here (tests/run.sh sets
# one folder per test under build/test-logs/san/); cleanup fails on any.
VHU_SAN_DIR=${VHU_SAN_DIR:-$T/san}
mkdir -p "$VHU_SAN_DIR"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$VHU_SAN_DIR/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$VHU_SAN_DIR/ubsan"
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$VHU_SAN_DIR/tsan"
# A sanitized program needs longer to exit (LeakSanitizer's scan at exit).
_opts=$VHU_BUILD/meson-info/intro-buildoptions.json
if [ -f "$_opts" ] && ! grep -q '"name": "b_sanitize", "value": "none"' "$_opts"; then
	VHU_STOP_GRACE=${VHU_STOP_GRACE:-10}
fi
VHU_STOP_GRACE=${VHU_STOP_GRACE:-3}

skip() { echo "SKIP: $*"; _exit_rc=77; exit 77; }
fail() { echo "FAIL: $*"; _exit_rc=1; exit 1; }
note() { echo "-- $*"; }
result() { echo "RESULT $*"; }

# bg NAME CMD...: start CMD in the background, output to $T/NAME.log. CMD
# is our own program when a word of it is a path under $VHU_BUILD/tools,
# $VHU_BUILD/switch or $VHU_BUILD/tests (wrappers such as timeout, taskset or env pass SIGINT on
# or exec it).
bg() {
	local n=$1 a; shift
	"$@" >"$T/$n.log" 2>&1 &
	_pids+=($!); eval "PID_$n=$!"
	for a; do
		case $a in "$VHU_BUILD"/tools/*|"$VHU_BUILD"/switch/*|"$VHU_BUILD"/tests/*) _own+=("$! $n"); break ;; esac
	done
}

# A program that dies of a signal the test itself sent it (kill -9 to
# simulate a crash, SIGINT to a vhu-ctl capture) died on purpose: remember
# "PID:SIGNUM" for each signal the test sends.
kill() {
	local a sig=15 next=0
	for a; do
		if [ $next = 1 ]; then sig=$(_signum "$a"); next=0; continue; fi
		case $a in
		-l|-L) break ;;
		-s|-n) next=1 ;;
		-*) sig=$(_signum "${a#-}") ;;
		[0-9]*) [ "$sig" = 0 ] || _signalled+="$a:$sig " ;;
		esac
	done
	builtin kill "$@"
}
_signum() { case $1 in [0-9]*) echo "$1" ;; *) builtin kill -l "${1#SIG}" 2>/dev/null || echo 0 ;; esac; }

# _stop_judge PID NAME: stop our program with SIGINT (SIGKILL after
# VHU_STOP_GRACE s) and take its status. Prints and returns 1 when it did not
# exit 0 by itself: a crash, a signal, an error status, or no stop in time.
_stop_judge() {
	local p=$1 n=$2 i st why=
	case $_judged in *" $p "*) return 0 ;; esac
	_judged+="$p "
	builtin kill -INT "$p" 2>/dev/null
	for ((i = 0; i < VHU_STOP_GRACE * 10; i++)); do
		builtin kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if builtin kill -0 "$p" 2>/dev/null; then
		builtin kill -9 "$p" 2>/dev/null
		why="did not stop within ${VHU_STOP_GRACE} s of SIGINT"
	fi
	builtin wait "$p" 2>/dev/null; st=$?
	[ "$st" -gt 128 ] && case $_signalled in *" $p:$((st - 128)) "*) return 0 ;; esac
	if [ -z "$why" ] && [ "$st" != 0 ]; then
		if [ "$st" -gt 128 ]; then why="died of signal $((st - 128)) ($(builtin kill -l $((st - 128)) 2>/dev/null))"
		else why="exited with status $st"; fi
	fi
	# Packet segments live in pools, out of the leak checker's sight: a
	# pool destroyed with segments in use is a leak.
	if [ -z "$why" ] && grep -q "destroyed with [1-9][0-9]* of [0-9]* segments in use" "$T/$n.log" 2>/dev/null; then
		why="leaked packet segments ($(grep -o "pool .*destroyed with [0-9]* of [0-9]* segments in use" "$T/$n.log" | head -3 | tr '\n' ';'))"
	fi
	[ -z "$why" ] && return 0
	echo "FAIL: $n (pid $p) $why; last lines of its log:"
	tail -20 "$T/$n.log" 2>/dev/null | sed 's/^/   /'
	return 1
}

# stop_own NAME: stop our program NAME (started with bg) now and fail the
# test unless it exits 0 on SIGINT. For tests that restart a backend.
stop_own() {
	local p; eval "p=\${PID_$1:-}"
	[ -n "$p" ] || fail "stop_own: no process $1"
	_stop_judge "$p" "$1" || fail "$1 did not stop cleanly"
}

# _san_reports: print every sanitizer report file; 1 if there was one.
_san_reports() {
	local f r=0
	for f in "$VHU_SAN_DIR"/*; do
		[ -s "$f" ] || continue
		echo "FAIL: sanitizer report $f:"; head -80 "$f"; r=1
	done
	return $r
}

cleanup() {
	local rc=$? p i bad=0
	[ -n "${_exit_rc:-}" ] && rc=$_exit_rc
	# Others first (QEMU, testpmd): our backends then see the peer go away
	# as in real use, and are stopped last, frontends before backends.
	for p in "${_pids[@]}"; do
		case " ${_own[*]%% *} " in *" $p "*) ;; *) builtin kill "$p" 2>/dev/null ;; esac
	done
	sleep 0.2
	for p in "${_pids[@]}"; do
		case " ${_own[*]%% *} " in *" $p "*) ;; *) builtin kill -9 "$p" 2>/dev/null ;; esac
	done
	for ((i = ${#_own[@]} - 1; i >= 0; i--)); do
		# shellcheck disable=SC2086 # "PID NAME": the two arguments
		_stop_judge ${_own[i]} || bad=1
	done
	builtin wait 2>/dev/null
	_san_reports || bad=1
	# A DPDK process killed before its own cleanup leaves its hugepage
	# files behind, holding their pages: remove the ones of this test's
	# --file-prefix (DPDK_FILE_PREFIX, a prefix no other test uses).
	if [ -n "${DPDK_FILE_PREFIX:-}" ]; then rm -f /dev/hugepages/"$DPDK_FILE_PREFIX"*; fi
	if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
	# A failing test stays failing and a skip stays a skip (said above).
	if [ $bad = 1 ] && [ "$rc" = 0 ]; then echo "FAIL: see above (at exit)"; exit 1; fi
}
trap cleanup EXIT

# wait_for TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local t=$1; shift; local end=$(( $(date +%s%N) + t * 1000000000 ))
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

strip_ansi() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }

need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (make test installs it with apt)"; }

# Hugepages for DPDK when we can have them; sets HUGE_OPTS for testpmd.
setup_hugepages() {
	HUGE_OPTS="--no-huge"
	if [ "$(id -u)" = 0 ]; then
		local cur; cur=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
		[ "$cur" -ge 1024 ] || echo 1024 > /proc/sys/vm/nr_hugepages 2>/dev/null
		mkdir -p /dev/hugepages
		mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null
		if mountpoint -q /dev/hugepages && [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ]; then HUGE_OPTS=""; fi
	fi
}
