#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-ctl capture: while frontends A and B exchange frames, 50 packets
# crossing port a are written to a pcap file; tshark reads it back: 50
# frames, all UDP between A's and B's MACs (both directions), sizes right.
# Then a capture on an idle port ends on its timeout with what it got: a
# file tshark reads without complaint, with no frame in it.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd tshark

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b
sw_start --port vhost-user:a --port vhost-user:b --port vhost-user:idle
bg fea "$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --pps 10000 --duration 4 --pkt-size 200
bg feb "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 10000 --duration 4 --pkt-size 200
sw_wait_running a 10 && sw_wait_running b 10 || { sw_dump; fail "ports did not come up"; }
sleep 0.5
out=$(vctl capture a "$T/a.pcap" --count 50 --timeout 10) || { sw_dump; fail "capture failed"; }
echo "$out"
echo "$out" | grep -q "captured 50 packets" || fail "capture said: $out"
# A file tshark reads only in part (cut short, bad records) fails too.
# (tshark's warning about running as root is not a complaint.)
tshark_ok() { ! grep -v '^Running as user' "$T/tshark.err"; }
# tshark reads an empty file without complaint: also want a pcap header.
pcap_head() {
	[ "$(stat -c %s "$1")" -ge 24 ] &&
		case $(od -An -tx1 -N4 "$1" | tr -d ' \n') in d4c3b2a1|a1b2c3d4|4d3cb2a1|a1b23c4d) ;; *) false ;; esac ||
		fail "$1 has no pcap header"
}
pcap_head "$T/a.pcap"
tshark -r "$T/a.pcap" -T fields -e eth.src -e eth.dst -e udp.srcport -e frame.len >"$T/a.txt" 2>"$T/tshark.err" &&
	tshark_ok || fail "tshark cannot read the capture (above)"
n=$(wc -l <"$T/a.txt")
good=$(awk -v a=$MA -v b=$MB '(($1 == a && $2 == b) || ($1 == b && $2 == a)) && $3 == 5000 && $4 == 200' "$T/a.txt" | wc -l)
fromA=$(awk -v a=$MA '$1 == a' "$T/a.txt" | wc -l)
head -3 "$T/a.txt"
result "switch_capture tshark read $n frames from the capture of port a, $good UDP A<->B of 200 bytes ($fromA from A)"
[ "$n" = 50 ] && [ "$good" = 50 ] || fail "want 50 good frames, got $n ($good good)"
[ "$fromA" -gt 0 ] && [ "$fromA" -lt 50 ] || fail "capture did not see both directions ($fromA from A)"
out=$(vctl capture idle "$T/idle.pcap" --count 5 --timeout 1) || fail "idle capture failed"
echo "$out" | grep -q "captured 0 packets.*timed out" || fail "idle capture said: $out"
pcap_head "$T/idle.pcap"
tshark -r "$T/idle.pcap" >"$T/idle.txt" 2>"$T/tshark.err" && tshark_ok ||
	fail "tshark cannot read the idle capture (above)"
[ ! -s "$T/idle.txt" ] || fail "idle capture not empty: $(head -3 "$T/idle.txt")"
wait "$PID_fea"; rc_a=$?; wait "$PID_feb"; rc_b=$?
[ $rc_a = 0 ] && [ $rc_b = 0 ] || fail "vhu-fe A/B failed (rc $rc_a $rc_b)"
# Only A's and B's frames cross this switch: none bad, foreign or other.
for l in fea feb; do
	for k in bad foreign other; do
		v=$(fe_total "$T/$l.log" $k); [ "$v" = 0 ] || fail "$l: $k frames: ${v:-?}"
	done
done
echo PASS
