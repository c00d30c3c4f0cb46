#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs with apt what a make target needs, only when it is missing.
# Usage: scripts/ensure-deps.sh build|peers|libvirt|bench|fuzz|sanitizers|cross ...
set -u
need=()
want() { # want COMMAND-OR-FILE PACKAGE
	if [[ $1 == /* ]]; then [ -e "$1" ] || need+=("$2")
	else command -v "$1" >/dev/null 2>&1 || need+=("$2"); fi
}
for group in "$@"; do
	case $group in
	build)
		want cc gcc; want clang clang; want meson meson; want ninja ninja-build
		want pkg-config pkg-config
		want /usr/include/linux/virtio_ring.h linux-libc-dev
		# vhu-switch's afxdp ports: libxdp's xsk API and redirect program
		# (libxdp1), libbpf to load and attach it
		want /usr/include/xdp/xsk.h libxdp-dev; want /usr/include/bpf/libbpf.h libbpf-dev ;;
	peers)
		want dpdk-testpmd dpdk-dev; want qemu-system-x86_64 qemu-system-x86
		want /bin/busybox busybox-static; want cpio cpio; want socat socat
		want ip iproute2; want tshark tshark; want tcpdump tcpdump
		want iperf3 iperf3; want systemd-analyze systemd ;;
	libvirt)
		# the daemon and virsh, for tests/peers/switch_libvirt.sh; QEMU
		# comes with peers
		want libvirtd libvirt-daemon-system; want virsh libvirt-clients ;;
	bench)
		want gnuplot gnuplot-nox; want perf linux-perf
		want /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk openvswitch-switch-dpdk
		want valgrind valgrind; want iperf3 iperf3; want ethtool ethtool ;;
	fuzz)
		want clang clang; want /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev ;;
	sanitizers)
		want /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.tsan-x86_64.a libclang-rt-14-dev ;;
	cross)
		# aarch64: the cross compiler and its C library; the unit tests run
		# under qemu-user (scripts/cross/aarch64-linux-gnu.ini), no binfmt.
		want aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
		want /usr/aarch64-linux-gnu/include/stdio.h libc6-dev-arm64-cross
		want qemu-aarch64 qemu-user ;;
	*) echo "ensure-deps: unknown group $group" >&2; exit 2 ;;
	esac
done
[ ${#need[@]} -eq 0 ] && exit 0
# Only the packages, deduplicated.
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "ensure-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq >/dev/null 2>&1 || true
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
# iperf3 asks whether to run a server at boot; no.
echo "iperf3 iperf3/start_daemon boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/tmp/vhu-apt.log 2>&1 || {
	echo "ensure-deps: apt-get install failed, see /tmp/vhu-apt.log" >&2; tail -5 /tmp/vhu-apt.log >&2; exit 1; }
