#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A VXLAN port of vhu-switch against the Linux kernel's own VXLAN device.
# Five network namespaces of this test's own (removed on exit):
#   A  runs vhu-switch; underlay veth 169.254.100.1/24 toward B
#   B  the kernel peer: veth 169.254.100.2/24, vx0 (VNI 42, remote
#      169.254.100.1, dstport 4789) 169.254.200.2/24
#   C  behind the switch's tap tc (VLAN 10, the tunnel's) 169.254.200.1/24
#   D  behind the switch's tap td (VLAN 20) 169.254.200.3/24
#   E  behind tap te (VLAN 30, the IPv6 tunnel's) 169.254.201.1/24
# The switch's ports: vxlan:vx (VNI 42 <-> VLAN 10), tap:tc, tap:td.
# Checked:
#  1. after a second with nothing on the tunnel, C pings vx0 5/5;
#     vhu-ctl fdb has vx0's MAC on vx in VLAN 10 with remote 169.254.100.2;
#  2. D (VLAN 20) pings vx0: no reply;
#  3. underlay MTU 1500: a DF ping of IP 1450 bytes from C crosses, 3 of IP
#     1500 bytes do not and count in vx's tx_mtu_dropped (and tx_dropped);
#  4. datagrams from B to 169.254.100.1:4789 that are too short, carry
#     bad flags or reserved bits (rx_vxlan_bad), VNI 43 (rx_vxlan_vni) or
#     come from 169.254.100.3 (rx_vxlan_src) raise their counter by
#     exactly their number (and rx_dropped); none of their inner source
#     MACs is learnt, while a good one sent the same way is; C's ping
#     still works after them;
#  5. outer headers of the switch's packets, captured on B's veth: IPv4
#     DF clear, TTL 64, valid IP checksum, a UDP checksum (not zero, and
#     valid where ethtool can turn veth offload off), UDP dst 4789,
#     source port in 1024..65535 other than 4789 and the same for all
#     packets of one flow, VXLAN flags 0x08, VNI 42.
#     The kernel's own packets are recorded next to them.
#  6. IPv6 underlay: a tunnel port added to the running switch over the
#     veth's link-local addresses (fe80::a%vA -> fe80::b) to a kernel
#     vxlan device over IPv6; E (VLAN 30) pings it, the IPv6 overhead
#     (56 bytes) sets the MTU, fdb shows the IPv6 remote.
#  7. Tenants on one tunnel address: a second tunnel port vy (VNI 44 <->
#     VLAN 20) on the same local address and UDP port as vx, toward a
#     second kernel device vx1 (VNI 44, 169.254.202.2/24) in B, and a QEMU
#     guest on a trunk port (trunks=10:20) with eth0.10 169.254.200.9 and
#     eth0.20 169.254.202.9 (the guest's 8021q). It pings vx0 through
#     eth0.10 and vx1 through eth0.20, 5/5 each; 169.254.202.5, which C
#     (VLAN 10) holds, through eth0.20: 0/5. Captures of vx and vy while it
#     runs: every IPv4/ARP frame on vx is of 169.254.200.0/24 and on vy of
#     169.254.202.0/24, at least 10 on each; vx's rx_vxlan_vni does not
#     move (VNI 44's datagrams reach vy, not vx's wrong-VNI counter).
#  8. UDP GRO: B sends VX_GRO_N (2000) VXLAN datagrams to vx, 40 to a
#     send with UDP GSO (as a vhu-switch on another host sends), each an
#     inner UDP datagram for C (sequence number, payload a function of it,
#     UDP checksum). C's socket gets every sequence number once with its
#     payload intact, and vx's rx_vxlan_gro grew by at least half of them
#     (they came several to a read: the first in place, the rest copied
#     out of the overflow area).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd python3
guest_prepare || skip "no guest kernel/initramfs (see above)"

