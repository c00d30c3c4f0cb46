#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two real Linux guests (QEMU, TCG) ping each other through vhu-switch:
# case "server": both NICs on switch server ports (QEMU connects);
# case "client": guest g1's chardev is a server (server=on,wait=off) and the
# switch's port is a client of it (added with vhu-ctl once QEMU listens).
# Each case: g0 pings g1 5 times, 5 of 5 replies, and fdb has both MACs.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
guest_prepare || skip "no guest kernel/initramfs (see above)"

run_case() { # run_case NAME server|client
	local c=$1 mode=$2 got m
	note "case $c"
	rm -f "$CTL"
	sw_start --port "vhost-user:${c}0"
	if [ "$mode" = server ]; then
		vctl add-port "vhost-user:${c}1" >/dev/null || fail "add-port ${c}1"
		guest_boot "${c}g1" "$T/${c}1" "" "" "vhu.mode=serve vhu.ip=169.254.10.2/16 vhu.time=40" || fail "guest_boot"
	else
		guest_boot "${c}g1" "$T/q${c}1,server=on,wait=off" "" "" "vhu.mode=serve vhu.ip=169.254.10.2/16 vhu.time=40" || fail "guest_boot"
		wait_for 20 test -S "$T/q${c}1" || { guest_dump "${c}g1"; fail "QEMU did not listen on $T/q${c}1"; }
		vctl add-port "vhost-user:${c}1,path=$T/q${c}1,client" >/dev/null || { sw_dump; fail "add-port client"; }
	fi
	guest_boot "${c}g0" "$T/${c}0" "" "" "vhu.mode=ping vhu.ip=169.254.10.1/16 vhu.peer=169.254.10.2 vhu.count=5 vhu.wait=30" || fail "guest_boot"
	if ! guest_wait "${c}g0" 90; then guest_dump "${c}g0"; guest_dump "${c}g1"; sw_dump; fail "$c: guest did not finish"; fi
	got=$(guest_ping_count "${c}g0")
	vctl fdb >"$T/fdb-$c.txt"; vctl show >"$T/show-$c.txt"; vctl stats >"$T/stats-$c.txt"
	cat "$T/show-$c.txt" "$T/stats-$c.txt" "$T/fdb-$c.txt"
	[ "$got" = 5/5 ] || { guest_dump "${c}g0"; guest_dump "${c}g1"; sw_dump; fail "$c: ping ${got:-none}, want 5/5"; }
	for m in "$(guest_mac "${c}g0" 0)" "$(guest_mac "${c}g1" 0)"; do
		grep -qi "$m" "$T/fdb-$c.txt" || fail "$c: fdb lacks $m"
	done
	result "switch_qemu $c ping $got ($(guest_marker "${c}g0" warmup))"
	kill "$(eval echo "\$PID_${c}g1")" "$PID_sw" 2>/dev/null
	wait "$(eval echo "\$PID_${c}g1")" "$PID_sw" 2>/dev/null
}

run_case srv server
run_case cli client
echo PASS
