#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TCP between real Linux guests (QEMU, TCG) through vhu-switch with the
# virtio-net offloads negotiated, withheld by one guest, and towards a
# network namespace behind a tap port. Every transfer is a file of random
# bytes whose md5 must arrive unchanged (guest mode vhu.mode=tcp, busybox nc).
#   1. A and B with QEMU's default offloads: both negotiate CSUM, GUEST_CSUM,
#      GUEST_TSO4, HOST_TSO4; A -> B; the switch passed offload frames whole
#      to B (tx_ol_whole on B's port).
#   2. B with every offload off on its virtio-net device, A default; A -> B
#      and B -> A at once; the switch segmented A's GSO packets for B alone
#      (tx_ol_segmented on B's port, none on A's).
#   3. A guest with default offloads and a namespace behind a tap port
#      (offloads on), both directions at once; offload frames crossed whole
#      towards the tap.
#   4. The same behind a tap port with offloads=off: the switch completed
#      (tx_ol_csum) or segmented (tx_ol_segmented) every offload frame for
#      the tap, none crossed whole.
# One switch for all cases, one port per guest, one namespace per tap (made
# and deleted here). VHU_TCP_SIZE: bytes per file.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd python3
guest_prepare || skip "no guest kernel/initramfs (see above)"

SIZE=${VHU_TCP_SIZE:-33554432}
PORT=5001
# QEMU 7.2's names; it has no USO properties (8.2 added them).
OFFLOADS_OFF=csum=off,guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off
# Virtio feature bits a default guest must show, and the offload-off one not.
OL_BITS="0:csum 1:guest_csum 7:guest_tso4 11:host_tso4"

NS3=vhutcp3-$$-$RANDOM NS4=vhutcp4-$$-$RANDOM
TAP3=vhut3$$ TAP4=vhut4$$
TAP3=${TAP3:0:15} TAP4=${TAP4:0:15}
ip netns add "$NS3" || skip "cannot create a network namespace"
trap 'ip netns del "$NS3" 2>/dev/null; ip netns del "$NS4" 2>/dev/null; cleanup' EXIT
ip netns add "$NS4" || skip "cannot create a second network namespace"

# pstat PORT KEY: a counter of PORT from vhu-ctl stats --json ("missing"
# when the switch does not report it).
pstat() {
	vctl stats --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["ports"]:
    if p["name"] == sys.argv[1]:
        print(p.get(sys.argv[2], "missing"))' "$1" "$2"
}
ol_line() { # ol_line PORT: the offload counters of PORT, for RESULT lines
	local k s=
	for k in tx_ol_whole tx_ol_segmented tx_ol_csum; do s+=" $k=$(pstat "$1" $k)"; done
	echo "$1:$s"
}
# want_ol PORT KEY gt0|eq0: fails unless the counter is above 0 (or is 0).
want_ol() {
	local v; v=$(pstat "$1" "$2")
	case $v in ''|*[!0-9]*) sw_dump; fail "port $1: no counter $2 in vhu-ctl stats --json (got '${v}')" ;; esac
	case $3 in
	gt0) [ "$v" -gt 0 ] || { sw_dump; fail "port $1: $2 is 0, want > 0 ($4)"; } ;;
	eq0) [ "$v" -eq 0 ] || { sw_dump; fail "port $1: $2 is $v, want 0 ($4)"; } ;;
	esac
}

