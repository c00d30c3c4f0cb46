#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/afxdp.sh [DIR | --report DIR]: vhost-user to AF_XDP and back (issue
# 18), Mpps at the frontend. Runs alone (as root, under flock
# /tmp/vhu-peer.lock like every peer run); bench/run.sh may call it.
#
# The "NIC" is a veth pair V1-V2 in a network namespace of this script's
# own (MTU 1500, no addresses, IPv6 off: the kernel sends nothing on it).
# The backend under test owns both ends through AF_XDP, so the pair is the
# wire that joins its two uplinks: two veth pairs with their far ends
# bridged would only add a forwarder that bounds the loop. The frontend is
# dpdk-testpmd with two virtio-user ports (io, --tx-first, as the switch
# rows of bench/run.sh), its port 0 on vhost-user port a, port 1 on b:
#
#   fe 0 -> a -> x1 (AF_XDP on V1) -> veth -> x2 (AF_XDP on V2) -> b -> fe 1
#   and back the same way: every frame the frontend receives was sent
#   through one AF_XDP socket and received through the other.
#
#   vhu    vhu-switch in the namespace: vhost-user:a, vhost-user:b,
#          afxdp:x1,ifname=V1 and afxdp:x2,ifname=V2 (mode auto: native
#          XDP on veth, copy mode), flows a->x1, x1->a, b->x2, x2->b.
#   ovs    OVS-DPDK (ovs-vswitchd in the namespace): br0 with dpdkvhostuser
#          vhu0, vhu1 (ofport 1, 2) and V1, V2 as type=dpdk ports over
#          DPDK's net_af_xdp (ofport 3, 4), flows 1->3, 3->1, 2->4, 4->2.
#   dpdk   the bare DPDK reference: testpmd io with net_vhost0,
#          net_af_xdp0 (V1), net_vhost1, net_af_xdp1 (V2): ports 0-1 and
#          2-3 paired.
#   veth   the bound: no vhost-user at all, testpmd io --tx-first with
#          net_af_xdp on V1 and V2 forwarding between them, its Rx-pps of
#          both ports summed (every frame crossed the veth once, as in the
#          loop above). What the veth driver and copy-mode AF_XDP allow
#          one core; a NIC with zero-copy AF_XDP lifts it.
#
# CPUs as in bench/run.sh: the backend's forwarding core (switch PMD, OVS
# PMD, testpmd's forwarding lcore; for veth, testpmd's) on CPU_BE, the
# frontend's forwarding lcore on CPU_FE, main lcores on the other CPU. The
# kernel's share (veth transmit, its NAPI with the XDP program, the
# redirect into the other socket) runs in the backend's sendto on CPU_BE:
# copy mode sends inside the system call.
#
# Every run is checked, and a run that fails is not used:
#   setup   namespace, veth, switch, OVS (its ports' error column) or a
#           testpmd failed to start
#   fe      no rate, or no final count
#   short   fewer stats seconds with traffic than SECS
#   path    the veth pair carried fewer frames (tx of V1 and V2) than the
#           frontend received: frames took another way
#   noovs   OVS-DPDK is not installed
# Recorded beside each run: the frontend's total rx, what the veth
# carried, drops (vhu: x1/x2 tx_dropped and the sockets' kernel drops;
# every side: the veths' rx/tx_dropped), how busy each CPU was.
#
# Environment: BENCH_REPS (3) BENCH_SECONDS (4) BENCH_WARMUP (1);
# BENCH_XDP_SETUPS ("vhu ovs dpdk veth"); BENCH_XDP_SIZES ("64 1518");
# BENCH_XDP_SWITCH_ARGS (more vhu-switch options, e.g. --zero-copy);
# BENCH_KEEP=1 (keep the work dir); VHU_BUILD (build).
# Output in DIR (default BENCH_OUT, else bench/): afxdp_raw.csv (every
# run), afxdp.csv (one line per size and peer, results.csv's columns),
# afxdp.md (the report's section), afxdp.env, failed runs' logs in
# failed/xdp-*.log, the first rep's commands in cmds/xdp-*.cmd. Everything
# this creates (processes, the namespace and its veths, DPDK runtime
# files) is removed on exit, failure and interrupt included.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
. "$BENCH/lib.sh"
REPS=${BENCH_REPS:-3} SECS=${BENCH_SECONDS:-4}

