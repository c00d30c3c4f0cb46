#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch port flows (in_port=X,actions=output:Y|drop|normal) with the
# in-tree frontend vhu-fe. A sends to B's MAC in four phases while B and C
# only receive:
#   1. flow in_port=a,actions=output:c (given with --flow): every frame goes
#      to C, none to B, although the destination is B's MAC;
#   2. add-flow in_port=a,actions=drop replaces it: nobody gets a frame;
#   3. add-flow in_port=a,actions=normal: learning (B's MAC is unknown, so
#      the frames flood to B and C);
#   4. del-flows in_port=a: learning again, same as 3.
# Checked: frames arrive where the flow says and nowhere else, none bad,
# dump-flows counts exactly what A sent under each rule (add-flow restarts
# the count), an output port that is deleted shows as missing and comes
# back with the port, an output to the input port shows as dropping, and
# bad flows are refused with a clear error.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"

MA=02:00:00:00:02:0a MB=02:00:00:00:02:0b MC=02:00:00:00:02:0c
sw_start --pmd-cpus 0 --port vhost-user:a --port vhost-user:b --port vhost-user:c \
	--port vhost-user:d --flow in_port=a,actions=output:c

for bad in "in_port=a" "actions=drop" "in_port=a,actions=output:x/y" "in_port=a,actions=flood" \
	"in_port=,actions=drop" "in_port=a,actions=output:"; do
	out=$(vctl add-flow "$bad" 2>&1) && fail "flow '$bad' was accepted"
	note "refused $bad: $out"
	echo "$out" | grep -q "ERR\|flow\|port name" || fail "unclear error for '$bad': $out"
done
out=$(vctl del-flows in_port=zz 2>&1) && fail "del-flows of a port without a flow succeeded"
echo "$out" | grep -q "no flow for in_port=zz" || fail "unclear error: $out"

# flow_packets IN: n_packets of the flow of in_port IN.
flow_packets() {
	vctl dump-flows | sed -n "s/^in_port=$1 .* n_packets=\([0-9]*\) .*/\1/p"
}

bg feb timeout 40 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --duration 0 --linger 16 --ring 4096
bg fec timeout 40 "$VHU_FE" --socket "$T/c" --mac $MC --dst-mac $MA --duration 0 --linger 16 --ring 4096
sw_wait_running b 10 && sw_wait_running c 10 || { sw_dump; fail "ports b, c did not come up"; }

# phase N: A sends 1.5 s at 20 kpps; prints what A sent.
phase() {
	"$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --pps 20000 --duration 1.5 \
		--linger 0.5 >"$T/fea$1.log" 2>&1 || { cat "$T/fea$1.log"; sw_dump; fail "phase $1: vhu-fe A failed"; }
	fe_total "$T/fea$1.log" sent
}

s1=$(phase 1); n1=$(flow_packets a)
vctl dump-flows
[ "$n1" = "$s1" ] || fail "phase 1: flow a counted $n1 packets, A sent $s1"
vctl add-flow in_port=a,actions=drop || fail "add-flow drop"
[ "$(flow_packets a)" = 0 ] || fail "the replacing flow did not start its count at 0"
s2=$(phase 2); n2=$(flow_packets a)
[ "$n2" = "$s2" ] || fail "phase 2: flow a counted $n2 packets, A sent $s2"
vctl add-flow in_port=a,actions=normal || fail "add-flow normal"
s3=$(phase 3); n3=$(flow_packets a)
[ "$n3" = "$s3" ] || fail "phase 3: flow a counted $n3 packets, A sent $s3"
vctl del-flows in_port=a || fail "del-flows in_port=a"
vctl dump-flows | grep -q "^in_port=a " && fail "flow a still there after del-flows"
s4=$(phase 4)

# Resolution by name: the output port goes and comes back.
vctl add-flow in_port=b,actions=output:d || fail "add-flow b -> d"
vctl del-port d || fail "del-port d"
vctl dump-flows | tee "$T/flows-gone.txt"
grep -q "^in_port=b actions=output:d .*(output port d is missing: dropping)" "$T/flows-gone.txt" ||
	fail "a flow to a deleted port does not show as dropping"
vctl add-port vhost-user:d || fail "add-port d again"
vctl dump-flows | grep "^in_port=b " | grep -q "missing" && fail "the flow did not find port d again"
vctl add-flow in_port=d,actions=output:d || fail "add-flow d -> d"
vctl dump-flows | grep -q "^in_port=d .*(output port d is the input: dropping)" ||
	fail "an output to the input port does not show as dropping"
vctl del-flows || fail "del-flows"
[ -z "$(vctl dump-flows | grep '^in_port=')" ] || fail "del-flows left flows"

wait "$PID_feb"; rc_b=$?
wait "$PID_fec"; rc_c=$?
grep '^fe: total' "$T/feb.log" "$T/fec.log"
pb=$(fe_total "$T/feb.log" from-peer) fb=$(fe_total "$T/feb.log" foreign)
gc=$(fe_total "$T/fec.log" good) pc=$(fe_total "$T/fec.log" from-peer)
bdr=$(sw_stat b tx_dropped) cdr=$(sw_stat c tx_dropped)
result "switch_flow A sent $s1 (output:c) $s2 (drop) $s3 (normal) $s4 (no flow); B got $pb, C got $gc; drops b $bdr c $cdr"
[ "$rc_b" = 0 ] && [ "$rc_c" = 0 ] || fail "a receiver saw bad frames (rc $rc_b $rc_c)"
# Only vhu-fe frames cross this switch: nothing may be "other".
for l in feb fec fea1 fea2 fea3 fea4; do
	for k in bad other; do
		v=$(fe_total "$T/$l.log" $k); [ "$v" = 0 ] || fail "$l: $k frames: ${v:-?}"
	done
done
[ "$s1" -gt 10000 ] && [ "$s2" -gt 10000 ] && [ "$s3" -gt 10000 ] && [ "$s4" -gt 10000 ] || fail "too little traffic"
# Receivers run on a shared 2-vCPU machine beside a busy-polling PMD: one
# descheduled for longer than its 4096-descriptor ring lasts (205 ms at
# 20 kpps; CI once saw both receivers of the ASan build lose ~1000 frames,
# a stall of over 50 ms) makes the switch drop. That is allowed, but only as a counted
# drop on that port (checked exactly below) and under 1% of its frames.
[ "$bdr" -le $(((s3 + s4) / 100)) ] && [ "$cdr" -le $(((s1 + s3 + s4) / 100)) ] ||
	fail "too many drops at 20 kpps (b $bdr, c $cdr)"
[ "$bdr" = 0 ] && [ "$cdr" = 0 ] || note "drops b $bdr c $cdr (each must account for a missing frame)"
# B: only the learning phases; C: phase 1 (output:c) and the floods of 3, 4.
[ "$pb" = $((s3 + s4 - bdr)) ] ||
	fail "B got $pb frames from A, want $((s3 + s4)) (phases 3 and 4 only) less $bdr counted drops"
[ "$fb" = 0 ] || fail "B got $fb frames for other MACs"
[ "$gc" = $((s1 + s3 + s4 - cdr)) ] ||
	fail "C got $gc frames, want $((s1 + s3 + s4)) (phase 1 and the floods of 3, 4) less $cdr counted drops"
[ "$pc" = 0 ] || fail "C got $pc frames from A addressed to it"
echo PASS
