#!/usr/bin/env python
"""How the cycling's DEM resolution changes cycles.csv: steps per half-cycle (the
inertial number) and the volume-update interval (issue 17.2 and 18.3; DESIGN §10's test,
"cycles.csv within 2 % of a slower run", judged against the spread over seeds).

    python benchmarks/cycling_resolution.py                    # the default cases below
    python benchmarks/cycling_resolution.py --reuse            # read the run folders again

`scenarios/cycle_se60mse.toml` shortened to --particles and --cycles runs for each case
(steps_per_half_cycle, volume_update_interval, seed); `COMPARISONS` pairs them so that each
varies one thing: the DEM rate (the inertial number) at a fixed number of volume and creep
updates per half-cycle, the number of updates at a fixed DEM rate, or only the seed (the
spread). Each pair is compared column by column at every half-cycle end (largest relative
difference), and the charge-end values are listed. It also prints the largest inertial number of each run's
cycling rows (the first two rows of each half-cycle left out: the servo finds the stack's
new speed) and the steps per cycle. Runs two at a time (--jobs), one numba thread each.
Results: benchmarks/results/cycling_resolution.json. Wall times are not benchmarks (runs
share the cores).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from quasi_static_rule import COLUMNS, cycling_stats, largest_rel, read, write_result  # noqa: E402

ROOT = HERE.parent
SCENARIO = ROOT / "scenarios/cycle_se60mse.toml"
# (steps per half-cycle, volume-update interval, seed)
CASES = [(40000, 10, 1), (40000, 10, 2), (40000, 33, 1), (40000, 33, 2), (12000, 10, 1),
         (12000, 10, 2), (12000, 3, 1), (12000, 3, 2), (12000, 1, 1)]
# what each comparison varies: the DEM rate at a fixed number of volume (and creep) updates
# per half-cycle, the number of updates at a fixed DEM rate, or only the seed (the spread)
COMPARISONS = [
    ("seed spread, 40000 / 10", (40000, 10, 1), (40000, 10, 2)),
    ("seed spread, 12000 / 10", (12000, 10, 1), (12000, 10, 2)),
    ("DEM rate x3.3 at 1,200 updates, seed 1", (12000, 10, 1), (40000, 33, 1)),
    ("DEM rate x3.3 at 1,200 updates, seed 2", (12000, 10, 2), (40000, 33, 2)),
    ("DEM rate x3.3 at 4,000 updates, seed 1", (12000, 3, 1), (40000, 10, 1)),
    ("DEM rate x3.3 at 4,000 updates, seed 2", (12000, 3, 2), (40000, 10, 2)),
    ("updates 1,200 -> 4,000 at 12000 steps, seed 1", (12000, 10, 1), (12000, 3, 1)),
    ("updates 1,200 -> 4,000 at 12000 steps, seed 2", (12000, 10, 2), (12000, 3, 2)),
    ("updates 4,000 -> 12,000 at 12000 steps, seed 1", (12000, 3, 1), (12000, 1, 1)),
    ("updates 1,200 -> 4,000 at 40000 steps, seed 1", (40000, 33, 1), (40000, 10, 1)),
    ("updates 1,200 -> 4,000 at 40000 steps, seed 2", (40000, 33, 2), (40000, 10, 2)),
]
CHARGE_END_COLUMNS = ("thickness_change", "porosity", "contact_ratio:Se-Se",
                      "creep_strain_mean:Se")


def folder_of(out: Path, case) -> Path:
    steps, interval, seed = case
    return out / f"steps{steps}_iv{interval}_seed{seed}"


def run_case(out: Path, particles: int, cycles: int, case) -> float:
    steps, interval, seed = case
    sets = {"packing.particles": particles, "cycling.cycles": cycles, "run.seed": seed,
            "cycling.steps_per_half_cycle": steps, "cycling.volume_update_interval": interval,
            "run.snapshot_every_outputs": 0, "run.threads": 1}
    cmd = [sys.executable, "-m", "dempack.cli", "run", str(SCENARIO), "--out",
           str(folder_of(out, case)), "--quiet"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/cycling_resolution"))
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    walls = {}
    if not args.reuse:
        with cf.ThreadPoolExecutor(args.jobs) as ex:
            futs = {ex.submit(run_case, args.out, args.particles, args.cycles, c): c
                    for c in CASES}
            for f in cf.as_completed(futs):
                walls[futs[f]] = f.result()
    data = {c: read(folder_of(args.out, c)) for c in CASES}
    table = {name: {col: largest_rel(data[x][0], data[y][0], col) for col in COLUMNS}
             for name, x, y in COMPARISONS}
    short = [c.replace("contact_ratio:", "").replace("_mean", "").replace("_Pa", "")
             for c in COLUMNS]
    print("largest relative difference of each cycles.csv column over the half-cycle ends (%)")
    print(f"{'comparison':48s} " + " ".join(f"{c[:11]:>11s}" for c in short))
    for name, r in table.items():
        print(f"{name:48s} " + " ".join(f"{100 * r[c]:11.1f}" for c in COLUMNS))
    print("\nat the charge ends (cycles 1, 2, 3): " + ", ".join(CHARGE_END_COLUMNS))
    charge_ends = {}
    for c in CASES:
        rows = [r for r in data[c][0] if r["half"] == "charge"]
        charge_ends[folder_of(Path(), c).name] = {
            col: [round(float(r[col]), 4) for r in rows] for col in CHARGE_END_COLUMNS}
        print(f"{folder_of(Path(), c).name:24s} " + " | ".join(
            " ".join(f"{v:.3f}" for v in vals) for vals in charge_ends[folder_of(Path(), c).name].values()))
    stats = {folder_of(Path(), c).name: {**cycling_stats(*data[c]), "wall_s": walls.get(c)}
             for c in CASES}
    for k, v in stats.items():
        print(k, {a: (round(b, 6) if isinstance(b, float) else b) for a, b in v.items()})
    write_result("cycling_resolution.json", __doc__.split("\n\n")[0], args,
                 {"cases": CASES, "largest_relative_difference": table,
                  "charge_ends": charge_ends, "runs": stats})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
