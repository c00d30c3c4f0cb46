#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# DPDK testpmd (virtio-user) through vhu-switch.
# Case io: one testpmd with two virtio-user ports (MACs M0, M1, --eth-peer
# so each sends to the other's MAC) in io mode with --tx-first: frames
# loop port0 -> switch a -> b -> port1 -> port0 ... Checked: both testpmd
# ports receive, the switch learnt both MACs on the right ports, and the
# frames are all accounted for. Inside the switch exactly (each frame is
# dequeued once and counted either sent or dropped): what entered a left b
# or is counted in b's tx drops or a's runts, and the other way round. At
# testpmd's edges within one ring (RING slots, queue_size): what port0 sent
# and the switch never took, and what the switch put in port1's ring and
# testpmd never read, when testpmd stopped. Figure: Mpps through the
# switch.
# Case payload: testpmd in macswap on port t reflects vhu-fe's checksummed
# frames (port f): every frame that comes back is checked whole (testpmd
# itself cannot check payloads), none bad, foreign or other; every frame is
# accounted for the same way (switch exactly, testpmd's ring and vhu-fe's
# within one ring each).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd dpdk-testpmd
setup_hugepages
M0=02:00:00:00:01:00 M1=02:00:00:00:01:01 M2=02:00:00:00:01:02 MF=02:00:00:00:01:0f
CPU_TP=$(( $(nproc) - 1 ))
RING=256
mem=(-m 256) mbufs=()
[ "$HUGE_OPTS" = "--no-huge" ] && { mem=(--no-huge -m 512); mbufs=(--total-num-mbufs=16384); }

tp() { # tp NAME SECS VDEV-ARGS... -- APP-ARGS...
	local n=$1 secs=$2; shift 2
	local eal=() app=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do eal+=(--vdev "$1"); shift; done
	shift; app=("$@")
	bg "$n" timeout -k 3 "$secs" dpdk-testpmd --lcores "0@0,1@$CPU_TP" --no-pci \
		--file-prefix="vhusw$$$n" --single-file-segments --iova-mode=va "${mem[@]}" "${eal[@]}" -- \
		--nb-cores=1 --stats-period 1 "${mbufs[@]}" "${app[@]}"
}

tp_total() { # LOG PORT RX|TX: packets of that port in testpmd's final stats
	strip_ansi <"$1" | awk -v p="$2" -v k="$3-packets:" '
		/Forward statistics for port/ { cur = $(NF-1) }
		/Accumulated forward statistics/ { cur = "" }
		cur == p { for (i = 1; i < NF; i++) if ($i == k) v = $(i+1) }
		END { print v }'  # the last block: the final one
}

# sw_settle: until the switch's counters stop moving (its peers are gone).
sw_settle() {
	local prev= cur i
	for i in $(seq 50); do
		cur=$(vctl stats)
		[ "$cur" = "$prev" ] && return 0
		prev=$cur; sleep 0.2
	done
	fail "switch counters still moving after 10 s"
}

# in_ring WHAT FROM TO: FROM >= TO and at most one ring more (frames left in
# a ring when its reader stopped are the only ones allowed to go missing).
in_ring() {
	[ -n "$2" ] && [ -n "$3" ] && [ "$3" -le "$2" ] && [ $(($2 - $3)) -le $RING ] ||
		fail "$1: ${2:-?} -> ${3:-?}, want at most $RING ($RING-slot ring) missing"
}

sw_start --pmd-cpus 0 --port vhost-user:a --port vhost-user:b --port vhost-user:t --port vhost-user:f
# shellcheck disable=SC2217
tp io 8 "net_virtio_user0,path=$T/a,queues=1,queue_size=$RING,mac=$M0" \
	"net_virtio_user1,path=$T/b,queues=1,queue_size=$RING,mac=$M1" -- \
	--forward-mode=io --tx-first --eth-peer=0,$M1 --eth-peer=1,$M0 </dev/null
