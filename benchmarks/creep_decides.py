#!/usr/bin/env python3
"""Creep decides: the Se-60MSe cell at three temperatures, three C-rates and with creep off,
beside the non-creeping LiCoO2 and FeS controls at two temperatures (issue 21, deliverable 3).

    PYTHONPATH=. python benchmarks/creep_decides.py             # all runs, figure, table
    PYTHONPATH=. python benchmarks/creep_decides.py --report    # figure and table from the JSON

Each run is the shipped scenario shortened (`--particles`, `--cycles`; all else as shipped:
pressing to 360 MPa, the screw fixture's 100 MPa preload, the shipped steps per half-cycle
and volume-update interval), each on one thread, `--jobs` at a time. Writes
benchmarks/results/creep_decides.json, docs/img/creep_decides.png and the table between the `creep-decides` markers of docs/validation.md, with the checks of
issue 21: faster creep (higher T, slower C-rate) gives lower Se stress and more contacted Se
surface; creep off less than 70 °C; the controls are unchanged by temperature.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dempack  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "creep_decides.json"
FIGURE = ROOT / "docs" / "img" / "creep_decides.png"
DOC = ROOT / "docs" / "validation.md"
SE = "scenarios/cycle_se60mse.toml"
LCO = "scenarios/cycle_lco60mse.toml"
FES = "scenarios/cycle_fes60mse.toml"

# name: (scenario, overrides, active material)
RUNS = {
    "Se 70 °C 0.1 C": (SE, {}, "Se"),
    "Se 50 °C 0.1 C": (SE, {"cycling.temperature_C": 50.0}, "Se"),
    "Se 25 °C 0.1 C": ("scenarios/cycle_se60mse_25C.toml", {}, "Se"),
    "Se 70 °C 0.05 C": (SE, {"cycling.c_rate": 0.05}, "Se"),
    "Se 70 °C 0.5 C": (SE, {"cycling.c_rate": 0.5}, "Se"),
    "Se creep off": (SE, {"cycling.creep_model": "off"}, "Se"),
    "LiCoO2 70 °C": (LCO, {"cycling.temperature_C": 70.0}, "LiCoO2"),
    "LiCoO2 25 °C": (LCO, {"cycling.temperature_C": 25.0}, "LiCoO2"),
    "FeS 70 °C": (FES, {"cycling.temperature_C": 70.0}, "FeS"),
    "FeS 25 °C": (FES, {"cycling.temperature_C": 25.0}, "FeS"),
}
TEMPERATURES = ["Se 25 °C 0.1 C", "Se 50 °C 0.1 C", "Se 70 °C 0.1 C"]      # creep faster →
C_RATES = ["Se 70 °C 0.5 C", "Se 70 °C 0.1 C", "Se 70 °C 0.05 C"]          # creep ahead more →


def contacted(row, active):
    """Contacted fraction of the active material's surface: Σ_B contact_ratio:active-B."""
    keys = [k for k in row if k.startswith(f"contact_ratio:{active}-")]
    return sum(row[k] for k in keys)


def run_one(name, particles, cycles, seed):
    path, over, active = RUNS[name]
    sc = dempack.load_scenario(ROOT / path)
    sc.set("run.seed", seed)
    sc.set("packing.particles", particles)
    sc.set("cycling.cycles", cycles)
    sc.set("run.threads", 1)
    for k, v in over.items():
        sc.set(k, v)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res = dempack.run(sc, out_dir=Path(tmp) / "run")
        rows = res.sim.cycle_rows.rows()
    ends = []
    for r in rows:
        ends.append({
            "cycle": int(r["cycle"]), "half": r["half"],
            "contacted": contacted(r, active),
            "stress_vm_MPa": r[f"stress_vm_mean_Pa:{active}"] / 1e6,
            "porosity": r["porosity"], "thickness_change": r["thickness_change"],
            "creep_strain": r.get(f"creep_strain_mean:{active}", 0.0),
            "volume_deficit": r["volume_deficit"],
            "punch_MPa": r["punch_stress_Pa"] / 1e6,
            "all": {k: v for k, v in r.items() if isinstance(v, (int, float))},
        })
    return {"scenario": path, "overrides": over, "active": active, "particles": particles,
            "cycles": cycles, "seed": seed, "wall_s": time.perf_counter() - t0,
            "half_cycle_ends": ends}


