#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two hosts, two vhu-switches, real Linux guests (QEMU, TCG) across a VXLAN
# tunnel (issue 17). The hosts are network namespaces of this test's own
# (removed on exit) joined by a veth underlay of MTU 1500:
#   host A  169.254.100.1/24, vhu-switch with vhost-user:vm,tag=10 and
#           vxlan:vx (VNI 42, remote 169.254.100.2, tag=10)
#   host B  169.254.100.2/24, the same toward 169.254.100.1, and a second
#           vhost-user port vm2 (tag 10) for the migration's destination
# QEMU runs in the root namespace and reaches the switches' sockets as
# files. Guests: 169.254.200.1/24 on A, 169.254.200.2/24 on B, MTU 1450
# (vhu.mtu: the tunnel's 50 bytes on a 1500-byte underlay). Each part boots
# its own pair of guests:
#  1. A's guest pings B's (5/5) while B's serves; then the other way round.
#  2. A file of random bytes over TCP each way at once (vhu.mode=tcp, role
#     both): md5 equal on both ends. Then each switch's fdb has the other
#     host's guest on vx in VLAN 10 with the other host's underlay address
#     as remote.
#  3. Live migration (VX_MIGRATE=0 leaves it out): A's guest (a file of
#     random data in its memory, vhu.memck) moves to a QEMU on B's port vm2
#     while B's guest pings it (pingloop). After it: A's switch has the
#     guest's MAC on vx with remote 169.254.100.2, which only a flooded
#     announcement from the destination (SEND_RARP's RARP, or the guest's
#     gratuitous ARP) can have taught it (the guest's replies to B's guest
#     stay on host B), and a capture of A's vx holds that RARP or
#     gratuitous ARP; B's switch, which had it on vx via 169.254.100.1,
#     has it on vm2; pings lost <= VX_MAX_LOST (2) and the last ones
#     answered; the memory's md5 unchanged.
# Throughout: no frame dropped for the path MTU (tx_mtu_dropped), no bad
# datagram counted (rx_vxlan_*), no tx error on either switch.
# Knobs: VX_MIGRATE (1), VX_TCP_SIZE (bytes each way, 4 MiB), VX_MIG_TIME
# (pingloop seconds, 12), VX_MAX_LOST (2).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd socat
need_cmd python3
guest_prepare || skip "no guest kernel/initramfs (see above)"

MIGRATE=${VX_MIGRATE:-1} SIZE=${VX_TCP_SIZE:-4194304}
DL=${VX_MIG_TIME:-12} IV=0.2 MAXLOST=${VX_MAX_LOST:-2}
UA=169.254.100.1 UB=169.254.100.2 IPA=169.254.200.1 IPB=169.254.200.2
GK="vhu.mtu=1450"   # on every guest's kernel command line
export GUEST_MEM=${GUEST_MEM:-128M}
T0=$(date +%s%N)
el() { awk "BEGIN{printf \"%.0f\", ($(date +%s%N) - $T0) / 1e9}"; }   # seconds so far

NS=vx2h-$$-$RANDOM
NSA=$NS-A NSB=$NS-B
# The namespaces go first (a switch still in one keeps it until cleanup
# stops it); cleanup then sees the script's own status.
vx_exit() {
	local rc=$?
	ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null
	(exit $rc)
	cleanup
}
trap vx_exit EXIT
ip netns add "$NSA" || skip "cannot create a network namespace"
ip netns add "$NSB" || skip "cannot create a second network namespace"
ip link add vA netns "$NSA" type veth peer name vB netns "$NSB" || skip "cannot create a veth pair"
ip -n "$NSA" addr add $UA/24 dev vA
ip -n "$NSB" addr add $UB/24 dev vB
for x in A B; do
	eval "ns=\$NS$x"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "v$x" up
done

