#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vIOMMU through vhu-switch: a guest behind QEMU's emulated intel-iommu
# (guest_iommu, as qemu_ping_iommu.sh) on a vhost-user port pings a
# network namespace behind a tap port (169.254.21.1 -> 169.254.21.2).
# ACCESS_PLATFORM (bit 33) must be negotiated, 5 of 5 replies, no vring
# broken, and the port's counters must show frames kept at IOTLB misses
# (tx_iotlb_kept > 0: without keeping them the switch dropped replies),
# none given up (tx_iotlb_drops 0), and IOTLB misses counted on the
# guest's vrings both ways (rx_iotlb_misses, tx_iotlb_misses > 0).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
guest_prepare || skip "no guest kernel/initramfs (see above)"
sw_netns
guest_iommu

sw_start --port vhost-user:vm0 --port "tap:t0,ifname=$TAPIF"
sw_tap_into_ns 169.254.21.2/16
guest_boot g0 "$T/vm0" "" "$GUEST_IOMMU_DEV" \
	"vhu.mode=ping vhu.ip=169.254.21.1/16 vhu.peer=169.254.21.2 vhu.count=5 vhu.wait=30" ||
	fail "guest_boot"
guest_wait g0 90 || { guest_dump g0; sw_dump; fail "guest did not finish"; }
got=$(guest_ping_count g0)
vctl stats vm0 | tee "$T/stats.txt"
[ "$(guest_feature g0 33)" = 1 ] || { guest_dump g0; fail "ACCESS_PLATFORM not negotiated"; }
[ "$got" = 5/5 ] || { guest_dump g0; sw_dump; fail "ping ${got:-none}, want 5/5"; }
if grep -q "broken" "$T/sw.log"; then
	grep "broken" "$T/sw.log" | head -5; fail "a vring broke behind the vIOMMU"
fi
kept=$(sw_stat vm0 tx_iotlb_kept) drops=$(sw_stat vm0 tx_iotlb_drops)
[ "${kept:-0}" -gt 0 ] || fail "the switch kept no frame at an IOTLB miss (tx_iotlb_kept ${kept:-none})"
[ "${drops:-x}" = 0 ] || fail "frames dropped waiting for the IOTLB: ${drops:-none}"
rxm=$(sw_stat vm0 rx_iotlb_misses) txm=$(sw_stat vm0 tx_iotlb_misses)
[ "${rxm:-0}" -gt 0 ] && [ "${txm:-0}" -gt 0 ] ||
	fail "IOTLB misses not counted both ways: rx_iotlb_misses ${rxm:-none} tx_iotlb_misses ${txm:-none}"
result "switch_iommu guest (intel-iommu) -> netns via tap ping $got, $kept frames kept at IOTLB misses, IOTLB misses rx $rxm tx $txm"
echo PASS
