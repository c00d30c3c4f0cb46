#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VLANs in vhu-switch with in-tree frontends (vhu-fe, no VM), every frame
# accounted for. Ports: a tag=10, b trunks=10, c tag=20, d (all VLANs),
# e trunks=20, f tag=10; frontends send checksummed frames for 3 s:
#   A -> B, B -> A (tagged 10): unicast across access/trunk, retagged;
#   C -> A's MAC in VLAN 20, where it is unknown: flooded in VLAN 20 only
#     (to d and e, tagged; never to a, b or f);
#   E sends tagged 30, which its trunk does not carry: every frame dropped
#     and counted (rx_vlan_dropped);
#   F -> an unknown MAC in VLAN 10: flooded to a untagged and to b and d
#     tagged (one copy retagged), never to c or e.
# Checked from both sides: what each frontend got (tagged or not, from
# whom), the switch's counters, fdb's VLAN column, show's modes. Then
# set-port c tag=10 on the running port: C's frames now reach A. Then a
# static MAC entry (add-fdb / del-fdb) takes F's frames to b alone.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"

MA=02:00:00:00:01:0a MB=02:00:00:00:01:0b MC=02:00:00:00:01:0c MD=02:00:00:00:01:0d
ME=02:00:00:00:01:0e MF=02:00:00:00:01:0f UNK=02:00:00:00:01:ff
PMDS=0; [ "$(nproc)" -ge 2 ] && PMDS=0,1
sw_start --pmd-cpus "$PMDS" --port vhost-user:a,tag=10 --port vhost-user:b,trunks=10 \
	--port vhost-user:c,tag=20 --port vhost-user:d --port vhost-user:e,trunks=20 \
	--port vhost-user:f,tag=10
for p in a b c d e f; do wait_for 5 test -S "$T/$p" || fail "no socket $T/$p"; done

# Receivers first (they send nothing), with rings that ride out a stall.
fe() { # fe NAME SOCK MAC DST PPS SECS [ARGS...]
	local n=$1 s=$2 m=$3 d=$4 pps=$5 secs=$6; shift 6
	bg "$n" timeout 30 "$VHU_FE" --socket "$T/$s" --mac "$m" --dst-mac "$d" --pps "$pps" \
		--duration "$secs" --linger 1 --ring 4096 "$@"
}
fe fed d $MD $MA 1 0 --linger 7
fe fee e $ME $MA 2000 3 --vlan 30
fe fea a $MA $MB 5000 3
fe feb b $MB $MA 5000 3 --vlan 10
fe fec c $MC $MA 2000 3
fe fef f $MF $UNK 2000 3
for p in a b c d e f; do sw_wait_running $p 10 || { sw_dump; fail "port $p did not come up"; }; done
vctl show | tee "$T/show.txt"
for w in "a access 10" "b trunk 10" "c access 20" "d all" "e trunk 20" "f access 10"; do
	set -- $w
	grep -q "^port $1: .* vlan $2 ${3:-}" "$T/show.txt" || fail "show lacks port $1's mode '$2 ${3:-}'"
done
sleep 1.5
vctl fdb | tee "$T/fdb.txt"
for pm in "a 10 $MA" "b 10 $MB" "c 20 $MC" "f 10 $MF"; do
	set -- $pm
	grep -qE "^$1 +$2 $3 " "$T/fdb.txt" || fail "fdb lacks $3 in VLAN $2 on port $1"
done
grep -q "$ME" "$T/fdb.txt" && fail "E's VLAN-30 frames were learnt"
grep -qE " 20 $MA " "$T/fdb.txt" && fail "A's MAC appears in VLAN 20"
for n in fea feb fec fee fef fed; do wait "$(eval echo "\$PID_$n")" || { sw_dump; fail "$n failed"; }; done
grep -h '^fe: total' "$T"/fe?.log
vctl stats | tee "$T/stats.txt"

t() { fe_total "$T/$1.log" "$2"; }
s() { sw_stat "$1" "$2"; }
for n in fea feb fec fed fee fef; do [ "$(t $n bad)" = 0 ] || fail "$n: bad frames"; done
sa=$(t fea sent) sb=$(t feb sent) sc=$(t fec sent) se=$(t fee sent) sf=$(t fef sent)
[ "$sa" -gt 5000 ] && [ "$sc" -gt 2000 ] && [ "$se" -gt 2000 ] && [ "$sf" -gt 2000 ] || fail "too little traffic"
# E: its VLAN is not on its trunk: all dropped, counted, none forwarded.
[ "$(s e rx_vlan_dropped)" = "$se" ] && [ "$(s e rx_dropped)" = "$se" ] ||
	fail "port e: rx_vlan_dropped $(s e rx_vlan_dropped) rx_dropped $(s e rx_dropped), E sent $se"