# ---- the two switches: process swA / swB, control $T/ctlA / $T/ctlB,
# sockets in $T/A / $T/B
# sw_up X NS LOCAL REMOTE PORTS...: switch X in namespace NS.
sw_up() {
	local x=$1 ns=$2 lo=$3 re=$4; shift 4
	mkdir -p "$T/$x"
	bg "sw$x" ip netns exec "$ns" "$VHU_SWITCH" --control "$T/ctl$x" --socket-dir "$T/$x" \
		--port "vxlan:vx,local=$lo,remote=$re,vni=42,tag=10" "$@"
	wait_for 10 test -S "$T/ctl$x" || { tail -20 "$T/sw$x.log"; fail "vhu-switch of host $x did not start"; }
}
sw_up A "$NSA" $UA $UB --port vhost-user:vm,tag=10
sw_up B "$NSB" $UB $UA --port vhost-user:vm,tag=10 --port vhost-user:vm2,tag=10
vctlx() { local x=$1; shift; "$VHU_CTL" --control "$T/ctl$x" "$@"; }
# xstat X PORT FIELD: a counter of PORT on switch X (empty if none).
xstat() { vctlx "$1" stats "$2" | sed -n "s/^port $2:.* $3 \([0-9]*\).*/\1/p"; }
for x in A B; do
	wait_for 10 test -S "$T/$x/vm" || { tail -20 "$T/sw$x.log"; fail "switch $x did not create its vm socket"; }
	vctlx $x show | sed "s/^/   $x: /"
done

GUESTS=()
boot() { # boot NAME SOCK KARGS: guest_boot, remembered for dumps
	GUESTS+=("$1")
	guest_boot "$1" "$2" "" "" "$3 $GK" || fail "guest_boot $1"
}
dump_all() {
	local g x
	for g in "${GUESTS[@]}"; do guest_dump "$g"; done
	for x in A B; do
		echo "---- host $x: vhu-ctl stats, fdb"
		vctlx $x stats; vctlx $x fdb
		echo "---- host $x: vhu-switch log"; tail -30 "$T/sw$x.log"
	done
}
# (A capture still running is ended with TERM: a background job of a
# script ignores SIGINT, which cleanup would send it.)
die() { dump_all; [ -z "${PID_capA:-}" ] || kill "$PID_capA" 2>/dev/null; fail "$*"; }
# stop_guest NAME: stop a QEMU that is still running (a serving guest).
stop_guest() {
	local p; eval "p=\${PID_$1:-}"
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}
# finished NAME...: each guest printed its done marker and no error.
finished() {
	local g
	for g; do guest_wait "$g" 90 || die "guest $g did not finish"; done
	for g; do
		tr -d '\r' <"$T/$g.console" | sed -n "s/^.*\\(VHU-GUEST:\\)/   $g \\1/p"
		if grep -q 'VHU-GUEST: error' "$T/$g.console"; then die "guest $g reported an error"; fi
	done
}
macof() { guest_mac "$1" 0 | tr A-F a-f; }
# fdb_has X PORT MAC [REMOTE]: switch X's fdb has MAC on PORT in VLAN 10
# (with REMOTE as the tunnel's far end).
fdb_has() {
	vctlx "$1" fdb | awk -v p="$2" -v m="$3" -v r="${4:-}" \
		'$1 == p && $2 == 10 && tolower($3) == m && (r == "" || $5 == r) { f = 1 } END { exit !f }'
}

# ---- 1. pings across the tunnel, one way, then the other
# pings FROM_G FROM_SOCK FROM_IP TO_G TO_SOCK TO_IP: TO_G serves, FROM_G
# pings it 5 times; sets PINGS to R/N. (One pinger at a time: two guests
# pinging each other at once would race, the first done powering off
# under the other's pings.)
pings() {
	boot "$4" "$5" "vhu.mode=serve vhu.ip=$6/24 vhu.time=60 vhu.limit=70"
	boot "$1" "$2" "vhu.mode=ping vhu.ip=$3/24 vhu.peer=$6 vhu.count=5 vhu.wait=40 vhu.limit=60"
	finished "$1"
	stop_guest "$4"
	PINGS=$(guest_ping_count "$1")
}
note "1. pings across the tunnel"
pings pa "$T/A/vm" $IPA pb "$T/B/vm" $IPB
pab=$PINGS
[ "$pab" = 5/5 ] || die "A's guest -> B's: ${pab:-no summary}, want 5/5"
pings qb "$T/B/vm" $IPB qa "$T/A/vm" $IPA
pba=$PINGS
[ "$pba" = 5/5 ] || die "B's guest -> A's: ${pba:-no summary}, want 5/5"
note "1. A -> B $pab, B -> A $pba (at $(el) s)"