NS=vxl$$
IFP=vxt$$
IFP=${IFP:0:12}
VX_PORT=4789
# The namespaces go first (a process still in one keeps it until cleanup
# stops it); cleanup then sees the script's own status.
vx_exit() {
	local rc=$? x
	for x in A B C D E; do ip netns del "$NS-$x" 2>/dev/null; done
	(exit $rc)
	cleanup
}
trap vx_exit EXIT
for x in A B C D E; do
	ip netns add "$NS-$x" || skip "cannot create a network namespace"
	ip -n "$NS-$x" link set lo up
	# No IPv6: no neighbour discovery in the background, only the
	# test's own frames cross the switch.
	ip netns exec "$NS-$x" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
done
ip link add vA netns "$NS-A" type veth peer name vB netns "$NS-B" || skip "cannot create a veth pair"
ip -n "$NS-A" addr add 169.254.100.1/24 dev vA
ip -n "$NS-B" addr add 169.254.100.2/24 dev vB
ip -n "$NS-A" link set vA up
# With checksum offload off on A's side of the veth, a UDP checksum the
# switch asks for is computed before B sees it, and check 5 verifies it
# whole; without ethtool, a checksum left for offload ("partial") passes.
csum_ok=partial
if command -v ethtool >/dev/null && ip netns exec "$NS-A" ethtool -K vA tx off >/dev/null 2>&1; then
	csum_ok=ok
fi
ip -n "$NS-B" link set vB up
ip -n "$NS-B" link add vx0 type vxlan id 42 local 169.254.100.2 remote 169.254.100.1 dstport $VX_PORT ||
	skip "this kernel cannot make a VXLAN device"
ip -n "$NS-B" addr add 169.254.200.2/24 dev vx0
ip -n "$NS-B" link set vx0 up
vxmac=$(ip -n "$NS-B" -o link show vx0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

# The switch runs in A, which owns the tunnel's local address; its control
# socket is a file in $T, reachable from here.
bg sw ip netns exec "$NS-A" "$VHU_SWITCH" --control "$CTL" --socket-dir "$T" \
	--port "vxlan:vx,local=169.254.100.1,remote=169.254.100.2,vni=42,tag=10" \
	--port "tap:tc,ifname=${IFP}c,tag=10" --port "tap:td,ifname=${IFP}d,tag=20"
wait_for 10 test -S "$CTL" || { sw_dump; fail "vhu-switch did not start"; }
for x in c d; do
	X=${x^^}
	ip -n "$NS-A" link set "$IFP$x" netns "$NS-$X" || { sw_dump; fail "cannot move $IFP$x into $NS-$X"; }
	ip -n "$NS-$X" link set "$IFP$x" up
done
ip -n "$NS-C" addr add 169.254.200.1/24 dev "${IFP}c"
ip -n "$NS-D" addr add 169.254.200.3/24 dev "${IFP}d"
vctl show

# die MSG: what the switch and the kernel peer saw, then fail.
die() {
	vctl stats; vctl fdb
	echo "---- B: vx0, its fdb, UDP counters; C's neighbours; A: UDP counters and sockets, vA"
	ip -n "$NS-B" -s link show vx0
	bridge -n "$NS-B" fdb show dev vx0 2>/dev/null
	ip netns exec "$NS-B" grep '^Udp:' /proc/net/snmp
	ip -n "$NS-C" neigh show
	ip netns exec "$NS-A" grep '^Udp:' /proc/net/snmp
	ip netns exec "$NS-A" ss -uanm 2>/dev/null
	ip -n "$NS-A" -s link show vA
	sw_dump; fail "$*"
}

# icmp_ping NS DST COUNT SIZE: ICMP echoes of SIZE data bytes with DF set (no
# ping binary is needed: busybox's cannot set DF); prints REPLIES/COUNT.
PING='import os, select, socket, struct, sys, time
dst, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER, IP_PMTUDISC_DO
ident, got = os.getpid() & 0xffff, set()
def drain(until):
    while True:
        left = until - time.time()
        if left <= 0 or len(got) == count: return
        if not select.select([s], [], [], left)[0]: return
        b, a = s.recvfrom(65535)
        h = (b[0] & 15) * 4
        if a[0] == dst and len(b) >= h + 8 and b[h] == 0:
            t, c, k, i, q = struct.unpack("!BBHHH", b[h:h + 8])
            if i == ident: got.add(q)
for q in range(count):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, q) + bytes(k % 256 for k in range(size))
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    try: s.sendto(body, (dst, 0))
    except OSError as e: print(e, file=sys.stderr)
    drain(time.time() + 0.2)
