#!/usr/bin/env python
"""The fixed performance benchmark of DESIGN.md §7: a Hertz–Mindlin bed held at 10 MPa.

Spec (foundation issue): N spheres, radii uniform in [4, 6] µm, density 2500 kg/m³,
E = 10 GPa, ν = 0.25, friction 0.3, restitution 0.5, Hertz–Mindlin with tangential
history, no cohesion or rolling resistance; periodic in x and y, square side L chosen
so that the settled bed is about as high as wide; fixed bottom plane, rigid top plane
pressing down to 10 MPa; dt = 2e-9 s, Verlet skin 1 µm. Insert at solid fraction 0.3,
settle under a body force of 5e5 m/s², press, then time 5,000 steps of the dense bed
with the plane held still.

Reported per (N, threads): µs per particle-step (wall time / (N · steps), median of the
repeats, JIT warm-up excluded), final solid fraction and plane stress, peak memory; and
once: the time from a warm numba cache to the first step.

How it runs (each box is a fresh Python process, so peak memory is per case):

  prepare N      insert, settle, press to 10 MPa (all threads, or one while other processes
                 are busy: --prepare-threads); write the dense bed
                 (a dempack checkpoint) to the bed cache (benchmarks/.cache/, reused
                 when the same N and spec were prepared before; --fresh redoes it)
  time N, k      load the bed, k threads (run.threads = k: Simulation.run applies it),
                 warm up (--warmup steps: kernels load, rattlers land), time --repeats
                 blocks of --steps steps (also clocked in --sub-steps pieces), then a
                 short profiled block (time in each kernel vs Python) and the observables
  startup        import dempack, build a small simulation, take one step (run twice;
                 the second run is the warm-cache number)

Usage:
  python benchmarks/bench_hertz_bed.py                       # N = 5000 20000 100000, 1 and all threads
  python benchmarks/bench_hertz_bed.py --sizes 5000 20000 --threads 1 2 --repeats 3
  python benchmarks/bench_hertz_bed.py --quick               # N = 5000, 1 repeat
  python benchmarks/bench_hertz_bed.py --sizes 20000 --threads 2 --merge --wait-quiet 900
  python benchmarks/bench_hertz_bed.py --report              # table of the saved results
  python benchmarks/bench_hertz_bed.py --sizes 100000 --prepare-only --wait-quiet 900
                                                             # only prepare (and cache) a bed

Results go to benchmarks/results/hertz_bed.json (--out; --quick: hertz_bed_quick.json)
and are printed as a table. Time it with nothing else running on the machine: each block
records cpu/wall and the CPU used by other processes (other_cores) to show when it was not.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # time the dempack of this checkout
DEFAULT_OUT = HERE / "results" / "hertz_bed.json"
DEFAULT_BED_DIR = HERE / ".cache"

# ----------------------------------------------------------------------------- the spec
SPEC = {
    "d_min_um": 8.0, "d_max_um": 12.0,          # radii uniform in [4, 6] um
    "density_kg_m3": 2500.0, "youngs_modulus_Pa": 10.0e9, "poisson_ratio": 0.25,
    "friction": 0.3, "restitution": 0.5,
    "dt_s": 2e-9, "skin_um": 1.0, "gravity_m_s2": 5e5,
    "insertion_solid_fraction": 0.3, "pressure_MPa": 10.0,
    "aspect_ratio": 1.0,  # dempack sizes L from N assuming a pressed solid fraction 0.6
}

# Press protocol (not fixed by the spec; any route to a dense bed at 10 MPa will do):
# the plane starts just above the loose insertion, so it first closes the gap fast
# (displacement_rate until it feels APPROACH_MPa), then a servo brings it to 10 MPa
# and holds it there.
APPROACH_SPEED = 20.0     # m/s
APPROACH_MPA = 0.5
SERVO_SPEED = 1.0         # m/s, servo maximum
SERVO_HOLD = 2000         # steps within tolerance before the press counts as done
SETTLE_KE_PER_MG_D = 1e-3  # settled when mean kinetic energy < this × m g d (mean particle)

BENCH_MATERIALS = f"""\
# written by benchmarks/bench_hertz_bed.py (DEMPACK_MATERIALS); not the dempack table.
[bench]
name_long = "benchmark spheres (Hertz bed, DESIGN.md 7)"
density_kg_m3 = {SPEC['density_kg_m3']!r}
youngs_modulus_Pa = {SPEC['youngs_modulus_Pa']!r}
poisson_ratio = {SPEC['poisson_ratio']!r}
friction = {SPEC['friction']!r}
restitution = {SPEC['restitution']!r}
swelling_volume_fraction = 0.0
electrochemically_active = false
electron_conductor = false
ion_conductor = false
electronic_conductivity_S_m = 0.0
ionic_conductivity_S_m = 0.0

