#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# testpmd (virtio-user, txonly) -> vhu-fwd --mode rxonly --verify.
# Matrix: mrg_rxbuf 0/1 x in_order 0/1 x queues 1/2 with 64-byte frames,
# plus 1500-byte frames. Per case: vhu-fwd receives what testpmd says it
# sent, never more and at most queues x ring size + one burst less (what
# was left in testpmd's transmit rings when it stopped, to_fwd_bound);
# every queue carries traffic; --verify finds no bad packet and leaves none
# unchecked (testpmd's frames are UDP/IPv4: vhu-fwd checks their IPv4
# header checksum and lengths, not their payload, which it cannot know).
# Last, one vhu-fwd serves three testpmd runs in a row under traffic
# (device teardown and handoff between the control and forwarding
# threads): it must count what all three sent, within the sum of the
# three runs' bounds.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/testpmd_common.inc"

run_case() { # run_case QUEUES MRG INORDER PKTSIZE
	local q=$1 mrg=$2 ino=$3 size=$4 name="q$1-mrg$2-inorder$3-size$4" ok=1 i n
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --queues "$q" --mode rxonly --verify
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	local args=(--txpkts="$size"); [ "$q" = 2 ] && args+=(--rxq=2 --txq=2)
	tp_run "$T/tp.log" "$TP_SECS" "queues=$q,mrg_rxbuf=$mrg,in_order=$ino" txonly "${args[@]}"
	sleep 0.5
	fwd_stop fwd
	local sent got bad
	sent=$(tp_total "$T/tp.log" TX); got=$(fwd_total "$T/fwd.log" rx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad)
	result "testpmd_rx $name testpmd-tx ${sent:-?} vhu-rx ${got:-?} bad ${bad:-?}"
	if [ -z "$sent" ] || [ -z "$got" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$got" -eq 0 ]; then case_fail "$name: vhu-fwd received nothing"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	else
		loss_check "$name" testpmd-to-vhu "$sent" "$got" "$(to_fwd_bound "$q" "$TP_RING")" || ok=0
		verify_check "$name" "$T/fwd.log" peer || ok=0
	fi
	for ((i = 0; i < q; i++)); do
		n=$(fwd_vring_pkts "$T/fwd.log" $((2 * i + 1)))
		[ "$n" -gt 0 ] || { case_fail "$name: nothing on queue $i"; ok=0; }
	done
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
	cp "$T/fwd.log" "$T/fwd-$name.log"; cp "$T/tp.log" "$T/tp-$name.log"
}

for q in 1 2; do
	for mrg in 0 1; do
		for ino in 0 1; do run_case "$q" "$mrg" "$ino" 64; done
	done
done
run_case 1 0 0 1500
run_case 1 1 1 1500

reconnect_case() {
	local name=reconnect runs=3 i sent=0 n ok=1 bound=0 qi
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --queues 2 --mode rxonly --verify
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	for ((i = 1; i <= runs; i++)); do
		qi=$(( (i % 2) + 1 ))
		tp_run "$T/tp$i.log" 3 "queues=$qi,mrg_rxbuf=$((i % 2))" txonly \
			$( [ "$qi" = 1 ] || echo --rxq=2 --txq=2 )
		n=$(tp_total "$T/tp$i.log" TX); sent=$((sent + ${n:-0}))
		bound=$((bound + $(to_fwd_bound "$qi" "$TP_RING")))
	done
	sleep 0.5
	fwd_stop fwd
	local got bad ups
	got=$(fwd_total "$T/fwd.log" rx-pkts); bad=$(fwd_total "$T/fwd.log" bad)
	ups=$(grep -c "device up" "$T/fwd.log")
	result "testpmd_rx $name runs $runs devices $ups testpmd-tx $sent vhu-rx ${got:-?} bad ${bad:-?}"
	if [ -z "$got" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$ups" != "$runs" ]; then case_fail "$name: $ups devices came up for $runs runs"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	else
		loss_check "$name" testpmd-to-vhu "$sent" "$got" "$bound" || ok=0
		verify_check "$name" "$T/fwd.log" peer || ok=0
	fi
	[ $ok = 1 ] || show_logs "$T/tp$runs.log" "$T/fwd.log"
}
reconnect_case
finish