# xdp_report DIR: DIR/afxdp_raw.csv and afxdp.env into afxdp.csv and
# afxdp.md, from report_lib's pieces.
xdp_report() {
PYTHONPATH=$BENCH python3 - "$1" <<'EOF'
import os, sys
from report_lib import (compare_line, compare_peers, defs, first_rep_cmds, fmt, md_cells, md_head,
                        md_table_head, per_run, read_cmds, read_runs, spread, spread_line, stamp,
                        write_comparisons, write_md)
d = sys.argv[1]
meta, runs = read_runs(d, "afxdp", lambda r: (r["setup"], r["size"]))
reps = int(meta.get("reps") or 0)
sizes = sorted({k[1] for k in runs}, key=int)
NAMES = {"vhu": "vhu-switch, vhost-user a, b + afxdp x1, x2; port flows",
         "ovs": "OVS-DPDK, dpdkvhostuser + type=dpdk net_af_xdp ports; in_port flows",
         "dpdk": "testpmd io, net_vhost x2 + net_af_xdp x2",
         "veth": "veth bound: testpmd io --tx-first, net_af_xdp on both ends, no vhost-user"}
CHECKS = {"setup": "the namespace, a backend or a testpmd failed to start",
          "fe": "no rate or no final count",
          "short": "fewer seconds with traffic than asked",
          "path": "the veth pair carried fewer frames than the frontend received",
          "noovs": "OVS-DPDK not installed"}
comps, st = [], {}
for z in sizes:
    st[z] = {s: spread(runs.get((s, z), []), "mpps") for s in NAMES}
    for s, x in st[z].items():
        if x["all"]:
            print(f"afxdp {z:>5} {s:5} {spread_line(x, 'Mpps')}")
    comps += compare_peers(st[z], ("ovs", "dpdk"), reps, size=z)
write_comparisons(os.path.join(d, "afxdp.csv"), "afxdp-loop", {"size": "size", "peer": "setup"},
                  comps, "mpps")
for c in comps:
    print(f"afxdp {c['size']:>5} vhu/{c['setup']:4} {compare_line(c)}")
bound = {}
for z in sizes:
    v, u = st[z]["veth"], st[z]["vhu"]
    if v["med"]:
        bound[z] = (f"{z} bytes: {fmt(v['med'])} Mpps (min {fmt(v['min'])}, max {fmt(v['max'])}, "
                    f"{v['n']} runs)" + (f"; ours at {fmt(u['med'] / v['med'])} of it" if u["med"] else ""))
        print(f"afxdp {z:>5} veth bound {bound[z]}")
L = ["## vhost-user to AF_XDP and back\n",
     stamp(meta, "afxdp.sh") + f"{reps} run(s) a side, "
     f"{meta.get('seconds')} s from the first second with traffic, the first {meta.get('warmup')} left out; "
     f"DPDK {meta.get('dpdk')}, OVS {meta.get('ovs')}, kernel {meta.get('kernel')}; {meta.get('duration_s')} s in all.\n",
     "- The NIC is a veth pair in a network namespace of the script's own; the backend owns both "
     "ends through AF_XDP (native XDP, copy mode: veth has no zero-copy), so the pair is the wire "
     "between its two uplinks. dpdk-testpmd with two virtio-user ports (io, `--tx-first`, split ring "
     "256, mergeable buffers) sends on port 0 to vhost-user port a, which goes out x1 (V1), over the "
     "veth, in x2 (V2), to port b and the frontend's port 1, and back the same way. Rate: the "
     "frontend's Rx-pps, both ports summed: each of those frames crossed AF_XDP twice (sent, received).",
     f"- CPUs: the backend's forwarding core (vhu-switch `--pmd-cpus`, OVS `pmd-cpu-mask`, testpmd's "
     f"forwarding lcore) on CPU {meta.get('cpu_be')}, with the kernel's share (veth transmit, its NAPI "
     "running the XDP program, the redirect into the other socket: copy mode sends inside the "
     f"backend's `sendto`); the frontend's forwarding lcore on CPU {meta.get('cpu_fe')}; each testpmd's "
     "main lcore on the CPU its forwarding lcore leaves (asleep between stats lines); OVS's main "
     f"thread on CPU {meta.get('cpu_fe')}. The veth bound's testpmd forwards on CPU "
     f"{meta.get('cpu_be')} alone: no frontend.",
     "- Sides: " + defs(NAMES) + ". Setups are made afresh for every run; the sides take turns.",
     "- Checks of every run; a run that fails one is not used: " + defs(CHECKS) + ".", ""]
if bound:
    L.append("**veth bound** (what the veth driver and copy-mode AF_XDP allow one core, with no "
             "vhost-user in the path; a NIC with zero-copy AF_XDP lifts it): " + "; ".join(bound.values()) + ".\n")
L.extend(md_head("scenario | size | peer", "ours Mpps", "peer Mpps"))
for c in comps:
    L.append(f"| vhost-user to AF_XDP and back | {c['size']} | {c['setup']} | {md_cells(c)} | "
             f"{'' if c['status'] == 'ok' else c['status']} |")
L.append("")
L.extend(md_table_head("side", "size", "Mpps per run (rep order)", "status", "veth carried / fe rx",
                       "drops", f"CPU busy {meta.get('cpu_be')} / {meta.get('cpu_fe')}"))
for (s, z), rs in sorted(runs.items(), key=lambda kv: (list(NAMES).index(kv[0][0]), int(kv[0][1]))):
    L.append(f"| {s} | {z} | {per_run(rs, 'mpps')} | {per_run(rs, 'status')} | "
             f"{per_run(rs, lambda r: r['crossed'] + ' / ' + r['rx_total'])} | {per_run(rs, 'drops')} | "
             f"{per_run(rs, lambda r: r['busy_cpu_be'] + ' / ' + r['busy_cpu_fe'])} |")
L.append("")
blocks = []
for s in NAMES:
    cmds = read_cmds(os.path.join(d, "cmds"), f"xdp-{s}-{sizes[0]}" if sizes else "",
                     ("sw", "ovsdb", "vswitchd", "be", "fe"))
    if s == "ovs" and cmds:
        cmds.insert(1, "# before ovs-vswitchd: ovsdb-tool create, ovs-vsctl --no-wait init, set Open_vSwitch . "
                    "other_config:dpdk-init=true dpdk-lcore-mask=CPU_FE pmd-cpu-mask=CPU_BE dpdk-socket-mem=512 "
                    "dpdk-extra='--no-pci --file-prefix=...'")
        cmds.insert(3, "ovs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev -- add-port br0 vhu0 -- set "
                    "Interface vhu0 type=dpdkvhostuser ofport_request=1 (vhu1: 2) -- add-port br0 x1 -- set "
                    "Interface x1 type=dpdk options:dpdk-devargs=net_af_xdp0,iface=V1,start_queue=0,queue_count=1 "
                    "ofport_request=3 (x2: net_af_xdp1 on V2, 4)\n"
                    "ovs-ofctl add-flow br0 in_port=1,actions=output:3 (3->1, 2->4, 4->2)")
    if cmds:
        blocks.append((NAMES[s], cmds))
L.extend(first_rep_cmds(blocks))
write_md(d, "afxdp", L)
EOF
}

