# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Real Linux guests under QEMU (TCG) for peer tests. Source after common.sh.
#
#   guest_prepare             kernel + busybox initramfs, cached in $VHU_CACHE/guest
#   guest_boot NAME SOCKS NETDEV_EXTRA DEVICE_EXTRA KERNEL_ARGS
#   guest_wait NAME TIMEOUT_S     wait for "VHU-GUEST: done" (or QEMU's exit)
#   guest_ping_count NAME         prints "R/N" from the last "VHU-GUEST: ping R/N"
#   guest_marker NAME KEY         prints the rest of the last "VHU-GUEST: KEY ..." line
#   guest_monitor NAME CMD        one HMP command on the guest's monitor socket
#   guest_migrate NAME PORT       live migration to a QEMU on -incoming (below)
#   guest_dump NAME               console and QEMU log tails (for failures)
#   guest_iommu               next guests behind an emulated intel-iommu (NIC: $GUEST_IOMMU_DEV)
#   echo_backend_start SOCK QUEUES   vhu-fwd --mode icmpecho (or DPDK testpmd
#                             net_vhost with VHU_PEER_BACKEND=dpdk), waits for SOCK
#
# NAME must be a shell identifier (bg() sets PID_NAME). Files: $T/NAME.console
# (guest serial console), $T/NAME.log (QEMU's own output), $T/NAME.mon (HMP).
#
# SOCKS is one vhost-user socket path per NIC, space separated (eth0, eth1...).
# A path may carry chardev options after a comma: "$T/s0,server=on,wait=off"
# (QEMU is the server, the backend connects) or "$T/s0,reconnect=1".
# Note: QEMU's vhost-user netdev blocks QEMU's start-up (monitor included)
# until the backend is connected, even with server=on,wait=off.
# NETDEV_EXTRA goes on every -netdev (e.g. "queues=2"), DEVICE_EXTRA on every
# virtio-net-pci (e.g. "mq=on", "mrg_rxbuf=off", "packed=on", "event_idx=off").
# Both without a leading comma. KERNEL_ARGS is the guest's program, e.g.
#   "vhu.mode=ping vhu.ip=169.254.0.2/16 vhu.peer=169.254.0.1 vhu.count=5"
#
# Environment knobs for guest_boot: GUEST_SMP (1), GUEST_MEM (256M),
# GUEST_MEM_OPTS (after -m's size, e.g. "slots=16,maxmem=8G" for hotplug),
# GUEST_TIMEOUT (hard limit for the QEMU process, 120 s), GUEST_MAC_BASE
# (default derived from NAME; NIC i gets ...:0i), GUEST_QEMU_EXTRA (appended
# to QEMU's arguments, e.g. "-incoming tcp:127.0.0.1:4444"), GUEST_QEMU_PRE
# (before the NICs: devices they depend on, e.g. an IOMMU).
#
# Guest program (kernel command line, all optional):
#   vhu.mode=ping|pingloop|serve|tcp|info   (default info: configure, report, stop)
#   vhu.ip=ADDR/LEN  vhu.ip1=ADDR/LEN    addresses of eth0 / eth1 (link-local only)
#   vhu.ipb=ADDR/LEN a second address on eth0
#   vhu.vlan=VID vhu.vip=ADDR/LEN    802.1Q interface eth0.VID (1..4094) with
#                    that address, up; vhu.vlan1=VID vhu.vip1=ADDR/LEN a second
#                    one. Pings go out of whichever interface has the peer's
#                    subnet.
#   vhu.peer=ADDR    address to ping (IPv4, or IPv6 link-local: ping6 on eth0)
#   vhu.peer1=ADDR vhu.peer2=ADDR   ping: after vhu.peer's pings, the same
#                    pings to each of these in turn ("ping1 R/N", "ping2 R/N");
#                    pingloop: see below
#   vhu.wait1=S vhu.wait2=S   their warmups (default vhu.wait; 0 for an
#                    address that must not answer)
#   vhu.count=N      pings (ping: 5; pingloop: 600)
#   vhu.interval=S   seconds between pings (ping: 0.2, pingloop: 0.1)
#   vhu.size=B       ICMP payload bytes (56)      vhu.mtu=M   MTU of eth0/eth1
#   vhu.wait=S       before counting, ping once a second until a first reply,
#                    at most S s (default 0: count from the very first ping)
#   vhu.percpu=1     ping mode: run the N pings once pinned to each online CPU
#                    (with multiqueue, XPS maps each CPU to its own TX queue)
#   vhu.time=S       serve: stay up S s (30); pingloop: ping deadline (60)
#   vhu.limit=S      watchdog: power off after S s whatever happens (150)
#   vhu.linger=S     stay up S s after the mode's last marker ("lingering"),
#                    NIC up, for the host to look at the device in use
#   vhu.peer1=ADDR   pingloop: also ping this IPv4 address (on eth1's subnet)
#                    at the same time; its summary is "ping1 R/N"
#   vhu.role=R       tcp: send (a file of vhu.size random bytes, 2 MiB, to
#                    vhu.peer:vhu.port with nc, retrying the connect for up to
#                    vhu.time s, 60), recv (listen on vhu.port, 5001, for one
#                    file, at most vhu.time s) or both at once
#   vhu.memck=KB     at boot write KB KiB of random data to /tmp/memck (RAM
#                    disk) and print its md5sum ("memck start SUM"); print it
#                    again when the mode ends ("memck end SUM"). A guest that
#                    was live-migrated prints the end on the destination's
#                    console: same SUM = its memory came across intact.
#   vhu.memreport=S  every S s: "mem total=KB online=N", MemTotal and the
#                    memory blocks online (memory hotplug tests)
# Markers on the console (one per line, "VHU-GUEST: "):
#   modules N/M, eth0 mac=.. mtu=.. rxq=N txq=N features=BITS, cpus N,
#   eth0.VID mac=.. mtu=.. up, warmup ok|failed, ping cpuC R/N, ping R/N,
#   ping1 R/N, ping2 R/N, ready, memck
#   start|end SUM, tcp file size=N md5=SUM, tcp listening port=P, tcp sent
#   secs=S tries=N, tcp recv size=N md5=SUM, reply lines (pingloop shows
#   busybox ping's own "64 bytes from ...: seq=K" lines), error ..., done
# "features" is the virtio feature bit string the driver negotiated (bit 0
# first): bit 15 MRG_RXBUF, 17 CTRL_VQ, 22 MQ, 29 EVENT_IDX, 34 RING_PACKED.

