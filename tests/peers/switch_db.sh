#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch --db: the configuration vhu-ctl sets survives a crash.
# Ports (server and client, queues, VLAN modes and rxq-affinity changed
# with set-port) and flows are set with vhu-ctl; malformed rxq-affinity
# values and a pmd-rxq-rebalance on the idle switch are refused with a
# reason and change nothing; the switch is killed with SIGKILL and started
# again with the same --db alone: show (the ports, their modes) and
# dump-flows are as before, and traffic crosses the restored VLANs
# (A on an access port of VLAN 10 gets B's frames tagged 10 on a trunk).
# del-port is kept too; add-port --may-exist and del-port --if-exists
# succeed without a change where the port is there / gone. A file that does not replay stops the start with
# FILE:LINE and the reason and is left as it was; a --port that differs
# from the file's port of that name is refused, an identical one is not.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"

DB=$T/switch.db
MA=02:00:00:00:02:0a MB=02:00:00:00:02:0b
PMDS=0; [ "$(nproc)" -ge 2 ] && PMDS=0,1
sw_start --db "$DB" --pmd-cpus "$PMDS" --port vhost-user:a
vctl add-port vhost-user:b,queues=2 >/dev/null || { sw_dump; fail "add-port b"; }
vctl add-port "vhost-user:c,path=$T/qc,client" >/dev/null || { sw_dump; fail "add-port c"; }
vctl add-port vhost-user:gone >/dev/null || fail "add-port gone"
vctl set-port a tag=10 >/dev/null && vctl set-port b trunks=10:20:100-199 >/dev/null || fail "set-port"
vctl add-flow in_port=c,actions=drop >/dev/null || fail "add-flow"
vctl set-port b rxq-affinity=1:0 >/dev/null || fail "set-port b rxq-affinity=1:0"
# Malformed or impossible rxq-affinity, and a rebalance with nothing to go
# by: a clear error each, and neither the file nor the ports change.
sum=$(md5sum <"$DB") shown=$(vctl show; vctl pmd-rxq-show)
for bad in "rxq-affinity=2:0" "rxq-affinity=0:4096" "rxq-affinity=0" "rxq-affinity=0:1+0:0" \
	"rxq-affinity=0:0;1:0" "rxq-affinity=x:0" "rxq-affinity=" "rxq-affinity=0:77" "queues=4"; do
	out=$(vctl set-port b "$bad" 2>&1) && fail "set-port b $bad was accepted"
	echo "$out" | grep -qE "rxq-affinity|set-port takes" || fail "unclear error for set-port b $bad: $out"
	note "refused set-port b $bad: $out"
done
out=$(vctl add-port vhost-user:z,rxq-affinity=0:99 2>&1) && fail "add-port with a CPU that has no PMD"
echo "$out" | grep -q "no PMD runs on cpu 99" || fail "unclear error for cpu 99: $out"
out=$(vctl pmd-rxq-rebalance 2>&1) && fail "pmd-rxq-rebalance on an idle switch succeeded: $out"
echo "$out" | grep -q "nothing to rebalance" || fail "unclear error for an idle rebalance: $out"
note "idle rebalance: $out"
[ "$(md5sum <"$DB")" = "$sum" ] && [ "$(vctl show; vctl pmd-rxq-show)" = "$shown" ] ||
	fail "a refused request changed the file or the switch"
vctl del-port gone >/dev/null || fail "del-port"
# Idempotent forms for orchestrators (ovs-vsctl's --may-exist/--if-exists).
vctl add-port --may-exist vhost-user:a,tag=99 | grep -q "^exists vhost-user:a,tag=99" || fail "add-port --may-exist of an existing port"
vctl add-port vhost-user:a >/dev/null 2>&1 && fail "add-port of an existing port succeeded"
vctl del-port --if-exists gone | grep -q "no port gone" || fail "del-port --if-exists of a missing port"
vctl del-port gone >/dev/null 2>&1 && fail "del-port of a missing port succeeded"
vctl add-port --bogus vhost-user:z >/dev/null 2>&1 && fail "add-port --bogus was accepted"
vctl add-port --may-exist vhost-user:gone >/dev/null && vctl del-port --if-exists gone >/dev/null ||
	fail "--may-exist / --if-exists of a new / an existing port"
[ ! -e "$DB.tmp" ] || fail "$DB.tmp left behind"
cat "$DB"
for want in "add-port vhost-user:a,tag=10" "add-port vhost-user:b,queues=2,trunks=10:20:100-199,rxq-affinity=1:0" \
	"add-port vhost-user:c,path=$T/qc,client" "add-flow in_port=c,actions=drop"; do
	grep -qxF "$want" "$DB" || fail "$DB lacks '$want'"
