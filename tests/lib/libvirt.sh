# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# libvirt for peer tests: a libvirtd of the test's own and TCG domains of
# guest.sh's kernel and initramfs on it. Source after common.sh and guest.sh.
#
#   virt_start               installs libvirt when missing, starts the daemon,
#                            sets VIRSH (an array: virsh and its URI); skips
#                            when libvirt cannot run here
#   virt_domain_xml NAME KARGS IFACE_XML [PROPS]   a domain (below) on stdout
#   virt_define NAME FILE    defines it; destroyed and undefined by virt_stop
#   virt_stop                every domain destroyed and undefined, the daemon
#                            stopped; call it from the test's EXIT trap before
#                            cleanup
#
# The daemon: libvirtd in a mount namespace of its own, where /run,
# /etc/libvirt, /var/lib/libvirt and /var/log/libvirt are folders under
# $VIRT_DIR ($T/libvirt) and /var/cache/libvirt (QEMU's probed capabilities,
# 5 s to make) is $VHU_CACHE/libvirt. Its configuration, sockets, state and
# logs stay in the test's folder: nothing of the host's libvirt is used or
# changed, whether a service manager runs one or not. virsh reaches it by
# its socket (qemu:///system?socket=...). QEMU runs as Debian's libvirt
# user (VIRT_USER, libvirt-qemu), as it does for operators, and opens what
# the test gives that user: sockets in $VIRT_RUN ($T/vm), a folder of its
# group with the setgid bit, so that what is created in it (the switch's
# sockets too) has that group; a console file of that group; the kernel
# and initramfs where they are, or copies in $VIRT_RUN when it cannot
# read them there.
#
# A domain: the console on ttyS0 into $T/NAME.console (what guest_marker
# reads), QEMU's log linked at $T/NAME.log (guest_dump), memfd shared
# memory as vhost-user needs, -cpu max, a reboot ends it (-no-reboot).
# IFACE_XML is the <interface> elements; give each an alias ua-netN and
# virt_domain_xml sets vectors=0 on it (QEMU 7.2 under TCG crashes with
# vhost-user and MSI-X), plus each ALIAS:PROP=NUMBER of PROPS (QEMU
# virtio-net-pci properties, e.g. ua-net0:host_mtu=9000), through
# <qemu:override>.

VIRT_DIR=$T/libvirt
VIRT_RUN=$T/vm
VIRT_USER=${VIRT_USER:-libvirt-qemu}
_virt_domains=()

_virt_conf() {
	cat >"$VIRT_DIR/etc/libvirtd.conf" <<-EOF
	unix_sock_rw_perms = "0700"
	unix_sock_ro_perms = "0700"
	auth_unix_rw = "none"
	auth_unix_ro = "none"
	log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	EOF
	# No cgroups, no /dev namespace of QEMU's own (containers, CI), QEMU's
	# output to a file (no virtlogd), and no relabelling: the test gives
	# QEMU's user what it needs to open, in $VIRT_RUN.
	cat >"$VIRT_DIR/etc/qemu.conf" <<-EOF
	user = "$VIRT_USER"
	group = "$VIRT_USER"
	dynamic_ownership = 0
	remember_owner = 0
	security_driver = "none"
	cgroup_controllers = [ ]
	namespaces = [ ]
	stdio_handler = "file"
	EOF
	cat >"$VIRT_DIR/ns.sh" <<-EOF
	set -e
	mount -t tmpfs -o mode=755 vhu-run /run
	mkdir -p /run/libvirt
	mount --bind '$VIRT_DIR/run' /run/libvirt
	mount --bind '$VIRT_DIR/etc' /etc/libvirt
	mount --bind '$VIRT_DIR/lib' /var/lib/libvirt
	mount --bind '$VIRT_DIR/log' /var/log/libvirt
	mount --bind '$VHU_CACHE/libvirt' /var/cache/libvirt
	exec libvirtd
	EOF
}

