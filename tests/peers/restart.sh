#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch crashes (SIGKILL) and starts again while QEMU keeps running;
# guest traffic must resume without rebooting the guest (issue 7).
#
# Two guests, two NICs each, two switches (two L2 domains):
#   case srv: eth0 on switch S's server ports sa/sb, QEMU's chardev is a
#             client with reconnect=1 (169.254.70.0/24)
#   case cli: eth1 on switch C's client ports ca/cb, QEMU's chardev is the
#             server (server=on,wait=off) and the switch connects to it
#             (169.254.71.0/24)
# Guest A pings B on both subnets at once (pingloop, peer and peer1); after
# 4 s both switches are killed with SIGKILL and started again with the same
# ports. The whole run is done once with split rings and once with packed
# rings (virtio-net-pci packed=on). A packed run whose guest did not get
# VIRTIO_F_RING_PACKED makes the script skip (exit 77: a failure under
# VHU_TEST_STRICT), never pass.
# Checked per case: both ports came up on the new switch within
# RESTART_WINDOW_MAX of the kill; the last pings of the loop were answered
# (traffic resumed); lost pings <= ceil(window / interval) + 2, where
# window is the time from the kill to the later of the case's two ports
# being up again (its "device ready"): pings sent while a port is down are
# lost, plus at most one ping in the killed switch's rings (one is in
# flight at a time) and the loop's last one, whose reply may miss the
# deadline; A booted once. Packed cases: the new switch logged "resuming
# there" for both vrings of both of the case's sockets (the ring resync
# below; QEMU's stale base is 0 and every vring has moved off it).
# RESULT per case: lost pings, window.
#
# What QEMU does: when the backend's socket closes, QEMU stops the vhost
# device; GET_VRING_BASE fails, so it takes the last avail index from the
# used index in guest memory (split rings; packed rings have no such index
# in shared memory, QEMU 7.2 keeps its old value) and sends it in
# SET_VRING_BASE to the new backend. Descriptors in flight at the crash are
# lost or sent again (no inflight tracking): a few lost pings are expected.
# Packed rings: QEMU 7.2 has no index to take from guest memory and sends
# its stale position (the one from the ring's last start: 0 after boot).
# DPDK's net_vhost then waits at the wrong descriptor for ever (seen here:
# 21 of 95 pings, none after the restart). libvhu reads the position off
# the ring instead (vhu_packed_resync: the only position from which the
# ring reads as "available, then used in the previous lap") and logs
# "resuming there".
#
# Mechanisms off (run every time, must show the failure they predict, or
# the test fails): one more packed run of RESTART_OFF_TIME (12 s) in which
#   srv: QEMU's client chardev has no reconnect=1: the ports never come up
#        on the new switch S and A's pings on eth0 do not resume;
#   cli: the new switch C runs with --no-ring-resync: its ports come up, no
#        vring is resynced, and A's pings on eth1 do not resume (libvhu
#        waits at QEMU's stale position, as DPDK does).
#   VHU_DISABLE_FEATURES=proto:inflight_shmfd tests/peers/restart.sh is not
#   among them: QEMU 7.2 sends GET/SET_INFLIGHT_FD only for vhost-user-blk
#   and -scsi, so it makes no difference here; the in-tree frontend's
#   tests/integ/inflight.c covers inflight tracking.
#
# Knobs: RESTART_RINGS ("split packed"), RESTART_INTERVAL (0.2),
# RESTART_TIME (pingloop length, 20 s), RESTART_DOWN (seconds between the
# kill and the new start, 0.5), RESTART_WINDOW_MAX (RESTART_DOWN + 2 s for
# two of QEMU's 1 s reconnect tries + 3 s for start-up and negotiation on a
# loaded TCG host), RESTART_OFF_TIME (12), RESTART_MUSTFAIL (1; 0 leaves
# the mechanism-off run out, for manual runs only).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
. "$(dirname "$0")/switch_features.inc"
guest_prepare || skip "no guest kernel/initramfs (see above)"

RINGS=${RESTART_RINGS:-split packed} IV=${RESTART_INTERVAL:-0.2} DL0=${RESTART_TIME:-20}
DOWN=${RESTART_DOWN:-0.5} OFF_DL=${RESTART_OFF_TIME:-12}
WMAX=${RESTART_WINDOW_MAX:-$(awk "BEGIN{print $DOWN + 2 + 3}")}
export GUEST_MEM=${GUEST_MEM:-128M} GUEST_TIMEOUT=${GUEST_TIMEOUT:-80}
ran=0 failed=() unoffered=()

