#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The in-tree frontend (libvhu's vhu_fe) against DPDK's own vhost backend:
# testpmd's net_vhost forwards (macswap or io) what tests/integ/fe_vs_dpdk
# sends, and the program checks every byte that comes back. Covers 1 and 2
# queue pairs, mergeable receive buffers on and off, merged and
# multi-segment packets, header-split and indirect descriptors, several
# memory regions, EVENT_IDX on and off, and the frontend as socket server.
source "$(dirname "$0")/../lib/common.sh"
exec </dev/null # testpmd must not see a terminal

need_cmd dpdk-testpmd
BIN=${FE_VS_DPDK:-$VHU_BUILD/tests/integ/fe_vs_dpdk}
[ -x "$BIN" ] || skip "$BIN is not built (make build)"

COUNT=${FE_VS_DPDK_COUNT:-20000}
n=0

# run_case NAME QP MODE(macswap|io) SERVER(0|1) FRONTEND-ARGS...
# --no-flush-rx: as vhost client, testpmd may connect and receive before
# its forwarding starts; by default it would then throw those packets away.
run_case() {
	local name=$1 qp=$2 mode=$3 server=$4; shift 4
	local sock=$T/$name.sock vdev rc
	n=$((n + 1))
	vdev="net_vhost0,iface=$sock,queues=$qp"
	[ "$server" = 1 ] && vdev+=",client=1"
	note "$name: testpmd $mode, $qp queue pair(s); fe_vs_dpdk $*"
	bg "tp$n" timeout -k 5 180 dpdk-testpmd --lcores '0@1,1@0' --no-pci \
		--file-prefix="fevsdpdk$$-$n" --no-huge -m 512 --vdev "$vdev" -- \
		--nb-cores=1 --rxq="$qp" --txq="$qp" --total-num-mbufs=16384 \
		--no-flush-rx --forward-mode="$mode" --stats-period 1
	local pid; eval "pid=\$PID_tp$n"
	if [ "$server" = 0 ]; then
		wait_for 30 test -S "$sock" || { strip_ansi <"$T/tp$n.log" | tail -20; fail "$name: testpmd did not create $sock"; }
	else
		set -- --server "$@"
	fi
	timeout -k 5 120 "$BIN" --sock "$sock" --qp "$qp" --count "$COUNT" \
		$([ "$mode" = io ] && echo --io) "$@" >"$T/fe$n.log" 2>&1
	rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sed "s/^RESULT fe_vs_dpdk/RESULT fe_vs_dpdk $name/" "$T/fe$n.log"
	if [ "$rc" != 0 ]; then
		echo "---- testpmd log (last lines)"
		strip_ansi <"$T/tp$n.log" | grep -v '^ *$' | tail -40
		fail "$name: fe_vs_dpdk exited $rc"
	fi
}

run_case q1-mrg           1 macswap 0
run_case q1-mrg-merged    1 macswap 0 --buf-size 1024 --seg-room 512 --tx-segs 3
run_case q1-mrg-jumbo     1 macswap 0 --max-len 9000 --tx-segs 2
run_case q1-nomrg         1 macswap 0 --no-mrg
run_case q2-mrg           2 macswap 0 --buf-size 1024
run_case q2-nomrg         2 macswap 0 --no-mrg --tx-segs 2
run_case q1-split-indir   1 macswap 0 --split-hdr --indirect --regions 3 --buf-size 1024
run_case q2-split-noevidx 2 macswap 0 --split-hdr --no-event-idx --no-mrg --regions 4 --ring 128
run_case q2-indir-merged  2 io      0 --indirect --regions 2 --buf-size 512 --seg-room 1024 --poll-mode
run_case q1-server        1 macswap 1
run_case q2-server-nomrg  2 macswap 1 --no-mrg --indirect
note "all $n cases passed"
exit 0
