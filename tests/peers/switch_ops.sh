#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The operator's controls of vhu-switch, with two in-tree frontends (no VM):
#  - --socket-group: the control socket and server port sockets belong to
#    the group, mode 0660; a group that does not exist stops the start;
#  - external-ids in add-port specs and set-port (KEY= removes), shown by
#    show, found by find-port (nothing and status 0 when no port has it),
#    kept across a SIGKILL and a start with the same --db;
#  - every malformed argument of those commands (and of stats --format):
#    a clear error, a non-zero status, show and the --db file unchanged;
#  - tx-retries and its counters: B sends to A while A's frontend is
#    stopped (its ring fills): port a's tx_retries moves, and
#    tx_failure_drops = tx_dropped = what B sent and A did not get; with
#    tx-retries=0 (set-port, under traffic) A stopped again costs drops and
#    no retry;
#  - size bins: B's 200-byte frames all in rx_128_to_255_packets of b and
#    tx_128_to_255_packets of a, the bins summing to the packet counts;
#  - stats --format prometheus parses (every sample `name{labels} value`
#    after its family's HELP and TYPE, each family once) and says what the
#    text stats say.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd python3

GRP=
for g in nogroup daemon; do getent group "$g" >/dev/null && { GRP=$g; break; }; done
[ -n "$GRP" ] || skip "neither group nogroup nor daemon exists"
MA=02:00:00:00:03:0a MB=02:00:00:00:03:0b

# A group that does not exist: the start stops, saying so, leaving nothing.
"$VHU_SWITCH" --control "$T/ctl0" --socket-dir "$T" --socket-group no-such-group-vhu \
	--port vhost-user:z >"$T/badgroup.log" 2>&1 && fail "--socket-group no-such-group-vhu was accepted"
grep -q "socket-group no-such-group-vhu: no such group" "$T/badgroup.log" ||
	{ cat "$T/badgroup.log"; fail "no clear error for a bad --socket-group"; }
[ ! -e "$T/ctl0" ] && [ ! -e "$T/z" ] || fail "a refused start left sockets behind"

DB=$T/switch.db
sw_start --db "$DB" --socket-group "$GRP" \
	--port "vhost-user:a,tx-retries=3,external-ids:iface-id=vm-a,external-ids:owner=nova"
vctl add-port "vhost-user:b,external-ids:iface-id=vm-b" >/dev/null || { sw_dump; fail "add-port b"; }
for f in "$CTL" "$T/a" "$T/b"; do
	[ "$(stat -c '%G %a' "$f")" = "$GRP 660" ] || fail "$f is $(stat -c '%G %a' "$f"), not $GRP 660"
done

# find-port and set-port's external-ids.
[ "$(vctl find-port external-id:iface-id=vm-a)" = a ] || fail "find-port iface-id=vm-a is not a"
vctl set-port b external-ids:owner=nova external-ids:zone=z1 >/dev/null || fail "set-port b external-ids"
[ "$(vctl find-port external-id:owner=nova | tr '\n' ' ')" = "a b " ] || fail "find-port owner=nova is not a and b"
out=$(vctl find-port external-ids:owner=none) || fail "find-port of a value no port has failed"
[ -z "$out" ] || fail "find-port of a value no port has printed '$out'"
vctl set-port b external-ids:owner= >/dev/null || fail "set-port b external-ids:owner= (removal)"
[ "$(vctl find-port external-id:owner=nova)" = a ] || fail "owner=nova still found on b after its removal"
vctl show | tee "$T/show.txt"
grep -q "^port a: .* tx-retries 3" "$T/show.txt" && grep -qx "  external-ids iface-id=vm-a owner=nova" "$T/show.txt" &&
	grep -qx "  external-ids iface-id=vm-b zone=z1" "$T/show.txt" || fail "show lacks tx-retries or external-ids"

