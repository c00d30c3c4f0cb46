#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# afxdp ports (docs/afxdp.md), veth pairs standing in for NICs. The switch
# runs in a network namespace of its own (S) holding the switch's ends:
#   x  on XA, native XDP; XA's peer XB is in namespace A (169.254.40.2);
#   l1 on L1, generic XDP, and l2 on L2, native: L1 and L2 are one veth
#      pair, a loopback: what the switch sends on l1 comes back on l2.
# Port flows f -> l1, l1 -> f, t -> l2, l2 -> t make the loop a path:
# vhu-fe on f -> l1 -> L1 -> L2 -> l2 -> t (testpmd macswap) -> l2 -> L2 ->
# L1 -> l1 -> f. Checked:
#  1. testpmd through the loop: every frame vhu-fe gets back is its own,
#     checked whole; every counter adds up, across each veth too (nothing
#     is lost in the kernel on the way: its XDP_STATISTICS stay 0).
#  2. a QEMU guest on port g pings namespace A through x and sends it a
#     file over TCP while A sends one back, md5 equal both ways.
#  3. del-port x under traffic from A: XA has no XDP program any more and
#     the kernel answers A's pings on it; zerocopy=on on XA is refused
#     (veth has no zero-copy AF_XDP; auto said copy mode); x is added again (mode=auto
#     finds native), traffic crosses it; vhu-switch stopped with SIGINT
#     (exit 0, no leak) leaves XA, L1 and L2 without a program.
#  4. a second switch on XA killed with -9 under traffic: its program goes
#     with it (a bpf_link dies with its fd) and XA answers pings again.
# A and S disable IPv6 so the kernel sends nothing of its own on the loop.
# XB sends with checksum offload off: XDP takes frames before the kernel
# would complete a partial checksum (docs/afxdp.md).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd python3
need_cmd ethtool
need_cmd dpdk-testpmd
[ -x /bin/busybox ] || skip "no /bin/busybox for ping (make test installs busybox-static)"
guest_prepare || skip "no guest kernel/initramfs (see above)"
setup_hugepages

SIZE=${VHU_AFXDP_TCP_SIZE:-8388608}
NS=vhuafs$$ NSA=vhuafa$$
XA=xa$$ XB=xb$$ L1=xl1$$ L2=xl2$$
XA=${XA:0:15} XB=${XB:0:15} L1=${L1:0:15} L2=${L2:0:15}
M2=02:00:00:00:40:02 MF=02:00:00:00:40:0f
RING=256
trap 'ip netns del "$NS" 2>/dev/null; ip netns del "$NSA" 2>/dev/null; cleanup' EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
ip netns add "$NSA" || skip "cannot create a second network namespace"
for n in "$NS" "$NSA"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$n" link set lo up
done
ip -n "$NS" link add "$XA" type veth peer name "$XB" netns "$NSA" || fail "cannot create veth $XA"
ip -n "$NS" link add "$L1" type veth peer name "$L2" || fail "cannot create veth $L1"
for i in "$XA" "$L1" "$L2"; do ip -n "$NS" link set "$i" up; done
ip -n "$NSA" addr add 169.254.40.2/16 dev "$XB"
ip -n "$NSA" link set "$XB" up
ip netns exec "$NSA" ethtool -K "$XB" tx off >/dev/null || fail "cannot turn $XB's checksum offload off"

# xdp_on IF: IF in S has an XDP program (native or generic).
xdp_on() { ip -n "$NS" link show "$1" | grep -q 'prog/xdp'; }
# ping_a N: pings from A to 169.254.40.3, XA's own address once the
# kernel has XA again (not the guest's .1: A's ARP cache knows its MAC).
ping_a() {
	ip netns exec "$NSA" timeout 10 busybox ping -c "$1" -W 1 169.254.40.3 2>&1 |
		sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}
# blast S: UDP frames from A to a station on x's side for S seconds
# (about 10 kpps); process "blast".
ip -n "$NSA" neigh add 169.254.40.9 lladdr 02:00:00:00:40:09 dev "$XB"
blast() {
	bg blast ip netns exec "$NSA" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); end = time.time() + float(sys.argv[1])
while time.time() < end:
    for _ in range(20): s.sendto(b"x" * 64, ("169.254.40.9", 9))
    time.sleep(0.002)' "$1"
}
# xsk_sum PORT: the port's kernel XDP_STATISTICS added up.
xsk_sum() {
	vctl stats --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["ports"] if p["name"] == sys.argv[1]][0]
print(sum(v for k, v in p.items() if k.startswith("xsk_") and k != "xsk_tx_ring_empty_descs"))' "$1"
}