sw_wait_running a 15 && sw_wait_running b 15 || { cat "$T/io.log"; sw_dump; fail "testpmd ports did not come up"; }
r0=$(sw_stat a rx_packets); t0=$(date +%s%N)
sleep 3
r1=$(sw_stat a rx_packets); t1=$(date +%s%N)
vctl fdb | tee "$T/fdb.txt"
wait "$PID_io"
grep -q "^a .*$M0" "$T/fdb.txt" && grep -q "^b .*$M1" "$T/fdb.txt" || fail "fdb does not have $M0 on a and $M1 on b"
rx0=$(tp_total "$T/io.log" 0 RX) rx1=$(tp_total "$T/io.log" 1 RX) tx0=$(tp_total "$T/io.log" 0 TX) tx1=$(tp_total "$T/io.log" 1 TX)
sw_settle
vctl stats
arx=$(sw_stat a rx_packets) btx=$(sw_stat b tx_packets) brx=$(sw_stat b rx_packets) atx=$(sw_stat a tx_packets)
ard=$(sw_stat a rx_dropped) brd=$(sw_stat b rx_dropped) atd=$(sw_stat a tx_dropped) btd=$(sw_stat b tx_dropped)
mpps=$(awk "BEGIN{printf \"%.2f\", ($r1-$r0)*2/(($t1-$t0)/1e9)/1e6}")
result "switch_testpmd io loop: ${mpps} Mpps through the switch (both directions); testpmd port0 rx ${rx0:-?} tx ${tx0:-?}, port1 rx ${rx1:-?} tx ${tx1:-?}; switch a rx $arx (runts $ard) tx $atx (dropped $atd), b rx $brx (runts $brd) tx $btx (dropped $btd)"
[ -n "$rx0" ] && [ -n "$rx1" ] && [ "$rx0" -gt 0 ] && [ "$rx1" -gt 0 ] || { strip_ansi <"$T/io.log" | tail -30; fail "testpmd did not receive on both ports"; }
# Inside the switch: every frame in from a went to b (flooded or not).
[ "$arx" = $((btx + btd + ard)) ] || fail "a rx $arx != b tx $btx + b tx dropped $btd + a runts $ard"
[ "$brx" = $((atx + atd + brd)) ] || fail "b rx $brx != a tx $atx + a tx dropped $atd + b runts $brd"
# The edges: what testpmd sent on port0 entered the switch on a; what left b reached port1.
in_ring "testpmd port0 tx -> switch a rx" "$tx0" "$arx"
in_ring "switch b tx -> testpmd port1 rx" "$btx" "$rx1"
in_ring "testpmd port1 tx -> switch b rx" "$tx1" "$brx"
in_ring "switch a tx -> testpmd port0 rx" "$atx" "$rx0"

note "case payload"
# Frames of the io case flooded to t and f (not running then) are in their
# tx drops already: count from here.
ttd0=$(sw_stat t tx_dropped) ftd0=$(sw_stat f tx_dropped)
# --no-flush-rx: frames vhu-fe sends while testpmd starts up stay in the
# ring for forwarding (testpmd would otherwise discard them uncounted).
tp ms 10 "net_virtio_user0,path=$T/t,queues=1,queue_size=$RING,mac=$M2" -- --forward-mode=macswap \
	--port-topology=loop --no-flush-rx </dev/null
sw_wait_running t 15 || { cat "$T/ms.log"; fail "testpmd port t did not come up"; }
bg fe "$VHU_FE" --socket "$T/f" --mac $MF --dst-mac $M2 --pps 50000 --duration 4 --linger 1 --pkt-size 300
wait "$PID_fe"; rc=$?
grep '^fe: total' "$T/fe.log"
wait "$PID_ms"
sw_settle
vctl stats
tprx=$(tp_total "$T/ms.log" 0 RX) tptx=$(tp_total "$T/ms.log" 0 TX)
s=$(fe_total "$T/fe.log" sent) r=$(fe_total "$T/fe.log" recv) e=$(fe_total "$T/fe.log" echo)
frx=$(sw_stat f rx_packets) ftx=$(sw_stat f tx_packets) ftd=$(( $(sw_stat f tx_dropped) - ftd0 ))
trx=$(sw_stat t rx_packets) ttx=$(sw_stat t tx_packets) ttd=$(( $(sw_stat t tx_dropped) - ttd0 ))
result "switch_testpmd payload: vhu-fe sent $s, $e came back through testpmd macswap; switch f rx $frx tx $ftx (dropped $ftd), t rx $trx tx $ttx (dropped $ttd); testpmd rx ${tprx:-?} tx ${tptx:-?}"
[ "$rc" = 0 ] || fail "vhu-fe failed (rc $rc)"
for k in bad foreign other; do
	v=$(fe_total "$T/fe.log" $k); [ "$v" = 0 ] || fail "vhu-fe: $k frames: ${v:-?}"
done
[ "$e" = "$r" ] || fail "vhu-fe received $r frames of which only $e its own echoes"
# vhu-fe keeps receiving 1 s after its last send: every frame it posted was
# taken by the switch and everything sent back to it was read.
[ "$frx" = "$s" ] || fail "switch f rx $frx != vhu-fe sent $s"
[ "$frx" = $((ttx + ttd)) ] || fail "f rx $frx != t tx $ttx + t tx dropped $ttd"
[ "$trx" = $((ftx + ftd)) ] || fail "t rx $trx != f tx $ftx + f tx dropped $ftd"
[ "$ftx" = "$r" ] || fail "switch f tx $ftx != vhu-fe received $r"
in_ring "switch t tx -> testpmd rx" "$ttx" "$tprx"
in_ring "testpmd rx -> testpmd tx (macswap)" "$tprx" "$tptx"
in_ring "testpmd tx -> switch t rx" "$tptx" "$trx"
echo PASS
