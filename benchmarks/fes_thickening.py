#!/usr/bin/env python3
"""FeS thickening (issue 16.2): the shortened FeS-60MSe cell with and without the rolling
resistance of angular fragments, two seeds each.

    PYTHONPATH=. NUMBA_NUM_THREADS=1 python benchmarks/fes_thickening.py          # run all, table
    PYTHONPATH=. python benchmarks/fes_thickening.py --reuse DIR   # take runs already in DIR
    PYTHONPATH=. python benchmarks/fes_thickening.py --report      # table from the JSON

Each run is `scenarios/cycle_fes60mse.toml` as shipped (pressing to 360 MPa, screw fixture
with 100 MPa preload, 0.1 C, 70 °C, fragments down to 2 µm) shortened to --particles 500 and
--cycles 10, with the FeS fragments' rolling friction (`[FeS.fracture]
fragment_rolling_friction`) set through a copy of assets/materials.toml ($DEMPACK_MATERIALS):

* ``mu_r=0`` — fragments roll freely: the model before issue 16.2 (the contact part is off);
* ``mu_r=0.2`` — the shipped value (angular debris, Wensrich & Katterfeld 2012);
* ``mu_r=0.3`` — the top of the shape-equivalent range 0.1-0.3 (a sensitivity run, not a
  choice);
* ``all=0.2`` — every FeS particle, intact ones too, with μ_r = 0.2 (`rolling_friction`):
  what if the pristine powder were as angular as its debris;
* ``debris_eps=0.4`` — an experiment that is not in dempack: fragments as rigid porous
  clusters of debris, internal porosity 0.4 that never compacts (the upper bound of "the
  debris of a pulverised particle keeps random-packing voids"), with μ_r = 0.2. It needs
  benchmarks/results/fes_debris_experiment.patch applied (`git apply`); without it the
  variant is only collected from --reuse, else skipped.

For each run and cycle the JSON holds the thickness change (relative to the end of pressing)
and porosity at the discharge and charge ends, and the broken mass fraction and breakage
events at the charge end. The verdict the issue asks for: is the charge-end thickness change
monotonic increasing over the cycles? Writes benchmarks/results/fes_thickening.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "fes_thickening.json"
SCENARIO = "scenarios/cycle_fes60mse.toml"
MATERIALS = ROOT / "assets" / "materials.toml"
KEY = "fragment_rolling_friction = "

# name: (fragment μ_r, μ_r of every FeS particle or None)
VARIANTS = {"mu_r=0": (0.0, None), "mu_r=0.2": (0.2, None), "mu_r=0.3": (0.3, None),
            "all=0.2": (0.2, 0.2), "debris_eps=0.4": (0.2, None)}
# variants that need an experimental patch: name -> (environment, marker in the patched file)
EXPERIMENTS = {"debris_eps=0.4": ({"DEMPACK_EXPT_DEBRIS_EPS": "0.4"},
                                  ROOT / "dempack" / "physics" / "fracture.py")}


def materials_text(frag: float, all_fes: float | None) -> str:
    """The shipped table with FeS fragments' μ_r = frag (and every FeS particle's = all_fes)."""
    text = MATERIALS.read_text()
    head = text.index("[FeS.fracture]")
    at = text.index(KEY, head)
    end = text.index("\n", at)
    text = text[:at] + KEY + repr(frag) + text[end:]
    if all_fes is not None:
        text = text.replace("hardness_Pa = 3.0e9\n\n[FeS.fracture]",
                            f"hardness_Pa = 3.0e9\nrolling_friction = {all_fes}\n\n[FeS.fracture]", 1)
        text = text.replace("[FeS.source]\n", "[FeS.source]\nrolling_friction = "
                            "\"benchmark: every FeS particle angular\"\n", 1)
    return text


def run(name: str, seed: int, out: Path, particles: int, cycles: int) -> None:
    frag, all_fes = VARIANTS[name]
    table = out / f"materials_{name}.toml"
    table.write_text(materials_text(frag, all_fes))
    env = dict(os.environ, DEMPACK_MATERIALS=str(table), PYTHONPATH=str(ROOT))
    if name in EXPERIMENTS:
        extra, patched = EXPERIMENTS[name]
        if not all(k in patched.read_text() for k in extra):
            print(f"{name}: skipped (apply benchmarks/results/fes_debris_experiment.patch first)")
            return
        env.update(extra)
    cmd = [sys.executable, "-m", "dempack.cli", "run", SCENARIO, "--out", str(out / f"{name}_s{seed}"),
           "--set", f"packing.particles={particles}", "--set", f"cycling.cycles={cycles}",
           "--set", f"run.seed={seed}", "-q"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def collect(folder: Path) -> dict:
    rows = list(csv.DictReader(open(folder / "cycles.csv")))
    out: dict[str, list] = {k: [] for k in ("thickness_change_discharge", "thickness_change_charge",
                                            "porosity_discharge", "porosity_charge",
                                            "broken_mass_fraction", "breakage_events",
                                            "punch_stress_MPa_charge")}
    for r in rows:
        h = r["half"]
        out[f"thickness_change_{h}"].append(float(r["thickness_change"]))
        out[f"porosity_{h}"].append(float(r["porosity"]))
        if h == "charge":
            out["broken_mass_fraction"].append(float(r["broken_mass_fraction"]))
            out["breakage_events"].append(int(r["breakage_events"]))
            out["punch_stress_MPa_charge"].append(float(r["punch_stress_Pa"]) / 1e6)
    c = out["thickness_change_charge"]
    out["monotonic_thickening"] = bool(all(b > a for a, b in zip(c, c[1:])))
    return out


def report(data: dict) -> str:
    lines = ["| run | seed | charge-end thickness change (%), cycles 1..n | discharge-end (%) first/last "
             "| charge-end porosity first/last | broken mass first/last | monotonic |",
             "|---|---|---|---|---|---|---|"]
    for key, r in data["runs"].items():
        name, seed = key.rsplit("_s", 1)
        c = " ".join(f"{100 * v:.1f}" for v in r["thickness_change_charge"])
        d = r["thickness_change_discharge"]
        p = r["porosity_charge"]
        b = r["broken_mass_fraction"]
        lines.append(f"| {name} | {seed} | {c} | {100 * d[0]:.1f} / {100 * d[-1]:.1f} | "
                     f"{p[0]:.3f} / {p[-1]:.3f} | {b[0]:.2f} / {b[-1]:.2f} | "
                     f"{'yes' if r['monotonic_thickening'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/dempack_fes_thickening"),
                    help="folder of the runs")
    ap.add_argument("--reuse", type=Path, help="take the runs found in this folder "
                    "(<variant>_s<seed>/cycles.csv); run the missing ones")
    ap.add_argument("--report", action="store_true", help="print the table of the JSON")
    a = ap.parse_args()
    if a.report:
        print(report(json.loads(OUT.read_text())))
        return
    work = a.reuse or a.work
    work.mkdir(parents=True, exist_ok=True)
    data = {"scenario": SCENARIO, "particles": a.particles, "cycles": a.cycles,
            "variants": {k: {"fragment_rolling_friction": v[0], "rolling_friction_all_FeS": v[1]}
                         for k, v in VARIANTS.items() if k in a.variants},
            "runs": {}}
    for name in a.variants:
        for seed in a.seeds:
            folder = work / f"{name}_s{seed}"
            if not (folder / "cycles.csv").exists():
                run(name, seed, work, a.particles, a.cycles)
            if (folder / "cycles.csv").exists():
                data["runs"][f"{name}_s{seed}"] = collect(folder)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(report(data))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