drain(time.time() + 1.5)
print("%d/%d" % (len(got), count))'
icmp_ping() { ip netns exec "$1" python3 -c "$PING" "$2" "$3" "$4"; }

# ---- 1. C <-> the kernel's vx0 through the tunnel, after a second of
# nothing to read on the tunnel: polls that find no datagram must cost
# nothing (a leak there once emptied the packet pool before traffic came).
sleep 1
p1=$(icmp_ping "$NS-C" 169.254.200.2 5 56)
vctl fdb | tee "$T/fdb1.txt"
[ "$p1" = 5/5 ] || die "C -> vx0 (169.254.200.2): ${p1:-no output}, want 5/5"
awk -v m="$vxmac" '$1 == "vx" && $2 == 10 && tolower($3) == m && $5 == "169.254.100.2"' "$T/fdb1.txt" | grep -q . ||
	die "fdb lacks vx0's MAC $vxmac on vx, VLAN 10, remote 169.254.100.2"
note "1. C -> vx0 $p1; vx0's MAC $vxmac learnt on vx VLAN 10 via 169.254.100.2"

# ---- 2. D is in VLAN 20: the tunnel is not its
p2=$(icmp_ping "$NS-D" 169.254.200.2 3 56)
[ "$p2" = 0/3 ] || die "D (VLAN 20) -> vx0: $p2, want 0/3"
note "2. D (VLAN 20) -> vx0 $p2"

# ---- 3. underlay MTU 1500: 50 bytes of VXLAN overhead
m0=$(sw_stat vx tx_mtu_dropped) d0=$(sw_stat vx tx_dropped)
[ -n "$m0" ] || die "vx has no tx_mtu_dropped counter"
p3a=$(icmp_ping "$NS-C" 169.254.200.2 3 1422)
p3b=$(icmp_ping "$NS-C" 169.254.200.2 3 1472)
m1=$(sw_stat vx tx_mtu_dropped) d1=$(sw_stat vx tx_dropped)
note "3. DF ping IP 1450: $p3a; IP 1500: $p3b; tx_mtu_dropped +$((m1 - m0)), tx_dropped +$((d1 - d0))"
[ "$p3a" = 3/3 ] || die "ping of IP 1450 bytes (fits the underlay): $p3a, want 3/3"
[ "$p3b" = 0/3 ] || die "ping of IP 1500 bytes (1550 on the underlay): $p3b, want 0/3"
[ $((m1 - m0)) -ge 3 ] || die "tx_mtu_dropped grew by $((m1 - m0)), want >= 3"
[ $((d1 - d0)) -ge $((m1 - m0)) ] || die "tx_dropped grew by $((d1 - d0)), less than tx_mtu_dropped ($((m1 - m0)))"

# ---- 4. bad input from the underlay
ip -n "$NS-B" addr add 169.254.100.3/24 dev vB
# Each datagram's inner frame (if any) is a broadcast from 02:00:00:00:bb:NN.
# Prints how many it sent of each kind: bad vni src good.
SEND='import socket, struct, sys
dst, port = sys.argv[1], int(sys.argv[2])
def inner(n): return b"\xff" * 6 + bytes([2, 0, 0, 0, 0xbb, n]) + b"\x88\xb5" + bytes(46)
def hdr(f, vni, r1=0, r7=0): return bytes([f, r1, 0, 0]) + vni.to_bytes(3, "big") + bytes([r7])
def send(src, d):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0)); s.sendto(d, (dst, port)); s.close()
bad = [b"\x08\x00\x00\x00",                   # 4 bytes
       hdr(0x08, 42),                          # a header, no frame
       hdr(0x08, 42) + inner(1)[:13],          # frame shorter than Ethernet
       hdr(0x00, 42) + inner(2),               # no I flag
       hdr(0x0c, 42) + inner(3),               # I and another flag
       hdr(0x08, 42, r1=1) + inner(4),         # reserved bits after flags
       hdr(0x08, 42, r7=1) + inner(5)]         # reserved bits after the VNI
