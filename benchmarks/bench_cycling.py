#!/usr/bin/env python
"""The cycling workload (issue 17, item 3): what a cycle of `cycle_se60mse` costs, against the
elastic step, at the same particle count and thread count.

For each N: the shipped scenario `scenarios/cycle_se60mse.toml` with packing.particles = N is
pressed (its two pressing stages) and the state at the start of cycling is cached as a
checkpoint (benchmarks/.cache/cycling_N<N>_<key>.npz; --fresh redoes it). Then, for each
thread count, a fresh process loads it and
  - times `--repeats` blocks of `--steps` cycling steps (the first discharge: swelling, creep
    every volume_update_interval steps, the volume-conserving radii, the spring fixture),
    reporting µs per particle-step (median), cpu/wall and the CPU the other processes used
    in the meantime (other_cores: above ~0.1 the timing was shared);
  - profiles `--profile-steps` more steps: wall time in each kernel (the step kernel, the
    volume bookkeeping, the particle stress and the creep flow, neighbour builds), the rest
    being Python, and the time of one output row (observables + transport);
  - times the elastic step on the same bed: the same state with its flats, lithiation and
    creep frozen (a fixed gap: the step kernel alone, no updaters), `--steps` steps;
  - records the state's memory per particle and the steps per cycle of the scenario.
The cycling cost is given against that elastic step (same bed, same N, same threads) and,
where benchmarks/results/hertz_bed.json has the same N and threads, against the fixed
Hertz-bed benchmark as well. Wall time per cycle = µs per particle-step × N × steps per cycle.

Usage:
  python benchmarks/bench_cycling.py --quick          # N = 2000, 1 and 2 threads (< 3 min)
  python benchmarks/bench_cycling.py                  # N = 2000 and 20000, 1 and 2 threads
  python benchmarks/bench_cycling.py --report         # the table of the saved results

Results: benchmarks/results/cycling.json (--quick: cycling_quick.json), with the machine.
Time it with nothing else running on the machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_hertz_bed import (_Timer, cpu_busy_s, current_rss_mb, machine_info,  # noqa: E402
                             peak_rss_mb, state_bytes, wait_quiet)
from bench_hertz_bed import run_worker as _run_worker  # noqa: E402

SCENARIO = HERE.parent / "scenarios" / "cycle_se60mse.toml"
DEFAULT_OUT = HERE / "results" / "cycling.json"
CACHE = HERE / ".cache"
# the kernels Simulation calls, for the profile: names in the namespace of dempack.simulation
# (the step) or of dempack.physics.updates (the creep and volume updaters)
PROFILED = ("step_serial", "step_threaded", "removed_volumes", "normal_stress",
            "normal_stress_threaded", "particle_norton_flow", "confinement_pressures",
            "build_contact_list", "block_serial", "block_threaded")  # the last two: blocks of plain steps (stepblock)


def scenario(n: int, overrides: list[str] | None = None):
    """The shipped scenario at N particles; overrides: KEY=VALUE (TOML values), for the timed
    cycling only (the bed is pressed as shipped)."""
    import dempack
    sc = dempack.load_scenario(SCENARIO)
    sc.set_many({"packing.particles": n, "run.snapshot_every_outputs": 0,
                 "run.snapshot_at_half_cycle_fractions": [], "run.checkpoint_every_outputs": 10 ** 6})
    from dempack.cli import _overrides  # --set KEY=VALUE, as `dempack run` parses it
    sc.set_many(_overrides(overrides))
    return sc


def cache_key(n: int) -> str:
    return hashlib.sha1((SCENARIO.read_text() + str(n)).encode()).hexdigest()[:10]


def steps_per_cycle(sc) -> int:
    """DEM steps of one cycle: a full discharge (c: c_res → 1, the first from c0) and a
    charge (1 → c_res), each (span) × steps_per_half_cycle."""
    cy = sc.cycling
    return int(round(cy.steps_per_half_cycle * 2 * (1.0 - cy.residual_lithiation)))


def worker_prepare(a) -> dict:
    """Press the scenario's bed and checkpoint the state where cycling starts."""
    from dempack.simulation import Simulation
    sc = scenario(a.n)
    sim = Simulation(sc)
    t0 = time.perf_counter()
    while sim.stage is not None and sim.stage.kind != "cycling":
        sim.run(steps=1000)
    sim.write_checkpoint(a.bed)
    return {"n": sim.particles.n, "pressing_steps": sim.step_count,
            "pressing_wall_s": time.perf_counter() - t0}


