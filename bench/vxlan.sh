#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/vxlan.sh [DIR | --report DIR]: VM to VM across a VXLAN tunnel between two hosts
# (issue 17), Mpps at the receiving VM. Runs alone (as root, under flock
# /tmp/vhu-peer.lock like every peer run); bench/run.sh may call it.
#
# The hosts are network namespaces hA and hB of this script's own, joined
# by a veth underlay (169.254.101.1/24 and .2/24, MTU 9000, so that a
# 1518-byte frame and its 50 bytes of tunnel fit); VNI 42, UDP port 4789.
# The "VMs" are two dpdk-testpmd processes, one txonly on host A, one
# rxonly on host B; the same program on every side, only its vdev differs:
#
#   vhu     a vhu-switch in each namespace: vhost-user:vm and
#           vxlan:vx,local=own,remote=other,vni=42. testpmd is a
#           virtio-user frontend (net_virtio_user0, ring 256, split, mrg)
#           on that host's vm socket.
#   ovs     OVS-DPDK in each namespace with userspace VXLAN: br-int with a
#           dpdkvhostuser port and a vxlan port, br-phy with the underlay
#           veth (a system port) and the host's underlay address
#           (ovs_host below); testpmd as for vhu, on OVS's socket.
#   kernel  the kernel's reference: in each namespace a vxlan device (id 42,
#           local, remote, dstport 4789), a bridge with the vxlan device and
#           one end of a veth pair; the other end (MTU 9000) is the VM's
#           NIC, which testpmd drives through DPDK's af_packet PMD
#           (net_af_packet0,iface=IF, run inside that namespace).
#
# Frames: testpmd's txonly UDP/IPv4 frames of SIZE bytes (64, 1518: the
# length without CRC) to the receiver's MAC, which neither bridge learns
# (the receiver never sends): every bridge floods them, as it would the
# first frames toward any VM. Rate: the receiver's Rx-pps per stats second,
# over the SECS seconds from the first with traffic less the first WARMUP
# (lib.sh's steady).
#
# CPUs (2 vCPUs, four busy parts): a CPU per host. Host A's switch PMD
# (--pmd-cpus) and the sending testpmd's forwarding lcore on CPU_BE, host
# B's switch PMD and the receiving testpmd's on CPU_FE; both testpmds'
# main lcores on CPU_BE (they sleep between stats lines). The kernel's
# tunnel has no thread of its own: encapsulation, the underlay veth and
# B's decapsulation and bridge run in softirq context on the sender's CPU.
# Tried at 64 bytes (BENCH_VX_CPUS, 1 rep): both PMDs on one CPU and both
# testpmds on the other starves whichever receiver shares a CPU with a
# busy sender (the kernel's af_packet receiver with the txonly testpmd:
# 0.06 Mpps, against 0.38 a CPU per host; ours 0.04 against 0.09); the
# crossed placements (A's PMD with B's testpmd) lay between.
#
# Every run is checked, and a run that fails is not used:
#   setup   namespaces, underlay, switches, kernel devices or a testpmd's
#           start failed
#   fe      a testpmd gave no rate, or the receiver no final count
#   short   fewer stats seconds with traffic than SECS
#   path    the frames did not cross the tunnel: vhu: switch B's vx port
#           received, and its vm port sent, fewer frames than the
#           receiver counted; kernel, ovs: host B's underlay veth received
#           fewer packets than the receiver counted
#   noovs   OVS-DPDK is not installed
# Recorded beside each run: the sender's Tx-pps, what the switches
# dropped (tx_dropped, tx_mtu_dropped, rx_vxlan_*; kernel: the underlay's
# and the VM NIC's rx_dropped), how busy each CPU was over the measured
# seconds (/proc/stat).
#
# Environment: BENCH_REPS (3) BENCH_SECONDS (6) BENCH_WARMUP (1);
# BENCH_VX_SETUPS ("vhu kernel ovs"); BENCH_VX_SIZES ("64 1518");
# BENCH_VX_CPUS ("SWA SWB TX RX", the CPUs above: "0 1 0 1");
# BENCH_KEEP=1 (keep the work dir); VHU_BUILD (build).
# Output in DIR (default BENCH_OUT, else bench/): vxlan_raw.csv (every
# run), vxlan.csv (one line per size, results.csv's columns), vxlan.md (the
# report's section), vxlan.env, failed runs' logs in failed/vx-*.log, the
# first rep's commands in cmds/vx-*.cmd. Everything this creates
# (processes, namespaces and their interfaces, DPDK runtime files) is
# removed on exit, failure and interrupt included.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
. "$BENCH/lib.sh"
REPS=${BENCH_REPS:-3}

