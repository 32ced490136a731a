#!/usr/bin/env python
"""The quasi-static rule against a 4x slower run: issue 17's test (DESIGN §10, "cycles.csv
within 2 % of a 4x-slower run", judged against the spread over seeds).

    python benchmarks/quasi_static_rule.py                       # target 7e-4, 500 particles
    python benchmarks/quasi_static_rule.py --target 1e-3 --cycles 2 --particles 400

`scenarios/cycle_se60mse.toml`, shortened (--particles, --cycles), runs with the rule on
(`cycling.inertial_number_target` = --target) for seeds 1 and 2, and at --target/4 (about
4x the steps) for seed 1. It prints, per cycles.csv column, the largest relative difference
over the half-cycle ends between the rule and the 4x slower run of seed 1, beside the
difference between the two seeds at the rule's rate, and the steps per cycle and the largest
inertial number of the timeseries rows of the cycling (the first two rows of each half-cycle
left out: the servo finds the stack's new speed). Runs run two at a time (--jobs).
Results: benchmarks/results/quasi_static_rule.json (--reuse: read the run folders again).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import csv
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("thickness_change", "porosity", "punch_stress_Pa", "contact_ratio:Se-Se",
           "contact_ratio:Se-Mo6Se8", "contacted_fraction:Se", "creep_strain_mean:Se",
           "stress_vm_mean_Pa:Se", "coordination")


def run_case(out: Path, particles: int, cycles: int, seed: int, target: float) -> dict:
    folder = out / f"seed{seed}_I{target:g}"
    sets = {"packing.particles": particles, "cycling.cycles": cycles, "run.seed": seed,
            "cycling.inertial_number_target": target, "run.snapshot_every_outputs": 0,
            "run.threads": 1}
    cmd = [sys.executable, "-m", "dempack.cli", "run", str(ROOT / "scenarios/cycle_se60mse.toml"),
           "--out", str(folder), "--quiet"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return {"folder": str(folder), "wall_s": time.time() - t0}


def read(folder: Path):
    with open(folder / "cycles.csv") as f:
        cyc = list(csv.DictReader(f))
    with open(folder / "timeseries.csv") as f:
        ts = list(csv.DictReader(f))
    return cyc, ts


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def largest_rel(a, b, col):
    worst = 0.0
    for ra, rb in zip(a, b):
        x, y = num(ra.get(col)), num(rb.get(col))
        if math.isfinite(x) and math.isfinite(y) and max(abs(x), abs(y)) > 0:
            worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst


def cycling_stats(cyc, ts):
    rows = [r for r in ts if r["stage"].startswith("cycle")]
    first_two, I = {}, []
    for r in rows:
        n = first_two.get(r["stage"], 0)
        first_two[r["stage"]] = n + 1
        if n >= 2:
            I.append(num(r["inertial_number"]))
    steps = (int(num(rows[-1]["step"])) - int(num(rows[0]["step"]))) if rows else 0
    halves = len(cyc)
    return {"steps_per_cycle": 2 * steps / halves if halves else math.nan,
            "max_inertial_number": max((x for x in I if math.isfinite(x)), default=math.nan)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", type=float, default=7e-4)
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/quasi_static_rule"))
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    cases = [(1, args.target), (2, args.target), (1, args.target / 4)]
    walls = {}
    if not args.reuse:
        with cf.ThreadPoolExecutor(args.jobs) as ex:
            futs = {ex.submit(run_case, args.out, args.particles, args.cycles, s, t): (s, t)
                    for s, t in cases}
            for f in cf.as_completed(futs):
                walls[futs[f]] = f.result()["wall_s"]
    data = {c: read(args.out / f"seed{c[0]}_I{c[1]:g}") for c in cases}
    fast1, fast2, slow1 = (data[c][0] for c in cases)
    table = {col: {"rule_vs_4x_slower": largest_rel(fast1, slow1, col),
                   "seed1_vs_seed2": largest_rel(fast1, fast2, col)} for col in COLUMNS}
    stats = {f"seed{s}_I{t:g}": {**cycling_stats(*data[(s, t)]),
                                 "wall_s": walls.get((s, t))} for s, t in cases}
    print(f"{'column':28s} {'rule vs 4x slower':>18s} {'seed 1 vs 2':>12s}")
    for col, r in table.items():
        print(f"{col:28s} {100 * r['rule_vs_4x_slower']:17.1f}% {100 * r['seed1_vs_seed2']:11.1f}%")
    for k, v in stats.items():
        print(k, {a: (round(b, 6) if isinstance(b, float) else b) for a, b in v.items()})
    write_result("quasi_static_rule.json", "benchmarks/quasi_static_rule.py: cycle_se60mse "
                 "shortened, the quasi-static rule at --target against --target/4, seeds 1 and 2",
                 args, {"largest_relative_difference": table, "runs": stats})
    return 0


def write_result(name: str, what: str, args, results: dict) -> None:
    """benchmarks/results/<name>: what, the arguments, the machine, the date and `results`
    (strict JSON: NaN written as null)."""
    res = {"what": what,
           "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "machine": platform.processor() or platform.machine(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **results}
    path = ROOT / "benchmarks/results" / name
    path.write_text(json.dumps(res, indent=1, allow_nan=False, default=lambda x: None) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    raise SystemExit(main())