done
grep -q "gone" "$DB" && fail "the deleted port is still in $DB"
# What must come back: ports without their run-time state, flows without counters.
conf() { vctl show | sed -n 's/^\(port [^ ]*\) type \([^ ]*\) state [a-z]* \(.*\)/\1 \2 \3/p'; vctl dump-flows | sed 's/ n_packets=.*//'; }
conf >"$T/before.txt"
cat "$T/before.txt"
kill -9 "$PID_sw"; wait "$PID_sw" 2>/dev/null
rm -f "$CTL"

bg sw2 "$VHU_SWITCH" --control "$CTL" --socket-dir "$T" --pmd-cpus "$PMDS" --db "$DB"
wait_for 10 test -S "$CTL" || { cat "$T/sw2.log"; fail "the switch did not start again from $DB"; }
conf >"$T/after.txt"
diff "$T/before.txt" "$T/after.txt" || { cat "$T/sw2.log"; fail "the configuration after the restart differs (above)"; }
grep -q "db $DB: restored 3 ports and 1 flow" "$T/sw2.log" || fail "no log line of the restore"
# The restored VLANs carry traffic: B's frames tagged 10 reach A untagged.
bg fea timeout 20 "$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --pps 1 --duration 0 --linger 3
bg feb timeout 20 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 2000 --duration 1 --linger 0.5 --vlan 10
wait "$PID_feb" && wait "$PID_fea" || { cat "$T/sw2.log"; fail "a frontend failed"; }
pa=$(fe_total "$T/fea.log" from-peer) sb=$(fe_total "$T/feb.log" sent)
[ "$pa" -ge $((sb * 9 / 10)) ] && [ "$(fe_total "$T/fea.log" tagged)" = 0 ] ||
	fail "after the restart A got $pa of B's $sb (tagged $(fe_total "$T/fea.log" tagged))"
stop_own sw2
result "switch_db: $(grep -c . "$T/before.txt") lines of configuration back after SIGKILL; A got $pa of B's $sb across the restored VLAN 10"

# A file that does not replay: the start stops, says where, leaves it.
printf 'add-port vhost-user:x\nadd-port vhost-user:y,tag=5000\nadd-flow in_port=x,actions=drop\n' >"$T/bad.db"
sum=$(md5sum <"$T/bad.db")
"$VHU_SWITCH" --control "$T/ctl3" --socket-dir "$T" --db "$T/bad.db" >"$T/bad.log" 2>&1 && fail "a bad --db file was accepted"
grep -q "$T/bad.db:2: .*bad tag '5000'" "$T/bad.log" || { cat "$T/bad.log"; fail "no FILE:LINE reason for the bad file"; }
[ "$(md5sum <"$T/bad.db")" = "$sum" ] || fail "the bad file was changed"
printf 'add-port vhost-user:x\nset-port x tag=5\n' >"$T/bad2.db"
"$VHU_SWITCH" --control "$T/ctl3" --socket-dir "$T" --db "$T/bad2.db" >"$T/bad2.log" 2>&1 && fail "a line that is not add-port/add-flow was accepted"
grep -q "bad2.db:2: not add-port SPEC or add-flow FLOW" "$T/bad2.log" || { cat "$T/bad2.log"; fail "no reason for line 2"; }
# --port against the file: a different port of the same name is refused.
"$VHU_SWITCH" --control "$T/ctl3" --socket-dir "$T" --pmd-cpus "$PMDS" --db "$DB" --port vhost-user:a,tag=11 >"$T/clash.log" 2>&1 &&
	fail "--port a,tag=11 was accepted over the file's a,tag=10"
grep -q "has it as vhost-user:a,tag=10" "$T/clash.log" || { cat "$T/clash.log"; fail "no reason for the clash"; }
# A pin to a CPU this start has no PMD on (PMDs not pinned): the line and why.
"$VHU_SWITCH" --control "$T/ctl3" --socket-dir "$T" --db "$DB" >"$T/nopmd.log" 2>&1 &&
	fail "a pin to a CPU without a PMD was restored"
grep -q "$DB:[0-9]*: port b: rxq-affinity 1:0: no PMD runs on cpu 0" "$T/nopmd.log" || { cat "$T/nopmd.log"; fail "no reason for the pin"; }
note "refused: $(grep -h 'db\|--port' "$T/bad.log" "$T/bad2.log" "$T/clash.log" | tail -3 | tr '\n' ';')"
echo PASS