# bench/afxdp.sh --report DIR: the report again from DIR's runs.
[ "${1:-}" = --report ] && { xdp_report "$2"; exit; }

OUT=${1:-${BENCH_OUT:-$BENCH}}
SETUPS=${BENCH_XDP_SETUPS:-vhu ovs dpdk veth}
SIZES=${BENCH_XDP_SIZES:-64 1518}
RAW=$OUT/afxdp_raw.csv
XDP_Q=start_queue=0,queue_count=1

mkdir -p "$OUT"
skip_all() { not_run afxdp AF_XDP "vhost-user to AF_XDP and back" "$1"; }
[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, XDP)"
for c in ip dpdk-testpmd taskset timeout python3; do
	command -v "$c" >/dev/null || skip_all "$c is missing (make bench installs it)"
done
[ -x "$VHU_SWITCH" ] && [ -x "$VHU_CTL" ] || { echo "afxdp: vhu-switch is not built; run make build" >&2; exit 1; }

# Names of our own, so that cleanup removes nothing else.
NS=vhuxdp-$$ V1=xv1-$$ V2=xv2-$$
V1=${V1:0:15} V2=${V2:0:15}
W=$(mktemp -d /tmp/vhu-xdp.XXXXXX)
xdp_down() { ip netns del "$NS" 2>/dev/null; return 0; }
# The backends go before the namespace (cleanup stops them by PID).
trap 'cleanup; xdp_down' EXIT
trap 'exit 130' INT TERM
setup_hugepages
rm -rf "$OUT"/failed/xdp-*.log "$OUT"/cmds/xdp-*.cmd
log "afxdp: work dir $W; setups $SETUPS; sizes $SIZES; reps $REPS x ${SECS}s (${WARMUP}s warm-up left out); backend on CPU $CPU_BE, frontend on $CPU_FE"

