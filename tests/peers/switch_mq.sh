#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Multi-queue vhost-user ports: two QEMU Linux guests with two queue pairs
# each (-smp 2, mq=on, queues=2) ping each other through vhu-switch ports
# with queues=2. The pinging guest pings 5 times from each CPU, so each of
# its two transmit queues carries traffic; the switch must poll both and
# answer on the peer's enabled queues: 10 of 10, both guests see rxq=2
# txq=2, and the switch's per-queue counters show packets on queue 0 and 1
# of the pinging guest's port.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
guest_prepare || skip "no guest kernel/initramfs (see above)"

rm -f "$CTL"
sw_start --port "vhost-user:m0,queues=2" --port "vhost-user:m1,queues=2"
export GUEST_SMP=2
guest_boot mg1 "$T/m1" "queues=2" "mq=on" "vhu.mode=serve vhu.ip=169.254.12.2/16 vhu.time=60" || fail "guest_boot mg1"
guest_boot mg0 "$T/m0" "queues=2" "mq=on" \
	"vhu.mode=ping vhu.percpu=1 vhu.ip=169.254.12.1/16 vhu.peer=169.254.12.2 vhu.count=5 vhu.wait=30" || fail "guest_boot mg0"
if ! guest_wait mg0 120; then guest_dump mg0; guest_dump mg1; sw_dump; fail "guest did not finish"; fi
got=$(guest_ping_count mg0)
vctl show >"$T/show.txt"; vctl stats >"$T/stats.txt"
cat "$T/show.txt" "$T/stats.txt"
for g in mg0 mg1; do
	case $(guest_marker "$g" eth0) in
	*"rxq=2 txq=2"*) ;;
	*) guest_dump "$g"; fail "$g has not two queue pairs: $(guest_marker "$g" eth0)" ;;
	esac
done
[ "$got" = 10/10 ] || { guest_dump mg0; guest_dump mg1; sw_dump; fail "ping ${got:-none}, want 10/10"; }
for c in 0 1; do
	[ "$(guest_marker mg0 "ping cpu$c")" = 5/5 ] || { guest_dump mg0; fail "cpu$c (TX queue $c) got $(guest_marker mg0 "ping cpu$c"), want 5/5"; }
done
# Port m0's queue 0 and queue 1 both received from the guest.
for q in 0 1; do
	rx=$(awk -v p=m0 -v q="$q" '$1 == "port" && $2 == p":" { inport = 1; next }
		$1 == "port" { inport = 0 }
		inport && $1 == "queue" && $2 == q":" { for (i = 3; i <= NF; i++) if ($i == "rx_packets") print $(i + 1) }' "$T/stats.txt")
	result "switch_mq port m0 queue $q rx_packets ${rx:-?}"
	[ "${rx:-0}" -gt 0 ] || { sw_dump; fail "port m0 queue $q received nothing"; }
done
result "switch_mq ping $got over 2 queue pairs"