# Malformed arguments: refused, said why, nothing changed.
snap() { vctl show; cat "$DB"; }
snap >"$T/snap0.txt"
nbad=0
bad() { # bad WANT_IN_ERROR VHU_CTL_ARGS...
	local want=$1 rc; shift
	vctl "$@" >"$T/bad.out" 2>"$T/bad.err"; rc=$?
	[ "$rc" != 0 ] || fail "vhu-ctl $* succeeded"
	grep -qF -- "$want" "$T/bad.err" || { cat "$T/bad.err"; fail "vhu-ctl $*: no clear error (want '$want')"; }
	nbad=$((nbad + 1))
}
k33=$(printf 'k%.0s' $(seq 33)) v129=$(printf 'v%.0s' $(seq 129))
bad "bad tx-retries '33' (0..32)" set-port a tx-retries=33
bad "bad tx-retries '-1'" set-port a tx-retries=-1
bad "bad tx-retries 'x'" set-port a tx-retries=x
bad "tx-retries is for vhost-user ports" add-port tap:t9,tx-retries=2
bad "bad tx-retries '99'" add-port vhost-user:c,tx-retries=99
bad "want KEY=VALUE" set-port a external-ids:novalue
bad "want KEY=VALUE" set-port a external-ids:=x
bad "only letters, digits" set-port a 'external-ids:k!=v'
bad "longer than 32 bytes" set-port a "external-ids:$k33=v"
bad "value longer than 128 bytes" set-port a "external-ids:k=$v129"
bad "has a blank, a control character" set-port a 'external-ids:k=a"b'
bad "a port has at most 8" set-port a external-ids:k1=1 external-ids:k2=1 external-ids:k3=1 \
	external-ids:k4=1 external-ids:k5=1 external-ids:k6=1 external-ids:k7=1
bad "bad tag '5000'" set-port a external-ids:k=v tag=5000
bad "set-port takes tag=VID|none" set-port a queues=2
bad "no port named 'zz'" set-port zz external-ids:k=v
bad "set-port takes NAME and at least one OPT" set-port a
bad "external-id k given twice" add-port vhost-user:c,external-ids:k=1,external-ids:k=2
bad "external-id k: empty value" add-port vhost-user:c,external-ids:k=
bad "unknown option 'external-id:k=1'" add-port vhost-user:c,external-id:k=1
bad "find-port takes external-id:KEY=VALUE" find-port iface-id=vm-a
bad "want KEY=VALUE" find-port external-id:iface-id
bad "find-port takes 1 argument" find-port
bad "find-port takes 1 argument" find-port external-id:a=1 external-id:b=2
bad "stats takes [NAME] [--json | --format" stats --format xml
bad "stats takes [NAME] [--json | --format" stats --format
bad "stats takes [NAME] [--json | --format" stats a --prometheus
snap >"$T/snap1.txt"
diff "$T/snap0.txt" "$T/snap1.txt" || fail "a refused command changed show or $DB (above)"
note "$nbad malformed commands refused, show and $DB unchanged"

# Traffic: B sends 200-byte frames to A for 4 s; A's frontend is stopped
# twice (its ring fills), with tx-retries 3 and then 0.
bg fea timeout 30 "$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --duration 0 --linger 8
sw_wait_running a 10 || { sw_dump; fail "port a did not come up"; }
fe_a=$(pgrep -P "$PID_fea" -x vhu-fe) || fail "no vhu-fe under pid $PID_fea"
bg feb timeout 30 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 10000 --duration 4 \
	--pkt-size 200 --linger 1
sw_wait_running b 10 || { sw_dump; fail "port b did not come up"; }
sleep 0.3
kill -STOP "$fe_a"; sleep 0.6; kill -CONT "$fe_a"
sleep 0.3
vctl set-port a tx-retries=0 >/dev/null || fail "set-port a tx-retries=0"
sleep 0.2   # a burst that read the old budget is over
r1=$(sw_stat a tx_retries) d1=$(sw_stat a tx_failure_drops)
kill -STOP "$fe_a"; sleep 0.6; kill -CONT "$fe_a"
wait "$PID_feb" && wait "$PID_fea" || { sw_dump; fail "a frontend failed"; }
sb=$(fe_total "$T/feb.log" sent) pa=$(fe_total "$T/fea.log" from-peer)
vctl stats | tee "$T/stats.txt"
st() { sed -n "s/^port $1:.* $2 \([0-9]*\).*/\1/p" "$T/stats.txt"; }
note "B sent $sb, A got $pa; a: tx_packets $(st a tx_packets) tx_dropped $(st a tx_dropped)" \
	"tx_failure_drops $(st a tx_failure_drops) tx_retries $(st a tx_retries) (after phase 1: $r1 retries, $d1 drops)"
[ "$(st b rx_packets)" = "$sb" ] || fail "b's rx_packets $(st b rx_packets) is not the $sb B sent"
[ "$(st a tx_packets)" = "$pa" ] || fail "a's tx_packets $(st a tx_packets) is not the $pa A got"
lost=$((sb - pa))
[ "$lost" -gt 0 ] && [ "$d1" -gt 0 ] || fail "no frame was lost while A was stopped ($lost; $d1 in phase 1)"
[ "$(st a tx_failure_drops)" = "$lost" ] && [ "$(st a tx_dropped)" = "$lost" ] ||
	fail "a's tx_failure_drops $(st a tx_failure_drops) / tx_dropped $(st a tx_dropped) are not the $lost lost"