def _block(sim, steps, n, threads):
    m0 = cpu_busy_s()
    c0 = time.process_time()
    t0 = time.perf_counter()
    sim.run(steps=steps)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    m1 = cpu_busy_s()
    other = None if m0 is None or m1 is None else max(0.0, (m1 - m0 - cpu) / dt)
    return {"wall_s": dt, "cpu_s": cpu, "cpu_per_wall": cpu / dt, "other_cores": other,
            "us_per_particle_step": 1e6 * dt / (n * steps)}


def _median(v):
    v = sorted(v)
    k = len(v) // 2
    return v[k] if len(v) % 2 else 0.5 * (v[k - 1] + v[k])


def worker_time(a) -> dict:
    import numba
    import dempack.physics.updates as dupd
    import dempack.simulation as dsim
    from dempack.simulation import Simulation
    from dempack.protocol import FixedGapStage
    try:
        import dempack.stepblock as dsb
    except ImportError:  # revisions before the blocks of steps
        dsb = None

    k = min(a.threads, numba.config.NUMBA_NUM_THREADS) if a.threads > 0 else numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(k)
    sc = scenario(a.n, a.set)
    sc.set("run.threads", k)
    sim = Simulation.from_checkpoint(sc, a.bed)
    n = sim.particles.n
    sim.scenario.run.output_interval_steps = 10 ** 9   # no output rows inside the timed blocks
    t0 = time.perf_counter()
    sim.run(steps=1)                                   # loads the kernels from the numba cache
    first = time.perf_counter() - t0
    sim.run(steps=a.warmup)
    blocks = [_block(sim, a.steps, n, k) for _ in range(a.repeats)]
    cyc = _median([b["us_per_particle_step"] for b in blocks])
    prof = None
    if a.profile_steps > 0:
        timers = [_Timer(mod, nm).install() for mod in (dsim, dupd, dsb) for nm in PROFILED
                  if mod is not None and hasattr(mod, nm)]
        t0 = time.perf_counter()
        sim.run(steps=a.profile_steps)
        total = time.perf_counter() - t0
        for t in timers:
            t.remove()
        per = {t.name: 1e6 * t.t / (a.profile_steps * n) for t in timers if t.calls}
        per["python_rest"] = 1e6 * total / (a.profile_steps * n) - sum(per.values())
        t0 = time.perf_counter()
        sim.observe()
        prof = {"steps": a.profile_steps, "us_per_particle_step_by_part": per,
                "observe_row_ms": 1e3 * (time.perf_counter() - t0),
                "calls": {t.name: t.calls for t in timers if t.calls}}
    state = state_bytes(sim)
    rss = current_rss_mb()
    # the elastic step on the same bed: a fixed gap, no updaters (flats, radii, lithiation frozen)
    stage = FixedGapStage(10 ** 9)
    sim.stages.insert(sim.stage_index, stage)
    sim.updaters = []
    sim.run(steps=a.warmup)
    eblocks = [_block(sim, a.steps, n, k) for _ in range(a.repeats)]
    ela = _median([b["us_per_particle_step"] for b in eblocks])
    return {"n": n, "threads": k, "threading_layer": numba.threading_layer(),
            "steps": a.steps, "repeats": a.repeats, "first_step_s": first,
            "cycling_us_per_particle_step": cyc, "cycling_blocks": blocks,
            "elastic_same_bed_us_per_particle_step": ela, "elastic_blocks": eblocks,
            "ratio_to_elastic_same_bed": cyc / ela, "profile": prof,
            "steps_per_cycle": steps_per_cycle(sc),
            "wall_s_per_cycle": cyc * 1e-6 * n * steps_per_cycle(sc),
            "state": state, "rss_MB": rss, "peak_rss_MB": peak_rss_mb()}


def run_worker(kind: str, extra: list[str]) -> dict:
    """bench_hertz_bed's worker runner, on this script."""
    return _run_worker(kind, extra, script=__file__)


def hertz_reference(n: int, threads: int) -> float | None:
    """µs per particle-step of benchmarks/results/hertz_bed.json at this N and thread count."""
    p = HERE / "results" / "hertz_bed.json"
    if not p.is_file():
        return None
    for c in json.loads(p.read_text()).get("cases", []):
        if c.get("n") == n and c.get("threads") == threads:
            return c.get("us_per_particle_step")
    return None


