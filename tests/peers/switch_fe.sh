#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch with two in-tree frontends (vhu-fe, no VM): A and B send each
# other checksummed frames for 6 s at 20 kpps; on the way a third port c is
# added, a frontend C sends to A through it, and c is deleted again while
# A and B keep going. Checked: no bad or misdelivered frame, every frame A
# sent is either received by B or counted as a drop on port b (and the
# same for B -> A), the switch's rx counts equal what the frontends sent,
# fdb lists the MACs, show/stats answer and stats --json parses (python3)
# with the same counters, no frame is "other", a port name with '/' is
# refused, and pmd-stats / pmd-rxq-show account for the traffic (a
# frontend's one queue pair of the 16 a port offers is its one polled
# queue, none once it left). Two
# PMDs when there are two CPUs (shared tx queues).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd python3

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b MC=02:00:00:00:00:0c
PMDS=0; [ "$(nproc)" -ge 2 ] && PMDS=0,1
sw_start --pmd-cpus "$PMDS" --port vhost-user:a --port vhost-user:b
wait_for 5 test -S "$T/a" || fail "no socket $T/a"

out=$(vctl add-port 'vhost-user:x/y' 2>&1) && fail "a name with '/' was accepted"
echo "$out" | grep -q "must not include '/'" || fail "unclear error for a bad name: $out"
note "bad name refused: $out"

bg fea timeout 30 "$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --pps 20000 --duration 6 --linger 1
bg feb timeout 30 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 20000 --duration 6 --linger 1
sw_wait_running a 10 && sw_wait_running b 10 || { sw_dump; fail "ports did not come up"; }
sleep 1.5
vctl add-port vhost-user:c || { sw_dump; fail "add-port c"; }
bg fec timeout 30 "$VHU_FE" --socket "$T/c" --mac $MC --dst-mac $MA --pps 5000 --duration 1.5 --linger 0.5
sleep 1
vctl fdb >"$T/fdb.txt"
cat "$T/fdb.txt"
for m in $MA $MB $MC; do grep -q "$m" "$T/fdb.txt" || fail "fdb lacks $m"; done
vctl show >"$T/show.txt"; cat "$T/show.txt"
grep -q '^port c: .*state running' "$T/show.txt" || fail "port c not running in show"
wait "$PID_fec"; rc_c=$?
vctl del-port c || { sw_dump; fail "del-port c"; }
vctl stats c >/dev/null 2>&1 && fail "stats c works after del-port"
# While A and B still send: only queues a guest enabled are polled, so
# a port's queues are in pmd-rxq-show while its frontend is up.
sleep 0.5
vctl pmd-rxq-show >"$T/rxq.txt"
wait "$PID_fea"; rc_a=$?
wait "$PID_feb"; rc_b=$?
cat "$T/fea.log" "$T/feb.log" "$T/fec.log" | grep '^fe:'
vctl stats; vctl stats --json >"$T/stats.json"
# The JSON must parse and say what the text says (a, b; the same counters).
python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
for p in d['ports']: print(p['name'], p['rx_packets'], p['tx_packets'], p['tx_dropped'])" \
	"$T/stats.json" >"$T/stats.jtxt" || fail "stats --json is not valid JSON (see above)"
want=$(for p in a b; do echo "$p $(sw_stat $p rx_packets) $(sw_stat $p tx_packets) $(sw_stat $p tx_dropped)"; done)
[ "$(cat "$T/stats.jtxt")" = "$want" ] || fail "stats --json says $(cat "$T/stats.jtxt" | tr '\n' ';') but stats says $(echo "$want" | tr '\n' ';')"

