#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A libvirt domain on vhu-switch, as docs/libvirt.md describes it. A
# libvirtd of the test's own (tests/lib/libvirt.sh) runs a TCG domain of
# the test kernel with two vhostuser interfaces: eth0 on the switch's
# server port vm0 (libvirt mode='client' with reconnect, host_mtu 9000), eth1 on
# the switch's client port vm1 (libvirt mode='server'). QEMU runs as
# libvirt-qemu and reaches the switch's sockets through the fallback the
# doc gives: a setgid socket folder of QEMU's group. The guest pings a
# network namespace behind the switch's tap port from each NIC
# (169.254.40.2 on eth0's subnet, 169.254.41.2 on eth1's). Then virsh
# destroy: both ports go down; virsh start: both come back (running in
# vhu-ctl show, "device up" again in the log) and the pings work again.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/guest.sh"
. "$(dirname "$0")/switch_common.inc"
. "$(dirname "$0")/../lib/libvirt.sh"
sw_need_taps
guest_prepare || skip "no guest kernel/initramfs (see above)"

NS=vhulv-$$-$RANDOM
TAPIF=vhulv$$
TAPIF=${TAPIF:0:15}
DOM=vhu-lv-$$
P0=169.254.40.2 P1=169.254.41.2
on_exit() { local rc=$?; virt_stop; ip netns del "$NS" 2>/dev/null; (exit $rc); cleanup; }
trap on_exit EXIT
virt_start
ip netns add "$NS" || skip "cannot create a network namespace"

# The sockets get the group of the folder they are made in ($VIRT_RUN).
sw_start --socket-dir "$VIRT_RUN" --port vhost-user:vm0 --port "tap:t0,ifname=$TAPIF"
vctl add-port "vhost-user:vm1,path=$VIRT_RUN/q1,client" >/dev/null || { sw_dump; fail "add-port vm1"; }
ip link set "$TAPIF" netns "$NS" || { sw_dump; fail "cannot move $TAPIF into $NS"; }
ip -n "$NS" addr add $P0/24 dev "$TAPIF"
ip -n "$NS" addr add $P1/24 dev "$TAPIF"
ip -n "$NS" link set "$TAPIF" up
note "vm0 socket: $(stat -c '%A %U:%G' "$VIRT_RUN/vm0")"

M0=$(guest_mac lv 0) M1=$(guest_mac lv 1)
IFACES="    <interface type='vhostuser'>
      <mac address='$M0'/>
      <source type='unix' path='$VIRT_RUN/vm0' mode='client'>
        <reconnect enabled='yes' timeout='1'/>
      </source>
      <model type='virtio'/>
      <rom enabled='no'/>
      <alias name='ua-net0'/>
    </interface>
    <interface type='vhostuser'>
      <mac address='$M1'/>
      <source type='unix' path='$VIRT_RUN/q1' mode='server'/>
      <model type='virtio'/>
      <rom enabled='no'/>
      <alias name='ua-net1'/>
    </interface>"
KARGS="vhu.mode=pingloop vhu.ip=169.254.40.1/24 vhu.ip1=169.254.41.1/24 vhu.peer=$P0 vhu.peer1=$P1 vhu.wait=30 vhu.interval=0.2 vhu.time=60"
# libvirt's <mtu> on a vhostuser interface wants an Open vSwitch port of
# that name (docs/libvirt.md): QEMU's host_mtu directly instead.
virt_domain_xml "$DOM" "$KARGS" "$IFACES" ua-net0:host_mtu=9000 >"$T/dom.xml" || fail "domain XML"
virt_define "$DOM" "$T/dom.xml"

replies() { tr -d '\r' <"$T/$DOM.console" | grep -c "bytes from $1:"; }
both_reply() { [ "$(replies $P0)" -ge 3 ] && [ "$(replies $P1)" -ge 3 ]; }
both_running() { sw_wait_running vm0 0 && sw_wait_running vm1 0; }
none_running() { ! vctl show | grep -q '^port vm[01]: .*state running'; }

round() { # round N: start the domain, both NICs get replies
	local n=$1 t0 secs
	cp "$T/$DOM.console" "$T/$DOM.console.$((n - 1))"
	: >"$T/$DOM.console"
	t0=$(date +%s%N)
	timeout 60 "${VIRSH[@]}" start "$DOM" >"$T/virsh-start.txt" 2>&1 ||
		{ cat "$T/virsh-start.txt"; guest_dump "$DOM"; sw_dump; fail "round $n: virsh start"; }
	if ! wait_for 90 both_reply; then
		guest_dump "$DOM"; sw_dump; vctl show
		fail "round $n: replies $(replies $P0) from $P0 (eth0), $(replies $P1) from $P1 (eth1), want 3 each"
	fi
	secs=$(awk "BEGIN{printf \"%.1f\", ($(date +%s%N) - $t0) / 1e9}")
	wait_for 5 both_running || { vctl show; fail "round $n: vm0 and vm1 not both running"; }
	vctl show | grep '^port vm'
	result "switch_libvirt round $n: virsh start to 3 replies on eth0 (server port) and eth1 (client port) in $secs s"
}

round 1
eth0=$(guest_marker "$DOM" eth0)
case $eth0 in *" mtu=9000 "*) ;; *) guest_dump "$DOM"; fail "eth0 is not at host_mtu 9000: $eth0" ;; esac
timeout 30 "${VIRSH[@]}" destroy "$DOM" >/dev/null || fail "virsh destroy"
wait_for 10 none_running || { vctl show; sw_dump; fail "vm0/vm1 still running after virsh destroy"; }
note "destroyed: $(vctl show | grep '^port vm' | tr '\n' ' ')"
round 2

vctl fdb | tee "$T/fdb.txt"
grep -qi "^vm0 .*$M0" "$T/fdb.txt" || fail "fdb lacks eth0's $M0 on vm0"
grep -qi "^vm1 .*$M1" "$T/fdb.txt" || fail "fdb lacks eth1's $M1 on vm1"
for p in vm0 vm1; do
	n=$(grep -c "port $p: device up" "$T/sw.log")
	[ "$n" = 2 ] || { sw_dump; fail "$p came up $n times, want 2"; }
done
result "switch_libvirt eth0 $eth0"
echo PASS
