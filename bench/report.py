#!/usr/bin/env python3
"""bench/report.py: turns bench/run.sh's raw runs into results.csv, the
markdown report and its gnuplot chart. Called by bench/run.sh."""
import argparse
import csv
import os
import statistics
import subprocess
import tempfile

SCEN = {
    "dequeue": ("testpmd txonly -> vhu-fwd rxonly", "-> net_vhost rxonly", "backend rx"),
    "enqueue": ("vhu-fwd txonly -> testpmd rxonly", "net_vhost txonly ->", "frontend rx"),
    "loopback": ("testpmd io 2 ports <-> vhu-fwd io", "<-> net_vhost io (2 vdevs)", "frontend rx, both ports"),
    "switch-normal": ("testpmd io 2 ports <-> vhu-switch (learning)", "<-> OVS-DPDK NORMAL", "frontend rx, both ports"),
    "switch-p2p": ("testpmd io 2 ports <-> vhu-switch port flows a->b, b->a", "<-> OVS-DPDK in_port flows", "frontend rx, both ports"),
}
RINGS = {
    "split-mrg": "split, mrg_rxbuf=1, in_order=0",
    "split-nomrg": "split, mrg_rxbuf=0, in_order=0",
    "split-inorder": "split, mrg_rxbuf=1, in_order=1",
    "packed": "packed_vq=1, mrg_rxbuf=1, in_order=0",
}
SHORT = 0.90  # rows below this ratio get a note


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, p=2):
    return "-" if x is None else f"{x:.{p}f}"