VHU_GUEST_DIR=$VHU_CACHE/guest
# Loaded in this order: each after the ones it depends on (modinfo -F depends).
VHU_GUEST_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net llc stp garp mrp 8021q"
# The kernel command line before the guest's program (vhu.*), for QEMU
# here and for libvirt domains (tests/lib/libvirt.sh).
# clocksource=hpet: the guest keeps time off the emulated HPET (QEMU's
# clock), not a TSC the guest calibrated at boot. Under TCG on a busy
# host that calibration once came out far off: a serving guest counted
# 150 s of uptime in a test case that ran about 33 s, its 45 s stay
# ended early and it powered off under the test; tsc=reliable had also
# switched off the watchdog that would have caught it.
VHU_GUEST_APPEND="console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off clocksource=hpet"

_guest_init() {
cat <<'INIT'
#!/bin/sh
PATH=/bin:/sbin; export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
dmesg -n 1 2>/dev/null
echo
M() { echo "VHU-GUEST: $*"; }
fin() { M "done"; sync; poweroff -f; sleep 5; }
for a in $(cat /proc/cmdline); do
	case $a in vhu.*=*) ;; *) continue ;; esac
	k=${a%%=*}; k=${k#vhu.}; v=${a#*=}
	case $k in ''|*[!a-z0-9_]*) continue ;; esac
	case $v in *[!A-Za-z0-9_.:/%-]*) M "error bad value for $k"; continue ;; esac
	eval "P_$k=\$v"
done
mode=${P_mode:-info}
(sleep "${P_limit:-150}"; M "error watchdog after ${P_limit:-150} s"; M "done"; poweroff -f) &

n=0 ok=0
for m in $(cat /etc/vhu-modules); do
	n=$((n+1))
	if insmod "/lib/modules/$m.ko" 2>/tmp/insmod.err; then ok=$((ok+1))
	else M "error insmod $m: $(cat /tmp/insmod.err)"; fi
done
M "modules $ok/$n"

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -e /sys/class/net/eth0 ] || { M "error no eth0"; fin; }
M "cpus $(grep -c ^processor /proc/cpuinfo) clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
ip link set lo up
setup() { # setup IF ADDR
	[ -e /sys/class/net/$1 ] || { [ -n "$2" ] && M "error no $1"; return; }
	[ -n "${P_mtu:-}" ] && ip link set "$1" mtu "$P_mtu"
	ip link set "$1" up
	[ -n "$2" ] && ip addr add "$2" dev "$1"
	d=/sys/class/net/$1
	f=$(cat $d/device/features 2>/dev/null)
	M "$1 mac=$(cat $d/address) mtu=$(cat $d/mtu) rxq=$(ls -d $d/queues/rx-* | wc -l) txq=$(ls -d $d/queues/tx-* | wc -l) features=$f"
}
setup eth0 "${P_ip:-}"
setup eth1 "${P_ip1:-}"
if [ -n "${P_ipb:-}" ]; then
	ip addr add "$P_ipb" dev eth0 2>/tmp/ip.err || M "error vhu.ipb $P_ipb: $(cat /tmp/ip.err)"
