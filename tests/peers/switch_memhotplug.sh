#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Memory hotplug through vhost-user (CONFIGURE_MEM_SLOTS): a QEMU guest
# (-m 512M,slots=16,maxmem=8G) on a vhu-switch port pings a network
# namespace behind a tap port (169.254.21.1 -> .2) all along, while 12
# DIMMs of 128 MiB (memfd, share=on) are plugged over the monitor, more
# than the 8 regions SET_MEM_TABLE carries; the guest onlines them
# (memhp_default_state=online_movable, so that one can be unplugged
# again), and one is unplugged (device_del: the guest offlines and ejects
# it). Checks: the guest sees the memory come and go, the switch mapped
# each region (ADD_MEM_REG) and let the unplugged one go (REM_MEM_REG),
# and every ping of the loop came back.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
sw_need_taps
need_cmd socat
guest_prepare || skip "no guest kernel/initramfs (see above)"
sw_netns

DIMMS=12
sw_start --port vhost-user:vm0 --port "tap:t0,ifname=$TAPIF"
sw_tap_into_ns 169.254.21.2/16

# The ping loop runs until the plugging is over and a few seconds more.
GUEST_MEM=512M GUEST_MEM_OPTS=slots=16,maxmem=8G GUEST_TIMEOUT=90 \
	guest_boot g0 "$T/vm0" "" "" "memhp_default_state=online_movable vhu.mode=pingloop vhu.ip=169.254.21.1/16 vhu.peer=169.254.21.2 vhu.wait=30 vhu.interval=0.2 vhu.count=150 vhu.time=30 vhu.memreport=1 vhu.limit=75" ||
	fail "guest_boot"
wait_for 60 grep -q 'VHU-GUEST: pingloop start' "$T/g0.console" || { guest_dump g0; sw_dump; fail "the guest's ping loop did not start"; }
mem0=$(guest_marker g0 mem | sed -n 's/total=\([0-9]*\).*/\1/p')
note "guest memory before: ${mem0:-?} kB"

hmp() { # hmp CMD: runs it, fails the test on any answer but the prompt
	local out
	out=$(guest_monitor g0 "$1" | grep -v '^QEMU\|^(qemu)' | sed '/^$/d')
	[ -z "$out" ] || { guest_dump g0; sw_dump; fail "monitor: $1: $out"; }
}
# guest_mem_total: MemTotal (kB) in the guest's last report
guest_mem_total() { guest_marker g0 mem | sed -n 's/total=\([0-9]*\).*/\1/p'; }

t0=$(date +%s%N)
for i in $(seq 1 $DIMMS); do
	hmp "object_add memory-backend-memfd,id=m$i,size=128M,share=on"
	hmp "device_add pc-dimm,id=d$i,memdev=m$i"
done
plug_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
want=$(( mem0 + DIMMS * 131072 - 4096 ))
wait_for 20 sh -c "[ \"\$(tr -d '\r' <'$T/g0.console' | sed -n 's/^.*VHU-GUEST: mem total=\([0-9]*\).*/\1/p' | tail -1)\" -ge $want ]" ||
	{ guest_dump g0; sw_dump; fail "the guest did not online the DIMMs: $(guest_marker g0 mem), before ${mem0} kB"; }
mem1=$(guest_mem_total)
adds=$(grep -c 'region added' "$T/sw.log")
note "plugged $DIMMS DIMMs in $plug_ms ms; guest memory ${mem1} kB; switch: $adds regions added"

# Unplug one: the guest offlines it (ZONE_MOVABLE) and ACPI ejects it.
dimm_gone() { ! guest_monitor g0 "info memory-devices" | grep -q "\"d$1\""; }
guest_monitor g0 "info memory-devices" | grep -q "\"d$DIMMS\"" || fail "info memory-devices does not list d$DIMMS"
hmp "device_del d$DIMMS"
wait_for 20 dimm_gone $DIMMS ||
	{ guest_dump g0; sw_dump; fail "DIMM d$DIMMS still present after device_del (the guest did not offline it)"; }
hmp "object_del m$DIMMS"
wait_for 10 sh -c "[ \"\$(tr -d '\r' <'$T/g0.console' | sed -n 's/^.*VHU-GUEST: mem total=\([0-9]*\).*/\1/p' | tail -1)\" -le $(( mem1 - 131072 + 4096 )) ]" ||
	{ guest_dump g0; fail "the guest still reports ${mem1} kB after the unplug: $(guest_marker g0 mem)"; }
mem2=$(guest_mem_total)
wait_for 5 grep -q 'region removed' "$T/sw.log" || { sw_dump; fail "the switch saw no REM_MEM_REG"; }
grep 'region added\|region removed' "$T/sw.log" | tail -3

guest_wait g0 50 || { guest_dump g0; sw_dump; fail "guest did not finish"; }
got=$(guest_ping_count g0)
sent=$(guest_marker g0 "pingloop sent")
tr -d '\r' <"$T/g0.console" | grep 'VHU-GUEST: mem ' | sed -n '1p;$p'
vctl stats vm0
[ "$adds" -ge $DIMMS ] || { sw_dump 80; fail "the switch added $adds regions, want at least $DIMMS"; }
[ "$(grep -c 'ADD_MEM_REG\|REM_MEM_REG' "$T/sw.log")" = 0 ] || { sw_dump 80; fail "the switch refused a region message"; }
case $got in
"$sent/$sent") ;;
*) guest_dump g0; sw_dump; fail "ping loop ${got:-none}, want every one of ${sent:-?}" ;;
esac
[ "${sent:-0}" -ge 100 ] || fail "only ${sent:-0} pings sent"
result "switch_memhotplug $DIMMS DIMMs plugged in ${plug_ms} ms (guest ${mem0} -> ${mem1} kB), one unplugged (${mem2} kB), $adds ADD_MEM_REG, ping $got throughout"
echo PASS