bg sw ip netns exec "$NS" "$VHU_SWITCH" --control "$CTL" --socket-dir "$T" --pmd-cpus 0 \
	--port vhost-user:g --port "afxdp:x,ifname=$XA,mode=native" \
	--port vhost-user:f --port vhost-user:t \
	--port "afxdp:l1,ifname=$L1,mode=generic" --port "afxdp:l2,ifname=$L2,mode=native,umem-frames=1024" \
	--flow in_port=f,actions=output:l1 --flow in_port=l1,actions=output:f \
	--flow in_port=t,actions=output:l2 --flow in_port=l2,actions=output:t
if ! wait_for 10 test -S "$CTL"; then
	for why in "built without libxdp" "has no AF_XDP sockets"; do
		grep -q "$why" "$T/sw.log" && skip "$(grep -m1 "$why" "$T/sw.log")"
	done
	sw_dump; fail "vhu-switch did not start"
fi
vctl show | tee "$T/show.txt"
grep -q "^port x: type afxdp state running .* xdp native" "$T/show.txt" || fail "x is not on native XDP"
grep -q "^port l1: type afxdp state running .* xdp generic" "$T/show.txt" || fail "l1 is not on generic XDP"
grep -q "^port l2: type afxdp state running .* xdp native .* umem-frames 1024" "$T/show.txt" ||
	fail "l2 is not on native XDP with 1024 frames"
for i in "$XA" "$L1" "$L2"; do xdp_on "$i" || fail "$i has no XDP program"; done
ip -n "$NS" link show "$L1" | grep -q xdpgeneric || fail "$L1's program is not generic"

# ---- 1. testpmd through the loop, vhu-fe checking every frame
note "case 1: vhu-fe on f -> l1 (generic) -> veth -> l2 (native) -> testpmd macswap on t and back"
mem=(-m 256) mbufs=()
[ "$HUGE_OPTS" = "--no-huge" ] && { mem=(--no-huge -m 512); mbufs=(--total-num-mbufs=16384); }
bg tp timeout -k 3 15 dpdk-testpmd --lcores "0@0,1@$(( $(nproc) - 1 ))" --no-pci \
	--file-prefix="vhuxdp$$" --single-file-segments --iova-mode=va "${mem[@]}" \
	--vdev "net_virtio_user0,path=$T/t,queues=1,queue_size=$RING,mac=$M2" -- \
	--nb-cores=1 --stats-period 1 "${mbufs[@]}" --forward-mode=macswap --port-topology=loop \
	--no-flush-rx </dev/null
export DPDK_FILE_PREFIX="vhuxdp$$"  # cleanup removes its hugepage files
sw_wait_running t 15 || { cat "$T/tp.log"; sw_dump; fail "testpmd port t did not come up"; }
bg fe "$VHU_FE" --socket "$T/f" --mac $MF --dst-mac $M2 --pps 20000 --duration 4 --linger 1 --pkt-size 300
wait "$PID_fe"; rc=$?
grep '^fe: total' "$T/fe.log"
wait "$PID_tp"
vctl stats | tee "$T/stats1.txt"
s=$(fe_total "$T/fe.log" sent) r=$(fe_total "$T/fe.log" recv) e=$(fe_total "$T/fe.log" echo)
[ "$rc" = 0 ] || fail "vhu-fe failed (rc $rc)"
for k in bad foreign other; do
	v=$(fe_total "$T/fe.log" $k); [ "$v" = 0 ] || fail "vhu-fe: $k frames: ${v:-?}"
done
[ -n "$s" ] && [ "$s" -gt 10000 ] || fail "vhu-fe sent only ${s:-nothing}"
# Frames may be lost only where testpmd's ring was full (t's tx drops):
# the afxdp ports and the veths in between lose none (checked below).
[ "$e" = "$r" ] && [ "$r" -gt $((s / 2)) ] || fail "vhu-fe sent $s, got back $r, $e of them its own"
# c PORT KEY: a counter from the stats just taken.
c() { sed -n "s/^port $1:.* $2 \([0-9]*\).*/\1/p" "$T/stats1.txt"; }
want_eq() { [ "$2" = "$3" ] || fail "$1: ${2:-?} != ${3:-?}"; }
sum() { echo $(( $(c "$1" "$2") + $(c "$3" "$4") )); }
want_eq "f rx = vhu-fe sent" "$(c f rx_packets)" "$s"
want_eq "f rx = l1 tx + dropped" "$(c f rx_packets)" "$(sum l1 tx_packets l1 tx_dropped)"
want_eq "l1 tx = l2 rx (veth L1 -> L2)" "$(c l1 tx_packets)" "$(c l2 rx_packets)"
want_eq "l1 tx bytes = l2 rx bytes" "$(c l1 tx_bytes)" "$(c l2 rx_bytes)"
want_eq "l2 rx = t tx + dropped" "$(c l2 rx_packets)" "$(sum t tx_packets t tx_dropped)"
want_eq "t rx = l2 tx + dropped" "$(c t rx_packets)" "$(sum l2 tx_packets l2 tx_dropped)"
want_eq "l2 tx = l1 rx (veth L2 -> L1)" "$(c l2 tx_packets)" "$(c l1 rx_packets)"
want_eq "l1 rx = f tx + dropped" "$(c l1 rx_packets)" "$(sum f tx_packets f tx_dropped)"
want_eq "f tx = vhu-fe received" "$(c f tx_packets)" "$r"
for p in l1 l2; do
	want_eq "$p tx drops" "$(c $p tx_dropped)" 0
	want_eq "$p errors" "$(c $p rx_errors)$(c $p tx_errors)" 00
	want_eq "$p kernel XDP drops" "$(xsk_sum $p)" 0