# ---- 2. TCP each way at once; the fdbs
note "2. TCP: $SIZE bytes each way"
tk() { echo "vhu.mode=tcp vhu.ip=$1/24 vhu.peer=$2 vhu.role=both vhu.size=$SIZE vhu.wait=40 vhu.time=60 vhu.limit=90"; }
boot tb "$T/B/vm" "$(tk $IPB $IPA)"
boot ta "$T/A/vm" "$(tk $IPA $IPB)"
finished ta tb
# tcp_field GUEST KEY FIELD: FIELD=VALUE from the guest's "tcp KEY ..." marker.
tcp_field() { guest_marker "$1" "tcp $2" | sed -n "s/.*\\b$3=\\([^ ]*\\).*/\\1/p"; }
md5_check() { # md5_check LABEL FROM TO
	local s r n
	s=$(tcp_field "$2" file md5) r=$(tcp_field "$3" recv md5) n=$(tcp_field "$3" recv size)
	[ -n "$s" ] || die "$1: the sender printed no md5"
	[ "$n" = "$SIZE" ] && [ "$r" = "$s" ] ||
		die "$1: received ${n:-nothing} bytes md5 ${r:-none}, sent $SIZE bytes md5 $s"
}
md5_check "A -> B" ta tb
md5_check "B -> A" tb ta
tab=$(tcp_field ta sent secs) tba=$(tcp_field tb sent secs)
note "2. md5 equal both ways; A sent in $tab s, B in $tba s"
MTA=$(macof ta) MTB=$(macof tb)
for x in A B; do vctlx $x fdb | sed "s/^/   $x fdb: /"; done
fdb_has A vx "$MTB" $UB || die "host A's fdb lacks B's guest $MTB on vx, VLAN 10, remote $UB"
fdb_has B vx "$MTA" $UA || die "host B's fdb lacks A's guest $MTA on vx, VLAN 10, remote $UA"
note "2. A's fdb: $MTB on vx via $UB; B's fdb: $MTA on vx via $UA (at $(el) s)"

