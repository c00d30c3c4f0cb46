#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Guest memory mapped on demand (the default) against faulted in at connect
# (vhu-switch --populate-mem): the switch's RSS and how long a frontend's
# device takes to come up, for
#   qemu  one idle QEMU guest (TCG) of GUEST_GB GiB (4);
#   fe    FES in-tree frontends (8), vhu-fe --mem-size FE_GB GiB each (4;
#         FE_GB_POP for the populated row, 1 by default: 8 x 4 GiB would
#         not fit this machine's RAM), all connecting at once: a stand-in
#         for eight VMs, which TCG guests on two CPUs would make a test of
#         the emulator.
# Times come from the switch's log (libvhu's lines carry the epoch in ms):
# connect = "new connection" to "device ready"; start = SET_FEATURES (which
# QEMU sends right before the memory table, at driver start) to "device
# ready": the part where mapping happens. For the frontends, the span from
# the first connection to the last device ready. RSS (VmRSS, of which
# RssShmem is guest memory) once every device is up.
# Usage (shared machine: one at a time):
#   flock /tmp/vhu-peer.lock bench/mem_connect.sh [qemu] [fe]
# SW_BUILD=DIR takes vhu-switch from another build (e.g. of an older
# commit, which maps with MAP_POPULATE): its row says "build DIR"; the
# frontends stay this tree's vhu-fe.
# Prints one CSV row per case:
#   case,switch,guests,gib_each,connect_ms,start_ms,rss_mib,rss_shmem_mib
. "$(dirname "$0")/../tests/lib/common.sh"
. "$(dirname "$0")/../tests/lib/guest.sh"
. "$(dirname "$0")/../tests/peers/switch_common.inc"
GUEST_GB=${GUEST_GB:-4} FES=${FES:-8} FE_GB=${FE_GB:-4} FE_GB_POP=${FE_GB_POP:-1}
cases=${*:-qemu fe}
if [ -n "${SW_BUILD:-}" ]; then
	VHU_SWITCH=$SW_BUILD/switch/vhu-switch/vhu-switch VHU_CTL=$SW_BUILD/switch/vhu-ctl/vhu-ctl
	[ -x "$VHU_SWITCH" ] || fail "no $VHU_SWITCH"
fi
# sw_variant POPULATE: what the rows call this switch
sw_variant() {
	if [ -n "${SW_BUILD:-}" ]; then echo "build $SW_BUILD"
	elif [ "$1" = 1 ]; then echo "--populate-mem"
	else echo "on demand"; fi
}

ms_of() { sed -n "s/^\([0-9]*\)\.\([0-9]\{3\}\) vhu INFO: .*$1.*/\1\2/p" "$T/sw.log"; }
rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$PID_sw/status"; }
sw_stop() { kill -INT "$PID_sw" 2>/dev/null; wait "$PID_sw" 2>/dev/null; rm -f "$CTL"; }

run_qemu() { # run_qemu POPULATE(0|1)
	local pop=$1 c s r
	sw_start --port vhost-user:vm0 $([ "$pop" = 1 ] && echo --populate-mem)
	GUEST_MEM=${GUEST_GB}G GUEST_TIMEOUT=90 guest_boot g0 "$T/vm0" "" "" "vhu.mode=serve vhu.ip=169.254.22.1/16 vhu.time=20" || fail "guest_boot"
	sw_wait_running vm0 60 || { guest_dump g0; sw_dump; fail "qemu: the device did not come up"; }
	sleep 1
	c=$(( $(ms_of 'device ready' | head -1) - $(ms_of 'new connection' | head -1) ))
	s=$(( $(ms_of 'device ready' | head -1) - $(ms_of 'header [0-9]* bytes' | tail -1) ))
	r="$(rss VmRSS),$(rss RssShmem)"
	echo "qemu,$(sw_variant "$pop"),1,$GUEST_GB,$c,$s,$r"
	kill "$PID_g0" 2>/dev/null; wait "$PID_g0" 2>/dev/null
	sw_stop
	mv "$T/sw.log" "$T/sw-qemu-$pop.log"
}

run_fe() { # run_fe POPULATE(0|1) GIB
	local pop=$1 gb=$2 i ports=() first last
	for ((i = 0; i < FES; i++)); do ports+=(--port "vhost-user:p$i"); done
	sw_start "${ports[@]}" $([ "$pop" = 1 ] && echo --populate-mem)
	for ((i = 0; i < FES; i++)); do
		bg "fe$i" "$VHU_FE" --socket "$T/p$i" --mac "02:00:00:00:22:0$i" --dst-mac 02:00:00:00:22:ff \
			--duration 0 --linger 30 --mem-size $((gb * 1024))
	done
	for ((i = 0; i < FES; i++)); do
		sw_wait_running "p$i" 60 || { sw_dump; fail "fe: port p$i did not come up"; }
	done
	sleep 1
	first=$(ms_of 'new connection' | sort -n | head -1)
	last=$(ms_of 'device ready' | sort -n | tail -1)
	echo "fe,$(sw_variant "$pop"),$FES,$gb,$((last - first)),,$(rss VmRSS),$(rss RssShmem)"
	for ((i = 0; i < FES; i++)); do eval "kill -INT \$PID_fe$i"; done
	for ((i = 0; i < FES; i++)); do eval "wait \$PID_fe$i"; done
	sw_stop
	mv "$T/sw.log" "$T/sw-fe-$pop.log"
}

echo "case,switch,guests,gib_each,connect_ms,start_ms,rss_mib,rss_shmem_mib"
for c in $cases; do
	case $c in
	qemu)
		guest_prepare || skip "no guest kernel/initramfs"
		run_qemu 0
		[ -n "${SW_BUILD:-}" ] || run_qemu 1 ;;
	fe)
		# Another build may populate whatever it is asked: FE_GB_POP.
		[ -n "${SW_BUILD:-}" ] || run_fe 0 "$FE_GB"
		[ -n "${SW_BUILD:-}" ] || run_fe 1 "$FE_GB_POP"
		[ "$FE_GB_POP" = "$FE_GB" ] && [ -z "${SW_BUILD:-}" ] || run_fe 0 "$FE_GB_POP" ;;
	*) fail "unknown case $c" ;;
	esac
done
