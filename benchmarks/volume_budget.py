#!/usr/bin/env python3
"""Where the hidden solid goes (issue 16.4): the four cycling scenarios, shortened, with the
volume deficit split into what the confinement pressures stand for and what nothing accounts
for.

    PYTHONPATH=. python benchmarks/volume_budget.py                    # 500 particles, 3 cycles
    PYTHONPATH=. python benchmarks/volume_budget.py --particles 2000 --cycles 20 \
        --result benchmarks/results/volume_budget_full.json          # the shipped size
    PYTHONPATH=. python benchmarks/volume_budget.py --particles 2000 --cycles 5 \
        --scenarios cycle_se60mse --set numerics.cap_correction_every=1 \
        --result benchmarks/results/volume_budget_every1.json        # exact correction
    PYTHONPATH=. python benchmarks/volume_budget.py --scenarios cycle_se60mse --seeds 1 2 3 \
        --set numerics.cap_correction_every=1 --result ...           # over seeds
    PYTHONPATH=. python benchmarks/volume_budget.py --report           # table from the JSON

For each scenario (its shipped keys, `packing.particles` and `cycling.cycles` cut) and each
half-cycle end, cycles.csv's
- `volume_deficit`: 1 − geometric solid / true solid volume, what the overlaps hide;
- `volume_compressed`: Σ V p / K / V_true, the elastic compression that the particles'
  confinement pressures p stand for (dempack.physics.confinement);
- `volume_unaccounted`: the difference, hidden with no pressure behind it;
- `confinement_mean_Pa:<active>`: the active material's mean confinement pressure.
Writes benchmarks/results/volume_budget.json (--result: another file) with the engine's git
revision and every cycles.csv column at each end.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dempack  # noqa: E402
from creep_decides import revision  # noqa: E402  (the engine's commit, +changes)
from dempack.cli import _overrides  # noqa: E402  (--set KEY=VALUE, as `dempack run`)

SCENARIOS = {"cycle_se60mse": "Se", "cycle_se60mse_25C": "Se", "cycle_fes60mse": "FeS",
             "cycle_lco60mse": "LiCoO2"}
COLUMNS = ("volume_deficit", "volume_compressed", "volume_unaccounted")
RESULT = ROOT / "benchmarks" / "results" / "volume_budget.json"


def run_one(name: str, active: str, particles: int, cycles: int, folder: Path,
            overrides: dict | None = None) -> dict:
    sc = dempack.load_scenario(ROOT / "scenarios" / f"{name}.toml")
    sc.set_many({"packing.particles": particles, "cycling.cycles": cycles,
                 "run.snapshot_every_outputs": 0, **(overrides or {})})
    t = time.perf_counter()
    dempack.run(sc, out_dir=folder)
    wall = time.perf_counter() - t
    with open(folder / "cycles.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    ends = [{"cycle": int(float(r["cycle"])), "half": r["half"],
             **{c: float(r[c]) for c in COLUMNS},
             "confinement_mean_Pa": float(r[f"confinement_mean_Pa:{active}"]),
             "all": {k: _num(v) for k, v in r.items()}} for r in rows]
    return {"active": active, "wall_s": wall, "steps": int(float(rows[-1]["step"])) if rows else 0,
            "ends": ends}


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def table(res: dict) -> str:
    lines = ["| scenario | half | deficit, first → last end | compressed | unaccounted | "
             "largest deficit | largest unaccounted | active confinement, last (MPa) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in res["runs"].items():
        for half in ("discharge", "charge"):
            e = [x for x in r["ends"] if x["half"] == half]
            if not e:
                continue
            lines.append(
                f"| {name} | {half} | {e[0]['volume_deficit']:.4f} → {e[-1]['volume_deficit']:.4f}"
                f" | {e[0]['volume_compressed']:.4f} → {e[-1]['volume_compressed']:.4f}"
                f" | {e[0]['volume_unaccounted']:.4f} → {e[-1]['volume_unaccounted']:.4f}"
                f" | {max(x['volume_deficit'] for x in e):.4f}"
                f" | {max(x['volume_unaccounted'] for x in e):.4f}"
                f" | {e[-1]['confinement_mean_Pa'] / 1e6:.0f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "volume_budget")
    ap.add_argument("--report", action="store_true", help="print the table of the saved JSON")
    ap.add_argument("--result", type=Path, default=RESULT, help="the JSON to write or report")
    ap.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="run each scenario at these run.seed values (runs named <scenario>@<seed>)")
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                    help="scenario overrides for every run, e.g. numerics.cap_correction_every=1")
    args = ap.parse_args()
    overrides = _overrides(args.set)
    if args.report:
        print(table(json.loads(args.result.read_text())))
        return 0
    res = {"engine": revision(), "particles": args.particles, "cycles": args.cycles,
           "overrides": overrides,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": {}}
    for name in args.scenarios:
        for seed in args.seeds or [None]:
            key = name if seed is None else f"{name}@{seed}"
            over = overrides if seed is None else {**overrides, "run.seed": seed}
            res["runs"][key] = run_one(name, SCENARIOS[name], args.particles, args.cycles,
                                       args.out / key, over)
            print(key, f"{res['runs'][key]['wall_s']:.0f} s", flush=True)
        args.result.write_text(json.dumps(res, indent=1))  # partial results as they come
    print(table(res))
    print("wrote", args.result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
