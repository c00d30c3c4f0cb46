#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch --db across a crash, with a real guest: ports, VLAN modes, an
# rx queue pin and a flow are set with vhu-ctl on a switch started with
# --db; a QEMU guest on a server port (its chardev a client with
# reconnect=1) pings a network namespace behind a tap port, both in VLAN
# 10. The switch is killed with SIGKILL mid-ping and started again with
# the same options and --db, no --port or --flow: show and dump-flows are as before (run-time state
# and counters left out), the tap the new switch made again is moved back
# into the namespace (what an operator's hook does: the kernel removes a
# tap when its last fd closes), and the guest, never rebooted, pings again:
# the last pings of its loop are answered.
# RESULT: pings answered of sent, and how long the port took to come back.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_netns
guest_prepare || skip "no guest kernel/initramfs (see above)"
DB=$T/switch.db IV=0.2 DL=24
export GUEST_MEM=128M
# conf: the configuration vhu-ctl shows, without run-time state.
conf() {
	vctl show | sed -n 's/^\(port [^ ]*\) type \([^ ]*\) state [a-z]* \(.*\)/\1 \2 \3/p' | sed 's/ device .*//'
	vctl dump-flows | sed 's/ n_packets=.*//'
}

sw_start --db "$DB" --pmd-cpus 0
vctl add-port vhost-user:vm >/dev/null && vctl add-port "tap:t0,ifname=$TAPIF" >/dev/null &&
	vctl add-port vhost-user:spare,queues=2 >/dev/null || { sw_dump; fail "add-port"; }
vctl set-port vm tag=10 >/dev/null && vctl set-port t0 tag=10 >/dev/null &&
	vctl set-port spare trunks=10:20,rxq-affinity=1:0 >/dev/null || fail "set-port"
vctl add-flow in_port=spare,actions=drop >/dev/null || fail "add-flow"
sw_tap_into_ns 169.254.30.2/16
guest_boot g0 "$T/vm,reconnect=1" "" "" \
	"vhu.mode=pingloop vhu.ip=169.254.30.1/16 vhu.peer=169.254.30.2 vhu.interval=$IV vhu.count=$(awk "BEGIN{print int($DL/$IV)}") vhu.time=$DL vhu.wait=40 vhu.limit=100" ||
	fail "guest_boot"
wait_for 60 grep -q "VHU-GUEST: pingloop start" "$T/g0.console" || { guest_dump g0; sw_dump; fail "the pingloop did not start"; }
sleep 4
conf >"$T/before.txt"; cat "$T/before.txt"; cat "$DB"
grep -q "^port vm: vhost-user vlan access 10 " "$T/before.txt" || fail "port vm is not an access port of VLAN 10"

note "SIGKILL the switch (the pingloop runs since ~4 s)"
t_kill=$(date +%s.%N)
kill -9 "$PID_sw"; wait "$PID_sw" 2>/dev/null
# The same options (the PMD on CPU 0 the pin names), no --port or --flow.
bg sw2 "$VHU_SWITCH" $(sw_zc_args) --control "$CTL" --socket-dir "$T" --pmd-cpus 0 --db "$DB"
wait_for 10 sh -c "'$VHU_CTL' --control '$CTL' show >/dev/null" || { cat "$T/sw2.log"; fail "the switch did not start again from $DB"; }
sw_tap_into_ns 169.254.30.2/16
conf >"$T/after.txt"
diff "$T/before.txt" "$T/after.txt" || { cat "$T/sw2.log"; fail "the configuration after the restart differs (above)"; }
wait_for 20 sh -c "'$VHU_CTL' --control '$CTL' show | grep -q '^port vm: .*state running'" ||
	{ tail -30 "$T/sw2.log"; guest_dump g0; fail "the guest did not reconnect to port vm"; }
t_up=$(date +%s.%N)
vctl pmd-rxq-show | tee "$T/rxq.txt"
grep -q "^port vm: 16 queue pairs offered, 1 enabled by the guest, 1 rx queue polled" "$T/rxq.txt" ||
	fail "port vm after the restart: want 16 offered, 1 enabled, 1 polled"

guest_wait g0 $((DL + 30)) || { guest_dump g0; tail -30 "$T/sw2.log"; fail "the guest did not finish"; }
[ "$(tr -d '\r' <"$T/g0.console" | grep -c 'VHU-GUEST: modules')" = 1 ] || fail "the guest booted more than once"
got=$(guest_ping_count g0) tx=${got#*/} rx=${got%/*}
last=$(tr -d '\r' <"$T/g0.console" | sed -n 's/.*from 169.254.30.2: seq=\([0-9]*\).*/\1/p' | sort -n | tail -1)
back=$(awk "BEGIN{printf \"%.1f\", $t_up - $t_kill}")
[ -n "$got" ] && [ "${tx:-0}" -gt 0 ] || { guest_dump g0; fail "no ping summary"; }
# Answered pings after the restart: the loop's last ones (seq counts from 0).
[ -n "$last" ] && [ "$last" -ge $((tx - 4)) ] || { guest_dump g0; tail -30 "$T/sw2.log"; fail "pings did not resume: last answered seq ${last:-none} of $tx"; }
[ "$rx" -ge $((tx / 2)) ] || fail "only $rx of $tx pings answered"
stop_own sw2
result "switch_restart_qemu: configuration back after SIGKILL ($(grep -c . "$T/before.txt") lines); guest pings $got, port vm back ${back} s after the kill"
echo PASS
