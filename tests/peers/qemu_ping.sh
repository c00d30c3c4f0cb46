#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real Linux guest (QEMU, virtio-net over vhost-user, default features)
# pings through vhu-fwd in icmpecho mode: 5 of 5 replies required.
# VHU_PEER_BACKEND=dpdk runs the same against DPDK's net_vhost instead.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
guest_ping_test qemu-ping "" "" 1 15=1
