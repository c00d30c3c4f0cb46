#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets in tests/fuzz/ with clang (fuzzer + ASan +
# UBSan, every UBSan finding fatal), linking the library's sources
# directly, and runs each for FUZZ_SECONDS (default 60) on its seed corpus.
# New inputs go to $FUZZ_OUT/corpus/<target> (the seeds in
# tests/fuzz/corpus/<target> are only read); crashes to $FUZZ_OUT/crashes.
#
#   scripts/fuzz.sh                  build and run every target
#   scripts/fuzz.sh fuzz_msg         only that one
#   FUZZ_SECONDS=3600 FUZZ_JOBS=2 scripts/fuzz.sh fuzz_split
#   FUZZ_BUILD_ONLY=1 scripts/fuzz.sh
# Exit status: 0 when no target crashed, 1 otherwise. See docs/fuzzing.md.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
CC=${FUZZ_CC:-clang}
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
ALL="fuzz_msg fuzz_split fuzz_packed"
TARGETS=${*:-$ALL}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -DVHU_BUILDING_LIB -Iinclude -Isrc -Wall -Wextra -Werror $SAN ${FUZZ_CFLAGS_EXTRA:-}"

command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found (make fuzz installs it)"; exit 2; }
mkdir -p "$OUT/obj" "$OUT/crashes"

# The library, instrumented for coverage (fuzzer-no-link), rebuilt when a
# source or header is newer than its object.
objs=()
newest_hdr=$(find include src -name '*.h' -printf '%T@\n' | sort -n | tail -1)
for src in src/*/*.c; do
	[ "$(basename "$(dirname "$src")")" = frontend ] && continue
	# vhu_version() needs the build's generated <vhu/version.h>; no target calls it.
	[ "$src" = src/common/version.c ] && continue
	obj=$OUT/obj/$(echo "${src#src/}" | tr / _).o
	objs+=("$obj")
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
	   awk -v a="$newest_hdr" -v b="$(stat -c %Y "$obj")" 'BEGIN{exit !(a > b)}'; then
		$CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || exit 2
	fi
done

rc=0
for t in $TARGETS; do
	[ -f "tests/fuzz/$t.c" ] || { echo "fuzz.sh: no target $t"; exit 2; }
	$CC $CFLAGS -fsanitize=fuzzer "tests/fuzz/$t.c" "${objs[@]}" -lpthread -o "$OUT/$t" || exit 2
	echo "built $OUT/$t"
	[ -n "${FUZZ_BUILD_ONLY:-}" ] && continue
	mkdir -p "$OUT/corpus/$t" "tests/fuzz/corpus/$t"
	case $t in
	fuzz_msg) maxlen=8192 ;;
	*) maxlen=20000 ;;
	esac
	echo "== $t for ${SECS}s"
	# -rss_limit: the targets map small memfds only; anything big is a bug.
	(cd "$OUT/crashes" && "$OUT/$t" -max_total_time="$SECS" -max_len=$maxlen \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-jobs="$JOBS" -workers="$JOBS" \
		"$OUT/corpus/$t" "$ROOT/tests/fuzz/corpus/$t") >"$OUT/$t.log" 2>&1
	r=$?
	[ "$JOBS" -gt 1 ] && cat "$OUT"/crashes/fuzz-*.log >>"$OUT/$t.log" 2>/dev/null
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' "$OUT/$t.log" | sed "s/^/   $t: /"
	if [ $r -ne 0 ] || grep -q 'ERROR: AddressSanitizer\|runtime error:\|deadly signal\|ERROR: libFuzzer' "$OUT/$t.log"; then
		echo "FAIL $t: see $OUT/$t.log; inputs in $OUT/crashes"
		grep -m5 -E 'ERROR|runtime error|SUMMARY' "$OUT/$t.log"
		rc=1
	else
		echo "PASS $t"
	fi
done
exit $rc