# vx_report DIR: DIR/vxlan_raw.csv and vxlan.env into vxlan.csv and
# vxlan.md, from report_lib's pieces.
vx_report() {
PYTHONPATH=$BENCH python3 - "$1" <<'EOF'
import os, sys
from report_lib import (compare_line, compare_peers, defs, first_rep_cmds, fmt, md_head,
                        md_table_head, per_run, read_cmds, read_runs, spread, spread_line, stamp,
                        write_comparisons, write_md)
d = sys.argv[1]
meta, runs = read_runs(d, "vxlan", lambda r: (r["setup"], r["size"]))
reps = int(meta.get("reps") or 0)
sizes = sorted({k[1] for k in runs}, key=int)
NAMES = {"vhu": "vhu-switch per host, vhost-user + vxlan port; testpmd virtio-user",
         "kernel": "Linux vxlan + bridge per host, veth as VM NIC; testpmd af_packet",
         "ovs": "OVS-DPDK per host, userspace VXLAN (br-int: dpdkvhostuser + vxlan, br-phy: underlay); testpmd virtio-user"}
CHECKS = {"setup": "namespaces, switches, kernel devices or a testpmd failed to start",
          "fe": "a testpmd gave no rate or no final count",
          "short": "fewer seconds with traffic than asked",
          "path": "fewer frames crossed the tunnel (switch B's vx rx and vm tx; kernel, OVS: B's underlay rx) "
                  "than the receiver counted",
          "noovs": "OVS-DPDK not installed"}
comps = []
for z in sizes:
    st = {s: spread(runs.get((s, z), []), "mpps") for s in NAMES}
    for s, x in st.items():
        if x["all"]:
            print(f"vxlan {z:>5} {s:7} {spread_line(x, 'Mpps')}")
    comps += compare_peers(st, ("kernel", "ovs"), reps, size=z)
write_comparisons(os.path.join(d, "vxlan.csv"), "vxlan-vm2vm", {"size": "size", "peer": "setup"},
                  comps, "mpps")
# Rates here are tenths of a Mpps: three decimals, not md_cells' two.
mmm3 = lambda x: f"{fmt(x['min'], 3)} / **{fmt(x['med'], 3)}** / {fmt(x['max'], 3)}" if x["med"] else "-"
for c in comps:
    print(f"vxlan {c['size']:>5} vhu/{c['setup']:6} {compare_line(c)}")
m = lambda k: meta.get("cpu_" + k)
L = ["## VM to VM across a VXLAN tunnel\n",
     stamp(meta, "vxlan.sh") + f"{reps} run(s) a side, "
     f"{meta.get('seconds')} s from the first second with traffic, the first {meta.get('warmup')} left out; "
     f"DPDK {meta.get('dpdk')}, OVS {meta.get('ovs')}, kernel {meta.get('kernel')}; {meta.get('duration_s')} s in all.\n",
     "- Two hosts as network namespaces joined by a veth underlay (169.254.101.1 and .2/24, "
     f"MTU {meta.get('underlay_mtu')}), VNI 42, UDP 4789. The sending VM is dpdk-testpmd txonly on "
     "host A, the receiving one testpmd rxonly on host B; frames go to the receiver's MAC, which no "
     "bridge learns (it never sends), so both hosts' bridges flood them. Rate: the receiver's Rx-pps. "
     "Hosts, switches and devices are made afresh for every run; the sides take turns.",
     f"- CPUs, four busy parts on two vCPUs: switch A's PMD on CPU {m('swa')} and switch B's on "
     f"CPU {m('swb')}; the sending testpmd's forwarding lcore on CPU {m('tx')}, the receiving one's on "
     f"CPU {m('rx')}; both main lcores on CPU {m('main')} (asleep between stats lines). "
     + ("A CPU per host: each switch shares its CPU with its own host's VM (the default; both PMDs on "
        "one CPU and both testpmds on the other starve the receiver that shares a CPU with the busy "
        "txonly sender, the kernel's above all). " if (m('swa'), m('swb')) == (m('tx'), m('rx')) else
        "Not the default placement (a CPU per host). ")
     + "The kernel's tunnel has no thread: encapsulation, underlay, B's decapsulation and "
     "bridge run in softirq on the sender's CPU.",
     "- Generator: the same testpmd on every side; ours and OVS's through virtio-user (split ring 256, "
     "mergeable buffers), the kernel's through DPDK's af_packet PMD on the VM-side veth. OVS-DPDK: "
     "the whole ovs-vswitchd of a host on that host's switch CPU (its main thread polls the underlay "
     "port), 256 MiB of hugepages each.",
     "- Checks of every run; a run that fails one is not used: " + defs(CHECKS) + ".", ""]
L.extend(md_head("scenario | size | peer", "ours Mpps", "peer Mpps"))
for c in comps:
    L.append(f"| vxlan VM-to-VM | {c['size']} | {c['setup']} | {mmm3(c['ours'])} | {mmm3(c['peer'])} | "
             f"{fmt(c['ratio'])} | {fmt(c['rmin'])}-{fmt(c['rmax'])} | {c['verdict']} | {'' if c['status'] == 'ok' else c['status']} |")
L.append("")
L.extend(md_table_head("side", "size", "Mpps per run (rep order)", "sender Tx Mpps", "status", "drops",
                       f"CPU busy {m('be')} / {m('fe')}"))
for (s, z), rs in sorted(runs.items(), key=lambda kv: (list(NAMES).index(kv[0][0]), int(kv[0][1]))):
    L.append(f"| {s} | {z} | {per_run(rs, 'mpps')} | {per_run(rs, 'tx_mpps')} | "
             f"{per_run(rs, 'status')} | {per_run(rs, 'drops')} | "
             f"{per_run(rs, lambda r: r['busy_cpu_be'] + ' / ' + r['busy_cpu_fe'])} |")
L.append("")
blocks = []
for s in NAMES:
    cmds = read_cmds(os.path.join(d, "cmds"), f"vx-{s}-{sizes[0]}" if sizes else "",
                     ("swA", "swB", "ovsdbA", "vswitchdA", "rx", "tx"))
    if s == "ovs" and cmds:
        cmds.insert(1, "# host A (B likewise, on its CPU): ovsdb-tool create; ovs-vsctl --no-wait init; set "
                    "Open_vSwitch . other_config:dpdk-init=true dpdk-lcore-mask=CPU pmd-cpu-mask=CPU "
                    "dpdk-socket-mem=256 dpdk-extra='--no-pci --file-prefix=...'")
        cmds.insert(3, "ovs-vsctl add-br br-phy -- set bridge br-phy datapath_type=netdev -- add-port br-phy uA "
                    "-- add-br br-int -- set bridge br-int datapath_type=netdev -- add-port br-int vhu0 -- set "
                    "Interface vhu0 type=dpdkvhostuser -- add-port br-int vx0 -- set Interface vx0 type=vxlan "
                    "options:remote_ip=169.254.101.2 options:key=42\n"
                    "ip -n A addr add 169.254.101.1/24 dev br-phy; ip -n A link set br-phy mtu 9000 up")
    if s == "kernel" and cmds:
        cmds.insert(0, "# per host X (A, B) in its namespace: ip link add name vx type vxlan id 42 local OWN "
                    "remote OTHER dstport 4789 dev uX; ip link add name vbr type bridge; ip link add name gX "
                    "mtu 9000 type veth peer name pX mtu 9000; vx and pX on vbr; all up")
    if cmds:
        blocks.append((NAMES[s], cmds))
L.extend(first_rep_cmds(blocks))
write_md(d, "vxlan", L)
EOF
}

