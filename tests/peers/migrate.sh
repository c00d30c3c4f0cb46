#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live migration of a guest on vhu-switch (issue 7).
#
# Guests A and B sit on server ports a and b of one vhu-switch. A's memory
# holds a file of random data (guest option vhu.memck) whose md5sum A prints
# at boot. While one guest pings the other continuously (guest mode
# pingloop), A is live-migrated to a third QEMU (A's command line plus
# -incoming) attached to port a2. The source QEMU's console shows A before
# the migration, the destination's after it: A's /init carries on there,
# with no new boot, and prints the checksum again when it ends.
# Fails when: QEMU refuses or does not complete the migration, lost pings >
# MIG_MAX_LOST (2), A's checksum differs, A's console shows a reboot, or
# no RARP or gratuitous ARP from A crossed its new port a2.
# RESULT: lost pings, migration total time / downtime / setup from `info
# migrate`.
#
# Knobs: MIG_PINGER=b (default: B pings A, A is silent; the case RARP is
#   for: only SEND_RARP tells the switch that A's MAC moved to a2) or
#   MIG_PINGER=a (A pings B; A's first ping from a2 relearns its MAC anyway,
#   so RARP cannot matter there), MIG_INTERVAL (0.2 s), MIG_TIME (pingloop
#   length, 24 s), MIG_MAX_LOST (2), MIG_MEMCK_KB (8192), GUEST_MEM (128M),
#   MIG_SWITCH=ovs: Open vSwitch with DPDK (dpdkvhostuser ports) instead of
#   vhu-switch, to check this test itself against a switch that migrates.
#
# Mechanisms off (run by this test every time, after its own run passed,
# unless MIG_MUSTFAIL=0; each must make this test fail, with the FAIL line
# named; switch_features.inc says how the features are withheld, through
# vhu-switch --disable-features when it has it, an LD_PRELOAD shim
# otherwise), with MIG_TIME=12:
#   VHU_DISABLE_FEATURES=proto:rarp,guest_announce
#       nothing announces A on its new port (QEMU logs "Vhost user backend
#       fails to broadcast fake RARP"): the capture of port a2 has no RARP
#       and no gratuitous ARP from A. (Pings alone would not show it: B's
#       neighbour probes are flooded and A's answer relearns it too; those
#       answers are not announcements and do not count.)
#   VHU_DISABLE_FEATURES=log_all
#       QEMU refuses: "Migration disabled: vhost lacks VHOST_F_LOG_ALL
#       feature."
# By hand: VHU_DISABLE_FEATURES=proto:log_shmfd fails the same way ("lacks
# VHOST_USER_PROTOCOL_F_LOG_SHMFD"); VHU_DISABLE_FEATURES=guest_announce
# still passes, by SEND_RARP's RARP. Dirty logging that is offered but
# does not mark pages is not caught here (the checksum is of memory QEMU
# itself migrates): tests/integ/dirty_log.c checks the marks page by page.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
. "$(dirname "$0")/switch_features.inc"
guest_prepare || skip "no guest kernel/initramfs (see above)"

PINGER=${MIG_PINGER:-b} IV=${MIG_INTERVAL:-0.2} DL=${MIG_TIME:-24}
MAXLOST=${MIG_MAX_LOST:-2} KB=${MIG_MEMCK_KB:-8192}
export GUEST_MEM=${GUEST_MEM:-128M} GUEST_TIMEOUT=${GUEST_TIMEOUT:-100}
case $PINGER in a|b) ;; *) fail "MIG_PINGER must be a or b" ;; esac
N=$(awk "BEGIN{print int($DL/$IV)}")
IPA=169.254.60.1 IPB=169.254.60.2
AMAC=52:54:00:4d:60   # A and its destination: the same MAC (GUEST_MAC_BASE)

