# Sourced by tests/peers/*.sh. Conventions: exit 0 pass, 77 skip (after
# `skip "why"`), anything else fail. Print "RESULT ..." lines for figures
# the runner should show. Every process a test starts is killed on exit.
set -u
VHU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VHU_BUILD=${VHU_BUILD:-$VHU_ROOT/build}
VHU_FWD=$VHU_BUILD/tools/vhu-fwd/vhu-fwd
VHU_CACHE=${VHU_CACHE:-$VHU_ROOT/build/cache}
mkdir -p "$VHU_CACHE"
T=$(mktemp -d /tmp/vhu-test.XXXXXX)
_pids=()

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "-- $*"; }
result() { echo "RESULT $*"; }

# bg NAME CMD...: start CMD in the background, output to $T/NAME.log.
bg() { local n=$1; shift; "$@" >"$T/$n.log" 2>&1 & _pids+=($!); eval "PID_$n=$!"; }

cleanup() {
	local p
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	# A DPDK process killed before its own cleanup leaves its hugepage
	# files behind, holding their pages: remove the ones of this test's
	# --file-prefix (DPDK_FILE_PREFIX, a prefix no other test uses).
	if [ -n "${DPDK_FILE_PREFIX:-}" ]; then rm -f /dev/hugepages/"$DPDK_FILE_PREFIX"*; fi
	if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
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
