#!/usr/bin/env python
"""Repeatable A/B measure of the engine step on a shared machine: instruction counts.

Wall-clock timings on a busy 2-core machine vary by ±30 %; the number of instructions
executed does not. This script counts them with valgrind's callgrind over a fixed
stretch of the Hertz-bed benchmark (bench_hertz_bed.py) and splits them by kernel:

  python benchmarks/count_instructions.py prepare [--n 5000]   # once: a warmed-up bed
  python benchmarks/count_instructions.py count [--n 5000] [--steps 50] [--cache-sim [--ll BYTES]]
  python benchmarks/count_instructions.py time [--n 5000] [--pieces 30] [--piece-steps 100]

`prepare` loads the benchmark's dense bed (benchmarks/.cache/, made by bench_hertz_bed.py),
runs --warmup steps on one thread (rattlers land) and writes it to /tmp/dempack_icount/ so
every later count starts from the same state whatever the engine version.
`count` runs, under `valgrind --tool=callgrind --instr-atstart=no`, a child that loads that
bed, forces a list rebuild and takes 2 steps (kernels load from the numba cache), then
switches instrumentation on for exactly --steps steps (callgrind client requests through a
tiny C helper compiled on the fly). It prints instructions per particle-step: total, per
numba kernel (inclusive) and the rest (Python, numpy, dispatch). Counts are repeatable to
< 0.1 % run to run. The child pins NUMBA_CPU_NAME/FEATURES to the host's so that it loads
the same machine code as a native run (valgrind's CPUID differs).
`count --cache-sim` also simulates the caches (valgrind's D1 and a last level of --ll
bytes, default 1 MiB = one core's L2 here; the 32 MiB L3 of this VM is shared with the
other tenants, so 8 MiB is a fair stand-in for the share one run gets): the misses per
particle-step, lines of 64 B read (DLmr) and written (DLmw) past that level, show how
many bytes a step streams; like the instruction counts they do not depend on the load of
the machine. `count --no-rebuild` measures the list as loaded instead of right after a
rebuild.
`time` is the second opinion: best and median wall and process-CPU time of --pieces
blocks of --piece-steps steps, on one thread, in µs per particle-step.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # the dempack of this checkout
WORK = Path(os.environ.get("DEMPACK_ICOUNT_DIR", "/tmp/dempack_icount"))

_TOGGLE_C = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_DUMP_STATS_AT("rest"); CALLGRIND_STOP_INSTRUMENTATION; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def _toggle_lib():
    WORK.mkdir(parents=True, exist_ok=True)
    import hashlib
    so = WORK / f"cgtoggle_{hashlib.sha1(_TOGGLE_C.encode()).hexdigest()[:8]}.so"
    if not so.is_file():
        src = WORK / "cgtoggle.c"
        src.write_text(_TOGGLE_C)
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    return ctypes.CDLL(str(so))


def _bench_bed(n: int, seed: int = 1) -> Path:
    import bench_hertz_bed as b
    bed = b.DEFAULT_BED_DIR / f"bed_N{n}_{b.bed_key(n, seed)}.npz"
    if not bed.is_file():
        raise SystemExit(f"{bed} missing: run `python benchmarks/bench_hertz_bed.py --sizes {n}` "
                         "first (it prepares the bed)")
    return bed


def _warm_bed(n: int) -> Path:
    return WORK / f"warm_N{n}.npz"


def _load(n: int, path: Path):
    import numba
    import bench_hertz_bed as b
    from dempack.simulation import Simulation
    numba.set_num_threads(1)
    sc = b.build_scenario(n)
    sim = Simulation.from_checkpoint(sc, path)
    sim.scenario.run.output_interval_steps = 10 ** 9
    sim.scenario.run.threads = 1
    return sim


def cmd_prepare(a):
    WORK.mkdir(parents=True, exist_ok=True)
    sim = _load(a.n, _bench_bed(a.n))
    sim.run(steps=a.warmup)
    out = _warm_bed(a.n)
    sim.write_checkpoint(out)
    print(f"wrote {out} after {a.warmup} steps")


def cmd_child(a):
    lib = _toggle_lib()
    sim = _load(a.n, _warm_bed(a.n))
    if not a.no_rebuild:
        sim._max_drift = 1e30  # rebuild now, so that none falls in the measured stretch
    sim.run(steps=2)
    import dempack.simulation as dsim
    calls = {"build_contact_list": 0}
    real = dsim.build_contact_list

    def counted(*args, **kw):
        calls["build_contact_list"] += 1
        return real(*args, **kw)

    dsim.build_contact_list = counted
    # every call of a kernel is bracketed by dumps: the instructions since the last dump
    # go to "rest" before the call and to the kernel's name after it
    wrapped = {}
    for name in KERNELS:
        fn = getattr(dsim, name, None)
        if fn is None:
            continue
        wrapped[name] = fn

        def wrapper(*args, _fn=fn, _tag=name.encode(), **kw):
            lib.cg_dump(b"rest")
            out = _fn(*args, **kw)
            lib.cg_dump(_tag)
            return out

        setattr(dsim, name, wrapper)
    lib.cg_start()
    sim.run(steps=a.steps)
    lib.cg_stop()
    for name, fn in wrapped.items():
        setattr(dsim, name, fn)
    dsim.build_contact_list = real
    row = sim.observe()
    Path(a.result).write_text(json.dumps({
        "n": sim.particles.n, "pairs": int(sim.contacts.n_pairs),
        "rebuilds": calls["build_contact_list"],
        "punch_stress_Pa": row["punch_stress_Pa"], "solid_fraction": 1.0 - row["porosity"]}))


def _host_cpu_env():
    """NUMBA_CPU_NAME/FEATURES of the host, or of $DEMPACK_ICOUNT_CPU (e.g. znver3) where
    valgrind cannot run the host's code (valgrind 3.19 has no AVX-512: SIGILL on znver5)."""
    cpu = os.environ.get("DEMPACK_ICOUNT_CPU")
    if cpu:
        return {"NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": ""}
    import llvmlite.binding as ll
    ll.initialize_native_target()
    return {"NUMBA_CPU_NAME": ll.get_host_cpu_name(),
            "NUMBA_CPU_FEATURES": ll.get_host_cpu_features().flatten()}


