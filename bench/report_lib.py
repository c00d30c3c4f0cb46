# SPDX-License-Identifier: BSD-3-Clause
"""bench/report_lib.py: what bench/report.py, tcp_tap_report.py,
gso_fe_report.py and the reports of afxdp.sh and vxlan.sh write alike. Ours against a peer over reps run back to
back: each side's spread, the ratio of the medians, the per-rep ratios and
their verdict, and how these are written in the CSVs and the markdown
tables; reading the env files and saved command lines the bench scripts
leave, and the OVS start-up those commands leave out."""
import csv
import os
import statistics

TARGET = 2.0  # issue 16: at least twice OVS-DPDK's Gbit/s


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt(x, p=2):
    return "-" if x is None else f"{x:.{p}f}"


def read_env(path):
    """The KEY=VALUE lines a bench script writes beside its raw CSV."""
    meta = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def read_runs(d, name, key):
    """DIR/NAME.env and DIR/NAME_raw.csv, the runs grouped by KEY(run)."""
    runs = {}
    with open(os.path.join(d, name + "_raw.csv")) as f:
        for r in csv.DictReader(f):
            runs.setdefault(key(r), []).append(r)
    return read_env(os.path.join(d, name + ".env")), runs


def read_cmd(path):
    """A command line saved by lib.sh's save_cmds, or None. bg's printf %q
    escapes the commas of DPDK's devargs, which nobody would type."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read().strip().replace("\\,", ",")


def read_cmds(d, prefix, names):
    """The saved commands DIR/PREFIX-NAME.cmd that exist, in NAMES' order."""
    cmds = [read_cmd(os.path.join(d, f"{prefix}-{n}.cmd")) for n in names]
    return [c for c in cmds if c]


def ovs_config(lcore_mask, pmd_mask, tso):
    """lib.sh's ovs_up between its two commands: the database set-up
    ovs-vswitchd reads at start."""
    return ("# before ovs-vswitchd: ovsdb-tool create, ovs-vsctl --no-wait init, set Open_vSwitch . "
            f"other_config:dpdk-init=true dpdk-lcore-mask={lcore_mask:#x} pmd-cpu-mask={pmd_mask:#x} "
            "dpdk-socket-mem=512 dpdk-extra='--no-pci --file-prefix=...'"
            + (" userspace-tso-enable=true" if tso else ""))


def first_rep_cmds(blocks):
    """The commands section's lines: BLOCKS is [(title, command lines)]."""
    if not blocks:
        return []
    return ["Commands of the first rep (`$W` is the run's temp dir):\n"] + \
        [f"{t}:\n\n```\n" + "\n".join(cmds) + "\n```\n" for t, cmds in blocks]


def defs(d):
    """A {name: meaning} list (checks, modes, rings) as one markdown line."""
    return "; ".join(f"`{k}`: {v}" for k, v in d.items())


def spread(runs, key):
    """A side's runs. Only those that passed every check and have a rate
    are used; the statuses of the others say why a row is partial."""
    ok = [r for r in runs if r["status"] == "ok" and fnum(r[key])]
    v = [fnum(r[key]) for r in ok]
    return {"med": statistics.median(v) if v else None, "min": min(v) if v else None,
            "max": max(v) if v else None, "n": len(v), "all": runs, "ok": ok,
            "bad": sorted({r["status"] for r in runs if r["status"] != "ok"}),
            "by_rep": {r["rep"]: fnum(r[key]) for r in ok}}


def all_busy(side, column, bound):
    """Whether the CPU of COLUMN was BOUND busy or more in every used run."""
    busy = [fnum(r.get(column)) for r in side["ok"]]
    return bool(busy) and all(b is not None and b >= bound for b in busy)


def compare(ours, peer, reps):
    """Two spreads side by side. A comparison is used only if every rep of
    both sides passed: a side that lost a rep would be judged on its
    luckier runs. The median ratio hides how runs of one rep, close in
    time on a shared machine, compare: the per-rep ratios show that."""
    why = ",".join(["ours " + b for b in ours["bad"]] + ["peer " + b for b in peer["bad"]])
    status = "ok"
    if ours["med"] is None or peer["med"] is None:
        status = "failed: " + (why or "no rate")
    elif why or min(ours["n"], peer["n"]) < reps:
        status = f"partial ({ours['n']}+{peer['n']} of {2 * reps} runs used" + \
            (f"; {why}" if why else "") + ")"
    pr = [ours["by_rep"][k] / peer["by_rep"][k] for k in ours["by_rep"]
          if k in peer["by_rep"] and peer["by_rep"][k]]
    if len(pr) < 2:
        verdict = "one paired rep" if pr else "-"
    elif min(pr) > 1:
        verdict = "ahead in every rep"
    elif max(pr) < 1:
        verdict = "behind in every rep"
    else:
        verdict = "unsettled"
    return {"ours": ours, "peer": peer, "status": status, "verdict": verdict,
            "ratio": ours["med"] / peer["med"] if ours["med"] and peer["med"] else None,
            "rmin": min(pr) if pr else None, "rmax": max(pr) if pr else None}


