"""Soak: a 300-particle Se-60MSe cell cycled 1,000 times (issue 18.5; DESIGN §10 "Memory").
A benchmark, not a test: it shows that a long run stays flat.

The run is `scenarios/cycle_se60mse.toml` with packing.particles = 300 and
cycling.cycles = 1000 (nothing else changed: same pressing, stack servo, C-rate,
steps per half-cycle, output interval, snapshots and checkpoints), one numba thread,
written to an output folder like `dempack run --out`. At every cycle end it records:

- wall time of the cycle (s) — must not grow — and the process's CPU time in it (on a
  shared machine the CPU time is the fairer measure: the wall time also counts the
  time other processes held the core; the 1-minute load average is recorded with each
  sample);
- every `--every` cycles (50): the process's RSS (VmRSS, MiB) after a `gc.collect()`, and
  the size of each output file (timeseries.csv, cycles.csv, checkpoint.npz, summary, vtk/);
  the RSS growth is judged after the first sample (the numba kernels, the caches and
  the first rows are loaded by then): growth = (RSS − RSS at cycle 50) / RSS at cycle 50,
  which must stay under 5 %;
- NaN: the particle state (x, v, R, lithiation) must stay finite, and no column of
  cycles.csv that had a value at the first cycle end may lose it (a column that is
  undefined by its nature, like a tortuosity where nothing percolates, is reported
  separately, not counted as turning NaN);
- `volume_deficit` at each half-cycle end (the fraction of the particles' true volume
  that the geometric solid volume misses): it must stay bounded (its range over the
  last 50 cycles against the first 50);
- the warnings logged by the `dempack` logger (counted by message head).

Wall time: ~19 k steps per cycle at 300 particles. If the whole 1,000 cycles do not fit
the time given (`--budget-min`), the run stops at the first cycle end past the budget and
leaves its checkpoint; `--resume` continues it (the per-cycle records are appended to
`soak_log.jsonl` in the run folder, and RSS is then that of the new process). The result
says how many cycles ran; it never claims more.

    python benchmarks/soak.py --cycles 20 --out results/soak20 --result /tmp/soak20.json
    nohup python benchmarks/soak.py --budget-min 45 > results/soak.log 2>&1 &
    python benchmarks/soak.py --resume --budget-min 45      # continue the same folder
    python benchmarks/soak.py --report                      # rebuild the JSON from the log

Result: benchmarks/results/soak.json (the summary below is in benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import dempack  # noqa: E402
from dempack.drive import RunControl, drive  # noqa: E402
from dempack.runner import OutputWriters  # noqa: E402
from dempack.simulation import Simulation  # noqa: E402

SCENARIO = ROOT / "scenarios" / "cycle_se60mse.toml"
OVERRIDES = {"packing.particles": 300, "cycling.cycles": 1000, "run.threads": 1}


def rss_mib() -> float:
    """Resident set size of this process (MiB), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return math.nan


def file_sizes(out: Path) -> dict:
    """Bytes of each output file; vtk/ as one total (and its file count)."""
    sizes = {}
    for name in ("timeseries.csv", "cycles.csv", "checkpoint.npz", "summary.json",
                 "particles.pvd", "breakage.csv"):
        p = out / name
        if p.exists():
            sizes[name] = p.stat().st_size
    vtk = list((out / "vtk").glob("*.vtp"))
    sizes["vtk/"] = sum(p.stat().st_size for p in vtk)
    sizes["vtk_files"] = len(vtk)
    return sizes


def checkpoint_meta_bytes(out: Path) -> int:
    from dempack.io import load_checkpoint
    return len(json.dumps(load_checkpoint(out / "checkpoint.npz")[1]))