def _sum_dumps(files):
    """({dump trigger name: total Ir}, {dump trigger name: {event: total}}) over callgrind
    dump files (the events are Ir alone, or with --cache-sim=yes Ir Dr Dw I1mr D1mr D1mw
    ILmr DLmr DLmw)."""
    out, ev = {}, {}
    for f in files:
        name, tot, names = None, None, ["Ir"]
        with open(f) as fh:
            for line in fh:
                if line.startswith("desc: Trigger: Client Request: "):
                    name = line.split(": ", 2)[2].strip().split(" ")[-1]
                elif line.startswith("events:"):
                    names = line.split()[1:]
                elif line.startswith("totals:") or line.startswith("summary:"):
                    tot = [int(v) for v in line.split()[1:]]
        if name is not None and tot is not None:
            out[name] = out.get(name, 0) + tot[0]
            d = ev.setdefault(name, {})
            for k, v in zip(names, tot):
                d[k] = d.get(k, 0) + v
    return out, ev


# kernels called from dempack.simulation, counted separately (those that exist)
KERNELS = ("pair_forces", "gather_and_integrate", "step_serial", "step_threaded",
           "build_contact_list")


def cmd_count(a):
    if not _warm_bed(a.n).is_file():
        raise SystemExit(f"{_warm_bed(a.n)} missing: run `{sys.argv[0]} prepare --n {a.n}` first")
    _toggle_lib()
    env = dict(os.environ, **_host_cpu_env(), NUMBA_NUM_THREADS="1", PYTHONHASHSEED="0",
               OMP_NUM_THREADS="1")
    env.setdefault("NUMBA_CACHE_DIR", str(HERE.parent / ".numba_cache"))
    # fill the numba cache natively first (compiling under valgrind takes minutes)
    res = WORK / f"child_{os.getpid()}.json"
    subprocess.run([sys.executable, __file__, "_child", "--n", str(a.n), "--steps", "1",
                    "--result", str(res)], env=env, check=True)
    out = WORK / f"callgrind_{a.tag or os.getpid()}.out"
    t0 = time.time()
    cache = []
    if a.cache_sim:
        # simulated caches: D1 (the host's) and a last level of --ll bytes (default 1 MiB,
        # one core's L2 here: the 32 MiB L3 of this VM is shared with other tenants)
        cache = ["--cache-sim=yes", f"--LL={a.ll},16,64"]
    child_extra = ["--no-rebuild"] if a.no_rebuild else []
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", *cache,
                    f"--callgrind-out-file={out}", sys.executable, __file__, "_child",
                    "--n", str(a.n), "--steps", str(a.steps), "--result", str(res)]
                   + child_extra,
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info = json.loads(res.read_text())
    res.unlink()
    dumps = sorted(WORK.glob(out.name + ".*"))
    parts, events = _sum_dumps(dumps)
    total = sum(parts.values())
    rest = parts.pop("rest", 0)
    ps = info["n"] * a.steps
    report = {"n": info["n"], "steps": a.steps, "pairs_per_particle": info["pairs"] / info["n"],
              "rebuilds_in_window": info["rebuilds"], "Ir_total": total,
              "Ir_per_particle_step": total / ps,
              "by_part_per_particle_step": {k: v / ps for k, v in parts.items() if v},
              "rest_per_particle_step": rest / ps, "valgrind_s": time.time() - t0}
    if a.cache_sim:
        tot = {}
        for d in events.values():
            for k, v in d.items():
                tot[k] = tot.get(k, 0) + v
        report["LL_bytes"] = a.ll
        report["events_per_particle_step"] = {k: round(v / ps, 3) for k, v in tot.items()}
        report["events_by_part_per_particle_step"] = {
            part: {k: round(v / ps, 3) for k, v in d.items()} for part, d in events.items()}
    print(json.dumps(report, indent=1))
    if a.tag:
        (WORK / f"count_{a.tag}.json").write_text(json.dumps(report, indent=1))
    for d in [out] + dumps:
        if not a.keep:
            d.unlink(missing_ok=True)


