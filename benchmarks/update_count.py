#!/usr/bin/env python
"""Does the cycling depend on how often the volume and creep updates run? (issues 21 and
17.2: the number of updates per half-cycle is a discretisation, so a converged model must
not depend on it beyond the spread over seeds.)

    python benchmarks/update_count.py                  # run the cases, print, write JSON
    python benchmarks/update_count.py --reuse          # read the run folders again

`scenarios/cycle_se60mse.toml` shortened to --particles (300) and one cycle at 12,000 steps
per half-cycle, run with `cycling.volume_update_interval` 1, 3 and 10 (12,000, 4,000 and
1,200 updates per half-cycle), over --seeds, for each variant (`VARIANTS`: the model as
shipped, the volume bound numerics.max_cap_fraction at 0.9 (the old default) and 0.25, and the
confinement pressure switched off at the old bound). For each variant and column it prints
the mean over seeds at each interval, the largest change of that mean between intervals,
and the spread over seeds (largest minus smallest at one interval): an interval effect
within the seed spread is not resolved. Runs --jobs at a time, one numba thread each.
Results: benchmarks/results/update_count.json. Wall times are not benchmarks.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from quasi_static_rule import num, read, write_result  # noqa: E402

ROOT = HERE.parent
SCENARIO = ROOT / "scenarios/cycle_se60mse.toml"
INTERVALS = (1, 3, 10)
VARIANTS = {"shipped": {},
            "bound_0.9": {"numerics.max_cap_fraction": 0.9},     # the default before session 10
            "bound_0.25": {"numerics.max_cap_fraction": 0.25},
            # the diagnosis of docs/validation.md: confinement off at the old bound
            "confinement_off": {"numerics.confinement": "off", "numerics.max_cap_fraction": 0.9}}
# (half, column): the discharge end's stress and lift, the charge end's contacts and volume
COLUMNS = (("discharge", "stress_vm_mean_Pa:Se"), ("discharge", "thickness_change"),
           ("discharge", "confinement_mean_Pa:Se"), ("charge", "contact_ratio:Se-Se"),
           ("charge", "thickness_change"), ("charge", "porosity"),
           ("charge", "volume_deficit"), ("charge", "confinement_mean_Pa:Se"))


def folder_of(out: Path, variant: str, interval: int, seed: int) -> Path:
    return out / f"{variant}_iv{interval}_seed{seed}"


def run_case(out: Path, particles: int, variant: str, interval: int, seed: int) -> None:
    sets = {"packing.particles": particles, "cycling.cycles": 1, "run.seed": seed,
            "cycling.steps_per_half_cycle": 12000, "cycling.volume_update_interval": interval,
            "run.snapshot_every_outputs": 0, "run.threads": 1, **VARIANTS[variant]}
    cmd = [sys.executable, "-m", "dempack.cli", "run", str(SCENARIO), "--out",
           str(folder_of(out, variant, interval, seed)), "--quiet"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "NUMBA_NUM_THREADS": "1"})


def value(rows, half, col):
    r = [r for r in rows if r["half"] == half][-1]
    return num(r.get(col))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/update_count"))
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    cases = [(v, iv, s) for v in args.variants for iv in INTERVALS for s in args.seeds]
    if not args.reuse:
        with cf.ThreadPoolExecutor(args.jobs) as ex:
            for f in [ex.submit(run_case, args.out, args.particles, *c) for c in cases]:
                f.result()
    values = {c: {f"{h}:{col}": value(read(folder_of(args.out, *c))[0], h, col)
                  for h, col in COLUMNS} for c in cases}
    summary = {}
    for v in args.variants:
        print(f"\n{v}: mean over seeds {args.seeds} at intervals {INTERVALS}; the largest change "
              "of the mean between intervals; the seed spread (max - min at one interval)")
        summary[v] = {}
        for h, col in COLUMNS:
            key = f"{h}:{col}"
            means = []
            spread = 0.0
            for iv in INTERVALS:
                xs = [values[(v, iv, s)][key] for s in args.seeds]
                means.append(sum(xs) / len(xs))
                spread = max(spread, max(xs) - min(xs))
            change = max(means) - min(means)
            summary[v][key] = {"mean_by_interval": dict(zip(map(str, INTERVALS), means)),
                               "interval_change": change, "seed_spread": spread,
                               "resolved": change > spread}
            print(f"  {key:42s} " + " ".join(f"{m:11.4g}" for m in means)
                  + f"   change {change:10.3g}  spread {spread:10.3g}"
                  + ("  <- beyond the seed spread" if change > spread else ""))
    write_result("update_count.json", __doc__.split("\n\n")[0], args,
                 {"intervals": INTERVALS, "variants": VARIANTS,
                  "runs": {f"{v}_iv{iv}_seed{s}": values[(v, iv, s)] for v, iv, s in cases},
                  "summary": summary})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