# A free TCP port on 127.0.0.1 for -incoming.
PORT=
for _i in $(seq 1 50); do
	p=$(( 40000 + RANDOM % 20000 ))
	if command -v ss >/dev/null 2>&1; then [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || continue; fi
	PORT=$p; break
done
[ -n "$PORT" ] || fail "no free TCP port"

# ovs_start PORT...: OVS-DPDK, one dpdkvhostuser port (socket $T/ovs/PORT) each.
ovs_start() {
	local d=$T/ovs i=1 p V
	need_cmd ovs-vsctl; need_cmd ovsdb-tool
	[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] || skip "openvswitch-switch-dpdk is not installed"
	setup_hugepages; [ -z "$HUGE_OPTS" ] || skip "OVS-DPDK needs hugepages"
	mkdir -p "$d"
	export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d
	ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema || fail "ovsdb-tool"
	bg ovsdb ovsdb-server --remote="punix:$d/db.sock" --pidfile="$d/ovsdb.pid" "$d/conf.db"
	wait_for 10 test -S "$d/db.sock" || fail "ovsdb-server did not start"
	V="ovs-vsctl --timeout=30 --db=unix:$d/db.sock"
	$V --no-wait init
	$V --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x2 \
		other_config:pmd-cpu-mask=0x1 other_config:dpdk-socket-mem=512 \
		other_config:dpdk-extra="--no-pci --file-prefix=vhu-ovs-$$"
	# Its own network namespace: the netdev datapath creates taps
	# (ovs-netdev, br0) that another OVS on this host may hold already.
	bg sw unshare -n /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk "unix:$d/db.sock" \
		--pidfile="$d/vswitchd.pid" --log-file="$d/vswitchd.log"
	$V add-br br0 -- set bridge br0 datapath_type=netdev || fail "ovs add-br"
	for p; do
		$V add-port br0 "$p" -- set Interface "$p" type=dpdkvhostuser "ofport_request=$i" || fail "ovs add-port $p"
		wait_for 20 test -S "$d/$p" || fail "OVS did not create $d/$p"
		i=$((i + 1))
	done
}
if [ "${MIG_SWITCH:-vhu}" = ovs ]; then
	ovs_start a b a2
	SA=$T/ovs/a SB=$T/ovs/b SA2=$T/ovs/a2 SW_FEAT_DESC="OVS-DPDK dpdkvhostuser"
else
	sw_start_as sw "$CTL" --port vhost-user:a --port vhost-user:b --port vhost-user:a2
	SA=$T/a SB=$T/b SA2=$T/a2
fi
note "switch: $SW_FEAT_DESC; pinger $PINGER, interval $IV s, $N pings; incoming port $PORT"

if [ "$PINGER" = b ]; then
	KA="vhu.mode=serve vhu.ip=$IPA/24 vhu.memck=$KB vhu.time=$((DL + 14)) vhu.limit=95"
	KB_="vhu.mode=pingloop vhu.ip=$IPB/24 vhu.peer=$IPA vhu.interval=$IV vhu.count=$N vhu.time=$DL vhu.wait=40 vhu.limit=95"
	PG=gb
else
	KA="vhu.mode=pingloop vhu.ip=$IPA/24 vhu.peer=$IPB vhu.interval=$IV vhu.count=$N vhu.time=$DL vhu.wait=40 vhu.memck=$KB vhu.limit=95"
	KB_="vhu.mode=serve vhu.ip=$IPB/24 vhu.time=$((DL + 20)) vhu.limit=95"
	PG=gd   # A's pingloop ends on the destination
fi
GUEST_MAC_BASE=$AMAC guest_boot ga "$SA" "" "" "$KA" || fail "guest_boot A"
guest_boot gb "$SB" "" "" "$KB_" || fail "guest_boot B"
GUEST_MAC_BASE=$AMAC GUEST_QEMU_EXTRA="-incoming tcp:127.0.0.1:$PORT" \
	guest_boot gd "$SA2" "" "" "$KA" || fail "guest_boot destination"

dump_all() { guest_dump ga; guest_dump gd; guest_dump gb; sw_dump 30; }

# Everything that crosses port a2 (the destination's) is captured: after
# the switch-over A must announce itself there, by the RARP that SEND_RARP
# makes the backend inject, or by the guest's own gratuitous ARP when
# GUEST_ANNOUNCE is negotiated. Nothing else of A's reaches a2 before its
# first reply, so this is what lets a switch relearn A at once.
if [ "${MIG_SWITCH:-vhu}" != ovs ]; then
	need_cmd tshark
	bg cap "$VHU_CTL" --control "$CTL" capture a2 "$T/a2.pcap" --count 100000 --timeout $((DL + 40))
fi
con() { tr -d '\r' <"$T/$1.console"; }
announce_filter() { echo "eth.src == $1 && (eth.type == 0x8035 || (arp && arp.src.proto_ipv4 == arp.dst.proto_ipv4))"; }

# The pinger's loop is running (A's or B's console) and A has its checksum.
start_con=gb; [ "$PINGER" = a ] && start_con=ga
wait_for 60 sh -c "grep -q 'VHU-GUEST: pingloop start' '$T/$start_con.console'" ||
	{ dump_all; fail "the pingloop did not start"; }
wait_for 30 sh -c "grep -q 'VHU-GUEST: memck start' '$T/ga.console'" || { dump_all; fail "A printed no memck start"; }
sum0=$(guest_marker ga "memck start" | cut -d' ' -f1)
[ -n "$sum0" ] || { dump_all; fail "A printed no memck start"; }
wait_for 20 sh -c "echo 'info status' | timeout 5 socat - UNIX-CONNECT:'$T/gd.mon' 2>/dev/null | grep -q inmigrate" ||
	{ dump_all; fail "the destination QEMU is not waiting for the migration"; }
sleep 4

guest_migrate ga "$PORT"
status=$MIG_STATUS info=$MIG_INFO out=$MIG_OUT
if [ "$status" != completed ]; then
	echo "$info" | tail -5
	dump_all
	case $out in *"Migration disabled"*|*[Ee]rror*) fail "QEMU refused the migration: $out" ;; esac
	fail "migration did not complete (status '${status:-none}')"