virt_start() {
	[ "$(id -u)" = 0 ] || skip "libvirt's system daemon needs root"
	if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
		"$VHU_ROOT/scripts/ensure-deps.sh" libvirt || skip "cannot install libvirt (scripts/ensure-deps.sh libvirt)"
	fi
	need_cmd unshare
	id "$VIRT_USER" >/dev/null 2>&1 || skip "no user $VIRT_USER (Debian's libvirt-daemon-system makes it)"
	unshare -m --propagation private true 2>/dev/null ||
		skip "cannot make a mount namespace for a private libvirtd (unshare -m)"
	local d
	for d in /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
		[ -d "$d" ] || skip "no $d to mount the test's own over (libvirt-daemon-system not installed?)"
	done
	chmod 711 "$T"
	mkdir -p "$VIRT_DIR"/{etc,run,lib,log} "$VHU_CACHE/libvirt"
	install -d -m 2770 -g "$VIRT_USER" "$VIRT_RUN"
	_virt_conf
	bg libvirtd unshare -m --propagation private sh "$VIRT_DIR/ns.sh"
	VIRSH=(virsh -q -c "qemu:///system?socket=$VIRT_DIR/run/libvirt-sock")
	if ! wait_for 20 test -S "$VIRT_DIR/run/libvirt-sock" ||
	   ! timeout 60 "${VIRSH[@]}" version >"$T/virsh-version.txt" 2>&1; then
		tail -5 "$T/libvirtd.log" "$T/virsh-version.txt" "$VIRT_DIR/log/libvirtd.log" 2>/dev/null
		fail "libvirtd did not come up (see above)"
	fi
	note "libvirt: $(tr '\n' ' ' <"$T/virsh-version.txt")"
}

# _virt_readable FILE: FILE, or a copy in $VIRT_RUN when QEMU's user
# cannot read it where it is (a home folder, say).
_virt_readable() {
	if runuser -u "$VIRT_USER" -- test -r "$1"; then echo "$1"; return; fi
	cp "$1" "$VIRT_RUN/" && echo "$VIRT_RUN/$(basename "$1")"
}

virt_domain_xml() {
	local name=$1 kargs=$2 ifaces=$3 props=${4:-} k i a p ov=
	k=$(_virt_readable "$VHU_GUEST_KERNEL") && i=$(_virt_readable "$VHU_GUEST_INITRD") || return 1
	for a in $(printf '%s\n' "$ifaces" | sed -n "s/.*<alias name='\(ua-[a-z0-9-]*\)'.*/\1/p"); do
		ov+="<qemu:device alias='$a'><qemu:frontend>"
		for p in vectors=0 $props; do
			case $p in "$a":*) p=${p#"$a":} ;; *:*) continue ;; esac
			ov+="<qemu:property name='${p%%=*}' type='unsigned' value='${p#*=}'/>"
		done
		ov+="</qemu:frontend></qemu:device>"
	done
	cat <<-EOF
	<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
	  <name>$name</name>
	  <memory unit='MiB'>256</memory>
	  <vcpu>1</vcpu>
	  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
	  <os>
	    <type arch='x86_64' machine='q35'>hvm</type>
	    <kernel>$k</kernel>
	    <initrd>$i</initrd>
	    <cmdline>$VHU_GUEST_APPEND $kargs</cmdline>
	  </os>
	  <features><acpi/></features>
	  <cpu mode='maximum'/>
	  <on_poweroff>destroy</on_poweroff>
	  <on_reboot>destroy</on_reboot>
	  <on_crash>destroy</on_crash>
	  <devices>
	    <emulator>$(command -v qemu-system-x86_64)</emulator>
	$ifaces
	    <serial type='file'><source path='$T/$name.console' append='off'/><target port='0'/></serial>
	    <controller type='usb' model='none'/>
	    <memballoon model='none'/>
	  </devices>
	  <qemu:override>$ov</qemu:override>
	</domain>
	EOF
}

virt_define() {
	local name=$1 xml=$2
	# QEMU writes the console as its user.
	install -m 660 -g "$VIRT_USER" /dev/null "$T/$name.console"
	ln -sf "$VIRT_DIR/log/qemu/$name.log" "$T/$name.log"
	"${VIRSH[@]}" define "$xml" >"$T/virsh-define.txt" 2>&1 || { cat "$T/virsh-define.txt" "$xml"; fail "virsh define $name"; }
	_virt_domains+=("$name")
}

virt_stop() {
	local n p f
	for n in "${_virt_domains[@]}"; do
		timeout 20 "${VIRSH[@]}" destroy "$n" >/dev/null 2>&1
		timeout 20 "${VIRSH[@]}" undefine "$n" >/dev/null 2>&1
	done
	[ -n "${PID_libvirtd:-}" ] || return 0
	# A QEMU outlives its libvirtd: those the daemon could not stop, by
	# their pid files (and only when the pid is a QEMU).
	for f in "$VIRT_DIR"/run/qemu/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
		*qemu-system*) builtin kill -9 "$p" 2>/dev/null ;;
		esac
	done
	builtin kill "$PID_libvirtd" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $PID_libvirtd" || builtin kill -9 "$PID_libvirtd" 2>/dev/null
}
