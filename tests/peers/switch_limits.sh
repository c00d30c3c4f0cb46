#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-switch --max-connections and --io-timeout-ms: libvhu's control-plane
# limits on every vhost-user port, those of the command line and those
# vhu-ctl adds later.
#  - out-of-range or malformed values stop the start with status 2 and
#    the reason; show says the values in force;
#  - --max-connections 1: while frontend A forwards to B through port a
#    (a --port), a second connection to a's socket is closed at once with
#    the library's "connection refused" line; A stays running and B gets
#    A's frames;
#  - --io-timeout-ms 500: on port c (added by vhu-ctl) a peer that sends
#    half a message header is disconnected after 0.5 s (within 0.4..1.5 s)
#    with the library's line, and a second peer beside it is refused.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/switch_common.inc"
need_cmd python3
MA=02:00:00:00:04:0a MB=02:00:00:00:04:0b

for bad in "--io-timeout-ms 0" "--io-timeout-ms 99" "--io-timeout-ms 3600001" "--io-timeout-ms 5s" \
	"--max-connections 0" "--max-connections -1" "--max-connections x" "--max-connections"; do
	# shellcheck disable=SC2086 # the option and its value: two words
	out=$(timeout 10 "$VHU_SWITCH" --control "$T/bad.ctl" --socket-dir "$T" $bad 2>&1); rc=$?
	[ $rc = 2 ] || fail "vhu-switch $bad: status $rc, want 2: $out"
	echo "$out" | head -1 | grep -qE "bad --(io-timeout-ms|max-connections)|needs an argument" ||
		fail "vhu-switch $bad: unclear error: $(echo "$out" | head -1)"
	note "refused $bad: $(echo "$out" | head -1)"
done
[ ! -e "$T/bad.ctl" ] || fail "a refused start left its control socket"

sw_start --max-connections 1 --io-timeout-ms 500 --port vhost-user:a --port vhost-user:b
vctl add-port vhost-user:c >/dev/null || { sw_dump; fail "add-port c"; }
vctl show | head -1 | grep -q "io timeout 500 ms, max connections 1$" ||
	fail "show does not say the limits: $(vctl show | head -1)"

# peer.py MODE PATH: "refused": a connection that the switch must close at
# once; "stall": half a header on one connection (closed after the I/O
# timeout) and a second connection beside it (refused). Prints the
# seconds each took to be closed; every wait is bounded by 5 s.
cat >"$T/peer.py" <<'EOF'
import socket, sys, time

# Seconds from t0 until the switch closed s; "none" when it did not
# within 5 s, "data" when it sent something instead.
def closed_after(s, t0):
    try:
        data = s.recv(64)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        return "none"
    return "%.3f" % (time.monotonic() - t0) if not data else "data"

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s

mode, path = sys.argv[1], sys.argv[2]
if mode == "refused":
    s = conn(path)
    print("refused %s" % closed_after(s, time.monotonic()))
else:
    a = conn(path)
    # 6 of the 12 bytes of a GET_FEATURES header (request 1, flags 1)
    a.sendall(b"\x01\x00\x00\x00\x01\x00")
    t0 = time.monotonic()
    time.sleep(0.1)  # a is the socket's connection before b comes
    b = conn(path)
    print("refused %s" % closed_after(b, time.monotonic()))
    print("stalled %s" % closed_after(a, t0))
EOF
# A within limits: it forwards to B throughout.
bg feb timeout 20 "$VHU_FE" --socket "$T/b" --mac $MB --dst-mac $MA --pps 1 --duration 0 --linger 5
bg fea timeout 20 "$VHU_FE" --socket "$T/a" --mac $MA --dst-mac $MB --pps 1000 --duration 3 --linger 0.5
sw_wait_running a 10 && sw_wait_running b 10 || { sw_dump; fail "a and b did not run"; }
out=$(timeout 10 python3 "$T/peer.py" refused "$T/a") || fail "peer.py refused: $out"
note "second connection to a: $out"
t=${out#refused }
awk -v t="$t" 'BEGIN { exit !(t ~ /^[0-9.]+$/ && t < 1) }' ||
	{ sw_dump; fail "a second connection to a was not closed at once ($out)"; }
grep -q "a: connection refused: 1 connections already" "$T/sw.log" ||
	{ sw_dump; fail "no log line for the refused connection to a"; }
vctl show | grep -q "^port a: .*state running" || { sw_dump; fail "port a stopped running"; }
wait "$PID_fea" && wait "$PID_feb" || { sw_dump; fail "a frontend failed"; }
pb=$(fe_total "$T/feb.log" from-peer) sa=$(fe_total "$T/fea.log" sent)
[ "${sa:-0}" -gt 0 ] && [ "${pb:-0}" -ge $((sa * 9 / 10)) ] ||
	{ sw_dump; fail "B got ${pb:-none} of A's ${sa:-none} frames"; }

# The limits on a port vhu-ctl added.
out=$(timeout 10 python3 "$T/peer.py" stall "$T/c") || fail "peer.py stall: $out"
note "port c: $(echo "$out" | tr '\n' ' ')"
r=$(echo "$out" | sed -n 's/^refused //p') s=$(echo "$out" | sed -n 's/^stalled //p')
awk -v t="$r" 'BEGIN { exit !(t ~ /^[0-9.]+$/ && t < 1) }' ||
	{ sw_dump; fail "a second connection to c was not closed at once ($r)"; }
awk -v t="$s" 'BEGIN { exit !(t ~ /^[0-9.]+$/ && t >= 0.4 && t <= 1.5) }' ||
	{ sw_dump; fail "the half header on c was not closed after ~0.5 s ($s s)"; }
grep -qE "header truncated \(6 of 12 bytes\) for (0\.[5-9]|1\.[0-4]) s; closing the connection" "$T/sw.log" ||
	{ sw_dump; fail "no log line for the stalled connection to c"; }
grep -q "c: connection refused: 1 connections already" "$T/sw.log" ||
	{ sw_dump; fail "no log line for the refused connection to c"; }
result "switch_limits: second connection closed in ${t} s (a) and ${r} s (c); half header closed after ${s} s at --io-timeout-ms 500; B got $pb of A's $sa"
