#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The test runner behind `make test`. Runs, in order:
#   unit, integ  C tests through meson in build/, build-asan/ (ASan+UBSan)
#                and build-tsan/ (TSan: only tests in the 'threads' suite)
#   cross        the unit tests of build-aarch64/ (make cross) under qemu-user
#   peers        tests/peers/*.sh against real DPDK testpmd and QEMU guests
#   peers-asan   the peer tests that drive our own programs hardest, again,
#                with those programs built with ASan+UBSan (build-asan/):
#                any sanitizer report or leak at exit fails them
#   peers-tsan   vhu-switch tests where vhu-ctl changes ports, flows and
#                captures under traffic, built with TSan (build-tsan/)
# A peer script exits 0 on pass, 77 on skip (it must say why, loudly), and
# anything else on failure. Output of each goes to build/test-logs/.
# Sanitizers: every test runs with halt_on_error and its sanitizer reports
# written to files under build/test-logs/san/ (log_path); a report there or
# in a log fails the test even when the test itself passed.
# Select groups with VHU_TEST_GROUPS="unit integ peers" and peer scripts
# with VHU_PEER_FILTER=regex. VHU_TEST_STRICT=1 (CI) fails the run when
# anything was skipped: make test installs every peer, so a skip there
# means a peer went missing (as dpdk-testpmd did when it moved package).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGS=$ROOT/build/test-logs
mkdir -p "$LOGS"
groups=${VHU_TEST_GROUPS:-"unit integ cross peers peers-asan peers-tsan"}
pass=0 fail=0 skip=0 peer_groups=0 peer_ran=0
failed=()
# Ours first: options the caller gives come later and win.
export ASAN_OPTIONS="halt_on_error=1:print_stacktrace=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=0${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
SAN_RE='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer'

# san_dir NAME: a fresh, empty folder for the sanitizer reports of one test.
san_dir() { local d=$LOGS/san/$1; rm -rf "$d"; mkdir -p "$d"; echo "$d"; }

