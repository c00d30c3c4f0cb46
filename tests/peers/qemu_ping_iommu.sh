#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vIOMMU: a real Linux guest behind QEMU's emulated intel-iommu (device
# IOTLB, ATS on the virtio-net device, intel_iommu=on in the guest) pings
# through vhu-fwd in icmpecho mode. The NIC sits behind a PCIe root port:
# on the root bus it would have no ATS capability, and QEMU 7.2 passes the
# guest's unmaps on to vhost-user only as device-IOTLB invalidations. VIRTIO_F_ACCESS_PLATFORM (bit 33) must
# be negotiated: every ring and buffer address is then an IOVA that vhu-fwd
# learns from QEMU's IOTLB updates after asking for it (IOTLB misses on the
# backend channel); 5 of 5 replies required, and vhu-fwd's log must show
# no vring broken.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
GUEST_QEMU_PRE="-device intel-iommu,intremap=off,device-iotlb=on -device pcie-root-port,id=rp0,bus=pcie.0,chassis=1"
# Strict: each unmap is invalidated page by page. Lazy mode's periodic
# whole-domain flush also wipes the receive buffers the backend was told of,
# so a reply that comes after one misses (and vhu-fwd does not retry).
VHU_GUEST_APPEND="$VHU_GUEST_APPEND intel_iommu=on iommu.strict=1"
iommu_check() {
	if grep -q "broken" "$T/be.log"; then
		grep "broken" "$T/be.log" | head -5; fail "$1: a vring broke behind the vIOMMU"
	fi
}
GUEST_PING_CHECK=iommu_check
guest_ping_test qemu-ping-iommu "" "bus=rp0,disable-legacy=on,iommu_platform=on,ats=on" 1 33=1
