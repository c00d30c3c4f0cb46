#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch --zero-copy: a port deleted while the switch holds its
# frames. Port a's frontend floods 1500-byte frames (zero-copy: the
# packets point into a's guest memory) to b, c and d; c's frontend is
# stopped (SIGSTOP), a receiver that never refills, so frames toward it
# wait in the transmit retries; b and d talk to each other. The PMD is
# held by the switch's test hook right after a burst from a (N frames of
# a's buffers out of its ring) and del-port a is asked for. Checked: the
# deletion waits for the PMD (it must not unregister a's device, and with
# it a's memory, under frames that point into it); once the PMD goes on,
# the N frames are forwarded (each counted at c, the stalled port, as
# sent or dropped: exactly N more), a is gone, b and d keep forwarding,
# no frame is bad and the switch exits 0 (under ASan in peers-asan: a
# read of a's memory after the unmap, or a leaked segment, fails it).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"

MA=02:00:00:00:00:1a MB=02:00:00:00:00:1b MC=02:00:00:00:00:1c MD=02:00:00:00:00:1d
MX=02:00:00:00:00:ee   # nobody's: a's frames are flooded
HOLD=$T/hold
VHU_SWITCH_TEST_HOLD=$HOLD VHU_SWITCH_TEST_HOLD_RX=a sw_start --zero-copy \
	--port vhost-user:a --port vhost-user:b --port vhost-user:c --port vhost-user:d
fe() { # fe NAME MAC DST PPS
	bg "fe$1" timeout 60 "$VHU_FE" --socket "$T/$1" --mac "$2" --dst-mac "$3" --pps "$4" \
		--pkt-size 1500 --duration 15 --linger 1
}
fe a $MA $MX 20000
fe b $MB $MD 2000
fe c $MC $MB 100
fe d $MD $MB 2000
for p in a b c d; do sw_wait_running $p 10 || { sw_dump; fail "port $p did not come up"; }; done
sleep 1
kill -STOP "$PID_fec"
# held_fail WHY: let the PMD and c's frontend go first, so that all can stop.
held_fail() { rm -f "$HOLD"; builtin kill -CONT "$PID_fec"; sw_dump; fail "$@"; }
sleep 0.5

# c's counters are read while the PMD is held (nothing moves), before
# del-port takes the control lock.
tx_c() { echo $(( $(sw_stat c tx_packets) + $(sw_stat c tx_dropped) )); }
touch "$HOLD"
wait_for 5 grep -q "held by .* frames of port a" "$T/sw.log" || held_fail "the PMD was not held"
n=$(sed -n 's/.*held by .* with \([0-9]*\) frames of port a$/\1/p' "$T/sw.log" | head -1)
c0=$(tx_c)
note "PMD held with $n frames of port a; c's tx+dropped $c0"
bg del "$VHU_CTL" --control "$CTL" del-port a
sleep 2
builtin kill -0 "$PID_del" 2>/dev/null ||
	held_fail "del-port a completed while the PMD held a's frames"

rm -f "$HOLD"
wait_for 10 sh -c "! kill -0 $PID_del" || { sw_dump; fail "del-port a did not complete after the PMD was let go"; }
wait "$PID_del"; rc=$?
[ "$rc" = 0 ] && grep -q "^deleted a" "$T/del.log" ||
	{ cat "$T/del.log"; builtin kill -CONT "$PID_fec"; sw_dump; fail "del-port a failed (rc $rc)"; }
c1=$(tx_c)
builtin kill -CONT "$PID_fec"
result "held $n frames of a through del-port a; c (stalled) counted $((c1 - c0)) more"
[ $((c1 - c0)) = "$n" ] || { sw_dump; fail "c counted $((c1 - c0)) frames after the hold, not the $n held ones"; }
vctl show >"$T/show.txt"
grep -q "^port a:" "$T/show.txt" && fail "port a is still listed"

# b and d keep forwarding.
b0=$(sw_stat b tx_packets) d0=$(sw_stat d tx_packets)
sleep 1
b1=$(sw_stat b tx_packets) d1=$(sw_stat d tx_packets)
[ "${b1:-0}" -gt "${b0:-0}" ] && [ "${d1:-0}" -gt "${d0:-0}" ] ||
	{ sw_dump; fail "b and d stopped forwarding after a was deleted (b $b0 -> $b1, d $d0 -> $d1)"; }
# a's frontend lost its backend: stopped here, its status not judged.
kill -9 "$PID_fea"
for l in feb fec fed; do
	eval "wait \$PID_$l"; rc=$?
	[ $rc = 0 ] || { sw_dump; fail "$l failed (rc $rc)"; }
	v=$(fe_total "$T/$l.log" bad); [ "$v" = 0 ] || fail "$l: bad frames: $v"
done
grep -h '^fe: total' "$T"/fe?.log
exit 0
