#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vIOMMU: a real Linux guest behind QEMU's emulated intel-iommu (device
# IOTLB, ATS on the virtio-net device, intel_iommu=on in the guest: see
# guest_iommu) pings through vhu-fwd in icmpecho mode.
# VIRTIO_F_ACCESS_PLATFORM (bit 33) must be negotiated: every ring and
# buffer address is then an IOVA that vhu-fwd learns from QEMU's IOTLB
# updates after asking for it (IOTLB misses on the backend channel); 5 of
# 5 replies required, and vhu-fwd's log must show no vring broken.
# (switch_iommu.sh: the same guest through vhu-switch.)
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
guest_iommu
iommu_check() {
	if grep -q "broken" "$T/be.log"; then
		grep "broken" "$T/be.log" | head -5; fail "$1: a vring broke behind the vIOMMU"
	fi
}
GUEST_PING_CHECK=iommu_check
guest_ping_test qemu-ping-iommu "" "$GUEST_IOMMU_DEV" 1 33=1
