#!/usr/bin/env bash
# The test runner behind `make test`. Runs, in order:
#   unit, integ  C tests through meson in build/, build-asan/ (ASan+UBSan)
#                and build-tsan/ (TSan: only tests in the 'threads' suite)
#   peers        tests/peers/*.sh against real DPDK testpmd and QEMU guests
#   peers-asan   the peer tests that drive our own programs hardest, again,
#                with those programs built with ASan+UBSan (build-asan/):
#                any sanitizer report or leak at exit fails them
# A peer script exits 0 on pass, 77 on skip (it must say why, loudly), and
# anything else on failure. Output of each goes to build/test-logs/.
# Select groups with VHU_TEST_GROUPS="unit integ peers" and peer scripts
# with VHU_PEER_FILTER=regex. VHU_TEST_STRICT=1 (CI) fails the run when
# anything was skipped: make test installs every peer, so a skip there
# means a peer went missing (as dpdk-testpmd did when it moved package).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGS=$ROOT/build/test-logs
mkdir -p "$LOGS"
groups=${VHU_TEST_GROUPS:-"unit integ peers peers-asan"}
pass=0 fail=0 skip=0
failed=()

meson_suite() { # meson_suite BUILDDIR SUITE-ARGS... : add meson's counts
	local b=$1; shift
	[ -f "$b/build.ninja" ] || { echo "== $b: not built, skipped"; skip=$((skip+1)); return; }
	local log="$LOGS/meson-$(basename "$b").log"
	echo "== meson test in $b $*"
	meson test -C "$b" --no-rebuild --print-errorlogs "$@" >"$log" 2>&1
	local ok f sk to
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	sk=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	ok=${ok:-0} f=${f:-0} sk=${sk:-0} to=${to:-0}
	if [ "$ok" = 0 ] && [ "$f" = 0 ]; then
		if grep -q "No tests defined\|No suitable tests" "$log"; then
			echo "   (no tests in this selection)"; return
		fi
		f=1
	fi
	f=$((f + to))
	pass=$((pass + ok)); fail=$((fail + f)); skip=$((skip + sk))
	grep -E '^ *[0-9]+/[0-9]+ ' "$log" | sed 's/^/   /'
	if [ "$f" != 0 ]; then failed+=("meson:$b"); tail -60 "$log"; fi
}

for g in $groups; do
	case $g in
	unit|integ)
		meson_suite build --suite "$g"
		meson_suite build-asan --suite "$g"
		[ "$g" = integ ] && meson_suite build-tsan --suite threads
		;;
	peers|peers-asan)
		prefix= list=(tests/peers/*.sh)
		if [ "$g" = peers-asan ]; then
			[ -f build-asan/build.ninja ] || { echo "== build-asan: not built, peers-asan skipped"; skip=$((skip+1)); continue; }
			prefix=asan: list=()
			for n in ${VHU_ASAN_PEERS:-testpmd_loop testpmd_packed testpmd_client fe_vs_dpdk qemu_ping qemu_ping_packed switch_fe switch_qemu switch_mq switch_reconnect switch_soak switch_tap switch_capture switch_flow}; do
				list+=("tests/peers/$n.sh")
			done
		fi
		for t in "${list[@]}"; do
			[ -e "$t" ] || continue
			name=$prefix$(basename "$t" .sh)
			if [ -n "${VHU_PEER_FILTER:-}" ] && ! [[ $(basename "$t" .sh) =~ $VHU_PEER_FILTER ]]; then continue; fi
			log="$LOGS/peer-${name/:/-}.log"
			start=$(date +%s)
			if [ "$g" = peers-asan ]; then
				# No quarantine: RSS checks (soak) stay meaningful; leaks are
				# LeakSanitizer's job at exit.
				VHU_BUILD=$ROOT/build-asan ASAN_OPTIONS=quarantine_size_mb=0:detect_leaks=1 \
				UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
					timeout -k 10 900 bash "$t" >"$log" 2>&1
			else
				timeout -k 10 900 bash "$t" >"$log" 2>&1
			fi
			rc=$?
			dur=$(( $(date +%s) - start ))
			# A sanitizer report fails the test even if the script carried on.
			if [ "$g" = peers-asan ] && [ "$rc" != 77 ] &&
			   grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"; then
				echo "      sanitizer report in $log"; rc=1
			fi
			case $rc in
			0)  pass=$((pass+1)); echo "PASS  $name (${dur}s)"; grep -E '^RESULT' "$log" | sed 's/^/      /' ;;
			77) skip=$((skip+1)); echo "SKIP  $name: $(grep -E '^SKIP' "$log" | tail -1)" ;;
			*)  fail=$((fail+1)); failed+=("$name"); echo "FAIL  $name (rc=$rc, ${dur}s), last lines of $log:"; tail -40 "$log" | sed 's/^/      /' ;;
			esac
		done
		;;
	*) echo "unknown test group $g"; fail=$((fail+1)) ;;
	esac
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
if [ "${VHU_TEST_STRICT:-0}" = 1 ] && [ "$skip" != 0 ]; then
	echo "VHU_TEST_STRICT: $skip skipped; every test must run here"; exit 1
fi
[ "$fail" = 0 ]