fi
vlan() { # vlan VID ADDR: eth0.VID
	case $1 in ''|*[!0-9]*) M "error bad VLAN id '$1'"; return ;; esac
	v=eth0.$1
	# busybox vconfig when its ip cannot make VLAN links
	ip link add link eth0 name "$v" type vlan id "$1" 2>/tmp/vlan.err ||
		vconfig add eth0 "$1" >>/tmp/vlan.err 2>&1
	[ -e /sys/class/net/$v ] || { M "error cannot create $v: $(tr '\n' ' ' </tmp/vlan.err)"; return; }
	ip link set "$v" up 2>/tmp/ip.err || { M "error $v up: $(cat /tmp/ip.err)"; return; }
	[ -n "$2" ] && { ip addr add "$2" dev "$v" 2>/tmp/ip.err || M "error $v address $2: $(cat /tmp/ip.err)"; }
	M "$v mac=$(cat /sys/class/net/$v/address) mtu=$(cat /sys/class/net/$v/mtu) up"
}
[ -n "${P_vlan:-}" ] && vlan "$P_vlan" "${P_vip:-}"
[ -n "${P_vlan1:-}" ] && vlan "$P_vlan1" "${P_vip1:-}"

if [ -n "${P_memreport:-}" ]; then
	( while :; do
		M "mem total=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) online=$(cat /sys/devices/system/memory/memory*/state 2>/dev/null | grep -c '^online')"
		sleep "$P_memreport"
	done ) &
fi
if [ -n "${P_memck:-}" ]; then
	head -c $((P_memck * 1024)) /dev/urandom >/tmp/memck
	M "memck start $(md5sum </tmp/memck | cut -d' ' -f1) size=$(wc -c </tmp/memck)"
fi

target() { # target ADDR: what ping, pingn and warmup aim at
	peer=$1 PING=ping PIF=
	case $peer in *:*) PING=ping6; PIF="-I eth0" ;; esac
}
target "${P_peer:-}"

warmup() { # warmup [S]: S defaults to vhu.wait
	w=${1:-${P_wait:-0}}; [ "$w" -gt 0 ] || return 0
	t0=$(date +%s)
	while [ $(( $(date +%s) - t0 )) -lt "$w" ]; do
		if timeout 3 $PING $PIF -c 1 -W 1 "$peer" >/dev/null 2>&1; then
			M "warmup ok after $(( $(date +%s) - t0 )) s"; return 0
		fi
		sleep 1
	done
	M "warmup failed after $w s"
}
# pingn CPU|any COUNT INTERVAL DEADLINE: pings, prints the received count
pingn() {
	tl=$(awk "BEGIN{print int($2*$3+$4+5)}")
	pre=; [ "$1" = any ] || pre="taskset -c $1"
	timeout "$tl" $pre $PING $PIF -c "$2" -i "$3" -w "$4" -W 2 -s "${P_size:-56}" "$peer" >/tmp/ping.out 2>&1
	r=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping.out)
	echo "${r:-0}"
}

case $mode in
info) ;;
ping)
	[ -n "$peer" ] || { M "error no vhu.peer"; fin; }
	c=${P_count:-5} iv=${P_interval:-0.2}
	dl=$(awk "BEGIN{print int($c*$iv+10)}")
	warmup
	if [ "${P_percpu:-0}" = 1 ]; then
		tot=0 want=0 ncpu=$(grep -c ^processor /proc/cpuinfo) cpu=0
		while [ $cpu -lt $ncpu ]; do
			r=$(pingn $cpu "$c" "$iv" "$dl")
			M "ping cpu$cpu $r/$c"
			tot=$((tot+r)); want=$((want+c)); cpu=$((cpu+1))
		done
		M "ping $tot/$want"
	else
		r=$(pingn any "$c" "$iv" "$dl")
		[ "$r" = "$c" ] || sed 's/^/VHU-GUEST: out: /' /tmp/ping.out
		M "ping $r/$c"
	fi
	for j in 1 2; do
		eval "p=\${P_peer$j:-} w=\${P_wait$j:-}"
		[ -n "$p" ] || continue
		target "$p"
		warmup "$w"
		r=$(pingn any "$c" "$iv" "$dl")
		[ "$r" = "$c" ] || sed 's/^/VHU-GUEST: out: /' /tmp/ping.out
		M "ping$j $r/$c"
	done
	;;