con() { tr -d '\r' <"$T/$1.console"; }
# last_seq NAME ADDR: the highest seq answered by ADDR on NAME's console.
last_seq() { con "$1" | sed -n "s/.*from $2: seq=\([0-9]*\).*/\1/p" | sort -n | tail -1; }
# ready_at LOG SOCK: when the switch of LOG had SOCK's device ready (epoch s).
ready_at() { grep -m1 "$2#[0-9]*: device ready" "$1" | cut -d' ' -f1; }
# resynced LOG SOCK: vrings of SOCK the switch resumed where the ring stopped.
resynced() { grep -c "$2#[0-9]*: vring [0-9]*: .*resuming there" "$1"; }

# run_rings split|packed normal|off
run_rings() {
	local r=$1 mode=$2 dx='' tag=$1 ga gb rc=reconnect=1 dl=$DL0 n
	[ "$r" = packed ] && dx=packed=on
	[ "$mode" = off ] && { tag=${r}off rc='' dl=$OFF_DL; }
	ga=ga_$tag gb=gb_$tag n=$(awk "BEGIN{print int($dl/$IV)}")
	note "rings $r$([ "$mode" = off ] && echo ", mechanisms off: QEMU reconnect on eth0, ring resync on the new switch C"): switches S (server ports) and C (client ports)"
	sw_start_as "S1$tag" "$T/ctlS$tag" --port "vhost-user:sa$tag" --port "vhost-user:sb$tag"
	guest_boot "$gb" "$T/sa$tag${rc:+,$rc} $T/qb$tag,server=on,wait=off" "" "$dx" \
		"vhu.mode=serve vhu.ip=169.254.70.2/24 vhu.ip1=169.254.71.2/24 vhu.time=$((dl + 25)) vhu.limit=75" || fail "guest_boot B"
	# (B's eth0 goes to port sa, A's to sb: the names do not matter.)
	guest_boot "$ga" "$T/sb$tag${rc:+,$rc} $T/qa$tag,server=on,wait=off" "" "$dx" \
		"vhu.mode=pingloop vhu.ip=169.254.70.1/24 vhu.ip1=169.254.71.1/24 vhu.peer=169.254.70.2 vhu.peer1=169.254.71.2 vhu.interval=$IV vhu.count=$n vhu.time=$dl vhu.wait=40 vhu.limit=75" || fail "guest_boot A"
	# QEMU listens on eth1's socket only once eth0 is connected.
	wait_for 30 sh -c "test -S '$T/qa$tag' && test -S '$T/qb$tag'" || { guest_dump "$ga"; guest_dump "$gb"; fail "QEMU did not listen on $T/qa$tag and $T/qb$tag"; }
	local cports=(--port "vhost-user:ca$tag,path=$T/qa$tag,client" --port "vhost-user:cb$tag,path=$T/qb$tag,client")
	sw_start_as "C1$tag" "$T/ctlC$tag" "${cports[@]}"

	wait_for 60 sh -c "grep -q 'VHU-GUEST: pingloop start' '$T/$ga.console'" ||
		{ guest_dump "$ga"; guest_dump "$gb"; tail -20 "$T/S1$tag.log" "$T/C1$tag.log"; fail "$tag: A's pingloop did not start"; }
	local packed_ok=1
	if [ "$r" = packed ] && [ "$(guest_feature "$ga" 34)" != 1 ]; then
		packed_ok=0
		unoffered+=("$tag: the guest's features $(guest_marker "$ga" eth0 | sed 's/.*features=//')")
	fi
	sleep 4
	note "$tag: SIGKILL both switches (A's pingloop running since ~4 s)"
	local t_kill; t_kill=$(date +%s.%N)
	kill -9 "$(eval echo "\$PID_S1$tag")" "$(eval echo "\$PID_C1$tag")"
	wait "$(eval echo "\$PID_S1$tag")" "$(eval echo "\$PID_C1$tag")" 2>/dev/null
	sleep "$DOWN"
	local again=(); [ "$mode" = off ] && again=(--no-ring-resync)
	sw_start_as "S2$tag" "$T/ctlS$tag" --port "vhost-user:sa$tag" --port "vhost-user:sb$tag"
	sw_start_as "C2$tag" "$T/ctlC$tag" "${again[@]}" "${cports[@]}"

	guest_wait "$ga" $((dl + 30)) || { guest_dump "$ga"; tail -20 "$T/S2$tag.log" "$T/C2$tag.log"; fail "$tag: A did not finish"; }
	con "$ga" | sed -n 's/^.*\(VHU-GUEST: \(ping\|warmup\|eth\)\)/   \1/p'
	[ "$(con "$ga" | grep -c 'VHU-GUEST: modules')" = 1 ] || fail "$tag: guest A booted more than once"

	local case key addr sw socks s got tx rx lost last ok resumed up t w maxlost res
	for case in srv cli; do
		[ $packed_ok = 1 ] || break
		if [ $case = srv ]; then key=ping addr=169.254.70.2 sw=S2$tag socks="sa$tag sb$tag"
		else key=ping1 addr=169.254.71.2 sw=C2$tag socks="qa$tag qb$tag"; fi
		got=$(guest_marker "$ga" "$key" | grep -E '^[0-9]+/[0-9]+$' | tail -1)
		rx=${got%/*} tx=${got#*/}
		lost=$(( ${tx:-0} - ${rx:-0} ))
		last=$(last_seq "$ga" "$addr")
		ok=1 resumed=0 up=1 w=0 res=0
		[ -n "$got" ] && [ "$tx" -gt 0 ] || { note "$case/$tag: no ping summary"; ok=0; }
		[ -n "$last" ] && [ "$last" -ge $(( ${tx:-0} - 4 )) ] && resumed=1
		for s in $socks; do
			t=$(ready_at "$T/$sw.log" "$T/$s")
			if [ -z "$t" ]; then up=0; continue; fi
			w=$(awk "BEGIN{w = $t - $t_kill; print (w > $w) ? w : $w}")
			res=$((res + $(resynced "$T/$sw.log" "$T/$s")))
		done
		w=$(awk "BEGIN{printf \"%.2f\", $w}")
		maxlost=$(awk "BEGIN{m = $w / $IV; print (m == int(m) ? m : int(m) + 1) + 2}")
		if [ "$mode" = normal ]; then
			[ $up = 1 ] || { note "$case/$tag: a port did not come up on the new switch"; ok=0; }
			awk "BEGIN{exit !($w <= $WMAX)}" || { note "$case/$tag: ports up again $w s after the kill, want <= $WMAX s"; ok=0; }
			[ $resumed = 1 ] || { note "$case/$tag: traffic did not resume (last answered seq ${last:-none} of ${tx:-?})"; ok=0; }
			[ "$lost" -le "$maxlost" ] || { note "$case/$tag: lost $lost > $maxlost (window $w s at $IV s)"; ok=0; }
			if [ "$r" = packed ] && [ "$res" -lt 4 ]; then
				note "$case/$tag: $res of 4 vrings logged 'resuming there' on the new switch"; ok=0
			fi
			result "restart $case $r: lost $lost of ${tx:-?} pings (interval $IV s, at most $maxlost for ports up again after $w s), last seq answered ${last:-none}, QEMU chardev $([ $case = srv ] && echo "client reconnect=1" || echo server)$([ "$r" = packed ] && echo ", $res vrings resynced from the ring") ($SW_FEAT_DESC)"
		elif [ $case = srv ]; then
			# QEMU reconnect off: nothing brings the ports back.
			[ $up = 0 ] || { note "$case/$tag: QEMU without reconnect=1 came back to the new switch"; ok=0; }
			[ $resumed = 0 ] || { note "$case/$tag: traffic resumed without QEMU's reconnect (last seq ${last:-none} of ${tx:-?})"; ok=0; }
			result "restart $case $r, QEMU reconnect off (must fail): lost $lost of ${tx:-?} pings, last seq answered ${last:-none}: $([ $ok = 1 ] && echo "fails as predicted" || echo "NOT as predicted")"
		else
			# Ring resync off: the ports come up, the rings stay stuck.
			[ $up = 1 ] || { note "$case/$tag: a port did not come up on the new switch"; ok=0; }
			[ "$res" = 0 ] || { note "$case/$tag: $res vrings resynced despite --no-ring-resync"; ok=0; }
			[ $resumed = 0 ] || { note "$case/$tag: traffic resumed without the ring resync (last seq ${last:-none} of ${tx:-?})"; ok=0; }
			result "restart $case $r, --no-ring-resync (must fail): lost $lost of ${tx:-?} pings, last seq answered ${last:-none}, ports up after $w s: $([ $ok = 1 ] && echo "fails as predicted" || echo "NOT as predicted")"
		fi
		ran=$((ran + 1))
		[ $ok = 1 ] || failed+=("$case/$tag")
	done
	if [ ${#failed[@]} -gt 0 ]; then
		guest_dump "$ga"; guest_dump "$gb"
		for s in S2$tag C2$tag; do echo "---- $s"; grep -v 'vring . enabled' "$T/$s.log" | tail -15; done
	fi
	kill "$(eval echo "\$PID_$gb")" 2>/dev/null; pkill -9 -P "$(eval echo "\$PID_$gb")" 2>/dev/null
	kill "$(eval echo "\$PID_S2$tag")" "$(eval echo "\$PID_C2$tag")" 2>/dev/null
	wait "$(eval echo "\$PID_$gb")" "$(eval echo "\$PID_S2$tag")" "$(eval echo "\$PID_C2$tag")" 2>/dev/null
}

for r in $RINGS; do run_rings "$r" normal; done
[ "${RESTART_MUSTFAIL:-1}" = 0 ] || run_rings packed off
[ ${#failed[@]} = 0 ] || fail "cases ${failed[*]}"
[ ${#unoffered[@]} = 0 ] || skip "packed rings not negotiated (${unoffered[*]})"
[ $ran -gt 0 ] || skip "every case skipped"
echo PASS