done
# The afxdp counters are rows of the one stats table: Prometheus carries
# each of them per queue, with the text's values (traffic has stopped).
vctl stats --format prometheus >"$T/prom1.txt" || fail "stats --format prometheus"
vctl stats >"$T/stats1b.txt"
python3 - "$T/prom1.txt" "$T/stats1b.txt" <<'EOF' || fail "afxdp counters differ between Prometheus and text stats"
import re, sys
prom = {}
for m in re.finditer(r'^vhu_port_(\w+)_total\{port="(l[12])",queue="0"\} (\d+)$', open(sys.argv[1]).read(), re.M):
    prom[(m.group(2), m.group(1))] = int(m.group(3))
n = 0
for line in open(sys.argv[2]):
    if line.startswith(("port l1:", "port l2:")):
        port, rest = line[5:].split(':', 1)
        w = rest.split()
        for k, v in zip(w[0::2], w[1::2]):
            if k.startswith(("xsk_", "rx_xdp_", "tx_xdp_")):
                assert prom.get((port, k)) == int(v), f'{port} {k}: text {v}, prometheus {prom.get((port, k))}'
                n += 1
assert n == 20, f'{n} afxdp counters in the text stats of l1 and l2, not 20'
print(f'prometheus: the {n} afxdp counters of l1 and l2 as the text stats')
EOF
result "switch_afxdp case 1 vhu-fe -> generic l1 -> veth -> native l2 -> testpmd macswap -> back: sent $s, $e came back checked; l1 tx $(c l1 tx_packets) = l2 rx, l2 tx $(c l2 tx_packets) = l1 rx; drops f->l1 $(c l1 tx_dropped) l2->t $(c t tx_dropped) t->l2 $(c l2 tx_dropped) l1->f $(c f tx_dropped)"

# ---- 2. a guest and namespace A through x
note "case 2: guest on g <-> namespace A behind x (native XDP): ping, $SIZE bytes each way"
bg nsa ip netns exec "$NSA" python3 "$VHU_ROOT/tests/lib/nstcp.py" 169.254.40.1 5001 "$SIZE" 60
wait_for 10 grep -q 'ns listening' "$T/nsa.log" || { cat "$T/nsa.log"; fail "namespace listener did not start"; }
guest_boot g "$T/g" "" "" "vhu.mode=tcp vhu.ip=169.254.40.1/16 vhu.peer=169.254.40.2 vhu.role=both vhu.size=$SIZE vhu.port=5001 vhu.wait=30 vhu.time=50 vhu.limit=90" ||
	fail "guest_boot g"