for d in bad: send("169.254.100.2", d)
send("169.254.100.2", hdr(0x08, 43) + inner(6))     # another VNI
send("169.254.100.3", hdr(0x08, 42) + inner(7))     # not a remote
send("169.254.100.2", hdr(0x08, 42) + inner(8))     # good: learnt
print(len(bad), 1, 1, 1)'
b0=$(sw_stat vx rx_vxlan_bad) v0=$(sw_stat vx rx_vxlan_vni) s0=$(sw_stat vx rx_vxlan_src) r0=$(sw_stat vx rx_dropped)
if [ -z "$b0" ] || [ -z "$v0" ] || [ -z "$s0" ]; then die "vx lacks rx_vxlan_bad, rx_vxlan_vni or rx_vxlan_src"; fi
read -r nb nv ns ng < <(ip netns exec "$NS-B" python3 -c "$SEND" 169.254.100.1 $VX_PORT) ||
	die "sending datagrams from B failed"
# The good datagram was sent last: once it is learnt and the counters
# stopped short of it, the others were read.
wait_for 5 sh -c "'$VHU_CTL' --control '$CTL' fdb | grep -qi '02:00:00:00:bb:08'"
sleep 0.2
b1=$(sw_stat vx rx_vxlan_bad) v1=$(sw_stat vx rx_vxlan_vni) s1=$(sw_stat vx rx_vxlan_src) r1=$(sw_stat vx rx_dropped)
vctl fdb | tee "$T/fdb4.txt"
db=$((b1 - b0)) dv=$((v1 - v0)) ds=$((s1 - s0)) dr=$((r1 - r0))
note "4. sent $nb bad, $nv of VNI 43, $ns from 169.254.100.3, $ng good: rx_vxlan_bad +$db, rx_vxlan_vni +$dv, rx_vxlan_src +$ds, rx_dropped +$dr"
[ "$db" = "$nb" ] || die "rx_vxlan_bad grew by $db, want $nb"
[ "$dv" = "$nv" ] || die "rx_vxlan_vni grew by $dv, want $nv"
[ "$ds" = "$ns" ] || die "rx_vxlan_src grew by $ds, want $ns"
[ "$dr" -ge $((nb + nv + ns)) ] || die "rx_dropped grew by $dr, want >= $((nb + nv + ns))"
learnt=$(grep -ci '02:00:00:00:bb:0[1-7]' "$T/fdb4.txt")
[ "$learnt" = 0 ] || die "a source MAC of a dropped datagram was learnt: $(grep -i '02:00:00:00:bb:0[1-7]' "$T/fdb4.txt" | tr '\n' ';')"
awk '$1 == "vx" && $2 == 10 && tolower($3) == "02:00:00:00:bb:08" && $5 == "169.254.100.2"' "$T/fdb4.txt" | grep -q . ||
	die "the good datagram's MAC 02:00:00:00:bb:08 is not in the fdb on vx, VLAN 10, remote 169.254.100.2"
p4=$(icmp_ping "$NS-C" 169.254.200.2 3 56)
[ "$p4" = 3/3 ] || die "C -> vx0 after the bad datagrams: $p4, want 3/3"

# ---- 5. outer headers, captured on B's veth during a ping from C
# Prints one line per VXLAN packet: who (sw: from the switch, kernel: vx0's)
# df ttl ipcsum-ok sport dport udpcsum ok|partial|zero|bad flags vni reserved-bits,
# inner ethertype and IPv4 protocol; "ready" first.
CAP='import socket, struct, sys, time
ifname, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0)); s.settimeout(0.2)
print("ready", flush=True)
def csum(b):
    if len(b) % 2: b += b"\0"
    v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while v >> 16: v = (v & 0xffff) + (v >> 16)
    return v