def fmt_table(res: dict) -> str:
    lines = ["| N | threads | cycling µs/p-step | elastic, same bed | ratio | Hertz bed (ratio) | "
             "steps/cycle | s/cycle | B/particle | other cores |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in res["cases"]:
        h = c.get("hertz_bed_us_per_particle_step")
        hs = f"{h:.3f} ({c['cycling_us_per_particle_step'] / h:.1f}×)" if h else "—"
        oth = max((b["other_cores"] or 0.0) for b in c["cycling_blocks"] + c["elastic_blocks"])
        lines.append(f"| {c['n']} | {c['threads']} | {c['cycling_us_per_particle_step']:.3f} | "
                     f"{c['elastic_same_bed_us_per_particle_step']:.3f} | "
                     f"{c['ratio_to_elastic_same_bed']:.2f} | {hs} | {c['steps_per_cycle']} | "
                     f"{c['wall_s_per_cycle']:.1f} | {c['state']['state_B_per_particle']:.0f} | "
                     f"{oth:.2f} |")
    prof = [c for c in res["cases"] if c.get("profile")]
    if prof:
        lines += ["", "Profile (µs per particle-step by part):", ""]
        for c in prof:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in c["profile"]["us_per_particle_step_by_part"].items())
            lines.append(f"- N {c['n']}, {c['threads']} thread(s): {parts}; one output row "
                         f"{c['profile']['observe_row_ms']:.0f} ms")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2000, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--profile-steps", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="N = 2000 only, 2 repeats of 1000 steps")
    ap.add_argument("--fresh", action="store_true", help="prepare the beds again")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="wait up to S s for the other processes to use < 0.15 cores first")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                    help="scenario overrides for the timed cycling, e.g. "
                         "numerics.cap_correction_every=1 (the bed is pressed as shipped)")
    ap.add_argument("--worker", choices=("prepare", "time"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--bed", help=argparse.SUPPRESS)
    ap.add_argument("--threads-one", dest="threads_one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        if a.worker == "time":
            a.threads = a.threads_one
        res = (worker_prepare if a.worker == "prepare" else worker_time)(a)
        Path(a.result).write_text(json.dumps(res))
        return 0
    if a.out is None:
        a.out = DEFAULT_OUT.with_name("cycling_quick.json") if a.quick else DEFAULT_OUT
    if a.report:
        print(fmt_table(json.loads(a.out.read_text())))
        return 0
    if a.quick:
        a.sizes, a.repeats, a.steps, a.profile_steps, a.warmup = [2000], 2, 1000, 500, 200
    res = {"benchmark": "cycling", "scenario": str(SCENARIO.relative_to(HERE.parent)),
           "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info(),
           "settings": {"steps": a.steps, "repeats": a.repeats, "warmup": a.warmup,
                        "profile_steps": a.profile_steps, "overrides": a.set},
           "prepare": {}, "cases": []}
    CACHE.mkdir(exist_ok=True)
    for n in a.sizes:
        bed = CACHE / f"cycling_N{n}_{cache_key(n)}.npz"
        if not bed.is_file() or a.fresh:
            print(f"N={n}: pressing the bed ...", flush=True)
            res["prepare"][str(n)] = run_worker("prepare", ["--n", str(n), "--bed", str(bed)])
        for k in a.threads:
            if a.wait_quiet > 0:
                print(f"  other processes: {wait_quiet(a.wait_quiet):.2f} cores", flush=True)
            c = run_worker("time", ["--n", str(n), "--bed", str(bed), "--threads-one", str(k),
                                    "--steps", str(a.steps), "--repeats", str(a.repeats),
                                    "--warmup", str(a.warmup),
                                    "--profile-steps", str(a.profile_steps),
                                    *(["--set", *a.set] if a.set else [])])
            c["hertz_bed_us_per_particle_step"] = hertz_reference(c["n"], c["threads"])
            res["cases"].append(c)
            print(f"N={n}, {k} thread(s): cycling {c['cycling_us_per_particle_step']:.3f}, "
                  f"elastic (same bed) {c['elastic_same_bed_us_per_particle_step']:.3f} µs/p-step",
                  flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print(fmt_table(res))
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