# feat_check GUEST 1|0: the offload bits the guest's driver negotiated.
feat_check() {
	local g=$1 want=$2 bn b n got
	for bn in $OL_BITS; do
		b=${bn%%:*} n=${bn#*:}
		got=$(guest_feature "$g" "$b")
		[ "$got" = "$want" ] || { guest_dump "$g"; fail "$g: $n (bit $b) negotiated '${got}', want $want ($(guest_marker "$g" eth0))"; }
	done
}

# tcp_field GUEST KEY FIELD: FIELD=VALUE from the guest's "tcp KEY ..." marker.
tcp_field() { guest_marker "$1" "tcp $2" | sed -n "s/.*\\b$3=\\([^ ]*\\).*/\\1/p"; }

# md5_check LABEL FROM_MD5 TO_SIZE TO_MD5: the file arrived whole.
md5_check() {
	[ -n "$2" ] || fail "$1: the sender printed no md5"
	if [ "$3" != "$SIZE" ] || [ "$4" != "$2" ]; then
		fail "$1: received ${3:-nothing} bytes md5 ${4:-none}, sent $SIZE bytes md5 $2"
	fi
}

guests_done() { # guests_done G...: every guest finished, without errors
	local g d
	for g; do
		guest_wait "$g" 120 && continue
		for d; do guest_dump "$d"; done
		sw_dump; fail "$g did not finish"
	done
	for g; do
		tr -d '\r' <"$T/$g.console" | sed -n "s/^.*\\(VHU-GUEST:\\)/   $g \\1/p"
		if grep -q 'VHU-GUEST: error' "$T/$g.console"; then guest_dump "$g"; sw_dump; fail "$g reported an error"; fi
	done
}

tkargs() { # tkargs IP PEER ROLE
	echo "vhu.mode=tcp vhu.ip=$1/16 vhu.peer=$2 vhu.role=$3 vhu.size=$SIZE vhu.port=$PORT vhu.wait=40 vhu.time=60 vhu.limit=110"
}

sw_start --port vhost-user:a1 --port vhost-user:b1 --port vhost-user:a2 --port vhost-user:b2 \
	--port vhost-user:g3 --port "tap:t3,ifname=$TAP3" \
	--port vhost-user:g4 --port "tap:t4,ifname=$TAP4,offloads=off"
ns_setup() { # ns_setup NS IF ADDR
	ip link set "$2" netns "$1" || { sw_dump; fail "cannot move $2 into $1"; }
	ip -n "$1" addr add "$3/16" dev "$2"
	ip -n "$1" link set "$2" up
	ip -n "$1" link set lo up
}
ns_setup "$NS3" "$TAP3" 169.254.33.2
ns_setup "$NS4" "$TAP4" 169.254.34.2

# ---- 1. default offloads both sides, A -> B
note "case 1: offloads on both guests, A -> B ($SIZE bytes)"
guest_boot b1 "$T/b1" "" "" "$(tkargs 169.254.31.2 169.254.31.1 recv)" || fail "guest_boot b1"
guest_boot a1 "$T/a1" "" "" "$(tkargs 169.254.31.1 169.254.31.2 send)" || fail "guest_boot a1"
guests_done a1 b1
feat_check a1 1
feat_check b1 1
md5_check "case 1 A->B" "$(tcp_field a1 file md5)" "$(tcp_field b1 recv size)" "$(tcp_field b1 recv md5)"
vctl stats
want_ol b1 tx_ol_whole gt0 "A's offload frames should reach B whole"
want_ol b1 tx_ol_segmented eq0 "B takes GSO"
result "switch_qemu_tcp case 1 offloads on: A->B $SIZE bytes md5 equal in $(tcp_field a1 sent secs) s; $(ol_line b1)"

# ---- 2. B's offloads off, both directions
note "case 2: offloads off on B's device, A -> B and B -> A ($SIZE bytes each)"
guest_boot b2 "$T/b2" "" "$OFFLOADS_OFF" "$(tkargs 169.254.32.2 169.254.32.1 both)" || fail "guest_boot b2"
guest_boot a2 "$T/a2" "" "" "$(tkargs 169.254.32.1 169.254.32.2 both)" || fail "guest_boot a2"
guests_done a2 b2
feat_check a2 1
feat_check b2 0
md5_check "case 2 A->B" "$(tcp_field a2 file md5)" "$(tcp_field b2 recv size)" "$(tcp_field b2 recv md5)"
md5_check "case 2 B->A" "$(tcp_field b2 file md5)" "$(tcp_field a2 recv size)" "$(tcp_field a2 recv md5)"
vctl stats
want_ol b2 tx_ol_segmented gt0 "B cannot take GSO: the switch must segment for it"
want_ol b2 tx_ol_whole eq0 "B negotiated no offloads"
want_ol a2 tx_ol_segmented eq0 "A takes GSO"
result "switch_qemu_tcp case 2 B offloads off: A->B and B->A $SIZE bytes each md5 equal (A sent in $(tcp_field a2 sent secs) s, B in $(tcp_field b2 sent secs) s); $(ol_line b2); $(ol_line a2)"

# ---- 3 and 4. guest <-> namespace behind a tap port, both directions

# nsf LOG WHAT KEY: KEY=VALUE from the namespace side's "ns WHAT ..." line.
nsf() { sed -n "s/^ns $2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "$1" | tail -1; }

# ns_case N NS OFFLOADS(on|off): guest gN (169.254.3N.1) and namespace NS
# (169.254.3N.2, behind tap port tN) send each other a file at once.
ns_case() {
	local n=$1 ns=$2 ol=$3 g=g$1 t=t$1 log=$T/ns$1.log
	note "case $n: guest <-> namespace $ns behind tap port $t with offloads $ol ($SIZE bytes each way)"
	bg "ns$n" ip netns exec "$ns" python3 "$VHU_ROOT/tests/lib/nstcp.py" "169.254.3$n.1" "$PORT" "$SIZE" 90
	wait_for 10 grep -q 'ns listening' "$log" || { cat "$log"; fail "namespace listener did not start"; }
	guest_boot "$g" "$T/$g" "" "" "$(tkargs "169.254.3$n.1" "169.254.3$n.2" both)" || fail "guest_boot $g"
	guests_done "$g"
	feat_check "$g" 1
	wait_for 30 grep -q 'ns done' "$log" || { cat "$log"; fail "case $n: namespace side did not finish"; }
	sed 's/^/   /' "$log"
	grep -q '^ns .* error' "$log" && fail "case $n: namespace side: $(grep '^ns .* error' "$log")"
	md5_check "case $n guest->netns" "$(tcp_field "$g" file md5)" "$(nsf "$log" recv size)" "$(nsf "$log" recv md5)"
	md5_check "case $n netns->guest" "$(nsf "$log" file md5)" "$(tcp_field "$g" recv size)" "$(tcp_field "$g" recv md5)"
	vctl stats
	if [ "$ol" = on ]; then
		want_ol "$t" tx_ol_whole gt0 "the guest's offload frames should reach the tap whole"
		want_ol "$t" tx_ol_segmented eq0 "the tap takes GSO"
	else
		want_ol "$t" tx_ol_whole eq0 "a tap with offloads=off takes no offload frame"
		want_ol "$t" tx_ol_csum gt0 "the guest's partial checksums must be completed for the tap"
	fi
	result "switch_qemu_tcp case $n guest<->netns via tap offloads $ol: $SIZE bytes each way md5 equal (guest sent in $(tcp_field "$g" sent secs) s, netns in $(nsf "$log" sent secs) s); $(ol_line "$t"); $(ol_line "$g")"
}
ns_case 3 "$NS3" on
ns_case 4 "$NS4" off

# Real guests and kernels send well-formed offload headers: none may have
# been taken for a bad one, and no port counted a receive error.
if grep -q 'bad offload header' "$T/sw.log"; then
	grep 'bad offload header' "$T/sw.log" | head -5; fail "the switch dropped packets with a bad offload header"
fi
for p in a1 b1 a2 b2 g3 t3 g4 t4; do
	[ "$(pstat "$p" rx_errors)" = 0 ] || { vctl stats; fail "port $p: rx_errors $(pstat "$p" rx_errors)"; }
done
echo PASS
