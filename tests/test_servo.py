"""Punch control: the stress servo reaches and holds its target; the spring
fixture follows its force law; a fixed gap holds the bed in equilibrium."""
import numpy as np
import pytest

from dempack.simulation import Simulation
from _build import scenario

TARGET = 20.0  # MPa


def _sim(stages):
    sc = scenario(("Mo6Se8",), particles=150, pressing=stages,
                  run={"output_interval_steps": 100, "max_overlap_ratio": 0.6})
    return Simulation(sc)


@pytest.fixture(scope="module")
def pressed():
    sim = _sim([{"pressure_MPa": TARGET, "speed_m_per_s": 1.0, "hold_steps": 1000},
                {"pressure_MPa": TARGET, "speed_m_per_s": 1.0, "hold_steps": 3000},
                {"mode": "fixed_gap", "steps": 500}])
    sim.run()
    return sim


def test_servo_reaches_and_holds_target(pressed):
    res = pressed.stage_results
    assert res[0]["reached"] and res[1]["reached"]
    hold = [r for r in pressed.history if r["stage"] == f"press {TARGET:g} MPa"]
    # rows of the second stage (after the first one was recorded)
    t1 = res[0]["step"]
    p = np.array([r["punch_stress_Pa"] for r in pressed.history
                  if t1 < r["step"] <= res[1]["step"]])
    assert len(p) >= 20 and len(hold) > len(p)
    assert np.all(np.abs(p / (TARGET * 1e6) - 1.0) < 0.02), p / 1e6


def test_fixed_gap_holds_a_bed_in_equilibrium(pressed):
    """Held at a fixed gap after the servo, the bed is at rest: Newton's second law
    says the wall forces on it (bottom plate, punch, the side walls' friction) sum to
    its rate of change of momentum, ≈ 0 (no gravity here), and the punch keeps the
    stress the servo left (within the servo's 2 % band)."""
    rows = [r for r in pressed.history if r["step"] > pressed.stage_results[1]["step"]]
    z = np.array([r["thickness_m"] for r in rows])
    assert len(z) >= 4 and np.ptp(z) == 0.0
    wf = pressed.particles.wall_force  # force of each wall slot on each particle (N)
    top = np.sum(wf[:, 1, 2])
    net_z = np.sum(wf[:, :, 2])
    assert top < 0.0  # the punch pushes down
    ke = 0.5 * np.sum(pressed.particles.mass * np.sum(pressed.particles.v ** 2, 1))
    assert abs(net_z) < 0.01 * abs(top), (net_z, top, ke)
    p = np.array([r["punch_stress_Pa"] for r in rows])
    assert np.all(np.abs(p / (TARGET * 1e6) - 1.0) < 0.03), p / 1e6


def test_spring_fixture_follows_its_force_law():
    """After a preload stage, a spring stage of stiffness k keeps σ ≈ p0 + k (z0 − z)."""
    k = 2.0  # MPa/um
    sim = _sim([{"pressure_MPa": 10.0, "speed_m_per_s": 1.0, "hold_steps": 500},
                {"mode": "spring", "spring_preload_MPa": 15.0, "spring_stiffness_MPa_per_um": k,
                 "speed_m_per_s": 0.5, "steps": 6000}])
    sim.run()
    st = sim.stages[1]
    z0 = st.control.z0
    z = sim.box.z_top
    expected = 15e6 + k * 1e12 * (z0 - z)
    assert z < z0  # the punch moved in to raise the stress from 10 to ~15 MPa
    assert sim.punch_stress() == pytest.approx(expected, rel=0.03)
