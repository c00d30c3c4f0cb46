#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# DPDK testpmd's TSO path (csum forwarding engine, `tso set`) through
# vhu-switch, payload verified (issue 16). Through the switch rather than
# vhu-fwd: testpmd's offload frames cross our product's vhost-user ports
# and reach a real TCP stack through its tap ports, which checks them.
#
#   netns A -- tap tA ==flow== p0 -- testpmd port 0
#                                       | csum engine, tso set 1300 on port 1
#   netns B -- tap tB ==flow== p1 -- testpmd port 1
#
# Port flows pin the path (tA -> p0, p0 -> tA, tB -> p1, p1 -> tB);
# testpmd forwards port 0 <-> port 1 and, as the csum engine does, writes
# the peer's MAC (--eth-peer) as destination, so each namespace gets
# frames for its own MAC. testpmd asks for LRO and checksum on receive
# (the switch then hands it A's 64 KiB GSO packets whole, over
# GUEST_TSO4) and for TCP checksum and TSO on transmit (HOST_TSO4): each
# big packet leaves port 1 marked for segmentation at 1300 bytes.
# Case whole: tB with offloads on, the switch passes those packets whole
# to B's kernel (tx_ol_whole), which B's capture sees as packets over the
# MTU. Case segmented: tB re-added with offloads=off, the switch segments
# them itself (tx_ol_segmented) at testpmd's 1300 bytes: the largest TCP
# payload B's capture sees is exactly 1300.
# Checked in each: TSO_MIB (16) MiB of random bytes A -> B over TCP with
# the same md5; the switch took frames bigger than the MTU from testpmd
# on p1 (its rx bytes per frame); no bad offload header, no rx errors.
# Once: virtio-user negotiated csum, guest_csum, host_tso4 and guest_tso4
# on p0 and p1 (vhu-ctl show); testpmd counted transmitted packets over
# 1518 bytes on port 1 (its xstats) and no bad L4 checksums.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd dpdk-testpmd
need_cmd python3
need_cmd md5sum
need_cmd tcpdump
setup_hugepages
DPDK_FILE_PREFIX="vhutso$$"

MIB=${TSO_MIB:-16}          # size of each transfer
SEG=1300                    # testpmd's TSO segment size on port 1
RING=1024                   # virtio-user queue_size: a 64 KiB packet takes ~32 slots
MA=02:00:00:00:30:0a MB=02:00:00:00:30:0b   # the namespaces' tap MACs
M0=02:00:00:00:30:00 M1=02:00:00:00:30:01   # testpmd's ports
IPA=169.254.30.1 IPB=169.254.30.2
CPU_TP=$(( $(nproc) - 1 ))
NSA=vhutsoA-$$ NSB=vhutsoB-$$
TAPA=vhuta$$ TAPB=vhutb$$
TAPA=${TAPA:0:15} TAPB=${TAPB:0:15}

ns_del() { ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null; }
# The namespaces go first, their taps with them (the switch must take its
# tap fds failing), then common.sh stops testpmd and the switch and
# judges the switch's exit.
trap '_exit_rc=${_exit_rc:-$?}; ns_del; cleanup' EXIT
ip netns add "$NSA" && ip netns add "$NSB" || skip "cannot create network namespaces"

sw_start --pmd-cpus 0 --port vhost-user:p0 --port vhost-user:p1 \
	--port "tap:tA,ifname=$TAPA" --port "tap:tB,ifname=$TAPB" \
	--flow in_port=tA,actions=output:p0 --flow in_port=p0,actions=output:tA \
	--flow in_port=tB,actions=output:p1 --flow in_port=p1,actions=output:tB