# bench/vxlan.sh --report DIR: the report again from DIR's runs.
[ "${1:-}" = --report ] && { vx_report "$2"; exit; }

OUT=${1:-${BENCH_OUT:-$BENCH}}
SETUPS=${BENCH_VX_SETUPS:-vhu kernel ovs}
SIZES=${BENCH_VX_SIZES:-64 1518}
RAW=$OUT/vxlan_raw.csv
UA=169.254.101.1 UB=169.254.101.2 VNI=42 UMTU=9000
MTX=02:00:00:00:0d:0a MRX=02:00:00:00:0d:0b
# CPUs of switch A's PMD, switch B's PMD, the sending and the receiving
# testpmd's forwarding lcore (see the head of this file).
read -r CPU_SWA CPU_SWB CPU_TX CPU_RX <<<"${BENCH_VX_CPUS:-$CPU_BE $CPU_FE $CPU_BE $CPU_FE}"

mkdir -p "$OUT"
skip_all() { not_run vxlan VXLAN "VM to VM across a VXLAN tunnel" "$1"; }
[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces)"
for c in ip dpdk-testpmd taskset timeout python3; do
	command -v "$c" >/dev/null || skip_all "$c is missing (make bench installs it)"
done
[ -x "$VHU_SWITCH" ] && [ -x "$VHU_CTL" ] || { echo "vxlan: vhu-switch is not built; run make build" >&2; exit 1; }

