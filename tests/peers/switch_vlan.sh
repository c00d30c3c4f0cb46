#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VLANs in vhu-switch with four real Linux guests (QEMU, TCG), booted at once:
#   g1 on port g1,tag=10  169.254.10.1/24            serves
#   g2 on port g2,tag=10  169.254.10.2/24            pings g1: 5/5
#   g3 on port g3,tag=20  169.254.10.3/24 (VLAN 10's subnet on purpose, so
#                         that it ARPs for g1) and 169.254.20.3/24; pings
#                         169.254.10.1 the whole time: no reply while its
#                         port is in VLAN 20
#   tr on port tr,trunks=10:20  eth0.10 169.254.10.4/24, eth0.20
#                         169.254.20.4/24, no address on eth0; pings g1
#                         through eth0.10 and g3 through eth0.20 (5/5 each),
#                         then 169.254.10.3 (g3's address, in the wrong
#                         VLAN): 0/5
# While they run, back-to-back captures of ports g3 and tr: g3's hold
# tr's VLAN 20 frames and no frame from g1 or g2 (none of VLAN 10's
# broadcasts reached it), none of them tagged; tr's hold 802.1Q frames of
# VID 10 and VID 20, g1's and g2's frames only in VID 10 and g3's only in
# VID 20. vhu-ctl fdb has g1 in VLAN 10 and tr in VLANs 10 and 20; show
# has each port's mode; stats has rx_vlan_dropped. Then vhu-ctl set-port
# g3 tag=10 moves g3 into VLAN 10 under its running ping: show says
# access 10 and g3's pings to g1 are answered.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd python3
guest_prepare || skip "no guest kernel/initramfs (see above)"

G1=169.254.10.1 G2=169.254.10.2 G3A=169.254.10.3 G3B=169.254.20.3 TR10=169.254.10.4 TR20=169.254.20.4
M1=$(guest_mac g1 0) M2=$(guest_mac g2 0) M3=$(guest_mac g3 0) MT=$(guest_mac tr 0)

dump_all() { local g; for g in g1 g2 g3 tr; do guest_dump "$g"; done; sw_dump; }
die() { dump_all; fail "$*"; }

sw_start --port vhost-user:g1,tag=10 --port vhost-user:g2,tag=10 \
	--port vhost-user:g3,tag=20 --port vhost-user:tr,trunks=10:20

# show_vlan PORT: the VLAN words of PORT's line in vhu-ctl show ("access 10").
show_vlan() { vctl show | sed -n "s/^port $1: .*vlan \\(all\\|access [0-9]*\\|trunk [0-9:,-]*\\).*/\\1/p"; }
vctl show
for pm in "g1=access 10" "g2=access 10" "g3=access 20" "tr=trunk 10:20"; do
	got=$(show_vlan "${pm%%=*}")
	[ "$got" = "${pm#*=}" ] || { sw_dump; fail "vhu-ctl show: port ${pm%%=*} has vlan '${got}', want '${pm#*=}'"; }
done

# cap_loop PORT: captures of PORT one after the other, 3 s each, into
# $T/cap-PORT-N.pcap, until $T/cap.stop exists. (A capture's file is whole
# only once it ends; the gaps between two are a few milliseconds.)
cap_loop() {
	local i=0
	while [ ! -e "$T/cap.stop" ]; do
		i=$((i + 1))
		"$VHU_CTL" --control "$CTL" capture "$1" "$T/cap-$1-$i.pcap" --count 1000000 --timeout 3 ||
			{ echo "capture $1 #$i failed"; return 1; }
	done
}
bg capg3 cap_loop g3
bg captr cap_loop tr

guest_boot g1 "$T/g1" "" "" "vhu.mode=serve vhu.ip=$G1/24 vhu.time=100 vhu.limit=115" || fail "guest_boot g1"
guest_boot g2 "$T/g2" "" "" "vhu.mode=ping vhu.ip=$G2/24 vhu.peer=$G1 vhu.count=5 vhu.wait=60" || fail "guest_boot g2"
guest_boot g3 "$T/g3" "" "" "vhu.mode=pingloop vhu.ip=$G3A/24 vhu.ipb=$G3B/24 vhu.peer=$G1 vhu.count=1000 vhu.interval=0.5 vhu.time=95 vhu.limit=115" ||
	fail "guest_boot g3"
guest_boot tr "$T/tr" "" "" "vhu.mode=ping vhu.vlan=10 vhu.vip=$TR10/24 vhu.vlan1=20 vhu.vip1=$TR20/24 vhu.peer=$G1 vhu.peer1=$G3B vhu.peer2=$G3A vhu.wait=60 vhu.wait2=0 vhu.count=5" ||
	fail "guest_boot tr"

