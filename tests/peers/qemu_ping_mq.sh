#!/usr/bin/env bash
# A real Linux guest with two queue pairs (netdev queues=2, device mq=on,
# -smp 2 so the driver enables both) pings through vhu-fwd (icmpecho) 5 times
# pinned to each CPU, so over each TX queue (XPS): 5 of 5 on each; VIRTIO_NET_F_MQ
# (bit 22) negotiated and 2 rx/tx queues in the guest.
# VHU_PEER_BACKEND=dpdk runs the same against DPDK's net_vhost instead.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
guest_ping_test qemu-ping-mq queues=2 mq=on 2 22=1