end = time.time() + secs
while time.time() < end:
    try: f = s.recv(65535)
    except socket.timeout: continue
    if len(f) < 14 + 20 + 8 + 8 or f[12:14] != b"\x08\x00": continue
    ip = f[14:]; hl = (ip[0] & 15) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    if ip[9] != 17: continue
    src = socket.inet_ntoa(ip[12:16])
    who = "sw" if src == "169.254.100.1" else "kernel"
    if struct.unpack("!H", ip[6:8])[0] & 0x3fff:
        print(who, "fragment", flush=True); continue
    u = ip[hl:tot]
    sp, dp, ul, uc = struct.unpack("!HHHH", u[:8])
    if dp != 4789 or len(u) < 16: continue
    df = (struct.unpack("!H", ip[6:8])[0] >> 14) & 1
    ipok = csum(ip[:hl]) == 0xffff
    ph = ip[12:20] + struct.pack("!BBH", 0, 17, len(u))
    # A checksum the sender left to the NIC (veth passes it on so) holds
    # the pseudo-header sum alone: "partial".
    uok = ("zero" if uc == 0 else "ok" if csum(ph + u) == 0xffff else
           "partial" if uc == csum(ph) else "bad")
    print(who, "df", df, "ttl", ip[8], "ipcsum", "ok" if ipok else "bad", "sport", sp, "dport", dp,
          "udpcsum 0x%04x" % uc, uok, "flags 0x%02x" % u[8],
          "vni", int.from_bytes(u[12:15], "big"), "rsv", u[9] | u[10] | u[11] | u[15],
          "inner", u[28:30].hex(), u[16 + 14 + 9] if u[28:30] == b"\x08\x00" and len(u) > 39 else "-",
          flush=True)'
ip netns exec "$NS-B" timeout 10 python3 -c "$CAP" vB 3 >"$T/cap.txt" 2>&1 &
cap_pid=$!
wait_for 5 grep -q ready "$T/cap.txt" || { cat "$T/cap.txt"; die "capture on B's veth did not start"; }
p5=$(icmp_ping "$NS-C" 169.254.200.2 5 56)
wait "$cap_pid" || { cat "$T/cap.txt"; die "capture on B's veth failed"; }
sed -n '2,$p' "$T/cap.txt" | sort | uniq -c | sed 's/^/   /'
[ "$p5" = 5/5 ] || die "C -> vx0 during the capture: $p5, want 5/5"
grep '^sw ' "$T/cap.txt" >"$T/cap-sw.txt"
nsw=$(wc -l <"$T/cap-sw.txt")
bad=$(awk -v c="$csum_ok" '!($3 == 0 && $5 == 64 && $7 == "ok" && $9 >= 1024 && $9 != 4789 && $11 == 4789 &&
	($14 == "ok" || $14 == c) && $16 == "0x08" && $18 == 42 && $20 == 0)' "$T/cap-sw.txt")
[ -z "$bad" ] || die "the switch's outer headers are wrong: $(echo "$bad" | head -3 | tr '\n' ';')"
sports=$(awk '{print $9}' "$T/cap-sw.txt" | sort -u | tr '\n' ' ' | sed 's/ $//')
# The echo requests are one flow: one source port (ARP, IPv6 neighbour
# discovery are other flows, other ports).
nicmp=$(awk '$22 == "0800" && $23 == 1' "$T/cap-sw.txt" | wc -l)
icmp_sp=$(awk '$22 == "0800" && $23 == 1 {print $9}' "$T/cap-sw.txt" | sort -u | tr '\n' ' ' | sed 's/ $//')
first=$(head -1 "$T/cap-sw.txt")
kern=$(grep -m1 '^kernel ' "$T/cap.txt")
note "5. switch: $first (source ports seen: $sports; $nicmp echo requests: $icmp_sp)"
note "   kernel: ${kern:-none captured}"
[ "$nicmp" -ge 5 ] || die "captured $nicmp ICMP packets in VXLAN from the switch, want >= 5 (one per echo request)"
[ "$(wc -w <<<"$icmp_sp")" = 1 ] || die "the switch's ICMP echo requests (one flow) left with source ports '$icmp_sp', want one"

vctl stats | tee "$T/stats.txt"
for x in vx tc td; do
	[ "$(sw_stat $x tx_errors)" = 0 ] || die "tx errors on $x"