# ns_setup NS IF MAC IP PEER-IP PEER-MAC: the switch's tap into its
# namespace. The peer's MAC is static: testpmd rewrites destinations
# anyway, and ARP then cannot be what a failure hangs on.
ns_setup() {
	local ns=$1 ifc=$2 mac=$3 ip=$4 pip=$5 pmac=$6
	ip link set "$ifc" netns "$ns" || { sw_dump; fail "cannot move $ifc into $ns"; }
	ip -n "$ns" link set "$ifc" address "$mac" &&
	ip -n "$ns" addr add "$ip/16" dev "$ifc" &&
	ip -n "$ns" link set "$ifc" up &&
	ip -n "$ns" link set lo up &&
	ip -n "$ns" neigh replace "$pip" lladdr "$pmac" dev "$ifc" nud permanent ||
		fail "cannot configure $ifc in $ns"
	ip netns exec "$ns" ethtool -k "$ifc" 2>/dev/null |
		grep -E "^(tx-checksumming|tcp-segmentation-offload):" | sed "s/^/-- $ns $ifc: /"
}
ns_setup "$NSA" "$TAPA" $MA $IPA $IPB $MB
ns_setup "$NSB" "$TAPB" $MB $IPB $IPA $MA

# testpmd interactive, its prompt fed from a fifo that this shell holds
# open on fd 9 (so it never reads end of input before quit).
tp_cmd() { echo "$*" >&9; }
tp_log_has() { strip_ansi <"$T/tp.log" | grep -qE "$1"; }
tp_fail() { strip_ansi <"$T/tp.log" | grep -v '^ *$' | tail -40; sw_dump; fail "$*"; }
# --total-num-mbufs=16384 below (2 KiB each): both rx rings filled and a
# few dozen 64 KiB packets in flight, without testpmd's default 150000.
mem=(-m 512)
[ "$HUGE_OPTS" = "--no-huge" ] && mem=(--no-huge -m 512)
mkfifo "$T/tp.in"
exec 9<>"$T/tp.in"
vdev() { echo "net_virtio_user$1,path=$T/p$1,queues=1,queue_size=$RING,mac=$2"; }
# Offloads asked for on both ports from the first configure on: receive
# UDP_CKSUM|TCP_CKSUM|TCP_LRO (0x4|0x8|0x10: the virtio PMD then asks for
# GUEST_CSUM and GUEST_TSO4/6; not --enable-rx-cksum, which adds the IPv4
# checksum virtio cannot do, and configure fails), transmit
# UDP_CKSUM|TCP_CKSUM|TCP_TSO (0x4|0x8|0x20: CSUM, HOST_TSO4/6). The
# virtio PMD can have each only when the backend offers it.
# The fifo as an explicit redirection in the command: bash gives a
# background job without one /dev/null as stdin.
bg tp bash -c 'exec <"$1"; shift; exec "$@"' _ "$T/tp.in" \
	timeout -k 3 240 dpdk-testpmd --lcores "0@0,1@$CPU_TP" --no-pci \
	--file-prefix="$DPDK_FILE_PREFIX" --single-file-segments --iova-mode=va "${mem[@]}" \
	--vdev "$(vdev 0 $M0)" --vdev "$(vdev 1 $M1)" -- -i --nb-cores=1 \
	--rx-offloads=0x1c --tx-offloads=0x2c \
	--eth-peer=0,$MA --eth-peer=1,$MB --total-num-mbufs=16384
wait_for 30 tp_log_has "testpmd> " || tp_fail "testpmd did not start"

# The csum engine: IPv4 header checksum in software (virtio has no such
# offload), TCP and UDP checksums by the "hardware" (the switch, or B's
# kernel), TSO at $SEG bytes towards B. These settings need stopped ports.
for c in "port stop all" "set fwd csum" \
	"csum set ip sw 0" "csum set ip sw 1" "csum set tcp hw 0" "csum set tcp hw 1" \
	"csum set udp hw 0" "csum set udp hw 1" "tso set $SEG 1" "port start all" \
	"show port 0 rx_offload configuration" "show port 1 tx_offload configuration" \
	"tso show 1" "start"; do
	tp_cmd "$c"
done
if ! wait_for 30 tp_log_has "csum packet forwarding"; then
	why=$(strip_ansi <"$T/tp.log" | grep -m1 "doesn't match .* offloads capabilities")
	tp_fail "testpmd did not start forwarding${why:+: $why (virtio-user offers an offload only when the switch does)}"
