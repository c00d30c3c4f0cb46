#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A PMD that does not reach a quiescent point holds up a port removal for
# as long as it takes: the control side waits, says so in the log, and
# never frees what the PMD may still hold (it used to give up after 2 s).
# Two frontends send to each other through ports a and b; a third port c
# has none. The PMD is held mid-iteration by the switch's test hook
# (VHU_SWITCH_TEST_HOLD: while the file exists) and del-port c is asked
# for: 6 s later it must still be waiting, with the slow-quiescence line
# logged (the old code gave up after 2 s in each of the two grace periods
# of a removal, so it was done at 4 s); once the PMD is let go it completes, c is gone, traffic between
# a and b flows again, and the switch exits 0 on SIGINT (under ASan in
# peers-asan: an early free would be a use after free there).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"

MA=02:00:00:00:00:1a MB=02:00:00:00:00:1b
HOLD=$T/hold
VHU_SWITCH_TEST_HOLD=$HOLD sw_start --port vhost-user:a --port vhost-user:b --port vhost-user:c
bg fea timeout 40 "$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --pps 5000 --duration 15 --linger 1
bg feb timeout 40 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 5000 --duration 15 --linger 1
sw_wait_running a 10 && sw_wait_running b 10 || { sw_dump; fail "ports a and b did not come up"; }
sleep 1

touch "$HOLD"
wait_for 5 grep -q "pmd 0: held by" "$T/sw.log" || { rm -f "$HOLD"; sw_dump; fail "the PMD was not held"; }
held_at=$(date +%s%N)
bg del "$VHU_CTL" --control "$CTL" del-port c
sleep 6
# held_fail WHY: let the PMD go first, so that the switch can stop.
held_fail() { rm -f "$HOLD"; sw_dump; cat "$T/del.log"; fail "$@"; }
builtin kill -0 "$PID_del" 2>/dev/null ||
	held_fail "del-port c completed while the PMD was held (gave up waiting for it)"
grep -q "pmd 0 has not reached a quiescent point for 1 s; waiting" "$T/sw.log" ||
	held_fail "no slow-quiescence line in the log"
note "del-port c still waiting after 6 s, as it must; letting the PMD go"

rm -f "$HOLD"
wait_for 10 sh -c "! kill -0 $PID_del" || { sw_dump; fail "del-port c did not complete after the PMD was let go"; }
wait "$PID_del"; rc=$?
[ "$rc" = 0 ] || { cat "$T/del.log"; sw_dump; fail "del-port c failed (rc $rc)"; }
grep -q "^deleted c" "$T/del.log" || { cat "$T/del.log"; fail "no 'deleted c' from vhu-ctl"; }
grep -q "pmd 0 quiescent after" "$T/sw.log" || { sw_dump; fail "no line saying the PMD came back"; }
took=$(( ($(date +%s%N) - held_at) / 1000000 ))
result "del-port while the PMD was held: completed ${took} ms after the hold began"
vctl show >"$T/show.txt"
grep -q "^port c:" "$T/show.txt" && fail "port c is still listed"
grep -q "^port a: .*state running" "$T/show.txt" && grep -q "^port b: .*state running" "$T/show.txt" ||
	{ cat "$T/show.txt"; fail "ports a and b are not running any more"; }

# Traffic between a and b moves again.
r0=$(sw_stat b tx_packets)
sleep 1
r1=$(sw_stat b tx_packets)
[ "${r1:-0}" -gt "${r0:-0}" ] || { sw_dump; fail "no traffic to b after the PMD was let go ($r0 -> $r1)"; }
wait "$PID_fea"; rc_a=$?
wait "$PID_feb"; rc_b=$?
[ $rc_a = 0 ] && [ $rc_b = 0 ] || { sw_dump; fail "a frontend failed (rc $rc_a $rc_b)"; }
for f in bad foreign; do
	for l in fea feb; do
		v=$(fe_total "$T/$l.log" $f); [ "$v" = 0 ] || fail "$l: $f frames: $v"
	done
done
exit 0
