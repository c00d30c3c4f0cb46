#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TCP through vhu-switch between network namespaces behind tap ports, the
# kernel's own TCP on both ends. Taps a and b take offloads (the default),
# c has offloads=off; a is a multi-queue tap (queues=2). Checked:
#  - iperf3 a -> b: TSO packets from a's kernel cross whole (b's
#    tx_ol_whole grows; none segmented); with 4 streams, a's kernel
#    spreads them over both of a's queues (both count rx packets);
#  - iperf3 a -> c: the switch segments for c alone (c's tx_ol_segmented
#    grows) and c's kernel gets frames no larger than its MTU;
#  - a file of 8 MiB a -> b, b -> a, a -> c and c -> a, md5 equal on both
#    ends;
#  - a capture on b during a -> b (a capture takes no offloads): tshark
#    reads frames of at most 1514 bytes with no bad TCP checksum;
#  - UDP segmentation (USO): a's kernel sends UDP GSO packets (UDP_SEGMENT
#    1400, 40 datagrams each); b takes them whole, the switch segments
#    them for c; every datagram arrives at b and c, each checked.
# Namespaces are this test's own, addresses link-local, removed on exit.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd iperf3
need_cmd python3
need_cmd tshark

NS=vhutcp-$$
IFP=vt$$
IFP=${IFP:0:12}
trap 'for x in a b c; do ip netns del "$NS-$x" 2>/dev/null; done; cleanup' EXIT
sw_start --port "tap:a,ifname=${IFP}a,queues=2" --port "tap:b,ifname=${IFP}b" \
	--port "tap:c,ifname=${IFP}c,offloads=off"
n=1
for x in a b c; do
	ip netns add "$NS-$x" || skip "cannot create a network namespace"
	ip link set "$IFP$x" netns "$NS-$x" || { sw_dump; fail "cannot move $IFP$x into $NS-$x"; }
	ip -n "$NS-$x" addr add "169.254.30.$n/16" dev "$IFP$x"
	ip -n "$NS-$x" link set "$IFP$x" up
	ip -n "$NS-$x" link set lo up
	n=$((n + 1))
done
addr() { case $1 in a) echo 169.254.30.1 ;; b) echo 169.254.30.2 ;; c) echo 169.254.30.3 ;; esac; }
vctl show | tee "$T/show.txt"
grep -q "^port a: .*offloads \[csum tso4 tso6 ecn" "$T/show.txt" || fail "tap a does not take offloads"
grep -q "^port c: .*offloads \[none\]" "$T/show.txt" || fail "tap c has offloads"

# iperf FROM TO: Gbit/s of a 3-second stream.
iperf() {
	ip netns exec "$NS-$2" timeout 20 iperf3 -s -1 -p 5201 >"$T/iperf-s-$2.log" 2>&1 &
	local sp=$!
	wait_for 5 sh -c "ip netns exec '$NS-$2' ss -ltn | grep -q ':5201 '"
	ip netns exec "$NS-$1" timeout 20 iperf3 -c "$(addr "$2")" -t 3 -P "${3:-1}" -J >"$T/iperf-$1$2.json" 2>&1 ||
		{ cat "$T/iperf-$1$2.json"; sw_dump; fail "iperf3 $1 -> $2 failed"; }
	wait "$sp"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' "$T/iperf-$1$2.json"
}
w0=$(sw_stat b tx_ol_whole)
vctl capture b "$T/b.pcap" --count 400 --timeout 15 >"$T/cap.out" 2>&1 &
cap_pid=$!
gab=$(iperf a b 4)
wait "$cap_pid" || { cat "$T/cap.out"; fail "capture on b failed"; }
# rxq N: rx packets of a's queue N.
rxq() { vctl stats a | sed -n "s/^  queue $1: rx_packets \([0-9]*\) .*/\1/p"; }
q0=$(rxq 0) q1=$(rxq 1)
note "a's queues: rx 0: $q0, 1: $q1"
if [ "${q0:-0}" = 0 ] || [ "${q1:-0}" = 0 ]; then
	# 4 flows all hashed to one queue (1 in 8): once more with 8.
	iperf a b 8 >/dev/null
	q0=$(rxq 0) q1=$(rxq 1)
	note "a's queues after 8 more streams: rx 0: $q0, 1: $q1"
	[ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] || { vctl stats a; fail "one of a's two queues got nothing"; }
fi
w1=$(sw_stat b tx_ol_whole) s1=$(sw_stat b tx_ol_segmented)
note "a -> b $gab Gbit/s; b took $((w1 - w0)) offload frames whole, segmented $s1"
[ $((w1 - w0)) -gt 0 ] || { vctl stats; fail "no TSO frame crossed whole to b"; }
[ "$s1" = 0 ] || fail "the switch segmented $s1 packets for b, which takes TSO"
tshark -r "$T/b.pcap" -o tcp.check_checksum:TRUE -T fields -e frame.len -e tcp.checksum.status \
	>"$T/b.txt" 2>"$T/tshark.err" || { cat "$T/tshark.err"; fail "tshark cannot read the capture"; }
ncap=$(wc -l <"$T/b.txt") big=$(awk '$1 > 1514' "$T/b.txt" | wc -l)
badck=$(awk '$2 == 0' "$T/b.txt" | wc -l) tcp=$(awk '$2 == 1' "$T/b.txt" | wc -l)
note "capture on b: $ncap frames, $tcp TCP with good checksums, $big over 1514 bytes, $badck bad checksums"
[ "$ncap" -ge 100 ] && [ "$tcp" -ge 100 ] && [ "$big" = 0 ] && [ "$badck" = 0 ] ||
	fail "the capture holds unsegmented or badly checksummed frames"