ns_up() {
	ip netns add "$NS" &&
	nsx "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
	ip -n "$NS" link add "$V1" type veth peer name "$V2" &&
	ip -n "$NS" link set lo up && ip -n "$NS" link set "$V1" up && ip -n "$NS" link set "$V2" up
}

# be_tp NAME BOUND SIZE MODE_ARGS VDEV...: testpmd in the namespace, its
# forwarding lcore on CPU_BE.
be_tp() {
	local n=$1 bound=$2 size=$3 app=$4 vd=() v; shift 4
	for v in "$@"; do vd+=(--vdev "$v"); done
	prefix xdp
	# shellcheck disable=SC2086 # app: options, split on purpose
	bg "$n" "$bound" ip netns exec "$NS" dpdk-testpmd --lcores "0@$CPU_FE,1@$CPU_BE" --no-pci \
		--file-prefix="$PFX" --single-file-segments "${MEM[@]}" "${vd[@]}" -- \
		--nb-cores=1 --forward-mode=io --stats-period 1 --txpkts="$size" "${MBUFS[@]}" $app
}

# ovs_xdp BOUND: OVS-DPDK for the ovs side, state in $R/ovs.
ovs_xdp() {
	local d=$R/ovs
	OVS_NS=$NS ovs_up "$d" "$1" "$CPU_FE" "" && ovs_vhost_ports "$d" 2 dpdkvhostuser || return 1
	"${V[@]}" add-port br0 x1 -- set Interface x1 type=dpdk \
		options:dpdk-devargs="net_af_xdp0,iface=$V1,$XDP_Q" ofport_request=3 \
		-- add-port br0 x2 -- set Interface x2 type=dpdk \
		options:dpdk-devargs="net_af_xdp1,iface=$V2,$XDP_Q" ofport_request=4 || return 1
	local f
	for f in 1,3 3,1 2,4 4,2; do ovs-ofctl add-flow br0 "in_port=${f%,*},actions=output:${f#*,}" || return 1; done
	# A port DPDK could not open is in the database all the same, its
	# reason in the error column.
	local e; e=$("${V[@]}" get Interface x1 error -- get Interface x2 error)
	echo "x1, x2 error: $e"
	! grep -q '"' <<<"$e"
}

# has_rate LOG: testpmd's LOG has printed a non-zero Rx-pps.
has_rate() { tp_rates "$1" 0,1 | grep -q '[1-9]'; }

