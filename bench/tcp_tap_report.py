#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bench/tcp_tap_report.py DIR: bench/tcp_tap.sh's runs (DIR/tcp_tap_raw.csv,
DIR/tcp_tap.env) into DIR/tcp_tap.csv (one line per comparison) and the
report's section DIR/tcp_tap.md (bench/report.py includes it), with the
hand-written bench/tcp_tap_notes.md at its end."""
import os
import sys

from report_lib import (all_busy, compare_line, compare_peers, defs, first_rep_cmds, md_cells,
                        md_head, md_table_head, ovs_config, per_run, read_cmds, read_runs, spread,
                        spread_line, stamp, target_note, write_comparisons, write_md)

NAMES = {
    "vhu": "vhu-switch, 2 tap ports",
    "ovs": "OVS-DPDK, netdev bridge, 2 tap ports, userspace TSO",
    "bridge": "Linux bridge, 2 veth pairs",
}
CHECKS = {
    "iperf": "iperf3 failed or gave no received sum",
    "short": "measured seconds short of the asked by over 10%",
    "path": "an interface's byte counter below what iperf3 counted",
    "setup": "switch, taps or namespaces could not be set up",
    "noovs": "OVS-DPDK not installed",
}
# iperf3's CPU this busy in every used run of both sides: the endpoints,
# not the switches, set the pace, and the ratio says little about them.
BOUND = 0.95


def main():
    d = sys.argv[1]
    meta, runs = read_runs(d, "tcp_tap", lambda r: r["setup"])
    reps = int(meta.get("reps") or 0)

    st = {s: spread(runs.get(s, []), "gbps") for s in NAMES}
    ours = st["vhu"]
    comps = compare_peers(st, ("ovs", "bridge"), reps)

    write_comparisons(os.path.join(d, "tcp_tap.csv"), "tcp-tap", {"peer": "setup"}, comps)

    cbe, cfe = meta.get("cpu_switch"), meta.get("cpu_iperf")
    L = ["## TCP between namespaces behind tap ports\n"]
    L.append(stamp(meta, "tcp_tap.sh") +
             f"{reps} run(s) a setup, {meta.get('seconds')} s measured after {meta.get('warmup')} s "
             f"omitted; iperf3 {meta.get('iperf3')}; {meta.get('duration_s')} s in all.\n")
    L.append("- One iperf3 TCP stream (`-c -t T -O W -J` in namespace A, `-s -1` in namespace B, "
             "169.254.30.1 and .2/16, MTU 1500), each namespace behind one port of the setup "
             "under test. Switch and namespaces are made afresh for every run; the setups take "
             "turns (vhu-switch, OVS, bridge, then the other way round). Rate: the receiver's "
             "Gbit/s over the measured seconds (`end.sum_received`). How busy each CPU was over "
             "those seconds comes from /proc/stat (user, system, irq, softirq over all).")
    L.append(f"- CPUs: iperf3 client and server both on CPU {cfe}; vhu-switch's PMD on CPU {cbe} "
             f"(`--pmd-cpus {cbe}`); ovs-vswitchd as a whole on CPU {cbe} (`taskset`, pmd-cpu-mask "
             f"and dpdk-lcore-mask CPU {cbe}): OVS polls tap ports from its main thread, not from a "
             f"PMD. The Linux bridge has no thread of its own: it forwards in the sender's context "
             f"on CPU {cfe}, and CPU {cbe} stays idle. A switch that writes into the receiver's tap "
             "also runs the receiver's TCP input in that write, on its own CPU.")
    L.append("- Checks of every run; a run that fails one is not used: "
             + defs(CHECKS) + ".")
    L.append("")
    L.extend(md_head("scenario | peer", "ours Gbit/s", "peer Gbit/s"))
    for c in comps:
        note = [] if c["status"] == "ok" else [c["status"]]
        if c["setup"] == "ovs" and c["ratio"] is not None:
            note.append(target_note(c["ratio"]))
        if all_busy(ours, "busy_cpu_iperf", BOUND) and all_busy(c["peer"], "busy_cpu_iperf", BOUND):
            note.append(f"endpoint-bound: iperf3's CPU {BOUND:.2f} busy or more in every run")
        L.append(f"| tcp-tap | {NAMES[c['setup']]} | {md_cells(c)} | {'; '.join(note)} |")
    L.append("")
    L.extend(md_table_head("setup", "Gbit/s per run (rep order)", "status per run",
                           "retransmits per run", "TSO at the sender's interface",
                           "CPU busy switch / iperf3 per run",
                           "offload frames whole / segmented / csum (vhu-switch)"))
    for s, name in NAMES.items():
        rs = st[s]["all"]
        if not rs:
            continue
        ol = "-"
        if s == "vhu":
            ol = per_run(rs, lambda r: f"{r['ol_whole']} / {r['ol_segmented']} / {r['ol_csum']}")
        L.append(f"| {name} | {per_run(rs, 'gbps')} | {per_run(rs, 'status')} | "
                 f"{per_run(rs, 'retransmits')} | {', '.join(sorted({r['tso'] for r in rs}))} | "
                 f"{per_run(rs, lambda r: r.get('busy_cpu_switch', '-') + ' / ' + r.get('busy_cpu_iperf', '-'))} | "
                 f"{ol} |")
    L.append("")
    blocks = []
    for s, name in NAMES.items():
        cmds = read_cmds(os.path.join(d, "cmds"), f"tcp-{s}", ("ovsdb", "vswitchd", "be", "srv", "cli"))
        if not cmds:
            continue
        if s == "ovs":
            cmds.append(ovs_config(1 << int(cbe or 0), 1 << int(cbe or 0), tso=True))
            cmds.append("# then: add-br br0 (datapath_type=netdev), add-port IFA and IFB type=tap; "
                        "ip link set IFA netns A (IFB netns B)")
        if s == "bridge":
            cmds.insert(0, "# ip netns add BR; ip -n BR link add br0 type bridge; ip link add IFA netns A "
                        "type veth peer name IFAp netns BR (IFB likewise); both BR ends enslaved to br0")
        blocks.append((name, cmds))
    L.extend(first_rep_cmds(blocks))
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp_tap_notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read().rstrip() + "\n")
    write_md(d, "tcp_tap", L)
    for s, name in NAMES.items():
        x = st[s]
        if x["all"]:
            print(f"tcp-tap {s:7} {spread_line(x, 'Gbit/s')}")
    for c in comps:
        print(f"tcp-tap vhu/{c['setup']:7} {compare_line(c)}")


if __name__ == "__main__":
    main()