done
result "switch_vxlan vs kernel vx0: C->vx0 $p1, D (VLAN 20) $p2; MTU DF IP1450 $p3a, IP1500 $p3b (tx_mtu_dropped +$((m1 - m0))); bad datagrams: rx_vxlan_bad +$db/$nb, rx_vxlan_vni +$dv/$nv, rx_vxlan_src +$ds/$ns, none learnt, ping after $p4; outer from the switch: df 0 ttl 64 udp csum $csum_ok, sport(s) $sports (echo flow $icmp_sp) -> 4789 flags 0x08 vni 42 ($nsw packets)"

# ---- 6. IPv6 underlay: a second tunnel (VNI 43, VLAN 30) over the same
# veth's link-local addresses, added to the running switch, to a kernel
# vxlan device over IPv6; E behind tap te pings it.
for x in A B; do
	v=v$x
	ip netns exec "$NS-$x" sysctl -qw "net.ipv6.conf.$v.disable_ipv6=0"
done
ip -n "$NS-A" -6 addr add fe80::a/64 dev vA nodad
ip -n "$NS-B" -6 addr add fe80::b/64 dev vB nodad
ip -n "$NS-B" link add vx6 type vxlan id 43 local fe80::b remote fe80::a dev vB dstport $VX_PORT ||
	die "the kernel cannot make a VXLAN device over IPv6"