[ "$r1" -ge 3 ] || fail "tx-retries=3 with A stopped made $r1 retries (want at least 3)"
[ "$(st a tx_retries)" = "$r1" ] || fail "tx-retries=0 retried: $r1 then $(st a tx_retries)"
[ "$(st a tx_failure_drops)" -gt "$d1" ] || fail "A stopped with tx-retries=0 lost nothing"
# Size bins: B's frames are all 200 bytes, and each port's bins add up.
[ "$(st b rx_128_to_255_packets)" = "$sb" ] && [ "$(st a tx_128_to_255_packets)" = "$pa" ] ||
	fail "200-byte frames not in the 128-255 bins"
for p in a b; do for d in rx tx; do
	sum=$(sed -n "s/^port $p: //p" "$T/stats.txt" | tr ' ' '\n' | paste - - |
		awk -v d="$d" '$1 ~ "^" d "_[0-9]+_to_" { s += $2 } END { print s + 0 }')
	[ "$sum" = "$(st $p ${d}_packets)" ] || fail "port $p: $d size bins sum to $sum, ${d}_packets is $(st $p ${d}_packets)"
done; done

# Prometheus text format: its shape, and the text stats' values.
vctl stats --format prometheus >"$T/prom.txt" || fail "stats --format prometheus"
vctl stats >"$T/stats2.txt"
python3 - "$T/prom.txt" "$T/stats2.txt" <<'EOF' || fail "stats --format prometheus is malformed or differs from stats (above)"
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\} ([0-9]+)$')
help_seen, type_seen, done, cur, prom = set(), set(), set(), None, {}
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    m = re.match(r'^# (HELP|TYPE) (\S+) (.+)$', line)
    if m:
        kind, name, rest = m.groups()
        seen = help_seen if kind == 'HELP' else type_seen
        assert name not in seen, f'line {n}: second {kind} of {name}'
        assert kind == 'HELP' or rest == 'counter', f'line {n}: type {rest}'
        seen.add(name)
        continue
    m = sample.match(line)
    assert m, f'line {n}: not name{{labels}} value: {line!r}'
    name, labels, v = m.groups()
    assert name in help_seen and name in type_seen, f'line {n}: {name} before its HELP and TYPE'
    if name != cur:
        assert name not in done, f'line {n}: {name} samples not together'
        done.add(cur); cur = name
    port = re.search(r'port="([^"]*)"', labels).group(1)
    key = (port, name[len('vhu_port_'):-len('_total')])
    prom[key] = prom.get(key, 0) + int(v)
text = {}
for line in open(sys.argv[2]):
    if line.startswith('port '):
        port, rest = line[5:].split(':', 1)
        w = rest.split()
        for k, v in zip(w[0::2], w[1::2]):
            text[(port, k)] = int(v)
assert text and set(text) == set(prom), f'counters differ: {set(text) ^ set(prom)}'
bad = [k for k in text if text[k] != prom[k]]
assert not bad, 'values differ: ' + ', '.join(f'{k}: {text[k]} vs {prom[k]}' for k in bad)
print(f'prometheus: {len(prom)} port counters, {len(help_seen)} families, as the text stats')
EOF

# The configuration, external-ids included, after SIGKILL and a start
# with the same --db.
conf() { vctl show | sed -n 's/^\(port [^ ]*\) type \([^ ]*\) state [a-z]* \(.*\)/\1 \2 \3/p;/^  external-ids/p'; }
wait_for 5 sh -c "! '$VHU_CTL' --control '$CTL' show | grep -q 'state running'" || fail "ports still running"
conf >"$T/before.txt"
grep -q "external-ids:iface-id=vm-a" "$DB" || { cat "$DB"; fail "$DB lacks a's external-ids"; }
kill -9 "$PID_sw"; wait "$PID_sw" 2>/dev/null
rm -f "$CTL"
bg sw2 "$VHU_SWITCH" --control "$CTL" --socket-dir "$T" --db "$DB"
wait_for 10 test -S "$CTL" || { cat "$T/sw2.log"; fail "the switch did not start again from $DB"; }
conf >"$T/after.txt"
diff "$T/before.txt" "$T/after.txt" || fail "the configuration after the restart differs (above)"
[ "$(vctl find-port external-id:zone=z1)" = b ] || fail "find-port zone=z1 after the restart"
stop_own sw2
result "switch_ops: $nbad malformed commands refused; B sent $sb, A got $pa, a: tx_failure_drops $lost," \
	"tx_retries $r1 (none with tx-retries=0); prometheus = text; external-ids back after SIGKILL"
echo PASS