fi
tp_log_has "TSO segment size for non-tunneled packets is $SEG" || tp_fail "tso set $SEG 1 did not take"
sw_wait_running p0 10 && sw_wait_running p1 10 || tp_fail "testpmd's ports are not running on the switch"
vctl show | tee "$T/show.txt"
for p in p0 p1; do
	f=$(sed -n "/^port $p:/,/^port /s/^ *features .*\[\(.*\)\]/\1/p" "$T/show.txt")
	for want in csum guest_csum host_tso4 guest_tso4; do
		[[ " $f " == *" $want "* ]] ||
			tp_fail "$p: virtio-user did not negotiate $want (features: $f)"
	done
done

cat >"$T/rx.py" <<'EOF'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60)
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(1 << 20)
        if not b: break
        f.write(b)
c.close()
EOF
cat >"$T/tx.py" <<'EOF'
import socket, sys, time
for i in range(50):
    try:
        s = socket.create_connection((sys.argv[1], 5001), timeout=5); break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("cannot connect")
s.settimeout(60)
t = time.time()
with open(sys.argv[2], "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # end of stream: B has read everything and closed
print("seconds %.3f" % (time.time() - t))
EOF

# transfer CASE: MIB random MiB A -> B, md5 compared, B's side captured
# (headers only); the switch's counters of p1 and tB are taken around it.
transfer() {
	local c=$1 md5a md5b p1rx p1rb secs maxlen err rc_tx rc_rx bw bs bc p
	head -c $((MIB << 20)) /dev/urandom >"$T/send-$c.bin"
	p1rx=$(sw_stat p1 rx_packets) p1rb=$(sw_stat p1 rx_bytes)
	bg "td$c" timeout 90 ip netns exec "$NSB" tcpdump -i "$TAPB" -nn -s 96 -w "$T/b-$c.pcap" \
		"tcp and src host $IPA"
	wait_for 10 grep -q "listening on" "$T/td$c.log" || { cat "$T/td$c.log"; fail "$c: tcpdump did not start"; }
	bg "rx$c" timeout 90 ip netns exec "$NSB" python3 "$T/rx.py" $IPB "$T/recv-$c.bin"
	sleep 0.3
	bg "tx$c" timeout 90 ip netns exec "$NSA" python3 "$T/tx.py" $IPB "$T/send-$c.bin"
	wait "$(eval echo "\$PID_tx$c")"; rc_tx=$?
	wait "$(eval echo "\$PID_rx$c")"; rc_rx=$?
	sleep 0.5  # the capture's last packets
	kill -INT "$(eval echo "\$PID_td$c")"; wait "$(eval echo "\$PID_td$c")"
	cat "$T/tx$c.log" "$T/rx$c.log"
	md5a=$(md5sum <"$T/send-$c.bin" | cut -d' ' -f1)
	md5b=$(md5sum <"$T/recv-$c.bin" 2>/dev/null | cut -d' ' -f1)
	secs=$(sed -n 's/^seconds //p' "$T/tx$c.log")
	vctl stats | tee "$T/stats-$c.txt"
	p1rx=$(($(sw_stat p1 rx_packets) - p1rx)) p1rb=$(($(sw_stat p1 rx_bytes) - p1rb))
	# The largest TCP payload B's kernel received from A.
	maxlen=$(tcpdump -nn -r "$T/b-$c.pcap" 2>/dev/null | sed -n 's/.*, length \([0-9]*\)$/\1/p' | sort -n | tail -1)
	bw=$(sw_stat tB tx_ol_whole) bs=$(sw_stat tB tx_ol_segmented) bc=$(sw_stat tB tx_ol_csum)
	err=0
	for p in p0 p1 tA tB; do err=$((err + $(sw_stat $p rx_errors))); done
	result "switch_testpmd_tso $c: $MIB MiB A->B in ${secs:-?} s md5 ${md5b:-none} (sent $md5a);" \
		"switch p1 rx $p1rx frames $p1rb bytes ($((p1rb / (p1rx ? p1rx : 1))) B a frame);" \
		"tB tx_ol_whole $bw tx_ol_segmented $bs tx_ol_csum $bc; largest TCP payload in B ${maxlen:-?};" \
		"drops p0 tx $(sw_stat p0 tx_dropped) p1 tx $(sw_stat p1 tx_dropped) tB tx $(sw_stat tB tx_dropped); rx errors $err"
	[ "$rc_tx" = 0 ] && [ "$rc_rx" = 0 ] || tp_fail "$c: transfer failed (tx rc $rc_tx, rx rc $rc_rx)"
	[ "$md5a" = "$md5b" ] || tp_fail "$c: md5 differs: sent $md5a, received ${md5b:-nothing}"
	[ "$p1rx" -gt 0 ] && [ $((p1rb / p1rx)) -gt 1514 ] ||
		tp_fail "$c: p1 took no frames over the MTU from testpmd ($p1rx frames, $p1rb bytes)"
	[ "$err" = 0 ] || tp_fail "$c: $err rx errors on the switch's ports"
	! grep -q "bad offload header" "$T/sw.log" || tp_fail "$c: the switch dropped packets with bad offload headers"
	[ -n "$maxlen" ] || fail "$c: B's capture has no TCP data from A"
	case $c in
	whole)
		# The flow sends all p1 takes to tB (there from the start), one
		# frame for one: sent whole, or counted as dropped on either side.
		# One snapshot of both ports, taken once two in a row agree: read
		# apart, a late frame (an ACK, a FIN) can fall between the reads.
		local in out s1 s2 k
		s2=$(vctl stats)
		for k in $(seq 20); do
			sleep 0.1; s1=$s2; s2=$(vctl stats)
			[ "$s1" = "$s2" ] && break
		done
		st() { echo "$s2" | sed -n "s/^port $1:.* $2 \([0-9]*\).*/\1/p"; }
		in=$(st p1 rx_packets)
		out=$(($(st tB tx_packets) + $(st tB tx_dropped) + $(st p1 rx_dropped)))
		[ "$in" = "$out" ] || tp_fail "whole: p1 took $in frames, tB sent or dropped $out"
		[ "$bw" -gt 0 ] || tp_fail "whole: tB passed no offload frame whole"
		[ "$maxlen" -gt 1448 ] || fail "whole: B's kernel saw no packet over the MTU (largest payload $maxlen)"
		;;
	segmented)
		[ "$bs" -gt 0 ] || tp_fail "segmented: tB segmented nothing"
		[ "$maxlen" = $SEG ] || fail "segmented: largest payload in B $maxlen, want testpmd's TSO size $SEG"
		;;
	esac
}