[bench.source]
density_kg_m3 = "benchmark spec"
youngs_modulus_Pa = "benchmark spec"
poisson_ratio = "benchmark spec"
friction = "benchmark spec"
restitution = "benchmark spec"
swelling_volume_fraction = "benchmark spec"
electronic_conductivity_S_m = "benchmark spec"
ionic_conductivity_S_m = "benchmark spec"

# copied from assets/materials.toml
[steel]
name_long = "hardened tool steel (die walls, punch)"
density_kg_m3 = 7850.0
youngs_modulus_Pa = 210.0e9
poisson_ratio = 0.3
friction = 0.3
restitution = 0.5
swelling_volume_fraction = 0.0
electrochemically_active = false
electron_conductor = true
ion_conductor = false
electronic_conductivity_S_m = 2.0e6
ionic_conductivity_S_m = 0.0

[steel.source]
density_kg_m3 = "handbook value for steel, 7.85 g/cm3"
youngs_modulus_Pa = "handbook value for steel, 210 GPa"
poisson_ratio = "handbook value for steel, 0.3"
friction = "assumed: typical DEM wall friction for ceramic powder on polished steel (0.2-0.4)"
restitution = "assumed: typical DEM value 0.5; quasi-static runs"
swelling_volume_fraction = "definition: tooling does not lithiate"
electronic_conductivity_S_m = "assumed: order of magnitude for alloyed tool steels (~2e6 S/m)"
ionic_conductivity_S_m = "definition: metal, no ionic conduction"
"""


def use_bench_materials() -> Path:
    """Write the benchmark material table and point $DEMPACK_MATERIALS at it."""
    path = Path(tempfile.gettempdir()) / f"dempack_bench_materials_{os.getuid()}.toml"
    if not path.is_file() or path.read_text() != BENCH_MATERIALS:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(BENCH_MATERIALS)
        tmp.replace(path)
    os.environ["DEMPACK_MATERIALS"] = str(path)
    return path


def settle_steps(n: int) -> int:
    """Upper bound on the settling stage: twice the free-fall time of the top of the
    insertion (height z0 = V_solid / (0.3 L²)) under the scaled gravity."""
    mean_v = math.pi / 6.0 * (SPEC["d_max_um"] ** 4 - SPEC["d_min_um"] ** 4) / (
        4.0 * (SPEC["d_max_um"] - SPEC["d_min_um"])) * 1e-18
    vs = n * mean_v
    L = (vs / (0.6 * SPEC["aspect_ratio"])) ** (1.0 / 3.0)
    z0 = vs / (SPEC["insertion_solid_fraction"] * L * L)
    t_fall = math.sqrt(2.0 * z0 / SPEC["gravity_m_s2"])
    return int(math.ceil(2.0 * t_fall / SPEC["dt_s"] / 1000.0)) * 1000


def scenario_dict(n: int, timing_steps: int = 1_000_000, seed: int = 1) -> dict:
    mats = [{"material": "bench", "volume_fraction": 1.0, "distribution": "uniform",
             "d_min_um": SPEC["d_min_um"], "d_max_um": SPEC["d_max_um"]}]
    return {
        "run": {"name": f"hertz bed N={n}", "seed": seed, "output_interval_steps": 1000,
                "snapshot_every_outputs": 0, "max_overlap_ratio": 0.5},
        "packing": {"particles": n, "insertion_solid_fraction": SPEC["insertion_solid_fraction"],
                    "aspect_ratio": SPEC["aspect_ratio"], "materials": mats},
        "die": {"lateral": "periodic", "wall_material": "steel"},
        "numerics": {"dt_s": SPEC["dt_s"], "skin_um": SPEC["skin_um"],
                     "gravity_m_s2": SPEC["gravity_m_s2"]},
        "pressing": [
            {"mode": "fixed_gap", "steps": settle_steps(n)},
            {"mode": "displacement_rate", "speed_m_per_s": APPROACH_SPEED,
             "pressure_MPa": APPROACH_MPA},
            {"mode": "servo", "pressure_MPa": SPEC["pressure_MPa"], "speed_m_per_s": SERVO_SPEED,
             "hold_steps": SERVO_HOLD},
            {"mode": "fixed_gap", "steps": timing_steps},
        ],
    }


def build_scenario(n: int, **kw):
    use_bench_materials()
    from dempack.scenario import Scenario
    return Scenario(scenario_dict(n, **kw), source=f"bench_hertz_bed(N={n})")


# ----------------------------------------------------------------------------- helpers
def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_busy_s() -> float | None:
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait_s: float, threshold: float = 0.15, sample_s: float = 3.0) -> float:
    """Wait (at most max_wait_s) until the other processes use < threshold cores; returns
    the last measured load in cores."""
    t_end = time.time() + max_wait_s
    while True:
        b0 = cpu_busy_s()
        time.sleep(sample_s)
        b1 = cpu_busy_s()
        if b0 is None or b1 is None:
            return float("nan")
        load = (b1 - b0) / sample_s
        if load < threshold or time.time() > t_end:
            return load
        time.sleep(10.0)


def state_bytes(sim) -> dict:
    p = sum(a.nbytes for a in sim.particles.as_dict().values())
    c = sum(a.nbytes for a in sim.contacts.as_dict().values())
    # step work arrays: the skin drifts and (engines from 2026-12) the per-thread force sums
    scratch = getattr(sim, "_scratch", None)
    w = sim._drift.nbytes + (scratch.nbytes if scratch is not None else 0)
    return {"particle_arrays_B": p, "contact_arrays_B": c, "work_arrays_B": w,
            "state_B_per_particle": (p + c + w) / sim.particles.n,
            "pairs": int(sim.contacts.n_pairs),
            "pairs_per_particle": sim.contacts.n_pairs / sim.particles.n}


def kinetic_energy_ratio(sim) -> float:
    """Mean kinetic energy / (m g d) of the mean particle."""
    import numpy as np
    ps = sim.particles
    ke = 0.5 * float(np.sum(ps.mass * np.sum(ps.v ** 2, 1))) / ps.n
    mgd = float(np.mean(ps.mass)) * SPEC["gravity_m_s2"] * 2.0 * float(np.mean(ps.R))
    return ke / mgd


def bed_key(n: int, seed: int) -> str:
    import hashlib
    blob = json.dumps([scenario_dict(n, seed=seed), APPROACH_SPEED, APPROACH_MPA, SERVO_SPEED,
                       SERVO_HOLD, SETTLE_KE_PER_MG_D, BENCH_MATERIALS], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


# ----------------------------------------------------------------------------- workers
def worker_prepare(a) -> dict:
    t_start = time.perf_counter()
    import numba
    import numpy as np
    import dempack.simulation as dsim
    from dempack.simulation import Simulation

    all_threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(min(a.prepare_threads or all_threads, all_threads))
    sc = build_scenario(a.n, seed=a.seed)
    sc.run.threads = numba.get_num_threads()  # Simulation.run applies it
    sim = Simulation(sc)
    t_built = time.perf_counter()
    log = []
    rebuilds = _Timer(dsim, "build_contact_list").install()
    load = {"busy": cpu_busy_s(), "cpu": time.process_time(), "wall": time.perf_counter(),
            "others": 0.0}

    def pick_threads():
        """--prepare-threads 0 (auto): all threads, but one while other processes use
        more than half a core: a parallel loop waits at its end for its slowest thread,
        so with a core taken by another process two threads ran 3x slower than one
        (0.80 vs 0.25 us/particle-step at 20k)."""
        b, c, w = cpu_busy_s(), time.process_time(), time.perf_counter()
        if b is not None and load["busy"] is not None and w > load["wall"]:
            load["others"] = max(0.0, (b - load["busy"] - (c - load["cpu"])) / (w - load["wall"]))
        load.update(busy=b, cpu=c, wall=w)
        if not a.prepare_threads:
            sim.scenario.run.threads = all_threads if load["others"] < 0.5 else 1

    def entry(t0, r0, **kw):
        return {"step": sim.step_count, "stage": sim.stage_label, "wall_s": time.perf_counter() - t0,
                "threads": sim.scenario.run.threads, "other_cores": load["others"],
                "rebuilds": rebuilds.calls - r0, "rebuild_s": rebuilds.t - kw.pop("tr0"),
                "pairs_per_particle": sim.contacts.n_pairs / sim.particles.n,
                **kw}

    # settle: run the first fixed_gap stage in chunks; end it early once the bed is still
    chunk = 1000
    while sim.stage_index == 0:
        pick_threads()
        t0, r0, tr0 = time.perf_counter(), rebuilds.calls, rebuilds.t
        sim.run(steps=chunk)
        ke = kinetic_energy_ratio(sim)
        log.append(entry(t0, r0, tr0=tr0, ke_per_mgd=ke))
        if sim.stage_index == 0 and ke < SETTLE_KE_PER_MG_D and sim.step_count >= 5000:
            st = sim.stage
            st.max_steps = st.steps  # end the settling stage at the next step
    settle = {"steps": sim.step_count, "ke_per_mgd": kinetic_energy_ratio(sim),
              "settled": kinetic_energy_ratio(sim) < SETTLE_KE_PER_MG_D,
              "bed_top_m": float(np.max(sim.particles.x[:, 2] + sim.particles.R)),
              "width_m": float(sim.box.L[0])}
    t_settled = time.perf_counter()
    while sim.stage_index < 3:
        pick_threads()
        t0, r0, tr0 = time.perf_counter(), rebuilds.calls, rebuilds.t
        sim.run(steps=chunk)
        row = sim.history[-1]
        log.append(entry(t0, r0, tr0=tr0, punch_MPa=row["punch_stress_Pa"] / 1e6,
                         solid_fraction=1.0 - row["porosity"],
                         ke_per_mgd=kinetic_energy_ratio(sim)))
        if sim.step_count > 2_000_000:
            raise RuntimeError("press did not finish")
    t_pressed = time.perf_counter()
    row = sim.observe()
    Path(a.bed).parent.mkdir(parents=True, exist_ok=True)
    sim.write_checkpoint(a.bed)
    return {
        "n": a.n, "seed": a.seed, "threads": a.prepare_threads or "auto",
        "chunks_on_one_thread": sum(1 for e in log if e["threads"] == 1),
        "steps_settle": settle["steps"], "settle": settle,
        "steps_press": sim.step_count - settle["steps"],
        "stages": sim.stage_results,
        "solid_fraction": 1.0 - row["porosity"], "punch_stress_Pa": row["punch_stress_Pa"],
        "coordination": row["coordination"], "max_overlap_ratio": row["max_overlap_ratio"],
        "thickness_m": row["thickness_m"], "width_m": float(sim.box.L[0]),
        "wall_s": {"build": t_built - t_start, "settle": t_settled - t_built,
                   "press": t_pressed - t_settled, "total": time.perf_counter() - t_start},
        "peak_rss_MB": peak_rss_mb(), "log": log,
        "rebuilds": rebuilds.calls, "rebuild_s": rebuilds.t,
    }


class _Timer:
    """Wraps a function in a module's namespace (dempack.simulation's, dempack.physics.updates')
    and accumulates its wall time."""

    def __init__(self, mod, name):
        self.mod, self.name, self.fn = mod, name, getattr(mod, name)
        self.t = 0.0
        self.calls = 0

    def __call__(self, *args, **kw):
        t0 = time.perf_counter()
        out = self.fn(*args, **kw)
        self.t += time.perf_counter() - t0
        self.calls += 1
        return out

    def install(self):
        setattr(self.mod, self.name, self)
        return self

    def remove(self):
        setattr(self.mod, self.name, self.fn)


def worker_time(a) -> dict:
    t_start = time.perf_counter()
    import numba
    import numpy as np
    import dempack.simulation as dsim
    from dempack.simulation import Simulation

    k = min(a.threads, numba.config.NUMBA_NUM_THREADS) if a.threads > 0 else numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(k)
    sc = build_scenario(a.n, seed=a.seed)
    sim = Simulation.from_checkpoint(sc, a.bed)
    assert sim.stage_index == 3 and sim.stage.kind == "fixed_gap", sim.stage_label
    t_loaded = time.perf_counter()
    rss_loaded = current_rss_mb()
    n = sim.particles.n
    sim.scenario.run.output_interval_steps = 10 ** 9  # no observation inside the timed blocks
    # Simulation.run applies run.threads itself (numba.set_num_threads at each call)
    if hasattr(sim, "thread_count"):
        sim.scenario.run.threads = k
    rebuilds = _Timer(dsim, "build_contact_list").install()
    threads_seen = set()

    # the kernel that Simulation.step calls: step_serial on one thread, step_threaded on
    # several (engines before 2026-12: pair_forces + gather_and_integrate)
    if k == 1 and hasattr(dsim, "step_serial"):
        kernel = "step_serial"
    else:
        kernel = "step_threaded" if hasattr(dsim, "step_threaded") else "pair_forces"
    real_kernel = getattr(dsim, kernel)
    # since the blocks of steps (dempack.stepblock), most steps run inside its block loops
    try:
        import dempack.stepblock as dsb
    except ImportError:
        dsb = None
    block = ("block_serial" if kernel == "step_serial" else "block_threaded") if dsb else None
    real_block = getattr(dsb, block) if block else None

    def _probe(*args, **kw):
        threads_seen.add(numba.get_num_threads())
        return real_kernel(*args, **kw)

    def _probe_block(*args, **kw):
        threads_seen.add(numba.get_num_threads())
        return real_block(*args, **kw)

    # warm-up: the first step loads the compiled kernels from the numba cache (compiles
    # on a cold cache); the rest lets the bed relax after the servo (rattlers land)
    t0 = time.perf_counter()
    sim.step()
    first_step = time.perf_counter() - t0
    setattr(dsim, kernel, _probe)
    if block:
        setattr(dsb, block, _probe_block)
    sim.run(steps=a.warmup)
    setattr(dsim, kernel, real_kernel)
    if block:
        setattr(dsb, block, real_block)

    blocks = []
    sub = max(1, min(a.sub_steps, a.steps))
    for _ in range(a.repeats):
        r0 = rebuilds.calls
        m0 = cpu_busy_s()
        c0 = time.process_time()
        t0 = time.perf_counter()
        subs = []
        done = 0
        while done < a.steps:
            m = min(sub, a.steps - done)
            s0 = time.perf_counter()
            sim.run(steps=m)
            subs.append(1e6 * (time.perf_counter() - s0) / (n * m))
            done += m
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        m1 = cpu_busy_s()
        other = None if m0 is None or m1 is None else max(0.0, (m1 - m0 - cpu) / dt)
        # cpu/wall well below the thread count, or other_cores well above 0, means the
        # cores were shared with other processes (noisy timing)
        blocks.append({"wall_s": dt, "cpu_s": cpu, "cpu_per_wall": cpu / dt,
                       "other_cores": other,
                       "us_per_particle_step": 1e6 * dt / (n * a.steps),
                       "rebuilds": rebuilds.calls - r0, "sub_us_per_particle_step": subs})
    us = sorted(b["us_per_particle_step"] for b in blocks)
    med = us[len(us) // 2] if len(us) % 2 else 0.5 * (us[len(us) // 2 - 1] + us[len(us) // 2])
    best_sub = min(u for b in blocks for u in b["sub_us_per_particle_step"])
    rss_steady = current_rss_mb()

    # profiled block: wall time in each kernel, the rest is Python in Simulation.step
    prof = None
    if a.profile_steps > 0:
        rebuilds.remove()
        timers = [_Timer(dsim, nm).install() for nm in
                  ("step_serial", "step_threaded", "pair_forces", "gather_and_integrate",
                   "build_contact_list")
                  if hasattr(dsim, nm)]
        timers += [_Timer(dsb, nm).install() for nm in ("block_serial", "block_threaded")
                   if dsb is not None]
        t0 = time.perf_counter()
        sim.run(steps=a.profile_steps)
        total = time.perf_counter() - t0
        for t in timers:
            t.remove()
        per = {t.name: t.t / a.profile_steps for t in timers}
        # a forced rebuild, to give its cost even when the timed blocks had none
        t0 = time.perf_counter()
        sim.contacts = dsim.build_contact_list(sim.particles, sim.contacts, sim.box, sim.skin)
        forced = time.perf_counter() - t0
        per_step = total / a.profile_steps
        kern = sum(per.values())
        prof = {"steps": a.profile_steps, "us_per_step": 1e6 * per_step,
                "us_per_step_by_part": {**{k2: 1e6 * v for k2, v in per.items()},
                                        "python_rest": 1e6 * (per_step - kern)},
                "us_per_particle_step_by_part": {**{k2: 1e6 * v / n for k2, v in per.items()},
                                                 "python_rest": 1e6 * (per_step - kern) / n},
                "rebuilds": timers[-1].calls, "forced_rebuild_ms": 1e3 * forced}
        t0 = time.perf_counter()
        row = sim.observe()
        prof["observe_ms"] = 1e3 * (time.perf_counter() - t0)
    row = sim.observe()
    return {
        "n": n, "threads": k, "threads_in_kernels": sorted(threads_seen),
        "threading_layer": numba.threading_layer(),
        "steps": a.steps, "repeats": a.repeats, "warmup_steps": 1 + a.warmup,
        "us_per_particle_step": med, "us_per_particle_step_all": [b["us_per_particle_step"] for b in blocks],
        "best_sub_us_per_particle_step": best_sub, "sub_steps": sub,
        "blocks": blocks, "first_step_s": first_step, "load_s": t_loaded - t_start,
        "solid_fraction": 1.0 - row["porosity"], "punch_stress_Pa": row["punch_stress_Pa"],
        "coordination": row["coordination"], "max_overlap_ratio": row["max_overlap_ratio"],
        "kinetic_energy_per_mgd": kinetic_energy_ratio(sim),
        "peak_rss_MB": peak_rss_mb(), "rss_after_load_MB": rss_loaded,
        "rss_steady_MB": rss_steady, "state": state_bytes(sim), "profile": prof,
    }


STARTUP_N = 500


def worker_startup(a) -> dict:
    t0 = time.perf_counter()
    import dempack  # noqa: F401
    from dempack.simulation import Simulation
    t1 = time.perf_counter()
    sc = build_scenario(STARTUP_N)
    sim = Simulation(sc)
    t2 = time.perf_counter()
    sim.step()
    t3 = time.perf_counter()
    return {"n": STARTUP_N, "import_s": t1 - t0, "build_s": t2 - t1, "first_step_s": t3 - t2,
            "in_process_s": t3 - t0}


# ----------------------------------------------------------------------------- driver
def run_worker(kind: str, extra: list[str], timeout: float | None = None,
               script: str | Path | None = None) -> dict:
    """Run `script --worker kind --result FILE extra...` (default: this benchmark) in a fresh
    Python process and return the JSON it wrote, with its process wall time."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        res_path = f.name
    cmd = [sys.executable, str(Path(script or __file__).resolve()), "--worker", kind,
           "--result", res_path] + extra
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"worker {kind} {' '.join(extra)} failed (rc {p.returncode}):\n"
                               f"{p.stdout[-4000:]}")
        res = json.loads(Path(res_path).read_text())
    finally:
        Path(res_path).unlink(missing_ok=True)
    res["process_wall_s"] = wall
    return res


