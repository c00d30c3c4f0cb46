#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch --zero-copy with a guest that rewrites its transmit buffers
# while the switch holds them (tests/integ/zc_rewrite.c: three in-tree
# frontends on ports a, b, c; A sends to B while rewriting every buffer's
# destination to C and back). Checked: no frame reaches a port other than
# the one its delivered header names, B got A's frames, and (reported)
# how many frames at B had their payload spoiled after the switch decided
# on them. Then the same with
# --no-zero-copy for the count side by side.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
RW=$VHU_BUILD/tests/integ/zc_rewrite
[ -x "$RW" ] || skip "zc_rewrite is not built ($RW)"

for mode in --zero-copy --no-zero-copy; do
	sw_start "$mode" --port vhost-user:a --port vhost-user:b --port vhost-user:c
	for p in a b c; do wait_for 5 test -S "$T/$p" || fail "no socket $T/$p"; done
	timeout 30 "$RW" "$T" 3 >"$T/rw.log" 2>&1; rc=$?
	cat "$T/rw.log"
	[ $rc = 0 ] || { sw_dump; fail "zc_rewrite $mode failed (rc $rc)"; }
	line=$(grep '^zc_rewrite:' "$T/rw.log")
	result "$mode: $line"
	stop_own sw
	rm -f "$CTL"
done
echo PASS