ip -n "$NS-B" addr add 169.254.201.2/24 dev vx6
ip -n "$NS-B" link set vx6 up
vctl add-port "vxlan:vx6,local=fe80::a%vA,remote=fe80::b%vA,vni=43,tag=30" || die "add-port vx6"
vctl add-port "tap:te,ifname=${IFP}e,tag=30" || die "add-port te"
ip -n "$NS-A" link set "${IFP}e" netns "$NS-E" || die "cannot move ${IFP}e into $NS-E"
ip -n "$NS-E" link set "${IFP}e" up
ip -n "$NS-E" addr add 169.254.201.1/24 dev "${IFP}e"
vctl show | grep '^port vx6' | tee "$T/show6.txt"
grep -q "fe80::b%vA(mtu 1500)" "$T/show6.txt" || die "show: vx6 lacks its remote and path MTU"
p6=$(icmp_ping "$NS-E" 169.254.201.2 5 56)
p6b=$(icmp_ping "$NS-E" 169.254.201.2 3 1402)
p6c=$(icmp_ping "$NS-E" 169.254.201.2 2 1432)
vctl fdb | tee "$T/fdb6.txt"
vx6mac=$(ip -n "$NS-B" -o link show vx6 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[ "$p6" = 5/5 ] || die "E -> vx6 over the IPv6 underlay: $p6, want 5/5"
# 1500 - 56 bytes of IPv6/UDP/VXLAN/inner Ethernet overhead: IP 1430 fits.
[ "$p6b" = 3/3 ] && [ "$p6c" = 0/2 ] || die "IPv6 MTU: IP 1430 got $p6b (want 3/3), IP 1460 got $p6c (want 0/2)"
awk -v m="$vx6mac" '$1 == "vx6" && $2 == 30 && tolower($3) == m && $5 == "fe80::b%vA"' "$T/fdb6.txt" | grep -q . ||
	die "fdb lacks vx6's MAC $vx6mac in VLAN 30 behind fe80::b%vA"
result "switch_vxlan IPv6 underlay: E->vx6 $p6, IP 1430 $p6b, IP 1460 $p6c (tx_mtu_dropped $(sw_stat vx6 tx_mtu_dropped))"

# ---- 7. two VNIs on one tunnel address; a VLAN-tagged guest
ip -n "$NS-B" link add vx1 type vxlan id 44 local 169.254.100.2 remote 169.254.100.1 dstport $VX_PORT ||
	die "the kernel cannot make a second VXLAN device on port $VX_PORT"
ip -n "$NS-B" addr add 169.254.202.2/24 dev vx1
ip -n "$NS-B" link set vx1 up
ip -n "$NS-C" addr add 169.254.202.5/24 dev "${IFP}c"
vctl add-port "vxlan:vy,local=169.254.100.1,remote=169.254.100.2,vni=44,tag=20" || die "add-port vy"
vctl show | grep "^port vy:.* received by vx$" ||
	die "vy does not share vx's sockets"
vctl add-port "vhost-user:tr,trunks=10:20" || die "add-port tr"
wait_for 10 test -S "$T/tr" || die "no socket for tr"
vn0=$(sw_stat vx rx_vxlan_vni)
for x in vx vy; do
	bg "cap$x" "$VHU_CTL" --control "$CTL" capture $x "$T/$x.pcap" --count 100000 --timeout 150
done
guest_boot tr "$T/tr" "" "" "vhu.mode=ping vhu.vlan=10 vhu.vip=169.254.200.9/24 vhu.vlan1=20 vhu.vip1=169.254.202.9/24 vhu.peer=169.254.200.2 vhu.peer1=169.254.202.2 vhu.peer2=169.254.202.5 vhu.wait=40 vhu.wait2=0 vhu.count=5 vhu.limit=120" ||
	die "guest_boot tr"
guest_wait tr 130 || { guest_dump tr; die "the guest did not finish"; }
tr -d '\r' <"$T/tr.console" | sed -n 's/^.*\(VHU-GUEST:\)/   tr \1/p' | grep -v 'bytes from'
for x in vx vy; do
	eval "kill \$PID_cap$x"
	wait_for 10 grep -q "port $x: capture of .* ended" "$T/sw.log" || die "the capture of $x did not end"
done
want() { # want MARKER R/N WHAT
	local got; got=$(guest_marker tr "$1" | grep -E '^[0-9]+/[0-9]+$')
	[ "$got" = "$2" ] || { guest_dump tr; die "tr $3: $1 ${got:-none}, want $2"; }
}
want ping 5/5 "pinging vx0 (VNI 42) through eth0.10"
want ping1 5/5 "pinging vx1 (VNI 44) through eth0.20"
want ping2 0/5 "pinging C's 169.254.202.5 (VLAN 10) through eth0.20"
# Per capture: frames of 169.254.200.0/24, of 169.254.202.0/24, of others.
NETS='import struct, sys
d = open(sys.argv[1], "rb").read()
o, c = 24, {"200": 0, "202": 0, "other": 0}
while o + 16 <= len(d):
    n = struct.unpack_from("<I", d, o + 8)[0]
    f, o = d[o + 16:o + 16 + n], o + 16 + n
    t, b = f[12:14], f[14:]
    if t == b"\x81\x00":
        t, b = b[2:4], b[4:]
    if t == b"\x08\x00" and len(b) >= 20:
        ips = [b[12:16], b[16:20]]
    elif t == b"\x08\x06" and len(b) >= 28:
        ips = [b[14:18], b[24:28]]
    else:
        continue
    for a in ips:
        k = str(a[2]) if a[:2] == bytes([169, 254]) and a[2] in (200, 202) else "other"
        c[k] += 1
print(c["200"], c["202"], c["other"])'
read -r x200 x202 xo < <(python3 -c "$NETS" "$T/vx.pcap") || die "cannot read vx's capture"
read -r y200 y202 yo < <(python3 -c "$NETS" "$T/vy.pcap") || die "cannot read vy's capture"
vn1=$(sw_stat vx rx_vxlan_vni)
note "7. vx (VNI 42) addresses: 200.x $x200, 202.x $x202, other $xo; vy (VNI 44): 200.x $y200, 202.x $y202, other $yo; vx rx_vxlan_vni +$((vn1 - vn0))"
[ "$x202" = 0 ] && [ "$xo" = 0 ] && [ "$x200" -ge 20 ] || die "VNI 42's tunnel carried other tenants' frames or too few of its own"
[ "$y200" = 0 ] && [ "$yo" = 0 ] && [ "$y202" -ge 20 ] || die "VNI 44's tunnel carried other tenants' frames or too few of its own"
[ "$vn1" = "$vn0" ] || die "vx counted VNI 44's datagrams as another VNI's ($vn0 -> $vn1)"
for f in rx_vxlan_bad rx_vxlan_vni rx_vxlan_src; do
	[ "$(sw_stat vy $f)" = 0 ] || die "vy counted $f $(sw_stat vy $f)"
done
note "7. done"

# ---- 8. UDP GRO: coalesced datagrams split back into frames
GRO_N=${VX_GRO_N:-2000}
cmac=$(ip -n "$NS-C" -o link show "${IFP}c" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
GSEND='import socket, struct, sys, time
dst, port, mac, n = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(":", "")), int(sys.argv[4])
def csum(b):
    if len(b) % 2: b += b"\0"
    v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while v >> 16: v = (v & 0xffff) + (v >> 16)
    return ~v & 0xffff
src, to = socket.inet_aton("169.254.200.77"), socket.inet_aton("169.254.200.1")
def dgram(seq):
    pl = struct.pack("!I", seq) + bytes((seq + k) % 251 for k in range(996))
    u = struct.pack("!HHHH", 7777, 5555, 8 + len(pl), 0) + pl
    c = csum(src + to + struct.pack("!BBH", 0, 17, len(u)) + u) or 0xffff
    u = u[:6] + struct.pack("!H", c) + u[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), seq & 0xffff, 0, 64, 17, 0, src, to)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes([8, 0, 0, 0, 0, 0, 42, 0]) + mac + bytes([2, 0, 0, 0, 0xcc, 1]) + b"\x08\x00" + ip + u
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("169.254.100.2", 0))
s.setsockopt(17, 103, len(dgram(0)))  # UDP_SEGMENT
for base in range(0, n, 40):
    s.sendto(b"".join(dgram(q) for q in range(base, min(n, base + 40))), (dst, port))
    time.sleep(0.003)