def summary(run):
    ends = run["half_cycle_ends"]
    dis = [e for e in ends if e["half"] == "discharge"]
    cha = [e for e in ends if e["half"] == "charge"]
    n = len(cha)
    growth = (cha[-1]["contacted"] - cha[0]["contacted"]) / (n - 1) if n > 1 else math.nan
    return {
        "contacted_first_charge": cha[0]["contacted"], "contacted_last_charge": cha[-1]["contacted"],
        "contacted_growth_per_cycle": growth,
        "contacted_last_discharge": dis[-1]["contacted"],
        "vm_last_discharge_MPa": dis[-1]["stress_vm_MPa"], "vm_last_charge_MPa": cha[-1]["stress_vm_MPa"],
        "porosity_last_charge": cha[-1]["porosity"],
        "thickness_last_charge": cha[-1]["thickness_change"],
        "thickness_last_discharge": dis[-1]["thickness_change"],
        "creep_strain": ends[-1]["creep_strain"],
        "volume_deficit_max": max(e["volume_deficit"] for e in ends),
    }


def seed_summaries(data):
    """{run name: {quantity: (mean, min, max) over its seeds}}."""
    out = {}
    for name, by_seed in data["runs"].items():
        per = [summary(r) for r in by_seed.values()]
        out[name] = {k: (sum(p[k] for p in per) / len(per), min(p[k] for p in per),
                         max(p[k] for p in per)) for k in per[0]}
    return out


def checks(data):
    """Issue 21's checks on the means over seeds: (statement, verdict, numbers). A step
    between neighbours smaller than the seed spread (max − min) of either is reported as
    within the spread (DESIGN §10), not as a pass."""
    s = seed_summaries(data)
    out = []

    def verdict(pairs, sign):
        ok = all(sign * (b[0] - a[0]) > 0 for a, b in pairs)
        if not ok:
            return "**no**"
        resolved = all(abs(b[0] - a[0]) > max(a[2] - a[1], b[2] - b[1]) for a, b in pairs)
        return "yes" if resolved else "yes, within the seed spread"

    def mono(names, key, sign, what):
        vals = [s[n][key] for n in names]
        out.append((what, verdict(list(zip(vals, vals[1:])), sign),
                    " → ".join(f"{v[0]:.4g} ({v[1]:.4g}–{v[2]:.4g})" for v in vals)))

    mono(TEMPERATURES, "vm_last_discharge_MPa", -1, "Se stress at the last discharge end falls with T (25 → 50 → 70 °C), MPa")
    mono(TEMPERATURES, "vm_last_charge_MPa", -1, "Se stress at the last charge end falls with T, MPa")
    mono(TEMPERATURES, "contacted_last_charge", +1, "contacted Se surface at the last charge end rises with T")
    mono(TEMPERATURES, "contacted_growth_per_cycle", +1, "contact growth per cycle (charge ends) rises with T")
    mono(TEMPERATURES, "porosity_last_charge", -1, "porosity at the last charge end falls with T")
    mono(C_RATES, "vm_last_discharge_MPa", -1, "Se stress at the last discharge end falls as the C-rate slows (0.5 → 0.1 → 0.05 C), MPa")
    mono(C_RATES, "contacted_last_charge", +1, "contacted Se surface at the last charge end rises as the C-rate slows")
    mono(C_RATES, "contacted_growth_per_cycle", +1, "contact growth per cycle rises as the C-rate slows")
    mono(["Se creep off", "Se 70 °C 0.1 C"], "contacted_growth_per_cycle", +1,
         "creep off: less contact growth per cycle than at 70 °C")
    mono(["Se creep off", "Se 70 °C 0.1 C"], "vm_last_discharge_MPa", -1,
         "creep off: higher Se stress at the last discharge end than at 70 °C, MPa")
    for mat in ("LiCoO2", "FeS"):
        a = next(iter(data["runs"][f"{mat} 70 °C"].values()))["half_cycle_ends"]
        b = next(iter(data["runs"][f"{mat} 25 °C"].values()))["half_cycle_ends"]
        diff = max((abs(x["all"][k] - y["all"][k]) / max(abs(x["all"][k]), 1e-300)
                    for x, y in zip(a, b) for k in x["all"] if k in y["all"]
                    and k not in ("wall_s",) and x["all"][k] == x["all"][k]), default=0.0)
        out.append((f"{mat} control unchanged by temperature (largest relative difference of any "
                    "cycles.csv column)", "yes" if diff == 0.0 and len(a) == len(b) else "**no**",
                    f"{diff:.3g}"))
    return out