def compare_peers(st, peers, reps, **tags):
    """Ours (side "vhu" of ST, {side: spread}) against each of PEERS
    where both sides have runs; each comparison tagged with setup=PEER
    and TAGS (what else tells it apart: its size, its mode)."""
    return [dict(compare(st["vhu"], st[p], reps), setup=p, **tags)
            for p in peers if st["vhu"]["all"] and st[p]["all"]]


def spread_line(x, unit):
    """A side's spread on one line of the console log."""
    return (f"{unit} min {fmt(x['min'])} med {fmt(x['med'])} max {fmt(x['max'])} "
            f"({x['n']} of {len(x['all'])} runs ok)")


def compare_line(c):
    return (f"ratio {fmt(c['ratio'])} per-rep {fmt(c['rmin'])}-{fmt(c['rmax'])} "
            f"{c['verdict']} {c['status']}")


def spread_header(unit):
    return [f"ours_{unit}", f"peer_{unit}", "ratio", "ours_min", "ours_max",
            "peer_min", "peer_max", "ours_runs", "peer_runs"]


def spread_cells(c):
    o, p = c["ours"], c["peer"]
    return [fmt(o["med"], 3), fmt(p["med"], 3), fmt(c["ratio"], 3), fmt(o["min"], 3),
            fmt(o["max"], 3), fmt(p["min"], 3), fmt(p["max"], 3), o["n"], p["n"]]


REP_HEADER = ["rep_ratio_min", "rep_ratio_max", "verdict"]


def rep_cells(c):
    return [fmt(c["rmin"], 3), fmt(c["rmax"], 3), c["verdict"]]


def write_comparisons(path, scenario, columns, comps, unit="gbps"):
    """One CSV line a comparison (results.csv's columns); COLUMNS, {CSV
    column: comparison key}, tell them apart."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario"] + list(columns) + spread_header(unit) + ["status"] + REP_HEADER)
        for c in comps:
            w.writerow([scenario] + [c[k] for k in columns.values()] + spread_cells(c) +
                       [c["status"]] + rep_cells(c))


def stamp(meta, script):
    """How a section's first line starts: which script ran when, on which
    commit (the env file's date and commit)."""
    return f"bench/{script}, run {meta.get('date')}, libvhu at {meta.get('commit')}; "


def per_run(rs, cell):
    """A table cell with every run's value in rep order; CELL is a column
    of the raw CSV or a function of a run."""
    return ", ".join(cell(r) if callable(cell) else r[cell] for r in rs)


def md_table_head(*cells):
    """The header of a markdown table of CELLS, every column left-aligned."""
    return ["| " + " | ".join(cells) + " |", "|---" * len(cells) + "|"]


def write_md(d, name, lines):
    """The report's section: DIR/NAME.md."""
    with open(os.path.join(d, name + ".md"), "w") as f:
        f.write("\n".join(lines))


def md_head(first, ours, peer):
    """The header of a table of md_cells rows, a note column last."""
    return [f"| {first} | {ours} min / med / max | {peer} min / med / max | ratio | per-rep | verdict | note |",
            "|---" * (first.count("|") + 3) + "|---:|---|---|---|"]


def mmm(x):
    return f"{fmt(x['min'])} / **{fmt(x['med'])}** / {fmt(x['max'])}" if x["med"] else "-"


def md_cells(c):
    """The table cells min/med/max ours | peer | ratio | per-rep | verdict."""
    per = f"{fmt(c['rmin'])}-{fmt(c['rmax'])}" if c["rmin"] is not None else "-"
    return f"{mmm(c['ours'])} | {mmm(c['peer'])} | {fmt(c['ratio'])} | {per} | {c['verdict']}"


def target_note(ratio):
    return f"target {TARGET:.1f}: " + ("met" if ratio >= TARGET else "not met")