# Names of our own, so that cleanup removes nothing else. (`ip link add`
# gets `name`: a bare "br" would be read as "broadcast".)
NSA=vhuvx-$$-a NSB=vhuvx-$$-b
W=$(mktemp -d /tmp/vhu-vx.XXXXXX)
vx_down() { ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null; return 0; }
# The switches go before their namespaces (cleanup stops them by PID).
trap 'cleanup; vx_down' EXIT
trap 'exit 130' INT TERM
setup_hugepages
rm -rf "$OUT"/failed/vx-*.log "$OUT"/cmds/vx-*.cmd
log "vxlan: work dir $W; setups $SETUPS; sizes $SIZES; reps $REPS x ${SECS}s (${WARMUP}s warm-up left out); CPUs: PMD of switch A $CPU_SWA, of B $CPU_SWB, testpmd tx $CPU_TX, rx $CPU_RX"

# hosts_up SETUP: the two namespaces and the underlay (veth uA in A, uB
# in B; the addresses on them, but for OVS on its br-phy). No IPv6 in
# them: its neighbour discovery and MLD frames would reach the receiver
# without crossing the tunnel and fail the path check.
hosts_up() {
	ip netns add "$NSA" && ip netns add "$NSB" &&
	nsx "$NSA" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
	nsx "$NSB" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
	ip link add uA netns "$NSA" mtu "$UMTU" type veth peer name uB netns "$NSB" mtu "$UMTU" &&
	{ [ "$1" = ovs ] || { ip -n "$NSA" addr add "$UA/24" dev uA && ip -n "$NSB" addr add "$UB/24" dev uB; }; } &&
	ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up &&
	ip -n "$NSA" link set uA up && ip -n "$NSB" link set uB up
}

# kernel_host NS X LOCAL REMOTE: in NS, vxlan device vx, bridge br, and
# the VM's NIC gX (its peer pX on the bridge).
kernel_host() {
	local ns=$1 x=$2 lo=$3 re=$4
	ip -n "$ns" link add name vx type vxlan id "$VNI" local "$lo" remote "$re" dstport 4789 dev "u$x" &&
	ip -n "$ns" link add name vbr type bridge &&
	ip -n "$ns" link add name "g$x" mtu "$UMTU" type veth peer name "p$x" mtu "$UMTU" &&
	ip -n "$ns" link set vx master vbr && ip -n "$ns" link set "p$x" master vbr &&
	local i; for i in vx "p$x" "g$x" vbr; do ip -n "$ns" link set "$i" up || return 1; done
}

