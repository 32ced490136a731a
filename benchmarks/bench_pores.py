#!/usr/bin/env python
"""Speed of the pore analysis (`dempack.analysis.pores`, issue 22): one snapshot of a
20,000-particle bed, on one core. Target: under 5 s.

The bed is synthetic and dense: the Se-60MSe size distributions of
scenarios/insitu_sem_se60mse.toml (log-normal, d50 5 and 3 µm, gsd 1.2, volume fractions
0.473/0.527, `dempack.packing.sample_diameters`), centres uniformly random in a laterally
periodic box, as high as wide, holding 1.4 times its volume in spheres: overlapping
(Poisson) spheres leave a fraction exp(−1.4) ≈ 0.25 of pores, the pressed electrode's
porosity. Only the section's geometry matters for the timing: disk and pixel counts as
in a pressed bed of the same sizes.

Timed, each the median of --repeats (numba compiled and cached before):
  arrays   section at mid-depth, raster at 20 pixels per smallest diameter, labels (with
           the periodic merge), areas (`analyse_sections`) from the particle arrays;
  folder   `dempack.pores` on a run folder holding that bed as its one snapshot (VTK read,
           the above, pores.csv, pores.json; --images adds the two PNGs).

Usage:
  python benchmarks/bench_pores.py                  # N = 20000, 3 repeats
  python benchmarks/bench_pores.py --n 2000 --repeats 1 --images    # a quick check
Run it with NUMBA_NUM_THREADS=1 (set below when unset): the raster kernel is serial, but
numba's thread pool would start anyway. Prints a table and writes nothing to the repo
(the run folder goes to a temporary directory).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def bed(n: int, seed: int = 1):
    """(x (n, 3) m, R (n,) m, material (n,), width m) of the synthetic bed (docstring)."""
    from dempack.packing import particle_counts, sample_diameters, volume_fractions  # noqa
    rng = np.random.default_rng(seed)
    phi = np.array([0.473, 0.527])
    d50 = np.array([5e-6, 3e-6])
    mean_v = [float(np.mean(np.pi / 6 * sample_diameters(rng, 20000, d, 1.2) ** 3)) for d in d50]
    counts = particle_counts(n, phi, mean_v)
    d = np.concatenate([sample_diameters(rng, c, d50[k], 1.2) for k, c in enumerate(counts)])
    mat = np.concatenate([np.full(c, k, np.int32) for k, c in enumerate(counts)])
    R = 0.5 * d
    width = (np.sum(4 / 3 * np.pi * R ** 3) / 1.4) ** (1 / 3)
    x = rng.uniform(0.0, 1.0, (R.size, 3)) * width
    return x, R, mat, width


def time_arrays(x, R, mat, width, repeats):
    from dempack.analysis.pores import (DEFAULT_PIXELS_PER_DIAMETER, analyse_sections,
                                        section_of_spheres)

    def once():
        h = float(np.max(x[:, 2] + R))
        sec = section_of_spheres(x, R, mat, (width, width), True, 0.5 * h)
        return analyse_sections([sec], 2 * R.min() / DEFAULT_PIXELS_PER_DIAMETER)

    an = once()                                   # compile (or load the cache)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        an = once()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), an


def run_folder(x, R, mat, width, where: Path) -> Path:
    """A run folder with one snapshot (what `dempack pores` reads)."""
    from dempack.io import PVDCollection, write_json, write_vtp
    (where / "vtk").mkdir(parents=True)
    (where / "scenario.toml").write_text("[cycling]\nresidual_lithiation = 0.22\n")
    write_vtp(where / "vtk/particles_000000000.vtp", x,
              {"radius": R, "material": mat, "lithiation": np.zeros(R.size)})
    PVDCollection(where / "particles.pvd").add(0.0, "vtk/particles_000000000.vtp")
    write_json(where / "summary.json", {"materials": ["Se", "Mo6Se8"], "die_width_m": width,
                                        "lateral": "periodic", "stages": []})
    return where


def time_folder(folder, repeats, images):
    import dempack
    dempack.pores(folder, out=folder / "out", images=images)      # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = dempack.pores(folder, out=folder / "out", images=images)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=20000, help="particles (default 20000)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--images", action="store_true", help="also write the PNGs (folder case)")
    a = p.parse_args(argv)
    import numba
    x, R, mat, width = bed(a.n)
    t_arr, an = time_arrays(x, R, mat, width, a.repeats)
    ras = an.rasters[0]
    with tempfile.TemporaryDirectory() as tmp:
        t_dir, res = time_folder(run_folder(x, R, mat, width, Path(tmp) / "run"), a.repeats,
                                 a.images)
    out = {"particles": int(a.n), "numba_threads": numba.get_num_threads(),
           "box_width_um": width * 1e6, "pixels": list(ras.image.shape[::-1]),
           "pixel_um": ras.pixel[0] * 1e6, "pores": int(an.labels[0].max()), "section_porosity": float(ras.pore.mean()),
           "arrays_s": t_arr, "folder_s": t_dir, "images": a.images, "target_s": 5.0}
    print(f"pore analysis of one snapshot, {a.n} particles, {out['numba_threads']} numba "
          f"thread(s): box {out['box_width_um']:.1f} um, raster {ras.image.shape[1]} x "
          f"{ras.image.shape[0]} px of {out['pixel_um']:.3f} um, {out['pores']} pores, "
          f"section porosity {out['section_porosity']:.3f}")
    print(f"  from arrays (section, raster, labels, areas): {t_arr:8.3f} s (median of "
          f"{a.repeats})")
    print(f"  dempack.pores on a run folder{' with PNGs' if a.images else ''}:"
          f"{t_dir:8.3f} s   target < 5 s")
    print(json.dumps(out))
    assert math.isfinite(t_arr)


if __name__ == "__main__":
    main()
