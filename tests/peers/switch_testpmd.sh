#!/usr/bin/env bash
# DPDK testpmd (virtio-user) through vhu-switch.
# Case io: one testpmd with two virtio-user ports (MACs M0, M1, --eth-peer
# so each sends to the other's MAC) in io mode with --tx-first: frames
# loop port0 -> switch a -> b -> port1 -> port0 ... Checked: both testpmd
# ports receive, the switch learnt both MACs on the right ports, its rx
# and tx counts agree with testpmd's within what is in flight. Figure: Mpps
# through the switch.
# Case payload: testpmd in macswap on port t reflects vhu-fe's checksummed
# frames (port f): every frame that comes back is checked whole (testpmd
# itself cannot check payloads), none bad, most come back.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd dpdk-testpmd
setup_hugepages
M0=02:00:00:00:01:00 M1=02:00:00:00:01:01 M2=02:00:00:00:01:02 MF=02:00:00:00:01:0f
CPU_TP=$(( $(nproc) - 1 ))
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

sw_start --pmd-cpus 0 --port vhost-user:a --port vhost-user:b --port vhost-user:t --port vhost-user:f
# shellcheck disable=SC2217
tp io 8 "net_virtio_user0,path=$T/a,queues=1,mac=$M0" "net_virtio_user1,path=$T/b,queues=1,mac=$M1" -- \
	--forward-mode=io --tx-first --eth-peer=0,$M1 --eth-peer=1,$M0 </dev/null
sw_wait_running a 15 && sw_wait_running b 15 || { cat "$T/io.log"; sw_dump; fail "testpmd ports did not come up"; }
r0=$(sw_stat a rx_packets); t0=$(date +%s%N)
sleep 3
r1=$(sw_stat a rx_packets); t1=$(date +%s%N)
vctl fdb | tee "$T/fdb.txt"
wait "$PID_io"
grep -q "^a .*$M0" "$T/fdb.txt" && grep -q "^b .*$M1" "$T/fdb.txt" || fail "fdb does not have $M0 on a and $M1 on b"
rx0=$(tp_total "$T/io.log" 0 RX) rx1=$(tp_total "$T/io.log" 1 RX) tx0=$(tp_total "$T/io.log" 0 TX) tx1=$(tp_total "$T/io.log" 1 TX)
vctl stats
arx=$(sw_stat a rx_packets) btx=$(sw_stat b tx_packets) brx=$(sw_stat b rx_packets) atx=$(sw_stat a tx_packets)
mpps=$(awk "BEGIN{printf \"%.2f\", ($r1-$r0)*2/(($t1-$t0)/1e9)/1e6}")
result "switch_testpmd io loop: ${mpps} Mpps through the switch (both directions); testpmd port0 rx ${rx0:-?} tx ${tx0:-?}, port1 rx ${rx1:-?} tx ${tx1:-?}; switch a rx $arx tx $atx, b rx $brx tx $btx"
[ -n "$rx0" ] && [ -n "$rx1" ] && [ "$rx0" -gt 0 ] && [ "$rx1" -gt 0 ] || { strip_ansi <"$T/io.log" | tail -30; fail "testpmd did not receive on both ports"; }
# What testpmd sent on port0 entered the switch on a; what left b reached port1.
[ "$arx" -le "$tx0" ] && [ $((tx0 - arx)) -le 4096 ] || fail "switch a rx $arx vs testpmd port0 tx $tx0"
[ "$rx1" -le "$btx" ] && [ $((btx - rx1)) -le 4096 ] || fail "testpmd port1 rx $rx1 vs switch b tx $btx"

note "case payload"
tp ms 10 "net_virtio_user0,path=$T/t,queues=1,mac=$M2" -- --forward-mode=macswap --port-topology=loop </dev/null
sw_wait_running t 15 || { cat "$T/ms.log"; fail "testpmd port t did not come up"; }
bg fe "$VHU_FE" --socket "$T/f" --mac $MF --dst-mac $M2 --pps 50000 --duration 4 --linger 1 --pkt-size 300
wait "$PID_fe"; rc=$?
grep '^fe: total' "$T/fe.log"
s=$(fe_total "$T/fe.log" sent) e=$(fe_total "$T/fe.log" echo) b=$(fe_total "$T/fe.log" bad)
result "switch_testpmd payload: vhu-fe sent $s, $e came back through testpmd macswap, bad $b"
[ "$rc" = 0 ] && [ "$b" = 0 ] || fail "bad frames: $b (rc $rc)"
[ "$e" -le "$s" ] && [ $((e * 100)) -ge $((s * 95)) ] || fail "only $e of $s came back"
echo PASS
