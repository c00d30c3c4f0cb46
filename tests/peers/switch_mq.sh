#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Queue pairs the guest chooses. Ports without queues= offer 16 pairs
# (GET_QUEUE_NUM) and the switch polls only the pairs a guest enables:
#  - guest mg0 (-smp 2, -netdev queues=4, mq=on) on a default port: Linux
#    enables as many pairs as it has CPUs, up to 4, and pings 5 times from
#    each CPU, so each of its transmit queues carries traffic. 10 of 10
#    answered; pmd-rxq-show says "16 queue pairs offered, N enabled by the
#    guest, N rx queues polled" with N the guest's own rx queue count (at
#    least 2), and the per-queue counters show packets on queues 0 and 1.
#  - guest mg1 (one pair, no mq) on a default port too: exactly one polled
#    rx queue.
#  - a QEMU asking 4 pairs of a port capped at queues=2 is refused by QEMU
#    ("more queues than supported"): the cap is what GET_QUEUE_NUM says.
#  - with two PMDs (two CPUs): mg0's two queues start on different PMDs
#    (placed before any load is measured); set-port rxq-affinity pins one
#    to the other PMD ("pinned" in pmd-rxq-show) and pmd-rxq-rebalance,
#    after the pings, places the rest by their cycles, the pin kept.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
guest_prepare || skip "no guest kernel/initramfs (see above)"

PMDS=0; [ "$(nproc)" -ge 2 ] && PMDS=0,1
rm -f "$CTL"
sw_start --pmd-cpus "$PMDS" --port vhost-user:m0 --port vhost-user:m1 --port vhost-user:capped,queues=2

# More pairs than the port offers: QEMU gives up on the device (it retries
# the connection, so it is stopped here once it said why).
guest_boot capg "$T/capped" "queues=4" "mq=on" "" || fail "guest_boot capg"
wait_for 30 grep -qi "more queues than supported\|maximum number of queues" "$T/capg.log" ||
	{ guest_dump capg; sw_dump; fail "QEMU did not refuse 4 queue pairs on a port that offers 2"; }
note "capped port: QEMU says: $(grep -i -m1 "queues" "$T/capg.log")"
kill "$PID_capg"; wait "$PID_capg" 2>/dev/null
grep -q "port capped: device up" "$T/sw.log" && fail "a device came up on the capped port"

guest_boot mg1 "$T/m1" "" "" "vhu.mode=serve vhu.ip=169.254.12.2/16 vhu.time=90" || fail "guest_boot mg1"
GUEST_SMP=2 guest_boot mg0 "$T/m0" "queues=4" "mq=on" \
	"vhu.mode=ping vhu.percpu=1 vhu.ip=169.254.12.1/16 vhu.peer=169.254.12.2 vhu.count=5 vhu.wait=30 vhu.linger=20" ||
	fail "guest_boot mg0"
# The ping summary, then mg0 lingers with its queues enabled while we look.
pinged() { tr -d '\r' <"$T/mg0.console" | grep -qE 'VHU-GUEST: (ping [0-9]+/[0-9]+$|done)'; }
wait_for 150 pinged ||
	{ guest_dump mg0; guest_dump mg1; sw_dump; fail "mg0 did not finish its pings"; }
got=$(guest_ping_count mg0)
vctl show >"$T/show.txt"; vctl stats >"$T/stats.txt"; vctl pmd-rxq-show >"$T/rxq.txt"
cat "$T/show.txt" "$T/stats.txt" "$T/rxq.txt"
[ "$got" = 10/10 ] || { guest_dump mg0; guest_dump mg1; sw_dump; fail "ping ${got:-none}, want 10/10"; }
for c in 0 1; do
	[ "$(guest_marker mg0 "ping cpu$c")" = 5/5 ] || { guest_dump mg0; fail "cpu$c (TX queue $c) got $(guest_marker mg0 "ping cpu$c"), want 5/5"; }
done
n=$(guest_marker mg0 eth0 | sed -n 's/.*rxq=\([0-9]*\) txq=\1 .*/\1/p')
[ -n "$n" ] && [ "$n" -ge 2 ] || { guest_dump mg0; fail "mg0 has not 2 or more queue pairs: $(guest_marker mg0 eth0)"; }
case $(guest_marker mg1 eth0) in *"rxq=1 txq=1"*) ;; *) guest_dump mg1; fail "mg1 has not one queue pair: $(guest_marker mg1 eth0)" ;; esac
grep -q "^port m0: 16 queue pairs offered, $n enabled by the guest, $n rx queues polled" "$T/rxq.txt" ||
	fail "port m0: want 16 offered, $n enabled, $n polled"
grep -q "^port m1: 16 queue pairs offered, 1 enabled by the guest, 1 rx queue polled" "$T/rxq.txt" ||
	fail "port m1: want 16 offered, 1 enabled, 1 polled"
# Port m0's queue 0 and queue 1 both received from the guest.
for q in 0 1; do
	rx=$(awk -v p=m0 -v q="$q" '$1 == "port" && $2 == p":" { inport = 1; next }
		$1 == "port" { inport = 0 }
		inport && $1 == "queue" && $2 == q":" { for (i = 3; i <= NF; i++) if ($i == "rx_packets") print $(i + 1) }' "$T/stats.txt")
	result "switch_mq port m0 queue $q rx_packets ${rx:-?}"
	[ "${rx:-0}" -gt 0 ] || { sw_dump; fail "port m0 queue $q received nothing"; }
done

# pmd_of FILE PORT Q: the PMD that polls queue Q of PORT in pmd-rxq-show FILE.
pmd_of() { awk -v p="$2" -v q="$3" '$1 == "pmd" { m = $2 } $1 == "port" && $2 == p && $3 == "queue" && $4 == q { print m }' "$1"; }
if [ "$PMDS" = 0,1 ]; then
	a=$(pmd_of "$T/rxq.txt" m0 0) b=$(pmd_of "$T/rxq.txt" m0 1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] || fail "m0's queues 0 and 1 on PMDs '$a' and '$b', want two different"
	other=$((1 - a))
	vctl set-port m0 "rxq-affinity=0:$other" >/dev/null || fail "set-port m0 rxq-affinity=0:$other"
	vctl pmd-rxq-show >"$T/rxq2.txt"; cat "$T/rxq2.txt"
	[ "$(pmd_of "$T/rxq2.txt" m0 0)" = "$other" ] && grep -qE "^  port m0 +queue 0 .*pinned$" "$T/rxq2.txt" ||
		fail "m0 queue 0 is not pinned to pmd $other"
	out=$(vctl pmd-rxq-rebalance) || fail "pmd-rxq-rebalance after traffic: $out"
	echo "$out" | grep -qE "^rebalanced [0-9]+ rx queues? by their cycles: [0-9]+ moved" || fail "rebalance said: $out"
	vctl pmd-rxq-show >"$T/rxq3.txt"
	[ "$(pmd_of "$T/rxq3.txt" m0 0)" = "$other" ] || fail "the rebalance moved a pinned queue"
	grep -q "^port m0: 16 queue pairs offered, $n enabled by the guest, $n rx queues polled" "$T/rxq3.txt" ||
		fail "queues lost in the rebalance"
	note "rebalance: $out"
	vctl set-port m0 rxq-affinity=none >/dev/null || fail "set-port m0 rxq-affinity=none"
else
	note "one CPU: no second PMD for placement, pins and rebalance"
fi
guest_wait mg0 60 || { guest_dump mg0; fail "mg0 did not finish"; }
result "switch_mq ping $got over $n of 4 queue pairs on a default port (16 offered)"
