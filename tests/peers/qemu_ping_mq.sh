#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real Linux guest with two queue pairs (netdev queues=2, device mq=on,
# -smp 2 so the driver enables both) pings through vhu-fwd (icmpecho) 5 times
# pinned to each CPU, so over each TX queue (XPS): 5 of 5 on each; VIRTIO_NET_F_MQ
# (bit 22) negotiated and 2 rx/tx queues in the guest. At the backend, each
# queue pair carried the pings sent on it: vhu-fwd's per-vring counts (printed
# when the guest's device goes down) show at least 5 packets dequeued from each
# guest TX vring (1, 3) and 5 echoed into the RX vring of the same pair (0, 2),
# since icmpecho answers on the queue pair a request came in on.
# VHU_PEER_BACKEND=dpdk runs the same against DPDK's net_vhost instead (no
# per-vring counts there: that check is left out, said so).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"

# vring_packets V: packets of vring V in vhu-fwd's vring stats (0 when it
# printed no line: it leaves out vrings that carried nothing).
vring_packets() {
	sed -n "s/^vhu-fwd: vring stats: .* vring $1 packets \([0-9]*\) .*/\1/p" "$T/be.log" | tail -1 | grep . || echo 0
}

per_queue_check() { # LABEL QUEUES
	local label=$1 q=$2 v n line=
	if [ "${VHU_PEER_BACKEND:-vhu}" != vhu ]; then
		note "$label: per-queue counts not checked with ${VHU_PEER_BACKEND} (vhu-fwd only)"
		return 0
	fi
	# QEMU has exited: vhu-fwd sees the connection close and prints them.
	wait_for 10 grep -q "^vhu-fwd: device down" "$T/be.log" ||
		{ tail -20 "$T/be.log"; fail "$label: vhu-fwd did not report the device down"; }
	grep "^vhu-fwd: vring stats" "$T/be.log"
	for ((v = 0; v < 2 * q; v++)); do
		n=$(vring_packets "$v")
		line="$line vring$v=$n"
		[ "$n" -ge 5 ] || fail "$label: vring $v (queue pair $((v / 2))) carried $n packets, want >= 5"
	done
	result "$label backend per-vring packets:$line"
}
GUEST_PING_CHECK=per_queue_check
guest_ping_test qemu-ping-mq queues=2 mq=on 2 22=1
