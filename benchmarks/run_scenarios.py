"""Every shipped scenario finishes (issue 18.7): run each file in scenarios/ at its
defaults (or with --set overrides) and record pass/fail, wall time and the warnings.

Each scenario runs in this process, through the same driver as `dempack run`
(`Simulation` + `runner.OutputWriters` + `drive.drive`), into `--out/<stem>/`, with
`--threads` numba threads (default 1: the result of a run depends on its thread count,
not on the scenario's physics; one thread is what a shared 2-core machine runs fairly).
Recorded per scenario (benchmarks/results/run_scenarios.json):

- status: `pass` (the protocol ran to its end, `summary.json` says completed, and no
  value of the final row or of cycles.csv is NaN where it is defined), `fail` (an
  exception, e.g. DivergenceError, with its message; or a NaN where a value is defined),
  `not finished` (stopped at the wall budget `--budget-min`, default 5 min: its folder
  keeps a checkpoint, `dempack run --resume` continues it; where it got is recorded), or
  `not run` (a sweep file at its defaults unless --sweeps: see below; or --skip);
- wall time (s), steps, particles, stages reached;
- the warnings logged through the `dempack` logger (level WARNING and above), and any
  Python warnings (`warnings.warn`, e.g. numpy's RuntimeWarning) raised during the run;
- `known_failure`: a failure owned by another issue (none now: press_se50se10sp's 360 MPa
  divergence was fixed by the composite model of issue 16); it is still a failure.

NaN "where a value is defined": a tortuosity is undefined (NaN) where its network does not
percolate (σ_eff = 0, `dempack.transport.tortuosity_factor`), and the inertial number
where the punch carries no stress (`Simulation.inertial_number`), and the stack target
and deviation where a stage's punch control has none; any other NaN fails.

A sweep file (`[sweep]`, e.g. sweep_se_fraction.toml: 48 cases of its base scenario) is
a set of runs, not one: at its defaults it is recorded as not run, with its case count
and an estimate from its base scenario's wall time in this invocation; `--sweeps` runs
its cases one after another, each like a scenario.

    python benchmarks/run_scenarios.py                         # all, defaults, 5 min each
    python benchmarks/run_scenarios.py quickstart demo_pressing
    python benchmarks/run_scenarios.py --set packing.particles=100 --set cycling.cycles=1 \
        --result /tmp/short.json
    python benchmarks/run_scenarios.py --budget-min 30 cycle_se60mse --merge
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dempack  # noqa: E402
from dempack.drive import RunControl, drive  # noqa: E402
from dempack.io.tables import read_csv  # noqa: E402
from dempack.runner import OutputWriters  # noqa: E402
from dempack.scenario import SCENARIO_DIR, ScenarioError, parse_value  # noqa: E402
from dempack.simulation import Simulation  # noqa: E402

# failures owned by another issue (DESIGN §10): stem -> (issue, what)
KNOWN_FAILURES: dict[str, tuple[str, str]] = {}
# (press_se50se10sp's 360 MPa overlap divergence, owned by issue 16, is fixed by the porous
# Super P agglomerate model: dempack.physics.agglomerate, docs/validation.md)


def undefined_nan(row: dict, key: str) -> bool:
    """True where a NaN in `row[key]` is the definition of the observable, not a fault:
    a tortuosity where its network does not percolate (σ_eff ≤ 0), the inertial number
    where the punch carries no stress, the stack target where the stage's punch control has
    none (displacement rate, fixed gap, the protocol's end: `protocol.Stage.stack_target`)
    and its deviation there."""
    if key.startswith("tortuosity_"):
        s = row.get(f"sigma_eff_{key.split('_', 1)[1]}_S_per_m")
        return s is None or not (s > 0.0)
    if key == "inertial_number":
        p = row.get("punch_stress_Pa")
        return p is None or not (p > 0.0)
    if key in ("stack_target_Pa", "stack_deviation"):
        t = row.get("stack_target_Pa")
        return t is None or not (t > 0.0)
    return False


def nan_where_defined(rows) -> list[str]:
    """'step K: column' for each NaN of a row that `undefined_nan` does not explain."""
    out = []
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and math.isnan(v) and not undefined_nan(r, k):
                out.append(f"step {r.get('step')}: {k}")
    return out


class Collector(logging.Handler):
    """The `dempack` logger's records at WARNING and above, as 'logger: message'."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(f"{record.name}: {record.getMessage()}")


def _csv_rows(path: Path) -> list[dict]:
    """Rows of a dempack CSV with NaN for an empty numeric field."""
    cols = read_csv(path) if path.exists() else {}
    n = len(next(iter(cols.values()))) if cols else 0
    return [{k: (float(v[i]) if v.dtype.kind == "f" else str(v[i])) for k, v in cols.items()}
            for i in range(n)]


def run_one(name: str, sc, out: Path, budget_s: float, threads: int) -> dict:
    """Run one scenario to its end (or the budget) into `out`; the record described above."""
    rec = {"scenario": name, "particles": sc.packing.particles}
    out.mkdir(parents=True, exist_ok=True)
    sc.set("run.threads", threads)
    sc.save(out / "scenario.toml")
    control = RunControl()
    timer = threading.Timer(budget_s, control.stop)
    collector = Collector()
    logger = logging.getLogger("dempack")
    logger.addHandler(collector)
    t0 = time.perf_counter()
    sim = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sim = Simulation(sc, out_dir=out)
            writers = OutputWriters(sim, out)
            timer.start()
            drive(sim, writers, control)
        rec["python_warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
        summary = json.loads((out / "summary.json").read_text())
        rec["completed"] = bool(summary["completed"])
        final = {k: (math.nan if v is None else v) for k, v in summary["final"].items()}
        bad = nan_where_defined([final] + _csv_rows(out / "cycles.csv"))
        rec["nan_where_defined"] = bad
        if not rec["completed"]:
            rec["status"] = "not finished"
            rec["reason"] = (f"over the wall budget of {budget_s / 60:g} min: stopped at step "
                             f"{sim.step_count} in stage '{sim.stage_label}' (its folder keeps "
                             "the checkpoint: `dempack run --resume` continues it)")
            st = sim.stage
            if st is not None and st.kind == "cycling":
                rec["reason"] += f"; cycling {st.cycle - 1} of {st.cycles} cycles done"
                if st.cycle > 1:  # the whole run, at this pace, as if pressing were a cycle
                    rec["estimated_total_min"] = round(
                        (time.perf_counter() - t0) / 60.0 * st.cycles / (st.cycle - 1), 0)
        else:
            rec["status"] = "fail" if bad else "pass"
            if bad:
                rec["reason"] = f"NaN where a value is defined: {bad[:5]}"
        rec["stages"] = [{k: s[k] for k in ("stage", "reached", "step", "porosity",
                                            "punch_stress_Pa")}
                         for s in summary["stages"]]
        rec["final"] = {k: summary["final"].get(k) for k in
                        ("porosity", "punch_stress_Pa", "thickness_m", "volume_deficit",
                         "breakage_events")}
    except Exception as e:  # DivergenceError, ScenarioError, ...: the run failed
        rec["status"] = "fail"
        rec["reason"] = f"{type(e).__name__}: {e}"
        rec["traceback_tail"] = traceback.format_exc().splitlines()[-3:]
    finally:
        timer.cancel()
        logger.removeHandler(collector)
    rec["wall_s"] = round(time.perf_counter() - t0, 1)
    rec["steps"] = sim.step_count if sim is not None else 0
    rec["warnings"] = collector.messages
    known = KNOWN_FAILURES.get(name.split("/")[0])
    if known is not None:
        rec["known_failure"] = {"issue": known[0], "what": known[1],
                                "seen_here": rec["status"] == "fail"}
    return rec


def sweep_cases(path: Path, overrides: dict):
    from dempack.sweep import load_sweep
    return load_sweep(path, overrides or None)


def is_sweep(path: Path) -> bool:
    import tomllib
    return "sweep" in tomllib.loads(path.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help="scenario stems (default: every file in scenarios/)")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                    help="override a scenario key in every run (as `dempack run --set`)")
    ap.add_argument("--budget-min", type=float, default=5.0,
                    help="wall budget per scenario (min); a run past it is stopped, resumable")
    ap.add_argument("--threads", type=int, default=1, help="numba threads per run")
    ap.add_argument("--skip", action="append", default=[], metavar="STEM",
                    help="record a scenario as not run")
    ap.add_argument("--sweeps", action="store_true", help="run the cases of sweep files too")
    ap.add_argument("--out", default=str(ROOT / "results" / "run_scenarios"),
                    help="run folders (default results/run_scenarios, git-ignored)")
    ap.add_argument("--result", default=str(ROOT / "benchmarks" / "results" / "run_scenarios.json"))
    ap.add_argument("--merge", action="store_true",
                    help="keep the other scenarios' records already in --result")
    a = ap.parse_intermixed_args(argv)
    overrides = {}
    for item in a.set:
        k, _, v = item.partition("=")
        overrides[k.strip()] = parse_value(v.strip())
    files = sorted(SCENARIO_DIR.glob("*.toml"))
    if a.scenarios:
        files = [f for f in files if f.stem in a.scenarios]
    out = Path(a.out)
    records: dict[str, dict] = {}
    result = Path(a.result)
    if a.merge and result.exists():
        records = {r["scenario"]: r for r in json.loads(result.read_text())["scenarios"]}
    budget = a.budget_min * 60.0
    later = []
    for f in files:
        if f.stem in a.skip:
            records[f.stem] = {"scenario": f.stem, "status": "not run", "reason": "--skip"}
            continue
        if is_sweep(f):
            later.append(f)
            continue
        try:
            sc = dempack.load_scenario(f, overrides or None)
        except ScenarioError as e:
            records[f.stem] = {"scenario": f.stem, "status": "fail", "reason": str(e)}
            continue
        print(f"{f.stem}: running ({sc.packing.particles} particles)", flush=True)
        rec = run_one(f.stem, sc, out / f.stem, budget, a.threads)
        records[f.stem] = rec
        print(f"{f.stem}: {rec['status']} in {rec['wall_s']} s, {len(rec['warnings'])} "
              f"warning(s){': ' + rec['reason'] if 'reason' in rec else ''}", flush=True)
    for f in later:  # sweeps: after their base scenario, whose wall time estimates them
        try:
            sw = sweep_cases(f, overrides)
            cases = sw.cases()
        except (ScenarioError, ValueError) as e:
            records[f.stem] = {"scenario": f.stem, "status": "fail", "reason": str(e)}
            continue
        base = records.get(Path(sw.base).stem)
        if not a.sweeps:
            est = ""
            if base is not None and base.get("status") == "pass":
                est = (f"; its base {Path(sw.base).stem} took {base['wall_s']:.0f} s here, so "
                       f"about {len(cases) * base['wall_s'] / 60:.0f} min on one core (each "
                       "case presses once, to one pressure, so somewhat less)")
            records[f.stem] = {"scenario": f.stem, "status": "not run", "cases": len(cases),
                               "reason": (f"a sweep of {len(cases)} runs, not one scenario: "
                                          "not run at its defaults (pass --sweeps)" + est)}
            continue
        for c in cases:
            key = f"{f.stem}/{c.name}"
            if c.error is not None:
                records[key] = {"scenario": key, "status": "fail", "reason": c.error}
                continue
            print(f"{key}: running", flush=True)
            records[key] = run_one(key, c.scenario, out / f.stem / c.name, budget, a.threads)
            print(f"{key}: {records[key]['status']} in {records[key]['wall_s']} s", flush=True)
    doc = {
        "what": "benchmarks/run_scenarios.py: every file in scenarios/ run to its end",
        "overrides": {k: v for k, v in overrides.items()},
        "budget_min": a.budget_min, "threads": a.threads,
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "counts": {},
        "scenarios": [records[k] for k in sorted(records)],
    }
    for r in doc["scenarios"]:
        doc["counts"][r["status"]] = doc["counts"].get(r["status"], 0) + 1
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print(json.dumps(doc["counts"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