pingloop)
	[ -n "$peer" ] || { M "error no vhu.peer"; fin; }
	c=${P_count:-600} iv=${P_interval:-0.1} dl=${P_time:-60}
	warmup
	M "pingloop start"
	: >/tmp/ping.out; : >/tmp/ping1.out   # exist before tail -f looks
	timeout $((dl+5)) $PING $PIF -c "$c" -i "$iv" -w "$dl" -s "${P_size:-56}" "$peer" >/tmp/ping.out 2>&1 &
	pp=$! pp1= f1=
	if [ -n "${P_peer1:-}" ]; then
		f1=/tmp/ping1.out
		timeout $((dl+5)) ping -c "$c" -i "$iv" -w "$dl" -s "${P_size:-56}" "$P_peer1" >$f1 2>&1 &
		pp1=$!
	fi
	# Show reply lines as they come (busybox ping buffers when piped);
	# busybox tail -f polls once a second, so give it time to catch up.
	tail -f /tmp/ping.out $f1 &
	tp=$!
	wait $pp $pp1
	sleep 1.5; kill $tp 2>/dev/null
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' /tmp/ping.out)
	r=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping.out)
	M "pingloop sent ${tx:-0}"
	M "ping ${r:-0}/${tx:-0}"
	if [ -n "$f1" ]; then
		tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' $f1)
		r=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' $f1)
		M "ping1 ${r:-0}/${tx:-0}"
	fi
	;;
serve)
	M "ready"
	sleep "${P_time:-30}"
	;;
tcp)
	# A file of random bytes over TCP with busybox nc. The listener's stdin
	# is a fifo held open (not a pipe: ash's wait would wait for the whole
	# pipeline): busybox nc half-closes the connection when its stdin ends,
	# and the sender then stops sending.
	role=${P_role:-send} port=${P_port:-5001} tl=${P_time:-60}
	case $role in send|recv|both) ;; *) M "error unknown vhu.role $role"; fin ;; esac
	up() { cut -d' ' -f1 /proc/uptime; }
	if [ "$role" != recv ]; then
		[ -n "$peer" ] || { M "error no vhu.peer"; fin; }
		head -c "${P_size:-2097152}" /dev/urandom >/tmp/tcp.tx
		M "tcp file size=$(wc -c </tmp/tcp.tx) md5=$(md5sum </tmp/tcp.tx | cut -d' ' -f1)"
	fi
	if [ "$role" != send ]; then
		mkfifo /tmp/tcp.hold
		sleep $((tl + 5)) >/tmp/tcp.hold &
		hp=$!
		timeout "$tl" nc -l -p "$port" </tmp/tcp.hold >/tmp/tcp.rx 2>/tmp/ncl.err &
		rp=$!
		M "tcp listening port=$port"
	fi
	if [ "$role" != recv ]; then
		warmup
		t0=$(up) n=0 ok=0
		while [ $n -lt "$tl" ]; do
			n=$((n + 1))
			if timeout "$tl" nc "$peer" "$port" </tmp/tcp.tx 2>/tmp/nc.err; then ok=1; break; fi
			sleep 1
		done
		if [ $ok = 1 ]; then M "tcp sent secs=$(awk "BEGIN{printf \"%.2f\", $(up) - $t0}") tries=$n"
		else M "error tcp send failed after $n tries: $(tr '\n' ' ' </tmp/nc.err)"; fi
	fi
	if [ "$role" != send ]; then
		wait $rp
		kill $hp
		M "tcp recv size=$(wc -c </tmp/tcp.rx) md5=$(md5sum </tmp/tcp.rx | cut -d' ' -f1) $(tr '\n' ' ' </tmp/ncl.err)"
	fi
	;;
*) M "error unknown mode $mode" ;;
esac
[ -n "${P_memck:-}" ] && M "memck end $(md5sum </tmp/memck | cut -d' ' -f1)"
if [ -n "${P_linger:-}" ]; then M "lingering ${P_linger} s"; sleep "$P_linger"; fi
fin
INIT
}