# ---- 3. live migration of A's guest to host B
mig=
if [ "$MIGRATE" = 1 ]; then
	note "3. live migration of A's guest to B's port vm2 under B's pings"
	PORT=
	for _i in $(seq 1 50); do
		p=$(( 40000 + RANDOM % 20000 ))
		[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || continue
		PORT=$p; break
	done
	[ -n "$PORT" ] || fail "no free TCP port"
	N=$(awk "BEGIN{print int($DL/$IV)}")
	AMAC=52:54:00:4d:61   # the source and the destination: one NIC (GUEST_MAC_BASE)
	KA="vhu.mode=serve vhu.ip=$IPA/24 vhu.memck=4096 vhu.time=$((DL + 8)) vhu.limit=80"
	GUEST_MAC_BASE=$AMAC boot ma "$T/A/vm" "$KA"
	boot mb "$T/B/vm" "vhu.mode=pingloop vhu.ip=$IPB/24 vhu.peer=$IPA vhu.interval=$IV vhu.count=$N vhu.time=$DL vhu.wait=40 vhu.limit=80"
	GUEST_MAC_BASE=$AMAC GUEST_QEMU_EXTRA="-incoming tcp:127.0.0.1:$PORT" boot md "$T/B/vm2" "$KA"
	MA=$(GUEST_MAC_BASE=$AMAC macof ma)
	wait_for 60 grep -q 'VHU-GUEST: pingloop start' "$T/mb.console" || die "B's pingloop did not start"
	wait_for 30 grep -q 'VHU-GUEST: memck start' "$T/ma.console" || die "A's guest printed no memck start"
	sum0=$(guest_marker ma "memck start" | cut -d' ' -f1)
	wait_for 20 sh -c "echo 'info status' | timeout 5 socat - UNIX-CONNECT:'$T/md.mon' 2>/dev/null | grep -q inmigrate" ||
		die "the destination QEMU is not waiting for the migration"
	fdb_has A vm "$MA" || die "before the migration, host A's fdb lacks its guest $MA on vm"
	fdb_has B vx "$MA" $UA || die "before the migration, host B's fdb lacks $MA on vx via $UA"
	# What crosses A's tunnel port in the next 10 s (both directions): the
	# migration and the announcements after it; the capture ends at its
	# timeout.
	bg capA "$VHU_CTL" --control "$T/ctlA" capture vx "$T/vxA.pcap" --count 100000 --timeout 10
	sleep 2
	guest_migrate ma "$PORT"
	status=$MIG_STATUS info=$MIG_INFO out=$MIG_OUT
	[ "$status" = completed ] || die "migration did not complete (status '${status:-none}'${out:+, QEMU said: $out})"
	tot=$MIG_TOTAL down=$MIG_DOWN
	# The source is paused (postmigrate): done with it.
	stop_guest ma
	# Host A learns the guest behind the tunnel from its announcement.
	wait_for 10 fdb_has A vx "$MA" $UB || die "after the migration, host A's fdb lacks $MA on vx via $UB (no announcement crossed the tunnel)"
	wait_for 10 fdb_has B vm2 "$MA" || die "after the migration, host B's fdb lacks $MA on vm2"
	for x in A B; do vctlx $x fdb | grep -i "$MA" | sed "s/^/   $x fdb: /"; done
	finished mb
	guest_wait md 40 || die "A's guest did not finish on the destination"
	tr -d '\r' <"$T/md.console" | sed -n 's/^.*\(VHU-GUEST:\)/   md \1/p'
	grep -q 'VHU-GUEST: modules' "$T/md.console" && die "A's guest booted again on the destination"
	sum1=$(guest_marker md "memck end" | cut -d' ' -f1)
	[ -n "$sum0" ] && [ "$sum1" = "$sum0" ] || die "A's guest's memory changed: md5 ${sum0:-none} before, ${sum1:-nothing} after"
	wait "$PID_capA" || die "the capture of A's tunnel port failed: $(cat "$T/capA.log")"
	# The announcements from the guest's MAC in it: RARP (0x8035) and
	# gratuitous ARP (sender IP = target IP), "RARP N GARP M".
	ann=$(python3 - "$T/vxA.pcap" "$MA" <<'PY'
import struct, sys
d, mac = open(sys.argv[1], "rb").read(), bytes.fromhex(sys.argv[2].replace(":", ""))
o, rarp, garp = 24, 0, 0
while o + 16 <= len(d):
    n = struct.unpack_from("<I", d, o + 8)[0]
    f, o = d[o + 16:o + 16 + n], o + 16 + n
    if len(f) < 14 or f[6:12] != mac:
        continue
    t, b = f[12:14], f[14:]
    if t == b"\x81\x00" and len(b) >= 4:
        t, b = b[2:4], b[4:]
    if t == b"\x80\x35":
        rarp += 1
    elif t == b"\x08\x06" and len(b) >= 28 and b[14:18] == b[24:28]:
        garp += 1
print("RARP", rarp, "GARP", garp)
PY
)
	note "3. announcements from $MA captured on A's vx: $ann"
	[ "$ann" != "RARP 0 GARP 0" ] && [ -n "$ann" ] || die "no RARP or gratuitous ARP from $MA crossed A's tunnel port ($ann)"
	got=$(guest_ping_count mb)
	[ -n "$got" ] || die "B's guest printed no ping summary"
	tx=${got#*/} lost=$(( ${got#*/} - ${got%/*} ))
	last=$(tr -d '\r' <"$T/mb.console" | sed -n 's/.*seq=\([0-9]*\).*/\1/p' | sort -n | tail -1)
	[ $((tx * 2)) -ge "$N" ] || die "only $tx of $N pings were sent: the guest was starved of CPU; rerun"
	[ -n "$last" ] && [ "$last" -ge $((tx - 4)) ] || die "pings did not resume after the migration (last answered seq ${last:-none} of $tx)"
	[ "$lost" -le "$MAXLOST" ] || die "lost $lost of $tx pings across the migration, want at most $MAXLOST"
	mig="; migration A->B under B's pings: lost $lost of $tx (last seq $last), total ${tot} ms, downtime ${down} ms, announced on A's vx by $ann, A's fdb $MA on vx via $UB, B's on vm2, memck intact"
	note "3. ${mig#; } (at $(el) s)"
fi

# ---- whole run: nothing dropped for the path MTU, no bad datagram
for x in A B; do
	vctlx $x stats | sed "s/^/   $x: /"
	for f in tx_mtu_dropped rx_vxlan_bad rx_vxlan_vni rx_vxlan_src rx_vxlan_big; do
		v=$(xstat $x vx $f)
		[ -n "$v" ] || die "host $x: vx has no counter $f"
		[ "$v" = 0 ] || die "host $x: vx counted $f $v, want 0"
	done
	for p in vx vm; do
		[ "$(xstat $x $p tx_errors)" = 0 ] || die "host $x: tx errors on $p"
	done
done
secs=$(el)
result "switch_vxlan_2host: guests on two hosts over VXLAN (VNI 42, underlay MTU 1500, guest MTU 1450): ping A->B $pab, B->A $pba; TCP $SIZE bytes each way md5 equal (A sent in $tab s, B in $tba s); fdbs learnt across the tunnel with remotes$mig; ${secs} s"
echo PASS
