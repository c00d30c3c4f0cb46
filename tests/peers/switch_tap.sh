#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A QEMU guest on a vhost-user port pings a network namespace behind a tap
# port of vhu-switch: the tap is created by the switch, moved into a
# namespace this test creates (and deletes), 169.254.20.2/16 there; the
# guest is 169.254.20.1. 5 of 5 replies, the namespace's MAC in the fdb on
# the tap port, tap counters non-zero.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
guest_prepare || skip "no guest kernel/initramfs (see above)"
sw_netns

sw_start --port vhost-user:vm0 --port "tap:t0,ifname=$TAPIF"
sw_tap_into_ns 169.254.20.2/16
nsmac=$(ip -n "$NS" -o link show "$TAPIF" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

guest_boot g0 "$T/vm0" "" "" "vhu.mode=ping vhu.ip=169.254.20.1/16 vhu.peer=169.254.20.2 vhu.count=5 vhu.wait=30" || fail "guest_boot"
guest_wait g0 90 || { guest_dump g0; sw_dump; fail "guest did not finish"; }
got=$(guest_ping_count g0)
vctl show; vctl stats; vctl fdb | tee "$T/fdb.txt"
[ "$got" = 5/5 ] || { guest_dump g0; sw_dump; fail "ping ${got:-none}, want 5/5"; }
grep -q "^t0 .*$nsmac" "$T/fdb.txt" || fail "fdb lacks the namespace's MAC $nsmac on t0"
[ "$(sw_stat t0 rx_packets)" -gt 0 ] && [ "$(sw_stat t0 tx_packets)" -gt 0 ] || fail "tap counters are zero"
result "switch_tap guest -> netns via tap ping $got"
echo PASS
