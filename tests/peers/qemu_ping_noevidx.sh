#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real Linux guest pings through vhu-fwd (icmpecho) without event index
# (virtio-net-pci event_idx=off): 5 of 5, and VIRTIO_RING_F_EVENT_IDX (bit 29)
# not negotiated.
# VHU_PEER_BACKEND=dpdk runs the same against DPDK's net_vhost instead.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
guest_ping_test qemu-ping-noevidx "" event_idx=off 1 29=0