# san_check DIR LOG...: 1 (and the reports printed) if DIR holds a report
# file or a LOG contains a sanitizer report.
san_check() {
	local d=$1 f r=0; shift
	for f in "$d"/*; do
		[ -s "$f" ] || continue
		echo "      sanitizer report $f:"; head -40 "$f" | sed 's/^/      /'; r=1
	done
	for f in "$@"; do
		[ -f "$f" ] && grep -qE "$SAN_RE" "$f" || continue
		echo "      sanitizer report in $f:"; grep -m5 -E "$SAN_RE" "$f" | sed 's/^/      /'; r=1
	done
	return $r
}

meson_suite() { # meson_suite BUILDDIR SUITE-ARGS... : add meson's counts
	local b=$1; shift
	[ -f "$b/build.ninja" ] || { echo "== $b: not built, skipped"; skip=$((skip+1)); return; }
	local tag; tag=meson-$(basename "$b")-${*: -1}
	local log="$LOGS/$tag.log" sd; sd=$(san_dir "$tag")
	echo "== meson test in $b $*"
	# testlog (all output, also of tests that passed) under a name of ours.
	ASAN_OPTIONS=$ASAN_OPTIONS:log_path=$sd/asan UBSAN_OPTIONS=$UBSAN_OPTIONS:log_path=$sd/ubsan \
	TSAN_OPTIONS=$TSAN_OPTIONS:log_path=$sd/tsan \
		meson test -C "$b" --no-rebuild --print-errorlogs --logbase "vhu-$tag" "$@" >"$log" 2>&1
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
	# meson counts a test ok on exit status 0: a report it printed or wrote
	# (one that did not end the program) fails the run of the suite.
	if ! san_check "$sd" "$log" "$b/meson-logs/vhu-$tag.txt" && [ "$f" = 0 ]; then
		f=1; ok=$((ok > 0 ? ok - 1 : 0))
	fi
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
	cross)
		# Run by meson through the cross file's exe_wrapper (qemu-user).
		if [ -f build-aarch64/build.ninja ] && ! command -v qemu-aarch64 >/dev/null; then
			echo "== build-aarch64: no qemu-aarch64 (scripts/ensure-deps.sh cross), skipped"
			skip=$((skip+1)); continue
		fi
		meson_suite build-aarch64 --suite unit
		;;
	peers|peers-asan|peers-tsan)
		prefix= list=(tests/peers/*.sh) sanb=
		case $g in
		peers-asan)
			# the peer tests that drive our own programs hardest
			sanb=build-asan prefix=asan:
			sel=${VHU_ASAN_PEERS:-testpmd_loop testpmd_packed testpmd_client fe_vs_dpdk qemu_ping qemu_ping_packed qemu_ping_iommu switch_iommu switch_fe switch_qemu switch_mq switch_reconnect switch_soak switch_tap switch_capture switch_flow switch_quiesce switch_tap_tcp switch_qemu_tcp switch_testpmd_tso switch_vlan_fe switch_vxlan switch_db switch_memhotplug switch_restart_qemu switch_afxdp switch_ops switch_libvirt switch_zc_rewrite switch_zc_del switch_limits switch_iommu_disable} ;;
		peers-tsan)
			# vhu-switch's PMD and control threads while vhu-ctl changes
			# ports and flows under traffic (switch_afxdp: afxdp ports removed
			# and added under traffic; switch_zc_del: a zero-copy port
			# deleted while the PMD holds its frames)
			sanb=build-tsan prefix=tsan:
			sel=${VHU_TSAN_PEERS:-switch_fe switch_flow switch_capture switch_tap_tcp switch_vlan_fe switch_afxdp switch_zc_del} ;;
		esac
		if [ -n "$sanb" ]; then
			[ -f $sanb/build.ninja ] || { echo "== $sanb: not built, $g skipped"; skip=$((skip+1)); continue; }
			list=()
			for n in $sel; do list+=("tests/peers/$n.sh"); done
		fi
		peer_groups=$((peer_groups+1))
		for t in "${list[@]}"; do
			name=$prefix$(basename "$t" .sh)
			if [ -n "${VHU_PEER_FILTER:-}" ] && ! [[ $(basename "$t" .sh) =~ $VHU_PEER_FILTER ]]; then continue; fi
			[ -e "$t" ] || { echo "FAIL  $name: no such test $t"; fail=$((fail+1)); failed+=("$name"); continue; }
			peer_ran=$((peer_ran+1))
			log="$LOGS/peer-${name/:/-}.log"
			sd=$(san_dir "peer-${name/:/-}")
			start=$(date +%s)
			if [ -n "$sanb" ]; then
				# No quarantine: RSS checks (soak) stay meaningful; leaks are
				# LeakSanitizer's job at exit.
				VHU_BUILD=$ROOT/$sanb VHU_SAN_DIR=$sd ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 \
					timeout -k 10 900 bash "$t" >"$log" 2>&1
			else
				VHU_SAN_DIR=$sd timeout -k 10 900 bash "$t" >"$log" 2>&1
			fi
			rc=$?
			dur=$(( $(date +%s) - start ))
			# A sanitizer report fails the test even if the script carried on.
			if [ "$rc" != 77 ] && ! san_check "$sd" "$log"; then rc=1; fi
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

# A peer filter that selects no test in any group is a mistake, not a pass.
if [ -n "${VHU_PEER_FILTER:-}" ] && [ "$peer_groups" -gt 0 ] && [ "$peer_ran" = 0 ]; then
	echo "FAIL  VHU_PEER_FILTER='$VHU_PEER_FILTER' selects no peer test"; fail=$((fail+1)); failed+=("peer-filter")
fi
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
if [ "${VHU_TEST_STRICT:-0}" = 1 ] && [ "$skip" != 0 ]; then
	echo "VHU_TEST_STRICT: $skip skipped; every test must run here"; exit 1
fi
[ "$fail" = 0 ]
