"""Se utilisation over the first cycles of a shortened Se-60MSe cell (issue 16, deliverable 5).

Runs scenarios/cycle_se60mse.toml shortened (particles, cycles, steps per half-cycle from the
command line) with cycling.lithiation_rule = "contact_limited", and prints per half-cycle:
the utilisation:Se the rule used (V0-weighted mean reachable fraction), the capacity passed
(capacity_fraction:Se), the Se–Mo6Se8 contact ratio, the contacted fraction of the Se surface
and, as a sensitivity, the utilisation the contacts at that half-cycle's end would give for
other diffusivities D (×0.1 … ×10 of the table's value; same contacts, no rerun).

    PYTHONPATH=. python benchmarks/utilisation_se60mse.py --particles 500 --cycles 3 \
        --steps 4000 --temperature 70
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import dempack
from dempack.physics.access import reachable_fractions
from dempack.simulation import Simulation
from dempack.drive import drive

FACTORS = (0.1, 1.0, 2.0, 3.0, 5.0, 10.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/cycle_se60mse.toml")
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4000, help="cycling.steps_per_half_cycle")
    ap.add_argument("--temperature", type=float, default=None, help="cycling.temperature_C")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rule", default="contact_limited")
    args = ap.parse_args(argv)
    sc = dempack.load_scenario(args.scenario)
    sc.set("packing.particles", args.particles)
    sc.set("cycling.cycles", args.cycles)
    sc.set("cycling.steps_per_half_cycle", args.steps)
    sc.set("cycling.lithiation_rule", args.rule)
    sc.set("run.seed", args.seed)
    sc.set("run.output_interval_steps", 100000)
    if args.temperature is not None:
        sc.set("cycling.temperature_C", args.temperature)
    sim = Simulation(sc)
    k_se = [m.name for m in sim.materials].index("Se")
    D = sim.materials[k_se].lithium_diffusivity
    t_half = 3600.0 / sc.cycling.c_rate
    lines = []

    def at_half_end(s, row):
        ps = s.particles
        se = ps.alive & (ps.material == k_se)
        w = ps.R0[se] ** 3
        sens = []
        for fac in FACTORS:
            L = np.full(ps.n, math.sqrt(fac * D * t_half))
            f = reachable_fractions(s, L)
            sens.append(float(np.sum(w * f[se]) / np.sum(w)))
        surf = sum(row.get(f"contact_ratio:Se-{m.name}", 0.0) for m in s.materials)
        lines.append((row["cycle"], row["half"], row["utilisation:Se"], row["capacity_fraction:Se"],
                      row["lithiation_mean:Se"], row["contact_ratio:Se-Mo6Se8"], surf,
                      row["porosity"], *sens))

    sim.half_cycle_observers.append(at_half_end)
    t0 = time.perf_counter()
    drive(sim, None)
    wall = time.perf_counter() - t0
    print(f"# {args.scenario}: {args.particles} particles, {args.cycles} cycles, "
          f"{args.steps} steps/half, T = {sc.cycling.temperature_C} C, rule {args.rule}, "
          f"D = {D:.3g} m2/s, L_D = {math.sqrt(D * t_half) * 1e6:.3f} um, seed {args.seed}; "
          f"wall {wall:.0f} s")
    head = ("cycle half utilisation capacity c_mean cr_Se-MSe contacted porosity "
            + " ".join(f"u(D*{f:g})" for f in FACTORS))
    print(head)
    for ln in lines:
        print(f"{ln[0]} {ln[1]:9s} " + " ".join(f"{v:.4f}" for v in ln[2:]))


if __name__ == "__main__":
    main()
