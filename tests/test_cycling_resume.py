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

def _sc(rule="uniform", access_update_steps=0, inertial_number_target=0.0):
    sc = scenario(("Se", "Mo6Se8"), particles=80,
                  pressing=[{"pressure_MPa": 50, "speed_m_per_s": 2.0, "hold_steps": 200}],
                  run={"output_interval_steps": 250, "max_overlap_ratio": 0.6,
                       "snapshot_every_outputs": 0})
    d = sc.to_dict()
    d["cycling"] = {"cycles": 1, "c_rate": 1.0, "steps_per_half_cycle": 1500,
                    "volume_update_interval": 5, "lithiation_rule": rule,
                    "access_update_steps": access_update_steps,
                    "inertial_number_target": inertial_number_target}
    d["stack"] = {"mode": "servo", "pressure_MPa": 50, "speed_m_per_s": 2.0}
    return Scenario(d, "test")


@pytest.mark.parametrize("rule", [("uniform", 0), ("contact_limited", 300), ("uniform", 0, 0.003)])
def test_resume_mid_cycle_is_exact(tmp_path, rule):
    """Also the contact-limited rule, refreshing its reachable fractions every 300 steps: its
    per-particle start and reach (ParticleState) and its step count (stage state) resume;
    and the quasi-static rule (cycling.inertial_number_target), whose step and correction
    are stage state."""
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


def test_quasi_static_step_by_hand():
    """dc = I dt / (s d √(ρ/p)) (protocol.quasi_static_step), by hand: I = 1e-3,
    dt = 1e-9 s, s = 0.4, d = 10 µm, ρ = 5000 kg/m³, p = 50 MPa → √(ρ/p) = 0.01 s/m,
    dc = 1e-12 / (0.4 · 1e-5 · 0.01) = 2.5e-5 (40,000 steps per 0 → 1 half-cycle); the
    bounds: at most 0.01 (100 steps), at least 1e-8."""
    from dempack.protocol import quasi_static_step
    assert quasi_static_step(1e-3, 0.4, 1e-5, 5000.0, 50e6, 1e-9) == pytest.approx(2.5e-5)
    assert quasi_static_step(1e-3, 0.4, 1e-5, 5000.0, 50e6, 1e-5) == 0.01
    assert quasi_static_step(1e-3, 0.0, 1e-5, 5000.0, 50e6, 1e-9) == 0.01  # nothing swells


def test_quasi_static_rule_holds_the_inertial_number(tmp_path):
    """With the rule on, the inertial number measured at the output rows of the cycling
    stays near the target (the rule aims at it with the punch's measured strain; 2× is the
    allowance for a servo's lag at a half-cycle's start), and a 3× lower target takes
    about 3× more steps per half-cycle (I ∝ dc at a given stack)."""
    from dempack.simulation import Simulation
    steps = {}
    for target in (0.003, 0.001):
        sim = Simulation(_sc("uniform", 0, target))
        I = []
        while sim.stage is not None and sim.stage.kind != "cycling":
            sim.run(steps=250)
        start = sim.step_count
        while sim.stage is not None and sim.stage.half == 0:
            sim.run(steps=250)
            I.append(sim.history[-1]["inertial_number"])
        steps[target] = sim.step_count - start
        I = np.array(I[2:])  # the first rows: the servo finds the stack's new speed
        assert np.nanmax(I) <= 2.0 * target, (target, I)
    assert 2.0 <= steps[0.001] / steps[0.003] <= 4.5, steps
