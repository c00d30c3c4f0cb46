#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-fwd --mode txonly --verify -> testpmd (virtio-user, rxonly).
# Matrix: mrg_rxbuf 0/1 x in_order 0/1 x queues 1/2, 64-byte frames, plus
# 1500-byte frames on one queue. Per case: testpmd receives packets, never
# more than vhu-fwd enqueued and at most 2 x queues x ring size + one burst
# fewer (to_tp_bound): testpmd stops first (its counts are final then) and
# vhu-fwd can only have gone on to fill the receive rings it no longer
# empties, and the virtio PMD drops what is in them when the port starts
# (each frame takes one slot: 64 and 1500 bytes fit one buffer, mrg or
# not). Every queue carries traffic.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/testpmd_common.inc"

run_case() { # run_case QUEUES MRG INORDER PKTSIZE
	local q=$1 mrg=$2 ino=$3 size=$4 name="q$1-mrg$2-inorder$3-size$4" ok=1 i n
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --queues "$q" --mode txonly --verify --pkt-size "$size"
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	local qargs=(); [ "$q" = 2 ] && qargs=(--rxq=2 --txq=2)
	tp_run "$T/tp.log" "$TP_SECS" "queues=$q,mrg_rxbuf=$mrg,in_order=$ino" rxonly "${qargs[@]}"
	sleep 0.5
	fwd_stop fwd
	local got sent
	got=$(tp_total "$T/tp.log" RX); sent=$(fwd_total "$T/fwd.log" tx-pkts)
	result "testpmd_tx $name vhu-tx ${sent:-?} testpmd-rx ${got:-?} vhu-drops $(fwd_total "$T/fwd.log" drops)"
	if [ -z "$sent" ] || [ -z "$got" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$got" -eq 0 ]; then case_fail "$name: testpmd received nothing"; ok=0
	else loss_check "$name" vhu-to-testpmd "$sent" "$got" "$(to_tp_bound "$q" "$TP_RING")" || ok=0
	fi
	for ((i = 0; i < q; i++)); do
		n=$(fwd_vring_pkts "$T/fwd.log" $((2 * i)))
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
finish