transfer whole

# tB again with offloads off: the switch must segment for it alone. The
# flows name tB and find the new port.
vctl del-port tB || fail "del-port tB"
vctl add-port "tap:tB,ifname=$TAPB,offloads=off" || fail "add-port tB offloads=off"
ns_setup "$NSB" "$TAPB" $MB $IPB $IPA $MA
transfer segmented

tp_cmd "stop"
tp_cmd "show port xstats 1"
tp_cmd "quit"
wait "$PID_tp"
strip_ansi <"$T/tp.log" | grep -v '^ *$' >"$T/tp.txt"
sed -n '/Forward statistics for port/,/^ *[+]*$/p' "$T/tp.txt" | grep -E "statistics|packets|Bad"
big=$(sed -n 's/.*tx_q0_size_1519_max_packets: *\([0-9]*\).*/\1/p' "$T/tp.txt" | tail -1)
bad=$(sed -n 's/.*Bad-l4csum: *\([0-9]*\).*/\1/p' "$T/tp.txt" | sort -n | tail -1)
result "switch_testpmd_tso testpmd port 1 transmitted ${big:-?} packets over 1518 bytes; largest Bad-l4csum ${bad:-?}"
[ -n "$big" ] && [ "$big" -gt 0 ] || fail "testpmd's xstats show no packet over 1518 bytes sent on port 1"
[ "${bad:-x}" = 0 ] || fail "testpmd counted bad L4 checksums (${bad:-none})"
echo PASS
