#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Packed rings with testpmd (virtio-user packed_vq=1) against vhu-fwd.
# Cases: the payload round trip (vhu-fwd txonly --verify, testpmd macswap)
# for mrg_rxbuf 0/1 x in_order 0/1, testpmd txonly -> vhu-fwd rxonly,
# two queues, vectorized=1 (AVX-512 path when the CPU has it) and
# queue_size=255 (packed rings need not be a power of two), and vhu-fwd
# --interrupt (guest notifications on packed rings).
# Per case, counted after testpmd stopped: each leg loses at most what the
# receiving rings held plus one burst (to_tp_bound, to_fwd_bound, with the
# case's queue_size) and never gains; round-trip packets all are vhu-fwd's
# own and verified byte by byte, testpmd's frames all had their IPv4
# headers checked; every queue carried traffic. The ping-pong (testpmd io
# --tx-first, vhu-fwd macswap) circulates queues x burst packets, fewer
# than a ring holds: what is missing on both legs plus what vhu-fwd
# dropped at the end is at most that, and received = sent + dropped. The
# --interrupt cases must show that vhu-fwd slept, was woken by kicks and
# never hit the safety timeout with work waiting (irq_check).
# Skips while libvhu does not offer packed rings: virtio-user then falls
# back to split rings, which the other testpmd_*.sh scripts cover.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/testpmd_common.inc"

run_case() { # run_case NAME DEVARGS QUEUES TP-MODE FWD-MODE PKTSIZE [VHU-FWD-ARGS...]
	local name=$1 devargs=$2 q=$3 tpmode=$4 fwdmode=$5 size=$6 ok=1 i n
	shift 6
	note "case $name ($devargs)"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --queues "$q" --mode "$fwdmode" --verify --pkt-size "$size" "$@"
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	local args=(--port-topology=loop --txpkts="$size"); [ "$q" = 2 ] && args+=(--rxq=2 --txq=2)
	[ "$tpmode" = io ] && args+=(--tx-first)
	tp_run "$T/tp.log" "$TP_SECS" "queues=$q,packed_vq=1,$devargs" "$tpmode" "${args[@]}"
	sleep 0.5
	fwd_stop fwd
	local feats; feats=$(fwd_features "$T/fwd.log")
	if [ -z "$feats" ]; then
		show_logs "$T/tp.log" "$T/fwd.log"; fail "$name: no device came up"
	fi
	if ! [[ " $feats " == *" packed "* ]]; then
		note "negotiated: $feats"
		skip "packed rings not offered by libvhu"
	fi
	local tprx tptx rx tx bad drops ring circ=$((q * TP_BURST))
	ring=$(ring_size "$devargs")
	tprx=$(tp_total "$T/tp.log" RX); tptx=$(tp_total "$T/tp.log" TX)
	rx=$(fwd_total "$T/fwd.log" rx-pkts); tx=$(fwd_total "$T/fwd.log" tx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad); drops=$(fwd_total "$T/fwd.log" drops)
	result "testpmd_packed $name testpmd-rx ${tprx:-?} testpmd-tx ${tptx:-?} vhu-rx ${rx:-?} vhu-tx ${tx:-?} drops ${drops:-?} bad ${bad:-?}"
	if [ -z "$tprx" ] || [ -z "$rx" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$rx" -eq 0 ]; then case_fail "$name: vhu-fwd received nothing"; ok=0
	else
		case $fwdmode in
		txonly)
			loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$(to_tp_bound "$q" "$ring")" || ok=0
			loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$(to_fwd_bound "$q" "$ring")" || ok=0
			verify_check "$name" "$T/fwd.log" own || ok=0 ;;
		rxonly)
			loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$(to_fwd_bound "$q" "$ring")" || ok=0
			verify_check "$name" "$T/fwd.log" peer || ok=0 ;;
		macswap)
			# At the end the circulating burst may be stranded anywhere,
			# also in vhu-fwd's hands when the receive vring went away.
			[ "$rx" = $((tx + drops)) ] && [ $((tptx - rx + drops + tx - tprx)) -le "$circ" ] ||
				{ case_fail "$name: $rx received, $tx sent, $drops dropped, testpmd $tptx/$tprx, $circ circulating"; ok=0; }
			loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$circ" || ok=0
			loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$circ" || ok=0
			verify_check "$name" "$T/fwd.log" peer || ok=0 ;;
		esac
	fi
	if [[ " $* " == *" --interrupt "* ]]; then irq_check "$name" "$T/fwd.log" || ok=0; fi
	for ((i = 0; i < q; i++)); do
		n=$(fwd_vring_pkts "$T/fwd.log" $((2 * i + 1)))
		[ "$n" -gt 0 ] || { case_fail "$name: nothing on queue $i"; ok=0; }
	done
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
	cp "$T/fwd.log" "$T/fwd-$name.log"; cp "$T/tp.log" "$T/tp-$name.log"
}

for mrg in 0 1; do
	for ino in 0 1; do
		run_case "loop-mrg$mrg-inorder$ino" "mrg_rxbuf=$mrg,in_order=$ino" 1 macswap txonly 64
	done
done
run_case rx-mrg1-inorder0 "mrg_rxbuf=1,in_order=0" 1 txonly rxonly 64
run_case rx-mrg0-inorder1 "mrg_rxbuf=0,in_order=1" 1 txonly rxonly 64
run_case loop-q2 "mrg_rxbuf=1,in_order=1" 2 macswap txonly 64
run_case loop-size1500 "mrg_rxbuf=1,in_order=0" 1 macswap txonly 1500
TP_EAL="--force-max-simd-bitwidth=512"
run_case loop-vectorized "vectorized=1,mrg_rxbuf=0,in_order=1" 1 macswap txonly 64
run_case rx-vectorized "vectorized=1,mrg_rxbuf=0,in_order=1" 1 txonly rxonly 64
TP_EAL=
run_case loop-qsize255 "queue_size=255,mrg_rxbuf=1,in_order=0" 1 macswap txonly 64
run_case rx-qsize255 "queue_size=255,mrg_rxbuf=0,in_order=1" 1 txonly rxonly 64
run_case loop-interrupt "mrg_rxbuf=1,in_order=0" 1 macswap txonly 64 --interrupt
run_case rx-interrupt "mrg_rxbuf=0,in_order=1" 1 txonly rxonly 64 --interrupt
run_case pingpong-interrupt "mrg_rxbuf=1,in_order=1" 1 io macswap 64 --interrupt
finish