# A (access 10): B's frames untagged; F's floods as foreign; nothing of C's.
ga=$(t fea good) pa=$(t fea from-peer) fa=$(t fea foreign)
[ "$(t fea tagged)" = 0 ] || fail "A (access port) got tagged frames"
[ $((pa + fa)) = "$ga" ] || fail "A got $((ga - pa - fa)) frames from neither B nor F (C's VLAN 20?)"
# B (trunk 10): everything tagged; A's frames and F's floods only.
gb=$(t feb good) pb=$(t feb from-peer) fb=$(t feb foreign)
[ "$(t feb tagged)" = "$(t feb recv)" ] || fail "B (trunk) got $(( $(t feb recv) - $(t feb tagged) )) untagged frames"
[ $((pb + fb)) = "$gb" ] || fail "B got $((gb - pb - fb)) frames from neither A nor F"
[ $((pb + $(s b tx_dropped))) -ge "$sa" ] || fail "A sent $sa, B got $pb, port b dropped $(s b tx_dropped)"
[ $((pa + $(s a tx_dropped))) -ge "$sb" ] || fail "B sent $sb, A got $pa, port a dropped $(s a tx_dropped)"
# C (access 20): nobody sends in VLAN 20 but C.
[ "$(t fec recv)" = 0 ] || fail "C got $(t fec recv) frames (nothing else is in VLAN 20)"
# D (all VLANs): C's and F's floods, tagged; E (trunk 20): C's only.
[ "$(t fed tagged)" = "$(t fed recv)" ] || fail "D got untagged frames"
ge=$(t fee good)
[ "$(t fee tagged)" = "$ge" ] && [ "$ge" -le "$sc" ] && [ $((ge + $(s e tx_dropped))) -ge "$sc" ] ||
	fail "E got $ge (tagged $(t fee tagged)) of C's $sc, port e dropped $(s e tx_dropped)"
# D takes every flood: C's, F's, and A's and B's to each other while their
# MACs were not learnt yet, which f (access 10) got as well.
gd=$(t fed good) early=$(( $(t fef recv) + $(s f tx_dropped) ))
[ $((gd + $(s d tx_dropped))) = $((sc + sf + early)) ] ||
	fail "D got $gd, port d dropped $(s d tx_dropped); C and F sent $((sc + sf)), early floods $early"
# F's floods reach a (untagged) and b (tagged) whole.
[ $((fa + $(s a tx_dropped))) -ge "$sf" ] && [ $((fb + $(s b tx_dropped))) -ge "$sf" ] ||
	fail "F sent $sf: A got $fa, B got $fb"
result "switch_vlan_fe A->B $pb/$sa B->A $pa/$sb, C's $sc flooded in VLAN 20 (D $gd E $ge), E's $se dropped, F's $sf flooded in VLAN 10 (A $fa B $fb)"

# set-port on the running port: c joins VLAN 10, C's frames reach A.
vctl set-port c tag=99999 >/dev/null 2>&1 && fail "set-port took tag=99999"
vctl set-port c tag=10 || { sw_dump; fail "set-port c tag=10"; }
vctl show | grep -q "^port c: .* vlan access 10" || fail "show does not say c is in VLAN 10"
fe fea2 a $MA $MB 1 0 --linger 4
sw_wait_running a 10 || { sw_dump; fail "port a did not come back"; }
sleep 0.3
fe fec2 c $MC $MA 2000 1
wait "$PID_fec2" && wait "$PID_fea2" || { sw_dump; fail "phase 2 frontend failed"; }
ga2=$(t fea2 good) sc2=$(t fec2 sent)
[ "$ga2" -ge $((sc2 * 9 / 10)) ] && [ "$ga2" -le "$sc2" ] || { sw_dump; fail "after set-port, A got $ga2 of C's $sc2"; }
vctl fdb | grep -qE "^c +20 " && fail "c's VLAN-20 entries outlived set-port"
grep -q "port c: vlan access 10 (was access 20)" "$T/sw.log" || fail "no log line for set-port"
result "switch_vlan_fe set-port c tag=10: A got $ga2 of C's $sc2"

# A static entry (add-fdb): F's frames for the unknown MAC go to b alone,
# and learning does not move it. Bad requests are refused with a reason.
vctl add-fdb b $UNK vlan=10 || { sw_dump; fail "add-fdb"; }
vctl fdb | grep -qE "^b +10 $UNK static$" || { vctl fdb; fail "fdb does not show the static entry"; }
for bad in "nope $UNK" "b 01:00:5e:00:00:01" "b $UNK vlan=4095" "b $UNK remote=169.254.0.1" "b 02:00:00:00:01"; do
	# shellcheck disable=SC2086
	out=$(vctl add-fdb $bad 2>&1) && fail "add-fdb $bad was accepted"
	note "add-fdb $bad: $out"
done
fe fea3 a $MA $MB 1 0 --linger 4
fe feb3 b $MB $MA 1 0 --linger 4
sw_wait_running a 10 && sw_wait_running b 10 || { sw_dump; fail "a, b did not come back"; }
sleep 0.3
fe fef3 f $MF $UNK 2000 1
wait "$PID_fef3" && wait "$PID_fea3" && wait "$PID_feb3" || { sw_dump; fail "phase 3 frontend failed"; }
sf3=$(t fef3 sent) fb3=$(t feb3 foreign) fa3=$(t fea3 foreign)
[ "$fa3" = 0 ] && [ "$fb3" -le "$sf3" ] && [ $((fb3 + $(s b tx_dropped))) -ge "$sf3" ] ||
	fail "with $UNK static on b: B got $fb3, A got $fa3 of F's $sf3"
vctl fdb | grep -qE "^b +10 $UNK static$" || fail "the static entry did not stay"
vctl del-fdb $UNK vlan=10 || fail "del-fdb"
vctl del-fdb $UNK vlan=10 >/dev/null 2>&1 && fail "del-fdb of a missing entry succeeded"
vctl fdb | grep -q "$UNK" && fail "del-fdb left the entry"
result "switch_vlan_fe add-fdb b $UNK vlan=10: B got $fb3 of F's $sf3, A got $fa3"
echo PASS