def machine_info() -> dict:
    import numba
    import numpy as np
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    try:
        root = Path(__import__("dempack").__file__).resolve().parents[1]
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain", "dempack"],
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = "", None
    return {"dempack_commit": commit, "dempack_dirty": dirty,
            "cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "platform": platform.platform(), "loadavg_before": load}


def fmt_table(results: dict) -> str:
    rows = [("N", "thr", "us/p-step", "min..max", "best", "cpu/wall", "others", "steps/s", "solid frac",
             "plane MPa", "peak MB", "steady MB", "B/particle", "pairs/p")]
    for c in results["cases"]:
        us = c["us_per_particle_step_all"]
        rows.append((str(c["n"]), str(c["threads"]), f"{c['us_per_particle_step']:.3f}",
                     f"{min(us):.3f}..{max(us):.3f}", f"{c['best_sub_us_per_particle_step']:.3f}",
                     f"{min(b['cpu_per_wall'] for b in c['blocks']):.2f}",
                     f"{max((b.get('other_cores') or 0.0) for b in c['blocks']):.2f}",
                     f"{1.0 / (c['us_per_particle_step'] * 1e-6 * c['n']):.0f}",
                     f"{c['solid_fraction']:.4f}", f"{c['punch_stress_Pa'] / 1e6:.2f}",
                     f"{c['peak_rss_MB']:.0f}", f"{c['rss_steady_MB']:.0f}",
                     f"{c['state']['state_B_per_particle']:.0f}",
                     f"{c['state']['pairs_per_particle']:.2f}"))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(s.rjust(w[i]) for i, s in enumerate(r)) for r in rows]
    out.insert(1, "  ".join("-" * x for x in w))
    prof = [c for c in results["cases"] if c.get("profile")]
    if prof:
        out.append("")
        out.append("profile (us per particle-step): kernel(s) the step called / build_contact_list "
                   "/ python rest; observe() ms")
        for c in prof:
            p = c["profile"]["us_per_particle_step_by_part"]
            kern = " + ".join(f"{nm} {p[nm]:.4f}" for nm in
                              ("step_serial", "step_threaded", "pair_forces", "gather_and_integrate")
                              if p.get(nm, 0.0) > 0.0)
            out.append(f"  N={c['n']:>6} thr={c['threads']}: {kern} / "
                       f"{p['build_contact_list']:.4f} / "
                       f"{p['python_rest']:.4f}   ({c['profile']['us_per_step']:.0f} us/step; "
                       f"forced rebuild {c['profile']['forced_rebuild_ms']:.1f} ms; observe "
                       f"{c['profile']['observe_ms']:.1f} ms)")
    if results.get("prepare"):
        out.append("")
        out.append("beds: settle steps, press steps, prep wall s, prep peak MB")
        for n, p in results["prepare"].items():
            out.append(f"  N={n:>6}: {p['steps_settle']} (KE/mgd {p['settle']['ke_per_mgd']:.1e}), "
                       f"{p['steps_press']}, {p['wall_s']['total']:.0f} s, {p['peak_rss_MB']:.0f} MB"
                       + ("" if p.get("fresh", True) else " (cached bed)"))
    if results.get("startup"):
        s = results["startup"]
        out.append("")
        out.append(f"warm-cache start to first step (N={s['n']}): {s['process_wall_s']:.2f} s "
                   f"process wall (import {s['import_s']:.2f} s, build {s['build_s']:.2f} s, "
                   f"first step {s['first_step_s']:.2f} s)")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 0],
                    help="thread counts to time (0 = all numba threads)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5000, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=1000,
                    help="untimed steps after the first (the bed relaxes after the servo)")
    ap.add_argument("--sub-steps", type=int, default=500,
                    help="each timed block is also clocked in pieces of this many steps; the "
                         "fastest piece is reported as 'best' (robust to a shared machine)")
    ap.add_argument("--profile-steps", type=int, default=500,
                    help="steps of the per-kernel profile block (0 = none)")
    ap.add_argument("--quick", action="store_true", help="N = 5000 only, 1 repeat")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None,
                    help=f"results JSON (default {DEFAULT_OUT.relative_to(HERE.parent)}; with "
                         "--quick, hertz_bed_quick.json beside it)")
    ap.add_argument("--bed-dir", type=Path, default=DEFAULT_BED_DIR,
                    help="where the prepared beds (checkpoints) are kept")
    ap.add_argument("--fresh", action="store_true", help="prepare the beds again")
    ap.add_argument("--prepare-only", action="store_true",
                    help="only prepare the beds of --sizes that are not cached (no timing)")
    ap.add_argument("--prepare-threads", type=int, default=0, metavar="K",
                    help="numba threads for preparing a bed (0 = auto: all, or 1 for each "
                         "1000-step chunk that follows one where other processes used more than "
                         "half a core: a parallel loop waits for its slowest thread)")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="before each bed preparation and timed case wait up to S seconds for "
                         "the other processes to use < 0.15 cores")
    ap.add_argument("--report", action="store_true",
                    help="only print the table of the existing --out file")
    ap.add_argument("--merge", action="store_true",
                    help="keep the cases of an existing --out file that this run does not redo")
    # internal
    ap.add_argument("--worker", choices=("prepare", "time", "startup"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--bed", help=argparse.SUPPRESS)
    ap.add_argument("--threads-one", dest="threads_one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:
        if a.worker == "time":
            a.threads = a.threads_one
        fn = {"prepare": worker_prepare, "time": worker_time, "startup": worker_startup}[a.worker]
        res = fn(a)
        Path(a.result).write_text(json.dumps(res))
        return 0

    if a.out is None:
        a.out = DEFAULT_OUT.with_name("hertz_bed_quick.json") if a.quick else DEFAULT_OUT
    if a.report:
        print(fmt_table(json.loads(a.out.read_text())))
        return 0
    if a.quick:
        a.sizes, a.repeats = [5000], 1
    use_bench_materials()
    results = {"benchmark": "hertz_bed", "spec": SPEC, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
               "machine": machine_info(), "settings": {"steps": a.steps, "repeats": a.repeats, "sub_steps": a.sub_steps,
                                                       "warmup": a.warmup, "seed": a.seed,
                                                       "profile_steps": a.profile_steps},
               "prepare": {}, "cases": []}
    t_all = time.perf_counter()
    for n in a.sizes:
        bed = a.bed_dir / f"bed_N{n}_{bed_key(n, a.seed)}.npz"
        meta = bed.with_suffix(".json")
        if bed.is_file() and meta.is_file() and not a.fresh:
            prep = json.loads(meta.read_text())
            prep["fresh"] = False
            print(f"N={n}: using the prepared bed {bed}", flush=True)
        else:
            if a.wait_quiet > 0:
                load = wait_quiet(a.wait_quiet)
                print(f"  other processes: {load:.2f} cores", flush=True)
            print(f"N={n}: preparing the bed (settle + press, "
                  f"{a.prepare_threads or 'all'} threads) ...", flush=True)
            prep = run_worker("prepare", ["--n", str(n), "--bed", str(bed), "--seed", str(a.seed),
                                          "--prepare-threads", str(a.prepare_threads)])
            meta.write_text(json.dumps(prep))
            prep["fresh"] = True
            print(f"  {prep['steps_settle']} settle + {prep['steps_press']} press steps in "
                  f"{prep['wall_s']['total']:.0f} s; solid fraction {prep['solid_fraction']:.4f}, "
                  f"plane {prep['punch_stress_Pa'] / 1e6:.2f} MPa", flush=True)
        results["prepare"][str(n)] = {k: v for k, v in prep.items() if k != "log"}
        if a.prepare_only:
            continue
        for k in a.threads:
            print(f"N={n} threads={k or 'all'}: timing {a.repeats} x {a.steps} steps ...", flush=True)
            targs = ["--n", str(n), "--bed", str(bed), "--seed", str(a.seed),
                     "--threads-one", str(k), "--repeats", str(a.repeats), "--steps", str(a.steps),
                     "--warmup", str(a.warmup), "--sub-steps", str(a.sub_steps),
                     "--profile-steps", str(a.profile_steps)]
            if a.wait_quiet > 0:
                load = wait_quiet(a.wait_quiet)
                print(f"  other processes: {load:.2f} cores", flush=True)
            try:
                c = run_worker("time", targs)
            except RuntimeError as e:
                if prep.get("fresh", True):
                    raise
                # a bed from an older engine may no longer load: prepare it again, once
                print(f"  the cached bed failed ({str(e).splitlines()[-1][:200]}); preparing "
                      "it again", flush=True)
                prep = run_worker("prepare", ["--n", str(n), "--bed", str(bed), "--seed",
                                              str(a.seed), "--prepare-threads",
                                              str(a.prepare_threads)])
                meta.write_text(json.dumps(prep))
                prep["fresh"] = True
                results["prepare"][str(n)] = {k2: v for k2, v in prep.items() if k2 != "log"}
                c = run_worker("time", targs)
            mi = machine_info()
            c["dempack_commit"], c["dempack_dirty"] = mi["dempack_commit"], mi["dempack_dirty"]
            c["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
            print(f"  {c['us_per_particle_step']:.4f} us/particle-step "
                  f"({', '.join(f'{u:.4f}' for u in c['us_per_particle_step_all'])}); "
                  f"peak {c['peak_rss_MB']:.0f} MB", flush=True)
            results["cases"].append(c)
    if a.prepare_only:
        return 0
    if not a.no_startup:
        print("warm-cache start to first step ...", flush=True)
        run_worker("startup", [])  # fills the cache if it is cold
        results["startup"] = run_worker("startup", [])
    results["wall_s"] = time.perf_counter() - t_all
    try:
        results["machine"]["loadavg_after"] = os.getloadavg()
    except OSError:
        pass
    if a.merge and a.out.is_file():
        prev = json.loads(a.out.read_text())
        redone = {(c["n"], c["threads"]) for c in results["cases"]}
        keep = [c for c in prev.get("cases", []) if (c["n"], c["threads"]) not in redone]
        results["cases"] = sorted(keep + results["cases"], key=lambda c: (c["n"], c["threads"]))
        for k, v in prev.get("prepare", {}).items():
            results["prepare"].setdefault(k, v)
        if "startup" not in results and "startup" in prev:
            results["startup"] = prev["startup"]
        results["merged_from"] = prev.get("date")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=1))
    print()
    print(fmt_table(results))
    print(f"\nwritten {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