# g3 must have been pinging g1 for a while, with g1 up, before it changes VLAN.
con() { tr -d '\r' <"$T/$1.console"; }
wait_for 90 sh -c "grep -q 'VHU-GUEST: ready' '$T/g1.console' && grep -q 'VHU-GUEST: pingloop start' '$T/g3.console'" ||
	die "g1 did not come up or g3 did not start pinging"
t_both=$(date +%s)
for g in g2 tr; do guest_wait "$g" 90 || die "$g did not finish"; done
for g in g1 g2 g3 tr; do
	con "$g" | sed -n "s/^.*\\(VHU-GUEST:\\)/   $g \\1/p" | grep -v 'bytes from'
	con "$g" | grep -q 'VHU-GUEST: error' && die "$g reported an error"
done
for v in 10 20; do
	con tr | grep -q "VHU-GUEST: eth0.$v mac=.* up" || die "tr has no eth0.$v"
done
left=$((t_both + 6 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"

touch "$T/cap.stop"
wait "$PID_capg3" || { cat "$T/capg3.log"; die "captures of g3 failed"; }
wait "$PID_captr" || { cat "$T/captr.log"; die "captures of tr failed"; }

vctl fdb >"$T/fdb.txt"; vctl show >"$T/show.txt"; vctl stats >"$T/stats.txt"
cat "$T/show.txt" "$T/stats.txt" "$T/fdb.txt"

# ---- pings
want() { # want GUEST MARKER R/N WHAT
	local got; got=$(guest_marker "$1" "$2" | grep -E '^[0-9]+/[0-9]+$')
	[ "$got" = "$3" ] || die "$1 $4: $2 ${got:-none}, want $3"
}
want g2 ping 5/5 "pinging g1 in VLAN 10"
want tr ping 5/5 "pinging g1 through eth0.10"
want tr ping1 5/5 "pinging g3 ($G3B) through eth0.20"
want tr ping2 0/5 "pinging $G3A through eth0.10 (g3 is in VLAN 20)"
# busybox prints replies late (tail -f polls once a second): give it 2 s.
sleep 2
n3=$(con g3 | grep -c "bytes from $G1")
[ "$n3" = 0 ] || die "g3 (VLAN 20) got $n3 replies from g1 (VLAN 10)"
con g3 | grep -q 'VHU-GUEST: ping ' && die "g3's ping ended early"
result "switch_vlan pings: g2->g1 5/5, tr->g1 via eth0.10 5/5, tr->g3 via eth0.20 5/5, tr->$G3A via eth0.10 0/5, g3->g1 across VLANs 0 replies in $(( $(date +%s) - t_both )) s"

# ---- captures: "SRC DST VID|- ETHERTYPE" per frame, VID - when untagged
frames() {
	python3 - "$@" <<'PY'
import struct, sys
for fn in sys.argv[1:]:
    b = open(fn, "rb").read()
    e = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
         b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(b[:4])
    if e is None or len(b) < 24:
        print("bad-pcap", fn); continue
    off = 24
    while off + 16 <= len(b):
        incl = struct.unpack(e + "I", b[off + 8:off + 12])[0]
        f = b[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(f) < 14:
            print("short - - -"); continue
        dst = ":".join("%02x" % x for x in f[0:6])
        src = ":".join("%02x" % x for x in f[6:12])
        et, vid = struct.unpack(">H", f[12:14])[0], "-"
        if et == 0x8100 and len(f) >= 18:
            vid = struct.unpack(">H", f[14:16])[0] & 0xfff
            et = struct.unpack(">H", f[16:18])[0]
        print(src, dst, vid, "%04x" % et)
PY
}
frames "$T"/cap-g3-*.pcap >"$T/g3.frames"
frames "$T"/cap-tr-*.pcap >"$T/tr.frames"
grep -q '^bad-pcap' "$T/g3.frames" "$T/tr.frames" && die "unreadable capture: $(grep -h '^bad-pcap' "$T/g3.frames" "$T/tr.frames" | head -3)"
lc() { tr 'A-F' 'a-f'; }
M1=$(echo "$M1" | lc) M2=$(echo "$M2" | lc) M3=$(echo "$M3" | lc) MT=$(echo "$MT" | lc)
cnt() { awk "$2" "$1" | wc -l; } # cnt FILE AWK-CONDITION
g3_all=$(wc -l <"$T/g3.frames")
g3_v10=$(cnt "$T/g3.frames" "\$1 == \"$M1\" || \$1 == \"$M2\"")
g3_tr=$(cnt "$T/g3.frames" "\$1 == \"$MT\"")
g3_tag=$(cnt "$T/g3.frames" '$3 != "-"')
tr_all=$(wc -l <"$T/tr.frames")
tr_10=$(cnt "$T/tr.frames" '$3 == 10')
tr_20=$(cnt "$T/tr.frames" '$3 == 20')
tr_bad=$(cnt "$T/tr.frames" "((\$1 == \"$M1\" || \$1 == \"$M2\") && \$3 != 10) || (\$1 == \"$M3\" && \$3 != 20)")
# VLAN 10's broadcasts and multicasts (ARP, IPv6 neighbour discovery) from
# g1 and g2 reached tr while g3 was captured: what g3 must not have seen.
tr_b10=$(cnt "$T/tr.frames" "(\$1 == \"$M1\" || \$1 == \"$M2\") && \$3 == 10 && \$2 ~ /^(ff|33|01)/")
result "switch_vlan captures: g3 $g3_all frames ($g3_v10 from g1/g2, $g3_tr from tr, $g3_tag tagged); tr $tr_all frames ($tr_10 VID 10, $tr_20 VID 20, $tr_b10 broadcast/multicast from g1/g2, $tr_bad from an access port in the wrong VID)"
[ "$g3_v10" = 0 ] || die "g3's port (VLAN 20) saw $g3_v10 frames from g1/g2 (VLAN 10): $(awk "\$1 == \"$M1\" || \$1 == \"$M2\"" "$T/g3.frames" | sort | uniq -c | head -5 | tr '\n' ';')"
[ "$g3_tr" -gt 0 ] || die "g3's port saw nothing of tr's VLAN 20 traffic (is the capture working?)"
[ "$g3_tag" = 0 ] || die "g3's port (access) saw $g3_tag tagged frames"
[ "$tr_10" -gt 0 ] && [ "$tr_20" -gt 0 ] || die "tr's port (trunk): want 802.1Q frames of VID 10 and VID 20, got $tr_10 and $tr_20"
[ "$tr_b10" -gt 0 ] || die "tr's port saw no broadcast or multicast of g1/g2 in VID 10: nothing proves g3's capture could have missed one"
[ "$tr_bad" = 0 ] || die "tr's port saw $tr_bad frames of g1/g2 not in VID 10 or of g3 not in VID 20"

# ---- fdb: the VLAN is the field before the MAC
fdb_vlans() { awk -v m="$1" '{ for (i = 2; i <= NF; i++) if (tolower($i) == m) print $(i - 1) }' "$T/fdb.txt" | sort -n | tr '\n' ' ' | sed 's/ $//'; }
[ "$(fdb_vlans "$M1")" = 10 ] || die "fdb: g1 ($M1) in VLANs '$(fdb_vlans "$M1")', want 10"
[ "$(fdb_vlans "$MT")" = "10 20" ] || die "fdb: tr ($MT) in VLANs '$(fdb_vlans "$MT")', want 10 20"
[ "$(fdb_vlans "$M3")" = 20 ] || die "fdb: g3 ($M3) in VLANs '$(fdb_vlans "$M3")', want 20"
drop=
for p in g1 g2 g3 tr; do
	v=$(sw_stat "$p" rx_vlan_dropped)
	[ -n "$v" ] || die "vhu-ctl stats has no rx_vlan_dropped for $p"
	drop+=" $p=$v"
done
result "switch_vlan fdb: g1 in VLAN $(fdb_vlans "$M1"), tr in VLANs $(fdb_vlans "$MT"), g3 in VLAN $(fdb_vlans "$M3"); rx_vlan_dropped$drop"

# ---- g3 into VLAN 10 under its running ping
vctl set-port g3 tag=10 || die "vhu-ctl set-port g3 tag=10 failed"
t0=$(date +%s%N)
got=$(show_vlan g3)
[ "$got" = "access 10" ] || die "after set-port g3 tag=10, show says '${got}'"
wait_for 20 sh -c "tr -d '\\r' <'$T/g3.console' | grep -q 'bytes from $G1'" ||
	{ vctl fdb; die "g3 got no reply from g1 within 20 s of set-port g3 tag=10"; }
secs=$(awk "BEGIN{printf \"%.1f\", ($(date +%s%N) - $t0) / 1e9}")
vctl fdb
result "switch_vlan set-port g3 tag=10: show says '$got', g3's pings to g1 answered within $secs s (tail lag ~1 s included)"
echo PASS
