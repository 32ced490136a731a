"""Checkpoint/resume in the middle of cycling reproduces the uninterrupted run."""
import json

import numpy as np
import pytest

import dempack
from dempack.runner import OutputWriters
from dempack.scenario import Scenario
from dempack.simulation import Simulation
from _build import scenario


pytestmark = pytest.mark.portability

def _sc(rule="uniform", access_update_steps=0):
    sc = scenario(("Se", "Mo6Se8"), particles=80,
                  pressing=[{"pressure_MPa": 50, "speed_m_per_s": 2.0, "hold_steps": 200}],
                  run={"output_interval_steps": 250, "max_overlap_ratio": 0.6,
                       "snapshot_every_outputs": 0})
    d = sc.to_dict()
    d["cycling"] = {"cycles": 1, "c_rate": 1.0, "steps_per_half_cycle": 1500,
                    "volume_update_interval": 5, "lithiation_rule": rule,
                    "access_update_steps": access_update_steps}
    d["stack"] = {"mode": "servo", "pressure_MPa": 50, "speed_m_per_s": 2.0}
    return Scenario(d, "test")


@pytest.mark.parametrize("rule", [("uniform", 0), ("contact_limited", 300)])
def test_resume_mid_cycle_is_exact(tmp_path, rule):
    """Also the contact-limited rule, refreshing its reachable fractions every 300 steps: its
    per-particle start and reach (ParticleState) and its step count (stage state) resume."""
    a = dempack.run(_sc(*rule), out_dir=tmp_path / "a")
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    sc = _sc(*rule)
    sc.save(b_dir / "scenario.toml")
    sim = Simulation(sc, out_dir=b_dir)
    OutputWriters(sim, b_dir)
    while sim.stage.kind != "cycling":
        sim.run(steps=250)
    sim.run(steps=1000)      # stop in the middle of the discharge
    assert sim.stage.kind == "cycling" and 0 < sim.stage.c < 1
    sim.write_checkpoint(b_dir / "checkpoint.npz")
    b = dempack.resume(b_dir)
    pa, pb = np.argsort(a.sim.particles.pid), np.argsort(b.sim.particles.pid)
    assert np.array_equal(a.sim.particles.x[pa], b.sim.particles.x[pb])
    assert np.array_equal(a.sim.particles.R[pa], b.sim.particles.R[pb])
    assert (tmp_path / "a" / "cycles.csv").read_text() == (b_dir / "cycles.csv").read_text()
    # NaN-aware comparison of the final row (tortuosity is NaN where nothing conducts)
    assert json.dumps(a.summary["final"], sort_keys=True) == json.dumps(b.summary["final"],
                                                                         sort_keys=True)
