#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Payload in both directions: vhu-fwd --mode txonly --verify sends frames
# carrying a checksummed payload; testpmd (virtio-user) reflects them
# (macswap, or io on its one port); vhu-fwd dequeues what comes back and
# checks every byte. Matrix: mrg_rxbuf 0/1 x in_order 0/1 x queues 1/2 in
# macswap with 64-byte frames, then io, 1500-byte frames, and with
# mrg_rxbuf=1 frames larger than one receive buffer (chained both ways),
# and features turned off on vhu-fwd's side (--disable-features).
# Per case, counted after testpmd stopped and vhu-fwd drained: on each leg
# (vhu-fwd -> testpmd, testpmd -> vhu-fwd) never more arrived than was
# sent and at most what the receiving rings held when testpmd stopped
# plus one burst is missing (to_tp_bound, to_fwd_bound); every packet that
# came back is one of vhu-fwd's own frames and passed its byte check
# (verified == received: a shifted or foreign frame is not verified); none
# bad; every queue carried traffic.
# Last, io between two sockets: one testpmd with two virtio-user ports in
# io mode with --tx-first, vhu-fwd --mode io over both sockets: the first
# bursts circulate port 0 -> socket 1 -> socket 2 -> port 1 -> port 0.
# Only those 2 x queues x burst packets exist, fewer than a ring holds: at
# the end, what is missing on the two legs plus what vhu-fwd dropped (the
# bursts it held when testpmd closed one port first) is at most that, and
# vhu-fwd's received = sent + dropped. (A packet lost mid-run would only
# shrink the circulating set, which these counts cannot tell from one
# stranded at the end: the matrix above is the loss test.) testpmd's
# frames have their IPv4 headers checked, none unchecked.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/testpmd_common.inc"

run_case() { # run_case QUEUES MRG INORDER PKTSIZE MODE [FEATURES-VHU-FWD-DISABLES]
	local q=$1 mrg=$2 ino=$3 size=$4 mode=$5 off=${6:-} ok=1 i n f
	local name="$5-q$1-mrg$2-inorder$3-size$4${6:+-off-${6//,/+}}"
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --queues "$q" --mode txonly --verify --pkt-size "$size" \
		${off:+--disable-features "$off"}
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	local args=(--port-topology=loop); [ "$q" = 2 ] && args+=(--rxq=2 --txq=2)
	[ "$size" -gt 1500 ] && args+=(--max-pkt-len=$((size + 64)) --enable-scatter)
	tp_run "$T/tp.log" "$TP_SECS" "queues=$q,mrg_rxbuf=$mrg,in_order=$ino" "$mode" "${args[@]}"
	sleep 0.5
	fwd_stop fwd
	local sent back bad tprx tptx
	sent=$(fwd_total "$T/fwd.log" tx-pkts); back=$(fwd_total "$T/fwd.log" rx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad)
	tprx=$(tp_total "$T/tp.log" RX); tptx=$(tp_total "$T/tp.log" TX)
	result "testpmd_loop $name vhu-tx ${sent:-?} testpmd-rx ${tprx:-?} testpmd-tx ${tptx:-?} vhu-rx ${back:-?} bad ${bad:-?}"
	if [ -z "$sent" ] || [ -z "$back" ] || [ -z "$tprx" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$back" -eq 0 ]; then case_fail "$name: nothing came back"; ok=0
	else
		loss_check "$name" vhu-to-testpmd "$sent" "$tprx" "$(to_tp_bound "$q" "$TP_RING")" || ok=0
		loss_check "$name" testpmd-to-vhu "$tptx" "$back" "$(to_fwd_bound "$q" "$TP_RING")" || ok=0
		verify_check "$name" "$T/fwd.log" own || ok=0
	fi
	for ((i = 0; i < q; i++)); do
		n=$(fwd_vring_pkts "$T/fwd.log" $((2 * i + 1)))
		[ "$n" -gt 0 ] || { case_fail "$name: nothing back on queue $i"; ok=0; }
	done
	for f in ${off//,/ }; do
		if [[ " $(fwd_features "$T/fwd.log") " == *" $f "* ]]; then
			case_fail "$name: $f negotiated although disabled"; ok=0
		fi
	done
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
	cp "$T/fwd.log" "$T/fwd-$name.log"; cp "$T/tp.log" "$T/tp-$name.log"
}

io2_case() { # io2_case QUEUES
	local q=$1 name="io2-q$1" ok=1 s
	note "case $name"
	rm -f "$SOCK" "$SOCK.2"
	fwd_start fwd --socket "$SOCK" --socket "$SOCK.2" --queues "$q" --mode io --verify
	wait_for 5 test -S "$SOCK.2" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK.2"; }
	local args=(--tx-first); [ "$q" = 2 ] && args+=(--rxq=2 --txq=2)
	TP_SOCK2=$SOCK.2 tp_run "$T/tp.log" "$TP_SECS" "queues=$q" io "${args[@]}"
	sleep 0.5
	fwd_stop fwd
	local rx tx bad tprx tptx drops circ=$((2 * q * TP_BURST))
	rx=$(fwd_total "$T/fwd.log" rx-pkts); tx=$(fwd_total "$T/fwd.log" tx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad); drops=$(fwd_total "$T/fwd.log" drops)
	tprx=$(tp_total "$T/tp.log" RX); tptx=$(tp_total "$T/tp.log" TX)
	result "testpmd_loop $name testpmd-rx ${tprx:-?} testpmd-tx ${tptx:-?} vhu-rx ${rx:-?} vhu-tx ${tx:-?} drops ${drops:-?} testpmd-tx-dropped $(tp_total "$T/tp.log" TX dropped) bad ${bad:-?}"
	if [ -z "$rx" ] || [ -z "$tprx" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$tx" -lt 1000 ] || [ "$tprx" -lt 1000 ]; then case_fail "$name: the bursts did not circulate"; ok=0
	elif [ "$rx" != $((tx + drops)) ]; then case_fail "$name: vhu-fwd got $rx, sent $tx, dropped $drops"; ok=0
	elif [ $((tptx - rx + drops + tx - tprx)) -gt "$circ" ]; then
		case_fail "$name: $((tptx - rx)) + $drops + $((tx - tprx)) missing of $circ circulating"; ok=0
	else
		loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$circ" || ok=0
		loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$circ" || ok=0
		verify_check "$name" "$T/fwd.log" peer || ok=0
	fi
	for s in "$SOCK" "$SOCK.2"; do
		grep -q "device up: socket $s " "$T/fwd.log" || { case_fail "$name: no device on $s"; ok=0; }
	done
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
	cp "$T/fwd.log" "$T/fwd-$name.log"; cp "$T/tp.log" "$T/tp-$name.log"
}

for q in 1 2; do
	for mrg in 0 1; do
		for ino in 0 1; do run_case "$q" "$mrg" "$ino" 64 macswap; done
	done
done
run_case 1 1 1 64 io
run_case 2 0 0 64 io
run_case 1 0 0 1500 macswap
run_case 1 1 1 1500 macswap
run_case 1 1 0 9000 macswap
run_case 2 1 1 9000 macswap
run_case 1 1 1 64 macswap mrg_rxbuf,in_order,indirect
run_case 1 1 1 1500 macswap event_idx
io2_case 1
io2_case 2
finish