gac=$(iperf a c)
sc=$(sw_stat c tx_ol_segmented) wc=$(sw_stat c tx_ol_whole)
note "a -> c $gac Gbit/s; segmented for c $sc, whole $wc"
[ "$sc" -gt 0 ] || { vctl stats; fail "nothing was segmented for c (offloads=off)"; }
[ "$wc" = 0 ] || fail "$wc offload frames went whole to c, which takes none"

# xfer FROM TO: 8 MiB of random bytes over TCP; md5 on both ends.
XFER='import hashlib, socket, sys
role, addr = sys.argv[1], sys.argv[2]
if role == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 5202)); s.listen(1); s.settimeout(20)
    c, _ = s.accept(); c.settimeout(20); h = hashlib.md5(); n = 0
    while True:
        b = c.recv(1 << 16)
        if not b: break
        h.update(b); n += len(b)
    print(n, h.hexdigest())
else:
    data = open(sys.argv[3], "rb").read()
    c = socket.create_connection((addr, 5202), timeout=20); c.sendall(data); c.close()
    print(len(data), hashlib.md5(data).hexdigest())'
head -c $((8 << 20)) /dev/urandom >"$T/file"
xfer() {
	ip netns exec "$NS-$2" timeout 30 python3 -c "$XFER" recv "$(addr "$2")" >"$T/recv-$1$2" 2>&1 &
	local rp=$!
	wait_for 5 sh -c "ip netns exec '$NS-$2' ss -ltn | grep -q ':5202 '"
	ip netns exec "$NS-$1" timeout 30 python3 -c "$XFER" send "$(addr "$2")" "$T/file" >"$T/send-$1$2" 2>&1 ||
		{ cat "$T/send-$1$2"; fail "send $1 -> $2 failed"; }
	wait "$rp"
	local s r
	s=$(cat "$T/send-$1$2") r=$(cat "$T/recv-$1$2")
	[ "$s" = "$r" ] || { sw_dump; fail "$1 -> $2: sent '$s', received '$r'"; }
	echo "$1->$2 ok"
}
x=$(xfer a b; xfer b a; xfer a c; xfer c a)

# uso FROM TO: 100 UDP GSO sends of 40 datagrams of 1400 bytes, paced;
# prints "datagrams received, bad ones".
USO='import socket, sys, time
role, addr = sys.argv[1], sys.argv[2]
P = bytes(range(256)) * 7
def dgram(seq): return seq.to_bytes(4, "big") + P[seq % 256:seq % 256 + 1396]
if role == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, 5203)); s.settimeout(3); print("ready", flush=True)
    got = bad = 0
    try:
        while True:
            b = s.recv(65535); got += 1
            if len(b) != 1400 or b != dgram(int.from_bytes(b[:4], "big")): bad += 1
    except socket.timeout: pass
    print(got, bad)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_UDP, 103, 1400)  # UDP_SEGMENT
    s.connect((addr, 5203))
    for k in range(100):
        s.send(b"".join(dgram(k * 40 + i) for i in range(40))); time.sleep(0.002)
    print(4000)'
uso() {
	ip netns exec "$NS-$2" timeout 30 python3 -c "$USO" recv "$(addr "$2")" >"$T/uso-$1$2" 2>&1 &
	local rp=$!
	wait_for 5 grep -q ready "$T/uso-$1$2"
	ip netns exec "$NS-$1" timeout 30 python3 -c "$USO" send "$(addr "$2")" >/dev/null 2>"$T/uso-send.err" ||
		{ cat "$T/uso-send.err"; fail "UDP GSO send $1 -> $2 failed"; }
	wait "$rp"
	tail -1 "$T/uso-$1$2"
}
ub0=$(sw_stat b tx_ol_whole) uc0=$(sw_stat c tx_ol_segmented)
ub=$(uso a b) uc=$(uso a c)
ub1=$(sw_stat b tx_ol_whole) uc1=$(sw_stat c tx_ol_segmented)
note "USO a -> b: received/bad $ub (b: $((ub1 - ub0)) whole); a -> c: $uc (c: $((uc1 - uc0)) segmented)"
[ "$ub" = "4000 0" ] && [ "$uc" = "4000 0" ] || { vctl stats; fail "UDP datagrams lost or bad: b '$ub', c '$uc'"; }
[ $((ub1 - ub0)) -ge 100 ] || fail "UDP GSO packets did not cross whole to b ($((ub1 - ub0)))"
[ $((uc1 - uc0)) -ge 100 ] || fail "UDP GSO packets were not segmented for c ($((uc1 - uc0)))"
vctl stats | tee "$T/stats.txt"
for p in a b c; do
	[ "$(sw_stat $p tx_errors)" = 0 ] || fail "tx errors on $p"
done
result "switch_tap_tcp iperf3 a->b $gab Gbit/s (4 streams; a's 2 queues rx $q0/$q1) (b: $((w1 - w0)) TSO frames whole), a->c $gac Gbit/s (c offloads=off: $sc segmented); USO 4000 datagrams to b ($((ub1 - ub0)) GSO whole) and c ($((uc1 - uc0)) segmented), 0 bad; 8 MiB md5 equal:" $x
echo PASS
