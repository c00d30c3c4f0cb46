#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real Linux guest pings through vhu-fwd (icmpecho) over packed
# virtqueues (virtio-net-pci packed=on): 5 of 5, and VIRTIO_F_RING_PACKED
# (bit 34) negotiated.
# VHU_PEER_BACKEND=dpdk runs the same against DPDK's net_vhost instead.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
GUEST_UNOFFERED_SKIP=34
guest_ping_test qemu-ping-packed "" packed=on 1 34=1
