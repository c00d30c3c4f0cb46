#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bench/gso_fe_report.py DIR: bench/gso_fe.sh's runs (DIR/gso_fe_raw.csv,
DIR/gso_fe.env) into DIR/gso_fe.csv (one line per mode) and the report's
section DIR/gso_fe.md."""
import os
import sys

from report_lib import (all_busy, compare_line, compare_peers, defs, first_rep_cmds, md_cells,
                        md_head, md_table_head, ovs_config, per_run, read_cmds, read_runs, spread,
                        spread_line, stamp, target_note, write_comparisons, write_md)

NAMES = {
    "vhu": "vhu-switch, 2 vhost-user ports",
    "ovs": "OVS-DPDK, netdev bridge, 2 dpdkvhostuserclient ports, userspace TSO",
    "ovs-srv": "OVS-DPDK, netdev bridge, 2 dpdkvhostuser ports, userspace TSO",
}
MODES = {
    "noverify": "vhu-fe --no-verify (headers and lengths checked; the payload is neither written "
                "nor summed by the sender, nor read by the receiver)",
    "verify": "vhu-fe's full check (FNV over every payload byte, both ends)",
}
CHECKS = {
    "setup": "switch, sockets or a frontend's connection failed",
    "notso": "a frontend did not get the TSO and checksum offloads",
    "fe": "a frontend exited non-zero or counted bad frames",
    "short": "fewer stats seconds with traffic than asked",
    "path": "the switch forwarded fewer frames (whole, for vhu-switch) than the receiver counted",
    "noovs": "OVS-DPDK not installed",
}
# Offload bits vhu-fe asks for with --tso (virtio-net feature numbers).
BITS = {0: "CSUM", 1: "GUEST_CSUM", 7: "GUEST_TSO4", 11: "HOST_TSO4"}
# The frontends' CPU this busy in every used run of both sides: they, not
# the switches, may set the pace.
BOUND = 0.90


def offloads(hexword):
    try:
        f = int(hexword, 16)
    except (TypeError, ValueError):
        return "-"
    got = [n for b, n in BITS.items() if f >> b & 1]
    return " ".join(got) if got else "none"


def main():
    d = sys.argv[1]
    meta, runs = read_runs(d, "gso_fe", lambda r: (r["setup"], r["mode"]))
    reps = int(meta.get("reps") or 0)
    modes = [m for m in MODES if any(k[1] == m for k in runs)]

    def stats(setup, mode):
        return spread(runs.get((setup, mode), []), "gbps")

    comps = []
    for m in modes:
        comps += compare_peers({s: stats(s, m) for s in ("vhu", "ovs")}, ("ovs",), reps, mode=m)

    write_comparisons(os.path.join(d, "gso_fe.csv"), "gso-fe", {"mode": "mode"}, comps)

    cbe, cfe = meta.get("cpu_switch"), meta.get("cpu_fe")
    size, mss = int(meta.get("size") or 65000), meta.get("mss")
    L = ["## 64 KiB TSO frames between two in-tree frontends\n"]
    L.append(stamp(meta, "gso_fe.sh") + "OVS "
             f"{meta.get('ovs') or '-'}; {reps} run(s) a setup and mode, {meta.get('seconds')} s "
             f"measured after {meta.get('warmup')} s of warm-up; {meta.get('duration_s')} s in all.\n")
    L.append(f"- Two vhu-fe (the in-tree frontend) with `--tso {mss} --pkt-size {size} --ring "
             f"{meta.get('ring')}`, each on one vhost-user port of the switch: one sends TCP/IPv4 GSO "
             f"frames (gso_size {mss}, partial checksum, {size - 54} bytes of payload) as fast as its "
             "ring takes them, the other takes them whole (GUEST_TSO4) and checks each. Switch made "
             "afresh for every run; the setups take turns (vhu-switch, OVS, then the other way round). "
             f"Rate: the receiver's good frames over the measured seconds times {size - 54} * 8 bits. "
             "How busy each CPU was comes from /proc/stat.")
    L.append(f"- CPUs: both vhu-fe on CPU {cfe} (`taskset`); vhu-switch's PMD on CPU {cbe} "
             f"(`--pmd-cpus {cbe}`); OVS's PMD on CPU {cbe} (pmd-cpu-mask), its other DPDK lcore "
             f"on CPU {cfe} (dpdk-lcore-mask). Neither switch has a flow: vhu-switch learns, OVS "
             "runs NORMAL; the receiver never sends, so both flood its frames to the one other port.")
    L.append("- OVS's ports are dpdkvhostuserclient (each vhu-fe listens with `--server`): on "
             "dpdkvhostuser (server) ports OVS 3.1 asks DPDK for linear buffers without external "
             "ones, and DPDK then withdraws HOST_TSO4 (its log: \"disabling host segmentation "
             "offloading support\"): the sender gets no TSO there (setup `ovs-srv`, "
             "BENCH_GSO_SETUPS, shows it; not in the default set).")
    L.append(f"- Switch cycles per frame: OVS's own count (`dpif-netdev/pmd-stats-show`, avg processing "
             "cycles per packet: TSC cycles of the PMD iterations that had packets); vhu-switch "
             f"counts none, so its CPU's busy share of the measured seconds at the nominal "
             f"{meta.get('cpu_mhz') or '-'} MHz per frame, an upper bound (its PMD spins 2000 idle "
             "polls before it naps, and those count as busy). Not the same measure: a hint of "
             "headroom when the frontends set the pace, not a ratio.")
    L.append("- Modes: " + defs(MODES) + ".")
    L.append("- Checks of every run; a run that fails one is not used: " + defs(CHECKS) + ".")
    L.append("")
    L.extend(md_head("scenario | mode", "vhu-switch Gbit/s", "OVS-DPDK Gbit/s"))
    for c in comps:
        note = [] if c["status"] == "ok" else [c["status"]]
        if c["ratio"] is not None:
            note.append(target_note(c["ratio"]))
        if all_busy(c["ours"], "busy_cpu_fe", BOUND) and all_busy(c["peer"], "busy_cpu_fe", BOUND):
            note.append(f"frontend-bound: CPU {cfe} {BOUND:.2f} busy or more in every run")
        L.append(f"| gso-fe | {c['mode']} | {md_cells(c)} | {'; '.join(note)} |")
    L.append("")
    L.extend(md_table_head("setup", "mode", "Gbit/s per run (rep order)", "status per run",
                           "kframes/s per run", "sender tx-full bursts",
                           "switch drops toward the receiver", "offloads sender / receiver",
                           "CPU busy switch / frontends", "switch cycles per frame"))
    for m in modes:
        for s, name in NAMES.items():
            rs = runs.get((s, m), [])
            if not rs:
                continue
            ol = sorted({f"{offloads(r['features_tx'])} / {offloads(r['features_rx'])}" for r in rs})
            L.append(f"| {name} | {m} | {per_run(rs, 'gbps')} | {per_run(rs, 'status')} | "
                     f"{per_run(rs, 'kfps')} | {per_run(rs, 'tx_full')} | "
                     f"{per_run(rs, 'switch_drops')} | {'; '.join(ol)} | "
                     f"{per_run(rs, lambda r: r['busy_cpu_switch'] + ' / ' + r['busy_cpu_fe'])} | "
                     f"{per_run(rs, lambda r: r.get('switch_cycles_per_frame') or '-')} |")
    L.append("")
    blocks = []
    for s, name in NAMES.items():
        cmds = read_cmds(os.path.join(d, "cmds"), f"gso-{s}-{modes[0] if modes else ''}",
                         ("ovsdb", "vswitchd", "be", "rx", "tx"))
        if not cmds:
            continue
        if s.startswith("ovs"):
            cmds.insert(1, ovs_config(1 << int(cfe or 0), 1 << int(cbe or 0), tso=True))
            cmds.insert(2, "# then: add-br br0 (datapath_type=netdev), add-port vhu0 and vhu1 "
                        + ("type=dpdkvhostuserclient options:vhost-server-path=DIR/vhu0 (vhu1)"
                           if s == "ovs" else "type=dpdkvhostuser") + " (ofport 1, 2)")
        blocks.append((f"{name} (mode {modes[0]}; the other mode differs in `--no-verify` only)", cmds))
    L.extend(first_rep_cmds(blocks))
    write_md(d, "gso_fe", L)
    for m in modes:
        for s in NAMES:
            x = stats(s, m)
            if x["all"]:
                print(f"gso-fe {s:4} {m:8} {spread_line(x, 'Gbit/s')}")
    for c in comps:
        print(f"gso-fe vhu/ovs {c['mode']:8} {compare_line(c)}")


if __name__ == "__main__":
    main()
