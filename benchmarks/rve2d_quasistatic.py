#!/usr/bin/env python
"""Is the 2D RVE quasi-static at its shipped steps per half-cycle? Issue 17's test (DESIGN
§10): cycles.csv within 2 % of a run 4x slower, judged against the spread over seeds.

    python benchmarks/rve2d_quasistatic.py                  # Se RVE, 3 cycles, 1000 disks
    python benchmarks/rve2d_quasistatic.py --case lco --cycles 2 --particles 600
    python benchmarks/rve2d_quasistatic.py --same-updates --steps 48000 --interval 60  # a candidate

Runs the scenario at its steps_per_half_cycle (seeds 1 and 2) and at 4x that (seed 1), and
prints, per column and separately at the discharge and at the charge ends, the largest
relative difference between the fast and the slow run of seed 1, beside the difference
between the two seeds at the fast rate (--reuse: read the three run folders of an earlier
call). Results: benchmarks/results/rve2d_quasistatic_<case>.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dempack  # noqa: E402
from rve2d_validation import CASES, cycle_rows  # noqa: E402

COLUMNS = ("porosity", "punch_stress_Pa", "contact_ratio:{a}-{a}", "contact_ratio:{a}-Mo6Se8",
           "contacted_fraction:{a}", "stress_vm_mean_Pa:{a}", "pressure_mean_Pa:{a}",
           "creep_strain_mean:{a}", "stress_vm_mean_Pa:Mo6Se8")


SAME_UPDATES = "_same_updates"  # the name suffix of --same-updates' slow run and results


def run(case, out, cycles, particles, seed, factor, reuse=False, same_updates=False,
        base=(None, None)):
    """One run at `factor` x the base steps per half-cycle; base = (steps, update interval),
    None for the scenario's own."""
    sc = dempack.load_scenario(ROOT / CASES[case][0])
    if base[0] is not None:
        sc.set("cycling.steps_per_half_cycle", base[0])
    if base[1] is not None:
        sc.set("cycling.volume_update_interval", base[1])
    folder = out / (f"{case}_seed{seed}_x{factor}"
                    + (f"_base{base[0]}" if base[0] is not None else "")
                    + (SAME_UPDATES if same_updates and factor > 1 else ""))
    if reuse:
        return cycle_rows(folder), None, sc.cycling.steps_per_half_cycle
    steps = sc.cycling.steps_per_half_cycle * factor
    if same_updates:  # the same number of volume and creep updates per half-cycle
        sc.set("cycling.volume_update_interval", sc.cycling.volume_update_interval * factor)
    sc.set_many({"cycling.cycles": cycles, "packing.particles": particles, "run.seed": seed,
                 "cycling.steps_per_half_cycle": steps, "run.snapshot_every_outputs": 0,
                 "run.snapshot_at_half_cycle_fractions": [],
                 "run.output_interval_steps": 2000 * factor})
    t = time.perf_counter()
    dempack.run(sc, out_dir=folder)
    return cycle_rows(folder), time.perf_counter() - t, steps


def rel(a, b):
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", choices=list(CASES), default="se")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "rve2d_quasistatic")
    ap.add_argument("--reuse", action="store_true", help="read the run folders in --out")
    ap.add_argument("--same-updates", action="store_true",
                    help="the slow run keeps the number of volume and creep updates per "
                         "half-cycle (its update interval x4), so only the DEM rate changes")
    ap.add_argument("--steps", type=int,
                    help="base steps per half-cycle instead of the scenario's (a candidate)")
    ap.add_argument("--interval", type=int,
                    help="base volume update interval instead of the scenario's")
    args = ap.parse_args()
    base = (args.steps, args.interval)
    a = CASES[args.case][1]
    go = (args.case, args.out, args.cycles, args.particles)
    fast, t_fast, steps = run(*go, 1, 1, args.reuse, base=base)
    other, _, _ = run(*go, 2, 1, args.reuse, base=base)
    slow, t_slow, _ = run(*go, 1, 4, args.reuse, args.same_updates, base)
    report = {"case": args.case, "cycles": args.cycles, "particles": args.particles,
              "same_updates": args.same_updates, "volume_update_interval": args.interval,
              "steps_per_half_cycle": steps, "wall_s": {"x1": t_fast, "x4": t_slow}, "columns": {}}
    print("| column | discharge ends: x1 vs x4 | seed 1 vs 2 | charge ends: x1 vs x4 | seed 1 vs 2 |")
    print("|---|---|---|---|---|")
    for c in COLUMNS:
        col = c.format(a=a)
        out = {}
        for half in ("discharge", "charge"):
            pairs4 = [(r[col], s[col]) for r, s in zip(fast, slow) if r["half"] == half]
            pairss = [(r[col], s[col]) for r, s in zip(fast, other) if r["half"] == half]
            out[half] = {"x1_vs_x4": max(rel(*p) for p in pairs4),
                         "seed_spread": max(rel(*p) for p in pairss)}
        report["columns"][col] = out
        d, h = out["discharge"], out["charge"]
        print(f"| {col} | {d['x1_vs_x4']:.3f} | {d['seed_spread']:.3f} | {h['x1_vs_x4']:.3f} "
              f"| {h['seed_spread']:.3f} |")
    res = ROOT / "benchmarks" / "results" / (f"rve2d_quasistatic_{args.case}"
                                             + (f"_base{steps}" if args.steps else "")
                                             + (SAME_UPDATES if args.same_updates else "")
                                             + ".json")
    res.write_text(json.dumps(report, indent=1))
    print("wrote", res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