# carried: frames the veth pair carried, both ways (its transmit counters).
carried() { echo $(( $(ifstat "$NS" "$V1" tx_packets) + $(ifstat "$NS" "$V2" tx_packets) )); }

# pmd_run_ns PID: nanoseconds the switch's PMD thread (sw-pmd) has run
# (schedstat: time on a CPU, not time preempted), 0 when not found.
pmd_run_ns() {
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = sw-pmd ] && { cut -d' ' -f1 "$t/schedstat"; return; }
	done
	echo 0
}

# pmd_ns_pkt FILE RUN_NS: the PMD's own time per packet it received over
# the stats window: its busy share of the run time it had, over the
# packets pmd-stats counted. Unlike Mpps it does not move when another
# program takes CPU time from the switch or the frontend.
pmd_ns_pkt() {
	awk -v run="$2" '/busy/ { for (i = 1; i < NF; i++) { if ($i == "busy" && b == "") b = $(i + 1); if ($i == "packets") p = $(i + 1) } }
		END { gsub(",", "", p); if (p > 0 && run > 0) printf "%.0f", b / 100 * run / p; else print "-" }' "$1"
}

# run_xdp SETUP SIZE REP: one run; appends its line to RAW.
run_xdp() {
	local s=$1 size=$2 rep=$3 bound=$((SECS + 40)) status=ok
	local mpps=- rxn=- cross=- drops=- bbe=- bfe=- src=fe s1 s2 swp= run0=0 nspk=-
	R=$W/$s-$size-$rep
	mkdir -p "$R"
	rm -f "$W"/{sw,ovsdb,vswitchd,be,fe,ns,ovs}.{log,cmd}
	unset PID_sw PID_ovsdb PID_vswitchd PID_be PID_fe
	mem_opts
	ns_up >"$W/ns.log" 2>&1 || status=setup
	if [ "$status" = ok ]; then
		case $s in
		vhu)
			mkdir -p "$R/sw"
			bg sw "$bound" ip netns exec "$NS" "$VHU_SWITCH" --control "$R/ctl" --socket-dir "$R/sw" \
				--pmd-cpus "$CPU_BE" ${BENCH_XDP_SWITCH_ARGS:-} --port vhost-user:a --port vhost-user:b \
				--port "afxdp:x1,ifname=$V1" --port "afxdp:x2,ifname=$V2" \
				--flow in_port=a,actions=output:x1 --flow in_port=x1,actions=output:a \
				--flow in_port=b,actions=output:x2 --flow in_port=x2,actions=output:b
			s1=$R/sw/a s2=$R/sw/b ;;
		ovs)
			if [ "$HAVE_OVS" = 0 ]; then status=noovs
			else ovs_xdp "$bound" >"$W/ovs.log" 2>&1 || status=setup; fi
			s1=$R/ovs/vhu0 s2=$R/ovs/vhu1 ;;
		dpdk)
			s1=$R/vh0 s2=$R/vh1
			be_tp be "$bound" "$size" "" "net_vhost0,iface=$s1,queues=1" "net_af_xdp0,iface=$V1,$XDP_Q" \
				"net_vhost1,iface=$s2,queues=1" "net_af_xdp1,iface=$V2,$XDP_Q" ;;
		veth)
			src=be
			be_tp be "$bound" "$size" --tx-first "net_af_xdp0,iface=$V1,$XDP_Q" "net_af_xdp1,iface=$V2,$XDP_Q" ;;
		esac
	fi
	if [ "$status" = ok ] && [ "$s" != veth ]; then
		{ wait_for 20 test -S "$s1" && wait_for 10 test -S "$s2"; } || status=setup
		[ "$status" = ok ] && fe fe "$bound" io "$size" split-mrg "$s1" "$s2"
	fi
	if [ "$status" = ok ]; then
		wait_for 20 has_rate "$W/$src.log" || status=setup
	fi
	if [ "$status" = ok ]; then
		sleep $((WARMUP + 1)); cpu_snap >"$R/cpu0"
		if [ "$s" = vhu ]; then
			swp=$(child "$(pid_of sw)")
			"$VHU_CTL" --control "$R/ctl" pmd-stats-clear >/dev/null 2>&1
			run0=$(pmd_run_ns "$swp")
		fi
		sleep $((SECS - WARMUP)); cpu_snap >"$R/cpu1"
		if [ "$s" = vhu ]; then
			"$VHU_CTL" --control "$R/ctl" pmd-stats >"$R/pmd" 2>&1
			nspk=$(pmd_ns_pkt "$R/pmd" $(( $(pmd_run_ns "$swp") - run0 )))
		fi
		sleep 1
		bbe=$(cpu_busy "$R/cpu0" "$R/cpu1" "$CPU_BE"); bfe=$(cpu_busy "$R/cpu0" "$R/cpu1" "$CPU_FE")
		stop "$src"
		sleep 0.3
		cross=$(carried)
		drops="veth:$(( $(ifstat "$NS" "$V1" rx_dropped) + $(ifstat "$NS" "$V2" rx_dropped) ))"
		drops="$drops/$(( $(ifstat "$NS" "$V1" tx_dropped) + $(ifstat "$NS" "$V2" tx_dropped) ))"
		if [ "$s" = vhu ]; then
			"$VHU_CTL" --control "$R/ctl" stats --json >"$R/stats.json" 2>&1
			drops="$drops;x1:$(sw_counts "$R/stats.json" x1:tx_dropped x1:xsk_rx_dropped x1:rx_dropped | tr ' ' /)"
			drops="$drops;x2:$(sw_counts "$R/stats.json" x2:tx_dropped x2:xsk_rx_dropped x2:rx_dropped | tr ' ' /)"
		fi
		local ports=0,1
		read -r mpps _ < <(tp_rates "$W/$src.log" "$ports" | steady); mpps=${mpps:--}
		read -r rxn _ < <(tp_totals "$W/$src.log"); rxn=${rxn:--}
		local nsec; nsec=$(tp_rates "$W/$src.log" "$ports" | awk '$1 > 0 { n++ } END { print n + 0 }')
		if [ "$mpps" = - ] || [ "$rxn" = - ]; then status=fe
		elif [ "$nsec" -lt "$SECS" ]; then status=short
		elif [ "$cross" -lt "$rxn" ]; then status=path
		fi
	fi
	stop fe; stop be; stop sw
	if [ "$s" = ovs ]; then ovs_down; fi
	[ "$rep" = 1 ] && save_cmds "xdp-$s-$size" sw ovsdb vswitchd be fe
	if [ "$status" != ok ] && [ "$status" != noovs ]; then
		keep_logs "xdp-$s-$size-$rep" "$R/ovs" sw be fe ns ovs
	fi
	[ -n "${BENCH_KEEP:-}" ] && cp "$W"/{sw,be,fe,ovs}.log "$R"/ 2>/dev/null
	xdp_down
	echo "$s,$size,$rep,$mpps,$rxn,$cross,$drops,$status,$bbe,$bfe" >>"$RAW"
	log "afxdp $s $size rep $rep: $mpps Mpps (rx total $rxn, veth carried $cross; drops $drops; CPU $CPU_BE/$CPU_FE busy $bbe/$bfe; switch PMD ns/packet $nspk) $status"
}

T0=$(date +%s)
echo "setup,size,rep,mpps,rx_total,crossed,drops,status,busy_cpu_be,busy_cpu_fe" >"$RAW"
each_run run_xdp "$SIZES" "$SETUPS"
env_write afxdp "$SECS" "$T0" src include switch <<EOF
cpu_be=$CPU_BE
cpu_fe=$CPU_FE
dpdk=$(dpkg-query -W -f '${Version}' dpdk 2>/dev/null)
ovs=$(dpkg-query -W -f '${Version}' openvswitch-switch-dpdk 2>/dev/null)
kernel=$(uname -r)
EOF

xdp_report "$OUT"