def cmd_time(a):
    import numpy as np
    path = _warm_bed(a.n) if _warm_bed(a.n).is_file() else _bench_bed(a.n)
    sim = _load(a.n, path)
    sim.run(steps=20)
    n = sim.particles.n
    us, cpu = [], []
    for _ in range(a.pieces):
        c0 = time.process_time()
        t0 = time.perf_counter()
        sim.run(steps=a.piece_steps)
        us.append(1e6 * (time.perf_counter() - t0) / (n * a.piece_steps))
        cpu.append(1e6 * (time.process_time() - c0) / (n * a.piece_steps))
    # process CPU time does not count the time the process waited for a core, so it is
    # the steadier figure on a busy machine (one thread: CPU time = run time)
    r4 = lambda u: round(float(u), 4)  # noqa: E731
    print(json.dumps({"n": n, "pieces": a.pieces, "piece_steps": a.piece_steps,
                      "best_wall_us": r4(min(us)), "median_wall_us": r4(np.median(us)),
                      "best_cpu_us": r4(min(cpu)), "median_cpu_us": r4(np.median(cpu))}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["prepare", "count", "time", "_child"])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--pieces", type=int, default=30)
    ap.add_argument("--piece-steps", type=int, default=100)
    ap.add_argument("--tag", default="")
    ap.add_argument("--keep", action="store_true", help="keep the callgrind output files")
    ap.add_argument("--result", default="")
    ap.add_argument("--cache-sim", action="store_true",
                    help="count: simulate the caches too (D1 and LL misses; slower)")
    ap.add_argument("--ll", type=int, default=1 << 20,
                    help="count --cache-sim: simulated last-level cache size in bytes")
    ap.add_argument("--no-rebuild", action="store_true",
                    help="count: do not force a list rebuild before the measured steps")
    a = ap.parse_args()
    {"prepare": cmd_prepare, "count": cmd_count, "time": cmd_time, "_child": cmd_child}[a.what](a)


if __name__ == "__main__":
    main()