def markdown(data):
    s = seed_summaries(data)
    any_run = next(iter(next(iter(data["runs"].values())).values()))
    seeds = sorted({int(k) for v in data["runs"].values() for k in v})
    lines = [f"Shortened cells: {any_run['particles']} particles, {any_run['cycles']} cycles, "
             f"seeds {', '.join(map(str, seeds))} for the Se cells (one for the controls), "
             f"engine {data.get('revision', '?')}; regenerate with "
             "`PYTHONPATH=. python benchmarks/creep_decides.py`. Means over the seeds "
             "(min–max in the checks). \"Contacted\": Σ_B contact_ratio:A–B of the active "
             "material A (its surface fraction in contact); growth per cycle between the first "
             "and last charge ends; σ_vm: mean von Mises stress of A.", "",
             "| run | contacted, charge 1 → last | growth per cycle | contacted, last discharge | "
             "σ_vm last discharge / charge (MPa) | porosity, last charge | thickness change, last "
             "discharge / charge | creep strain | max volume deficit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, v in s.items():
        m = {k: x[0] for k, x in v.items()}
        lines.append(
            f"| {name} | {m['contacted_first_charge']:.3f} → {m['contacted_last_charge']:.3f} | "
            f"{m['contacted_growth_per_cycle']:+.4f} | {m['contacted_last_discharge']:.3f} | "
            f"{m['vm_last_discharge_MPa']:.0f} / {m['vm_last_charge_MPa']:.0f} | "
            f"{m['porosity_last_charge']:.4f} | {m['thickness_last_discharge']:+.3f} / "
            f"{m['thickness_last_charge']:+.3f} | {m['creep_strain']:.3g} | "
            f"{v['volume_deficit_max'][2]:.4f} |")
    lines += ["", "| check (issue 21) | holds | means (min–max over seeds) |", "|---|---|---|"]
    for what, ok, nums in checks(data):
        lines.append(f"| {what} | {ok} | {nums} |")
    return "\n".join(lines)


def figure(data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    groups = [("temperature, 0.1 C", TEMPERATURES + ["Se creep off"]),
              ("C-rate, 70 °C", C_RATES + ["Se creep off"])]
    for col, (title, names) in enumerate(groups):
        for name in names:
            ends = next(iter(data["runs"][name].values()))["half_cycle_ends"]
            x = [e["cycle"] + (0.0 if e["half"] == "discharge" else 0.5) for e in ends]
            style = "k--" if "off" in name else "-o"
            ax[0, col].plot(x, [e["contacted"] for e in ends], style, ms=3, label=name)
            ax[1, col].plot(x, [e["stress_vm_MPa"] for e in ends], style, ms=3, label=name)
        ax[0, col].set_title(f"Se-60MSe, {title} (seed 1)")
        ax[0, col].set_ylabel("contacted Se surface")
        ax[1, col].set_ylabel("Se von Mises stress (MPa)")
        ax[1, col].set_xlabel("cycle (x.0 end of discharge, x.5 end of charge)")
        ax[0, col].legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def write_doc(table):
    text = DOC.read_text()
    start, end = "<!-- creep-decides:start -->", "<!-- creep-decides:end -->"
    block = f"{start}\n{table}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
    else:
        text += f"\n{block}\n"
    DOC.write_text(text)


def revision():
    """The engine's commit, with "+changes" where dempack/, scenarios/ or assets/ differ
    from it (the runs then used code that no commit holds)."""
    import subprocess
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "dempack",
                                "scenarios", "assets"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3, help="seeds 1..k for the Se cells")
    ap.add_argument("--only", nargs="*", choices=list(RUNS), default=None)
    ap.add_argument("--report", action="store_true", help="figure and table from the saved JSON")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time (one thread each)")
    args = ap.parse_args()
    data = json.loads(OUT.read_text()) if OUT.exists() else {"runs": {}}
    if not args.report:
        data["revision"] = revision()
        cases = [(name, seed) for name in args.only or list(RUNS)
                 for seed in (range(1, args.seeds + 1) if RUNS[name][2] == "Se" else (1,))]
        for name in dict.fromkeys(name for name, _ in cases):
            data["runs"][name] = {}
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_one, name, args.particles, args.cycles, seed): (name, seed)
                       for name, seed in cases}
            for f in as_completed(futures):
                name, seed = futures[f]
                r = f.result()
                data["runs"][name][str(seed)] = r
                print(f"== {name}, seed {seed}: {r['wall_s']:.0f} s", flush=True)
                OUT.parent.mkdir(parents=True, exist_ok=True)
                OUT.write_text(json.dumps(data, indent=1))
        for name in data["runs"]:  # seeds in order, whatever order the runs ended in
            data["runs"][name] = dict(sorted(data["runs"][name].items(), key=lambda kv: int(kv[0])))
        OUT.write_text(json.dumps(data, indent=1))
    if set(RUNS) - set(data["runs"]):
        sys.exit(f"missing runs: {sorted(set(RUNS) - set(data['runs']))}")
    table = markdown(data)
    print(table)
    figure(data, FIGURE)
    write_doc(table)


if __name__ == "__main__":
    main()
