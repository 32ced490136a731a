#!/usr/bin/env python
"""Does creep decide in the 2D RVE? (issue 21, deliverable 4): scenarios/rve2d_se60mse.toml with
1,000 disks and 3 cycles at 70 C, at 25 C and with creep off (cycling.temperature_C and
cycling.creep_model the only changes). Prints the discharge- and charge-end rows and writes
benchmarks/results/rve2d_creep_decides.json (the run folders go to results/rve2d_creep).

    python benchmarks/rve2d_creep_decides.py      # about 3 minutes on 2 cores
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import json  # noqa: E402

import dempack  # noqa: E402

out = {}
for name, T, model in (("70C", 70, "particle_norton"), ("25C", 25, "particle_norton"), ("off", 70, "off")):
    sc = dempack.load_scenario(ROOT / "scenarios" / "rve2d_se60mse.toml")
    sc.set_many({"packing.particles": 1000, "cycling.cycles": 3, "cycling.temperature_C": T,
                 "cycling.creep_model": model, "run.snapshot_every_outputs": 0,
                 "run.snapshot_at_half_cycle_fractions": []})
    res = dempack.run(sc, out_dir=ROOT / "results" / "rve2d_creep" / name)
    rows = res.sim.cycle_rows.rows()
    out[name] = [{k: r[k] for k in ("cycle", "half", "porosity", "contact_ratio:Se-Se", "contact_ratio:Se-Mo6Se8",
                                     "stress_vm_mean_Pa:Se", "pressure_mean_Pa:Se", "creep_strain_mean:Se", "punch_stress_Pa")} for r in rows]
    for r in out[name]:
        print(name, r["cycle"], r["half"], "por %.4f" % r["porosity"], "SeSe %.3f" % r["contact_ratio:Se-Se"], "SeM %.3f" % r["contact_ratio:Se-Mo6Se8"],
              "vm %.0f" % (r["stress_vm_mean_Pa:Se"]/1e6), "p %.0f" % (r["pressure_mean_Pa:Se"]/1e6), "wall %.0f" % (r["punch_stress_Pa"]/1e6), "cr %.2f" % r["creep_strain_mean:Se"], flush=True)
(ROOT / "benchmarks" / "results" / "rve2d_creep_decides.json").write_text(json.dumps(out, indent=1))