_guest_need_pkgs() {
	local need=() 
	command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
	[ -x /bin/busybox ] || need+=(busybox-static)
	command -v cpio >/dev/null 2>&1 || need+=(cpio)
	command -v xz >/dev/null 2>&1 || need+=(xz-utils)
	command -v socat >/dev/null 2>&1 || need+=(socat)
	[ ${#need[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || { echo "guest: missing ${need[*]} (and not root)"; return 1; }
	note "guest: installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >"$T/apt.log" 2>&1 ||
	{ apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >"$T/apt.log" 2>&1; } ||
	{ tail -5 "$T/apt.log"; return 1; }
}

# _guest_kernel_cached: the cache has the kernel and every module of
# VHU_GUEST_MODULES (extracted, or looked for and not found: modules.absent).
_guest_kernel_cached() {
	local d=$VHU_GUEST_DIR/kernel m
	[ -f "$d/vmlinuz" ] && [ -f "$d/modules.list" ] || return 1
	for m in $VHU_GUEST_MODULES; do
		grep -qxF "$m" "$d/modules.list" || grep -qxF "$m" "$d/modules.absent" 2>/dev/null || return 1
	done
}

_guest_kernel() { # fetch vmlinuz + modules into $VHU_GUEST_DIR/kernel
	local d=$VHU_GUEST_DIR/kernel pkg w m f
	_guest_kernel_cached && return 0
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$pkg" ] || { echo "guest: cannot find a linux-image-amd64 dependency with apt-cache"; return 1; }
	w=$VHU_GUEST_DIR/work.$$
	rm -rf "$w"; mkdir -p "$w"
	note "guest: downloading $pkg"
	(cd "$w" && apt-get download "$pkg" >"$w/dl.log" 2>&1) || { cat "$w/dl.log"; rm -rf "$w"; return 1; }
	dpkg -x "$w"/*.deb "$w/x" || { rm -rf "$w"; return 1; }
	rm -rf "$d.new"; mkdir -p "$d.new/modules"
	cp "$w"/x/boot/vmlinuz-* "$d.new/vmlinuz" || { rm -rf "$w" "$d.new"; return 1; }
	basename "$w"/x/lib/modules/* >"$d.new/version"
	# The uncompressed ELF vmlinux boots through its PVH entry point: no
	# real-mode setup and no in-guest xz decompression, 2-3 s less under TCG.
	if grep -q '^CONFIG_PVH=y' "$w"/x/boot/config-* 2>/dev/null; then
		local off
		off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$d.new/vmlinuz" | head -1 | cut -d: -f1)
		if [ -n "$off" ] && tail -c +$((off + 1)) "$d.new/vmlinuz" | xz -dc --single-stream >"$d.new/vmlinux" 2>/dev/null &&
		   [ "$(head -c 4 "$d.new/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then :
		else rm -f "$d.new/vmlinux"; fi
	fi
	: >"$d.new/modules.list"; : >"$d.new/modules.absent"
	for m in $VHU_GUEST_MODULES; do
		f=$(find "$w/x/lib/modules" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) | head -1)
		if [ -z "$f" ]; then
			note "guest: module $m not found (built in?), skipped"
			echo "$m" >>"$d.new/modules.absent"; continue
		fi
		case $f in
		*.xz) xz -dc "$f" >"$d.new/modules/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$d.new/modules/$m.ko" ;;
		*.gz) gzip -dc "$f" >"$d.new/modules/$m.ko" ;;
		*) cp "$f" "$d.new/modules/$m.ko" ;;
		esac || { note "guest: cannot decompress $f"; rm -rf "$w" "$d.new"; return 1; }
		echo "$m" >>"$d.new/modules.list"
	done
	rm -rf "$w" "$d"; mv "$d.new" "$d"
}

_guest_initrd() { # build initrd-HASH.gz for the current /init and modules
	local d=$VHU_GUEST_DIR h r a
	h=$( { _guest_init; cat "$d/kernel/version" "$d/kernel/modules.list"; ls -l /bin/busybox; } | sha256sum | cut -c1-12)
	VHU_GUEST_INITRD=$d/initrd-$h.gz
	[ -f "$VHU_GUEST_INITRD" ] && return 0
	r=$d/root.$$
	rm -rf "$r"; mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules}
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
	cp "$d"/kernel/modules/*.ko "$r/lib/modules/" 2>/dev/null
	cp "$d/kernel/modules.list" "$r/etc/vhu-modules"
	_guest_init >"$r/init"; chmod 755 "$r/init"
	mknod -m 600 "$r/dev/console" c 5 1 2>/dev/null
	mknod -m 666 "$r/dev/null" c 1 3 2>/dev/null
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$VHU_GUEST_INITRD.tmp" || { rm -rf "$r"; return 1; }
	mv "$VHU_GUEST_INITRD.tmp" "$VHU_GUEST_INITRD"
	rm -rf "$r"
	# Old initrds of earlier /init versions.
	find "$d" -maxdepth 1 -name 'initrd-*.gz' ! -name "initrd-$h.gz" -delete
}

# guest_prepare: sets VHU_GUEST_KERNEL and VHU_GUEST_INITRD. Returns 1 (after
# printing why) when it cannot; callers usually skip then.
guest_prepare() {
	_guest_need_pkgs || return 1
	mkdir -p "$VHU_GUEST_DIR"
	exec 9>"$VHU_GUEST_DIR/.lock"
	flock -w 300 9 || { echo "guest: cache lock busy"; exec 9>&-; return 1; }
	_guest_kernel && _guest_initrd
	local rc=$?
	exec 9>&-
	[ $rc = 0 ] || return 1
	VHU_GUEST_KERNEL=$VHU_GUEST_DIR/kernel/vmlinuz
	if [ "${VHU_GUEST_PVH:-1}" = 1 ] && [ -f "$VHU_GUEST_DIR/kernel/vmlinux" ]; then
		VHU_GUEST_KERNEL=$VHU_GUEST_DIR/kernel/vmlinux
	fi
	VHU_GUEST_KVER=$(cat "$VHU_GUEST_DIR/kernel/version")
	note "guest: kernel $VHU_GUEST_KVER ($(basename "$VHU_GUEST_KERNEL")), initrd $(basename "$VHU_GUEST_INITRD")"
}

# guest_iommu: the guests booted next sit behind QEMU's emulated
# intel-iommu with a device IOTLB; their NICs take $GUEST_IOMMU_DEV in
# DEVICE_EXTRA. The NIC sits behind a PCIe root port: on the root bus it
# would have no ATS capability, and QEMU 7.2 passes the guest's unmaps on
# to vhost-user only as device-IOTLB invalidations. Strict mode: each unmap
# is invalidated page by page (lazy mode's periodic whole-domain flush also
# wipes the receive buffers the backend was told of, so a reply after one
# misses).
guest_iommu() {
	GUEST_QEMU_PRE="-device intel-iommu,intremap=off,device-iotlb=on -device pcie-root-port,id=rp0,bus=pcie.0,chassis=1"
	VHU_GUEST_APPEND="$VHU_GUEST_APPEND intel_iommu=on iommu.strict=1"
	GUEST_IOMMU_DEV="bus=rp0,disable-legacy=on,iommu_platform=on,ats=on"
}

# guest_mac NAME IDX: the MAC of NIC IDX of guest NAME.
guest_mac() {
	if [ -n "${GUEST_MAC_BASE:-}" ]; then printf '%s:%02x\n' "$GUEST_MAC_BASE" "$2"; return; fi
	local h; h=$(printf %s "$1" | cksum | cut -d' ' -f1)
	printf '52:54:%02x:%02x:%02x:%02x\n' $(( (h >> 16) & 255 )) $(( (h >> 8) & 255 )) $(( h & 255 )) "$2"
}

guest_boot() {
	local name=$1 socks=$2 nx=${3:-} dx=${4:-} kargs=${5:-} i=0 s path opts args=()
	[ -n "${VHU_GUEST_INITRD:-}" ] || guest_prepare || return 1
	for s in $socks; do
		path=${s%%,*}; opts=; [ "$path" = "$s" ] || opts=,${s#*,}
		args+=(-chardev "socket,id=c$i,path=$path$opts"
		       -netdev "vhost-user,id=n$i,chardev=c$i${nx:+,$nx}"
		       -device "virtio-net-pci,netdev=n$i,mac=$(guest_mac "$name" $i),vectors=0,romfile=${dx:+,$dx}")
		i=$((i+1))
	done
	: >"$T/$name.console"
	# shellcheck disable=SC2086
	bg "$name" timeout -k 5 "${GUEST_TIMEOUT:-120}" qemu-system-x86_64 \
		-accel tcg -cpu max -m "${GUEST_MEM:-256M}${GUEST_MEM_OPTS:+,$GUEST_MEM_OPTS}" -smp "${GUEST_SMP:-1}" \
		-object "memory-backend-memfd,id=mem,size=${GUEST_MEM:-256M},share=on" \
		-machine q35,memory-backend=mem -nodefaults -nographic -no-reboot \
		-serial "file:$T/$name.console" \
		-monitor "unix:$T/$name.mon,server=on,wait=off" \
		-kernel "$VHU_GUEST_KERNEL" -initrd "$VHU_GUEST_INITRD" \
		-append "$VHU_GUEST_APPEND $kargs" \
		${GUEST_QEMU_PRE:-} "${args[@]}" ${GUEST_QEMU_EXTRA:-}
	eval "GUEST_START_$name=\$(date +%s%N)"
}

_guest_alive() { local p; eval "p=\${PID_$1:-}"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# guest_wait NAME TIMEOUT_S: 0 when the guest printed its done marker, 1 when
# QEMU exited without it or the time ran out. Waits for QEMU to exit after.
guest_wait() {
	local name=$1 t=$2 p end
	end=$(( $(date +%s) + t ))
	while [ "$(date +%s)" -lt "$end" ]; do
		grep -q 'VHU-GUEST: done' "$T/$name.console" 2>/dev/null && break
		_guest_alive "$name" || break
		sleep 0.2
	done
	if grep -q 'VHU-GUEST: done' "$T/$name.console" 2>/dev/null; then
		eval "p=\${PID_$name}"
		wait_for 5 sh -c "! kill -0 $p" || true
		return 0
	fi
	if _guest_alive "$name"; then note "guest $name: no done marker after ${t} s"
	else note "guest $name: QEMU exited without the done marker"; fi
	return 1
}

# guest_elapsed NAME: seconds (1 decimal) since guest_boot.
guest_elapsed() { local s; eval "s=\${GUEST_START_$1}"; awk "BEGIN{printf \"%.1f\", ($(date +%s%N)-$s)/1e9}"; }

guest_marker() { tr -d '\r' <"$T/$1.console" | sed -n "s/^.*VHU-GUEST: $2 \(.*\)\$/\1/p" | tail -1; }
guest_ping_count() { guest_marker "$1" ping | grep -E '^[0-9]+/[0-9]+$' | tail -1; }
guest_monitor() { echo "$2" | timeout 10 socat - "UNIX-CONNECT:$T/$1.mon" | tr -d '\r' | strip_ansi; }

# guest_migrate NAME PORT: live-migrates guest NAME to a QEMU waiting with
# -incoming tcp:127.0.0.1:PORT, bandwidth 1G, and waits up to 30 s for the
# end. Sets MIG_STATUS (completed, failed, cancelled or empty), MIG_OUT
# (what QEMU answered to migrate, empty when it took it), MIG_INFO (info
# migrate, also printed in short) and MIG_TOTAL, MIG_DOWN, MIG_SETUP (ms).
guest_migrate() {
	local end
	guest_monitor "$1" "migrate_set_parameter max-bandwidth 1G" >/dev/null
	MIG_OUT=$(guest_monitor "$1" "migrate -d tcp:127.0.0.1:$2" | grep -v '^QEMU\|^(qemu)' | sed '/^$/d')
	[ -z "$MIG_OUT" ] || note "migrate: $MIG_OUT"
	MIG_STATUS= MIG_INFO=
	end=$(( $(date +%s) + 30 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		MIG_INFO=$(guest_monitor "$1" "info migrate")
		MIG_STATUS=$(echo "$MIG_INFO" | sed -n 's/^Migration status: *//p')
		case $MIG_STATUS in completed|failed|cancelled) break ;; esac
		[ -z "$MIG_STATUS" ] && [ -n "$MIG_OUT" ] && break   # refused: never started
		sleep 0.3
	done
	echo "$MIG_INFO" | grep -E '^(Migration status|total time|downtime|setup|transferred ram|dirty sync count)' | sed 's/^/   /'
	MIG_TOTAL=$(echo "$MIG_INFO" | sed -n 's/^total time: *\([0-9]*\).*/\1/p')
	MIG_DOWN=$(echo "$MIG_INFO" | sed -n 's/^downtime: *\([0-9]*\).*/\1/p')
	MIG_SETUP=$(echo "$MIG_INFO" | sed -n 's/^setup: *\([0-9]*\).*/\1/p')
}

guest_dump() {
	echo "---- $1 console (last 40 lines)"; tr -d '\r' <"$T/$1.console" | tail -40
	echo "---- $1 qemu log"; tail -20 "$T/$1.log" 2>/dev/null
}

# echo_backend_start SOCK QUEUES: an ICMP/ARP echo backend serving SOCK as the
# vhost-user server. Default our vhu-fwd (skips when it is not built);
# VHU_PEER_BACKEND=dpdk uses DPDK testpmd's net_vhost in icmpecho mode.
# Sets ECHO_BACKEND (a description) and starts process "be" (PID_be, $T/be.log).
echo_backend_start() {
	local sock=$1 q=${2:-1}
	rm -f "$sock"
	case ${VHU_PEER_BACKEND:-vhu} in
	dpdk)
		need_cmd dpdk-testpmd
		setup_hugepages
		ECHO_BACKEND="dpdk-testpmd net_vhost icmpecho${HUGE_OPTS:+ (no hugepages)}"
		# shellcheck disable=SC2086,SC2217 # bg passes stdin on: testpmd needs /dev/null
		bg be timeout -k 5 "${GUEST_TIMEOUT:-120}" dpdk-testpmd --lcores '0@0,1@1' --no-pci \
			--file-prefix="vhu-be-$$" $HUGE_OPTS -m 512 \
			--vdev "net_vhost0,iface=$sock,queues=$q" -- \
			--nb-cores=1 --rxq="$q" --txq="$q" --forward-mode=icmpecho --stats-period 5 </dev/null
		;;
	vhu)
		[ -x "$VHU_FWD" ] || skip "vhu-fwd is not built ($VHU_FWD); run make build, or VHU_PEER_BACKEND=dpdk to check the harness against DPDK"
		ECHO_BACKEND="vhu-fwd icmpecho"
		bg be "$VHU_FWD" --socket "$sock" --queues "$q" --mode icmpecho --stats-period 5
		;;
	*) fail "unknown VHU_PEER_BACKEND=${VHU_PEER_BACKEND}" ;;
	esac
	if ! wait_for 30 test -S "$sock"; then
		tail -20 "$T/be.log"; fail "$ECHO_BACKEND did not create $sock"
	fi
}