class WarningCounter(logging.Handler):
    """Counts the `dempack` logger's warnings by their head (up to the first ':' after
    the stage and step, so one kind of warning is one key) and keeps the first of each."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}

    def emit(self, record):
        msg = record.getMessage()
        head = msg.split(": ", 1)[-1].split(" = ")[0][:80]
        self.counts[head] = self.counts.get(head, 0) + 1
        self.first.setdefault(head, msg)


class Soak:
    """Half-cycle observer: records each half-cycle end and each cycle's wall time;
    stops the run (resumably) once past the wall budget."""

    def __init__(self, out: Path, every: int, budget_s: float, control: RunControl):
        self.out, self.every, self.budget_s, self.control = out, every, budget_s, control
        self.log = (out / "soak_log.jsonl").open("a")
        self.t_start = time.perf_counter()
        self.t_last = None  # wall clock at the previous cycle end (None: not yet this process)
        self.cpu_last = None  # process CPU time there
        self.first_cols = None

    def __call__(self, sim, row):
        now = time.perf_counter()
        ps = sim.particles
        finite = bool(all(np.all(np.isfinite(a)) for a in (ps.x, ps.v, ps.R, ps.lithiation)))
        nan_cols = sorted(k for k, v in row.items()
                          if isinstance(v, float) and math.isnan(v))
        # a tortuosity is undefined where its network does not percolate (σ_eff = 0,
        # dempack.transport.tortuosity_factor): NaN there is the definition, not a fault
        unexplained = [k for k in nan_cols if not (
            k.startswith("tortuosity_")
            and row.get(f"sigma_eff_{k.split('_', 1)[1]}_S_per_m", 1.0) <= 0.0)]
        rec = {"cycle": int(row["cycle"]), "half": row["half"], "step": int(row["step"]),
               "volume_deficit": row["volume_deficit"], "porosity": row["porosity"],
               "punch_stress_Pa": row["punch_stress_Pa"], "thickness_m": row["thickness_m"],
               "state_finite": finite, "nan_columns": nan_cols,
               "nan_unexplained": unexplained, "pid": os.getpid()}
        if row["half"] == "charge":  # a cycle ends
            cpu = time.process_time()
            rec["wall_s"] = None if self.t_last is None else now - self.t_last
            rec["cpu_s"] = None if self.t_last is None else cpu - self.cpu_last
            self.t_last, self.cpu_last = now, cpu
            if rec["cycle"] % self.every == 0 or rec["wall_s"] is None:  # + a process's first
                gc.collect()
                rec["rss_mib"] = rss_mib()
                rec["files"] = file_sizes(self.out)
                rec["checkpoint_meta_bytes"] = checkpoint_meta_bytes(self.out)
                rec["history_in_memory"] = (len(sim.history) if not sim.history.streamed
                                            else 1)
                rec["load_avg_1min"] = os.getloadavg()[0]
                print(f"cycle {rec['cycle']}: RSS {rec['rss_mib']:.1f} MiB, cycle wall "
                      f"{rec['wall_s'] or float('nan'):.1f} s, files "
                      f"{sum(v for k, v in rec['files'].items() if k != 'vtk_files') / 1e6:.1f}"
                      f" MB, volume_deficit {rec['volume_deficit']:.4f}", flush=True)
            if (now - self.t_start > self.budget_s
                    and rec["cycle"] < sim.scenario.cycling.cycles):
                rec["stopped_for_budget"] = True
                self.control.stop()
        self.log.write(json.dumps(rec) + "\n")
        self.log.flush()


def run(args) -> None:
    out = Path(args.out)
    control = RunControl()
    counter = WarningCounter()
    logging.getLogger("dempack").addHandler(counter)
    t0 = time.perf_counter()
    if args.resume:
        sc = dempack.load_scenario(out / "scenario.toml")
        sim = Simulation.from_checkpoint(sc, out / "checkpoint.npz", out_dir=out)
        writers = OutputWriters(sim, out, resume_step=sim.step_count)
    else:
        sc = dempack.load_scenario(SCENARIO, {**OVERRIDES, "cycling.cycles": args.cycles})
        out.mkdir(parents=True, exist_ok=True)
        (out / "soak_log.jsonl").unlink(missing_ok=True)
        sc.save(out / "scenario.toml")
        sim = Simulation(sc, out_dir=out)
        writers = OutputWriters(sim, out)
    soak = Soak(out, args.every, args.budget_min * 60.0, control)
    sim.half_cycle_observers.append(soak)
    drive(sim, writers, control)
    seg = {"pid": os.getpid(), "resumed": bool(args.resume), "wall_s": time.perf_counter() - t0,
           "steps_end": sim.step_count, "completed": sim.done,
           "warnings": counter.counts, "warning_examples": counter.first,
           "rss_end_mib": rss_mib()}
    with (out / "soak_segments.jsonl").open("a") as f:
        f.write(json.dumps(seg) + "\n")
    print(f"{'finished' if sim.done else 'stopped'} at step {sim.step_count} "
          f"({seg['wall_s']:.0f} s)", flush=True)


def report(out: Path, result: Path, target_cycles: int) -> dict:
    """Build the result JSON from the run folder's soak_log.jsonl and soak_segments.jsonl."""
    recs = [json.loads(line) for line in (out / "soak_log.jsonl").read_text().splitlines()
            if line.strip()]
    segs = [json.loads(line) for line in (out / "soak_segments.jsonl").read_text().splitlines()
            if line.strip()] if (out / "soak_segments.jsonl").exists() else []
    ends = [r for r in recs if r["half"] == "charge"]
    cycles = max((r["cycle"] for r in ends), default=0)
    samples = [r for r in ends if "rss_mib" in r]
    # RSS growth is judged within one process (a resumed segment starts a new one), from
    # its first sample at least 50 cycles into the process to its largest later sample
    growth_by_segment = []
    for pid in dict.fromkeys(r["pid"] for r in samples):
        same = [r for r in samples if r["pid"] == pid]
        start = min(r["cycle"] for r in ends if r["pid"] == pid)
        base = next((r for r in same if r["cycle"] >= start + 49), None)
        later = [r for r in same if base is not None and r["cycle"] > base["cycle"]]
        growth_by_segment.append({
            "pid": pid, "cycles": [start, max(r["cycle"] for r in ends if r["pid"] == pid)],
            "baseline_cycle": base["cycle"] if base else None,
            "baseline_rss_mib": base["rss_mib"] if base else None,
            "max_later_rss_mib": max(r["rss_mib"] for r in later) if later else None,
            "growth": (max(r["rss_mib"] for r in later) / base["rss_mib"] - 1.0
                       if later else None)})
    growth = growth_by_segment[0]["growth"] if growth_by_segment else None
    walls = [(r["cycle"], r["wall_s"], r.get("cpu_s")) for r in ends
             if r.get("wall_s") is not None]
    w = np.array([x for _, x, _ in walls])
    cpu = np.array([c for _, _, c in walls if c is not None])
    k = min(50, max(1, len(w) // 4))

    def med(a, part):
        return float(np.median(a[:k] if part == "first" else a[-k:])) if len(a) else None
    vd = {h: [r["volume_deficit"] for r in recs if r["half"] == h]
          for h in ("discharge", "charge")}
    first_nan = set(recs[0]["nan_columns"]) if recs else set()
    turned_nan = sorted({c for r in recs for c in r["nan_columns"]} - first_nan)
    warnings = {}
    for s in segs:
        for kk, v in s["warnings"].items():
            warnings[kk] = warnings.get(kk, 0) + v
    res = {
        "what": ("benchmarks/soak.py: scenarios/cycle_se60mse.toml, packing.particles = 300, "
                 "cycling.cycles = 1000, run.threads = 1, other keys at their defaults, "
                 "written to an output folder"),
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "cores": os.cpu_count()},
        "cycles_target": target_cycles,
        "cycles_run": cycles,
        "completed": any(s["completed"] for s in segs),
        "segments": [{k2: s[k2] for k2 in ("pid", "resumed", "wall_s", "steps_end",
                                             "completed", "rss_end_mib")} for s in segs],
        "rss_mib": [{"cycle": r["cycle"], "rss_mib": round(r["rss_mib"], 1), "pid": r["pid"],
                     "load_avg_1min": r.get("load_avg_1min")} for r in samples],
        "rss_growth_after_cycle_50": growth,
        "rss_growth_by_process": growth_by_segment,
        "rss_growth_limit": 0.05,
        "files_bytes": [{"cycle": r["cycle"], **r["files"],
                         "checkpoint_meta_bytes": r["checkpoint_meta_bytes"]} for r in samples],
        "wall_per_cycle_s": {
            "window_cycles": k,
            "first_cycles_median": med(w, "first"), "last_cycles_median": med(w, "last"),
            "ratio_last_to_first": (med(w, "last") / med(w, "first") if len(w) else None),
            "cpu_first_cycles_median": med(cpu, "first"),
            "cpu_last_cycles_median": med(cpu, "last"),
            "cpu_ratio_last_to_first": (med(cpu, "last") / med(cpu, "first")
                                        if len(cpu) else None),
            "min": float(w.min()) if len(w) else None, "max": float(w.max()) if len(w) else None,
            "per_cycle_wall_cpu": [[c, round(x, 3), None if y is None else round(y, 3)]
                                   for c, x, y in walls]},
        "nan": {"state_finite_at_every_half_cycle_end": all(r["state_finite"] for r in recs),
                "columns_undefined_from_the_first_cycle": sorted(first_nan),
                "columns_nan_at_some_half_cycle_end": turned_nan,
                "nan_not_explained_by_definition": sorted(
                    {c for r in recs for c in r.get("nan_unexplained", [])}),
                "note": ("tortuosity_e / tortuosity_ion are NaN by definition where their "
                         "network does not percolate (sigma_eff = 0); those are not counted "
                         "as unexplained")},
        "volume_deficit": {
            h: {"first": v[0], "last": v[-1], "min": min(v), "max": max(v),
                "first_50_range": [min(v[:50]), max(v[:50])],
                "last_50_range": [min(v[-50:]), max(v[-50:])]} if v else None
            for h, v in vd.items()},
        "warnings": warnings,
    }
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(res, indent=1) + "\n")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--out", default=str(ROOT / "results" / "soak"),
                    help="run folder (default results/soak, git-ignored)")
    ap.add_argument("--every", type=int, default=50, help="RSS and file sizes every k cycles")
    ap.add_argument("--budget-min", type=float, default=1e9,
                    help="stop (resumably) at the first cycle end past this wall time")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out")
    ap.add_argument("--report", action="store_true", help="only rebuild the result JSON")
    ap.add_argument("--result", default=str(ROOT / "benchmarks" / "results" / "soak.json"))
    a = ap.parse_args(argv)
    if not a.report:
        run(a)
    out = Path(a.out)
    target = dempack.load_scenario(out / "scenario.toml").cycling.cycles
    res = report(out, Path(a.result), target)
    print(json.dumps({k: res[k] for k in ("cycles_run", "completed",
                                          "rss_growth_after_cycle_50")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