def main():
    ap = argparse.ArgumentParser()
    for a in ("raw", "mem", "meta", "cmds", "csv", "md", "png", "plot"):
        ap.add_argument("--" + a, required=True)
    o = ap.parse_args()

    meta = {}
    with open(o.meta) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    ghz = (fnum(meta.get("mhz")) or 0) / 1000.0
    perf = meta.get("perf_cycles") == "1"

    rows, order = {}, []
    with open(o.raw) as f:
        for r in csv.DictReader(f):
            key = (r["scenario"], r["size"], r["ring"])
            if key not in rows:
                rows[key] = {"ours": [], "peer": [], "features": ""}
                order.append(key)
            rows[key][r["side"]].append(r)
            if r["side"] == "ours" and r["features"] not in ("", "-"):
                rows[key]["features"] = r["features"]

    def side_stats(runs):
        ok = [r for r in runs if r["status"] == "ok" and fnum(r["mpps"])]
        mpps = [fnum(r["mpps"]) for r in ok]
        cyc = []
        for r in ok:
            m = fnum(r["mpps"])
            if perf and fnum(r["cycles_per_s"]):
                cyc.append(fnum(r["cycles_per_s"]) / (m * 1e6))
            elif fnum(r["cpu_util"]) is not None and ghz:
                cyc.append(fnum(r["cpu_util"]) * ghz * 1e3 / m)
        util = med([fnum(r["cpu_util"]) for r in ok])
        bad = sorted({r["status"] for r in runs if r["status"] != "ok"})
        return {"med": med(mpps), "min": min(mpps) if mpps else None,
                "max": max(mpps) if mpps else None, "n": len(mpps),
                "cyc": med(cyc), "util": util, "bad": bad}

    results = []
    for key in order:
        sc, size, ring = key
        ours, peer = side_stats(rows[key]["ours"]), side_stats(rows[key]["peer"])
        status = "ok"
        if "unsupported" in ours["bad"]:
            status = "not supported"
        elif ours["med"] is None or peer["med"] is None:
            status = "failed: " + ",".join((["ours " + b for b in ours["bad"]] +
                                           ["peer " + b for b in peer["bad"]]) or ["no rate"])
        ratio = ours["med"] / peer["med"] if status == "ok" else None
        results.append({"sc": sc, "size": size, "ring": ring, "ours": ours, "peer": peer,
                        "ratio": ratio, "status": status, "features": rows[key]["features"]})

    with open(o.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "size", "ring", "ours_mpps", "peer_mpps", "ratio",
                    "ours_min", "ours_max", "peer_min", "peer_max", "ours_runs", "peer_runs",
                    "ours_cycles_per_pkt", "peer_cycles_per_pkt", "ours_cpu_util", "peer_cpu_util",
                    "status", "ours_features"])
        for r in results:
            u, p = r["ours"], r["peer"]
            w.writerow([r["sc"], r["size"], r["ring"], fmt(u["med"], 3), fmt(p["med"], 3),
                        fmt(r["ratio"], 3), fmt(u["min"], 3), fmt(u["max"], 3), fmt(p["min"], 3),
                        fmt(p["max"], 3), u["n"], p["n"], fmt(u["cyc"], 0), fmt(p["cyc"], 0),
                        fmt(u["util"], 3), fmt(p["util"], 3), r["status"], r["features"]])

    # Chart: ratio per row.
    png_ok = False
    plotted = [r for r in results if r["ratio"] is not None]
    if plotted:
        with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as d:
            for i, r in enumerate(plotted):
                d.write(f'{i} "{r["sc"]} {r["size"]} {r["ring"]}" {r["ratio"]:.4f}\n')
        title = f"vhu / peer, median Mpps ({meta.get('reps')} reps x {meta.get('seconds')} s, {meta.get('date')})"
        try:
            subprocess.run(["gnuplot", "-e", f"datafile='{d.name}'; outfile='{o.png}'; ntitle='{title}'",
                            o.plot], check=True)
            png_ok = True
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"report: gnuplot failed: {e}")
        os.unlink(d.name)

    mem = []
    if os.path.exists(o.mem):
        with open(o.mem) as f:
            mem = list(csv.DictReader(f))

    def cmd(name):
        p = os.path.join(o.cmds, name + ".cmd")
        if os.path.exists(p):
            with open(p) as f:
                return f.read().strip().replace("\\,", ",")
        return None

    L = []
    L.append("# Benchmarks: libvhu vs DPDK vhost / OVS-DPDK\n")
    L.append("Generated by `make bench` (bench/run.sh, bench/report.py); raw runs in "
             "bench/raw.csv, one line per row in bench/results.csv.\n")
    L.append("## Machine\n")
    L.append(f"- {meta.get('nproc')} CPUs: {meta.get('cpu')} ({meta.get('mhz')} MHz), kernel {meta.get('kernel')}")
    L.append(f"- DPDK {meta.get('dpdk') or '?'} (dpdk-testpmd, net_vhost), Open vSwitch "
             f"{meta.get('ovs') or 'not installed'} (openvswitch-switch-dpdk), QEMU {meta.get('qemu') or '-'} (not used here)")
    L.append(f"- hugepages: {'yes (2 MiB, /dev/hugepages)' if meta.get('hugepages') == '1' else 'no, --no-huge'}; "
             f"perf hardware counters: {'yes' if perf else 'no (cycles estimated from CPU time x clock)'}")
    L.append(f"- run {meta.get('date')}, libvhu at {meta.get('commit')}; {meta.get('reps')} reps a side, "
             f"{meta.get('seconds')} s a run, {meta.get('warmup')} s warm-up; whole suite {meta.get('duration_s')} s")
    L.append(f"- load average at start {meta.get('load_start')}, at end {meta.get('load_end')}: the machine "
             "has 2 vCPUs, so a load of 2 is the benchmark's own two busy pollers; identical runs on "
             "it differ by up to 2x (min-max columns), so absolute numbers are noisy; the ratios "
             "compare runs interleaved in time (ours, peer, peer, ours, ...).\n")

    L.append("## Method\n")
    L.append("- Frontend: dpdk-testpmd with virtio-user (one forwarding lcore on the last CPU, main "
             "lcore on CPU 0), the same command for both sides. Backend under test: one "
             "forwarding core on CPU 0 (vhu-fwd / vhu-switch `--pmd-cpus 0` / net_vhost "
             "`--lcores 0@1,1@0` / OVS `pmd-cpu-mask=0x1`).")
    L.append("- Rate: the receiving side's counters, one value per second (testpmd "
             "`--stats-period 1` Rx-pps with ANSI escapes stripped, or vhu-fwd's `stats:` rx-mpps); "
             f"of the {meta.get('seconds')} periods from the first non-zero one, the warm-up ones are dropped "
             "and the rest averaged (the frontend is stopped once they are printed). Table: median over the reps; ratio = ours/peer.")
    L.append("  - dequeue: backend rx (vhu-fwd stats / net_vhost testpmd Rx-pps). enqueue: frontend "
             "testpmd rxonly Rx-pps. loopback and switch: frontend Rx-pps of both ports summed "
             "(the packets that made the whole loop).")
    L.append("- Sizes: testpmd `--txpkts` / vhu-fwd `--pkt-size` (frame bytes without FCS).")
    L.append("- Rings (virtio-user devargs): " + "; ".join(f"{k}: `{v}`" for k, v in RINGS.items()) + ".")
    L.append("- CPU cost: " + ("`perf stat -e cycles -p PID` on the backend process over the steady window, "
                               "divided by the packets in it." if perf else
                               "perf has no hardware counters here (`perf stat -e instructions true` says "
                               "<not supported>), so utime+stime from /proc/PID/stat of the backend process "
                               "over the steady window x the clock rate / packets. On a core of its own a "
                               "busy-polling backend is 1.00 CPU busy and this is just 1e3 x GHz / Mpps; here "
                               "other engineers' tests share both CPUs, the backends got well under a full CPU "
                               "(column util), and cycles/packet corrects the rate for the time the backend was "
                               "not scheduled (it still counts polling spins while the frontend was off-CPU). "
                               "It is the less noisy of the two figures on this machine."))
    L.append("")

    L.append("## Results\n")
    if png_ok:
        L.append(f"![ours/peer per row]({os.path.basename(o.png)})\n")
    L.append("| scenario | size | ring | ours Mpps | peer Mpps | ratio | ours cyc/pkt | peer cyc/pkt | util ours/peer | ours min-max | peer min-max | note |")
    L.append("|---|---:|---|---:|---:|---:|---:|---:|---|---|---|---|")
    for r in results:
        u, p = r["ours"], r["peer"]
        note = "" if r["status"] == "ok" else r["status"]
        if r["ratio"] is not None and r["ratio"] < SHORT:
            note = (note + " " if note else "") + "short"
        if r["status"] == "not supported":
            L.append(f"| {r['sc']} | {r['size']} | {r['ring']} | not supported | - | - | - | - | - | - | - | libvhu did not negotiate packed |")
            continue
        L.append(f"| {r['sc']} | {r['size']} | {r['ring']} | {fmt(u['med'])} | {fmt(p['med'])} | "
                 f"{fmt(r['ratio'])} | {fmt(u['cyc'], 0)} | {fmt(p['cyc'], 0)} | {fmt(u['util'])}/{fmt(p['util'])} | "
                 f"{fmt(u['min'])}-{fmt(u['max'])} | {fmt(p['min'])}-{fmt(p['max'])} | {note} |")
    L.append("")
    ok = [r for r in results if r["ratio"] is not None]
    if ok:
        gm = statistics.geometric_mean([r["ratio"] for r in ok])
        L.append(f"Geometric mean of the Mpps ratios over {len(ok)} rows: {gm:.2f}.")
        cy = [r["peer"]["cyc"] / r["ours"]["cyc"] for r in ok if r["ours"]["cyc"] and r["peer"]["cyc"]]
        if cy:
            L.append(f"Geometric mean of peer cycles/packet over ours (above 1: we spend fewer cycles "
                     f"a packet) over {len(cy)} rows: {statistics.geometric_mean(cy):.2f}.")
        L.append("")

    if mem:
        L.append("## Memory: 64 idle vhost-user ports\n")
        L.append("| backend | ports | VmRSS MiB | VmHWM MiB | note |")
        L.append("|---|---:|---:|---:|---|")
        for m in mem:
            L.append(f"| {m['backend']} | {m['ports']} | {int(m['vmrss_kib']) / 1024:.1f} | "
                     f"{int(m['vmhwm_kib']) / 1024:.1f} | {m['note']} |")
        L.append("")

    L.append("## Commands\n")
    L.append("As run for the 64-byte split-mrg row (`$W` is the run's temp dir; other rows change "
             "the devargs and `--txpkts`/`--pkt-size`). Every process runs under `timeout`.\n")
    seen = False
    for sc in SCEN:
        for side in ("ours", "peer"):
            names = ["be", "fe"] if not (sc.startswith("switch") and side == "peer") else ["ovsdb", "vswitchd", "fe"]
            cs = [(n, cmd(f"{sc}-{side}-split-mrg-{n}")) for n in names]
            cs = [(n, c) for n, c in cs if c]
            if not cs:
                continue
            seen = True
            L.append(f"{sc}, {side}:\n")
            L.append("```")
            for n, c in cs:
                L.append(c)
            if sc.startswith("switch") and side == "peer":
                L.append("# before ovs-vswitchd: ovsdb-tool create, ovs-vsctl --no-wait init, set "
                         "Open_vSwitch . other_config:dpdk-init=true dpdk-lcore-mask=0x2 "
                         "pmd-cpu-mask=0x1 dpdk-socket-mem=512 dpdk-extra='--no-pci --file-prefix=...'")
                L.append("# then: add-br br0 (datapath_type=netdev), add-port vhu0/vhu1 type=dpdkvhostuser "
                         "ofport_request=1/2" + ("; ovs-ofctl add-flow br0 in_port=1,actions=output:2 "
                                                  "(and 2 -> 1)" if sc == "switch-p2p" else ""))
            L.append("```\n")
    if not seen:
        L.append("(no 64-byte split-mrg row in this run)\n")
    for side in ("ours", "peer"):
        for n in ("memsw", "vswitchd"):
            c = cmd(f"mem-{side}-{n}")
            if c:
                L.append(f"memory, {side}:\n\n```\n{c}\n```\n")

    L.append("## Notes\n")
    notes = []
    for r in results:
        if r["status"] != "ok":
            notes.append(f"- {r['sc']} {r['size']} {r['ring']}: {r['status']}.")
        elif r["ratio"] < SHORT:
            notes.append(f"- {r['sc']} {r['size']} {r['ring']}: ours {fmt(r['ratio'])} of the peer "
                         f"({fmt(r['ours']['med'])} vs {fmt(r['peer']['med'])} Mpps).")
    L.extend(notes or ["- No row fell below 0.90 of its peer."])
    extra = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    if meta.get("quick") != "1" and os.path.exists(extra):
        with open(extra) as f:
            L.append("")
            L.append(f.read().rstrip())
    L.append("")
    with open(o.md, "w") as f:
        f.write("\n".join(L))
    for r in results:
        print(f"{r['sc']:14} {r['size']:>5} {r['ring']:14} ours {fmt(r['ours']['med']):>6} "
              f"peer {fmt(r['peer']['med']):>6} ratio {fmt(r['ratio']):>5} {r['status']}")


if __name__ == "__main__":
    main()
