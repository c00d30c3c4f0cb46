#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# testpmd (virtio-user) as the socket server (server=1), vhu-fwd --client.
# Cases: testpmd txonly -> vhu-fwd rxonly --verify (queues 1 and 2),
# vhu-fwd txonly -> testpmd rxonly, the macswap round trip with payload
# checks (queues 1 and 2), and vhu-fwd started before testpmd listens (it
# must retry until the socket appears). Per case, counted after testpmd
# stopped: each leg loses at most what the receiving rings held plus one
# burst (to_tp_bound, to_fwd_bound) and never gains; no bad packet; the
# round trips' packets all are vhu-fwd's own and verified byte by byte,
# testpmd's frames all had their IPv4 headers checked (none unchecked).
# Last, one vhu-fwd --client outlives three testpmd servers in a row and
# must reconnect to each: three devices, and each one carried what its
# testpmd sent, within the same bound.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/testpmd_common.inc"

run_case() { # run_case NAME ORDER(tp-first|fwd-first) QUEUES TP-MODE FWD-MODE
	local name=$1 order=$2 q=$3 tpmode=$4 fwdmode=$5 ok=1
	note "case $name"
	rm -f "$SOCK"
	local args=(--port-topology=loop); [ "$q" = 2 ] && args+=(--rxq=2 --txq=2)
	local fwdargs=(--socket "$SOCK" --client --queues "$q" --mode "$fwdmode" --verify)
	if [ "$order" = tp-first ]; then
		tp_bg tp $((TP_SECS + 3)) "queues=$q,server=1" "$tpmode" "${args[@]}"
		wait_for 10 test -S "$SOCK" || { show_logs "$T/tp.log"; fail "testpmd did not create $SOCK"; }
		fwd_start fwd "${fwdargs[@]}"
	else
		fwd_start fwd "${fwdargs[@]}"
		sleep 1
		tp_bg tp $((TP_SECS + 4)) "queues=$q,server=1" "$tpmode" "${args[@]}"
	fi
	tp_wait tp
	sleep 0.5
	fwd_stop fwd
	local tprx tptx rx tx bad
	tprx=$(tp_total "$T/tp.log" RX); tptx=$(tp_total "$T/tp.log" TX)
	rx=$(fwd_total "$T/fwd.log" rx-pkts); tx=$(fwd_total "$T/fwd.log" tx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad)
	result "testpmd_client $name testpmd-rx ${tprx:-?} testpmd-tx ${tptx:-?} vhu-rx ${rx:-?} vhu-tx ${tx:-?} bad ${bad:-?}"
	if [ -z "$tprx" ] || [ -z "$rx" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	else
		case $fwdmode in
		rxonly) [ "$rx" -gt 0 ] || { case_fail "$name: vhu-fwd got nothing"; ok=0; }
			loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$(to_fwd_bound "$q" "$TP_RING")" || ok=0
			verify_check "$name" "$T/fwd.log" peer || ok=0 ;;
		txonly) [ "$tprx" -gt 0 ] || { case_fail "$name: testpmd got nothing"; ok=0; }
			loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$(to_tp_bound "$q" "$TP_RING")" || ok=0
			if [ "$tpmode" = macswap ]; then
				[ "$rx" -gt 0 ] || { case_fail "$name: nothing came back"; ok=0; }
				loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$(to_fwd_bound "$q" "$TP_RING")" || ok=0
				verify_check "$name" "$T/fwd.log" own || ok=0
			fi ;;
		esac
	fi
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
	cp "$T/fwd.log" "$T/fwd-$name.log"; cp "$T/tp.log" "$T/tp-$name.log"
}

run_case rx-q1 tp-first 1 txonly rxonly
run_case rx-q2 tp-first 2 txonly rxonly
run_case tx-q1 tp-first 1 rxonly txonly
run_case loop-q1 tp-first 1 macswap txonly
run_case loop-q2 tp-first 2 macswap txonly
run_case rx-q1-fwd-first fwd-first 1 txonly rxonly

reconnect_case() {
	local name=reconnect runs=3 i sent=0 n ok=1 bound id ids=() per=()
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --client --mode rxonly --verify
	for ((i = 1; i <= runs; i++)); do
		rm -f "$SOCK"
		tp_bg tp $((TP_SECS + 3)) "queues=1,server=1" txonly
		tp_wait tp
		cp "$T/tp.log" "$T/tp$i.log"
		n=$(tp_total "$T/tp$i.log" TX); sent=$((sent + ${n:-0})); per+=("${n:-0}")
	done
	sleep 0.5
	fwd_stop fwd
	local got bad ups
	got=$(fwd_total "$T/fwd.log" rx-pkts); bad=$(fwd_total "$T/fwd.log" bad)
	ups=$(grep -c "device up" "$T/fwd.log")
	result "testpmd_client $name runs $runs devices $ups testpmd-tx $sent vhu-rx ${got:-?} bad ${bad:-?}"
	if [ -z "$got" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$ups" != "$runs" ]; then case_fail "$name: $ups devices came up for $runs runs"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	else
		# Device i is testpmd run i: each must have carried traffic, and
		# what that testpmd sent, within one run's bound.
		bound=$(to_fwd_bound 1 "$TP_RING")
		mapfile -t ids < <(fwd_dev_ids "$T/fwd.log")
		for ((i = 0; i < runs; i++)); do
			id=${ids[$i]:-none}
			n=$(fwd_dev_vring_pkts "$T/fwd.log" "$id" 1)
			[ "${per[$i]}" -gt 0 ] && [ "$n" -gt 0 ] ||
				{ case_fail "$name: run $((i + 1)) (device $id): testpmd sent ${per[$i]}, vhu-fwd got $n"; ok=0; }
			loss_check "$name-run$((i + 1))" testpmd-to-vhu "${per[$i]}" "$n" "$bound" || ok=0
		done
		loss_check "$name" testpmd-to-vhu "$sent" "$got" $((runs * bound)) || ok=0
		verify_check "$name" "$T/fwd.log" peer || ok=0
	fi
	[ $ok = 1 ] || show_logs "$T/tp$runs.log" "$T/fwd.log"
}
reconnect_case
finish
