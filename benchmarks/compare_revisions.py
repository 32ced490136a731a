"""A refactor changes no result: run the shipped scenarios on two git revisions and
compare their CSVs (DESIGN §10, "What results unchanged means").

Two modes:

- ``--steps N`` (default 10,000): every file in scenarios/ (or those named) runs its
  first N steps on each revision (``run.max_steps = N``, output every
  ``--interval`` steps). Every numeric column of every timeseries.csv row must agree
  bit for bit, or within ``--rtol`` (1e-9) relative where the order of operations was
  changed on purpose. Chaos has not set in over the first steps, so this is the check
  that catches a changed formula.
- ``--full``: whole runs are chaotic (any reordered sum changes the round-off and the
  trajectories part), so they are compared statistically: every cycles.csv column at
  every half-cycle end within 2 % of the old code, or within the spread of the old code
  over ``--seeds`` seeds where that is larger; breakage counts within that spread.

Each revision is checked out into a temporary git worktree and run in its own Python
process with that tree first on sys.path (its own numba cache), one scenario at a time.

    python benchmarks/compare_revisions.py OLD_REV [--new REV] [--steps 10000] [scenario ...]
    python benchmarks/compare_revisions.py OLD_REV --full --seeds 3 cycle_se60mse

--new defaults to the working tree. Results: benchmarks/results/compare_OLD_NEW.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def checkout(rev: str | None, where: Path) -> Path:
    """A tree of `rev` (None: the working tree itself)."""
    if rev is None:
        return ROOT
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), rev],
                   check=True, capture_output=True)
    return where


def run_case(tree: Path, scenario: Path, out: Path, sets: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(tree / ".numba_cache"))
    args = [sys.executable, "-m", "dempack.cli", "run", str(scenario), "--out", str(out), "--quiet"]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    t0 = time.perf_counter()
    p = subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True)
    return {"rc": p.returncode, "wall_s": time.perf_counter() - t0,
            "stderr": p.stderr.strip().splitlines()[-3:]}


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def as_float(s: str):
    """A CSV field as a float: an empty field (the convention since 2026-12-07) and 'nan'
    (before) both mean "no value", NaN."""
    if s == "":
        return math.nan
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def compare_exact(a: list[dict], b: list[dict], rtol: float) -> dict:
    """Row by row, column by column: identical, within rtol, or different."""
    out = {"rows": [len(a), len(b)], "identical": True, "worst_rel": 0.0, "worst": None,
           "missing_columns": sorted(set(a[0]) - set(b[0])) if a and b else [],
           "new_columns": sorted(set(b[0]) - set(a[0])) if a and b else []}
    if len(a) != len(b):
        out["identical"] = False
    for ra, rb in zip(a, b):
        for k in ra.keys() & rb.keys():
            if ra[k] == rb[k]:
                continue
            x, y = as_float(ra[k]), as_float(rb[k])
            if x is None or y is None:
                out["identical"] = False
                out["worst"] = (ra.get("step"), k, ra[k], rb[k])
                continue
            if math.isnan(x) and math.isnan(y):
                continue
            out["identical"] = False
            rel = abs(x - y) / max(abs(x), abs(y), 1e-300)
            if rel > out["worst_rel"]:
                out["worst_rel"], out["worst"] = rel, (ra.get("step"), k, ra[k], rb[k])
    out["within_rtol"] = len(a) == len(b) and out["worst_rel"] <= rtol
    return out


def compare_statistical(old_runs: list[list[dict]], new: list[dict]) -> dict:
    """New cycles.csv vs the old code's seeds: per column and half-cycle end, |new − old
    mean| within max(2 % of |old mean|, old spread (max − min))."""
    fails, checked = [], 0
    for r, rn in enumerate(new):
        olds = [runs[r] for runs in old_runs if r < len(runs)]
        if not olds:
            fails.append((r, "row missing in old"))
            continue
        for k, v in rn.items():
            y = as_float(v)
            xs = [as_float(o.get(k)) for o in olds]
            if y is None or any(x is None for x in xs) or any(math.isnan(x) for x in xs):
                continue
            checked += 1
            mean = sum(xs) / len(xs)
            tol = max(0.02 * abs(mean), max(xs) - min(xs))
            if abs(y - mean) > tol and not (tol == 0.0 and y == mean):
                fails.append((r, k, y, mean, tol))
    return {"checked": checked, "failed": len(fails), "first_failures": fails[:20]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", help="the old revision")
    ap.add_argument("--new", default=None, help="the new revision (default: the working tree)")
    ap.add_argument("scenarios", nargs="*", help="scenario stems (default: all in scenarios/)")
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--interval", type=int, default=500)
    ap.add_argument("--rtol", type=float, default=1e-9)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_intermixed_args(argv)  # `OLD --new REV stem ...` as the docstring writes it
    short = lambda rev: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev],
                                       check=True, capture_output=True, text=True).stdout.strip()
    a.old = short(a.old)
    if a.new is not None:
        a.new = short(a.new)
    stems = a.scenarios or sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml")
                                  if not p.stem.startswith("sweep"))
    tmp = Path(tempfile.mkdtemp(prefix="dempack_compare_"))
    old_tree = checkout(a.old, tmp / "old")
    new_tree = checkout(a.new, tmp / "new")
    report = {"old": a.old, "new": a.new or "working tree", "mode": "full" if a.full else "steps",
              "steps": a.steps, "rtol": a.rtol, "threads": a.threads, "cases": {}}
    try:
        for stem in stems:
            case = {}
            if not a.full:
                sets = {"run.max_steps": a.steps, "run.output_interval_steps": a.interval,
                        "run.threads": a.threads, "run.snapshot_every_outputs": 0}
                rows = {}
                for tag, tree in (("old", old_tree), ("new", new_tree)):
                    out = tmp / f"{stem}_{tag}"
                    case[tag] = run_case(tree, tree / "scenarios" / f"{stem}.toml", out, sets)
                    rows[tag] = read_rows(out / "timeseries.csv")
                case["timeseries"] = compare_exact(rows["old"], rows["new"], a.rtol)
                ok = case["timeseries"]["within_rtol"]
            else:
                olds = []
                for s in range(1, a.seeds + 1):
                    out = tmp / f"{stem}_old_{s}"
                    run_case(old_tree, old_tree / "scenarios" / f"{stem}.toml", out,
                             {"run.seed": s, "run.threads": a.threads})
                    olds.append(read_rows(out / "cycles.csv"))
                out = tmp / f"{stem}_new"
                case["new"] = run_case(new_tree, new_tree / "scenarios" / f"{stem}.toml", out,
                                       {"run.seed": 1, "run.threads": a.threads})
                case["cycles"] = compare_statistical(olds, read_rows(out / "cycles.csv"))
                ok = case["cycles"]["failed"] == 0
            case["ok"] = ok
            report["cases"][stem] = case
            detail = case.get("timeseries") or case.get("cycles")
            print(f"{stem:<28} {'OK ' if ok else 'DIFF'} {json.dumps(detail)[:220]}", flush=True)
    finally:
        for tree in (old_tree, new_tree):
            if tree != ROOT:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                               capture_output=True)
    name = f"compare_{a.old}_{a.new or 'worktree'}{'_full' if a.full else ''}.json"
    (ROOT / "benchmarks" / "results" / name).write_text(json.dumps(report, indent=1) + "\n")
    bad = [s for s, c in report["cases"].items() if not c["ok"]]
    print(f"{len(report['cases']) - len(bad)} of {len(report['cases'])} scenarios agree"
          + (f"; differ: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
