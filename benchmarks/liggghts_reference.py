#!/usr/bin/env python
"""Same-machine reference: LIGGGHTS 3.8 (C++, MPI) on the Hertz-bed benchmark of
bench_hertz_bed.py, so that dempack's µs per particle-step can be set beside an
established C++ DEM code timed on the same cores.

What it measures: for each N in --sizes and each MPI rank count in --ranks, the dense
bed that bench_hertz_bed.py prepared (pressed to 10 MPa, cached as a dempack checkpoint
in benchmarks/.cache/) is loaded into LIGGGHTS with the benchmark's model (Hertz–Mindlin
with tangential history, particles type 1 = the bench material, both planes type 2 =
steel, periodic in x and y, fixed planes at z = 0 and at the pressed height, dt 2e-9 s,
skin 1 µm, body force 5e5 m/s²). One LIGGGHTS process per case runs --warmup steps, then
--repeats blocks of --steps steps. LIGGGHTS's own "Loop time of T on P procs for S steps"
line of each block gives µs/particle-step = T / (N · S) · 1e6 (its run setup, i.e. the
first neighbour build and force pass of each `run`, is outside T; list rebuilds inside
the loop are included, as in dempack's number). Reported: median and min..max over the
blocks, the time breakdown LIGGGHTS prints, list builds, and the state at the end (atoms
left, kinetic energy, top-plane stress, mean coordination, neighbours per atom).

How the model maps onto LIGGGHTS (all SI):
  pair_style gran model hertz tangential history limitForce on
      F_n = 4/3 E* √(R* δ) δ − γ_n v_n (clamped ≥ 0, as dempack), S_t = 8 G* √(R* δ),
      γ = 2 √(5/6) β √(S m*): the same forms and mixing (E*, G*) as dempack.contact.
  coefficientRestitution: LIGGGHTS sets β = −ln e / √(ln² e + π²) (exact for a linear
      spring only); dempack solves the damped Hertz collision for the β that rebounds at
      exactly e (β = 0.255 for e = 0.5, LIGGGHTS' formula gives 0.215). The value handed
      to LIGGGHTS is e' = exp(−π β / √(1 − β²)) with dempack's β, so γ_n, γ_t are equal.
  hard_particles yes: LIGGGHTS refuses youngsModulus > 1e9 Pa in SI units without it.
  newton off, communicate single vel yes: required by pair gran with shear history.
Known differences (small for a settled bed): LIGGGHTS caps only the spring part of the
tangential force at μ F_n and drops the tangential damping while sliding (dempack caps
spring + damper); lever arm for wall contacts R − δ/2 (dempack: R − δ); with newton off a
pair across a periodic or processor boundary is computed on both sides; the checkpoint's
tangential springs cannot be passed in, so every contact starts with ξ = 0 and the bed
relaxes in the first ~300 steps (plane stress 10.0 → ~9.1 MPa; dempack from the same
checkpoint with ξ zeroed does the same: 9.00 / 9.03 / 9.09 MPa after 100 / 200 / 300 steps).

Usage:
  python benchmarks/liggghts_reference.py                         # N = 5000 20000 100000, 1 and 2 ranks, 3 repeats
  python benchmarks/liggghts_reference.py --sizes 5000 --ranks 1 --warmup 200 --steps 500 --repeats 1
  python benchmarks/liggghts_reference.py --report                # table of the saved results
Needs the liggghts binary (Debian: apt-get install -y --no-install-recommends liggghts) and,
for more than one rank, mpirun; the beds must exist (bench_hertz_bed.py --prepare-only).
LIGGGHTS' files go to a temp dir (kept with --workdir DIR). Results: benchmarks/results/
liggghts_reference.json and a table on stdout. Time it with nothing else running.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # dempack of this checkout (dempack.contact)
import bench_hertz_bed as bench  # noqa: E402  (same directory: the spec, bed names, load probes)

DEFAULT_OUT = HERE / "results" / "liggghts_reference.json"
INSTALL_HINT = "apt-get install -y --no-install-recommends liggghts"
PARTICLE, WALL = 1, 2  # LIGGGHTS atom types (material types)


# ----------------------------------------------------------------------------- model
def materials() -> dict:
    """The bench material and the wall material (steel) of bench_hertz_bed.BENCH_MATERIALS."""
    t = tomllib.loads(bench.BENCH_MATERIALS)
    keys = ("youngs_modulus_Pa", "poisson_ratio", "friction", "restitution")
    return {PARTICLE: {k: t["bench"][k] for k in keys}, WALL: {k: t["steel"][k] for k in keys}}


def liggghts_restitution(e: float) -> tuple[float, float]:
    """(e', β): β the damping ratio dempack uses for restitution e, e' the coefficient
    that LIGGGHTS' β = −ln e' / √(ln² e' + π²) turns into the same β."""
    from dempack.contact import damping_coefficient
    beta = damping_coefficient(e)
    return math.exp(-math.pi * beta / math.sqrt(1.0 - beta * beta)), beta


def pair_table(mats: dict) -> dict:
    """Per type pair friction and LIGGGHTS restitution, with dempack's mixing rule
    (the smaller of the two materials' values)."""
    out = {}
    for a in (PARTICLE, WALL):
        for b in (PARTICLE, WALL):
            e = min(mats[a]["restitution"], mats[b]["restitution"])
            e_l, beta = liggghts_restitution(e)
            out[(a, b)] = {"friction": min(mats[a]["friction"], mats[b]["friction"]),
                           "restitution": e, "beta": beta, "restitution_liggghts": e_l}
    return out


# ----------------------------------------------------------------------------- files
def load_bed(n: int, bed_dir: Path, seed: int) -> dict:
    import numpy as np
    path = bed_dir / f"bed_N{n}_{bench.bed_key(n, seed)}.npz"
    if not path.is_file():
        raise SystemExit(f"no prepared bed for N={n} ({path}); make it with\n"
                         f"  python benchmarks/bench_hertz_bed.py --sizes {n} --prepare-only")
    d = np.load(path)
    meta = json.loads(str(d["__meta__"]))
    bed = {k: d[k] for k in ("p_x", "p_v", "p_w", "p_R", "p_mass", "box_L")}
    if "p_alive" in d.files and not d["p_alive"].all():
        raise SystemExit(f"{path}: the bed has removed particles; prepare it again (--fresh)")
    bed["z_top"] = float(meta["z_top"])
    bed["path"] = str(path)
    return bed


def write_data(path: Path, bed: dict) -> None:
    """LIGGGHTS data file, atom_style granular: 'atom-ID atom-type diameter density x y z',
    Velocities 'atom-ID vx vy vz wx wy wz'. Box [0, Lx) × [0, Ly) × [0, z_top + R_max]."""
    import numpy as np
    x, R = bed["p_x"], bed["p_R"]
    n = len(R)
    ids = np.arange(1, n + 1)
    rho = bed["p_mass"] / (4.0 / 3.0 * math.pi * R ** 3)  # LIGGGHTS rebuilds m from ρ and d
    L = bed["box_L"]
    with open(path, "w") as f:
        f.write(f"dempack bed {bed['path']}\n\n{n} atoms\n{WALL} atom types\n\n"
                f"0 {float(L[0])!r} xlo xhi\n0 {float(L[1])!r} ylo yhi\n"
                f"0 {bed['z_top'] + float(R.max())!r} zlo zhi\n\nAtoms\n\n")
        np.savetxt(f, np.column_stack([ids, np.full(n, PARTICLE), 2.0 * R, rho, x]),
                   fmt=["%d", "%d"] + ["%.17g"] * 5)
        f.write("\nVelocities\n\n")
        np.savetxt(f, np.column_stack([ids, bed["p_v"], bed["p_w"]]),
                   fmt=["%d"] + ["%.17g"] * 6)


def input_script(z_top: float, mats: dict, pairs: dict, a) -> str:
    sp = bench.SPEC
    types = (PARTICLE, WALL)

    def per_type(key):
        return " ".join(repr(mats[t][key]) for t in types)

    def per_pair(key):
        return f"{len(types)} " + " ".join(repr(pairs[(a_, b_)][key]) for a_ in types for b_ in types)

    wall = f"wall/gran model hertz tangential history primitive type {WALL} zplane"
    runs = "\n".join([f"run {a.warmup}"] + [f"run {a.steps}"] * a.repeats)
    return f"""\
# written by benchmarks/liggghts_reference.py: dempack's Hertz-bed benchmark
atom_style granular
atom_modify map array
boundary p p f
newton off
communicate single vel yes
units si
hard_particles yes
read_data bed.data
neighbor {sp['skin_um'] * 1e-6!r} bin
neigh_modify every 1 delay 0 check yes
fix m1 all property/global youngsModulus peratomtype {per_type('youngs_modulus_Pa')}
fix m2 all property/global poissonsRatio peratomtype {per_type('poisson_ratio')}
fix m3 all property/global coefficientRestitution peratomtypepair {per_pair('restitution_liggghts')}
fix m4 all property/global coefficientFriction peratomtypepair {per_pair('friction')}
pair_style gran model hertz tangential history limitForce on
pair_coeff * *
timestep {sp['dt_s']!r}
fix grav all gravity {sp['gravity_m_s2']!r} vector 0 0 -1
fix bottom all {wall} 0.0 limitForce on
fix top all {wall} {z_top!r} store_force yes limitForce on
fix integr all nve/sphere
compute ftop all reduce sum f_force_top[3]
compute rke all erotate/sphere
compute cn all contact/atom
compute cnave all reduce ave c_cn
variable ptop equal -c_ftop/(lx*ly)
thermo_style custom step atoms ke c_rke v_ptop c_cnave
thermo_modify norm no lost error format float %.10g
thermo {a.thermo}
{runs}
"""


# ----------------------------------------------------------------------------- run + parse
LOOP_RE = re.compile(r"Loop time of (\S+) on (\d+) procs for (\d+) steps with (\d+) atoms")
PART_RE = re.compile(r"^(Pair|Neigh|Comm|Outpt|Other|Modfy)\s+time \(%\) = (\S+) \((\S+)\)")
THERMO_COLS = ("step", "atoms", "ke_J", "rke_J", "plane_Pa", "coordination")


def parse_log(text: str) -> list[dict]:
    """One dict per `run`: thermo rows, loop time, time breakdown, neighbour statistics."""
    runs, cur, in_thermo, memory = [], None, False, None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Memory usage per processor"):  # printed just before the thermo header
            memory = float(s.split("=")[1].split()[0])
            continue
        if s.startswith("Step") and "Atoms" in s:
            cur = {"thermo": [], "parts_s": {}, "memory_MB_per_proc": memory}
            runs.append(cur)
            in_thermo = True
            continue
        if cur is None:
            continue
        m = LOOP_RE.search(s)
        if m:
            in_thermo = False
            cur.update(loop_s=float(m[1]), procs=int(m[2]), steps=int(m[3]), atoms=int(m[4]))
            continue
        if in_thermo:
            try:
                vals = [float(t) for t in s.split()]
            except ValueError:  # a WARNING line between thermo rows
                continue
            if len(vals) == len(THERMO_COLS):
                cur["thermo"].append(dict(zip(THERMO_COLS, vals)))
            continue
        m = PART_RE.match(s)
        if m:
            cur["parts_s"][m[1].lower()] = float(m[2])
        elif s.startswith("Ave neighs/atom"):
            cur["neighs_per_atom"] = float(s.split("=")[1])
        elif s.startswith("Neighbor list builds"):
            cur["list_builds"] = int(s.split("=")[1])
        elif s.startswith("Dangerous builds"):
            cur["dangerous_builds"] = int(s.split("=")[1])
    return runs


def liggghts_command(ranks: int) -> list[str]:
    exe = shutil.which("liggghts")
    if exe is None:
        raise SystemExit(f"liggghts not found on PATH; install it with\n  {INSTALL_HINT}")
    # LIGGGHTS does not flush its screen output before MPI_Abort: line-buffer it, or the
    # ERROR line of a failing input is lost
    cmd = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []
    if ranks > 1:
        mpirun = shutil.which("mpirun")
        if mpirun is None:
            raise SystemExit(f"mpirun not found (needed for --ranks {ranks}); it comes with "
                             f"liggghts' OpenMPI: {INSTALL_HINT}")
        cmd += [mpirun] + (["--allow-run-as-root"] if os.geteuid() == 0 else []) + ["-np", str(ranks)]
    return cmd + [exe, "-in", "in.bench", "-log", "none", "-echo", "none"]


def run_case(n: int, ranks: int, workdir: Path, a) -> dict:
    cmd = liggghts_command(ranks)
    busy0 = bench.cpu_busy_s()
    t0 = time.perf_counter()
    with open(workdir / f"screen_N{n}_P{ranks}.txt", "w") as out:
        p = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)  # rusage of the process tree (ranks included)
    wall = time.perf_counter() - t0
    busy1 = bench.cpu_busy_s()
    text = (workdir / f"screen_N{n}_P{ranks}.txt").read_text()
    rc = os.waitstatus_to_exitcode(status)
    runs = parse_log(text)
    if rc != 0 or len(runs) != 1 + a.repeats or any("loop_s" not in r for r in runs):
        errors = "\n".join(ln for ln in text.splitlines() if "ERROR" in ln)
        raise RuntimeError(f"LIGGGHTS N={n} ranks={ranks} failed (rc {rc}) in {workdir}: "
                           f"{' '.join(cmd)}\n{errors}\n--- end of its output:\n{text[-3000:]}")
    cpu = ru.ru_utime + ru.ru_stime
    blocks = runs[1:]
    us = [1e6 * b["loop_s"] / (b["atoms"] * b["steps"]) for b in blocks]
    first, last = runs[0]["thermo"][0], blocks[-1]["thermo"][-1]
    return {
        "n": n, "ranks": ranks, "steps": a.steps, "repeats": a.repeats, "warmup_steps": a.warmup,
        "us_per_particle_step": statistics.median(us), "us_per_particle_step_all": us,
        "blocks": [{k: b.get(k) for k in ("loop_s", "steps", "atoms", "parts_s", "list_builds",
                                          "dangerous_builds", "neighs_per_atom", "memory_MB_per_proc")}
                   for b in blocks],
        "warmup": {k: runs[0].get(k) for k in ("loop_s", "list_builds", "dangerous_builds")},
        "atoms_start": int(first["atoms"]), "atoms_end": int(last["atoms"]),
        "plane_Pa_start": first["plane_Pa"], "plane_Pa_end": last["plane_Pa"],
        "coordination_start": first["coordination"], "coordination_end": last["coordination"],
        "ke_J_end": last["ke_J"], "rke_J_end": last["rke_J"],
        "neighs_per_atom": blocks[-1].get("neighs_per_atom"),
        "thermo": [r["thermo"] for r in runs],
        "process_wall_s": wall, "cpu_per_wall": cpu / wall,
        "other_cores": None if busy0 is None or busy1 is None
        else max(0.0, (busy1 - busy0 - cpu) / wall),
        "peak_rss_MB": ru.ru_maxrss / 1024.0,  # largest single process (one rank)
        "command": " ".join(cmd), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def ke_per_mgd(case: dict, bed: dict) -> float:
    """Mean translational kinetic energy / (m g d) of the mean particle (as bench_hertz_bed)."""
    m, d = float(bed["p_mass"].mean()), 2.0 * float(bed["p_R"].mean())
    return case["ke_J_end"] / case["atoms_end"] / (m * bench.SPEC["gravity_m_s2"] * d)


def machine_info() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = ""
    exe = shutil.which("liggghts")
    if exe:
        with tempfile.TemporaryDirectory() as td:
            (Path(td) / "in.v").write_text("")
            r = subprocess.run([exe, "-in", "in.v", "-log", "none"], cwd=td,
                               capture_output=True, text=True)
            version = r.stdout.strip().splitlines()[0] if r.stdout.strip() else ""
    mpi = shutil.which("mpirun")
    mpi_v = ""
    if mpi:
        mpi_v = subprocess.run([mpi, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"liggghts": version, "mpirun": mpi_v, "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_before": os.getloadavg()}


def fmt_table(res: dict) -> str:
    rows = [("N", "ranks", "us/p-step", "min..max", "cpu/wall", "others", "atoms", "KE/mgd",
             "plane MPa start->end", "coord", "neighs/atom", "builds", "MB/rank", "peak MB")]
    for c in res["cases"]:
        us = c["us_per_particle_step_all"]
        rows.append((str(c["n"]), str(c["ranks"]), f"{c['us_per_particle_step']:.3f}",
                     f"{min(us):.3f}..{max(us):.3f}", f"{c['cpu_per_wall']:.2f}",
                     f"{c['other_cores']:.2f}" if c["other_cores"] is not None else "-",
                     f"{c['atoms_end']}/{c['atoms_start']}", f"{c['ke_per_mgd']:.1e}",
                     f"{c['plane_Pa_start'] / 1e6:.2f}->{c['plane_Pa_end'] / 1e6:.2f}",
                     f"{c['coordination_end']:.3f}", f"{c['neighs_per_atom']:.2f}",
                     "/".join(str(b["list_builds"]) for b in c["blocks"]),
                     f"{c['blocks'][-1]['memory_MB_per_proc']:.1f}", f"{c['peak_rss_MB']:.0f}"))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(s.rjust(w[i]) for i, s in enumerate(r)) for r in rows]
    out.insert(1, "  ".join("-" * x for x in w))
    out.append(f"\nus/p-step: LIGGGHTS loop time / (N steps), median of {res['settings']['repeats']}"
               f" x {res['settings']['steps']} steps after {res['settings']['warmup']} warm-up steps;"
               " others: CPU of other processes (cores); builds: neighbour-list builds per block;"
               " MB/rank: LIGGGHTS' 'Memory usage per processor'; peak MB: RSS of the largest"
               " process (MPI libraries included)")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="MPI rank counts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5000, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=1000,
                    help="untimed steps first (the bed relaxes: the tangential springs start at 0)")
    ap.add_argument("--thermo", type=int, default=1000, help="LIGGGHTS thermo output interval")
    ap.add_argument("--seed", type=int, default=1, help="bed seed (as bench_hertz_bed.py)")
    ap.add_argument("--bed-dir", type=Path, default=bench.DEFAULT_BED_DIR)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="keep LIGGGHTS' data, input and screen files here (default: a temp dir, removed)")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="before each case wait up to S seconds for other processes to use < 0.15 cores")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--report", action="store_true", help="only print the table of --out")
    a = ap.parse_args(argv)

    if a.report:
        print(fmt_table(json.loads(a.out.read_text())))
        return 0
    for k in a.ranks:
        liggghts_command(k)  # fail early if liggghts / mpirun are missing
    mats = materials()
    pairs = pair_table(mats)
    res = {"benchmark": "hertz_bed/liggghts", "spec": bench.SPEC,
           "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info(),
           "settings": {"steps": a.steps, "repeats": a.repeats, "warmup": a.warmup,
                        "thermo": a.thermo, "seed": a.seed},
           "model": {"materials": mats,
                     "pairs": {f"{i}-{j}": v for (i, j), v in pairs.items()}},
           "cases": []}
    with tempfile.TemporaryDirectory(prefix="liggghts_ref_") as tmp:
        root = a.workdir or Path(tmp)
        for n in a.sizes:
            bed = load_bed(n, a.bed_dir, a.seed)
            wd = root / f"N{n}"
            wd.mkdir(parents=True, exist_ok=True)
            write_data(wd / "bed.data", bed)
            (wd / "in.bench").write_text(input_script(bed["z_top"], mats, pairs, a))
            for k in a.ranks:
                if a.wait_quiet > 0:
                    print(f"  other processes: {bench.wait_quiet(a.wait_quiet):.2f} cores", flush=True)
                print(f"N={n} ranks={k}: {a.warmup} + {a.repeats} x {a.steps} steps ...", flush=True)
                c = run_case(n, k, wd, a)
                c["bed"] = bed["path"]
                c["ke_per_mgd"] = ke_per_mgd(c, bed)
                print(f"  {c['us_per_particle_step']:.4f} us/particle-step ("
                      f"{', '.join(f'{u:.4f}' for u in c['us_per_particle_step_all'])}); plane "
                      f"{c['plane_Pa_start'] / 1e6:.2f} -> {c['plane_Pa_end'] / 1e6:.2f} MPa; "
                      f"atoms {c['atoms_end']}/{c['atoms_start']}", flush=True)
                res["cases"].append(c)
    res["machine"]["loadavg_after"] = os.getloadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print()
    print(fmt_table(res))
    print(f"\nwritten {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
