#!/usr/bin/env bash
# vhu-fwd --interrupt sleeps when idle and wakes on the guest's kick: the
# in-tree frontend sends one packet after each 20 ms idle gap and times
# its echo (macswap). The median round trip must be under 1 ms (wake-up
# plus one forward), no packet lost; and while the device sits idle for
# 5 s, vhu-fwd uses under 2% of one CPU (from /proc/PID/stat).
. "$(dirname "$0")/../lib/common.sh"
LAT=$VHU_BUILD/tests/integ/wake_latency
[ -x "$VHU_FWD" ] && [ -x "$LAT" ] || skip "vhu-fwd or wake_latency not built"
SOCK=$T/vhu.sock
bg fwd "$VHU_FWD" --socket "$SOCK" --mode macswap --interrupt
wait_for 5 test -S "$SOCK" || { cat "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }

# Idle CPU: a connected device, no traffic, 5 s.
bg idle "$LAT" --socket "$SOCK" --count 1 --gap-ms 7000
wait_for 5 grep -q "device up" "$T/fwd.log" || { cat "$T/fwd.log"; fail "device did not come up"; }
sleep 1
hz=$(getconf CLK_TCK)
t0=$(awk '{ print $14 + $15 }' /proc/$PID_fwd/stat); sleep 5
t1=$(awk '{ print $14 + $15 }' /proc/$PID_fwd/stat)
# In hundredths of a percent of one CPU.
cpu=$(( (t1 - t0) * 10000 / (5 * hz) ))
result "interrupt idle-cpu $(printf '%d.%02d' $((cpu / 100)) $((cpu % 100)))% over 5 s"
wait "$PID_idle" 2>/dev/null
[ "$cpu" -lt 200 ] || fail "vhu-fwd used ${cpu} hundredths of a percent of a CPU while idle"

out=$(timeout 60 "$LAT" --socket "$SOCK" --count 200 --gap-ms 20) || { echo "$out"; cat "$T/fwd.log"; fail "latency probe failed"; }
result "interrupt $out"
med=$(echo "$out" | awk '{ print $3 }')
lost=$(echo "$out" | awk '{ print $9 }')
[ "$lost" = 0 ] || fail "$lost echoes lost"
[ "$med" -lt 1000 ] || fail "median wake-up round trip ${med} us (want < 1000)"
grep -q "interrupt: sleeps" "$T/fwd.log" || true
exit 0