guest_wait g 100 || { guest_dump g; sw_dump; fail "the guest did not finish"; }
wait_for 30 grep -q 'ns done' "$T/nsa.log" || { cat "$T/nsa.log"; fail "namespace side did not finish"; }
sed 's/^/   /' "$T/nsa.log"
tr -d '\r' <"$T/g.console" | sed -n 's/^.*\(VHU-GUEST:\)/   g \1/p'
grep -q 'VHU-GUEST: error' "$T/g.console" && { guest_dump g; fail "the guest reported an error"; }
guest_marker g warmup | grep -q '^ok' || { guest_dump g; fail "the guest's pings to A got no reply"; }
nsf() { sed -n "s/^ns $1 .*\\b$2=\\([^ ]*\\).*/\\1/p" "$T/nsa.log" | tail -1; }
gtf() { guest_marker g "tcp $1" | sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p"; }
[ "$(nsf recv size)" = "$SIZE" ] && [ "$(nsf recv md5)" = "$(gtf file md5)" ] ||
	fail "guest -> A: A got $(nsf recv size) bytes md5 $(nsf recv md5), the guest sent md5 $(gtf file md5)"
[ "$(gtf recv size)" = "$SIZE" ] && [ "$(gtf recv md5)" = "$(nsf file md5)" ] ||
	fail "A -> guest: the guest got $(gtf recv size) bytes md5 $(gtf recv md5), A sent md5 $(nsf file md5)"
vctl stats x
result "switch_afxdp case 2 guest <-> namespace through native afxdp x: ping ok, $SIZE bytes each way md5 equal (guest sent in $(gtf sent secs) s, A in $(nsf sent secs) s); x segmented $(sw_stat x tx_ol_segmented), csum completed $(sw_stat x tx_ol_csum)"

# ---- 3. del-port under traffic, then a normal exit
note "case 3: del-port x under traffic from A"
blast 3
sleep 1
vctl del-port x || fail "del-port x failed"
wait_for 5 sh -c "! ip -n '$NS' link show '$XA' | grep -q prog/xdp" || fail "$XA still has an XDP program after del-port"
wait "$PID_blast"
ip -n "$NS" addr add 169.254.40.3/16 dev "$XA"
got=$(ping_a 3)
[ "${got:-0}" -ge 2 ] || fail "the kernel does not answer on $XA after del-port ($got of 3 replies)"
ip -n "$NS" addr del 169.254.40.3/16 dev "$XA"
# veth has no zero-copy AF_XDP: zerocopy=on is refused with the reason,
# nothing left on XA; auto (x at start) used copy mode and said so.
zc=$(vctl add-port "afxdp:z,ifname=$XA,zerocopy=on" 2>&1) && fail "zerocopy=on on $XA was accepted"
grep -q "$XA has no zero-copy AF_XDP (zerocopy=auto or off)" <<<"$zc" || fail "zerocopy=on on $XA: $zc"
xdp_on "$XA" && fail "$XA kept an XDP program after the refused zerocopy=on port"
grep -q "port x: $XA has no zero-copy AF_XDP: frames are copied by the kernel" "$T/sw.log" ||
	fail "zerocopy=auto on $XA did not say it fell back to copy mode"
grep -q "^port x: .* sockets copy" "$T/show.txt" || fail "show does not say x's sockets are in copy mode"
vctl add-port "afxdp:x,ifname=$XA" || fail "add-port x again failed"
[ "$(grep -c "port x: native XDP on $XA" "$T/sw.log")" = 2 ] || fail "mode=auto did not find native XDP on $XA"
r0=$(sw_stat x rx_packets)
blast 1
wait "$PID_blast"
r1=$(sw_stat x rx_packets)
[ "${r1:-0}" -gt 1000 ] || fail "x received ${r1:-nothing} of A's frames after add-port (${r0} before)"
note "x again: $r1 frames from A; stopping vhu-switch with SIGINT"
stop_own sw
for i in "$XA" "$L1" "$L2"; do
	wait_for 5 sh -c "! ip -n '$NS' link show '$i' | grep -q prog/xdp" || fail "$i kept its XDP program after vhu-switch exited"
done
result "switch_afxdp case 3 del-port x under traffic: $XA clean, kernel answered $got/3 pings; zerocopy=on refused, auto fell back to copy mode; x re-added (auto: native), $r1 frames; SIGINT exit left $XA, $L1, $L2 clean"

# ---- 4. kill -9 under traffic
note "case 4: vhu-switch killed with -9 under traffic"
CTL=$T/ctl2
bg sw2 ip netns exec "$NS" "$VHU_SWITCH" --control "$CTL" --socket-dir "$T" --pmd-cpus 0 \
	--port "afxdp:x,ifname=$XA"
wait_for 10 test -S "$CTL" || { tail "$T/sw2.log"; fail "the second vhu-switch did not start"; }
xdp_on "$XA" || fail "$XA has no program under the second switch"
blast 3
wait_for 5 sh -c "[ \"\$('$VHU_CTL' --control '$CTL' stats x | sed -n 's/.* rx_packets \([0-9]*\) .*/\1/p')\" -gt 1000 ]" ||
	fail "no traffic through x before kill -9"
kill -9 "$PID_sw2"
wait_for 5 sh -c "! ip -n '$NS' link show '$XA' | grep -q prog/xdp" ||
	{ ip -n "$NS" link show "$XA"; fail "$XA kept an XDP program after kill -9"; }
wait "$PID_blast"
ip -n "$NS" addr add 169.254.40.3/16 dev "$XA"
got=$(ping_a 3)
[ "${got:-0}" -ge 2 ] || fail "the kernel does not answer on $XA after kill -9 ($got of 3 replies)"
result "switch_afxdp case 4 kill -9 under traffic: $XA left without a program, kernel answered $got/3 pings"
echo PASS
