#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bench/report.py: turns bench/run.sh's raw runs into results.csv, the
markdown report and its gnuplot chart. Called by bench/run.sh."""
import argparse
import csv
import os
import statistics
import subprocess
import tempfile

from report_lib import (REP_HEADER, compare, defs, fmt, fnum, md_cells, ovs_config, read_cmd,
                        read_cmds, read_env, rep_cells, spread, spread_cells, spread_header)

SCEN = {
    "dequeue": ("testpmd txonly -> vhu-fwd rxonly", "-> net_vhost rxonly", "backend rx"),
    "enqueue": ("vhu-fwd txonly -> testpmd rxonly", "net_vhost txonly ->", "frontend rx"),
    "loopback": ("testpmd io 2 ports <-> vhu-fwd io", "<-> net_vhost io (2 vdevs)", "frontend rx, both ports"),
    "switch-normal": ("testpmd io 2 ports <-> vhu-switch (learning)", "<-> OVS-DPDK NORMAL", "frontend rx, both ports"),
    "switch-zc": ("testpmd io 2 ports <-> vhu-switch --zero-copy (learning)", "<-> OVS-DPDK NORMAL", "frontend rx, both ports"),
    "switch-p2p": ("testpmd io 2 ports <-> vhu-switch port flows a->b, b->a", "<-> OVS-DPDK in_port flows", "frontend rx, both ports"),
}
RINGS = {
    "split-mrg": "split, mrg_rxbuf=1, in_order=0",
    "split-nomrg": "split, mrg_rxbuf=0, in_order=0",
    "split-inorder": "split, mrg_rxbuf=1, in_order=1",
    "packed": "packed_vq=1, mrg_rxbuf=1, in_order=0",
}
SHORT = 0.90  # rows below this ratio get a note
# Where the frontend, not the backend, sets the pace (testpmd txonly feeds
# both backends alike): the rate says little about the backend; the
# instruction counts of bench/cost.sh do.
FE_BOUND = {"dequeue": "frontend-bound: testpmd txonly paces both backends"}
CHECKS = {
    "short": "fewer steady samples than asked",
    "features": "negotiated features do not match the row's ring",
    "count": "loss or duplicates (per-hop counts)",
    "nocount": "a side's packet counts were missing",
    "sender": "backend rate above its sender's",
}


PLACES = ("fast", "slow")  # bench/lib.sh's placement labels a ratio is given for
LABELS = PLACES + ("mixed",)  # anything else (runs from before the label) is unknown


def by_period(ours, peer, periods):
    """A row's stats periods grouped by the placement the probes inside
    each saw (lib.sh's period_labels), over the runs that passed. Per
    placement: the ratio of the medians of the periods, the count of
    periods a side ("n", the smaller; "n_ours", "n_peer"), and the min and
    max of the per-rep ratios of the reps whose two runs both have such
    periods (each run's mean over them)."""
    res = {}
    for pl in LABELS + ("unknown",):
        side = {}
        for name, x in (("ours", ours), ("peer", peer)):
            side[name] = {r["rep"]: [m for m, lab in periods.get((name, r["rep"]), []) if lab == pl]
                          for r in x["ok"]}
        vo = [m for v in side["ours"].values() for m in v]
        vp = [m for v in side["peer"].values() for m in v]
        if not vo or not vp:
            if vo or vp:
                res[pl] = {"n": 0, "n_ours": len(vo), "n_peer": len(vp), "ratio": None,
                           "ours": med(vo), "peer": med(vp), "rmin": None, "rmax": None}
            continue
        rs = [statistics.mean(side["ours"][k]) / statistics.mean(side["peer"][k])
              for k in side["ours"] if side["ours"][k] and side["peer"].get(k)]
        mo, mp = med(vo), med(vp)
        res[pl] = {"n": min(len(vo), len(vp)), "n_ours": len(vo), "n_peer": len(vp),
                   "ours": mo, "peer": mp, "ratio": mo / mp if mo and mp else None,
                   "rmin": min(rs) if rs else None, "rmax": max(rs) if rs else None}
    return res


def idle_note(runs):
    """vhu-fwd's share of its polling time in rounds that moved nothing
    (raw.csv be_idle), the median over its runs of each placement: near
    100% where the frontend sets the pace."""
    by = {}
    for r in runs:
        v = fnum(r.get("be_idle"))
        if v is not None and r.get("status") == "ok":
            by.setdefault(r.get("placement") or "unknown", []).append(v)
    cells = [f"{pl} {statistics.median(by[pl]) * 100:.0f}% ({len(by[pl])})"
             for pl in ("fast", "slow", "mixed", "unknown") if pl in by]
    return "vhu-fwd's time in empty polls: " + ", ".join(cells) if cells else ""


def by_placement(ours, peer, periods=None):
    """The reps of a row grouped by the placement both of its runs had
    (lib.sh's label; runs from before the label are unknown). A rep whose
    two runs disagree, or either of which was mixed, counts as mixed and
    in no placement's ratio. Per placement: the ratio of the medians over
    its reps, the per-rep ratios' min and max, and the count. With the
    periods of the row (bench/periods.csv), by_period's figures instead."""
    if periods and any(lab != "unknown" for v in periods.values() for _, lab in v):
        return by_period(ours, peer, periods)
    o = {r["rep"]: r for r in ours["ok"]}
    p = {r["rep"]: r for r in peer["ok"]}
    groups = {}
    for rep in o:
        if rep not in p:
            continue
        lo, lp = (x if x in LABELS else "unknown" for x in (o[rep].get("placement"), p[rep].get("placement")))
        pl = lo if lo == lp else ("unknown" if "unknown" in (lo, lp) else "mixed")
        groups.setdefault(pl, []).append((fnum(o[rep]["mpps"]), fnum(p[rep]["mpps"])))
    res = {}
    for pl, pairs in groups.items():
        rs = [a / b for a, b in pairs if b]
        res[pl] = {"n": len(pairs), "ours": med([a for a, _ in pairs]), "peer": med([b for _, b in pairs]),
                   "rmin": min(rs) if rs else None, "rmax": max(rs) if rs else None}
        mo, mp = res[pl]["ours"], res[pl]["peer"]
        res[pl]["ratio"] = mo / mp if mo and mp else None
    return res


def place_cell(bp):
    """A row's per-placement ratios in one cell, mixed and unknown counted."""
    def count(x):  # periods a side (by_period), or reps
        return f"{x['n_ours']}/{x['n_peer']} s" if "n_ours" in x else str(x["n"])
    parts = [f"{pl} {fmt(bp[pl]['ratio'])} ({count(bp[pl])})" for pl in PLACES if bp.get(pl)]
    parts += [f"{pl} {count(bp[pl])}" for pl in ("mixed", "unknown") if bp.get(pl)]
    return ", ".join(parts) or "-"


def place_csv(x):
    if not x:
        return ["-", "-", "-", 0]
    return [fmt(x["ratio"], 3), fmt(x["ours"], 3), fmt(x["peer"], 3), x["n"]]


def place_summary(rows):
    """Per placement, the geometric mean of the ratios of the complete
    rows that have reps in it, with the count of rows and of those at 1.2
    or more (issue 23's target): lines for the report and the README."""
    out = []
    for pl in PLACES:
        rs = [r for r in rows if r["place"].get(pl) and r["place"][pl]["ratio"]]
        if not rs:
            out.append(f"{pl} placement: no rep")
            continue
        v = [r["place"][pl]["ratio"] for r in rs]
        reps = sum(r["place"][pl]["n"] for r in rs)
        unit = "periods a side, the fewer" if any("n_ours" in r["place"][pl] for r in rs) else "reps"
        worst = min(rs, key=lambda r: r["place"][pl]["ratio"])
        out.append(f"{pl} placement: geometric mean {statistics.geometric_mean(v):.2f} over {len(rs)} rows "
                   f"({reps} {unit}), {sum(x >= 1.2 for x in v)} at 1.2 or more, {sum(x >= 1.0 for x in v)} "
                   f"at 1.0 or more; lowest {worst['sc']} {worst['size']} {worst['ring']} "
                   f"{worst['place'][pl]['ratio']:.2f}")
    if any("n_ours" in x for r in rows for x in r["place"].values()):
        n = {pl: sum(x.get("n_ours", 0) + x.get("n_peer", 0) for r in rows
                     for k, x in r["place"].items() if k == pl) for pl in LABELS + ("unknown",)}
        out.append(f"stats periods (both sides): {n['fast']} fast, {n['slow']} slow, {n['mixed']} mixed, "
                   f"{n['unknown']} unknown (no probe)")
        return out
    mixed = sum(r["place"].get("mixed", {}).get("n", 0) for r in rows)
    unknown = sum(r["place"].get("unknown", {}).get("n", 0) for r in rows)
    out.append(f"reps in neither: {mixed} mixed, {unknown} unknown (no probe)")
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser()
    for a in ("raw", "mem", "meta", "cmds", "csv", "md", "png", "plot"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--periods", help="the runs' periods and placements (default: periods.csv beside --raw)")
    ap.add_argument("--cost", help="bench/cost.sh output (optional)")
    ap.add_argument("--tcp", help="bench/tcp_tap.sh's section (optional)")
    ap.add_argument("--gso", help="bench/gso_fe.sh's section (optional)")
    ap.add_argument("--vxlan", help="bench/vxlan.sh's section (optional)")
    ap.add_argument("--afxdp", help="bench/afxdp.sh's section (optional)")
    o = ap.parse_args()

    meta = read_env(o.meta)
    ghz = (fnum(meta.get("mhz")) or 0) / 1000.0
    perf = meta.get("perf_cycles") == "1"

    rows, order = {}, []
    reps_asked = int(meta.get("reps") or 0)
    checked = True
    with open(o.raw) as f:
        rd = csv.DictReader(f)
        checked = "fe_rx_tx" in (rd.fieldnames or [])
        for r in rd:
            key = (r["scenario"], r["size"], r["ring"])
            if key not in rows:
                rows[key] = {"ours": [], "peer": [], "features": ""}
                order.append(key)
            rows[key][r["side"]].append(r)
            if r["side"] == "ours" and r["features"] not in ("", "-"):
                rows[key]["features"] = r["features"]
    # Each run's steady stats periods and the placement of each, where the
    # run sampled it (bench/run.sh's periods.csv): {row: {(side, rep): [(mpps, label)]}}.
    periods = {}
    pf = o.periods or os.path.join(os.path.dirname(o.raw), "periods.csv")
    if os.path.exists(pf):
        with open(pf) as f:
            for r in csv.DictReader(f):
                key = (r["scenario"], r["size"], r["ring"])
                periods.setdefault(key, {}).setdefault((r["side"], r["rep"]), []).append(
                    (fnum(r["mpps"]), r["placement"]))

    def side_stats(runs):
        x = spread(runs, "mpps")
        cyc = []
        for r in x["ok"]:
            m = fnum(r["mpps"])
            if perf and fnum(r["cycles_per_s"]):
                cyc.append(fnum(r["cycles_per_s"]) / (m * 1e6))
            elif fnum(r["cpu_util"]) is not None and ghz:
                cyc.append(fnum(r["cpu_util"]) * ghz * 1e3 / m)
        return dict(x, cyc=med(cyc), util=med([fnum(r["cpu_util"]) for r in x["ok"]]))

    results = []
    for key in order:
        sc, size, ring = key
        c = compare(side_stats(rows[key]["ours"]), side_stats(rows[key]["peer"]), reps_asked)
        results.append(dict(c, sc=sc, size=size, ring=ring, features=rows[key]["features"],
                            fe_bound=FE_BOUND.get(sc, ""), idle=idle_note(rows[key]["ours"]),
                            place=by_placement(c["ours"], c["peer"], periods.get(key))))

    with open(o.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "size", "ring"] + spread_header("mpps") +
                   ["ours_cycles_per_pkt", "peer_cycles_per_pkt", "ours_cpu_util", "peer_cpu_util",
                    "status", "ours_features"] + REP_HEADER + ["frontend_bound"] +
                   [f"{pl}_{k}" for pl in PLACES for k in ("ratio", "ours_mpps", "peer_mpps", "reps")] +
                   ["mixed_reps", "unknown_reps"])
        for r in results:
            u, p = r["ours"], r["peer"]
            w.writerow([r["sc"], r["size"], r["ring"]] + spread_cells(r) +
                       [fmt(u["cyc"], 0), fmt(p["cyc"], 0), fmt(u["util"], 3), fmt(p["util"], 3),
                        r["status"], r["features"]] + rep_cells(r) + [1 if r["fe_bound"] else 0] +
                       [v for pl in PLACES for v in place_csv(r["place"].get(pl))] +
                       [r["place"].get(pl, {}).get("n", 0) for pl in ("mixed", "unknown")])

    # Chart: ratio per row.
    png_ok = False
    plotted = [r for r in results if r["ratio"] is not None and r["status"] == "ok"]
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
        return read_cmd(os.path.join(o.cmds, name + ".cmd"))

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
             "and the rest averaged (the frontend is stopped once they are printed). Table: min/median/max "
             "over the reps of each side; ratio = median ours / median peer; per-rep = ours/peer of "
             "the runs of one rep (run back to back), their min-max; verdict: ahead or behind in "
             "every rep, else unsettled.")
    L.append("  - dequeue: backend rx (vhu-fwd stats / net_vhost testpmd Rx-pps). enqueue: frontend "
             "testpmd rxonly Rx-pps. loopback and switch: frontend Rx-pps of both ports summed "
             "(the packets that made the whole loop).")
    L.append("- Checks of every run (bench/run.sh's header has the bounds); a run that fails one is "
             "not used, and its row is marked partial and left out of the geometric mean: "
             + defs(CHECKS) + ". Features are read from the "
             "frontend's own log (DPDK virtio `features after negotiate`, the word both backends "
             "got) and, for ours, from the backend's log too. Counts: frontend tx -> backend rx and "
             "backend tx -> frontend rx from each side's final counters; dequeue may fall short by "
             "one ring + one burst, enqueue by two rings + one burst, a loop by the 64 packets "
             "`--tx-first` put in it, and no hop may deliver more than it was given."
             + ("" if checked else " **This run predates these checks: none was made.**"))
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
    L.append("| scenario | size | ring | ours Mpps min/med/max | peer Mpps min/med/max | ratio | "
             "per-rep | verdict | per placement: ratio (reps, or seconds ours/peer) | ours cyc/pkt | peer cyc/pkt | "
             "util ours/peer | note |")
    L.append("|---|---:|---|---|---|---:|---|---|---|---:|---:|---|---|")

    for r in results:
        u, p = r["ours"], r["peer"]
        note = [] if r["status"] == "ok" else [r["status"]]
        if r["fe_bound"]:
            note.append(r["fe_bound"])
        if r["idle"]:
            note.append(r["idle"])
        L.append(f"| {r['sc']} | {r['size']} | {r['ring']} | {md_cells(r)} | {place_cell(r['place'])} | "
                 f"{fmt(u['cyc'], 0)} | "
                 f"{fmt(p['cyc'], 0)} | {fmt(u['util'])}/{fmt(p['util'])} | {'; '.join(note)} |")
    L.append("")
    ok = [r for r in results if r["ratio"] is not None and r["status"] == "ok"]
    left = len([r for r in results if r["ratio"] is not None]) - len(ok)
    if ok:
        gm = statistics.geometric_mean([r["ratio"] for r in ok])
        L.append(f"Geometric mean of the Mpps ratios over the {len(ok)} complete rows: {gm:.2f}"
                 + (f" ({left} partial rows left out)." if left else "."))
        nfb = [r for r in ok if not r["fe_bound"]]
        if nfb and len(nfb) < len(ok):
            L.append(f"Without the frontend-bound rows ({len(nfb)} rows): "
                     f"{statistics.geometric_mean([r['ratio'] for r in nfb]):.2f}.")
        L.append("")
        L.append("Per placement (issue 23: each one-second stats period counts in the placement "
                 "that every probe taken inside it saw; without periods.csv, a rep counts where the "
                 "probes before and after both of its runs agree; bench/run.sh's header):\n")
        L.extend(f"- {x}" for x in place_summary(ok))
        L.append("")
        cy = [r["peer"]["cyc"] / r["ours"]["cyc"] for r in ok if r["ours"]["cyc"] and r["peer"]["cyc"]]
        if cy:
            L.append(f"Geometric mean of peer cycles/packet over ours (above 1: we spend fewer cycles "
                     f"a packet) over {len(cy)} rows: {statistics.geometric_mean(cy):.2f}.")
        L.append("")
    elif results:
        L.append("No complete row: no geometric mean.\n")

    here = os.path.dirname(os.path.abspath(__file__))
    lines = os.path.join(here, "cache_lines.md")
    if meta.get("quick") != "1" and os.path.exists(lines):
        with open(lines) as f:
            L.append(f.read().rstrip() + "\n")

    cost = []
    if o.cost and os.path.exists(o.cost):
        with open(o.cost) as f:
            cost = list(csv.DictReader(f))
    if cost:
        L.append("## Instructions a packet (callgrind)\n")
        L.append("bench/cost.sh: the backend runs under `valgrind --tool=callgrind` (net_vhost's "
                 "testpmd with `--no-huge`), the same native testpmd frontend feeds it (txonly for "
                 "dequeue, io `--tx-first` for loopback); under valgrind the backend is the slow "
                 "side, so the frontend does not bound it. Counters are zeroed right after one of "
                 "the backend's stats prints and dumped right after a later one: instructions of "
                 "the whole process (all threads) over the packets it dequeued in between. "
                 "Deterministic up to the burst sizes the timing gives.\n")
        L.append("| scenario | size | ring | ours instr/pkt | peer instr/pkt | peer/ours | runs a side |")
        L.append("|---|---:|---|---:|---:|---:|---|")
        ck = {}
        for c in cost:
            d = ck.setdefault((c["scenario"], c["size"], c["ring"]), {"ours": [], "peer": []})
            d[c["side"]].append(c)

        def side_cost(runs):
            v = sorted(fnum(c["ir_per_pkt"]) for c in runs if c["status"] == "ok" and fnum(c["ir_per_pkt"]))
            bad = sorted({c["status"] for c in runs if c["status"] != "ok"})
            cell = "-" if not v else (f"**{v[0]:.0f}**" + (f" (max {v[-1]:.0f})" if len(v) > 1 else ""))
            return (v[0] if v else None), cell, f"{len(v)} of {len(runs)}" + (f" ({','.join(bad)})" if bad else "")
        for (sc, size, ring), d in ck.items():
            ui, uc, un = side_cost(d["ours"])
            pi, pc, pn = side_cost(d["peer"])
            L.append(f"| {sc} | {size} | {ring} | {uc} | {pc} | {fmt(pi / ui) if ui and pi else '-'} | "
                     f"ours {un}, peer {pn} |")
        L.append("")
        L.append("Minimum over the runs (bold): anything else callgrind counts (empty polls while the "
                 "frontend was descheduled, the stats thread) only adds; the maximum shows how much.\n")

    # bench/mem_connect.md: bench/mem_connect.sh's last run, kept in the
    # tree (QEMU guests of 4 GiB are no part of make bench).
    memconn = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mem_connect.md")
    for sec in (o.tcp, o.gso, o.vxlan, o.afxdp, memconn):
        if sec and os.path.exists(sec):
            with open(sec) as f:
                L.append(f.read().rstrip() + "\n")

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
            cs = read_cmds(o.cmds, f"{sc}-{side}-split-mrg", names)
            if not cs:
                continue
            seen = True
            L.append(f"{sc}, {side}:\n")
            L.append("```")
            L.extend(cs)
            if sc.startswith("switch") and side == "peer":
                L.append(ovs_config(0x2, 0x1, tso=False))
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
    extra = os.path.join(here, "notes.md")
    if meta.get("quick") != "1" and os.path.exists(extra):
        with open(extra) as f:
            L.append("")
            L.append(f.read().rstrip())
    L.append("")
    with open(o.md, "w") as f:
        f.write("\n".join(L))
    for r in results:
        print(f"{r['sc']:14} {r['size']:>5} {r['ring']:14} ours {fmt(r['ours']['med']):>6} "
              f"peer {fmt(r['peer']['med']):>6} ratio {fmt(r['ratio']):>5} {r['status']} "
              f"[{place_cell(r['place'])}]")
    for x in place_summary([r for r in results if r["ratio"] is not None and r["status"] == "ok"]):
        print(x)


if __name__ == "__main__":
    main()