# guest_feature NAME BIT [IF]: 0/1, the virtio feature BIT the guest's driver
# negotiated on IF (eth0), empty when unknown.
guest_feature() {
	local f; f=$(guest_marker "$1" "${3:-eth0}" | sed -n 's/.*features=\([01]*\).*/\1/p')
	[ -n "$f" ] && echo "${f:$2:1}"
}

# guest_ping_test LABEL NETDEV_EXTRA DEVICE_EXTRA QUEUES [BIT=V ...]
# The whole single-guest ping test: echo backend on one socket, one guest
# pings it 5 times (with QUEUES>1: -smp QUEUES, 5 pings pinned to each CPU,
# and the guest must show QUEUES rx/tx queues). Each BIT=V must hold in the
# negotiated virtio features (e.g. 15=0: no MRG_RXBUF). GUEST_PING_CHECK
# names a function for further checks (see below). Exits.
guest_ping_test() {
	local label=$1 nx=$2 dx=$3 q=$4 c=5 got want bv b v
	shift 4
	if [ "${VHU_PEER_BACKEND:-vhu}" = vhu ] && [ ! -x "$VHU_FWD" ]; then
		skip "vhu-fwd is not built ($VHU_FWD); run make build, or VHU_PEER_BACKEND=dpdk to check the harness against DPDK"
	fi
	guest_prepare || skip "no guest kernel/initramfs (see above)"
	echo_backend_start "$T/sock0" "$q"
	local kargs="vhu.mode=ping vhu.ip=169.254.0.2/16 vhu.peer=169.254.0.1 vhu.count=$c"
	want=$c
	if [ "$q" -gt 1 ]; then
		GUEST_SMP=$q; kargs="$kargs vhu.percpu=1"; want=$((c * q))
	fi
	note "backend: $ECHO_BACKEND; guest: netdev '${nx}' device '${dx}' smp ${GUEST_SMP:-1}"
	guest_boot g0 "$T/sock0" "$nx" "$dx" "$kargs" || fail "guest_boot"
	if ! guest_wait g0 90; then guest_dump g0; echo "---- backend log"; strip_ansi <"$T/be.log" | tail -20; fail "$label: guest did not finish"; fi
	local secs; secs=$(guest_elapsed g0)
	tr -d '\r' <"$T/g0.console" | sed -n 's/^.*\(VHU-GUEST:\)/   \1/p'
	got=$(guest_ping_count g0)
	local eth; eth=$(guest_marker g0 eth0)
	for bv in "$@"; do
		b=${bv%%=*} v=${bv#*=}
		if [ "$(guest_feature g0 "$b")" != "$v" ]; then
			guest_dump g0
			# A feature libvhu does not offer yet is a skip, said loudly,
			# not a pass (GUEST_UNOFFERED_SKIP=BIT, set by the test).
			[ "${GUEST_UNOFFERED_SKIP:-}" = "$b" ] && [ "$v" = 1 ] && [ "${VHU_PEER_BACKEND:-vhu}" != dpdk ] &&
				skip "$label: virtio feature bit $b not negotiated: libvhu does not offer it yet"
			fail "$label: virtio feature bit $b is not $v ($eth)"
		fi
	done
	if [ "$q" -gt 1 ]; then
		case $eth in *"rxq=$q txq=$q"*) ;; *) guest_dump g0; fail "$label: guest has not $q queue pairs: $eth" ;; esac
		local i pc
		for ((i = 0; i < q; i++)); do
			pc=$(guest_marker g0 "ping cpu$i")
			[ "$pc" = "$c/$c" ] || { guest_dump g0; fail "$label: cpu$i (TX queue $i) got ${pc:-nothing}, want $c/$c"; }
		done
	fi
	[ "$got" = "$want/$want" ] || { guest_dump g0; echo "---- backend log"; strip_ansi <"$T/be.log" | tail -20; fail "$label: ping ${got:-none}, want $want/$want"; }
	# GUEST_PING_CHECK=FUNC: the test's own checks, called as FUNC LABEL
	# QUEUES after the guest has finished (it fails the test itself).
	[ -z "${GUEST_PING_CHECK:-}" ] || "$GUEST_PING_CHECK" "$label" "$q"
	if [ "$q" -gt 1 ]; then
		result "$label $c/$c on each of $q queue pairs (${ECHO_BACKEND}, guest ran ${secs} s)"
	else
		result "$label $got (${ECHO_BACKEND}, guest ran ${secs} s)"
	fi
	exit 0
}