# sw_up X NS LOCAL REMOTE BOUND: vhu-switch X in NS, control $R/ctlX,
# vhost-user socket $R/X/vm.
sw_up() {
	local x=$1 ns=$2 lo=$3 re=$4 bound=$5 cpu; eval "cpu=\$CPU_SW$x"
	mkdir -p "$R/$x"
	bg "sw$x" "$bound" ip netns exec "$ns" "$VHU_SWITCH" --control "$R/ctl$x" --socket-dir "$R/$x" \
		--pmd-cpus "$cpu" --port vhost-user:vm --port "vxlan:vx,local=$lo,remote=$re,vni=$VNI"
	wait_for 10 test -S "$R/ctl$x" && wait_for 10 test -S "$R/$x/vm"
}

# ovs_host X NS LOCAL REMOTE BOUND: OVS-DPDK for host X in NS, state in
# $R/ovsX, the whole ovs-vswitchd on host X's CPU (pmd-cpu-mask and
# dpdk-lcore-mask too: its main thread, not the PMD, polls the underlay, a
# system port). Userspace tunnelling as OVS documents it: bridge br-phy
# (netdev) with the underlay uX and the address LOCAL, through which OVS
# routes to REMOTE and resolves it by ARP; br-int (netdev, NORMAL) with a
# dpdkvhostuser port vhu0 and a vxlan port vx0 (key VNI, remote REMOTE).
# (lib.sh's ovs_up runs one OVS, outside any namespace; here are two.)
ovs_host() {
	local x=$1 ns=$2 lo=$3 re=$4 bound=$5 d=$R/ovs$1 cpu v extra mem=(); eval "cpu=\$CPU_SW$x"
	local envs=(env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d")
	mkdir -p "$d"
	ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema || return 1
	bg "ovsdb$x" "$bound" "${envs[@]}" ovsdb-server --remote=punix:"$d/db.sock" --pidfile="$d/ovsdb.pid" \
		--unixctl="$d/ovsdb.ctl" "$d/conf.db"
	wait_for 10 test -S "$d/db.sock" || return 1
	v=(ovs-vsctl --timeout=30 --db=unix:"$d/db.sock")
	prefix ovs; extra="--no-pci --file-prefix=$PFX"
	if [ "$HUGE" = 1 ]; then mem=(other_config:dpdk-socket-mem=256); else extra+=" --no-huge -m 512"; fi
	"${v[@]}" --no-wait init &&
	"${v[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:dpdk-lcore-mask=$((1 << cpu)) other_config:pmd-cpu-mask=$((1 << cpu)) \
		"${mem[@]}" other_config:dpdk-extra="$extra" || return 1
	bg "vswitchd$x" "$bound" ip netns exec "$ns" "${envs[@]}" taskset -c "$cpu" "$OVS_VSWITCHD" \
		unix:"$d/db.sock" --pidfile="$d/vswitchd.pid" --log-file="$d/vswitchd.log" --unixctl="$d/vswitchd.ctl"
	"${v[@]}" add-br br-phy -- set bridge br-phy datapath_type=netdev -- add-port br-phy "u$x" \
		-- add-br br-int -- set bridge br-int datapath_type=netdev \
		-- add-port br-int vhu0 -- set Interface vhu0 type=dpdkvhostuser \
		-- add-port br-int vx0 -- set Interface vx0 type=vxlan options:remote_ip="$re" options:key="$VNI" &&
	ip -n "$ns" addr add "$lo/24" dev br-phy && ip -n "$ns" link set br-phy mtu "$UMTU" up &&
	wait_for 20 test -S "$d/vhu0"
}

# tp NAME BOUND MODE SIZE NS VDEV: a testpmd, in NS unless NS is empty.
tp() {
	local n=$1 bound=$2 mode=$3 size=$4 ns=$5 vdev=$6 in=() app=() cpu=$CPU_RX
	[ -n "$ns" ] && in=(ip netns exec "$ns")
	[ "$mode" = txonly ] && app=("--eth-peer=0,$MRX") cpu=$CPU_TX
	prefix vx
	bg "$n" "$bound" "${in[@]}" dpdk-testpmd --lcores "0@$CPU_BE,1@$cpu" --no-pci \
		--file-prefix="$PFX" --single-file-segments --iova-mode=va "${MEM[@]}" --vdev "$vdev" -- \
		--nb-cores=1 --forward-mode="$mode" --stats-period 1 --txpkts="$size" "${MBUFS[@]}" \
		"${app[@]}" --no-flush-rx
}

# run_vx SETUP SIZE REP: one run; appends its line to RAW.
run_vx() {
	local s=$1 size=$2 rep=$3 bound=$((SECS + 40)) status=ok
	local mpps=- txm=- rxn=- txn=- cross=- drops=- bbe=- bfe=- vdtx vdrx nstx='' nsrx=''
	R=$W/$s-$size-$rep
	mkdir -p "$R"
	rm -f "$W"/{swA,swB,ovsdbA,ovsdbB,vswitchdA,vswitchdB,ovs,rx,tx}.{log,cmd}
	unset PID_swA PID_swB PID_ovsdbA PID_ovsdbB PID_vswitchdA PID_vswitchdB PID_rx PID_tx
	mem_opts
	hosts_up "$s" >"$W/hosts.log" 2>&1 || status=setup
	if [ "$status" = ok ]; then
		case $s in
		vhu)
			{ sw_up A "$NSA" "$UA" "$UB" "$bound" && sw_up B "$NSB" "$UB" "$UA" "$bound"; } || status=setup
			vdtx="net_virtio_user0,path=$R/A/vm,queues=1,$(devargs split-mrg),mac=$MTX"
			vdrx="net_virtio_user0,path=$R/B/vm,queues=1,$(devargs split-mrg),mac=$MRX" ;;
		kernel)
			{ kernel_host "$NSA" A "$UA" "$UB" && kernel_host "$NSB" B "$UB" "$UA"; } >"$W/kernel.log" 2>&1 || status=setup
			nstx=$NSA nsrx=$NSB
			vdtx="net_af_packet0,iface=gA" vdrx="net_af_packet0,iface=gB" ;;
		ovs)
			if [ "$HAVE_OVS" = 0 ]; then status=noovs
			else { ovs_host A "$NSA" "$UA" "$UB" "$bound" && ovs_host B "$NSB" "$UB" "$UA" "$bound"; } \
				>"$W/ovs.log" 2>&1 || status=setup; fi
			vdtx="net_virtio_user0,path=$R/ovsA/vhu0,queues=1,$(devargs split-mrg),mac=$MTX"
			vdrx="net_virtio_user0,path=$R/ovsB/vhu0,queues=1,$(devargs split-mrg),mac=$MRX" ;;
		esac
	fi
	if [ "$status" = ok ]; then
		tp rx "$bound" rxonly "$size" "$nsrx" "$vdrx"
		wait_for 20 grep -q 'NIC statistics for port 0' "$W/rx.log" || status=setup
	fi
	if [ "$status" = ok ]; then
		tp tx "$bound" txonly "$size" "$nstx" "$vdtx"
		wait_for 20 grep -q 'NIC statistics for port 0' "$W/tx.log" || status=setup
	fi
	if [ "$status" = ok ]; then
		sleep $((WARMUP + 1)); cpu_snap >"$R/cpu0"
		sleep $((SECS - WARMUP)); cpu_snap >"$R/cpu1"
		sleep 1
		bbe=$(cpu_busy "$R/cpu0" "$R/cpu1" "$CPU_BE"); bfe=$(cpu_busy "$R/cpu0" "$R/cpu1" "$CPU_FE")
		stop tx
		sleep 0.5 # what is in flight reaches the receiver
		case $s in
		vhu)
			"$VHU_CTL" --control "$R/ctlA" stats --json >"$R/statsA.json" 2>&1
			"$VHU_CTL" --control "$R/ctlB" stats --json >"$R/statsB.json" 2>&1 ;;
		kernel)
			cross=$(ifstat "$NSB" uB rx_packets)
			drops="uB:$(ifstat "$NSB" uB rx_dropped);gB:$(ifstat "$NSB" gB rx_dropped)" ;;
		ovs)
			# (OVS reads a vhost port's counters from the live device.)
			cross=$(ifstat "$NSB" uB rx_packets)
			local od; od=$(ovs-vsctl --timeout=10 --db=unix:"$R/ovsB/db.sock" get Interface vhu0 \
				statistics 2>/dev/null | sed -n 's/.*[{ ]tx_dropped=\([0-9]*\).*/\1/p')
			drops="B-vhu0-tx:${od:--};uB:$(ifstat "$NSB" uB rx_dropped)" ;;
		esac
		stop rx
		read -r mpps _ < <(tp_rates "$W/rx.log" 0 | steady); mpps=${mpps:--}
		read -r txm _ < <(tp_rates_dir "$W/tx.log" 0 tx | steady); txm=${txm:--}
		read -r rxn _ < <(tp_totals "$W/rx.log"); rxn=${rxn:--}
		read -r _ txn < <(tp_totals "$W/tx.log"); txn=${txn:--}
		local nsec; nsec=$(tp_rates "$W/rx.log" 0 | awk '$1 > 0 { n++ } END { print n + 0 }')
		if [ "$s" = vhu ]; then
			local vxrx vmtx
			read -r vxrx vmtx < <(sw_counts "$R/statsB.json" vx:rx_packets vm:tx_packets)
			cross=$vxrx
			drops=$(sw_counts "$R/statsA.json" vx:tx_mtu_dropped vx:tx_errors | tr ' ' /)
			drops="A:$drops;B:$(sw_counts "$R/statsB.json" vm:tx_dropped vx:rx_vxlan_bad vx:rx_vxlan_vni vx:rx_vxlan_src | tr ' ' /)"
			drops="$drops;B-udp-rcvbuf:$(nsx "$NSB" awk '/^Udp:/ && ++n == 2 { print $6 }' /proc/net/snmp)"
		fi
		if [ "$mpps" = - ] || [ "$rxn" = - ]; then status=fe
		elif [ "$nsec" -lt "$SECS" ]; then status=short
		elif [ "$cross" = - ] || [ "$cross" -lt "$rxn" ] ||
		     { [ "$s" = vhu ] && { [ "$vmtx" = - ] || [ "$vmtx" -lt "$rxn" ]; }; }; then status=path
		fi
	fi
	stop tx; stop rx; stop swA; stop swB; stop vswitchdA; stop vswitchdB; stop ovsdbA; stop ovsdbB
	[ "$rep" = 1 ] && save_cmds "vx-$s-$size" swA swB ovsdbA vswitchdA rx tx
	if [ "$status" != ok ] && [ "$status" != noovs ]; then
		keep_logs "vx-$s-$size-$rep" "$R/ovsA" swA swB rx tx hosts kernel ovs vswitchdB
	fi
	[ -n "${BENCH_KEEP:-}" ] && cp "$W"/{rx,tx,swA,swB}.log "$R"/ 2>/dev/null
	vx_down
	echo "$s,$size,$rep,$mpps,$txm,$rxn,$txn,$cross,$drops,$status,$bbe,$bfe" >>"$RAW"
	log "vxlan $s $size rep $rep: rx $mpps Mpps (tx $txm; rx total $rxn of $txn sent, crossed $cross; drops $drops; CPU $CPU_BE/$CPU_FE busy $bbe/$bfe) $status"
}

T0=$(date +%s)
echo "setup,size,rep,mpps,tx_mpps,rx_total,tx_total,crossed,drops,status,busy_cpu_be,busy_cpu_fe" >"$RAW"
each_run run_vx "$SIZES" "$SETUPS"
env_write vxlan "$SECS" "$T0" src include switch <<EOF
cpu_main=$CPU_BE
cpu_be=$CPU_BE
cpu_fe=$CPU_FE
cpu_swa=$CPU_SWA
cpu_swb=$CPU_SWB
cpu_tx=$CPU_TX
cpu_rx=$CPU_RX
underlay_mtu=$UMTU
dpdk=$(dpkg-query -W -f '${Version}' dpdk 2>/dev/null)
ovs=$(dpkg-query -W -f '${Version}' openvswitch-switch-dpdk 2>/dev/null)
kernel=$(uname -r)
EOF

vx_report "$OUT"