print(n)'
GRECV='import socket, struct, sys, time
n, secs = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("169.254.200.1", 5555)); s.settimeout(0.5)
print("ready", flush=True)
seen, bad, dup, end = set(), 0, 0, time.time() + secs
while len(seen) < n and time.time() < end:
    try: d = s.recv(2048)
    except socket.timeout: continue
    q = struct.unpack("!I", d[:4])[0]
    if d[4:] != bytes((q + k) % 251 for k in range(996)): bad += 1
    elif q in seen: dup += 1
    else: seen.add(q)
print(len(seen), bad, dup)'
g0=$(sw_stat vx rx_vxlan_gro) pk0=$(sw_stat vx rx_packets)
[ -n "$g0" ] || die "vx has no rx_vxlan_gro counter"
ip netns exec "$NS-C" timeout 40 python3 -c "$GRECV" "$GRO_N" 30 >"$T/grecv.txt" 2>&1 &
grecv=$!
wait_for 5 grep -q ready "$T/grecv.txt" || { cat "$T/grecv.txt"; die "the receiver in C did not start"; }
ip netns exec "$NS-B" python3 -c "$GSEND" 169.254.100.1 $VX_PORT "$cmac" "$GRO_N" >/dev/null ||
	die "the UDP GSO sender in B failed"
wait "$grecv" || { cat "$T/grecv.txt"; die "the receiver in C failed"; }
read -r gseen gbad gdup < <(sed -n 2p "$T/grecv.txt")
g1=$(sw_stat vx rx_vxlan_gro) pk1=$(sw_stat vx rx_packets)
note "8. UDP GRO: $GRO_N sent by 40 with UDP GSO; C got $gseen (payload bad $gbad, duplicates $gdup); vx rx_packets +$((pk1 - pk0)), rx_vxlan_gro +$((g1 - g0))"
[ "$gseen" = "$GRO_N" ] && [ "$gbad" = 0 ] && [ "$gdup" = 0 ] ||
	die "C got ${gseen:-none} of $GRO_N datagrams (payload bad ${gbad:-?}, duplicates ${gdup:-?})"
[ $((g1 - g0)) -ge $((GRO_N / 2)) ] || die "only $((g1 - g0)) of $GRO_N datagrams came coalesced (rx_vxlan_gro): UDP GRO is off"

result "switch_vxlan two VNIs on one address: tagged guest eth0.10->vx0 (VNI 42) 5/5, eth0.20->vx1 (VNI 44) 5/5, eth0.20->VLAN 10's address 0/5; address fields on vx 200.x $x200 / 202.x 0, on vy 202.x $y202 / 200.x 0; UDP GRO: $gseen/$GRO_N intact, $((g1 - g0)) came coalesced"
echo PASS
