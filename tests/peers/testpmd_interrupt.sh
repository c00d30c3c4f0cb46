#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhu-fwd --interrupt against testpmd (virtio-user): traffic still flows
# when the forwarder sleeps on kicks (rx, tx, and the verified round
# trip), and an idle device costs (almost) no CPU: vhu-fwd's CPU time is
# sampled for 5 s while testpmd is connected but sends nothing. Then a
# ping-pong: testpmd io --tx-first bounces its first bursts off vhu-fwd
# macswap --interrupt, so vhu-fwd keeps falling asleep between bursts and
# must be woken by each kick; a missed kick would stall the loop until the
# 1 s safety timeout, which is counted ("timeouts": a timeout with work
# waiting; a timeout on a quiet device is an "idle-timeout").
# Every traffic case requires vhu-fwd's exit line with sleeps > 0,
# kick-wakes > 0 and timeouts 0 (irq_check: a polling fallback never
# sleeps, a timer sleeper is never woken by a kick), and bounds the loss on
# each leg by what the receiving rings held plus one burst (to_tp_bound,
# to_fwd_bound); the ping-pong circulates one burst, which no ring can
# overflow: what is missing on both legs plus what vhu-fwd dropped at the
# end (received = sent + dropped) is at most that burst. Payloads: verified
# byte by byte in the round trip, testpmd's frames header-checked.
# The idle case: slept, no timeout with work waiting, and no more idle
# timeouts than seconds it ran (each lasts the 1 s safety timeout; a
# short timer would make thousands).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/testpmd_common.inc"

# The issue's bound: under 2% of one CPU across 5 idle seconds.
IDLE_MAX_PCT=${IDLE_MAX_PCT:-2}
IDLE_SECS=${IDLE_SECS:-5}

# cpu_ticks PID: user+system clock ticks of the whole process.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

idle_case() {
	local name=idle ok=1
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --mode rxonly --interrupt
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	tp_bg tp $((TP_SECS + IDLE_SECS + 3)) "queues=1" rxonly
	if ! wait_for 10 grep -q "device up" "$T/fwd.log"; then
		show_logs "$T/tp.log" "$T/fwd.log"; fail "$name: no device came up"
	fi
	sleep 1
	local hz t0 t1 pct
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$PID_fwd"); sleep "$IDLE_SECS"; t1=$(cpu_ticks "$PID_fwd")
	# Hundredths of a percent, so "under 2%" is not rounded away.
	pct=$(( (t1 - t0) * 100 / (IDLE_SECS * hz) ))
	tp_wait tp
	fwd_stop fwd
	result "testpmd_interrupt $name vhu-fwd-cpu-pct $pct"
	[ "$pct" -lt "$IDLE_MAX_PCT" ] || { case_fail "$name: vhu-fwd used $pct% CPU while idle"; ok=0; }
	[ "$FWD_RC" = 0 ] || { case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0; }
	local line s t i
	line=$(grep "vhu-fwd: interrupt:" "$T/fwd.log" | tail -1)
	s=$(sed -n 's/.* sleeps \([0-9]*\).*/\1/p' <<<"$line")
	t=$(sed -n 's/.* timeouts \([0-9]*\).*/\1/p' <<<"$line")
	i=$(sed -n 's/.* idle-timeouts \([0-9]*\).*/\1/p' <<<"$line")
	result "testpmd_interrupt $name sleeps ${s:-?} timeouts ${t:-?} idle-timeouts ${i:-?}"
	if [ -z "$s" ] || [ -z "$t" ] || [ -z "$i" ]; then case_fail "$name: no interrupt line"; ok=0
	elif [ "$s" -eq 0 ] || [ "$t" -ne 0 ] || [ "$i" -gt $((TP_SECS + IDLE_SECS + 5)) ]; then
		case_fail "$name: sleeps $s timeouts $t idle-timeouts $i"; ok=0
	fi
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
}

