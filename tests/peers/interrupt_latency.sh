#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-fwd --interrupt sleeps when idle and wakes on the guest's kick: the
# in-tree frontend sends one packet after each 20 ms idle gap and times
# its echo (macswap). The median round trip must be under 1 ms (wake-up
# plus one forward), no packet lost; and while the device sits idle for
# 5 s, vhu-fwd uses under 2% of one CPU (from /proc/PID/stat). At the end
# vhu-fwd is stopped and its exit line must show that the wake-ups were
# kicks: sleeps > 0, no sleep ran into the safety timeout with work
# waiting (timeouts 0), and at least half the probes ended a sleep by a
# kick (kick-wakes): each probe follows a 20 ms gap, some 100 times the
# idle spin before vhu-fwd sleeps, so each finds it asleep unless it was
# preempted mid-spin. A polling fallback never sleeps; a timer sleeper
# fast enough for the latency bound is never woken by a kick.
. "$(dirname "$0")/../lib/common.sh"
LAT=$VHU_BUILD/tests/integ/wake_latency
[ -x "$VHU_FWD" ] && [ -x "$LAT" ] || skip "vhu-fwd or wake_latency not built"
SOCK=$T/vhu.sock
PROBES=200
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
# The idle probe ends by itself after its gap; then take its status.
for _ in $(seq 150); do kill -0 "$PID_idle" 2>/dev/null || break; sleep 0.1; done
if declare -F _stop_judge >/dev/null; then _stop_judge "$PID_idle" idle || fail "idle probe failed"
else wait "$PID_idle" || fail "idle probe failed"; fi
[ "$cpu" -lt 200 ] || fail "vhu-fwd used ${cpu} hundredths of a percent of a CPU while idle"

out=$(timeout 60 "$LAT" --socket "$SOCK" --count "$PROBES" --gap-ms 20) || { echo "$out"; cat "$T/fwd.log"; fail "latency probe failed"; }
result "interrupt $out"
med=$(echo "$out" | awk '{ print $3 }')
lost=$(echo "$out" | awk '{ print $9 }')
[ "$lost" = 0 ] || fail "$lost echoes lost"
[ "$med" -lt 1000 ] || fail "median wake-up round trip ${med} us (want < 1000)"

# Its exit line is printed when it stops: stop it now (SIGINT, exit 0).
if declare -F stop_own >/dev/null; then
	stop_own fwd; rc=0
else
	kill -INT "$PID_fwd"
	for _ in $(seq 100); do kill -0 "$PID_fwd" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$PID_fwd" 2>/dev/null && { kill -9 "$PID_fwd"; note "vhu-fwd did not stop on SIGINT in 10 s"; }
	wait "$PID_fwd"; rc=$?
fi
line=$(grep "vhu-fwd: interrupt:" "$T/fwd.log" | tail -1)
field() { sed -n "s/.* $1 \([0-9]*\).*/\1/p" <<<"$line"; }
sleeps=$(field sleeps); wakes=$(field kick-wakes); touts=$(field timeouts)
result "interrupt vhu-fwd sleeps ${sleeps:-?} kick-wakes ${wakes:-?} timeouts ${touts:-?} idle-timeouts $(field idle-timeouts)"
[ "$rc" = 0 ] || { cat "$T/fwd.log"; fail "vhu-fwd exited $rc"; }
[ -n "$sleeps" ] && [ -n "$wakes" ] && [ -n "$touts" ] || { cat "$T/fwd.log"; fail "no interrupt line from vhu-fwd"; }
[ "$sleeps" -gt 0 ] || fail "vhu-fwd never slept"
[ "$wakes" -ge $((PROBES / 2)) ] || fail "only $wakes sleeps of vhu-fwd ended by a kick ($PROBES probes)"
[ "$touts" = 0 ] || fail "$touts sleeps ran into the timeout with work waiting"
exit 0
