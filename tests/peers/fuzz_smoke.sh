#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets (scripts/fuzz.sh, clang with ASan+UBSan) and
# runs each for a bounded time (FUZZ_SMOKE_SECONDS, default 20) from its
# seed corpus; fails on any crash, leak, sanitizer report or timeout.
# Long runs: docs/fuzzing.md.
. "$(dirname "$0")/../lib/common.sh"
command -v clang >/dev/null 2>&1 || skip "clang is not installed (make fuzz installs it)"
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' >"$T/probe.c"
clang -fsanitize=fuzzer "$T/probe.c" -o "$T/probe" 2>/dev/null ||
	skip "clang cannot link libFuzzer (libclang-rt-dev missing; make fuzz installs it)"
secs=${FUZZ_SMOKE_SECONDS:-20}
FUZZ_OUT=${FUZZ_OUT:-$VHU_ROOT/build/fuzz} FUZZ_SECONDS=$secs \
	"$VHU_ROOT/scripts/fuzz.sh" >"$T/fuzz.log" 2>&1
rc=$?
cat "$T/fuzz.log"
for t in fuzz_msg fuzz_split fuzz_packed; do
	execs=$(sed -n "s/^ *$t: stat::number_of_executed_units: *//p" "$T/fuzz.log")
	result "$t: ${execs:-?} inputs in ${secs}s, $(grep -q "^PASS $t" "$T/fuzz.log" && echo no crash || echo FAILED)"
done
[ $rc = 0 ] || fail "a fuzz target crashed or did not build (rc $rc)"
echo PASS