fi
tot=$MIG_TOTAL down=$MIG_DOWN setup=$MIG_SETUP
note "migration completed: total ${tot} ms, downtime ${down} ms"
# The source is paused (postmigrate) now; it is done.
pkill -9 -P "$PID_ga" 2>/dev/null; wait "$PID_ga" 2>/dev/null

guest_wait "$PG" $((DL + 25)) || { dump_all; fail "the pingloop did not finish"; }
guest_wait gd 40 || { dump_all; fail "A did not finish on the destination"; }
con gd | sed -n 's/^.*\(VHU-GUEST:\)/   dest: \1/p'
con "$PG" | sed -n 's/^.*\(VHU-GUEST: ping\)/   \1/p'

# A booted once, on the source; the destination only shows it carrying on.
con gd | grep -q 'VHU-GUEST: modules' && { dump_all; fail "A booted again on the destination"; }
con ga | grep -q 'VHU-GUEST: memck end' && { dump_all; fail "A ended on the source, not the destination"; }
sum1=$(guest_marker gd "memck end" | cut -d' ' -f1)
[ "$sum1" = "$sum0" ] || { dump_all; fail "A's memory changed: md5 ${sum0} before, ${sum1:-nothing} after"; }

if [ "${MIG_SWITCH:-vhu}" != ovs ]; then
	# vhu-ctl stops on SIGINT; the switch then ends the capture and
	# closes the file, which its log says.
	kill -INT "$PID_cap" 2>/dev/null; wait "$PID_cap" 2>/dev/null
	wait_for 10 grep -q "port a2: capture of .* ended" "$T/sw.log" || { dump_all; fail "the capture of a2 did not end"; }
	amac=$(GUEST_MAC_BASE=$AMAC guest_mac gd 0 | tr "A-F" "a-f")
	# Only an announcement counts: a RARP (0x8035) or a gratuitous ARP
	# (sender IP = target IP). A's answers to B's ARP requests would not
	# tell a switch anything before the migration is over.
	ann=$(tshark -r "$T/a2.pcap" -Y "$(announce_filter "$amac")" -T fields -e eth.type 2>/dev/null |
		sort | uniq -c | tr '\n' ' ')
	result "migrate: announcements from A ($amac) on port a2: ${ann:-none} (0x8035 RARP, 0x0806 gratuitous ARP)"
	[ -n "$ann" ] || { dump_all; fail "A was not announced on its new port (no RARP, no gratuitous ARP)"; }
fi

got=$(guest_ping_count "$PG")
[ -n "$got" ] || { dump_all; fail "no ping summary"; }
rx=${got%/*} tx=${got#*/} lost=$(( ${got#*/} - ${got%/*} ))
# Traffic resumed: the last pings of the loop were answered.
last=$(con "$PG" | sed -n 's/.*seq=\([0-9]*\).*/\1/p' | sort -n | tail -1)
grep "featshim" "$T/sw.log" | head -3
[ "${MIG_SWITCH:-vhu}" = ovs ] || note "SEND_RARP requests in the switch's log: $(grep -c 'SEND_RARP' "$T/sw.log")"
result "migrate pinger $PINGER: lost $lost of $tx pings (interval $IV s), last seq answered ${last:-none}; total ${tot} ms, downtime ${down} ms, setup ${setup} ms; A's memck md5 $sum0 intact ($SW_FEAT_DESC)"
# Under heavy CPU contention TCG guests fire their timers late: far fewer
# pings than asked means the figures say little (rerun on a quieter host).
[ $((tx * 2)) -ge "$N" ] || { dump_all; fail "only $tx of $N pings were sent: the guest was starved of CPU; rerun"; }
[ "$tx" -gt 0 ] && [ -n "$last" ] && [ "$last" -ge $((tx - 4)) ] || { dump_all; fail "traffic did not resume after the migration (last answered seq ${last:-none} of $tx)"; }
[ "$lost" -le "$MAXLOST" ] || { dump_all; fail "lost $lost pings, want at most $MAXLOST"; }

# must_fail WHAT WANT ENV...: this test again with a mechanism off; it has
# to fail, with the FAIL line WANT (a grep -E pattern).
must_fail() {
	local what=$1 want=$2 out rc; shift 2
	note "mechanism off ($what): this test again, must fail"
	out=$(env MIG_MUSTFAIL=0 MIG_TIME=12 "$@" bash "$0" 2>&1); rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -qE "^FAIL: $want"; then
		result "migrate, $what (must fail): $(echo "$out" | grep -m1 '^FAIL: ')"
		return 0
	fi
	echo "$out" | tail -30
	fail "with $what the test did not fail as predicted (rc $rc, want FAIL: $want)"
}
if [ "${MIG_MUSTFAIL:-1}" = 1 ] && [ "${MIG_SWITCH:-vhu}" != ovs ]; then
	must_fail "RARP and GUEST_ANNOUNCE off" "A was not announced on its new port" \
		VHU_DISABLE_FEATURES=proto:rarp,guest_announce
	must_fail "dirty logging off" "QEMU refused the migration: .*lacks VHOST_F_LOG_ALL" \
		VHU_DISABLE_FEATURES=log_all
fi
echo PASS