[ $rc_a = 0 ] && [ $rc_b = 0 ] && [ $rc_c = 0 ] || { sw_dump; fail "a frontend failed (rc $rc_a $rc_b $rc_c)"; }
sa=$(fe_total "$T/fea.log" sent) sb=$(fe_total "$T/feb.log" sent) sc=$(fe_total "$T/fec.log" sent)
ra=$(fe_total "$T/fea.log" good) rb=$(fe_total "$T/feb.log" good)
pa=$(fe_total "$T/fea.log" from-peer) pb=$(fe_total "$T/feb.log" from-peer)
for f in bad foreign other; do
	for l in fea feb fec; do
		v=$(fe_total "$T/$l.log" $f); [ "$v" = 0 ] || fail "$l: $f frames: $v"
	done
done
arx=$(sw_stat a rx_packets) brx=$(sw_stat b rx_packets)
atx=$(sw_stat a tx_packets) btx=$(sw_stat b tx_packets)
adr=$(sw_stat a tx_dropped) bdr=$(sw_stat b tx_dropped)
result "switch_fe A->B sent $sa, B got $pb, port b drops $bdr; B->A sent $sb, A got $pa (+$((ra - pa)) from C of $sc), port a drops $adr"
[ "$sa" -gt 50000 ] && [ "$sb" -gt 50000 ] && [ "$sc" -gt 1000 ] || fail "too little traffic"
[ "$arx" = "$sa" ] || fail "switch port a rx $arx != A sent $sa"
[ "$brx" = "$sb" ] || fail "switch port b rx $brx != B sent $sb"
[ "$btx" = "$rb" ] || fail "switch port b tx $btx != B received $rb"
[ "$atx" = "$ra" ] || fail "switch port a tx $atx != A received $ra"
[ $((pb + bdr)) = "$sa" ] || fail "A sent $sa != B got $pb + drops $bdr"
[ $((ra + adr)) = $((sb + sc)) ] || fail "B+C sent $((sb + sc)) != A got $ra + drops $adr"
# Port a's drops are B's and C's frames together: C's frames that reached A
# are at most what C sent and at least that less all of port a's drops.
[ $((ra - pa)) -le "$sc" ] && [ $((ra - pa + adr)) -ge "$sc" ] ||
	fail "A got $((ra - pa)) frames from C, C sent $sc, port a dropped $adr"
# Drops only while the other side was not up yet: a few ms of traffic.
[ "$bdr" -lt $((sa / 10)) ] && [ "$adr" -lt $((sb / 10)) ] || fail "too many drops ($adr, $bdr)"
grep -q "port c: deleted" "$T/sw.log" || fail "no log of the deletion"
# The PMDs' own view: every frame that entered went through a PMD, each
# of a's and b's queues is polled by one PMD and took part of its busy
# cycles; after a clear, nothing is counted.
vctl pmd-stats | tee "$T/pmd.txt"; cat "$T/rxq.txt"
pk=$(awk '{for (i = 1; i < NF; i++) if ($i == "packets") { gsub(",", "", $(i + 1)); s += $(i + 1) }} END {print s + 0}' "$T/pmd.txt")
[ "$pk" -ge $((arx + brx)) ] || fail "pmd-stats counts $pk packets, ports a and b took $((arx + brx))"
for p in a b; do
	grep -qE "^  port $p +queue 0 +(en|dis)abled +pmd usage +[0-9.]+ %" "$T/rxq.txt" || fail "pmd-rxq-show lacks port $p queue 0"
	grep -E "^  port $p +queue 0 " "$T/rxq.txt" | grep -q "usage +0.0 %" && fail "port $p's queue took no PMD cycles"
	# A one-queue frontend on a port that offers 16 pairs: one polled queue.
	grep -q "^port $p: 16 queue pairs offered, 1 enabled by the guest, 1 rx queue polled" "$T/rxq.txt" ||
		fail "port $p: not 16 offered, 1 enabled, 1 polled"
done
vctl pmd-rxq-show | grep -q "^  port" && fail "queues still polled after the frontends left"
vctl pmd-stats-clear >/dev/null || fail "pmd-stats-clear"
vctl pmd-stats | grep "^pmd" | grep -v "packets 0," && fail "pmd-stats counts packets after a clear (above)"
echo PASS
