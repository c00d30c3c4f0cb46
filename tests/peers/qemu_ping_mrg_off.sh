#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real Linux guest pings through vhu-fwd (icmpecho) with mergeable RX
# buffers off (virtio-net-pci mrg_rxbuf=off): 5 of 5, and the driver must
# not have negotiated VIRTIO_NET_F_MRG_RXBUF (bit 15).
# VHU_PEER_BACKEND=dpdk runs the same against DPDK's net_vhost instead.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
guest_ping_test qemu-ping-mrg-off "" mrg_rxbuf=off 1 15=0
