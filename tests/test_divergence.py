"""A diverging run stops with a diagnosis, a time step to try and a checkpoint."""
import re

import pytest

import dempack
from dempack.simulation import DivergenceError
from _build import scenario


def test_too_large_time_step_is_diagnosed(tmp_path):
    sc = scenario(("Mo6Se8",), particles=60,
                  pressing=[{"pressure_MPa": 50, "speed_m_per_s": 5.0, "hold_steps": 100}],
                  numerics={"dt_safety": 0.5}, run={"output_interval_steps": 20})
    # 40x the Rayleigh-limited step: contacts are crossed in a few steps
    sc.set("numerics.dt_s", 40 * 0.5 * 2.1e-9)
    with pytest.raises(DivergenceError) as err:
        dempack.run(sc, out_dir=tmp_path)
    msg = str(err.value)
    assert "run diverged at step" in msg
    assert "try numerics.dt_safety" in msg and "dt = " in msg
    assert (tmp_path / "checkpoint.npz").is_file() and str(tmp_path) in msg


# ------------------------------------------------------------------ issue 18, item 8
import math

import numpy as np

from dempack.io import load_checkpoint
from dempack.runner import OutputWriters
from dempack.simulation import Simulation, rayleigh_time
from _build import hand_sim

GOOD_STEPS = 1500  # a multiple of the output interval: the last good checkpoint's step


def _pressing(out_dir, output_interval=500):
    """Se + Mo6Se8 pressed to 50 MPa, a checkpoint at every output row (one thread)."""
    sc = scenario(("Se", "Mo6Se8"), particles=60,
                  pressing=[{"pressure_MPa": 50, "speed_m_per_s": 5.0, "hold_steps": 2000}],
                  run={"output_interval_steps": output_interval, "checkpoint_every_outputs": 1,
                       "threads": 1})
    sim = Simulation(sc, out_dir=out_dir)
    OutputWriters(sim, out_dir)
    return sim


def test_time_step_1e4_too_large_stops_at_once_and_keeps_the_good_checkpoint(tmp_path):
    sim = _pressing(tmp_path)
    sim.run(steps=GOOD_STEPS)
    good_dt, n = sim.dt, sim.particles.n
    # the automatic step: dt_safety x the smallest Rayleigh time (dempack.simulation)
    rayleigh = min(rayleigh_time(float(sim.particles.R[sim.particles.material == k].min()),
                                 m.density, m.shear_modulus, m.poisson_ratio)
                   for k, m in enumerate(sim.materials))
    assert good_dt == pytest.approx(sim.scenario.numerics.dt_safety * rayleigh, rel=1e-12)
    sim.dt = good_dt * 1e4   # bypasses the scenario's validation
    with pytest.raises(DivergenceError) as err:
        sim.run()
    msg = str(err.value)
    # stopped within a few steps, long before the next output row (GOOD_STEPS + 500)
    assert sim.step_count - GOOD_STEPS <= 10, msg
    # the cause names a particle, and the time step to use is the Rayleigh-limited one
    assert re.search(r"particle \d+ moved .* in one step", msg), msg
    assert "1e+04 x the stable one" in msg and f"dt = {good_dt:.3g} s" in msg, msg
    # the folder keeps the last good checkpoint: the state before dt was spoiled
    assert f"last good checkpoint (step {GOOD_STEPS})" in msg and str(tmp_path) in msg
    arrays, meta = load_checkpoint(tmp_path / "checkpoint.npz")
    assert meta["step_count"] == GOOD_STEPS and meta["dt"] == good_dt
    for k in ("p_x", "p_v", "p_w", "p_R"):
        assert np.all(np.isfinite(arrays[k])), k
    assert len(arrays["p_x"]) == n
    # ... and it resumes: a bed pressed at 50 MPa moves far less than its skin per step
    back = Simulation.from_checkpoint(sim.scenario, tmp_path / "checkpoint.npz")
    back.run(steps=500)
    ps = back.particles
    assert ps.n == n and np.all(np.isfinite(ps.x)) and np.all(np.isfinite(ps.v))
    assert back._max_drift < back.skin  # no blow-up (the guard would have raised)
    assert np.max(np.linalg.norm(ps.v, axis=1)) * back.dt < 0.01 * ps.R.min()


def test_moderate_instability_stops_within_a_few_hundred_steps(tmp_path):
    """dt 10x the stable step (2x the Rayleigh time): the leapfrog is unstable for the
    stiffest contacts and the energy grows geometrically; the per-step guard stops it
    within a few hundred steps, though the next output row is 5000 steps away."""
    sim = _pressing(tmp_path, output_interval=5000)
    sim.run(steps=GOOD_STEPS)
    sim.dt *= 10.0
    with pytest.raises(DivergenceError) as err:
        sim.run()
    assert sim.step_count - GOOD_STEPS <= 300, str(err.value)
    assert sim.step_count < 5000
    _, meta = load_checkpoint(tmp_path / "checkpoint.npz")
    assert meta["step_count"] == 0  # the checkpoint written at the start, still good


def test_particle_outside_the_die_is_an_error_naming_it():
    """A particle entirely outside the die (here 2 radii beyond a side wall, which the
    walls cannot push back) stops the run at the next list rebuild, by name; it is
    never dropped."""
    R = 2.5e-6
    sim = hand_sim([[3 * R, 3 * R, R], [10 * R + 2 * R, 3 * R, R]], [R, R], [0, 0],
                   width=10 * R, z_top=4 * R)
    sim.particles.pid[:] = [7, 11]
    with pytest.raises(DivergenceError) as err:
        sim.step()
    assert "particle 11 left the die" in str(err.value)
    assert sim.particles.n == 2


def test_nan_stops_at_the_step_it_appears():
    R = 2.5e-6
    sim = hand_sim([[3 * R, 3 * R, R], [6 * R, 3 * R, R]], [R, R], [0, 0],
                   width=10 * R, z_top=4 * R)
    sim.step()
    sim.particles.v[1, 0] = math.nan
    with pytest.raises(DivergenceError) as err:
        sim.step()
    assert "became NaN/inf" in str(err.value) and "step 2" in str(err.value)
