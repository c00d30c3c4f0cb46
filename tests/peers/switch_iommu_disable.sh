#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Frames vhu-switch keeps for a guest behind a vIOMMU (tx_iotlb_kept) are
# dropped the moment the guest disables that receive vring, not held
# until the device goes. Port a's frontend (tests/integ/iommu_client)
# negotiates ACCESS_PLATFORM, answers IOTLB misses until its rings run,
# then answers none; vhu-fe on port b floods it, so the switch's enqueues
# to a stop at a miss and it keeps frames; none of them can ever be taken
# (their buffers stay unmapped). Then a disables rx vring 0: at once the
# switch drops what it kept, says how many (before, they stayed kept
# until the frontend left, with no line), and tx_iotlb_kept and
# tx_iotlb_drops move no more while b still sends.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
CLIENT=$VHU_BUILD/tests/integ/iommu_client
[ -x "$CLIENT" ] || skip "iommu_client is not built ($CLIENT); run make build"
MA=02:00:00:00:05:0a MB=02:00:00:00:05:0b

sw_start --port vhost-user:a --port vhost-user:b
bg cli timeout 60 "$CLIENT" --socket "$T/a" --dir "$T"
sw_wait_running a 10 || { sw_dump; fail "port a did not run"; }
grep -q "port a: device up.*iommu_platform" "$T/sw.log" ||
	{ sw_dump; fail "port a did not negotiate ACCESS_PLATFORM"; }
sleep 0.3 # the rings' last misses answered
touch "$T/stop-serving"
wait_for 5 grep -q "answering no more" "$T/cli.log" || { cat "$T/cli.log"; fail "iommu_client"; }
bg feb timeout 20 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 2000 --duration 4 --linger 0.2
kept_some() { [ "$(sw_stat a tx_iotlb_kept)" -gt 0 ]; }
wait_for 10 kept_some ||
	{ sw_dump; vctl stats a; fail "the switch kept no frame for a"; }
sleep 0.2 # frames kept and given up on (100 ms) while b sends
before=$(vctl stats a)
touch "$T/disable"
wait_for 5 grep -q "kept for rx vring 0 dropped: the guest disabled it" "$T/sw.log" ||
	{ sw_dump; echo "$before"; vctl stats a; fail "no drop of the kept frames when a disabled rx vring 0"; }
n=$(sed -n 's/.*port a: \([0-9]*\) frame(s) kept for rx vring 0 dropped.*/\1/p' "$T/sw.log" | tail -1)
k1=$(sw_stat a tx_iotlb_kept) d1=$(sw_stat a tx_iotlb_drops)
sleep 0.3
k2=$(sw_stat a tx_iotlb_kept) d2=$(sw_stat a tx_iotlb_drops)
echo "$before"
vctl stats a
[ "${n:-0}" -gt 0 ] && [ "${d1:-0}" -ge "$n" ] || { sw_dump; fail "dropped ${n:-none} (tx_iotlb_drops ${d1:-none})"; }
[ "$k1" = "$k2" ] && [ "$d1" = "$d2" ] ||
	{ sw_dump; fail "the disabled queue still keeps frames: kept $k1 dropped $d1, then kept $k2 dropped $d2"; }
touch "$T/done"
wait "$PID_cli" || { cat "$T/cli.log"; fail "iommu_client failed"; }
wait "$PID_feb" || { sw_dump; fail "vhu-fe on b failed"; }
result "switch_iommu_disable: $n kept frame(s) dropped when the guest disabled rx vring 0; then tx_iotlb_kept $k2 tx_iotlb_drops $d2, unchanged"