traffic_case() { # traffic_case NAME TP-MODE FWD-MODE
	local name=$1 tpmode=$2 fwdmode=$3 ok=1
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --mode "$fwdmode" --interrupt --verify
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	tp_run "$T/tp.log" "$TP_SECS" "queues=1" "$tpmode" --port-topology=loop
	sleep 0.5
	fwd_stop fwd
	local tprx tptx rx tx bad
	tprx=$(tp_total "$T/tp.log" RX); tptx=$(tp_total "$T/tp.log" TX)
	rx=$(fwd_total "$T/fwd.log" rx-pkts); tx=$(fwd_total "$T/fwd.log" tx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad)
	result "testpmd_interrupt $name testpmd-rx ${tprx:-?} testpmd-tx ${tptx:-?} vhu-rx ${rx:-?} vhu-tx ${tx:-?} bad ${bad:-?}"
	if [ -z "$tprx" ] || [ -z "$rx" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	else
		case $name in
		rx) [ "$rx" -gt 0 ] || { case_fail "$name: vhu-fwd got nothing"; ok=0; }
			loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$(to_fwd_bound 1 "$TP_RING")" || ok=0
			verify_check "$name" "$T/fwd.log" peer || ok=0 ;;
		tx) [ "$tprx" -gt 0 ] || { case_fail "$name: testpmd got nothing"; ok=0; }
			loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$(to_tp_bound 1 "$TP_RING")" || ok=0 ;;
		loop) [ "$rx" -gt 0 ] || { case_fail "$name: nothing came back"; ok=0; }
			loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$(to_tp_bound 1 "$TP_RING")" || ok=0
			loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$(to_fwd_bound 1 "$TP_RING")" || ok=0
			verify_check "$name" "$T/fwd.log" own || ok=0 ;;
		esac
	fi
	irq_check "$name" "$T/fwd.log" || ok=0
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
	cp "$T/fwd.log" "$T/fwd-$name.log"; cp "$T/tp.log" "$T/tp-$name.log"
}

pingpong_case() {
	local name=pingpong ok=1
	note "case $name"
	rm -f "$SOCK"
	fwd_start fwd --socket "$SOCK" --mode macswap --interrupt --verify
	wait_for 5 test -S "$SOCK" || { show_logs "$T/fwd.log"; fail "vhu-fwd did not create $SOCK"; }
	tp_run "$T/tp.log" "$TP_SECS" "queues=1" io --port-topology=loop --tx-first
	sleep 0.5
	fwd_stop fwd
	local rx tx bad drops tprx tptx circ=$TP_BURST
	rx=$(fwd_total "$T/fwd.log" rx-pkts); tx=$(fwd_total "$T/fwd.log" tx-pkts)
	bad=$(fwd_total "$T/fwd.log" bad); drops=$(fwd_total "$T/fwd.log" drops)
	tprx=$(tp_total "$T/tp.log" RX); tptx=$(tp_total "$T/tp.log" TX)
	result "testpmd_interrupt $name testpmd-rx ${tprx:-?} testpmd-tx ${tptx:-?} vhu-rx ${rx:-?} vhu-tx ${tx:-?} drops ${drops:-?} bad ${bad:-?}"
	if [ -z "$rx" ] || [ -z "$tprx" ]; then case_fail "$name: no counts"; ok=0
	elif [ "$bad" != 0 ]; then case_fail "$name: $bad bad packets"; ok=0
	elif [ "$FWD_RC" != 0 ]; then case_fail "$name: vhu-fwd exited $FWD_RC"; ok=0
	elif [ "$rx" -eq 0 ]; then case_fail "$name: nothing bounced"; ok=0
	elif [ "$rx" != $((tx + drops)) ] || [ $((tptx - rx + drops + tx - tprx)) -gt "$circ" ]; then
		case_fail "$name: $rx received, $tx sent, $drops dropped, testpmd $tptx/$tprx, $circ circulating"; ok=0
	else
		loss_check "$name" testpmd-to-vhu "$tptx" "$rx" "$circ" || ok=0
		loss_check "$name" vhu-to-testpmd "$tx" "$tprx" "$circ" || ok=0
		verify_check "$name" "$T/fwd.log" peer || ok=0
	fi
	irq_check "$name" "$T/fwd.log" || ok=0
	[ $ok = 1 ] || show_logs "$T/tp.log" "$T/fwd.log"
}

idle_case
pingpong_case
traffic_case rx txonly rxonly
traffic_case tx rxonly txonly
traffic_case loop macswap txonly
finish
